"""A ``logging.Formatter`` that writes one JSON object per line, trace-correlated.

Every line has ``timestamp`` (ISO-8601, UTC, milliseconds, ``Z``), ``level``,
``logger`` and ``message``; ``trace_id`` (32 hex digits) and ``span_id`` (16)
of the span current when the record is formatted, when there is one; every
field passed with ``extra=``; and, for ``logger.exception(...)``, an
``exception`` object with ``type``, ``message`` and ``stacktrace`` (the
OpenTelemetry ``exception.*`` names, without the prefix). An extra field that
would overwrite one of these is kept as ``extra.<name>``. Values JSON cannot
hold are written with ``str()``; NaN and infinities as the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, so every line is strict JSON.

>>> import io, json, logging
>>> stream = io.StringIO()
>>> handler = logging.StreamHandler(stream)
>>> handler.setFormatter(JsonFormatter())
>>> log = logging.getLogger("doc.json"); log.addHandler(handler); log.propagate = False
>>> log.warning("slow query", extra={"query_id": "q1", "latency_ms": 812.5})
>>> line = json.loads(stream.getvalue())
>>> line["level"], line["logger"], line["message"], line["query_id"], line["latency_ms"]
('WARNING', 'doc.json', 'slow query', 'q1', 812.5)
>>> "trace_id" in line  # no span is active here
False
>>> log.removeHandler(handler)
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.trace import SpanContext

__all__ = ["JsonFormatter", "format_timestamp", "json_line", "log_entry"]

#: Attributes every ``logging.LogRecord`` has; anything else came from ``extra=``.
_STANDARD_ATTRS: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    # set by opentelemetry-instrumentation-logging; rendered as trace_id/span_id
    "otelTraceID",
    "otelSpanID",
    "otelTraceSampled",
    "otelServiceName",
}
_CORE_FIELDS: Final = ("timestamp", "level", "logger", "message", "trace_id", "span_id", "exception", "stack_info")


def format_timestamp(epoch_seconds: float) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``.

    >>> format_timestamp(0.25)
    '1970-01-01T00:00:00.250Z'
    """
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _trace_fields(span_context: SpanContext | None) -> dict[str, str]:
    if span_context is None:
        span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {
        "trace_id": trace.format_trace_id(span_context.trace_id),
        "span_id": trace.format_span_id(span_context.span_id),
    }


def log_entry(
    *,
    timestamp: float,
    level: str,
    logger: str,
    message: str,
    fields: Mapping[str, Any] | None = None,
    span_context: SpanContext | None = None,
) -> dict[str, Any]:
    """The dict one JSON line holds (``span_context`` defaults to the current span's)."""
    entry: dict[str, Any] = {
        "timestamp": format_timestamp(timestamp),
        "level": level,
        "logger": logger,
        "message": message,
    }
    entry.update(_trace_fields(span_context))
    for key, value in (fields or {}).items():
        entry[f"extra.{key}" if key in _CORE_FIELDS else key] = value
    return entry


def _strict(value: Any) -> Any:
    """``value`` with non-finite floats replaced by their names (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_strict(v) for v in value]
    return value


def json_line(entry: Mapping[str, Any]) -> str:
    """``entry`` as one line of strict JSON (no newline at the end).

    >>> json_line({"latency_ms": float("inf"), "ids": ("d1", "d2")})
    '{"latency_ms": "Infinity", "ids": ["d1", "d2"]}'
    """
    try:
        return json.dumps(entry, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_strict(entry), ensure_ascii=False, default=str, allow_nan=False)


class JsonFormatter(logging.Formatter):
    """Formats a ``logging.LogRecord`` as one line of JSON (see the module docs).

    ``static_fields`` are added to every line (for example ``{"service": "recommender"}``);
    fields of the record win over them.
    """

    def __init__(self, *, static_fields: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.static_fields = dict(static_fields or {})

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = dict(self.static_fields)
        fields.update((k, v) for k, v in vars(record).items() if k not in _STANDARD_ATTRS)
        entry = log_entry(
            timestamp=record.created,
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
            fields=fields,
            span_context=_record_span_context(record),
        )
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, _ = record.exc_info
            entry["exception"] = {
                "type": exc_type.__qualname__,
                "message": str(exc),
                "stacktrace": self.formatException(record.exc_info),
            }
        elif record.exc_text:
            entry["exception"] = {"stacktrace": record.exc_text}
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json_line(entry)


def _record_span_context(record: logging.LogRecord) -> SpanContext | None:
    """The span context stamped on the record by OTel logging instrumentation, if any."""
    trace_id = getattr(record, "otelTraceID", None)
    span_id = getattr(record, "otelSpanID", None)
    if isinstance(trace_id, str) and isinstance(span_id, str):
        try:
            context = SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=False)
        except ValueError:
            return None
        if context.is_valid:
            return context
    return None
