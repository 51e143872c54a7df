"""The forwarding globals: an observable instrument created twice is one instrument, and re-configuring
does not multiply its callbacks (the table of observables was a list that only grew)."""

from __future__ import annotations

import pytest
from opentelemetry import metrics
from opentelemetry.metrics import Observation

from heritage_otel._internal import delegating
from heritage_otel.testing import TelemetryCapture


@pytest.fixture
def forget_new_observables():
    """Observable forwarders live for the process: drop the ones this test created (other tests' captures
    must not see its gauge)."""
    before = set(delegating.TARGET._observables)
    yield
    with delegating.TARGET.lock:
        for key in set(delegating.TARGET._observables) - before:
            del delegating.TARGET._observables[key]


def test_observable_created_twice_reports_once_across_reconfiguration(forget_new_observables) -> None:
    """Two creations of the same observable gauge, then two pipelines: one observation per collection."""
    calls = []

    def callback(options):
        calls.append(1)
        return [Observation(5.0)]

    first = TelemetryCapture()
    try:
        meter = metrics.get_meter("tests.delegating")
        a = meter.create_observable_gauge("tests.delegating.depth", callbacks=[callback])
        b = meter.create_observable_gauge("tests.delegating.depth", callbacks=[callback])
        assert a is b
        size = len(delegating.TARGET._observables)
    finally:
        first.shutdown()
    second = TelemetryCapture()
    try:
        metrics.get_meter("tests.delegating").create_observable_gauge("tests.delegating.depth", callbacks=[callback])
        calls.clear()
        points = second.metric_points("tests.delegating.depth")
        assert [p.value for p in points] == [5.0]
        assert len(calls) == 1
        assert len(delegating.TARGET._observables) == size
    finally:
        second.shutdown()
