"""One span model for traces read from Jaeger's HTTP API and from OTLP JSON files.

>>> span = Span(trace_id="ab" * 16, span_id="01" * 8, parent_span_id=None, name="root",
...             service_name="svc", start_unix_nano=0, end_unix_nano=2_500_000)
>>> trace = Trace(span.trace_id, (span,))
>>> trace.duration_ms, trace.has_error, [node.span.name for node in trace.tree()]
(2.5, False, ['root'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Span", "SpanEvent", "Trace", "TraceNode", "group_traces"]

STATUS_UNSET = "UNSET"
STATUS_OK = "OK"
STATUS_ERROR = "ERROR"


@dataclass(frozen=True)
class SpanEvent:
    """A span event (``exception``, ``heritage.fallback.used``, ...)."""

    name: str
    time_unix_nano: int
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "time_unix_nano": self.time_unix_nano, "attributes": dict(self.attributes)}


@dataclass(frozen=True)
class Span:
    """A finished span, whatever it was read from. Ids are lowercase hex."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    service_name: str
    start_unix_nano: int
    end_unix_nano: int
    status_code: str = STATUS_UNSET
    status_message: str = ""
    kind: str = "internal"
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[SpanEvent, ...] = ()
    resource: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_unix_nano - self.start_unix_nano)

    @property
    def duration_ms(self) -> float:
        return self.duration_ns / 1e6

    @property
    def is_error(self) -> bool:
        return self.status_code == STATUS_ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "name": self.name,
            "service_name": self.service_name,
            "kind": self.kind,
            "start_unix_nano": self.start_unix_nano,
            "end_unix_nano": self.end_unix_nano,
            "duration_ms": self.duration_ms,
            "status": {"code": self.status_code, "message": self.status_message},
            "attributes": dict(self.attributes),
            "events": [event.to_dict() for event in self.events],
            "resource": dict(self.resource),
        }


@dataclass
class TraceNode:
    """A span of a trace read back (from Jaeger or a file) and its children, ordered by start time.

    (The in-memory capture of :mod:`heritage_otel.testing` has its own ``SpanNode`` over SDK spans.)
    """

    span: Span
    children: list[TraceNode] = field(default_factory=list)

    def walk(self) -> Iterable[TraceNode]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Trace:
    """The spans of one trace id."""

    trace_id: str
    spans: tuple[Span, ...]

    def tree(self) -> list[TraceNode]:
        """Root nodes (spans whose parent is not in the trace), each with its subtree, by start time."""
        nodes = {span.span_id: TraceNode(span) for span in sorted(self.spans, key=lambda s: s.start_unix_nano)}
        roots = []
        for node in nodes.values():
            parent = nodes.get(node.span.parent_span_id or "")
            if parent is None or parent is node:
                roots.append(node)
            else:
                parent.children.append(node)
        return roots

    @property
    def start_unix_nano(self) -> int:
        return min((span.start_unix_nano for span in self.spans), default=0)

    @property
    def end_unix_nano(self) -> int:
        return max((span.end_unix_nano for span in self.spans), default=0)

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_unix_nano - self.start_unix_nano) / 1e6

    @property
    def has_error(self) -> bool:
        return any(span.is_error for span in self.spans)

    @property
    def services(self) -> list[str]:
        return sorted({span.service_name for span in self.spans})

    @property
    def root_name(self) -> str:
        roots = self.tree()
        return roots[0].span.name if roots else ""

    def find(self, name: str) -> list[Span]:
        """Spans named ``name``, by start time."""
        return sorted((span for span in self.spans if span.name == name), key=lambda s: s.start_unix_nano)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "root": self.root_name,
            "services": self.services,
            "duration_ms": self.duration_ms,
            "error": self.has_error,
            "spans": [span.to_dict() for span in sorted(self.spans, key=lambda s: s.start_unix_nano)],
        }


def group_traces(spans: Iterable[Span]) -> list[Trace]:
    """Group spans by trace id (a span seen twice is kept once); newest trace first."""
    by_trace: dict[str, dict[str, Span]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, {})[span.span_id] = span
    traces = [Trace(trace_id, tuple(spans_.values())) for trace_id, spans_ in by_trace.items()]
    return sorted(traces, key=lambda t: t.start_unix_nano, reverse=True)
