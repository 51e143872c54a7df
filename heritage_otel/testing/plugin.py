"""pytest plugin (entry point ``pytest11``): in-memory telemetry fixtures.

>>> # in any test module of a project that installed heritage-otel:
>>> # def test_my_code(telemetry):
>>> #     my_code()
>>> #     assert telemetry.span("my.span").attributes["k"] == "v"

>>> sorted(n for n in ("telemetry", "span_exporter", "metric_reader", "log_exporter") if n in globals())
['log_exporter', 'metric_reader', 'span_exporter', 'telemetry']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heritage_otel.testing.capture import TelemetryCapture


@pytest.fixture
def telemetry() -> Iterator[TelemetryCapture]:
    """A fresh in-memory pipeline behind the global providers, for one test."""
    captured = TelemetryCapture()
    try:
        yield captured
    finally:
        captured.shutdown()


@pytest.fixture
def span_exporter(telemetry: TelemetryCapture) -> InMemorySpanExporter:
    """The in-memory span exporter of the ``telemetry`` fixture."""
    return telemetry.span_exporter


@pytest.fixture
def metric_reader(telemetry: TelemetryCapture) -> InMemoryMetricReader:
    """The in-memory metric reader of the ``telemetry`` fixture."""
    return telemetry.metric_reader


@pytest.fixture
def log_exporter(telemetry: TelemetryCapture) -> InMemoryLogRecordExporter:
    """The in-memory log exporter of the ``telemetry`` fixture."""
    return telemetry.log_exporter


@pytest.fixture
def instrument_recommender(telemetry: TelemetryCapture) -> Iterator[Callable[..., Any]]:
    """``instrument_recommender(targets=..., **options)``: the recommender instrumentor, instrumented for one test.

    It records into the ``telemetry`` fixture and is uninstrumented after the
    test. An instrumentor left instrumented (by an earlier test or by the
    application's start-up code) is uninstrumented first, so the targets and
    options given here are the ones in effect (``instrument()`` on an
    instrumented instrumentor is otherwise a no-op).
    """
    from heritage_otel.instrumentation import RecommenderInstrumentor

    instrumentor = RecommenderInstrumentor()

    def instrument(**options: Any) -> RecommenderInstrumentor:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        instrumentor.instrument(**options)
        return instrumentor

    try:
        yield instrument
    finally:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
