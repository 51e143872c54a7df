"""The seed-compatible facade: its usage examples and integration guide run as written (import paths aside)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from heritage_otel import semconv
from heritage_otel.monitoring import get_monitor, initialize_monitoring, shutdown_monitoring
from heritage_otel.testing import HttpReceiver


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test runs in its own directory (logs/alerts.jsonl) and leaves no monitor behind."""
    monkeypatch.chdir(tmp_path)
    yield
    shutdown_monitoring()


def _sink_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.name.startswith("heritage-otel-sink-") or t.name == "OtelPeriodicExportingMetricReader"]


class _Recommender:
    """Stand-in for the seed's recommender object."""

    def get_recommendations(self, query: str, top_k: int = 10) -> list[dict]:
        return [{"doc_id": f"d{i}", "score": 1.0 - i / 10} for i in range(top_k)]


def test_integration_guide_step1_and_example1_run_and_shut_down_cleanly(tmp_path) -> None:
    """Step 1 (config, background on) and Example 1 as written; shutdown leaves no thread."""
    monitor = initialize_monitoring(config={
        'retention_minutes': 60,
        'anomaly_sensitivity': 3.0,
        'thresholds': {
            'query_latency_p95': {'max': 2000, 'warning': 1800, 'critical': 3000},
            'ndcg_at_10': {'min': 0.6, 'warning': 0.65, 'critical': 0.5}
        }
    }, start_background=True)
    assert monitor.background and "OtelPeriodicExportingMetricReader" in _sink_threads()

    # --- Example 1 ---
    recommender = _Recommender()
    monitor = get_monitor()
    start_time = time.time()
    results = recommender.get_recommendations("temple architecture")
    latency_ms = (time.time() - start_time) * 1000
    monitor.record_query(
        query_id="q_001",
        latency_ms=latency_ms,
        num_results=len(results),
        ndcg=0.75,
        components_used=['simrank', 'horn_index']
    )
    alerts = monitor.alerts.get_active_alerts()
    assert alerts == []
    assert monitor.metrics.get_stats("query_latency")["count"] == 1

    shutdown_monitoring()
    assert _sink_threads() == []
    assert (tmp_path / "logs").is_dir()  # the seed's alert log location


def test_record_query_records_the_otel_instruments(telemetry) -> None:
    """record_query lands on the global OpenTelemetry pipeline: queries, duration (s), results, NDCG."""
    monitor = initialize_monitoring(start_background=False)
    for i in range(5):
        monitor.record_query(f"q{i}", latency_ms=250.0, num_results=0 if i == 0 else 10, ndcg=0.8,
                             components_used=["simrank"])
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == 5
    assert telemetry.metric_sum(semconv.METRIC_EMPTY_RESULTS) == 1
    assert telemetry.histogram_count(semconv.METRIC_QUERY_DURATION) == 5
    (point,) = telemetry.metric_points(semconv.METRIC_QUERY_DURATION)
    assert point.sum == pytest.approx(1.25)  # seconds
    assert telemetry.histogram_count(semconv.METRIC_NDCG_AT_10) == 5
    assert telemetry.metric_sum(semconv.METRIC_COMPONENT_USES, **{semconv.COMPONENT: "simrank"}) == 5
    (row,) = monitor.get_dashboard_data()["components"].values()
    assert (row["component"], row["calls"], row["timed_calls"], row["latency_mean_ms"]) == ("simrank", 5, 0, None)


def test_example1_alert_check_sees_the_queries_just_recorded_without_a_background_thread() -> None:
    """Example 1 with get_monitor() (no background thread): reading the active alerts after slow queries
    evaluates them (the seed checked thresholds as queries arrived); reads within the check interval do
    not evaluate again, so a read after every query does not cut the data into one-query intervals."""
    recommender = _Recommender()
    monitor = get_monitor()
    assert not monitor.background
    for i in range(30):
        results = recommender.get_recommendations("temple architecture")
        monitor.record_query(query_id=f"q_{i:03d}", latency_ms=3500.0, num_results=len(results), ndcg=0.75,
                             components_used=['simrank', 'horn_index'])
    alerts = monitor.alerts.get_active_alerts()
    assert [(a.metric_name, a.level.name) for a in alerts] == [("query_latency_p95", "CRITICAL")]
    exports = monitor.exporter.exports
    for i in range(5):
        monitor.record_query(query_id=f"r_{i}", latency_ms=100.0, num_results=10)
        monitor.alerts.get_active_alerts()
        monitor.get_dashboard_data()
    assert monitor.exporter.exports == exports  # not due before check_interval_seconds (60 s)


def test_without_a_background_thread_recording_alone_notifies_the_handler() -> None:
    """The seed checked thresholds as queries arrived: with no thread and no read, record_query evaluates once
    per check interval, so a registered handler hears of slow queries (and not once per query)."""
    monitor = initialize_monitoring(config={"check_interval_seconds": 0.5}, start_background=False)
    received = []
    monitor.alerts.register_handler(received.append)
    start, n = time.monotonic(), 0
    while not received and time.monotonic() - start < 30:
        monitor.record_query(f"q{n}", latency_ms=3500.0, num_results=10)
        n += 1
        if n % 25 == 0:
            monitor.alerts.flush(1.0)
        time.sleep(0.004)
    assert [a.metric_name for a in received] == ["query_latency_p95"]
    assert monitor.exporter.exports <= (time.monotonic() - start) / 0.5 + 1 < n


