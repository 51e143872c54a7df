"""Fleet mode end to end: two recommender processes -> the real Collector -> the Analyzer service.

The replicas export OTLP/HTTP to the Collector (agent config, collector/config.yaml), whose
``otlphttp/analyzer`` exporter forwards their metrics to the Analyzer. A latency fault in one
replica must raise an alert naming that replica, and no latency alert for the other.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from heritage_otel import semconv
from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.service import ServiceConfig
from heritage_otel.stack import Stack, StackPorts
from tests.helpers import BIN_DIR, REPO_ROOT, free_port, require_binary
from tests.service.payloads import running_server

pytestmark = pytest.mark.e2e

THRESHOLDS = {"query_latency_p95": {"max": 250, "warning": 250, "critical": 350}}


def _replica(instance: str, endpoint: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.service.replica_process", "--instance", instance, "--endpoint", endpoint,
         "--seconds", "60", *extra],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[dict]:
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    cfg = ServiceConfig(port=free_port(), evaluate_every_s=0.25)
    acfg = AnalyzerConfig(interval_seconds=1.0, min_samples=5, retention_minutes=10, thresholds=THRESHOLDS)
    with running_server(cfg, acfg) as server:
        stack = Stack(tmp_path / "stack", ports=StackPorts.free(), jaeger_storage="memory", repo=REPO_ROOT,
                      extra_env={"HERITAGE_OTEL_ANALYZER_ENDPOINT": server.url,
                                 "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT": "200ms"})
        stack.up(timeout_s=60)
        procs: list[subprocess.Popen[str]] = []
        try:
            endpoint = stack.ports.otlp_http_endpoint
            procs.append(_replica("replica-a", endpoint, "--slow-after", "12", "--slow-latency", "0.4"))
            procs.append(_replica("replica-b", endpoint))
            yield {"server": server, "stack": stack, "procs": procs}
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
            stack.down(timeout_s=20)


def _alerts(server, **params) -> list[dict]:
    return requests.get(server.url + "/api/alerts/active", params=params, timeout=5).json()["alerts"]


def test_latency_fault_in_one_replica_process_alerts_on_that_replica(fleet):
    """replica-a (slow embedding from 12 s) gets a query_latency_p95 threshold alert naming it; replica-b none."""
    server = fleet["server"]
    found = None
    deadline = time.monotonic() + 60
    while found is None and time.monotonic() < deadline:
        time.sleep(0.5)
        found = next((a for a in _alerts(server, instance="replica-a", metric="query_latency_p95")
                      if a["detector"] == "threshold"), None)
        if any(p.poll() is not None for p in fleet["procs"]):
            break
    procs_out = "" if found else "\n".join(p.stdout.read() if p.poll() is not None else "" for p in fleet["procs"])
    stats = requests.get(server.url + "/api/stats", timeout=5).json()
    assert found is not None, f"no latency alert for replica-a; stats={stats}\n{procs_out}"
    assert found["labels"][semconv.SERVICE_INSTANCE_ID] == "replica-a"
    assert found["current_value"] > 250
    history_b = requests.get(server.url + "/api/alerts/history",
                             params={"instance": "replica-b", "metric": "query_latency_p95"}, timeout=5).json()
    assert [a for a in history_b["alerts"] if a["detector"] == "threshold"] == []
    instances = {s["instance"] for s in requests.get(server.url + "/api/series",
                                                     params={"metric": "query_latency_p95"}, timeout=5).json()["series"]}
    assert {"replica-a", "replica-b", None} <= instances  # both replicas and the fleet aggregate
    assert stats["metric_requests"] > 0 and stats["data_points_rejected"] == 0
