"""The Analyzer API token, secrets read from the environment and never logged, and request size limits."""

from __future__ import annotations

import gzip
import logging
import socket
from collections.abc import Iterator

import pytest
import requests

from heritage_otel import configure
from heritage_otel.analysis import AlertManager
from heritage_otel.analysis.alerts import Alert
from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.analysis.sinks import AlertmanagerSink, WebhookSink
from heritage_otel.service import AnalyzerServer, ServiceConfig
from heritage_otel.service.config import ENV_TOKEN
from heritage_otel.testing import HttpReceiver
from tests.helpers import free_port

TOKEN = "tok-5ecret-analyzer-7f3a"
WEBHOOK_SECRET = "T000/B000/hook5ecretPath"
WEBHOOK_TOKEN = "whk-5ecret-bearer-91c2"
OTLP_SECRET = "otlp-5ecret-header-44d1"
API_PATHS = ["/api/health", "/api/alerts", "/api/alerts/active", "/api/alerts/history", "/api/series",
             "/api/metrics", "/api/components", "/api/queries", "/api/stats", "/api/config"]


def alert(i: int = 0) -> Alert:
    return Alert(f"a{i}", AlertLevel.CRITICAL, "error_rate", "threshold", {"service.name": "rec"}, 0.2, 0.05,
                 "error rate high", 0.0, 0.0)


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record, formatted with its exception text, as one string."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records) + "\n" + caplog.text


@pytest.fixture
def failing_server() -> Iterator[str]:
    """A local HTTP server answering every POST with 503 (so sinks retry and log)."""
    with HttpReceiver(status=503) as receiver:
        yield receiver.url


# --- the Analyzer API token ---------------------------------------------------------------------
def test_analyzer_token_from_environment_guards_every_api_route_and_the_receiver(monkeypatch, caplog) -> None:
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    caplog.set_level(logging.DEBUG)
    config = ServiceConfig(port=0, token=ServiceConfig.resolve_token(None))
    assert config.token == TOKEN and TOKEN not in repr(config)
    with AnalyzerServer(config) as server:
        for path in API_PATHS:
            assert requests.get(server.url + path, timeout=5).status_code == 401, path
            wrong = requests.get(server.url + path, headers={"Authorization": "Bearer nope"}, timeout=5)
            assert wrong.status_code == 401, path
            right = requests.get(server.url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
            assert right.status_code == 200, (path, right.text)
        for path in ("/v1/metrics", "/v1/logs"):
            response = requests.post(server.url + path, data=b"", timeout=5,
                                     headers={"Content-Type": "application/x-protobuf"})
            assert response.status_code == 401, path
        # the dashboard's static page holds no data and is public; it asks for the token
        assert requests.get(server.url + "/", timeout=5).status_code == 200
    assert TOKEN not in all_log_text(caplog)


# --- secrets never logged -------------------------------------------------------------------------
def test_webhook_url_and_token_from_environment_never_reach_logs(monkeypatch, caplog, failing_server) -> None:
    monkeypatch.setenv("HERITAGE_OTEL_ALERT_WEBHOOK_URL", f"{failing_server}/services/{WEBHOOK_SECRET}")
    monkeypatch.setenv("HERITAGE_OTEL_ALERT_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    caplog.set_level(logging.DEBUG)
    sink = WebhookSink(retries=1, backoff_s=0, timeout_s=2)  # everything from the environment
    assert WEBHOOK_SECRET not in repr(sink) and WEBHOOK_TOKEN not in repr(sink)
    manager = AlertManager()
    worker = manager.add_sink(sink)
    for i in range(3):
        assert worker.submit(alert(i))
    assert manager.flush(20)
    manager.shutdown(10)
    assert worker.failed == 3, "every delivery failed and was counted"
    text = all_log_text(caplog)
    assert "alert sink" in text and "failed" in text, "the failures were logged"
    assert WEBHOOK_SECRET not in text and "hook5ecret" not in text
    assert WEBHOOK_TOKEN not in text


def test_alertmanager_credentials_in_url_never_reach_logs(caplog, failing_server) -> None:
    caplog.set_level(logging.DEBUG)
    host = failing_server.removeprefix("http://")
    sink = AlertmanagerSink(f"http://admin:{WEBHOOK_TOKEN}@{host}", retries=1, backoff_s=0, timeout_s=2)
    manager = AlertManager()
    worker = manager.add_sink(sink)
    assert worker.submit(alert())
    assert manager.flush(20)
    manager.shutdown(10)
    assert worker.failed == 1
    assert WEBHOOK_TOKEN not in all_log_text(caplog)
    assert WEBHOOK_TOKEN not in repr(sink)


def test_bad_webhook_url_error_does_not_echo_the_secret() -> None:
    with pytest.raises(ValueError) as info:
        WebhookSink(f"ftp://hooks.example/{WEBHOOK_SECRET}")
    assert WEBHOOK_SECRET not in str(info.value)
    assert "http" in str(info.value)


def test_otlp_headers_from_environment_never_reach_logs_or_reprs(monkeypatch, caplog) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"authorization=Bearer%20{OTLP_SECRET}")
    caplog.set_level(logging.DEBUG)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: every export fails and is logged
    tel = configure(service_name="secrets", endpoint=closed, set_global=False, span_store_size=0)
    try:
        assert tel.settings.headers == {"authorization": f"Bearer {OTLP_SECRET}"}
        assert OTLP_SECRET not in repr(tel.settings) and OTLP_SECRET not in repr(tel)
        with tel.tracer_provider.get_tracer("t").start_as_current_span("work"):
            pass
        tel.force_flush(3_000)
    finally:
        tel.shutdown(3_000)
    assert OTLP_SECRET not in all_log_text(caplog)


# --- request size limits ---------------------------------------------------------------------------
def test_analyzer_rejects_bodies_over_its_limit_and_keeps_serving() -> None:
    limit = 64 * 1024
    with AnalyzerServer(ServiceConfig(port=0, max_request_bytes=limit)) as server:
        headers = {"Content-Type": "application/x-protobuf"}
        big = requests.post(server.url + "/v1/metrics", data=b"\0" * (limit + 1), headers=headers, timeout=10)
        assert big.status_code == 413
        bomb = gzip.compress(b"\0" * (limit * 16))  # small on the wire, over the limit once decompressed
        assert len(bomb) < limit
        inflated = requests.post(server.url + "/v1/metrics", data=bomb, timeout=10,
                                 headers={**headers, "Content-Encoding": "gzip"})
        assert inflated.status_code == 413
        # a Content-Length over the limit is refused before any body is read
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                         f"Content-Length: {limit * 100}\r\n\r\nx".encode())
            assert sock.recv(64).startswith(b"HTTP/1.1 413")
        assert requests.post(server.url + "/v1/metrics", data=b"", headers=headers, timeout=5).status_code == 200
        assert requests.get(server.url + "/api/health", timeout=5).status_code == 200