def test_threshold_alert_from_the_pipeline_then_resolution() -> None:
    """p95 latency 2500 ms breaches the seed rule (WARNING); after recovery the alert resolves."""
    monitor = initialize_monitoring(start_background=False)
    for i in range(20):
        monitor.record_query(f"slow{i}", latency_ms=2500, num_results=10, ndcg=0.8)
    (alert,) = monitor.check_thresholds()
    assert (alert.metric_name, alert.level.name) == ("query_latency_p95", "WARNING")
    assert alert.current_value == pytest.approx(2500.0)
    assert alert.threshold == 1800
    for i in range(20):
        monitor.record_query(f"fast{i}", latency_ms=100, num_results=10, ndcg=0.8)
    assert monitor.check_thresholds() == []
    assert [a.state for a in monitor.alerts.history(metric="query_latency_p95")] == ["firing", "resolved"]
    assert monitor.alerts.flush(5.0)
    lines = [json.loads(x) for x in open("logs/alerts.jsonl").read().splitlines() if x]
    assert [x["state"] for x in lines] == ["firing", "resolved"]


def test_one_latency_problem_is_one_notification_across_threshold_anomaly_and_drift() -> None:
    """The seed's checks on one slow spell (threshold, check_anomalies, check_drift) give three active
    alerts but one incident: the registered handler and alerts.jsonl get one notification, not three."""
    monitor = initialize_monitoring(config={"service_name": "doc-recommender"}, start_background=False)
    received = []
    monitor.alerts.register_handler(lambda alert: received.append(alert))
    rng = np.random.default_rng(1)
    for i, v in enumerate(rng.normal(100, 5, 100)):
        monitor.record_query(f"q{i}", latency_ms=float(v), num_results=10, ndcg=0.8)
    assert monitor.check_thresholds() == []
    for i in range(40):
        monitor.record_query(f"s{i}", latency_ms=3500.0, num_results=10, ndcg=0.8)
    for _ in range(2):
        monitor.check_thresholds()
        monitor.check_anomalies(lookback_minutes=60)
    monitor.drift_detector.set_reference("query_latency", rng.normal(100, 5, 500))
    assert monitor.check_drift("query_latency", monitor.metrics.get_recent_values("query_latency"), method="psi")
    active = monitor.alerts.get_active_alerts()
    assert {(a.metric_name, a.detector) for a in active} == {("query_latency_p95", "threshold"),
                                                              ("query_latency", "mad"), ("query_latency", "psi")}
    assert {dict(a.labels)["service.name"] for a in active} == {"doc-recommender"}
    assert monitor.alerts.flush(5.0)
    assert [(a.metric_name, a.event) for a in received] == [("query_latency_p95", "fired")]
    assert len(open("logs/alerts.jsonl").read().splitlines()) == 1


def test_example2_check_anomalies(capsys) -> None:
    """Example 2 as written finds a planted latency outlier, with 'Anomaly' in the message."""
    monitor = initialize_monitoring(start_background=False)
    rng = np.random.default_rng(4)
    for i, v in enumerate(rng.normal(100, 5, 60)):
        monitor.record_query(f"q{i}", latency_ms=float(v), num_results=10, ndcg=0.8)
    monitor.record_query("outlier", latency_ms=400.0, num_results=10, ndcg=0.8)

    # --- Example 2 ---
    monitor = get_monitor()
    monitor.check_anomalies(lookback_minutes=60)
    alerts = monitor.alerts.get_active_alerts()
    anomaly_alerts = [a for a in alerts if 'Anomaly' in a.message]
    if anomaly_alerts:
        print(f"🔍 Detected {len(anomaly_alerts)} anomalies")
        for alert in anomaly_alerts:
            print(f"  - {alert.metric_name}: {alert.message}")

    assert {(a.metric_name, a.detector) for a in anomaly_alerts} >= {("query_latency", "zscore"),
                                                                     ("query_latency", "mad")}
    assert "query_latency: Anomaly in query_latency" in capsys.readouterr().out


def test_example3_check_drift_as_written() -> None:
    """Example 3 as written (its reference list even ends with a literal ...) detects drift, PSI and KS."""
    monitor = initialize_monitoring(start_background=False)
    for i in range(200):
        monitor.record_query(f"q{i}", latency_ms=300 + i % 50, num_results=10)

    # --- Example 3 ---
    monitor = get_monitor()
    reference_latencies = [100, 120, 110, 130, 105, ...]
    monitor.drift_detector.set_reference('query_latency', reference_latencies)
    current_latencies = monitor.metrics.get_recent_values('query_latency', minutes=60)
    is_drift = False
    if current_latencies:
        is_drift = monitor.check_drift('query_latency', current_latencies, method='psi')

    assert is_drift is True
    assert monitor.check_drift('query_latency', current_latencies, method='ks') is True
    assert {a.detector for a in monitor.alerts.get_active_alerts(metric="query_latency")} == {"psi", "ks"}
    assert monitor.check_drift('query_latency', [100, 120, 110, 130, 105] * 10, method='psi') is False
    assert {a.detector for a in monitor.alerts.get_active_alerts(metric="query_latency")} == {"ks"}


