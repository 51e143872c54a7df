"""The facade's ``slos`` setting: objectives tracked from record_query, bad documents refused at start-up."""

from __future__ import annotations

import pytest

from heritage_otel.monitoring import initialize_monitoring, shutdown_monitoring
from tests.analysis.slo.helpers import availability


@pytest.fixture(autouse=True)
def _closed():
    yield
    shutdown_monitoring()


def test_failed_queries_spend_the_budget_and_page(tmp_path) -> None:
    monitor = initialize_monitoring(config={"slos": [availability()], "service_name": "rec", "alert_log_path": None,
                                            "system_metrics": False}, start_background=False)
    for i in range(200):
        monitor.record_query(f"q{i}", latency_ms=20.0, num_results=10, success=i % 2 == 0)
    monitor.flush()
    [row] = monitor.analyzer.slos.status(monitor.analyzer.last_time)
    assert row["total"] == 200.0 and row["good"] == 100.0
    burning = [a for a in monitor.alerts.get_active_alerts() if a.detector == "burn_rate"]
    assert sorted((a.labels["burn_window"], a.level.name, a.labels["slo"]) for a in burning) == [
        ("1h", "CRITICAL", "availability"), ("3d", "WARNING", "availability"), ("6h", "CRITICAL", "availability")]


def test_a_bad_document_fails_at_start_naming_the_setting_and_field() -> None:
    with pytest.raises(ValueError, match=r"monitoring config 'slos': SLO 'availability': spec.objectives\[0\].target"):
        initialize_monitoring(config={"slos": [availability(objectives=[{"target": 2}])]}, start_background=False)
