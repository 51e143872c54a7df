"""The indented tree of ``heritage-otel traces``."""

from __future__ import annotations

import json

from heritage_otel.traces import Span, SpanEvent, Trace, render_trace, traces_to_json

TID = "0123456789abcdef0123456789abcdef"


def span(span_id: str, parent: str | None, name: str, start_ms: float, end_ms: float, **kwargs) -> Span:
    return Span(TID, span_id * 16, parent * 16 if parent else None, name, kwargs.pop("service", "svc"),
                int(start_ms * 1e6), int(end_ms * 1e6), **kwargs)


def sample() -> Trace:
    return Trace(TID, (
        span("1", None, "heritage.recommend", 0, 20, attributes={"heritage.result.count": 5, "thread.id": 7}),
        span("2", "1", "heritage.fallback_chain", 1, 19, attributes={"heritage.fallback.degraded": True},
             events=(SpanEvent("heritage.fallback.used", int(18e6), {"heritage.fallback.strategy_used": "horn"}),)),
        span("3", "2", "heritage.fallback.attempt", 2, 10, status_code="ERROR", status_message="simrank down",
             events=(SpanEvent("exception", int(9e6), {"exception.type": "HighSeverityError",
                                                       "exception.stacktrace": "Traceback (most recent call last)"}),)),
        span("4", "2", "heritage.fallback.attempt", 11, 18, attributes={"heritage.fallback.outcome": "success"}),
        span("5", "4", "remote.lookup", 12, 13, service="index-service"),
    ))


def test_tree_lines_nest_children_under_their_parent() -> None:
    lines = render_trace(sample()).splitlines()
    names = [line for line in lines if "•" not in line]
    assert names[0].startswith(f"trace {TID}  index-service, svc  5 spans  20.00 ms  ERROR")
    assert names[1].startswith("heritage.recommend  20.00 ms  ok")
    assert names[2].startswith("└── heritage.fallback_chain  18.00 ms  ok")
    assert names[3].startswith("    ├── heritage.fallback.attempt  8.00 ms  ERROR: simrank down")
    assert names[4].startswith("    └── heritage.fallback.attempt  7.00 ms  ok")
    assert names[5].startswith("        └── remote.lookup [index-service]  1.00 ms  ok")


def test_events_follow_their_span_with_offset_and_key_attributes() -> None:
    lines = render_trace(sample()).splitlines()
    [used] = [line for line in lines if "• heritage.fallback.used" in line]
    assert used.endswith("• heritage.fallback.used +17.00 ms  heritage.fallback.strategy_used=horn")
    [exception] = [line for line in lines if "• exception" in line]
    assert "exception.type=HighSeverityError" in exception
    assert "Traceback" not in exception  # stack traces stay out of the tree


def test_only_key_attributes_are_shown() -> None:
    text = render_trace(sample())
    assert "heritage.result.count=5" in text and "heritage.fallback.degraded=true" in text
    assert "thread.id" not in text


def test_long_values_and_many_attributes_are_shortened() -> None:
    attributes = {f"heritage.k{i:02d}": i for i in range(14)} | {"heritage.long": "x" * 200}
    long_status = "y" * 300
    text = render_trace(Trace(TID, (span("1", None, "op", 0, 1, attributes=attributes, status_code="ERROR",
                                         status_message=long_status),)))
    assert "(+5 more)" in text
    assert "y" * 79 + "…" in text and "y" * 81 not in text


def test_a_span_whose_parent_is_missing_is_a_root() -> None:
    orphan = Trace(TID, (span("1", None, "a", 0, 5), span("2", "9", "b", 1, 2)))
    assert [node.span.name for node in orphan.tree()] == ["a", "b"]
    assert render_trace(orphan).splitlines()[1:] == ["a  5.00 ms  ok", "b  1.00 ms  ok"]


def test_json_has_every_span_with_status_and_events() -> None:
    [data] = json.loads(traces_to_json([sample()]))
    assert data["trace_id"] == TID and data["root"] == "heritage.recommend" and data["error"] is True
    assert [s["name"] for s in data["spans"]][:2] == ["heritage.recommend", "heritage.fallback_chain"]
    attempt = data["spans"][2]
    assert attempt["status"] == {"code": "ERROR", "message": "simrank down"}
    assert attempt["parent_span_id"] == "2" * 16
    assert attempt["events"][0]["attributes"]["exception.type"] == "HighSeverityError"
