"""AlertGate: persistence, effect size and direction between the Analyzer and the AlertManager."""

from __future__ import annotations

import numpy as np
import pytest

from heritage_otel.analysis import AlertManager, Analyzer, SeriesKey
from heritage_otel.analysis.findings import AlertLevel, Evaluation, Finding
from heritage_otel.demo.gate import AlertGate


@pytest.fixture()
def manager():
    m = AlertManager()
    yield m
    m.shutdown()


def _anomaly(series: SeriesKey, value: float) -> Finding:
    return Finding(series.metric, "mad", series.attributes, AlertLevel.CRITICAL, value, 0.0, "anomaly", series=series)


def _with_history(analyzer: Analyzer, series: SeriesKey, values: list[float]) -> None:
    for t, v in enumerate(values, start=1):
        analyzer.ingest_values([series], np.array([v]), float(t))


def test_a_finding_must_persist_for_the_configured_intervals(manager) -> None:
    """Two passes with the finding, one without, then three in a row: fires on the third of those."""
    gate = AlertGate(manager, Analyzer(), intervals=3)
    f = Finding("error_rate", "threshold", (), AlertLevel.CRITICAL, 0.5, 0.05, "high")
    fired = [bool(gate(Evaluation(float(t), (f,) if t != 3 else ()))) for t in range(1, 7)]
    assert fired == [False, False, False, False, False, True]
    assert [a.metric for a in manager.get_active_alerts()] == ["error_rate"]


def test_small_anomalies_are_dropped(manager) -> None:
    """A latency 5 % over its baseline median is not an incident; 3x is."""
    analyzer = Analyzer()
    series = SeriesKey.of("query_latency_p95")
    _with_history(analyzer, series, [10.0] * 12 + [10.5])
    gate = AlertGate(manager, analyzer, intervals=1)
    assert gate(Evaluation(13.0, (_anomaly(series, 10.5),))) == []
    _with_history(analyzer, series, [10.0] * 12 + [30.0])
    assert [a.metric for a in gate(Evaluation(26.0, (_anomaly(series, 30.0),)))] == ["query_latency_p95"]


def test_anomalies_in_the_good_direction_are_dropped(manager) -> None:
    """Latency falling and NDCG rising are not incidents; NDCG falling is."""
    analyzer = Analyzer()
    latency, ndcg = SeriesKey.of("query_latency_p95"), SeriesKey.of("ndcg_at_10")
    _with_history(analyzer, latency, [10.0] * 12 + [2.0])
    _with_history(analyzer, ndcg, [0.5] * 12 + [0.9])
    gate = AlertGate(manager, analyzer, intervals=1)
    assert gate(Evaluation(13.0, (_anomaly(latency, 2.0), _anomaly(ndcg, 0.9)))) == []
    _with_history(analyzer, ndcg, [0.5] * 12 + [0.2])
    assert [a.metric for a in gate(Evaluation(26.0, (_anomaly(ndcg, 0.2),)))] == ["ndcg_at_10"]


def test_resolution_passes_straight_through(manager) -> None:
    """An active alert whose series is judged clear resolves at once."""
    series = SeriesKey.of("error_rate")
    f = Finding("error_rate", "threshold", (), AlertLevel.CRITICAL, 0.5, 0.05, "high", series=series)
    gate = AlertGate(manager, Analyzer(), intervals=1)
    gate(Evaluation(1.0, (f,)))
    sent = gate(Evaluation(2.0, (), lambda detector, s: s == series))
    assert [(a.metric, a.state) for a in sent] == [("error_rate", "resolved")]


def test_invalid_settings_fail_fast(manager) -> None:
    """intervals < 1 or a negative minimum change is rejected with the setting named."""
    with pytest.raises(ValueError, match="intervals"):
        AlertGate(manager, Analyzer(), intervals=0)
    with pytest.raises(ValueError, match="min_relative_change"):
        AlertGate(manager, Analyzer(), min_relative_change=-1)


def test_a_firing_alert_stays_up_while_flagged_and_resolves_after_clear_passes(manager) -> None:
    """Once fired, a smaller but still flagged anomaly keeps it up; it resolves after two clear passes."""
    analyzer = Analyzer()
    series = SeriesKey.of("query_latency_p95")
    _with_history(analyzer, series, [10.0] * 12 + [30.0])
    gate = AlertGate(manager, analyzer, intervals=1, min_relative_change=1.0, resolve_after=2)
    judged = lambda detector, s: s == series  # noqa: E731
    assert gate(Evaluation(13.0, (_anomaly(series, 30.0),), judged))
    _with_history(analyzer, series, [12.0])
    assert gate(Evaluation(14.0, (_anomaly(series, 12.0),), judged)) == []  # still flagged: stays up
    assert gate(Evaluation(15.0, (), judged)) == []  # first clear pass: not yet
    assert manager.get_active_alerts()
    sent = gate(Evaluation(16.0, (), judged))
    assert [(a.metric, a.state) for a in sent] == [("query_latency_p95", "resolved")]


def test_drift_findings_outside_the_drift_metrics_are_dropped(manager) -> None:
    """With drift_metrics, a PSI/KS finding on another metric never fires; other detectors are untouched."""
    gate = AlertGate(manager, Analyzer(), intervals=1, drift_metrics=frozenset({"heritage.quality.ndcg_at_10"}))
    latency = Finding("heritage.query.duration", "ks", (), AlertLevel.WARNING, 0.41, 0.1, "drift")
    quality = Finding("heritage.quality.ndcg_at_10", "psi", (), AlertLevel.CRITICAL, 3.9, 2.0, "drift")
    threshold = Finding("fallback_rate", "threshold", (), AlertLevel.CRITICAL, 0.7, 0.5, "high")
    fired = gate(Evaluation(1.0, (latency, quality, threshold)))
    assert sorted((a.metric, a.detector) for a in fired) == [
        ("fallback_rate", "threshold"), ("heritage.quality.ndcg_at_10", "psi")
    ]