def test_example4_custom_slack_handler() -> None:
    """Example 4's handler (requests.post of a Slack message) receives alerts; URL pointed at a local server."""
    with HttpReceiver() as server:
        # --- Example 4 (webhook_url pointed at the local server) ---
        from heritage_otel.monitoring import Alert, get_monitor
        import requests

        monitor = get_monitor()

        def slack_alert_handler(alert: Alert):
            """Send alert to Slack"""
            webhook_url = f"{server.url}/services/YOUR/WEBHOOK/URL"

            message = {
                "text": f"🚨 {alert.level.name} Alert",
                "attachments": [{
                    "color": "danger" if alert.level.name == "CRITICAL" else "warning",
                    "fields": [
                        {"title": "Metric", "value": alert.metric_name, "short": True},
                        {"title": "Value", "value": f"{alert.current_value:.2f}", "short": True},
                        {"title": "Threshold", "value": f"{alert.threshold:.2f}", "short": True},
                        {"title": "Message", "value": alert.message, "short": False}
                    ]
                }]
            }

            requests.post(webhook_url, json=message)

        monitor.alerts.register_handler(slack_alert_handler)

        for i in range(20):
            monitor.record_query(f"q{i}", latency_ms=3500, num_results=10)
        monitor.check_thresholds()
        assert monitor.alerts.flush(10.0)
        received = server.bodies()
    assert received[0]["text"] == "🚨 CRITICAL Alert"
    assert received[0]["attachments"][0]["fields"][0]["value"] == "query_latency_p95"


def test_example5_dashboard_data(capsys) -> None:
    """Example 5 as written prints health, alerts and per-metric stats; health reflects the alert."""
    monitor = initialize_monitoring(start_background=False)
    for i in range(20):
        monitor.record_query(f"q{i}", latency_ms=2500, num_results=10, ndcg=0.7)
    monitor.check_thresholds()

    # --- Example 5 ---
    monitor = get_monitor()
    dashboard_data = monitor.get_dashboard_data()
    print("=== System Health ===")
    print(f"Score: {dashboard_data['system_health']['score']:.1f}/100")
    print(f"Status: {dashboard_data['system_health']['status']}")
    print(f"Issues: {len(dashboard_data['system_health']['issues'])}")
    print("\n=== Active Alerts ===")
    print(f"Total: {len(dashboard_data['alerts'])}")
    print("\n=== Key Metrics ===")
    for metric_name, stats in dashboard_data['metrics'].items():
        print(f"{metric_name}:")
        print(f"  Mean: {stats['mean']:.2f}")
        print(f"  P95: {stats['p95']:.2f}")

    out = capsys.readouterr().out
    # one WARNING alert (-10) and p95 2500 ms at 1.25x its 2000 ms budget (-5): 85
    assert "Score: 85.0/100" in out and "Status: healthy" in out and "Total: 1" in out
    assert "query_latency:\n  Mean: 2500.00\n  P95: 2500.00" in out
    (alert,) = dashboard_data["alerts"]  # the seed's keys, for a dashboard written against the seed
    assert (alert["metric_name"], alert["level"], alert["alert_id"]) == ("query_latency_p95", "WARNING", alert["id"])
    assert alert["timestamp"] == alert["last_seen"]


def test_get_stats_match_numpy() -> None:
    """get_stats returns mean, median, std, min, max, count and percentiles of the raw values."""
    monitor = initialize_monitoring(start_background=False)
    values = [float(v) for v in np.random.default_rng(2).gamma(2, 50, 300)]
    for i, v in enumerate(values):
        monitor.record_query(f"q{i}", latency_ms=v, num_results=5)
    stats = monitor.metrics.get_stats("query_latency")
    assert stats["count"] == 300
    assert stats["mean"] == pytest.approx(np.mean(values))
    assert stats["median"] == pytest.approx(np.median(values))
    assert stats["p99"] == pytest.approx(np.percentile(values, 99))
    assert monitor.metrics.get_recent_values("query_latency", minutes=60) == values
    assert monitor.metrics.get_stats("unknown") == {}


@pytest.mark.parametrize(
    ("config", "needle"),
    [({"retention": 60}, "key 'retention' is not valid; valid keys"),
     ({"check_interval_seconds": 0}, "'check_interval_seconds' = 0"),
     ({"thresholds": {"error_rate": {"max": "x"}}}, "threshold rule 'error_rate': key 'max' = 'x'"),
     ({"thresholds": {"error_rte": {"max": 0.1}}}, "did you mean the indicator 'error_rate'"),
     ({"replace_thresholds": "yes"}, "'replace_thresholds' = 'yes' is not valid; expected True or False"),
     ({"service_name": ""}, "'service_name' = '' is not valid")],
)
def test_bad_config_fails_fast(config, needle) -> None:
    """Unknown keys and bad values fail at initialisation with the key, value and what is valid."""
    with pytest.raises(ValueError, match=needle):
        initialize_monitoring(config=config, start_background=False)


