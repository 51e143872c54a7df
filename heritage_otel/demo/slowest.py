"""A span processor that keeps the complete span trees of the N slowest traces, in bounded memory.

Spans are buffered per trace until the trace's root span ends (children end
first); then the trace is kept if its root is among the ``n`` slowest seen so
far, else dropped. Traces whose root never ends are evicted after
``max_pending`` open traces.

>>> from opentelemetry.sdk.trace import TracerProvider
>>> provider = TracerProvider()
>>> keeper = SlowestTraces(n=1)
>>> provider.add_span_processor(keeper)
>>> tracer = provider.get_tracer("doc")
>>> with tracer.start_as_current_span("root"):
...     with tracer.start_as_current_span("child"):
...         pass
>>> [[s.name for s in spans] for _, spans in keeper.slowest()]
[['child', 'root']]
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import OrderedDict

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor


class SlowestTraces(SpanProcessor):
    """Keeps the ``n`` slowest complete traces (by root span duration)."""

    def __init__(self, n: int = 3, max_pending: int = 10_000) -> None:
        if n < 1 or max_pending < 1:
            msg = f"n={n!r}, max_pending={max_pending!r} are not valid; expected integers >= 1"
            raise ValueError(msg)
        self.n = n
        self.max_pending = max_pending
        self._pending: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
        self._heap: list[tuple[int, int, list[ReadableSpan]]] = []  # (duration_ns, tiebreak, spans)
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Buffer the span; when it is a root, decide whether its trace is kept."""
        trace_id = span.context.trace_id
        with self._lock:
            spans = self._pending.setdefault(trace_id, [])
            spans.append(span)
            if span.parent is not None:
                while len(self._pending) > self.max_pending:
                    self._pending.popitem(last=False)
                return
            del self._pending[trace_id]
            duration = (span.end_time or 0) - (span.start_time or 0)
            entry = (duration, next(self._counter), spans)
            if len(self._heap) < self.n:
                heapq.heappush(self._heap, entry)
            elif duration > self._heap[0][0]:
                heapq.heapreplace(self._heap, entry)

    def slowest(self) -> list[tuple[float, list[ReadableSpan]]]:
        """(root duration in seconds, spans of the trace) of the kept traces, slowest first."""
        with self._lock:
            kept = sorted(self._heap, key=lambda e: (-e[0], e[1]))
        return [(duration / 1e9, list(spans)) for duration, _, spans in kept]

    def shutdown(self) -> None:
        """Drop the buffered spans of unfinished traces."""
        with self._lock:
            self._pending.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered for export."""
        return True
