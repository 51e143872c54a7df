"""OTLP/HTTP request bodies: content type, gzip, size limit, protobuf and JSON decoding, responses.

Follows the OTLP/HTTP specification: binary protobuf
(``application/x-protobuf``) and JSON (``application/json``) on the same
path, ``Content-Encoding: gzip``, a size limit applied after decompression
too (413), 400 with a ``google.rpc.Status`` body for data that cannot be
decoded, 415 for an unsupported content type or encoding, and a response in
the request's own encoding. In OTLP/JSON ``traceId``/``spanId`` are hex
strings (not base64 as in the generic protobuf JSON mapping), enums are
integers, and unknown fields are ignored.

>>> from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
>>> body = b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"5B8EFFF798038103D269B633813FC60C","x":1}]}]}]}'
>>> msg = decode(body, "application/json", None, ExportLogsServiceRequest, max_bytes=1 << 20)
>>> msg.resource_logs[0].scope_logs[0].log_records[0].trace_id.hex()
'5b8efff798038103d269b633813fc60c'
"""

from __future__ import annotations

import base64
import functools
import json
import zlib
from typing import Any, Final, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "PROTOBUF",
    "JSON",
    "PayloadError",
    "media_type",
    "GzipStream",
    "gunzip_limited",
    "decode",
    "count_messages",
    "count_json_values",
    "DEFAULT_MAX_ITEMS",
    "encode_message",
    "status_body",
]

PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
_CHUNK: Final = 64 * 1024
#: Default cap on the messages (protobuf) or values (JSON) of one request; ServiceConfig.max_request_items.
DEFAULT_MAX_ITEMS: Final = 500_000

M = TypeVar("M", bound=Message)


class PayloadError(Exception):
    """A request the receiver refuses: ``status`` is the HTTP status, ``message`` says why."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def media_type(content_type: str | None) -> str | None:
    """``application/x-protobuf``, ``application/json`` or None (unsupported) from a Content-Type header.

    >>> media_type("application/json; charset=utf-8"), media_type("text/plain")
    ('application/json', None)
    """
    if not content_type:
        return None
    base = content_type.split(";", 1)[0].strip().lower()
    return base if base in (PROTOBUF, JSON) else None


#: Largest output of one zlib call while inflating a body.
_INFLATE_STEP: Final = 1 << 20


class GzipStream:
    """Incremental gzip decompression with a ceiling on the output; every member of a multi-member body.

    Feed the body chunk by chunk as it arrives (:meth:`feed`), then call
    :meth:`finish`. Output beyond ``max_bytes`` is a 413 as soon as it would
    be produced (a bomb is never inflated past the limit); a truncated body or
    trailing garbage is a 400.

    >>> import gzip
    >>> stream = GzipStream(max_bytes=100)
    >>> stream.feed(gzip.compress(b"ab") + gzip.compress(b"cd")) + stream.finish()
    b'abcd'
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.produced = 0
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._started = False

    def _take(self, out: bytes) -> bytes:
        self.produced += len(out)
        if self.produced > self.max_bytes:
            raise PayloadError(413, f"the decompressed body exceeds the limit of {self.max_bytes} bytes")
        return out

    def feed(self, data: bytes) -> bytes:
        """Decompress one chunk of the body; returns what it inflated to.

        Output is produced at most :data:`_INFLATE_STEP` bytes per call of zlib, so zlib never allocates a
        buffer sized by the limit (it grows one by doubling: up to twice the output besides the output).
        """
        out = bytearray()
        try:
            more = False  # zlib may hold output beyond the last step although it consumed every input byte
            while data or more:
                self._started = True
                step = min(self.max_bytes + 1 - self.produced, _INFLATE_STEP)
                part = self._inflater.decompress(data, step)
                out += self._take(part)
                more = len(part) == step and not self._inflater.eof
                data = self._inflater.unconsumed_tail
                if self._inflater.eof:  # one member ended: the rest is the next member (or nothing)
                    data = self._inflater.unused_data  # all input after the member (unconsumed_tail may repeat it)
                    self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    self._started = bool(data)
                    if data and not b"\x1f\x8b".startswith(data[:2]):  # the magic may end in the next chunk
                        raise PayloadError(400, "the gzip body has trailing data that is not a gzip member")
        except zlib.error as exc:
            raise PayloadError(400, f"the body is not valid gzip: {exc}") from None
        return bytes(out)

    def finish(self) -> bytes:
        """The end of the body: the last member must be complete."""
        if self._started:
            raise PayloadError(400, "the gzip body is truncated")
        return b""