# --- seed parity: the facade sees the whole process, judges the whole lookback, has the seed's API --------------
def _degraded_queries(monitor, n: int = 40) -> None:
    """n queries answered by the second strategy of a FallbackChain, one handled error each (ErrorHandler)."""
    from heritage_otel.errors import HighSeverityError
    from heritage_otel.fallback import FallbackChain
    from heritage_otel.handler import ErrorHandler

    handler = ErrorHandler()

    @handler.handle_errors("simrank", fallback_value=[])
    def flaky():
        raise HighSeverityError("simrank index unavailable")

    def primary():
        raise HighSeverityError("simrank down")

    chain = FallbackChain("ranking_chain")
    chain.add_strategy("primary_simrank", primary, priority=3)
    chain.add_strategy("fallback_horn", lambda: ["d1"] * 10, priority=2)
    for i in range(n):
        flaky()
        results, _ = chain.execute()
        monitor.record_query(f"q{i}", latency_ms=120, num_results=len(results), ndcg=0.8)


@pytest.mark.parametrize("configured", [False, True], ids=["no-configure", "after-configure"])
def test_fallbacks_and_errors_recorded_elsewhere_in_the_process_reach_the_health(request, configured) -> None:
    """FallbackChain and ErrorHandler record on the global providers; the facade's health sees them."""
    if configured:
        request.getfixturevalue("telemetry")
    monitor = initialize_monitoring(start_background=False)
    _degraded_queries(monitor)
    monitor.flush()
    indicators = monitor.get_dashboard_data()["indicators"]
    assert indicators["fallback_rate"] == pytest.approx(1.0)
    assert indicators["component_error_rate"] >= 1.0
    health = monitor.get_system_health()
    assert health["score"] <= 90 and any("fallback_rate" in issue for issue in health["issues"])


def test_check_anomalies_reports_a_spike_followed_by_normal_queries() -> None:
    """A latency spike, then more normal queries: the spike is still inside the lookback and is reported."""
    monitor = initialize_monitoring(start_background=False)
    rng = np.random.default_rng(11)
    values = [float(v) for v in rng.normal(100, 5, 60)]
    values[40] = 420.0
    for i, v in enumerate(values):
        monitor.record_query(f"q{i}", latency_ms=v, num_results=10, ndcg=0.8)
    found = monitor.check_anomalies(lookback_minutes=60)
    latency = {a.detector: a for a in found if a.metric_name == "query_latency"}
    assert set(latency) == {"zscore", "mad"}
    assert latency["mad"].current_value == 420.0 and "Anomaly" in latency["mad"].message
    assert not [a for a in found if a.metric_name == "ndcg_at_10"]  # constant: nothing to report


def test_counters_gauges_and_rates(telemetry) -> None:
    """The seed's counter/gauge/rate API keeps raw points and records OpenTelemetry instruments of that name."""
    monitor = initialize_monitoring(start_background=False)
    now = time.time()
    for i in range(30):
        monitor.metrics.increment("cache_evictions", 2, timestamp=now - 30 + i)
    monitor.metrics.set_gauge("index_documents", 1200)
    monitor.metrics.set_gauge("index_documents", 1250)
    monitor.metrics.record_metric("rerank_ms", 12.5)
    assert monitor.metrics.get_counter("cache_evictions") == 60.0
    assert monitor.metrics.get_gauge("index_documents") == 1250.0
    assert monitor.metrics.get_rate("cache_evictions", minutes=1) == pytest.approx(1.0)  # 60 in 60 s
    assert monitor.metrics.get_rate("rerank_ms", minutes=1) == pytest.approx(1 / 60)
    assert telemetry.metric_sum("cache_evictions") == 60
    assert [p.value for p in telemetry.metric_points("index_documents")] == [1250]
    assert telemetry.histogram_count("rerank_ms") == 1
    data = monitor.get_dashboard_data()
    assert data["counters"] == {"cache_evictions": 60.0} and data["gauges"] == {"index_documents": 1250.0}
    monitor.metrics.increment("cache_evictions", -1)  # a counter only grows
    monitor.metrics.set_gauge("cache_evictions", 3)   # a counter is not a gauge
    assert monitor.metrics.get_counter("cache_evictions") == 60.0


def test_custom_metric_threshold_and_rules_merged_with_the_defaults() -> None:
    """A rule on any recorded metric fires; user rules merge over the seed's defaults (error_rate still judged)."""
    monitor = initialize_monitoring(config={"thresholds": {
        "my_custom_metric": {"max": 5, "critical": 50},
        "ndcg_at_10": {"min": 0.7, "critical": 0.4},
    }}, start_background=False)
    for i in range(10):
        monitor.metrics.record_metric("my_custom_metric", 9.0)
        monitor.record_query(f"q{i}", latency_ms=100, num_results=10, ndcg=0.8, success=i % 2 == 0)
    fired = {(a.metric_name, a.level.name) for a in monitor.check_thresholds()}
    assert fired == {("my_custom_metric", "WARNING"), ("error_rate", "CRITICAL")}


