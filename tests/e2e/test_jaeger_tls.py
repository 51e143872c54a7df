"""The agent's Jaeger exporter is plaintext only while no CA is given: with HERITAGE_OTEL_JAEGER_TLS_CA_FILE set
it speaks TLS (real Collector, real plaintext Jaeger: the handshake fails and nothing arrives)."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from heritage_otel.stack.process import log_path
from heritage_otel.traces import JaegerClient
from tests.helpers import require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def _send_error_trace(endpoint: str, service: str) -> str:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=10)))
    with provider.get_tracer("tests.e2e").start_as_current_span("request") as span:
        span.set_status(trace.Status(trace.StatusCode.ERROR, "kept"))
    provider.shutdown()
    return format(span.get_span_context().trace_id, "032x")


def _arrives(stack, trace_id: str, wait_s: float) -> bool:
    client = JaegerClient(stack.ports.jaeger_url)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if client.get_trace(trace_id) is not None:
            return True
        time.sleep(0.5)
    return False


def test_plaintext_without_a_ca_and_tls_with_one(start_stack, tmp_path: Path) -> None:
    plain = start_stack()
    assert _arrives(plain, _send_error_trace(plain.ports.otlp_http_endpoint, f"tls-{uuid.uuid4().hex[:6]}"), 30)

    openssl = require_binary("openssl", "apt-get install openssl")
    ca = tmp_path / "ca.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "ca.key"),
                    "-out", str(ca), "-days", "1", "-subj", "/CN=heritage-test-ca"], check=True, capture_output=True,
                   timeout=60)
    secure = start_stack(HERITAGE_OTEL_JAEGER_TLS_CA_FILE=str(ca))  # HERITAGE_OTEL_JAEGER_TLS_INSECURE stays true
    trace_id = _send_error_trace(secure.ports.otlp_http_endpoint, f"tls-{uuid.uuid4().hex[:6]}")
    assert not _arrives(secure, trace_id, 12)
    deadline = time.monotonic() + 30
    log = ""
    while time.monotonic() < deadline and "handshake" not in log.lower():
        time.sleep(0.5)
        log = log_path("collector", secure.state_dir).read_text(errors="replace")
    assert "handshake" in log.lower(), log[-3000:]
