"""Filter traces read from a file the way Jaeger's search filters them (``traces --file``).

>>> from heritage_otel.traces.model import Span, Trace
>>> ok = Trace("a" * 32, (Span("a" * 32, "1" * 16, None, "r", "svc", 0, 5_000_000),))
>>> bad = Trace("b" * 32, (Span("b" * 32, "2" * 16, None, "r", "svc", 0, 1_000_000, status_code="ERROR"),))
>>> [t.trace_id[0] for t in filter_traces([ok, bad], error_only=True)]
['b']
>>> [t.trace_id[0] for t in filter_traces([ok, bad], min_duration="2ms")]
['a']
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from heritage_otel.traces.durations import parse_duration_ns
from heritage_otel.traces.model import Trace

__all__ = ["filter_traces"]


def filter_traces(
    traces: Iterable[Trace],
    *,
    service: str | None = None,
    trace_id: str | None = None,
    error_only: bool = False,
    min_duration: str | None = None,
    lookback: str | None = None,
    operation: str | None = None,
    limit: int | None = None,
    now_unix_nano: int | None = None,
) -> list[Trace]:
    """Traces that match every given filter (``operation``: a span of that name), newest first, at most
    ``limit``; the limit applies after every filter."""
    min_ns = parse_duration_ns(min_duration) if min_duration else None
    since = None
    if lookback:
        since = (now_unix_nano if now_unix_nano is not None else time.time_ns()) - parse_duration_ns(lookback)
    wanted_id = trace_id.lower().rjust(32, "0") if trace_id else None
    result = []
    for trace in sorted(traces, key=lambda t: t.start_unix_nano, reverse=True):
        if wanted_id and trace.trace_id != wanted_id:
            continue
        if service and service not in trace.services:
            continue
        if error_only and not trace.has_error:
            continue
        if min_ns is not None and not any(span.duration_ns >= min_ns for span in trace.spans):
            continue
        if since is not None and trace.start_unix_nano < since:
            continue
        if operation and not trace.find(operation):
            continue
        result.append(trace)
    return result[:limit] if limit else result