def test_the_seeds_indicator_names_in_thresholds_are_judged() -> None:
    """'component_failure_rate' and 'diversity_score' (the seed's names) are rules on our indicators, not
    rules on metrics nobody records: failing components and low diversity raise their alerts."""
    from heritage_otel.errors import HighSeverityError
    from heritage_otel.handler import ErrorHandler

    monitor = initialize_monitoring(config={"thresholds": {
        "component_failure_rate": {"max": 0.05, "warning": 0.03, "critical": 0.1},
        "diversity_score": {"min": 0.6, "warning": 0.65, "critical": 0.5},
    }}, start_background=False)

    @ErrorHandler().handle_errors("simrank", fallback_value=[])
    def rank(i: int) -> list[int]:
        if i % 5 == 0:
            raise HighSeverityError("simrank index unavailable")
        return [i]

    for i in range(20):
        rank(i)
        monitor.record_query(f"q{i}", latency_ms=100, num_results=10, ndcg=0.8, diversity=0.3)
    fired = {(a.metric_name, a.level.name) for a in monitor.check_thresholds()}
    assert fired == {("component_error_rate", "CRITICAL"), ("diversity", "CRITICAL")}
    with pytest.raises(ValueError, match="names 'diversity' twice"):
        initialize_monitoring(config={"thresholds": {"diversity": {"min": 0.5}, "diversity_score": {"min": 0.6}}},
                              start_background=False)


def test_replace_thresholds_uses_the_given_rules_alone() -> None:
    """replace_thresholds=True: the 50 % error rate is not judged because no rule names it."""
    monitor = initialize_monitoring(config={"thresholds": {"ndcg_at_10": {"min": 0.6}}, "replace_thresholds": True},
                                    start_background=False)
    for i in range(10):
        monitor.record_query(f"q{i}", latency_ms=100, num_results=10, ndcg=0.8, success=i % 2 == 0)
    assert monitor.check_thresholds() == []


def test_service_name_and_drift_thresholds_through_initialize_monitoring() -> None:
    """service_name labels the monitor's series; psi_warning set high makes a moderate shift not drift."""
    monitor = initialize_monitoring(config={"service_name": "my-recommender", "psi_warning": 5.0,
                                            "psi_critical": 9.0}, start_background=False)
    assert monitor.resource.attributes["service.name"] == "my-recommender"
    for i in range(20):
        monitor.record_query(f"q{i}", latency_ms=2500, num_results=10)
    (alert,) = monitor.check_thresholds()
    assert dict(alert.labels)["service.name"] == "my-recommender"
    rng = np.random.default_rng(3)
    reference, shifted = rng.normal(100, 10, 2000), rng.normal(106, 10, 2000)  # PSI 0.34
    monitor.drift_detector.set_reference("query_latency", reference)
    assert monitor.check_drift("query_latency", shifted, method="psi") is False
    default = initialize_monitoring(start_background=False)
    default.drift_detector.set_reference("query_latency", reference)
    assert default.check_drift("query_latency", shifted, method="psi") is True
    with pytest.raises(ValueError, match="psi_critical = 1.0 is not valid"):
        initialize_monitoring(config={"psi_warning": 2.0, "psi_critical": 1.0}, start_background=False)


def test_points_are_stored_compactly() -> None:
    """10,000 stored points take at most 12 bytes each (the seed promised ~10 KB per 1,000)."""
    monitor = initialize_monitoring(config={"reservoir_size": 10_000}, start_background=False)
    for i in range(10_000):
        monitor.metrics.record_metric("rerank_ms", float(i))
    assert monitor.metrics.nbytes() <= 12 * 10_000
    assert monitor.metrics.get_recent_values("rerank_ms")[-3:] == [9997.0, 9998.0, 9999.0]
    for i in range(100):
        monitor.metrics.record_metric("rerank_ms", 1e6 + i)  # the ring keeps the newest reservoir_size points
    values = monitor.metrics.get_recent_values("rerank_ms")
    assert len(values) == 10_000 and values[0] == 100.0 and values[-1] == 1e6 + 99


_SEED_SCRIPT = """
import sys
from heritage_otel.monitoring import initialize_monitoring, get_monitor
monitor = initialize_monitoring(config={'retention_minutes': 60}, start_background=True)
for i in range(20):
    get_monitor().record_query(query_id=f"q_{i}", latency_ms=120.0, num_results=10, ndcg=0.75,
                               components_used=['simrank', 'horn_index'])
print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))
"""


