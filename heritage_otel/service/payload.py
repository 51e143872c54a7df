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
    "encode_message",
    "status_body",
]

PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
_HEX_ID_FIELDS: Final = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_CHUNK: Final = 64 * 1024

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
        """Decompress one chunk of the body; returns what it inflated to."""
        out = bytearray()
        try:
            while data:
                self._started = True
                budget = self.max_bytes + 1 - self.produced
                out += self._take(self._inflater.decompress(data, budget))
                data = self._inflater.unconsumed_tail
                if self._inflater.eof:  # one member ended: the rest is the next member (or nothing)
                    data = self._inflater.unused_data + data
                    self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    self._started = bool(data)
                    if data and not data.startswith(b"\x1f\x8b"):
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


def _hex_ids_to_base64(node: Any) -> Any:
    """Rewrite OTLP/JSON hex ids into the base64 the generic protobuf JSON parser expects."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _HEX_ID_FIELDS and isinstance(value, str):
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    raise PayloadError(400, f"{key} {value[:40]!r} is not a hex string", key) from None
                out[key] = base64.b64encode(raw).decode("ascii")
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def decode(
    body: bytes, content_type: str | None, content_encoding: str | None, message_type: type[M], *, max_bytes: int
) -> M:
    """Decode one OTLP request body into ``message_type``; raises :class:`PayloadError` (400/413/415)."""
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
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise PayloadError(400, f"the body is not a valid {message_type.__name__} protobuf: {exc}") from None
        return message
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
