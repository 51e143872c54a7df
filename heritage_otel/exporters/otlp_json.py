"""Write spans to a local file as OTLP JSON, one ``ExportTraceServiceRequest`` per line.

This is the format of the Collector's ``file`` exporter and of the OTLP/HTTP
JSON encoding (trace and span ids as hex strings, enums as integers), so the
file can be read back by ``heritage-otel traces --file``, replayed into a
Collector, or loaded by any OTLP-aware tool.

>>> import json, tempfile, os
>>> from opentelemetry.sdk.trace import TracerProvider
>>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
>>> path = os.path.join(tempfile.mkdtemp(), "spans.jsonl")
>>> provider = TracerProvider()
>>> provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileSpanExporter(path)))
>>> provider.get_tracer("doc").start_span("hello").end()
>>> line = json.loads(open(path).readline())
>>> line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"]
'hello'
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["OtlpJsonFileSpanExporter", "spans_to_otlp_json"]

_logger = logging.getLogger(__name__)
_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId"})


def _hex_ids(node: Any) -> Any:
    """Protobuf's JSON mapping writes bytes as base64; OTLP JSON wants hex ids."""
    if isinstance(node, dict):
        return {
            key: (base64.b64decode(value).hex() if key in _ID_FIELDS and isinstance(value, str) else _hex_ids(value))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(item) for item in node]
    return node


def spans_to_otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """Encode SDK spans as one OTLP JSON ``ExportTraceServiceRequest`` object."""
    message = encode_spans(spans)
    return _hex_ids(MessageToDict(message, use_integers_for_enums=True))


class OtlpJsonFileSpanExporter(SpanExporter):
    """Appends each exported batch as one line of OTLP JSON to ``path``.

    A missing directory is created. Each line is written with a single ``write`` on a file opened in append
    mode, so concurrent writers never interleave inside a line. Errors are
    logged and reported as ``FAILURE``; they never reach the application.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, exist_ok=True)  # a missing directory is created, as the log files' is
        except OSError as exc:
            msg = f"otlp_json_path = {self.path!r} is not valid; its directory {directory!r} cannot be created ({exc})"
            raise ValueError(msg) from None
        if os.path.isdir(self.path):
            msg = f"otlp_json_path = {self.path!r} is not valid; it is a directory, expected a file path"
            raise ValueError(msg)
        self._lock = threading.Lock()
        self._stopped = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._stopped:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            line = json.dumps(spans_to_otlp_json(spans), separators=(",", ":")) + "\n"
            with self._lock, open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
        except Exception:  # noqa: BLE001 - never raise into the SDK or the app
            _logger.exception("could not write %d spans to %s", len(spans), self.path)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self._stopped = True
