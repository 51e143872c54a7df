"""System health score 0-100 from active alerts and key rates.

Formula (documented here and in docs/analysis.md)::

    score = clip(100 - alert_penalty - rate_penalty, 0, 100)
    alert_penalty = min(75, sum over active alerts of {CRITICAL: 25, WARNING: 10, INFO: 2})
    rate_penalty  = sum over key rates k of  weight_k * clip(value_k / budget_k - 1, 0, 1)

A rate costs nothing within its budget and its full weight at twice the
budget. Key rates, weights and default budgets (a budget is taken from the
threshold rule's ``max`` when there is one):

=================  ======  ==============================
rate               weight  budget
=================  ======  ==============================
error_rate         20      0.01 (rule ``error_rate``)
fallback_rate      10      0.10
empty_result_rate  10      0.05
query_latency_p95  20      2000 ms (rule ``query_latency_p95``)
=================  ======  ==============================

Status: ``healthy`` when score >= 80, ``degraded`` when 50 <= score < 80,
``critical`` below 50. A condition can count twice (an active latency alert
and the latency rate); that is intended: it is both alerting and over budget.

>>> compute_health([], {"error_rate": 0.001}).status
'healthy'
>>> r = compute_health([], {"error_rate": 0.03, "query_latency_p95": 5000})
>>> r.score, r.status
(60.0, 'degraded')
>>> r.issues[0]
'error_rate 0.03 is over its budget 0.01'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.analysis.thresholds import ThresholdRules

__all__ = ["HealthReport", "compute_health", "RATE_WEIGHTS", "DEFAULT_BUDGETS", "ALERT_PENALTY"]

ALERT_PENALTY: Final = {AlertLevel.CRITICAL: 25.0, AlertLevel.WARNING: 10.0, AlertLevel.INFO: 2.0}
ALERT_PENALTY_CAP: Final = 75.0
RATE_WEIGHTS: Final = {"error_rate": 20.0, "fallback_rate": 10.0, "empty_result_rate": 10.0, "query_latency_p95": 20.0}
DEFAULT_BUDGETS: Final = {"error_rate": 0.01, "fallback_rate": 0.10, "empty_result_rate": 0.05, "query_latency_p95": 2000.0}


@dataclass(frozen=True)
class HealthReport:
    """Score 0-100, status (healthy/degraded/critical) and the issues that cost points."""

    score: float
    status: str
    issues: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The seed's ``system_health`` dict: score, status, issues."""
        return {"score": self.score, "status": self.status, "issues": list(self.issues)}


def _status(score: float) -> str:
    if score >= 80:
        return "healthy"
    if score >= 50:
        return "degraded"
    return "critical"


def compute_health(
    active_alerts: Iterable[Any],
    rates: Mapping[str, float],
    thresholds: ThresholdRules | Mapping[str, Mapping[str, float]] | None = None,
) -> HealthReport:
    """Health from active alerts (objects with ``level``, ``metric``, ``message``) and key rates."""
    rules = thresholds if isinstance(thresholds, ThresholdRules) else ThresholdRules(thresholds)
    issues: list[str] = []
    alert_penalty = 0.0
    for alert in active_alerts:
        alert_penalty += ALERT_PENALTY.get(AlertLevel(alert.level), 0.0)
        issues.append(f"{AlertLevel(alert.level).name} alert on {alert.metric}: {alert.message}")
    rate_penalty = 0.0
    rate_issues: list[str] = []
    for name, weight in RATE_WEIGHTS.items():
        value = rates.get(name)
        if value is None or value != value:  # absent or NaN
            continue
        rule = rules.get(name)
        budget = rule.limit if rule is not None and rule.upper else DEFAULT_BUDGETS[name]
        if budget <= 0:
            continue
        over = min(max(value / budget - 1.0, 0.0), 1.0)
        if value > budget:
            rate_penalty += weight * over
            rate_issues.append(f"{name} {value:.4g} is over its budget {budget:g}")
    score = round(min(max(100.0 - min(alert_penalty, ALERT_PENALTY_CAP) - rate_penalty, 0.0), 100.0), 1)
    return HealthReport(score, _status(score), tuple(rate_issues + issues))