def gunzip_limited(data: bytes, max_bytes: int) -> bytes:
    """Decompress a whole gzip body (all members), refusing (413) once the output exceeds ``max_bytes``.

    >>> import gzip
    >>> try:
    ...     gunzip_limited(gzip.compress(b"x" * 10), max_bytes=5)
    ... except PayloadError as exc:
    ...     print(exc.status, exc.message)
    413 the decompressed body exceeds the limit of 5 bytes
    """
    stream = GzipStream(max_bytes)
    out = bytearray()
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        out += stream.feed(bytes(view[start : start + _CHUNK]))
    out += stream.finish()
    return bytes(out)


def _children(node: Any, *names: str) -> list[Any]:
    """The list under the first of ``names`` present in a JSON object (OTLP/JSON accepts both spellings)."""
    if not isinstance(node, dict):
        return []
    for name in names:
        if name in node:
            value = node[name]
            return value if isinstance(value, list) else []
    return []


def _hex_to_base64(record: Any, fields: tuple[str, ...]) -> None:
    """Rewrite the hex ids of one span, link, log record or exemplar (in place) into base64."""
    if not isinstance(record, dict):
        return
    for key in fields:
        for spelling in (key, _SNAKE[key]):
            value = record.get(spelling)
            if isinstance(value, str):
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    raise PayloadError(400, f"{spelling} {value[:40]!r} is not a hex string", spelling) from None
                record[spelling] = base64.b64encode(raw).decode("ascii")


