"""SlowestTraces keeps whole span trees of the slowest traces, in bounded memory."""

from __future__ import annotations

import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import set_span_in_context

from heritage_otel.demo.slowest import SlowestTraces


def test_keeps_the_n_slowest_complete_traces() -> None:
    """Of five traces with different root durations, the two slowest are kept with their children."""
    provider = TracerProvider()
    keeper = SlowestTraces(n=2)
    provider.add_span_processor(keeper)
    tracer = provider.get_tracer("test")
    for pause in (0.001, 0.02, 0.005, 0.03, 0.0):
        with tracer.start_as_current_span(f"root-{pause}"):
            with tracer.start_as_current_span("child"):
                time.sleep(pause)
    kept = keeper.slowest()
    assert [spans[-1].name for _, spans in kept] == ["root-0.03", "root-0.02"]
    assert all([s.name for s in spans] == ["child", f"root-{pause}"] for (_, spans), pause in zip(kept, (0.03, 0.02), strict=True))
    assert kept[0][0] >= 0.03
    provider.shutdown()


def test_unfinished_traces_are_evicted() -> None:
    """Beyond max_pending open traces the oldest buffered children are dropped; the root alone is kept."""
    provider = TracerProvider()
    keeper = SlowestTraces(n=4, max_pending=2)
    provider.add_span_processor(keeper)
    tracer = provider.get_tracer("test")
    roots = [tracer.start_span(f"root-{i}") for i in range(4)]
    for root in roots:
        tracer.start_span("child", context=set_span_in_context(root)).end()
    for root in roots:
        root.end()
    kept = {spans[-1].name: [s.name for s in spans] for _, spans in keeper.slowest()}
    assert kept == {"root-0": ["root-0"], "root-1": ["root-1"],
                    "root-2": ["child", "root-2"], "root-3": ["child", "root-3"]}
    provider.shutdown()
