"""TraceLookup against a real Jaeger (built from its Go module) and the embedded span store."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from heritage_otel.exporters.span_store import SpanStore
from heritage_otel.stack import Stack
from heritage_otel.traces.lookup import TraceLookup
from tests.traces.conftest import SentTraces


def test_a_trace_in_jaeger_is_read_from_its_api_without_a_ui_link(jaeger_stack: Stack, sent: SentTraces) -> None:
    """Found through Jaeger's HTTP API with spans, status and events; Jaeger built from its Go module serves
    only a placeholder page at /, so no UI link is offered."""
    found = TraceLookup(jaeger_stack.ports.jaeger_url).find(sent.failing)
    assert found["source"] == "jaeger" and found["errors"] == []
    spans = {s["name"]: s for s in found["trace"]["spans"]}
    assert set(spans) == {"sample.request", "sample.step"}
    assert spans["sample.step"]["status"]["code"] == "ERROR"
    assert [e["name"] for e in spans["sample.step"]["events"]] == ["exception"]
    assert found["jaeger_ui"] is None


def test_jaeger_first_then_the_span_store(jaeger_stack: Stack) -> None:
    """A trace Jaeger does not have is looked up in the span store; one neither has is not found."""
    store = SpanStore()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(store))
    with provider.get_tracer("t").start_as_current_span("local.only") as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
    lookup = TraceLookup(jaeger_stack.ports.jaeger_url, span_store=lambda: store)
    found = lookup.find(trace_id)
    assert found["source"] == "span_store" and found["trace"]["root"] == "local.only"
    missing = lookup.find("0123456789abcdef0123456789abcdef")
    assert missing["trace"] is None and missing["source"] is None


def test_an_unreachable_jaeger_is_reported_and_the_span_store_still_answers() -> None:
    """Jaeger down: its error is in ``errors`` and the store's trace is served."""
    from tests.helpers import free_port

    store = SpanStore()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(store))
    with provider.get_tracer("t").start_as_current_span("local.only") as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
    found = TraceLookup(f"http://127.0.0.1:{free_port()}", span_store=lambda: store, timeout_s=2).find(trace_id)
    assert found["source"] == "span_store" and "could not reach Jaeger" in found["errors"][0]
