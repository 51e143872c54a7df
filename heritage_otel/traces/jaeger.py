"""A client for Jaeger's HTTP query API (``/api/services``, ``/api/traces``, ``/api/traces/{id}``).

Jaeger stores OTLP spans in its own model: attributes become tags, events
become logs (the name in the ``event`` field), the status becomes the
``otel.status_code`` / ``otel.status_description`` / ``error`` tags, and the
resource becomes the process. :func:`spans_from_jaeger` maps that back onto
:class:`~heritage_otel.traces.model.Span`.

>>> client = JaegerClient("http://127.0.0.1:16686/")
>>> client.base_url
'http://127.0.0.1:16686'
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from heritage_otel.secrets import mask_text
from heritage_otel.traces.durations import go_duration, parse_duration_ns
from heritage_otel.traces.model import STATUS_ERROR, STATUS_OK, STATUS_UNSET, Span, SpanEvent, Trace, group_traces

__all__ = ["DEFAULT_JAEGER_URL", "JaegerClient", "JaegerError", "spans_from_jaeger"]

DEFAULT_JAEGER_URL = "http://127.0.0.1:16686"
#: Tags Jaeger derives from OTLP fields; they become Span fields, not attributes.
_STATUS_TAGS = {"otel.status_code", "otel.status_description", "error", "span.kind"}


class JaegerError(RuntimeError):
    """Jaeger could not be reached or answered with an error; the message says which URL and why."""


def _tag_map(tags: Any) -> dict[str, Any]:
    return {tag["key"]: tag.get("value") for tag in tags or () if isinstance(tag, Mapping) and "key" in tag}


def _span_from_jaeger(raw: Mapping[str, Any], processes: Mapping[str, Any]) -> Span:
    tags = _tag_map(raw.get("tags"))
    process = processes.get(raw.get("processID", ""), {}) or {}
    parent = next(
        (ref.get("spanID") for ref in raw.get("references") or () if ref.get("refType") == "CHILD_OF"
         and ref.get("traceID") == raw.get("traceID")),
        None,
    )
    status = str(tags.get("otel.status_code", "")).upper()
    if status not in {STATUS_OK, STATUS_ERROR}:
        status = STATUS_ERROR if tags.get("error") in (True, "true") else STATUS_UNSET
    start_ns = int(raw.get("startTime", 0)) * 1_000
    events = []
    for log in raw.get("logs") or ():
        fields = _tag_map(log.get("fields"))
        name = str(fields.pop("event", "log"))
        events.append(SpanEvent(name=name, time_unix_nano=int(log.get("timestamp", 0)) * 1_000, attributes=fields))
    return Span(
        trace_id=str(raw.get("traceID", "")).lower().rjust(32, "0"),
        span_id=str(raw.get("spanID", "")).lower(),
        parent_span_id=parent.lower() if parent else None,
        name=str(raw.get("operationName", "")),
        service_name=str(process.get("serviceName", "")),
        start_unix_nano=start_ns,
        end_unix_nano=start_ns + int(raw.get("duration", 0)) * 1_000,
        status_code=status,
        status_message=str(tags.get("otel.status_description", "")),
        kind=str(tags.get("span.kind", "internal")),
        attributes={key: value for key, value in tags.items() if key not in _STATUS_TAGS},
        events=tuple(events),
        resource=_tag_map(process.get("tags")),
    )


def spans_from_jaeger(payload: Mapping[str, Any]) -> list[Span]:
    """Spans of every trace in a Jaeger API response (``{"data": [trace, ...]}``)."""
    spans = []
    for trace in payload.get("data") or ():
        processes = trace.get("processes") or {}
        spans.extend(_span_from_jaeger(raw, processes) for raw in trace.get("spans") or ())
    return spans


class JaegerClient:
    """Reads traces from Jaeger's HTTP API at ``base_url`` (the query port, 16686 by default)."""

    def __init__(self, base_url: str = DEFAULT_JAEGER_URL, *, timeout_s: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            msg = f"jaeger_url = {mask_text(repr(base_url))} is not valid; expected an http:// or https:// URL"
            raise ValueError(msg)
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        import requests  # the service extra; imported when a client is made

        self._session = requests.Session()

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        import requests

        url = f"{self.base_url}{path}"
        try:
            response = self._session.get(url, params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            msg = (f"could not reach Jaeger at {url}: {exc} (is the stack up? heritage-otel stack status; "
                   "a stack started from another folder: --jaeger-url, or HERITAGE_OTEL_STATE_DIR)")
            raise JaegerError(mask_text(msg)) from None  # the cause's text may hold the URL's credentials
        if response.status_code == 404:
            return {"data": []}
        if response.status_code != 200:
            msg = f"Jaeger answered {response.status_code} for {response.url}: {response.text[:300]}"
            raise JaegerError(mask_text(msg))
        return response.json()

    def services(self) -> list[str]:
        """Service names Jaeger has spans for."""
        return sorted(self._get("/api/services").get("data") or [])

    def operations(self, service: str) -> list[str]:
        """Span names Jaeger has for ``service``."""
        from urllib.parse import quote

        return sorted(self._get(f"/api/services/{quote(service, safe='')}/operations").get("data") or [])

    def find_traces(
        self,
        service: str,
        *,
        limit: int = 20,
        lookback: str = "1h",
        min_duration: str | None = None,
        error_only: bool = False,
        operation: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> list[Trace]:
        """Traces of ``service`` that started within ``lookback`` (newest first).

        ``error_only`` is applied here, not by Jaeger: Jaeger 2.13's memory store
        reads the ``error=true`` search tag of the HTTP API as false and returns
        no failing trace. The search then asks for ``max(10 * limit, 500)``
        traces and keeps those with an ERROR span.
        """
        if limit < 1:
            msg = f"limit = {limit!r} is not valid; expected a positive integer"
            raise ValueError(msg)
        now_us = time.time_ns() // 1_000
        params: dict[str, Any] = {
            "service": service,
            "limit": max(10 * limit, 500) if error_only else limit,
            "start": now_us - parse_duration_ns(lookback) // 1_000,
            "end": now_us + 60_000_000,  # a minute of clock skew between us and the spans' producer
            "lookback": lookback,
        }
        if operation:
            params["operation"] = operation
        if min_duration:
            params["minDuration"] = go_duration(parse_duration_ns(min_duration))
        if tags:
            params["tags"] = json.dumps(dict(tags))
        traces = group_traces(spans_from_jaeger(self._get("/api/traces", params)))
        if error_only:
            traces = [trace for trace in traces if trace.has_error]
        return traces[:limit]

    def get_trace(self, trace_id: str) -> Trace | None:
        """The trace with ``trace_id`` (hex), or None when Jaeger does not have it."""
        traces = group_traces(spans_from_jaeger(self._get(f"/api/traces/{trace_id.lower()}")))
        return traces[0] if traces else None
