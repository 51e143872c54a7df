"""The Analyzer service down (fleet mode): the recommender keeps serving (bound in
tests/faults/support.py) while the Collector's otlp_http/analyzer exporter fails and counts it in its
own metrics (``otelcol_exporter_queue_size`` of ``otlp_http/analyzer``: held for retry; after
``retry_on_failure.max_elapsed_time`` (60 s) it would count them in
``otelcol_exporter_send_failed_metric_points``); when the Analyzer comes up, the Collector's retry delivers what it queued, so the
Analyzer counts every query that was served during the outage."""

from __future__ import annotations

import time

import pytest
import requests
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from heritage_otel import configure
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.service import AnalyzerServer, ServiceConfig
from heritage_otel.stack import Stack, StackPorts
from tests.faults.support import assert_not_blocked, healthy_baseline, timed_calls
from tests.helpers import BIN_DIR, REPO_ROOT, free_port, require_binary

pytestmark = pytest.mark.timeout(240)

QUERIES = 120


def collector_metric(url: str, name: str, exporter: str) -> float:
    total = 0.0
    for line in requests.get(url, timeout=5).text.splitlines():
        if line.startswith(name) and f'exporter="{exporter}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def analyzer_queries(server: AnalyzerServer) -> float:
    """heritage.queries counted by the Analyzer for the replica (its per-instance series)."""
    reply = requests.get(server.url + "/api/points", params={"metric": "heritage.queries", "minutes": 60,
                                                              "limit": 200}, timeout=5)
    if reply.status_code != 200:
        return 0.0
    return sum(sum(series["values"]) for series in reply.json().get("series", [])
               if series.get("instance") == "replica-1")


@pytest.mark.parametrize("temporality", [
    "delta",  # as the analysis path prefers: each replayed batch carries its own increments
    "cumulative",  # the receiver's tracker counts a series started within its retention from its start
])
def test_analyzer_down_then_up_loses_no_metric_point(temporality, tmp_path, instrumentor, monkeypatch) -> None:
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", temporality)
    analyzer_port = free_port()
    stack = Stack(tmp_path / "state", ports=StackPorts.free(), repo=REPO_ROOT, extra_env={
        "HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{analyzer_port}",
        "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT": "200ms",
    })
    rec = HeritageRecommender(seed=7, cache_size=0)
    texts = [q.text for q in rec.corpus.queries]
    healthy = healthy_baseline(rec, texts, instrumentor)

    stack.start("collector", timeout_s=60)  # Jaeger is not needed here
    metrics_url = f"http://127.0.0.1:{stack.ports.collector_metrics}/metrics"
    server = None
    tel = configure(service_name="analyzer-down", service_instance_id="replica-1",
                    endpoint=stack.ports.otlp_http_endpoint, metric_export_interval_millis=500,
                    metric_readers=[InMemoryMetricReader()], span_store_size=0)
    instrumentor.instrument()
    try:
        faulty = timed_calls(rec.recommend, texts, QUERIES)
        assert_not_blocked(faulty, healthy, "Analyzer service down")
        assert tel.force_flush(10_000)
        deadline = time.monotonic() + 30
        held = 0.0
        while time.monotonic() < deadline and held == 0:
            held = collector_metric(metrics_url, "otelcol_exporter_queue_size", "otlp_http/analyzer")
            time.sleep(0.5)
        assert held > 0, "the Collector shows the undelivered batches in its exporter queue"

        server = AnalyzerServer(ServiceConfig(port=analyzer_port, evaluate_every_s=0.2)).start()
        deadline = time.monotonic() + 75  # the exporter's retry backoff reaches 30 s
        counted = 0.0
        while time.monotonic() < deadline and counted < QUERIES:
            counted = analyzer_queries(server)
            time.sleep(1)
    finally:
        instrumentor.uninstrument()
        tel.shutdown(timeout_millis=5_000)
        stack.stop("collector")
        if server is not None:
            server.close()
    assert counted == QUERIES, f"the Analyzer counted {counted} of {QUERIES} queries served while it was down"
