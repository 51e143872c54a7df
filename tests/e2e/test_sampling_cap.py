"""Tail sampling keeps at most a capped share: a storm of error traces is not traced in full (real Collector,
real Jaeger)."""

from __future__ import annotations

import time
import uuid

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from heritage_otel.traces import JaegerClient

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

STORM = 200  # error traces of 2 spans, sent within about a second


def _storm(endpoint: str, service: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=10),
                                                   max_queue_size=10_000, schedule_delay_millis=100))
    tracer = provider.get_tracer("tests.e2e")
    for _ in range(STORM):
        with tracer.start_as_current_span("request"), tracer.start_as_current_span("step") as step:
            step.set_status(trace.Status(trace.StatusCode.ERROR, "storm"))
    provider.shutdown()


def _kept(stack, service: str, settle_s: float = 12.0) -> int:
    client = JaegerClient(stack.ports.jaeger_url)
    deadline = time.monotonic() + settle_s
    count = -1
    while time.monotonic() < deadline:  # until the count stops growing
        time.sleep(2.0)
        now = len(client.find_traces(service, limit=1000, lookback="10m"))
        if now == count and now > 0:
            break
        count = now
    return len(client.find_traces(service, limit=1000, lookback="10m"))


def test_a_storm_of_error_traces_is_capped(start_stack) -> None:
    """With a cap of 20 spans/s (errors' share: 40 %, 8 spans/s) a burst of 200 error traces keeps a handful."""
    stack = start_stack(HERITAGE_OTEL_SAMPLING_MAX_SPANS_PER_SEC="20", HERITAGE_OTEL_SAMPLING_PERCENTAGE="0")
    service = f"storm-{uuid.uuid4().hex[:8]}"
    _storm(stack.ports.otlp_http_endpoint, service)
    kept = _kept(stack, service)
    assert 1 <= kept <= 40, f"{kept} of {STORM} error traces kept under a 20 spans/s cap"


def test_under_the_cap_every_error_trace_is_kept(start_stack) -> None:
    stack = start_stack(HERITAGE_OTEL_SAMPLING_PERCENTAGE="0")  # the tests' cap: far above this traffic
    service = f"storm-{uuid.uuid4().hex[:8]}"
    _storm(stack.ports.otlp_http_endpoint, service)
    assert _kept(stack, service) == STORM
