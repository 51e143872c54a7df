"""Health score: formula on hand-computed cases, status bands, issues."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.analysis.health import compute_health


def alert(level: AlertLevel, metric: str = "m") -> SimpleNamespace:
    return SimpleNamespace(level=level, metric=metric, message=f"{metric} is off")


def test_all_within_budget_is_100_healthy() -> None:
    """No alert and every rate within budget: 100, healthy, no issue."""
    report = compute_health([], {"error_rate": 0.005, "fallback_rate": 0.05, "empty_result_rate": 0.01,
                                 "query_latency_p95": 900})
    assert (report.score, report.status, report.issues) == (100.0, "healthy", ())


def test_alert_penalties() -> None:
    """One CRITICAL (25) + one WARNING (10) = 65, degraded; both listed as issues."""
    report = compute_health([alert(AlertLevel.CRITICAL, "a"), alert(AlertLevel.WARNING, "b")], {})
    assert report.score == 65.0 and report.status == "degraded"
    assert report.issues == ("CRITICAL alert on a: a is off", "WARNING alert on b: b is off")


def test_rate_penalty_is_linear_between_budget_and_twice_budget() -> None:
    """error_rate at 1.5x its budget costs half its weight (10 of 20)."""
    assert compute_health([], {"error_rate": 0.015}).score == pytest.approx(90.0)


def test_budget_comes_from_threshold_rule() -> None:
    """The latency budget is the rule's max: 1000 ms here, so 1500 ms costs 10."""
    report = compute_health([], {"query_latency_p95": 1500}, {"query_latency_p95": {"max": 1000}})
    assert report.score == 90.0
    assert report.issues == ("query_latency_p95 1500 is over its budget 1000",)


def test_critical_band_and_clipping() -> None:
    """Many alerts and every rate far over budget: clipped at 0, critical."""
    report = compute_health([alert(AlertLevel.CRITICAL)] * 5, {"error_rate": 1, "fallback_rate": 1,
                                                               "empty_result_rate": 1, "query_latency_p95": 1e6})
    assert report.score == 0.0 and report.status == "critical"
    assert report.to_dict()["status"] == "critical"


def test_status_bands() -> None:
    """80 is healthy, 50 degraded, below 50 critical."""
    assert compute_health([alert(AlertLevel.WARNING)] * 2, {}).status == "healthy"  # 80
    assert compute_health([alert(AlertLevel.CRITICAL)] * 2, {}).status == "degraded"  # 50
    assert compute_health([alert(AlertLevel.CRITICAL)] * 2, {"error_rate": 0.011}).status == "critical"
