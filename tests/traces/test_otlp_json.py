"""Reading OTLP JSON lines: what the embedded default and the Collector's file exporter write."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heritage_otel.exporters.otlp_json import OtlpJsonFileSpanExporter
from heritage_otel.stack.health import wait_healthy
from heritage_otel.stack.ports import free_ports
from heritage_otel.traces import read_otlp_json_file
from tests.helpers import BIN_DIR, require_binary
from tests.traces.conftest import send_sample_traces


def _provider(*exporters) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "file-test"}))
    for exporter in exporters:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _check_sample(traces, sent) -> None:
    by_id = {t.trace_id: t for t in traces}
    assert set(by_id) == {sent.failing, sent.slow}
    failing = by_id[sent.failing]
    [root] = failing.tree()
    assert (root.span.span_id, root.span.name, root.span.kind) == (sent.root_span_id, "sample.request", "server")
    assert root.span.attributes == {"heritage.query.top_k": 5, "heritage.cache.hit": False}
    [child] = root.children
    assert (child.span.span_id, child.span.parent_span_id) == (sent.child_span_id, sent.root_span_id)
    assert (child.span.status_code, child.span.status_message) == ("ERROR", "boom")
    assert child.span.attributes["heritage.quality.diversity"] == 0.25
    assert [e.name for e in child.span.events] == ["exception"]
    assert child.span.events[0].attributes["exception.type"] == "ValueError"
    assert root.span.service_name == "file-test"
    assert 299 <= by_id[sent.slow].duration_ms <= 301


def test_reads_the_embedded_defaults_file(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    provider = _provider(OtlpJsonFileSpanExporter(path))
    sent = send_sample_traces(provider, "file-test")
    provider.shutdown()
    _check_sample(read_otlp_json_file(path), sent)


def test_reads_base64_ids_and_enum_names(tmp_path: Path) -> None:
    memory = InMemorySpanExporter()
    provider = _provider(memory)
    sent = send_sample_traces(provider, "file-test")
    # protobuf's generic JSON mapping: ids in base64, enums by name.
    line = json.dumps(MessageToDict(encode_spans(memory.get_finished_spans())))
    assert "STATUS_CODE_ERROR" in line and "SPAN_KIND_SERVER" in line
    path = tmp_path / "generic.jsonl"
    path.write_text(line + "\n")
    _check_sample(read_otlp_json_file(path), sent)


def test_a_broken_line_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "spans.jsonl"
    provider = _provider(OtlpJsonFileSpanExporter(path))
    sent = send_sample_traces(provider, "file-test")
    provider.shutdown()
    with path.open("a") as handle:
        handle.write('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId"\n')  # cut off mid-write
    with caplog.at_level(logging.WARNING):
        traces = read_otlp_json_file(path)
    _check_sample(traces, sent)
    assert any("spans.jsonl:" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_reads_the_collectors_file_exporter_output(tmp_path: Path) -> None:
    binary = require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    out = tmp_path / "collector-traces.jsonl"
    otlp_port, health_port, metrics_port = free_ports(3)
    config = tmp_path / "file-exporter.yaml"
    config.write_text(f"""
extensions:
  health_check:
    endpoint: 127.0.0.1:{health_port}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
exporters:
  file:
    path: {out}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {metrics_port}
""")
    log = (tmp_path / "collector.log").open("w")
    collector = subprocess.Popen([binary, "--config", str(config)], stdout=log, stderr=log)  # noqa: S603 - the built Collector binary, no shell
    try:
        assert wait_healthy(f"http://127.0.0.1:{health_port}/", timeout_s=30,
                            still_running=lambda: collector.poll() is None)
        provider = _provider(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{otlp_port}/v1/traces", timeout=10))
        sent = send_sample_traces(provider, "file-test")
        provider.shutdown()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(read_otlp_json_file(out) if out.exists() else []) < 2:
            time.sleep(0.2)
        _check_sample(read_otlp_json_file(out), sent)
    finally:
        collector.terminate()
        try:
            collector.wait(timeout=15)
        except subprocess.TimeoutExpired:
            collector.kill()
            collector.wait()
        log.close()
