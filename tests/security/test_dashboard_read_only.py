"""The seed facade's in-process dashboard accepts no OTLP writes unless asked, and takes a token (issue 19, item 5)."""

from __future__ import annotations

import requests
from google.rpc import status_pb2

from heritage_otel.monitoring import initialize_monitoring
from heritage_otel.service.config import ENV_TOKEN
from tests.service.attacks import good_metrics

PROTOBUF = {"Content-Type": "application/x-protobuf"}
TOKEN = "dash-5ecret-token"


def test_the_in_process_dashboard_is_read_only_by_default(monkeypatch) -> None:
    """Any user of the host could POST /v1/metrics into the application's Analyzer before: now 403 (a Status)."""
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    monitor = initialize_monitoring(config={"alert_log_path": None}, start_background=False)
    try:
        url = monitor.serve_dashboard()
        refused = requests.post(url + "/v1/metrics", data=good_metrics("intruder").SerializeToString(),
                                headers=PROTOBUF, timeout=10)
        assert refused.status_code == 403
        status = status_pb2.Status()
        status.ParseFromString(refused.content)
        assert "read-only" in status.message
        assert requests.get(url + "/api/health", timeout=10).status_code == 200
        series = requests.get(url + "/api/series", timeout=10).json()["series"]
        assert all(s["instance"] != "intruder" for s in series)
    finally:
        monitor.shutdown()


def test_the_in_process_dashboard_takes_a_token_and_ingests_only_when_asked(monkeypatch) -> None:
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    monitor = initialize_monitoring(config={"alert_log_path": None}, start_background=False)
    try:
        url = monitor.serve_dashboard(token=TOKEN, ingest=True)
        body = good_metrics("replica-1").SerializeToString()
        assert requests.get(url + "/api/health", timeout=10).status_code == 401
        assert requests.post(url + "/v1/metrics", data=body, headers=PROTOBUF, timeout=10).status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.post(url + "/v1/metrics", data=body, headers={**PROTOBUF, **auth}, timeout=10).status_code == 200
        assert requests.get(url + "/api/health", headers=auth, timeout=10).status_code == 200
    finally:
        monitor.shutdown()
