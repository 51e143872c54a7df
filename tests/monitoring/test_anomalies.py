"""monitoring.anomalies and check_anomalies: the detectors come from the analysis registry, by name."""

from __future__ import annotations

import numpy as np
import pytest

from heritage_otel.analysis.detectors import DEFAULT_DETECTOR
from heritage_otel.monitoring import initialize_monitoring, shutdown_monitoring
from heritage_otel.monitoring.anomalies import judge


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield
    shutdown_monitoring()


def _record(monitor, values) -> None:
    for i, v in enumerate(values):
        monitor.record_query(f"q{i}", latency_ms=float(v), num_results=10, ndcg=0.8)


def test_default_detectors_are_the_registry_default_and_the_seed_pair() -> None:
    monitor = initialize_monitoring(start_background=False)
    assert monitor.config["anomaly_detectors"] == tuple(dict.fromkeys((DEFAULT_DETECTOR, "zscore", "mad")))


def test_one_detector_selected_by_name_is_the_only_one_judging() -> None:
    monitor = initialize_monitoring(config={"anomaly_detectors": ["zscore"], "alert_log_path": None},
                                    start_background=False)
    values = list(np.random.default_rng(4).normal(100, 5, 60)) + [400.0]
    _record(monitor, values)
    found = monitor.check_anomalies(lookback_minutes=60)
    assert {(a.metric_name, a.detector) for a in found} == {("query_latency", "zscore")}
    assert found[0].current_value == 400.0


def test_unknown_detector_name_fails_at_start_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"anomaly_detectors' = 'iforest' is not valid; valid values: adaptive"):
        initialize_monitoring(config={"anomaly_detectors": ["iforest"]}, start_background=False)
    with pytest.raises(ValueError, match=r"anomaly_detectors' = 'mad' is not valid; expected a non-empty list"):
        initialize_monitoring(config={"anomaly_detectors": "mad"}, start_background=False)


def test_a_streaming_detector_reads_the_lookback_oldest_first() -> None:
    """The registry's adaptive detector flags the outlier after its warm-up, judged on what came before it."""
    values = np.r_[np.random.default_rng(0).normal(100, 5, 300), 160.0, 101.0]
    finding = judge("query_latency", values, "adaptive", labels=(), sensitivity=None, min_samples=10,
                    direction="up", critical_factor=2.0)
    assert finding is not None and finding.detector == "adaptive" and finding.value == 160.0
    assert "adaptive score" in finding.message
    assert judge("query_latency", values, "adaptive", labels=(), sensitivity=None, min_samples=10,
                 direction="down", critical_factor=2.0) is None
