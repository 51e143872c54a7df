"""The seed-compatible facade: its usage examples and integration guide run as written (import paths aside)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from heritage_otel import semconv
from heritage_otel.monitoring import get_monitor, initialize_monitoring, shutdown_monitoring


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
    assert monitor.get_dashboard_data()["components"] == {"simrank": 5}


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
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # --- Example 4 (webhook_url pointed at the local server) ---
        from heritage_otel.monitoring import Alert, get_monitor
        import requests

        monitor = get_monitor()

        def slack_alert_handler(alert: Alert):
            """Send alert to Slack"""
            webhook_url = f"http://127.0.0.1:{server.server_address[1]}/services/YOUR/WEBHOOK/URL"

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
    finally:
        server.shutdown()
        server.server_close()
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
     ({"thresholds": {"error_rate": {"max": "x"}}}, "threshold rule 'error_rate': key 'max' = 'x'")],
)
def test_bad_config_fails_fast(config, needle) -> None:
    """Unknown keys and bad values fail at initialisation with the key, value and what is valid."""
    with pytest.raises(ValueError, match=needle):
        initialize_monitoring(config=config, start_background=False)
