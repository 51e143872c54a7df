"""Two replicas (real SDK pipelines exporting OTLP/HTTP) against one Analyzer service."""

from __future__ import annotations

import time

import pytest
import requests

from heritage_otel import semconv
from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.service import ServiceConfig
from tests.helpers import free_port
from tests.service.payloads import running_server
from tests.service.workload import Replica

INTERVAL_S = 0.25


@pytest.fixture
def server():
    cfg = ServiceConfig(port=free_port(), evaluate_every_s=0.1, jaeger_url="http://127.0.0.1:16686")
    acfg = AnalyzerConfig(interval_seconds=INTERVAL_S, min_samples=5, retention_minutes=5)
    with running_server(cfg, acfg) as srv:
        yield srv


@pytest.fixture
def replicas(server):
    pair = [Replica(server.url, "replica-a", export_ms=int(INTERVAL_S * 1000), seed=1),
            Replica(server.url, "replica-b", export_ms=int(INTERVAL_S * 1000), seed=2)]
    yield pair
    for r in pair:
        r.shutdown()


def _active(server) -> list[dict]:
    return requests.get(server.url + "/api/alerts/active", timeout=5).json()["alerts"]


def test_latency_fault_in_one_replica_alerts_on_that_replica_only(server, replicas):
    """A latency fault in replica-a raises a query_latency_p95 alert labelled replica-a, with exemplar traces
    of replica-a and Jaeger links; replica-b gets no latency alert."""
    a, b = replicas
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        a.serve(5, 0.05)
        b.serve(5, 0.05)
        time.sleep(0.05)
    found = None
    deadline = time.monotonic() + 20.0
    while found is None and time.monotonic() < deadline:
        a.serve(5, 4.0)
        b.serve(5, 0.05)
        time.sleep(0.05)
        found = next((x for x in _active(server) if x["metric"] == "query_latency_p95"
                      and x["detector"] == "threshold" and x["instance"] == "replica-a"), None)
    assert found is not None, _active(server)
    assert found["level"] == "CRITICAL"
    assert found["labels"][semconv.SERVICE_INSTANCE_ID] == "replica-a"
    assert found["exemplar_trace_ids"] and set(found["exemplar_trace_ids"]) <= a.trace_ids()
    assert found["jaeger_links"][0] == f"/#trace/{found['exemplar_trace_ids'][0]}"  # no Jaeger UI answers there
    latency_b = [x for x in _active(server) if x["instance"] == "replica-b" and x["metric"].startswith("query_latency")]
    assert latency_b == []
    by_instance = requests.get(server.url + "/api/alerts/active", params={"instance": "replica-b"}, timeout=5).json()
    assert all(x["instance"] == "replica-b" for x in by_instance["alerts"])


def test_fleet_aggregate_sums_the_replicas(server, replicas):
    """The per-service series of heritage.queries (no instance) adds up both replicas' queries, exactly."""
    a, b = replicas
    for _ in range(10):
        a.serve(3, 0.05)
        b.serve(7, 0.05)
        time.sleep(0.06)
    a.flush()
    b.flush()
    server.service.evaluate(now=time.time() + 10 * INTERVAL_S)  # closes every fleet bucket
    series = requests.get(server.url + "/api/series", params={"metric": semconv.METRIC_QUERIES}, timeout=5).json()
    totals = {}
    for s in series["series"]:
        pts = requests.get(server.url + f"/api/series/{s['id']}", params={"minutes": 5}, timeout=5).json()
        totals[s["instance"]] = sum(pts["values"])
    assert totals["replica-a"] == 30 and totals["replica-b"] == 70
    assert totals[None] == 100  # late samples move to the next interval: nothing is lost


def test_query_logs_from_the_sdk_reach_the_query_store_with_trace_links(server, replicas):
    """QueryLogger records exported by the SDK's OTLP log exporter are listed newest first, with the trace id of
    the span they were logged in and its Jaeger link."""
    a, _b = replicas
    a.serve(3, 0.02, log_queries=True)
    a.flush()
    queries = requests.get(server.url + "/api/queries", timeout=5).json()["queries"]
    assert [q["query_id"] for q in queries] == ["replica-a-q3", "replica-a-q2", "replica-a-q1"]
    q = queries[0]
    assert q["trace_id"] in a.trace_ids()
    assert q["trace_url"] == f"/#trace/{q['trace_id']}"  # no Jaeger UI answers: the dashboard's trace page
    assert (q["instance"], q["results"], q["components"]) == ("replica-a", 10, ["simrank", "horn_index", "embedding"])
