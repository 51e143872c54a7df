"""WebhookSink against a local HTTP server: success, Slack payload, retries on 5xx, give-up, hang, secrets."""

from __future__ import annotations

import logging
import time

import pytest

from heritage_otel.analysis.alerts import AlertManager
from heritage_otel.analysis.findings import AlertLevel, Finding
from heritage_otel.analysis.sinks import WebhookSink
from heritage_otel.analysis.sinks._http import DeliveryError
from tests.analysis.sinks.conftest import SECRET_PATH


def test_posts_alert_json_with_bearer_token_from_env(http_server, alert) -> None:
    """JSON body is Alert.to_dict(); URL and token come from the environment."""
    server = http_server(200)
    env = {"HERITAGE_OTEL_ALERT_WEBHOOK_URL": server.url + SECRET_PATH, "HERITAGE_OTEL_ALERT_WEBHOOK_TOKEN": "s3cr3t"}
    WebhookSink(environ=env)(alert)
    [request] = server.requests
    headers, body = request.headers, request.json()
    assert body["id"] == alert.id and body["level"] == "CRITICAL"
    assert body["exemplar_trace_ids"] == list(alert.exemplar_trace_ids)
    assert headers["Authorization"] == "Bearer s3cr3t"


def test_old_environment_names_still_work_with_a_deprecation_warning(http_server, alert) -> None:
    """HERITAGE_ALERT_WEBHOOK_URL/TOKEN (the old prefix) are read when the new names are unset, and warn."""
    server = http_server(200)
    env = {"HERITAGE_ALERT_WEBHOOK_URL": server.url + SECRET_PATH, "HERITAGE_ALERT_WEBHOOK_TOKEN": "old"}
    with pytest.warns(DeprecationWarning) as warned:
        WebhookSink(environ=env)(alert)
    assert {str(w.message) for w in warned} == {
        "HERITAGE_ALERT_WEBHOOK_URL is deprecated; set HERITAGE_OTEL_ALERT_WEBHOOK_URL instead",
        "HERITAGE_ALERT_WEBHOOK_TOKEN is deprecated; set HERITAGE_OTEL_ALERT_WEBHOOK_TOKEN instead",
    }
    assert server.requests[0].headers["Authorization"] == "Bearer old"


def test_slack_payload(http_server, alert) -> None:
    """format='slack' posts text + attachments with colour and fields."""
    server = http_server(200)
    WebhookSink(server.url + SECRET_PATH, format="slack")(alert)
    [body] = server.bodies()
    assert body["text"].startswith("CRITICAL alert: query_latency_p95")
    assert body["attachments"][0]["color"] == "danger"
    assert {f["title"] for f in body["attachments"][0]["fields"]} >= {"Metric", "Value", "Threshold", "Message"}


def test_retries_5xx_then_succeeds(http_server, alert) -> None:
    """Two 503s then 200: delivered on the third attempt."""
    server = http_server(503, 503, 200)
    WebhookSink(server.url + SECRET_PATH, retries=2, backoff_s=0.01)(alert)
    assert len(server.requests) == 3


def test_gives_up_after_bounded_retries_without_leaking_the_url(http_server, alert, caplog) -> None:
    """A server that always fails gets retries + 1 attempts; the error shows host only, not the secret path."""
    server = http_server(500, 500, 500, 500)
    with pytest.raises(DeliveryError) as info:
        WebhookSink(server.url + SECRET_PATH, retries=2, backoff_s=0.01)(alert)
    assert len(server.requests) == 3
    assert "HTTP 500" in str(info.value) and "SECRETPATH" not in str(info.value)


def test_client_error_is_not_retried(http_server, alert) -> None:
    """A 400 is final."""
    server = http_server(400, 200)
    with pytest.raises(DeliveryError):
        WebhookSink(server.url + SECRET_PATH, retries=3, backoff_s=0.01)(alert)
    assert len(server.requests) == 1


def test_hanging_webhook_never_blocks_alerting_or_other_sinks(http_server, caplog) -> None:
    """A hanging webhook times out on its own thread; other sinks get every alert; shutdown ends the thread."""
    hanging = http_server("hang", "hang", "hang", "hang")
    good = http_server()
    manager = AlertManager()
    slow = manager.add_sink(WebhookSink(hanging.url + SECRET_PATH, timeout_s=0.5, retries=1, backoff_s=0.01), "hanging")
    fast = manager.add_sink(WebhookSink(good.url + SECRET_PATH), "good")
    started = time.monotonic()
    with caplog.at_level(logging.ERROR):
        for i in range(3):
            manager.process(Finding(f"m{i}", "threshold", (("service.name", f"s{i}"),), AlertLevel.WARNING, 1.0, 0.5,
                                    "high"))  # three services: three incidents
        assert time.monotonic() - started < 0.9  # one synchronous delivery alone takes >= 1 s
        assert fast.flush(5.0)
        assert len(good.requests) == 3
        hanging.close()  # releases the hanging requests
        assert manager.shutdown(10.0)
    assert not slow.thread_alive and not fast.thread_alive
    assert slow.failed >= 1
    assert "SECRETPATH" not in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"url": "ftp://example.org/x"}, "url = ftp://example.org"), ({"url": None}, "HERITAGE_OTEL_ALERT_WEBHOOK_URL"),
     ({"url": "http://127.0.0.1:1/x", "format": "xml"}, "format = 'xml'"),
     ({"url": "http://127.0.0.1:1/x", "retries": 99}, "retries = 99"),
     ({"url": "http://127.0.0.1:1/x", "timeout_s": 0}, "timeout_s = 0")],
)
def test_bad_settings_fail_fast(kwargs, needle) -> None:
    """Bad settings raise naming the setting; never the full URL."""
    with pytest.raises(ValueError, match=needle):
        WebhookSink(environ={}, **kwargs)
