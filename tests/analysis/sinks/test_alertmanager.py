"""AlertmanagerSink against a real Prometheus Alertmanager on a free loopback port, read back via GET /api/v2/alerts."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

from heritage_otel.analysis.alerts import AlertManager
from heritage_otel.analysis.findings import AlertLevel, Finding
from heritage_otel.analysis.sinks import AlertmanagerSink
from tests.helpers import free_port, require_binary

CONFIG = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n'
TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def alertmanager(tmp_path):
    binary = require_binary("/usr/bin/prometheus-alertmanager", "bash scripts/deps/alertmanager.sh")
    (tmp_path / "alertmanager.yml").write_text(CONFIG)
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("w")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'alertmanager.yml'}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"alertmanager did not start: {(tmp_path / 'alertmanager.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def active_alerts(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/api/v2/alerts", timeout=5) as r:
        return json.loads(r.read())


def wait_until(predicate, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def finding(level: AlertLevel) -> Finding:
    return Finding("query_latency_p95", "threshold", (("service.name", "recommender"),), level, 3500.0, 3000.0,
                   "query_latency_p95 = 3500 is above the critical level 3000",
                   exemplars=((TRACE, "b7ad6b7169203331", 3.5),))


def test_fire_escalate_resend_and_resolve(alertmanager) -> None:
    """Firing alerts appear with labels/annotations/generatorURL, stay alive by re-sends, and resolve with endsAt."""
    manager = AlertManager(jaeger_url="http://127.0.0.1:16686")
    sink = AlertmanagerSink(alertmanager, resend_interval_s=0.3, timeout_s=2)
    worker = manager.add_sink(sink, "alertmanager")
    try:
        manager.process(finding(AlertLevel.WARNING))
        (got,) = wait_until(lambda: active_alerts(alertmanager))
        assert got["labels"] == {"alertname": "HeritageQueryLatencyP95Threshold", "severity": "warning",
                                 "incident": got["annotations"]["alert_id"],
                                 "metric": "query_latency_p95", "detector": "threshold", "service": "recommender"}
        assert got["annotations"]["trace_ids"] == TRACE
        assert got["annotations"]["summary"].startswith("query_latency_p95 = 3500")
        assert got["generatorURL"] == f"http://127.0.0.1:16686/trace/{TRACE}"
        assert got["status"]["state"] == "active"

        manager.process(finding(AlertLevel.CRITICAL))  # escalation ends the warning label set
        def only_critical():
            alerts = active_alerts(alertmanager)
            return alerts if [a["labels"]["severity"] for a in alerts] == ["critical"] else None

        assert wait_until(only_critical)

        posts = sink.posts
        assert wait_until(lambda: sink.posts >= posts + 2, 5.0)  # periodic re-send of the firing alert
        assert len(active_alerts(alertmanager)) == 1

        manager.resolve(finding(AlertLevel.CRITICAL).key)
        assert wait_until(lambda: active_alerts(alertmanager) == [])
        assert worker.failed == 0
    finally:
        assert manager.shutdown(10.0)
    assert not worker.thread_alive


def test_unreachable_alertmanager_is_counted_not_raised() -> None:
    """With nothing listening, deliveries fail on the sink thread and are counted; process() is unaffected."""
    manager = AlertManager()
    worker = manager.add_sink(AlertmanagerSink(f"http://127.0.0.1:{free_port()}", retries=1, backoff_s=0.01,
                                               timeout_s=1), "alertmanager")
    manager.process(finding(AlertLevel.CRITICAL))
    assert worker.flush(10.0)
    assert worker.failed == 1
    assert manager.shutdown(5.0)


def test_url_from_environment_and_validation() -> None:
    """The URL comes from HERITAGE_OTEL_ALERTMANAGER_URL when not passed (the old HERITAGE_ALERTMANAGER_URL
    with a deprecation warning); a missing URL fails fast."""
    sink = AlertmanagerSink(environ={"HERITAGE_OTEL_ALERTMANAGER_URL": "http://127.0.0.1:9093/"})
    assert sink.url == "http://127.0.0.1:9093/api/v2/alerts"
    with pytest.warns(DeprecationWarning, match="HERITAGE_ALERTMANAGER_URL is deprecated; set HERITAGE_OTEL_"):
        old = AlertmanagerSink(environ={"HERITAGE_ALERTMANAGER_URL": "http://127.0.0.1:9094/"})
    assert old.url == "http://127.0.0.1:9094/api/v2/alerts"
    with pytest.raises(ValueError, match="HERITAGE_OTEL_ALERTMANAGER_URL"):
        AlertmanagerSink(environ={})
    with pytest.raises(ValueError, match="resend_interval_s = 0"):
        AlertmanagerSink("http://127.0.0.1:9093", resend_interval_s=0, environ={})


def test_cluster_peers_from_a_list_or_a_comma_separated_variable() -> None:
    """Every peer of an Alertmanager cluster gets the alerts: a list, or HERITAGE_OTEL_ALERTMANAGER_URL with commas."""
    sink = AlertmanagerSink(["http://127.0.0.1:9093", "http://127.0.0.1:9095/"], environ={})
    assert sink.urls == ("http://127.0.0.1:9093/api/v2/alerts", "http://127.0.0.1:9095/api/v2/alerts")
    env = {"HERITAGE_OTEL_ALERTMANAGER_URL": "http://127.0.0.1:9093, http://127.0.0.1:9095"}
    assert AlertmanagerSink(environ=env).urls == sink.urls
    with pytest.raises(ValueError, match=r"url = \[\] is not valid"):
        AlertmanagerSink([], environ={})
    with pytest.raises(ValueError, match=r"url\[1\] = ftp://x/\.\.\. is not valid"):
        AlertmanagerSink(["http://127.0.0.1:9093", "ftp://x"], environ={})


def test_one_unreachable_peer_is_counted_and_logged_not_raised(alertmanager, caplog) -> None:
    """With one peer down the alert still reaches the other; the miss is counted and logged (host and port only)."""
    down = f"http://127.0.0.1:{free_port()}"
    sink = AlertmanagerSink([down, alertmanager], retries=0, timeout_s=2, environ={})
    with caplog.at_level("WARNING", logger="heritage_otel.analysis.sinks.alertmanager"):
        sink(AlertManager().process(finding(AlertLevel.WARNING)))
    assert sink.posts == 1 and sink.peer_failures == 1
    assert down.split("//")[1] in caplog.text
    assert wait_until(lambda: active_alerts(alertmanager))