def test_a_facade_script_exits_quietly_and_imports_no_scipy(tmp_path) -> None:
    """A seed-style script: nothing on stderr at exit (no 'shutdown can only be called once'), no scipy imported."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HERITAGE_OTEL_"))}
    out = subprocess.run([sys.executable, "-c", _SEED_SCRIPT], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stderr == ""
    assert out.stdout.strip() == "[]"


def test_resource_usage_comes_from_the_system_metrics_instrumentation() -> None:
    """CPU, memory and threads of this process, read through OpenTelemetry's system-metrics instrumentation."""
    import os

    import psutil

    monitor = initialize_monitoring(start_background=False)
    monitor.record_query("q", latency_ms=10, num_results=3)
    for _ in range(3):  # a level, not its change since the last export
        monitor.flush()
    resources = monitor.get_dashboard_data()["resources"]
    memory = psutil.Process(os.getpid()).memory_info().rss
    assert 0.5 * memory < resources["process.memory.usage"] < 2 * memory
    assert resources["process.thread.count"] >= 1
    assert "process.cpu.utilization" in resources
    quiet = initialize_monitoring(config={"system_metrics": False}, start_background=False)
    quiet.flush()
    assert quiet.get_dashboard_data()["resources"] == {}


def test_serve_dashboard_from_the_process_reads_the_facades_analyzer() -> None:
    """serve_dashboard() -> a loopback URL whose API shows this monitor's health, alerts, components,
    query log and, from the embedded span store, the trace of a logged query."""
    import requests
    from opentelemetry import trace

    import heritage_otel

    telemetry_pipeline = heritage_otel.configure(service_name="facade-dashboard", simple_processors=True)
    try:
        monitor = initialize_monitoring(start_background=False)
        url = monitor.serve_dashboard()
        assert url.startswith("http://127.0.0.1:") and monitor.serve_dashboard() == url
        tracer = trace.get_tracer("app")
        for i in range(20):
            with tracer.start_as_current_span("app.query"):
                monitor.record_query(f"q{i}", latency_ms=2500, num_results=10, ndcg=0.8,
                                     components_used=["simrank", "horn_index"])
        monitor.check_thresholds()
        health = requests.get(url + "/api/health", timeout=5).json()
        assert health["score"] < 100 and health["active_alerts"]["WARNING"] == 1 and health["receiving"]
        alerts = requests.get(url + "/api/alerts/active", timeout=5).json()["alerts"]
        assert [a["metric"] for a in alerts] == ["query_latency_p95"]
        queries = requests.get(url + "/api/queries", timeout=5).json()["queries"]
        assert len(queries) == 20 and queries[0]["query_id"] == "q19" and queries[0]["components"] == ["simrank", "horn_index"]
        found = requests.get(url + "/api/traces/" + queries[0]["trace_id"], timeout=5).json()
        assert found["source"] == "span_store" and found["trace"]["root"] == "app.query"
        assert requests.get(url + "/api/traces/" + "0" * 32, timeout=5).status_code == 404
        assert "Trends" in requests.get(url + "/", timeout=5).text
        monitor.shutdown()
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/api/health", timeout=5)
    finally:
        telemetry_pipeline.shutdown()


def test_components_page_of_a_facade_user_counts_calls_failures_and_unmeasured_latency() -> None:
    """components_used counts each component's calls (latency unknown, not 0), record_component_performance
    adds measured latency without counting the call twice, and ErrorHandler failures land on their component:
    through serve_dashboard()'s /api/components, from queries recorded before the dashboard started too."""
    import requests

    from heritage_otel.errors import HighSeverityError
    from heritage_otel.handler import ErrorHandler

    monitor = initialize_monitoring(config={"system_metrics": False}, start_background=False)
    handler = ErrorHandler()

    @handler.handle_errors("embedding", fallback_value=[])
    def embed(i: int) -> list[int]:
        if i % 4 == 0:
            raise HighSeverityError("vector index offline")
        return [i]

    def serve(first: int, n: int) -> None:
        for i in range(first, first + n):
            embed(i)
            monitor.record_component_performance("simrank", 10.0 + i % 20, success=i != 7,
                                                 error_type="TimeoutError" if i == 7 else None)
            monitor.record_query(f"q{i}", latency_ms=120, num_results=10,
                                 components_used=["simrank", "horn_index", "embedding", "horn_index"])

    serve(0, 60)
    monitor.flush()
    url = monitor.serve_dashboard()
    queries = requests.get(url + "/api/queries", params={"limit": 100}, timeout=5).json()["queries"]
    assert [q["query_id"] for q in queries] == [f"q{i}" for i in range(59, 9, -1)]  # the last 50 before it started
    rows = {r["component"]: r for r in requests.get(url + "/api/components", timeout=5).json()["components"]}
    assert set(rows) == {"simrank", "horn_index", "embedding"}
    horn = rows["horn_index"]
    assert (horn["calls"], horn["timed_calls"], horn["failures"], horn["status"]) == (60, 0, 0, "ok")
    assert horn["latency_mean_ms"] is None and horn["latency_p95_ms"] is None  # unknown, not 0
    simrank = rows["simrank"]
    assert (simrank["calls"], simrank["timed_calls"], simrank["failures"]) == (60, 60, 1)
    assert simrank["latency_mean_ms"] == pytest.approx(19.5) and 25 <= simrank["latency_p95_ms"] <= 29
    assert (simrank["success_rate"], simrank["status"]) == (0.9833, "degraded")
    embedding = rows["embedding"]
    assert (embedding["calls"], embedding["failures"], embedding["success_rate"]) == (60, 15, 0.75)
    assert embedding["status"] == "failing" and embedding["latency_mean_ms"] is None
    assert monitor.metrics.get_stats("simrank_latency")["count"] == 60  # the seed's raw per-component values

    serve(60, 5)
    monitor.flush()
    data = monitor.get_dashboard_data()
    assert data["components"]["horn_index"]["calls"] == 65
    assert requests.get(url + "/api/queries", timeout=5).json()["queries"][0]["query_id"] == "q64"
    assert data["components"] == {r["component"]: r for r in
                                  requests.get(url + "/api/components", timeout=5).json()["components"]}


