"""Print traces as indented trees: duration, status, key attributes and events of every span.

>>> from heritage_otel.traces.model import Span, SpanEvent, Trace
>>> root = Span("ab" * 16, "01" * 8, None, "heritage.recommend", "svc", 0, 12_000_000,
...             attributes={"heritage.result.count": 5})
>>> child = Span("ab" * 16, "02" * 8, "01" * 8, "heritage.component", "svc", 1_000_000, 3_000_000,
...              status_code="ERROR", status_message="boom",
...              events=(SpanEvent("exception", 2_000_000, {"exception.type": "ValueError"}),))
>>> print(render_trace(Trace("ab" * 16, (root, child))))
trace abababababababababababababababab  svc  2 spans  12.00 ms  ERROR
heritage.recommend  12.00 ms  ok  heritage.result.count=5
└── heritage.component  2.00 ms  ERROR: boom
          • exception +1.00 ms  exception.type=ValueError
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from heritage_otel.traces.model import STATUS_ERROR, STATUS_OK, Span, Trace, TraceNode

__all__ = ["KEY_ATTRIBUTE_PREFIXES", "key_attributes", "render_trace", "render_traces", "traces_to_json"]

#: Attributes shown in the tree: ours, OpenTelemetry's error type, OpenInference's span kind.
KEY_ATTRIBUTE_PREFIXES = ("heritage.", "error.type", "openinference.span.kind", "http.", "rpc.", "db.")
_HIDDEN_SUFFIXES = (".stacktrace",)
_MAX_VALUE = 60
_MAX_ATTRIBUTES = 10
_MAX_STATUS = 80


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("\n", " ")
    shown = text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"
    return json.dumps(shown, ensure_ascii=False) if (" " in shown and isinstance(value, str)) else shown


def key_attributes(attributes: Mapping[str, Any], *, prefixes: Iterable[str] = KEY_ATTRIBUTE_PREFIXES) -> str:
    """``key=value`` pairs of the attributes worth a glance, sorted, values shortened."""
    prefixes = tuple(prefixes)
    keys = sorted(key for key in attributes if key.startswith(prefixes) and not key.endswith(_HIDDEN_SUFFIXES))
    parts = [f"{key}={_short(attributes[key])}" for key in keys[:_MAX_ATTRIBUTES]]
    if len(keys) > _MAX_ATTRIBUTES:
        parts.append(f"(+{len(keys) - _MAX_ATTRIBUTES} more)")
    return " ".join(parts)


def _status(span: Span) -> str:
    if span.status_code == STATUS_ERROR:
        message = span.status_message.replace("\n", " ")
        if len(message) > _MAX_STATUS:
            message = message[: _MAX_STATUS - 1] + "…"
        return f"ERROR: {message}" if message else "ERROR"
    return "ok" if span.status_code in (STATUS_OK, "UNSET") else span.status_code


def _event_line(span: Span, event: Any) -> str:
    offset_ms = (event.time_unix_nano - span.start_unix_nano) / 1e6
    details = key_attributes(event.attributes, prefixes=("exception.", "heritage.", "error."))
    return f"• {event.name} +{offset_ms:.2f} ms" + (f"  {details}" if details else "")


def _span_line(span: Span, root_service: str) -> str:
    name = span.name
    if span.service_name and span.service_name != root_service:
        name += f" [{span.service_name}]"
    parts = [name, f"{span.duration_ms:.2f} ms", _status(span)]
    attrs = key_attributes(span.attributes)
    if attrs:
        parts.append(attrs)
    return "  ".join(parts)


def _render_node(node: TraceNode, prefix: str, is_last: bool, is_root: bool, root_service: str, out: list[str]) -> None:
    connector = "" if is_root else ("└── " if is_last else "├── ")
    out.append(prefix + connector + _span_line(node.span, root_service))
    child_prefix = prefix if is_root else prefix + ("    " if is_last else "│   ")
    event_prefix = child_prefix + ("│     " if node.children else "      ")
    out.extend(event_prefix + _event_line(node.span, event) for event in node.span.events)
    for index, child in enumerate(node.children):
        _render_node(child, child_prefix, index == len(node.children) - 1, False, root_service, out)


def render_trace(trace: Trace) -> str:
    """One trace as a header line and an indented span tree."""
    roots = trace.tree()
    root_service = roots[0].span.service_name if roots else ""
    header = (f"trace {trace.trace_id}  {', '.join(trace.services)}  {len(trace.spans)} spans  "
              f"{trace.duration_ms:.2f} ms  {'ERROR' if trace.has_error else 'ok'}")
    lines = [header]
    for root in roots:
        _render_node(root, "", True, True, root_service, lines)
    return "\n".join(lines)


def render_traces(traces: Iterable[Trace]) -> str:
    """Every trace, separated by a blank line."""
    return "\n\n".join(render_trace(trace) for trace in traces)


def traces_to_json(traces: Iterable[Trace]) -> str:
    """Traces as a JSON array (``--json``), one object per trace with its spans."""
    return json.dumps([trace.to_dict() for trace in traces], indent=2, default=str)
