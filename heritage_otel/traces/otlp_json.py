"""Read OTLP JSON lines files (one ``ExportTraceServiceRequest`` per line) into spans.

This is what the Collector's ``file`` exporter writes and what
``configure(otlp_json_path=...)`` (the embedded default) writes. Ids may be hex
(OTLP/JSON) or base64 (protobuf's generic JSON mapping); enums may be
integers or names.

>>> line = ('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},'
...         '"scopeSpans":[{"spans":[{"traceId":"' + "ab" * 16 + '","spanId":"' + "01" * 8 + '","name":"root",'
...         '"startTimeUnixNano":"0","endTimeUnixNano":"1000000","status":{"code":2}}]}]}]}')
>>> [(s.name, s.service_name, s.status_code) for s in spans_from_otlp_json(json.loads(line))]
[('root', 'svc', 'ERROR')]
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from heritage_otel.traces.model import STATUS_ERROR, STATUS_OK, STATUS_UNSET, Span, SpanEvent, Trace, group_traces

__all__ = ["any_value", "read_otlp_json_file", "spans_from_otlp_json"]

_logger = logging.getLogger(__name__)
_STATUS = {0: STATUS_UNSET, 1: STATUS_OK, 2: STATUS_ERROR}
_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def _id(value: Any, size: int) -> str:
    text = str(value or "")
    if len(text) == size * 2:
        try:
            bytes.fromhex(text)
            return text.lower()
        except ValueError:
            pass
    try:
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text.lower()


def any_value(value: Mapping[str, Any] | None) -> Any:
    """The Python value of an OTLP JSON ``AnyValue``."""
    if not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [any_value(item) for item in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return _attributes((value["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _attributes(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: any_value(item.get("value")) for item in items or () if "key" in item}


def _enum(value: Any, names: Mapping[int, str], prefix: str) -> str:
    if isinstance(value, str) and not value.isdigit():
        return value.removeprefix(prefix).lower()
    return names.get(int(value or 0), "unspecified")


def _status(status: Mapping[str, Any] | None) -> tuple[str, str]:
    status = status or {}
    code = status.get("code", 0)
    if isinstance(code, str) and not code.isdigit():
        name = code.removeprefix("STATUS_CODE_").upper()
    else:
        name = _STATUS.get(int(code or 0), STATUS_UNSET)
    return name, str(status.get("message", ""))


def spans_from_otlp_json(request: Mapping[str, Any]) -> list[Span]:
    """Spans of one ``ExportTraceServiceRequest`` in OTLP JSON."""
    spans = []
    for resource_spans in request.get("resourceSpans") or ():
        resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
        service = str(resource.get("service.name", ""))
        scopes = resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans") or ()
        for scope_spans in scopes:
            for raw in scope_spans.get("spans") or ():
                status, message = _status(raw.get("status"))
                parent = _id(raw.get("parentSpanId"), 8) if raw.get("parentSpanId") else None
                spans.append(Span(
                    trace_id=_id(raw.get("traceId"), 16),
                    span_id=_id(raw.get("spanId"), 8),
                    parent_span_id=parent,
                    name=str(raw.get("name", "")),
                    service_name=service,
                    start_unix_nano=int(raw.get("startTimeUnixNano", 0)),
                    end_unix_nano=int(raw.get("endTimeUnixNano", 0)),
                    status_code=status,
                    status_message=message,
                    kind=_enum(raw.get("kind", 1), _KINDS, "SPAN_KIND_"),
                    attributes=_attributes(raw.get("attributes")),
                    events=tuple(
                        SpanEvent(str(event.get("name", "")), int(event.get("timeUnixNano", 0)),
                                  _attributes(event.get("attributes")))
                        for event in raw.get("events") or ()
                    ),
                    resource=resource,
                ))
    return spans


def read_otlp_json_file(path: str | os.PathLike[str]) -> list[Trace]:
    """Every trace in an OTLP JSON lines file, newest first. Lines that are not valid JSON are skipped
    with a warning (a writer may have been cut off mid-line)."""
    spans: list[Span] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                spans.extend(spans_from_otlp_json(json.loads(line)))
            except (ValueError, TypeError, AttributeError) as exc:
                _logger.warning("%s:%d is not an OTLP JSON ExportTraceServiceRequest (%s); skipped", path, number, exc)
    return group_traces(spans)
