"""A bounded, thread-safe, in-process store of finished spans.

The embedded default keeps recent spans here so that in-process tools (the
demo's tables, the CLI, the dashboard) can read traces without any server.
It is a real :class:`~opentelemetry.sdk.trace.export.SpanExporter`; the
oldest spans are evicted first and the evictions are counted.

>>> from opentelemetry.sdk.trace import TracerProvider
>>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
>>> store = SpanStore(max_spans=2)
>>> provider = TracerProvider()
>>> provider.add_span_processor(SimpleSpanProcessor(store))
>>> for name in ("a", "b", "c"):
...     provider.get_tracer("doc").start_span(name).end()
>>> [s.name for s in store.spans()], store.dropped
(['b', 'c'], 1)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from heritage_otel.checks import check_int

__all__ = ["SpanStore"]


class SpanStore(SpanExporter):
    """Keeps the last ``max_spans`` finished spans in memory."""

    def __init__(self, max_spans: int = 10_000) -> None:
        check_int("max_spans", max_spans, minimum=1)
        self.max_spans = max_spans
        self._spans: deque[ReadableSpan] = deque(maxlen=max_spans)
        self._lock = threading.Lock()
        self._dropped = 0
        self._stopped = False

    @property
    def dropped(self) -> int:
        """How many spans were evicted to keep the store bounded."""
        return self._dropped

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._stopped:
            return SpanExportResult.FAILURE
        with self._lock:
            overflow = len(self._spans) + len(spans) - self.max_spans
            if overflow > 0:
                self._dropped += min(overflow, len(self._spans) + len(spans))
            self._spans.extend(spans)
        return SpanExportResult.SUCCESS

    def spans(self) -> tuple[ReadableSpan, ...]:
        """A snapshot of the stored spans, oldest first."""
        with self._lock:
            return tuple(self._spans)

    def traces(self) -> dict[int, tuple[ReadableSpan, ...]]:
        """The stored spans grouped by trace id (ints, as the SDK keeps them)."""
        grouped: dict[int, list[ReadableSpan]] = {}
        for span in self.spans():
            grouped.setdefault(span.context.trace_id, []).append(span)
        return {trace_id: tuple(spans) for trace_id, spans in grouped.items()}

    def trace_ids(self) -> set[str]:
        """The stored trace ids as 32-digit hex strings (as Jaeger shows them)."""
        return {format(span.context.trace_id, "032x") for span in self.spans()}

    def clear(self) -> None:
        """Forget every stored span."""
        with self._lock:
            self._spans.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        """Stop accepting spans; what is stored stays readable."""
        self._stopped = True