def test_components_used_with_latencies_records_measured_calls(telemetry) -> None:
    """components_used={name: latency_ms} is a measured call of each component: durations, not uses."""
    monitor = initialize_monitoring(config={"system_metrics": False}, start_background=False)
    for i in range(10):
        monitor.record_query(f"q{i}", latency_ms=80, num_results=10,
                             components_used={"simrank": 20.0, "horn_index": 40.0, "embedding": "n/a"})
    for name, ms in (("simrank", 20.0), ("horn_index", 40.0)):
        (point,) = telemetry.metric_points(semconv.METRIC_COMPONENT_DURATION, **{semconv.COMPONENT: name})
        assert (point.count, point.sum) == (10, pytest.approx(ms / 100))
    assert not telemetry.metric_points(semconv.METRIC_COMPONENT_USES)
    monitor.flush()
    rows = monitor.get_dashboard_data()["components"]
    assert {n: (r["calls"], r["latency_mean_ms"]) for n, r in rows.items()} == {"simrank": (10, 20.0),
                                                                               "horn_index": (10, 40.0)}


def test_record_component_performance_never_raises_and_skips_bad_latencies(telemetry) -> None:
    """A non-finite or negative latency is not recorded (a warning says so); nothing escapes."""
    monitor = initialize_monitoring(config={"system_metrics": False}, start_background=False)
    monitor.record_component_performance("simrank", float("nan"))
    monitor.record_component_performance("simrank", -3)
    monitor.record_component_performance("simrank", "fast")  # type: ignore[arg-type]
    monitor.record_component_performance("simrank", 4.0, success=False)
    assert telemetry.histogram_count(semconv.METRIC_COMPONENT_DURATION, **{semconv.COMPONENT: "simrank"}) == 1
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.COMPONENT: "simrank",
                                                          semconv.ERROR_TYPE: "_OTHER"}) == 1


_INTEGRATION_GUIDE = '''
# --- Steps 1-4 of the seed's integration guide, as written (import paths changed) -------------------
from heritage_otel.monitoring import initialize_monitoring

monitor = initialize_monitoring(config={
    'retention_minutes': 60,
    'anomaly_sensitivity': 3.0,
    'thresholds': {
        'query_latency_p95': {'max': 2000, 'warning': 1800, 'critical': 3000},
        'ndcg_at_10': {'min': 0.6, 'warning': 0.65, 'critical': 0.5}
    }
}, start_background=True)

from heritage_otel.logs import QueryLogger, SystemLogger, PerformanceLogger

query_logger = QueryLogger()
system_logger = SystemLogger()
perf_logger = PerformanceLogger()

from heritage_otel.error_handler import ErrorHandler, FallbackChain, InputValidator, OutputValidator

error_handler = ErrorHandler()
input_validator = InputValidator()
output_validator = OutputValidator()

# the user's own pieces the guide leaves to them
import itertools
_ids = itertools.count()
def generate_query_id():
    return f"q_{next(_ids):05d}"
def compute_recommendations(query_text, top_k):
    if "broken" in query_text:
        raise RuntimeError("index offline")
    return [{"doc_id": f"d{i}", "score": 1.0 - i / 100} for i in range(top_k)]
def evaluate_ndcg(results):
    return 0.75

from heritage_otel.monitoring import get_monitor
from heritage_otel.logs import QueryLogger, PerformanceLogger
from heritage_otel.error_handler import ErrorHandler

monitor = get_monitor()
query_logger = QueryLogger()
perf_logger = PerformanceLogger()
error_handler = ErrorHandler()

@error_handler.handle_errors("recommender", fallback_value=[])
def get_recommendations(query_text, top_k=10):
    # Validate input
    input_validator.validate_query_text(query_text)
    input_validator.validate_top_k(top_k)

    query_id = generate_query_id()

    # Time the operation
    with perf_logger.time_operation("full_recommendation"):
        # Your recommendation logic
        results = compute_recommendations(query_text, top_k)

        # Validate output
        output_validator.validate_recommendations(results)

    # Record metrics
    latency_ms = perf_logger.get_last_duration()
    ndcg = evaluate_ndcg(results)

    monitor.record_query(
        query_id=query_id,
        latency_ms=latency_ms,
        num_results=len(results),
        ndcg=ndcg,
        components_used=['simrank', 'horn_index', 'embedding']
    )

    # Log query
    query_logger.log_query(
        query_id=query_id,
        query_text=query_text,
        results=results,
        latency_ms=latency_ms,
        components_used=['simrank', 'horn_index', 'embedding']
    )

    return results

# --- a short run: 30 good queries, 3 failing, 1 invalid -------------------------------------------
import json
for i in range(30):
    assert len(get_recommendations(f"temple architecture {i}", top_k=5)) == 5
for i in range(3):
    assert get_recommendations(f"broken query {i}") == []
assert get_recommendations("", top_k=5) == []   # invalid input: handled, logged, counted
monitor.flush()
print(json.dumps({"stats": monitor.metrics.get_stats("query_latency"),
                  "indicators": monitor.get_dashboard_data()["indicators"],
                  "health": monitor.get_system_health(),
                  "alerts": sorted((a.metric_name, a.level.name) for a in monitor.alerts.get_active_alerts()),
                  "percentiles": perf_logger.get_percentiles("full_recommendation")}))
'''


