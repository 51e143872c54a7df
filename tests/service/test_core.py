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


def _counter(service: AnalyzerService, name: str, instance: str, metric: str, t_ns: int, value: float = 1.0):
    req, sm = metrics_request(resource(name, instance))
    from tests.service.payloads import add_sum

    add_sum(sm, metric, value, start_ns=t_ns - 10**9, time_ns=t_ns)
    return service.ingest_metrics(req)


def test_junk_that_filled_max_series_never_locks_a_new_service_out_and_health_says_data_is_refused():
    """While every series is active a new service is refused and health says so; once the junk is idle for
    series_idle_s it is evicted (from the receiver and the Analyzer) and the new service is admitted."""
    now = [time.time()]
    service = AnalyzerService(ServiceConfig(max_series=3, series_idle_s=60), clock=lambda: now[0],
                              analyzer_config=AnalyzerConfig(interval_seconds=10.0), start_background=False)
    try:
        t0 = int(now[0] * 1e9)
        for i in range(3):
            assert _counter(service, "junk", f"j{i}", "junk.metric", t0).accepted == 1
        assert _counter(service, "real", "r", semconv.METRIC_QUERIES, t0).accepted == 0
        health = service.health()
        assert health["status"] != "healthy" and health["refusing"] is not None
        assert health["issues"][0].startswith("data refused: ") and "series limit of 3" in health["issues"][0]
        now[0] += 61.0
        t1 = int(now[0] * 1e9)
        assert _counter(service, "real", "r", semconv.METRIC_QUERIES, t1).accepted == 1
        stats = service.stats()
        assert stats["limits"]["dropped"]["series_evicted"] == 1
        assert stats["budget"]["evicted_series"]["receiver"] == 1
        assert "real" in stats["services"]
        assert not any(dict(k.resource).get(semconv.SERVICE_INSTANCE_ID) == "j0" for k in service.analyzer.series())
        now[0] += 121.0  # no refusal for two minutes: health no longer reports one
        assert service.health()["refusing"] is None
    finally:
        service.close()


def test_service_names_without_accepted_data_are_not_kept():
    """Resources of 1 MiB service.name values and no data points leave nothing behind; names are cut."""
    service = AnalyzerService(ServiceConfig(), start_background=False)
    try:
        for i in range(20):
            req, _sm = metrics_request({semconv.SERVICE_NAME: f"{i}" + "x" * (1 << 20)})
            service.ingest_metrics(req)
        assert service.stats()["services"] == []
        _counter(service, "y" * 5000, "a", semconv.METRIC_QUERIES, time.time_ns())
        assert [len(s) for s in service.stats()["services"]] == [ServiceConfig().max_attribute_value_length]
    finally:
        service.close()


def test_stats_account_every_structure_within_its_bound_and_the_documented_ceiling():
    """/api/stats budget: each structure's items are within its bound, the bytes held are under the ceiling."""
    from heritage_otel.service.budget import ceiling

    service = AnalyzerService(ServiceConfig(), start_background=False)
    try:
        now = time.time_ns()
        for i in range(5):
            _latency(service, f"replica-{i}", 0.05, 100, now)
        budget = service.stats()["budget"]
        assert {"series", "analyzer_series", "drift_buckets", "cumulative_states", "delta_windows", "bucket_layouts",
                "services", "component_intervals", "queries", "request_bodies"} <= set(budget["structures"])
        for name, row in budget["structures"].items():
            assert 0 <= row["items"] <= row["bound"], name
        assert budget["structures"]["series"]["items"] == 5
        assert 0 < budget["bytes"] < budget["ceiling_bytes"]
        assert budget["ceiling_bytes"] == sum(ceiling(service.config, service.analyzer.config).values())
    finally:
        service.close()


def test_a_retried_export_is_not_reported_as_refused_data():
    """A DELTA export sent twice is counted once and health does not call the repeat refused data."""
    service = AnalyzerService(ServiceConfig(), start_background=False)
    try:
        t = time.time_ns()
        assert _counter(service, "svc", "a", semconv.METRIC_QUERIES, t).accepted == 1
        assert _counter(service, "svc", "a", semconv.METRIC_QUERIES, t).rejected == 1
        assert service.health()["refusing"] is None
    finally:
        service.close()