def _hex_ids_to_base64(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite OTLP/JSON hex ids (where the schema has them, nowhere else) into the base64 protobuf JSON expects.

    Only the id fields of log records, exemplars, spans and links are touched;
    a key spelled ``traceId`` anywhere else is an unknown field, ignored like
    any other. The document is changed in place (no copy of a large body).
    """
    for resource in _children(document, "resourceLogs", "resource_logs"):
        for scope in _children(resource, "scopeLogs", "scope_logs"):
            for record in _children(scope, "logRecords", "log_records"):
                _hex_to_base64(record, ("traceId", "spanId"))
    for resource in _children(document, "resourceMetrics", "resource_metrics"):
        for scope in _children(resource, "scopeMetrics", "scope_metrics"):
            for metric in _children(scope, "metrics"):
                for kind in _METRIC_KINDS:
                    data = metric.get(kind) if isinstance(metric, dict) else None
                    for point in _children(data, "dataPoints", "data_points"):
                        for exemplar in _children(point, "exemplars"):
                            _hex_to_base64(exemplar, ("traceId", "spanId"))
    for resource in _children(document, "resourceSpans", "resource_spans"):
        for scope in _children(resource, "scopeSpans", "scope_spans"):
            for span in _children(scope, "spans"):
                _hex_to_base64(span, ("traceId", "spanId", "parentSpanId"))
                for link in _children(span, "links"):
                    _hex_to_base64(link, ("traceId", "spanId"))
    return document


_SNAKE: Final = {"traceId": "trace_id", "spanId": "span_id", "parentSpanId": "parent_span_id"}
_METRIC_KINDS: Final = ("gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram", "summary")


def _message_plan(descriptor: Any, plans: dict[str, dict[int, Any]] | None = None) -> dict[int, Any]:
    """{field number: plan of the field's message type} for every message-typed field, recursively (shared)."""
    plans = {} if plans is None else plans
    name = descriptor.full_name
    if name not in plans:
        plan: dict[int, Any] = {}
        plans[name] = plan
        for fd in descriptor.fields:
            if fd.message_type is not None:
                plan[fd.number] = _message_plan(fd.message_type, plans)
    return plans[name]


@functools.cache
def _plan_for(message_type: type[Message]) -> dict[int, Any]:
    return _message_plan(message_type.DESCRIPTOR)


def _varint(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise PayloadError(400, "the body is not a valid protobuf: a varint is truncated or too long")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def count_messages(data: bytes | bytearray, message_type: type[Message], max_items: int) -> int:
    r"""How many messages ``data`` (a serialized ``message_type``) holds, read from the wire format, not decoded.

    Every embedded message counts (resources, scopes, metrics, data points,
    log records, spans, attributes, values, ...). The walk stops with a 413
    as soon as the count passes ``max_items``, so ten million empty messages
    cost ``max_items`` steps, not a decode; a body that is not protobuf
    wire format is a 400.

    >>> from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    >>> count_messages(b"\x0a\x00" * 3, ExportMetricsServiceRequest, max_items=10)
    3
    >>> try:
    ...     count_messages(b"\x0a\x00" * 10_000_000, ExportMetricsServiceRequest, max_items=1000)
    ... except PayloadError as exc:
    ...     print(exc.status, exc.message)
    413 the body holds more than 1000 messages (max_request_items)
    """
    items = 0
    stack: list[tuple[int, int, dict[int, Any]]] = [(0, len(data), _plan_for(message_type))]
    while stack:
        pos, end, plan = stack.pop()
        while pos < end:
            tag = data[pos]
            pos += 1
            if tag >= 0x80:
                tag, pos = _varint(data, pos - 1)
            wire = tag & 7
            if wire == 2:
                size = data[pos] if pos < end else 0x80
                if size < 0x80:
                    pos += 1
                else:
                    size, pos = _varint(data, pos)
                child = plan.get(tag >> 3)
                if child is not None:
                    items += 1
                    if items > max_items:
                        raise PayloadError(413, f"the body holds more than {max_items} messages (max_request_items)")
                    if child and size:
                        stack.append((pos, pos + size, child))
                pos += size
            elif wire == 0:
                _, pos = _varint(data, pos)
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            else:
                raise PayloadError(400, f"the body is not a valid {message_type.__name__} protobuf: wire type {wire}")
        if pos != end:
            raise PayloadError(400, f"the body is not a valid {message_type.__name__} protobuf: a field is truncated")
    return items


def count_json_values(body: bytes | bytearray, max_items: int) -> int:
    """An upper bound of the values a JSON body decodes to (objects, arrays, and one per separator); 413 past ``max_items``.

    Counted with ``bytes.count`` before parsing (brackets and commas inside
    strings count too, so the bound is never low): 80 KB of gzip that inflate
    to millions of ``[]`` are refused without building a single list.

    >>> count_json_values(b'{"a":[1,2,3]}', max_items=10)
    4
    """
    items = body.count(b"{") + body.count(b"[") + body.count(b",")
    if items > max_items:
        raise PayloadError(413, f"the JSON body holds more than {max_items} values (max_request_items)")
    return items


def decode(
    body: bytes | bytearray, content_type: str | None, content_encoding: str | None, message_type: type[M], *, max_bytes: int,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> M:
    """Decode one OTLP request body into ``message_type``; raises :class:`PayloadError` (400/413/415).

    The size is checked (``max_bytes``, after gzip too), then the elements are
    counted (``max_items``: messages of protobuf, values of JSON) before
    anything is built; unknown fields are ignored.
    """
    kind = media_type(content_type)
    if kind is None:
        msg = f"unsupported Content-Type {content_type!r}; expected {PROTOBUF} or {JSON}"
        raise PayloadError(415, msg)
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        body = gunzip_limited(body, max_bytes)
    elif encoding != "identity":
        raise PayloadError(415, f"unsupported Content-Encoding {content_encoding!r}; expected gzip or none")
    if len(body) > max_bytes:
        raise PayloadError(413, f"the body exceeds the limit of {max_bytes} bytes")
    message = message_type()
    if kind == PROTOBUF:
        count_messages(body, message_type, max_items)
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise PayloadError(400, f"the body is not a valid {message_type.__name__} protobuf: {exc}") from None
        return message
    count_json_values(body, max_items)
    try:
        document = json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PayloadError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError(400, f"the JSON body must be an object ({message_type.__name__}), not {type(document).__name__}")
    try:
        json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        raise PayloadError(400, f"the JSON body is not a valid {message_type.__name__}: {exc}") from None
    return message


def encode_message(message: Message, kind: str) -> bytes:
    """Serialize a response in the request's encoding (OTLP/JSON uses lowerCamelCase keys)."""
    if kind == JSON:
        return json_format.MessageToJson(message, indent=None).encode("utf-8")
    return message.SerializeToString()


def status_body(http_status: int, message: str, kind: str, field: str | None = None) -> bytes:
    """A ``google.rpc.Status`` error body; a ``BadRequest`` detail names the bad field of a 400."""
    status = status_pb2.Status(code=_GRPC_CODES.get(http_status, 2), message=message)
    if http_status == 400:
        bad = error_details_pb2.BadRequest()
        violation = bad.field_violations.add()
        violation.field = field or "body"
        violation.description = message
        status.details.add().Pack(bad)
    return encode_message(status, kind)


#: HTTP status -> google.rpc.Code (informational; OTLP clients go by the HTTP status).
_GRPC_CODES: Final = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 411: 3, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}
