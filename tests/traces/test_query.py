"""Filtering traces read from a file, and the duration syntax of the options."""

from __future__ import annotations

import pytest

from heritage_otel.traces import Span, Trace, filter_traces
from heritage_otel.traces.durations import go_duration, parse_duration_ns

NOW = 10_000 * 10**9


def trace(tid: str, *, start_s: float, duration_ms: float, service: str = "svc", error: bool = False) -> Trace:
    start = int(start_s * 1e9)
    return Trace(tid * 32, (Span(tid * 32, "1" * 16, None, "op", service, start, start + int(duration_ms * 1e6),
                                 status_code="ERROR" if error else "UNSET"),))


TRACES = [
    trace("a", start_s=9_990, duration_ms=5),
    trace("b", start_s=9_000, duration_ms=500, error=True),
    trace("c", start_s=9_995, duration_ms=50, service="other"),
]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, "cab"),
    ({"service": "svc"}, "ab"),
    ({"error_only": True}, "b"),
    ({"min_duration": "40ms"}, "cb"),
    ({"lookback": "1m"}, "ca"),
    ({"limit": 1}, "c"),
    ({"trace_id": "B" * 32}, "b"),
    ({"service": "svc", "min_duration": "1ms", "lookback": "1h", "limit": 5}, "ab"),
])
def test_filters_combine_newest_first(filters: dict, expected: str) -> None:
    found = filter_traces(TRACES, now_unix_nano=NOW, **filters)
    assert "".join(t.trace_id[0] for t in found) == expected


def test_operation_filter_applies_before_the_limit() -> None:
    """--operation X --limit N gives the N newest traces with a span X, not the X among the N newest."""
    older = Trace("d" * 32, (Span("d" * 32, "2" * 16, None, "wanted", "svc", 8_000 * 10**9, 8_001 * 10**9),))
    found = filter_traces([*TRACES, older], operation="wanted", limit=1)
    assert [t.trace_id for t in found] == [older.trace_id]
    assert filter_traces(TRACES, operation="wanted") == []


@pytest.mark.parametrize(("text", "nanoseconds"), [
    ("250ms", 250_000_000), ("1.5s", 1_500_000_000), ("30m", 1_800_000_000_000), ("1d", 86_400_000_000_000),
    ("750us", 750_000), ("10 s", 10_000_000_000),
])
def test_durations(text: str, nanoseconds: int) -> None:
    assert parse_duration_ns(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "5", "ms", "-1s", "1 week"])
def test_bad_durations_say_what_is_valid(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a number and a unit, e\.g\. 250ms"):
        parse_duration_ns(text)


def test_go_duration_for_jaegers_min_duration() -> None:
    assert go_duration(parse_duration_ns("1.5ms")) == "1500us"
