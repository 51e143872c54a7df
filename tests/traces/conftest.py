"""Fixtures of the trace-reading tests: a real Jaeger on free ports, and spans sent to it over OTLP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from heritage_otel.stack import Stack, StackPorts
from heritage_otel.traces import JaegerClient
from tests.helpers import BIN_DIR, REPO_ROOT, require_binary


@dataclass
class SentTraces:
    """Two traces sent to Jaeger: ``failing`` (a server root and a failing child) and ``slow`` (300 ms)."""

    service: str
    failing: str
    slow: str
    root_span_id: str
    child_span_id: str


def send_sample_traces(provider: TracerProvider, service: str) -> SentTraces:
    tracer = provider.get_tracer("tests.traces")
    with tracer.start_as_current_span("sample.request", kind=trace.SpanKind.SERVER,
                                      attributes={"heritage.query.top_k": 5, "heritage.cache.hit": False}) as root:
        with tracer.start_as_current_span("sample.step", attributes={"heritage.component": "simrank",
                                                                       "heritage.quality.diversity": 0.25}) as child:
            child.add_event("exception", {"exception.type": "ValueError", "exception.message": "bad input",
                                          "exception.stacktrace": "Traceback ..."})
            child.set_status(trace.Status(trace.StatusCode.ERROR, "boom"))
    now = time.time_ns()
    slow = tracer.start_span("sample.slow", start_time=now - 300_000_000)
    slow.end(end_time=now)
    return SentTraces(
        service=service,
        failing=format(root.get_span_context().trace_id, "032x"),
        slow=format(slow.get_span_context().trace_id, "032x"),
        root_span_id=format(root.get_span_context().span_id, "016x"),
        child_span_id=format(child.get_span_context().span_id, "016x"),
    )


@pytest.fixture(scope="module")
def jaeger_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A real Jaeger (only) on free loopback ports."""
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    stack = Stack(Path(tmp_path_factory.mktemp("jaeger-state")), ports=StackPorts.free(), repo=REPO_ROOT)
    try:
        stack.start("jaeger", timeout_s=60)
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="module")
def sent(jaeger_stack: Stack) -> SentTraces:
    """Sample traces exported straight to Jaeger's OTLP/HTTP receiver, and present in its query API."""
    service = f"traces-test-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    endpoint = f"http://127.0.0.1:{jaeger_stack.ports.jaeger_otlp_http}/v1/traces"
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10)))
    try:
        result = send_sample_traces(provider, service)
    finally:
        provider.shutdown()
    client = JaegerClient(jaeger_stack.ports.jaeger_url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(client.find_traces(service)) < 2:
        time.sleep(0.3)
    return result
