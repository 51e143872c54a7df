"""AnalyzerService read models: key metrics name the replica that is worse than the fleet."""

from __future__ import annotations

import time

from heritage_otel import semconv
from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.instruments import DURATION_BUCKETS_S
from heritage_otel.service import AnalyzerService, ServiceConfig
from tests.service.payloads import add_histogram, metrics_request, resource


def _latency(service: AnalyzerService, instance: str, seconds: float, n: int, t_ns: int) -> None:
    counts = [0] * (len(DURATION_BUCKETS_S) + 1)
    counts[next(i for i, b in enumerate(DURATION_BUCKETS_S) if seconds <= b)] = n
    req, sm = metrics_request(resource("recommender", instance))
    add_histogram(sm, semconv.METRIC_QUERY_DURATION, DURATION_BUCKETS_S, counts, n * seconds, time_ns=t_ns)
    assert service.ingest_metrics(req).rejected == 0


def test_key_metrics_are_fleet_wide_and_name_a_clearly_worse_replica():
    """A slow replica serving 2 % of the traffic leaves the fleet p95 low; the health names it as the worst."""
    service = AnalyzerService(ServiceConfig(), analyzer_config=AnalyzerConfig(interval_seconds=1.0),
                              start_background=False)
    try:
        now = time.time_ns()
        _latency(service, "replica-a", 4.0, 20, now)
        _latency(service, "replica-b", 0.05, 980, now)
        service.evaluate(now=now / 1e9 + 2.5)  # closes the fleet interval
        health = service.health()
        assert health["key_metrics"]["query_latency_p95"] < 100
        assert health["worst_replica"]["query_latency_p95"]["instance"] == "replica-a"
        assert health["worst_replica"]["query_latency_p95"]["value"] > 3000
    finally:
        service.close()
