"""The OTLP-JSON file exporter of the embedded default."""

from __future__ import annotations

import json
import os
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from heritage_otel.exporters import OtlpJsonFileSpanExporter


def _provider(exporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def test_ids_are_hex_and_events_kept(tmp_path):
    """Trace and span ids are hex strings, parent ids link, events survive."""
    path = tmp_path / "s.jsonl"
    tracer = _provider(OtlpJsonFileSpanExporter(path)).get_tracer("t")
    with tracer.start_as_current_span("parent") as parent:
        with tracer.start_as_current_span("child") as child:
            child.add_event("heritage.fallback.used", {"k": "v"})
    spans = {
        s["name"]: s
        for line in path.read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
    }
    assert spans["parent"]["traceId"] == format(parent.get_span_context().trace_id, "032x")
    assert spans["child"]["parentSpanId"] == format(parent.get_span_context().span_id, "016x")
    assert spans["child"]["events"][0]["name"] == "heritage.fallback.used"


def test_concurrent_writers_never_interleave(tmp_path):
    """Eight threads writing at once produce only whole, parseable lines."""
    path = tmp_path / "s.jsonl"
    tracer = _provider(OtlpJsonFileSpanExporter(path)).get_tracer("t")

    def work():
        for _ in range(50):
            tracer.start_span("x").end()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    lines = path.read_text().splitlines()
    assert len(lines) == 400 and all(json.loads(line)["resourceSpans"] for line in lines)


def test_unwritable_file_fails_the_export_not_the_caller(tmp_path):
    """A write error is logged and reported as FAILURE; no exception escapes."""
    path = tmp_path / "ro" / "s.jsonl"
    path.parent.mkdir()
    exporter = OtlpJsonFileSpanExporter(path)
    path.mkdir()  # a directory where the file should be: open() fails
    tracer = _provider(exporter).get_tracer("t")
    tracer.start_span("x").end()  # must not raise
    span = TracerProvider().get_tracer("t").start_span("y")
    span.end()
    assert exporter.export([span]) == SpanExportResult.FAILURE


def test_missing_directory_is_created(tmp_path):
    """A path in a directory that does not exist yet: the directory is created and spans are written."""
    path = os.path.join(tmp_path, "out", "run-1", "s.jsonl")
    exporter = OtlpJsonFileSpanExporter(path)
    _provider(exporter).get_tracer("t").start_span("created").end()
    assert os.path.isfile(path)


def test_unusable_path_fails_at_construction(tmp_path):
    """A directory given as the path, or a directory that cannot be created, is a configuration error."""
    with pytest.raises(ValueError, match="it is a directory"):
        OtlpJsonFileSpanExporter(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="cannot be created"):
        OtlpJsonFileSpanExporter(os.path.join(tmp_path, "file", "s.jsonl"))
