"""Span exporters of the embedded default: a bounded in-process store and an OTLP-JSON file.

>>> SpanStore(100).spans()
()
"""

from heritage_otel.exporters.otlp_json import OtlpJsonFileSpanExporter, spans_to_otlp_json
from heritage_otel.exporters.span_store import SpanStore

__all__ = ["OtlpJsonFileSpanExporter", "SpanStore", "spans_to_otlp_json"]