def test_integration_guide_steps_1_to_4_run_as_written(tmp_path) -> None:
    """The guide's steps in a fresh process with no configure(): queries recorded, the seed's log files
    written under ./logs, and the handled errors visible to the monitor."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HERITAGE_OTEL_"))}
    out = subprocess.run([sys.executable, "-c", _INTEGRATION_GUIDE], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "shutdown can only be called once" not in out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["stats"]["count"] == 30
    assert set(result["percentiles"]) == {"p50", "p95", "p99"}
    assert result["indicators"]["component_error_rate"] == pytest.approx(4 / 30)  # 3 failures + 1 invalid input
    # the guide's record_query gives no outcome: its error rate is the handled errors per query, as the seed's
    assert result["indicators"]["error_rate"] == pytest.approx(4 / 30)
    assert ["error_rate", "CRITICAL"] in result["alerts"]
    assert result["health"]["status"] != "healthy" and any("error_rate" in i for i in result["health"]["issues"])
    queries = [json.loads(x) for x in (tmp_path / "logs" / "queries.log").read_text().splitlines()]
    assert len(queries) == 30 and queries[0]["query_id"] == "q_00000"
    assert "temple architecture" not in (tmp_path / "logs" / "queries.log").read_text()
    perf = [json.loads(x) for x in (tmp_path / "logs" / "performance.log").read_text().splitlines()]
    assert sum(p["operation"] == "full_recommendation" for p in perf) == 33
    assert (tmp_path / "logs" / "alerts.jsonl").parent.is_dir()


_FOREIGN_SDK = """
import json, logging
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
reader = InMemoryMetricReader()
trace.set_tracer_provider(TracerProvider())
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
logging.basicConfig(level=logging.WARNING)
from heritage_otel.monitoring import initialize_monitoring
monitor = initialize_monitoring(config={"alert_log_path": None}, start_background=False)
for i in range(5):
    monitor.record_query(f"q{i}", latency_ms=100, num_results=10)
monitor.flush()
names = {m.name for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
print(json.dumps({"listening": monitor.listening, "theirs": "heritage.queries" in names,
                  "ours": monitor.get_dashboard_data()["indicators"].get("throughput_qps", 0) > 0}))
"""


def test_with_a_foreign_sdk_the_monitor_records_on_both_and_warns(tmp_path) -> None:
    """Global providers set by someone else first: record_query reaches their pipeline and the monitor's
    Analyzer, and a warning says what the monitor cannot see."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HERITAGE_OTEL_"))}
    out = subprocess.run([sys.executable, "-c", _FOREIGN_SDK], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"listening": False, "theirs": True, "ours": True}
    assert "another OpenTelemetry SDK owns the global providers" in out.stderr


def test_record_metric_of_a_seed_name_records_our_instrument(telemetry) -> None:
    """metrics.record_metric('query_latency', ms) keeps the raw ms and records heritage.query.duration in s."""
    monitor = initialize_monitoring(start_background=False)
    monitor.metrics.record_metric("query_latency", 250.0)
    assert monitor.metrics.get_recent_values("query_latency") == [250.0]
    (point,) = telemetry.metric_points(semconv.METRIC_QUERY_DURATION)
    assert point.count == 1 and point.sum == pytest.approx(0.25)


def test_check_anomalies_judges_each_series_in_its_bad_direction() -> None:
    """Latency that drops and quality that rises are good news: no anomaly alert for them."""
    monitor = initialize_monitoring(start_background=False)
    rng = np.random.default_rng(5)
    latencies = [float(v) for v in rng.normal(100, 5, 60)]
    quality = [float(v) for v in rng.normal(0.7, 0.01, 60)]
    latencies[40], quality[40] = 5.0, 0.99  # far faster, far better
    for i, (latency, ndcg) in enumerate(zip(latencies, quality, strict=True)):
        monitor.record_query(f"q{i}", latency_ms=latency, num_results=10, ndcg=ndcg)
    found = monitor.check_anomalies(lookback_minutes=60)
    assert not [a for a in found if a.metric_name in ("query_latency", "ndcg_at_10")], found
    for i in range(5):  # the same size of change the bad way is reported
        monitor.record_query(f"bad{i}", latency_ms=420.0 + i, num_results=10, ndcg=0.7)
    found = monitor.check_anomalies(lookback_minutes=60)
    assert {a.detector for a in found if a.metric_name == "query_latency"} == {"zscore", "mad"}
