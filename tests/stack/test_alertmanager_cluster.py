"""Alerts through a real two-peer Alertmanager cluster: pushed to both peers, notified once, inhibition.
(One peer down, with the real Analyzer shards posting: tests/faults/test_fleet_faults.py.)"""

from __future__ import annotations

import time

import pytest

from heritage_otel.analysis.alerts import AlertManager
from heritage_otel.analysis.findings import AlertLevel, Finding
from heritage_otel.analysis.sinks import AlertmanagerSink
from tests.analysis.sinks.test_alertmanager import wait_until
from tests.stack.alertmanagers import PEER_TIMEOUT_S, WebhookReceiver, alertmanager_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

#: Long enough for every peer to have had its turn (peer timeout x position) after the first notification.
SETTLE_S = 2 * PEER_TIMEOUT_S + 3


def finding(service: str, level: AlertLevel = AlertLevel.CRITICAL, metric: str = "query_latency_p95") -> Finding:
    return Finding(metric, "threshold", (("service.name", service),), level, 3500.0, 3000.0,
                   f"{metric} = 3500 is above the critical level 3000")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver):
    """One cluster for this module (forming one takes ~10 s)."""
    with alertmanager_cluster(tmp_path_factory.mktemp("alertmanagers"), receiver.url) as running:
        yield running


def test_each_incident_reaches_both_peers_and_the_receiver_once(cluster, receiver: WebhookReceiver) -> None:
    """Both peers hold the alert (incident and service labels); the receiver gets one firing and one resolved."""
    manager = AlertManager()
    sink = AlertmanagerSink(cluster.urls, timeout_s=2, retries=0)
    worker = manager.add_sink(sink, "alertmanager")
    try:
        manager.process(finding("catalogue"))
        for index in range(2):
            (alert,) = wait_until(lambda i=index: cluster.active(i), 30.0)
            assert alert["labels"]["service"] == "catalogue"
            assert alert["labels"]["severity"] == "critical"
            assert alert["labels"]["incident"]
        assert wait_until(lambda: receiver.received("firing", service="catalogue"), 30.0), cluster.logs()
        time.sleep(SETTLE_S)
        (note,) = receiver.received("firing", service="catalogue")
        assert set(note["groupLabels"]) == {"incident", "service"}

        manager.resolve(finding("catalogue").key)
        assert wait_until(lambda: receiver.received("resolved", service="catalogue"), 30.0), cluster.logs()
        time.sleep(SETTLE_S)
        assert len(receiver.received("resolved", service="catalogue")) == 1
        assert len(receiver.received("firing", service="catalogue")) == 1
        assert worker.failed == 0 and sink.peer_failures == 0
    finally:
        assert manager.shutdown(10.0)


def test_a_critical_incident_inhibits_a_warning_of_the_same_service(cluster, receiver: WebhookReceiver) -> None:
    """The example config's inhibit rule: a service's warning is muted while it has a critical."""
    manager = AlertManager()
    worker = manager.add_sink(AlertmanagerSink(cluster.urls, timeout_s=2, retries=0), "alertmanager")
    try:
        manager.process(finding("ranker", AlertLevel.CRITICAL, "query_latency_p95"))
        assert wait_until(lambda: receiver.received("firing", service="ranker"), 30.0), cluster.logs()
        manager.process(finding("ranker", AlertLevel.WARNING, "error_rate"))
        manager.process(finding("other", AlertLevel.WARNING, "error_rate"))
        assert wait_until(lambda: receiver.received("firing", service="other"), 30.0), cluster.logs()
        time.sleep(SETTLE_S)
        severities = [a["labels"]["severity"] for n in receiver.received("firing", service="ranker")
                      for a in n["alerts"]]
        assert severities == ["critical"]
        assert worker.failed == 0
    finally:
        assert manager.shutdown(10.0)
