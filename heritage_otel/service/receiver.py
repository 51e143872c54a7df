"""The OTLP/HTTP receiver: ``POST /v1/metrics``, ``/v1/logs`` and ``/v1/traces``, bodies streamed under limits.

The body is read as it arrives and refused (413) past ``max_request_bytes``
on the wire or after gzip; all requests together hold at most
``max_buffered_bytes`` (503 beyond); a body not complete within
``request_timeout_s`` gets 503 with ``Retry-After`` (OTLP clients retry it).
Decoding counts elements before building anything (``max_request_items``),
then at most ``max_concurrent_ingest`` bodies are decoded and ingested at
once, on worker threads, and at most half of them from one client address. Spans are answered with a partial success that
rejects them (they belong in Jaeger).

>>> from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
>>> request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[Span()])])])
>>> _traces_refused(request).partial_success.rejected_spans
1
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, Final

import anyio.to_thread
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.datastructures import Headers

from heritage_otel.service.core import AnalyzerService
from heritage_otel.service.envelope import REALM, ClientGone, Envelope, Receive, Refused, Scope, Send
from heritage_otel.service.limits import cut_resource_attributes
from heritage_otel.service.payload import (
    PROTOBUF,
    GzipStream,
    PayloadError,
    decode,
    encode_message,
    media_type,
    status_body,
)

__all__ = ["OtlpReceiver", "OTLP_PATHS"]

#: How often a request whose address holds its share of decode slots looks again.
_SHARE_POLL_S: Final = 0.02

OTLP_PATHS: Final = {"/v1/metrics": ExportMetricsServiceRequest, "/v1/logs": ExportLogsServiceRequest,
                     "/v1/traces": ExportTraceServiceRequest}


class OtlpReceiver:
    """Answers the POSTs of the OTLP paths for one :class:`AnalyzerService` (event loop + worker threads)."""

    def __init__(self, service: AnalyzerService, envelope: Envelope) -> None:
        self.service = service
        self.config = service.config
        self.envelope = envelope
        self._ingest_slots: asyncio.Semaphore | None = None
        self._ingesting: Counter[str] = Counter()  # bodies being decoded/ingested, per client address
        self._buffered = 0  # body bytes held by all requests (wire + decompressed; event-loop only)

    async def post(self, scope: Scope, receive: Receive, send: Send, headers: Headers, kind: str,
                   deadline: float) -> None:
        """Answer one POST under ``/v1/`` (Refused for what is not an acceptable OTLP request)."""
        path = scope["path"]
        if path not in OTLP_PATHS:
            raise Refused(404, f"no OTLP endpoint at {path[:200]}; use /v1/metrics, /v1/logs or /v1/traces")
        if not self.envelope.authorized(headers):
            raise Refused(401, "missing or wrong bearer token", headers=REALM)
        if not self.config.ingest:
            raise Refused(403, "this dashboard is read-only: it accepts no OTLP data (ingest is off)")
        if "content-length" not in headers and "transfer-encoding" not in headers:
            raise Refused(411, "Content-Length (or chunked Transfer-Encoding) is required")
        content_type = headers.get("content-type")
        if media_type(content_type) is None and content_type:
            raise Refused(415, f"unsupported Content-Type {content_type[:100]!r}; expected {PROTOBUF} or application/json")
        encoding = (headers.get("content-encoding") or "identity").strip().lower()
        if encoding not in ("gzip", "identity"):
            raise Refused(415, f"unsupported Content-Encoding {encoding[:100]!r}; expected gzip or none")
        held = [0]
        try:
            body = await self._read_body(receive, headers, encoding == "gzip", deadline, held)
            if self._ingest_slots is None:
                self._ingest_slots = asyncio.Semaphore(self.config.max_concurrent_ingest)
            client = scope["client"][0] if scope.get("client") else ""
            share = max(1, self.config.max_concurrent_ingest // 2)  # no address holds every decode slot
            try:
                async with asyncio.timeout_at(deadline):
                    while self._ingesting[client] >= share:
                        await asyncio.sleep(_SHARE_POLL_S)
                    await self._ingest_slots.acquire()
            except TimeoutError:
                raise Refused(503, "the Analyzer is busy; retry later", headers={"Retry-After": "5"}) from None
            self._ingesting[client] += 1
            try:
                status, payload = await anyio.to_thread.run_sync(self._ingest, path, body, content_type, kind)
            finally:
                self._ingest_slots.release()
                self._ingesting[client] -= 1
                if self._ingesting[client] <= 0:
                    del self._ingesting[client]
        finally:
            self._buffered -= held[0]
            self.service.buffered_bytes = self._buffered
        await self.envelope.respond(send, status, payload, kind)

    def _hold(self, n: int, held: list[int]) -> None:
        """Count ``n`` more body bytes held; 503 when all requests together would hold over max_buffered_bytes."""
        if self._buffered + n > self.config.max_buffered_bytes:
            raise Refused(503, "the Analyzer holds too many request bodies; retry later",
                          counter="buffered_bytes_refused", headers={"Retry-After": "1"}, close=True)
        self._buffered += n
        held[0] += n
        self.service.buffered_bytes = self._buffered

    async def _read_body(
        self, receive: Receive, headers: Headers, gzipped: bool, deadline: float, held: list[int],
    ) -> bytearray:
        """The (decompressed) body, streamed: 413 past the limit on the wire or after gzip, 408 past the deadline."""
        limit = self.config.max_request_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise Refused(413, f"the body ({declared} bytes) exceeds the limit of {limit} bytes",
                          counter="body_too_large")
        inflater = GzipStream(limit) if gzipped else None
        body = bytearray()  # grown in place (one copy of the body held, not chunks plus their join)
        received = 0
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientGone
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > limit:
                        raise Refused(413, f"the body exceeds the limit of {limit} bytes", counter="body_too_large")
                    part = inflater.feed(chunk) if inflater is not None else chunk
                    self._hold(len(chunk) + (len(part) if inflater is not None else 0), held)
                    body += part
                    if not message.get("more_body"):
                        break
            if inflater is not None:
                body += inflater.finish()
        except TimeoutError:  # retryable (OTLP retries 503, not 408): a slow link is not bad data
            raise Refused(503, f"the body did not arrive within {self.config.request_timeout_s:g} s; retry later",
                          counter="request_timeouts", headers={"Retry-After": "5"}, close=True) from None
        except PayloadError as exc:
            counter = "decompressed_too_large" if exc.status == 413 else None
            raise Refused(exc.status, exc.message, counter=counter, field=exc.field) from None
        return body

    def _ingest(self, path: str, body: bytearray, content_type: str | None, kind: str) -> tuple[int, bytes]:
        """Decode and ingest one OTLP body (on a worker thread); (status, encoded response)."""
        service = self.service
        limit, items = self.config.max_request_bytes, self.config.max_request_items
        try:
            if path == "/v1/traces":
                return 200, encode_message(_traces_refused(decode(
                    body, content_type, None, ExportTraceServiceRequest, max_bytes=limit, max_items=items)), kind)
            if path == "/v1/metrics":
                request = decode(body, content_type, None, ExportMetricsServiceRequest, max_bytes=limit,
                                 max_items=items)
                cut_resource_attributes(request.resource_metrics, max_value_length=self.config.max_attribute_value_length,
                                        counters=service.drops)
                result = service.ingest_metrics(request)
                if result.malformed and not result.accepted:  # nothing usable, and the sender's fault
                    message = f"every data point was refused: {result.message()}"
                    return 400, status_body(400, message, kind, "resource_metrics")
                response: Any = ExportMetricsServiceResponse()
                if result.rejected:
                    response.partial_success.CopyFrom(ExportMetricsPartialSuccess(
                        rejected_data_points=result.rejected, error_message=result.message()))
            else:
                logs = decode(body, content_type, None, ExportLogsServiceRequest, max_bytes=limit, max_items=items)
                cut_resource_attributes(logs.resource_logs, max_value_length=self.config.max_attribute_value_length,
                                        counters=service.drops)
                _seen, rejected, message = service.ingest_logs(logs)
                response = ExportLogsServiceResponse()
                if rejected:
                    response.partial_success.CopyFrom(ExportLogsPartialSuccess(
                        rejected_log_records=rejected, error_message=message))
        except PayloadError as exc:
            if exc.status == 413:
                service.drops.add("too_many_items" if "max_request_items" in exc.message else "decompressed_too_large")
            return exc.status, status_body(exc.status, exc.message, kind, exc.field)
        return 200, encode_message(response, kind)



def _traces_refused(request: ExportTraceServiceRequest) -> ExportTraceServiceResponse:
    """The answer to spans sent here: a partial success rejecting every one (they belong in Jaeger)."""
    spans = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
    response = ExportTraceServiceResponse()
    if spans:
        response.partial_success.CopyFrom(ExportTracePartialSuccess(
            rejected_spans=spans, error_message="the Analyzer does not store traces; export spans to the Collector "
                                                "(which sends them to Jaeger), not to this endpoint"))
    return response
