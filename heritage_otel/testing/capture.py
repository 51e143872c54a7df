"""TelemetryCapture: one isolated in-memory pipeline and helpers to read it.

>>> from opentelemetry import trace
>>> with capture_telemetry() as cap:
...     with trace.get_tracer("doc").start_as_current_span("outer"):
...         with trace.get_tracer("doc").start_as_current_span("inner"):
...             pass
...     [node.name for _, node in cap.span_tree()[0].walk()]
['outer', 'inner']
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from heritage_otel import semconv
from heritage_otel.telemetry import Telemetry, configure, hold_globals, release_globals
from heritage_otel.traces.render import KEY_ATTRIBUTE_PREFIXES, key_attributes

__all__ = ["SpanNode", "TelemetryCapture", "capture_telemetry"]

#: heritage-otel's own metric names: asking for one that was not recorded yet reads 0, not an error.
KNOWN_METRICS = frozenset(value for key, value in vars(semconv).items() if key.startswith("METRIC_"))


@dataclass
class SpanNode:
    """A span and its child nodes, ordered by start time."""

    span: ReadableSpan
    children: list[SpanNode] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.span.name

    def walk(self, depth: int = 0) -> Iterator[tuple[int, SpanNode]]:
        """Depth-first (depth, node) pairs, this node first."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def find(self, name: str) -> list[SpanNode]:
        """Every node below (and including) this one with that span name."""
        return [node for _, node in self.walk() if node.name == name]


