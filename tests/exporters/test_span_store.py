"""The bounded in-process span store."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from heritage_otel.exporters import SpanStore


def test_groups_spans_by_trace():
    """traces() groups stored spans by trace id; trace_ids() gives hex ids."""
    store = SpanStore(100)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(store))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("a") as a:
        tracer.start_span("a.child").end()
    tracer.start_span("b").end()
    assert len(store.traces()) == 2
    assert len(store.traces()[a.get_span_context().trace_id]) == 2
    assert format(a.get_span_context().trace_id, "032x") in store.trace_ids()


def test_memory_is_bounded_under_a_flood():
    """20,000 spans through a store of 1,000 keep exactly 1,000 and count the rest."""
    store = SpanStore(1_000)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(store))
    tracer = provider.get_tracer("t")
    for _ in range(20_000):
        tracer.start_span("x").end()
    assert len(store.spans()) == 1_000 and store.dropped == 19_000


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_bad_size_fails_fast(bad):
    """The size must be a positive integer."""
    with pytest.raises(ValueError, match=f"max_spans = {bad!r} is not valid"):
        SpanStore(bad)