def _matches(attributes: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    attributes = attributes or {}
    return all(key in attributes and attributes[key] == value for key, value in wanted.items())


class TelemetryCapture:
    """An in-memory telemetry pipeline with helpers to find what it captured."""

    def __init__(self, **configure_kwargs: Any) -> None:
        self.span_exporter = InMemorySpanExporter()
        self.metric_reader = InMemoryMetricReader()
        self.log_exporter = InMemoryLogRecordExporter()
        configure_kwargs.setdefault("service_name", "heritage-otel-test")
        configure_kwargs.setdefault("service_instance_id", "test-instance")
        configure_kwargs.setdefault("span_store_size", 0)
        hold_globals(None)  # a capture replaces any pipeline, an earlier capture's too
        self.telemetry: Telemetry = configure(
            span_exporters=[self.span_exporter],
            metric_readers=[self.metric_reader],
            log_exporters=[self.log_exporter],
            simple_processors=True,
            **configure_kwargs,
        )
        # until shutdown, the code under test calling configure() gets this pipeline instead of replacing it
        hold_globals(self.telemetry)

    # providers, for code that takes them explicitly
    @property
    def tracer_provider(self) -> Any:
        return self.telemetry.tracer_provider

    @property
    def meter_provider(self) -> Any:
        return self.telemetry.meter_provider

    @property
    def logger_provider(self) -> Any:
        return self.telemetry.logger_provider

    # --- spans ---------------------------------------------------------------
    def spans(self) -> tuple[ReadableSpan, ...]:
        """Every finished span, in the order they ended."""
        return tuple(self.span_exporter.get_finished_spans())

    def find_spans(self, name: str | None = None, **attributes: Any) -> list[ReadableSpan]:
        """Finished spans with that name (if given) whose attributes include ``attributes``.

        Attribute keys with dots can be passed with ``**{"heritage.fallback.chain": "x"}``.
        """
        return [
            span for span in self.spans()
            if (name is None or span.name == name) and _matches(span.attributes, attributes)
        ]

    def span(self, name: str | None = None, **attributes: Any) -> ReadableSpan:
        """The one finished span matching; AssertionError when there are none or several."""
        found = self.find_spans(name, **attributes)
        if len(found) != 1:
            names = [span.name for span in self.spans()]
            msg = f"expected exactly one span {name!r} with {attributes}, found {len(found)} among {names}"
            raise AssertionError(msg)
        return found[0]

    def children_of(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """Finished spans whose parent is ``parent``, by start time."""
        parent_id = parent.context.span_id
        children = [s for s in self.spans() if s.parent is not None and s.parent.span_id == parent_id]
        return sorted(children, key=lambda s: s.start_time or 0)

    def span_tree(self, trace_id: int | None = None) -> list[SpanNode]:
        """Root nodes of the captured traces (one trace if ``trace_id`` is given).

        A span whose parent was not captured counts as a root.
        """
        spans = [s for s in self.spans() if trace_id is None or s.context.trace_id == trace_id]
        nodes = {span.context.span_id: SpanNode(span) for span in spans}
        roots: list[SpanNode] = []
        for span in sorted(spans, key=lambda s: s.start_time or 0):
            node = nodes[span.context.span_id]
            parent = nodes.get(span.parent.span_id) if span.parent is not None else None
            (parent.children if parent is not None else roots).append(node)
        return roots

    def render_tree(self, trace_id: int | None = None, *, attributes: bool | Iterable[str] = True) -> str:
        """The span tree, two spaces per level: each span's name, ``ERROR`` when its status is,
        and its key attributes (ours, ``error.type``, OpenInference's; ``attributes=False``: names only;
        ``attributes=("app.",)``: those prefixes too, for attributes your own code sets)."""
        prefixes = (*KEY_ATTRIBUTE_PREFIXES, *attributes) if not isinstance(attributes, bool) else KEY_ATTRIBUTE_PREFIXES
        lines = []
        for root in self.span_tree(trace_id):
            for depth, node in root.walk():
                parts = [node.name]
                if attributes:
                    if node.span.status.status_code is StatusCode.ERROR:
                        parts.append("ERROR")
                    shown = key_attributes(node.span.attributes or {}, prefixes=prefixes)
                    if shown:
                        parts.append(shown)
                lines.append("  " * depth + "  ".join(parts))
        return "\n".join(lines)

    @staticmethod
    def events(span: ReadableSpan, name: str | None = None) -> list[Any]:
        """The span's events, optionally only those with that name."""
        return [event for event in span.events if name is None or event.name == name]

    # --- metrics -------------------------------------------------------------
    def _metrics(self) -> dict[str, list[Any]]:
        data = self.metric_reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:
            return found
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def metric_names(self) -> list[str]:
        """Names of the metrics recorded so far, sorted."""
        return sorted(self._metrics())

    def metric_points(self, name: str, **attributes: Any) -> list[Any]:
        """Data points of metric ``name`` whose attributes include ``attributes``.

        A name that was never recorded and is not one of heritage-otel's
        metrics raises AssertionError listing the names that were, and so
        does an attribute key that none of the metric's points carries (a
        typo never reads as 0).
        """
        found = self._metrics()
        if name not in found and name not in KNOWN_METRICS:
            msg = f"no metric {name!r} was recorded; recorded metrics: {', '.join(sorted(found)) or 'none'}"
            raise AssertionError(msg)
        points = found.get(name, [])
        matching = [p for p in points if _matches(p.attributes, attributes)]
        if points and not matching:  # an attribute no point carries is a typo, not a zero
            known = sorted({key for p in points for key in (p.attributes or {})})
            unknown = [key for key in attributes if key not in known]
            if unknown:
                msg = (f"metric {name!r} has no point with attribute {unknown[0]!r}; "
                       f"its attributes: {', '.join(known) or 'none'}")
                raise AssertionError(msg)
        return matching

    def metric_sum(self, name: str, **attributes: Any) -> float:
        """Sum of a counter's points (or of a histogram's recorded values) matching."""
        total = 0.0
        for point in self.metric_points(name, **attributes):
            total += point.value if hasattr(point, "value") else point.sum
        return total

    def histogram_count(self, name: str, **attributes: Any) -> int:
        """How many values a histogram recorded, over the matching points."""
        return sum(int(point.count) for point in self.metric_points(name, **attributes))

    # --- logs ----------------------------------------------------------------
    def logs(self) -> tuple[ReadableLogRecord, ...]:
        """Every emitted log record."""
        return tuple(self.log_exporter.get_finished_logs())

    # --- lifecycle -----------------------------------------------------------
    def clear(self) -> None:
        """Forget captured spans and logs (metrics keep accumulating)."""
        self.span_exporter.clear()
        self.log_exporter.clear()

    def shutdown(self) -> None:
        release_globals(self.telemetry)
        self.telemetry.shutdown()


@contextlib.contextmanager
def capture_telemetry(**configure_kwargs: Any) -> Iterator[TelemetryCapture]:
    """A :class:`TelemetryCapture` active for the ``with`` block, then shut down."""
    captured = TelemetryCapture(**configure_kwargs)
    try:
        yield captured
    finally:
        captured.shutdown()
