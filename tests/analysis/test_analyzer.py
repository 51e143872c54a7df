"""Analyzer: thresholds on indicators, anomalies across many series at once, drift with learned and set references."""

from __future__ import annotations

import numpy as np
import pytest

from heritage_otel import semconv
from heritage_otel.analysis import (
    Analyzer,
    AlertLevel,
    MADDetector,
    SeriesKey,
    SeriesSnapshot,
    ZScoreDetector,
    psi_counts,
)
from heritage_otel.analysis.samples import KIND_SUM, IntervalSample
from heritage_otel.analysis.detectors import DEFAULT_DETECTOR

BOUNDS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
NS = 10**9


def latency_sample(t: int, counts, attrs=None) -> IntervalSample:
    counts = tuple(int(c) for c in counts)
    mids = (0.05, 0.2, 0.4, 0.8, 1.5, 3.0, 6.0)
    return IntervalSample.from_histogram(
        SeriesKey.of(semconv.METRIC_QUERY_DURATION, attrs, {"service.name": "svc"}),
        start_ns=(t - 10) * NS, end_ns=t * NS, bounds=BOUNDS, bucket_counts=counts,
        total=sum(c * m for c, m in zip(counts, mids, strict=True)), unit="s")


def counter(metric: str, t: int, value: float) -> IntervalSample:
    return IntervalSample(SeriesKey.of(metric, None, {"service.name": "svc"}), KIND_SUM, (t - 10) * NS, t * NS,
                          value, value)


def test_error_rate_threshold_uses_errors_over_queries() -> None:
    """error_rate = heritage.errors / heritage.queries per interval, judged with the seed's rule."""
    analyzer = Analyzer(interval_seconds=10)
    analyzer.ingest([counter(semconv.METRIC_QUERIES, 10, 100), counter(semconv.METRIC_ERRORS, 10, 3)])
    (f,) = [f for f in analyzer.evaluate().findings if f.metric == "error_rate"]
    assert f.level is AlertLevel.WARNING and f.value == pytest.approx(0.03) and f.threshold == 0.005
    assert dict(f.labels) == {"service.name": "svc"}
    analyzer.ingest([counter(semconv.METRIC_QUERIES, 20, 100), counter(semconv.METRIC_ERRORS, 20, 6)])
    (f,) = [f for f in analyzer.evaluate().findings if f.metric == "error_rate"]
    assert f.level is AlertLevel.CRITICAL


def test_min_rule_on_ndcg() -> None:
    """ndcg_at_10 below 0.65 is a WARNING, below 0.5 CRITICAL (seed rule)."""
    analyzer = Analyzer(interval_seconds=10)
    ub = tuple(round(i * 0.05, 2) for i in range(21))

    def ndcg(t, value):
        counts = [0] * 22
        counts[int(value / 0.05)] = 10
        return IntervalSample.from_histogram(SeriesKey.of(semconv.METRIC_NDCG_AT_10), start_ns=(t - 10) * NS,
                                             end_ns=t * NS, bounds=ub, bucket_counts=counts, total=10 * value)

    analyzer.ingest([ndcg(10, 0.62)])
    assert [f.level for f in analyzer.evaluate().findings] == [AlertLevel.WARNING]
    analyzer.ingest([ndcg(20, 0.42)])
    assert [f.level for f in analyzer.evaluate().findings] == [AlertLevel.CRITICAL]


def test_anomaly_scores_equal_single_series_detectors_for_every_row() -> None:
    """The vectorised evaluation flags exactly the rows the per-series detectors flag."""
    rng = np.random.default_rng(21)
    n_series, points = 300, 40
    data = rng.normal(100, 10, (n_series, points))
    spiky = rng.choice(n_series, 30, replace=False)
    data[spiky, -1] += rng.choice([-1, 1], 30) * 80
    keys = [SeriesKey.of("m", {"i": i}) for i in range(n_series)]
    analyzer = Analyzer(interval_seconds=1, window_points=points, thresholds={}, anomaly_detectors=("zscore", "mad"))
    for t in range(points):
        analyzer.ingest_values(keys, data[:, t], float(t))
    found = {(f.detector, dict(f.labels)["i"]) for f in analyzer.evaluate().findings}
    for det, name in ((ZScoreDetector(), "zscore"), (MADDetector(), "mad")):
        expected = {str(i) for i in range(n_series) if det.score([data[i, -1]], baseline=data[i, :-1])[1][0]}
        assert {i for d, i in found if d == name} == expected
        assert {str(i) for i in spiky} <= expected


def test_no_judgement_before_min_samples_and_for_stale_series() -> None:
    """Fewer than min_samples points, or a latest point older than stale_after, are not judged."""
    key = SeriesKey.of("m")
    analyzer = Analyzer(interval_seconds=1, window_points=30, min_samples=10, thresholds={}, anomaly_detectors=("zscore",))
    for t in range(9):
        analyzer.ingest_values([key], np.array([1.0 + 0.01 * t]), float(t))
    analyzer.ingest_values([key], np.array([50.0]), 9.0)
    evaluation = analyzer.evaluate()
    assert not evaluation.findings and not evaluation.judged("zscore", key)
    analyzer.ingest_values([key], np.array([60.0]), 10.0)
    assert analyzer.evaluate().judged("zscore", key)
    assert not analyzer.evaluate(now=100.0).judged("zscore", key)


def test_retention_drops_old_points_from_the_baseline() -> None:
    """Points older than retention_minutes are ignored even if still in the ring."""
    key = SeriesKey.of("m")
    analyzer = Analyzer(retention_minutes=1, interval_seconds=1, window_points=200, min_samples=5, thresholds={})
    for t in range(100):
        analyzer.ingest_values([key], np.array([float(t % 2)]), float(t))
    assert len(analyzer.recent_values(key, since=99 - 60)) == 61


def test_drift_learned_reference_psi_and_ks() -> None:
    """A learned reference, then a shifted latency distribution: PSI CRITICAL and KS findings."""
    analyzer = Analyzer(interval_seconds=10, drift_baseline_points=5, drift_window_points=3, drift_min_count=50,
                        anomaly_detectors=(), thresholds={})
    normal = [40, 40, 15, 5, 0, 0, 0]
    for t in range(1, 6):
        analyzer.ingest([latency_sample(10 * t, normal)])
    assert not [f for f in analyzer.evaluate().findings if f.detector in ("psi", "ks")]
    shifted = [5, 10, 25, 40, 20, 0, 0]
    for t in range(6, 9):
        analyzer.ingest([latency_sample(10 * t, shifted)])
    evaluation = analyzer.evaluate()
    by_detector = {f.detector: f for f in evaluation.findings}
    expected_psi = psi_counts(np.array(normal) * 5, np.array(shifted) * 3)
    assert by_detector["psi"].value == pytest.approx(expected_psi)
    assert by_detector["psi"].level is AlertLevel.CRITICAL
    assert by_detector["ks"].level is AlertLevel.WARNING
    assert evaluation.judged("psi", by_detector["psi"].series)


def test_drift_explicit_reference_from_raw_values() -> None:
    """set_reference with raw values bins them with the series' bounds (upper bound inclusive)."""
    analyzer = Analyzer(interval_seconds=10, drift_min_count=10, anomaly_detectors=(), thresholds={})
    analyzer.ingest([latency_sample(10, [0, 0, 0, 0, 0, 50, 0])])
    assert analyzer.set_reference(semconv.METRIC_QUERY_DURATION, [0.1] * 30 + [0.25] * 20) == 1
    (f,) = [f for f in analyzer.evaluate().findings if f.detector == "psi"]
    assert f.value == pytest.approx(psi_counts([30, 20, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 50, 0]))


def test_series_cap_drops_and_counts() -> None:
    """Beyond max_series new series are dropped and counted, existing ones keep working."""
    analyzer = Analyzer(max_series=3, thresholds={})
    analyzer.ingest_values([SeriesKey.of("m", {"i": i}) for i in range(5)], np.arange(5.0), 1.0)
    assert analyzer.stats()["series"] == 3 and analyzer.stats()["dropped_series"] == 2


def test_latest_indicators_for_health() -> None:
    """latest_indicators returns the seed-named rates of the newest interval."""
    analyzer = Analyzer(interval_seconds=10)
    analyzer.ingest([counter(semconv.METRIC_QUERIES, 10, 200), counter(semconv.METRIC_EMPTY_RESULTS, 10, 10),
                     latency_sample(10, [100, 0, 0, 0, 0, 0, 0])])
    ind = analyzer.latest_indicators()
    assert ind["empty_result_rate"] == pytest.approx(0.05)
    assert ind["throughput_qps"] == pytest.approx(20.0)
    assert ind["query_latency_p95"] == pytest.approx(95.0)  # 95 % of the way through (0, 100 ms]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"thresholds": {"p95 latency": {"max": 1}}}, "threshold rule 'p95 latency' is not valid; expected an indicator"),
        ({"thresholds": {"error_rate": {"max": 0.01, "critical": 0.001}}}, "key 'critical' = 0.001"),
        ({"thresholds": {"error_rate": {"limit": 1}}}, "key 'limit' = 1 is not valid; valid keys"),
        ({"thresholds": {"error_rate": {"max": 1, "min": 0}}}, "exactly one of 'max' or 'min'"),
        ({"sensitivity": -1}, "sensitivity = -1"),
        ({"anomaly_detectors": ("iforest",)}, "anomaly_detectors"),
        ({"psi_critical": 0.05}, "psi_critical = 0.05"),
    ],
)
def test_bad_configuration_fails_fast(kwargs, needle) -> None:
    """Bad configuration raises ValueError naming the rule or setting, the value and what is valid."""
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        Analyzer(**kwargs)


def test_thresholds_still_judged_after_many_new_plain_series() -> None:
    """New non-indicator series arriving later do not hide the indicator rules."""
    analyzer = Analyzer(interval_seconds=10)
    analyzer.ingest([counter(semconv.METRIC_QUERIES, 10, 100), counter(semconv.METRIC_ERRORS, 10, 3)])
    analyzer.ingest([IntervalSample(SeriesKey.of("other", {"i": i}), KIND_SUM, 0, 11 * NS, 1.0, 1.0)
                     for i in range(200)])
    assert [f.metric for f in analyzer.evaluate().findings if f.detector == "threshold"] == ["error_rate"]


def _feed(analyzer: Analyzer, keys: list, data: np.ndarray, evaluate_each: bool = True) -> list:
    evaluations = []
    for t in range(data.shape[1]):
        analyzer.ingest_values(keys, data[:, t], float(t))
        if evaluate_each:
            evaluations.append(analyzer.evaluate())
    return evaluations


def test_default_detector_runs_through_the_registry_and_flags_onsets_once() -> None:
    """With no configuration the Analyzer runs DEFAULT_DETECTOR; a lasting shift is one finding, at its onset."""
    from heritage_otel.analysis.detectors import DETECTORS

    rng = np.random.default_rng(31)
    data = rng.normal(100, 3, (3, 400))
    data[1, 300:] += 60  # row 1 shifts for good at t = 300
    keys = [SeriesKey.of("m", {"i": i}) for i in range(3)]
    analyzer = Analyzer(interval_seconds=1, thresholds={})
    evaluations = _feed(analyzer, keys, data)
    found = [(t, f.detector, dict(f.labels)["i"]) for t, e in enumerate(evaluations) for f in e.findings]
    assert found == [(300, DEFAULT_DETECTOR, "1")]
    assert DETECTORS[DEFAULT_DETECTOR].score_name in evaluations[300].findings[0].message
    assert evaluations[300].judged(DEFAULT_DETECTOR, keys[0])


def test_streaming_state_is_fed_each_point_once() -> None:
    """Evaluating twice without new data does not feed the point again (and judges nothing the second time)."""
    rng = np.random.default_rng(32)
    key = SeriesKey.of("m")
    analyzer = Analyzer(interval_seconds=1, thresholds={})
    _feed(analyzer, [key], rng.normal(10, 1, (1, 300)))
    analyzer.ingest_values([key], np.array([40.0]), 300.0)
    first = analyzer.evaluate()
    second = analyzer.evaluate()
    assert [f.detector for f in first.findings] == [DEFAULT_DETECTOR]
    assert second.findings == () and not second.judged(DEFAULT_DETECTOR, key)


def test_metric_detectors_choose_detectors_and_direction_per_metric() -> None:
    """metric_detectors picks detectors per metric; direction 'up' ignores a drop that 'both' flags."""
    rng = np.random.default_rng(33)
    data = rng.normal(500, 10, (3, 300))
    data[:, -1] = 300.0  # every series drops
    keys = [SeriesKey.of("latency"), SeriesKey.of("quality"), SeriesKey.of("other")]
    analyzer = Analyzer(interval_seconds=1, thresholds={}, metric_detectors={
        "latency": [{"name": "adaptive", "direction": "up"}], "quality": ["mad", {"name": "adaptive"}]})
    evaluations = _feed(analyzer, keys, data)
    found = {(f.metric, f.detector) for f in evaluations[-1].findings}
    assert found == {("quality", "mad"), ("quality", "adaptive"), ("other", DEFAULT_DETECTOR)}
    assert not evaluations[-1].judged("mad", keys[2])


def test_bad_detector_configuration_fails_at_start_naming_the_setting() -> None:
    """An unknown detector or setting in anomaly_detectors/metric_detectors raises ValueError at construction."""
    with pytest.raises(ValueError, match="metric_detectors\\['latency'\\].*valid detectors"):
        Analyzer(metric_detectors={"latency": ["iforest"]})
    with pytest.raises(ValueError, match="anomaly_detectors.*warmup = 0"):
        Analyzer(anomaly_detectors=[{"name": "adaptive", "warmup": 0}])
    with pytest.raises(ValueError, match="sensitivity = -1"):
        Analyzer(sensitivity=-1)


def test_adaptive_episode_is_not_rejudged_while_it_lasts() -> None:
    """After an onset flag, the series is not judged while still beyond the sensitivity (the alert stays up),
    and is judged again once the shift is the new normal."""
    rng = np.random.default_rng(34)
    key = SeriesKey.of("m")
    data = rng.normal(100, 2, (1, 500))
    data[0, 300:] += 40
    analyzer = Analyzer(interval_seconds=1, thresholds={})
    evaluations = _feed(analyzer, [key], data)
    assert [t for t, e in enumerate(evaluations) if e.findings] == [300]
    judged = [e.judged(DEFAULT_DETECTOR, key) for e in evaluations]
    assert not judged[301]  # the shift is still beyond the sensitivity
    assert all(judged[380:])  # adopted as the new normal after the hold


def test_public_read_api_snapshot_points_and_indicators() -> None:
    """snapshot() gives each series' latest point and exemplars, points() its history since a time (ring order
    undone), latest_indicators() the fresh indicators; nothing needs the (private) windows."""
    analyzer = Analyzer(interval_seconds=10, window_points=4, min_samples=2, thresholds={})
    key = SeriesKey.of("heritage.queries", {}, {"service.name": "rec"})
    for t in range(1, 7):  # six points into a four-slot ring: it wraps
        analyzer.ingest([IntervalSample(key, KIND_SUM, (t - 1) * 10**10, t * 10**10, float(t), float(t),
                                        exemplar_trace_ids=(f"{t:032x}",), exemplar_span_ids=("1" * 16,),
                                        exemplar_values=(float(t),))])
    [latest] = analyzer.snapshot("heritage.queries")
    assert isinstance(latest, SeriesSnapshot) and not latest.indicator
    assert (latest.value, latest.time, latest.exemplars[0][0]) == (6.0, 60.0, f"{6:032x}")
    times, values = analyzer.points(key, since=35.0)
    assert times.tolist() == [40.0, 50.0, 60.0] and values.tolist() == [4.0, 5.0, 6.0]
    assert analyzer.points(SeriesKey.of("unknown"))[0].size == 0
    throughput = [s for s in analyzer.snapshot() if s.series.metric == "throughput_qps"]
    assert throughput and throughput[0].indicator
    assert analyzer.latest_indicators()["throughput_qps"] == pytest.approx(0.6)
    assert not hasattr(analyzer, "windows")


def test_idle_series_are_evicted_for_new_ones_with_fresh_detector_state() -> None:
    """A full Analyzer with series_idle_s reuses idle rows: the new series is kept, the idle one is gone."""
    analyzer = Analyzer(max_series=2, series_idle_s=60.0, thresholds={})
    junk = [SeriesKey.of("junk", {"i": i}) for i in range(2)]
    analyzer.ingest_values(junk, np.array([1.0, 2.0]), 0.0)
    real = SeriesKey.of("real")
    analyzer.ingest_values([real], np.array([3.0]), 30.0)
    assert real not in analyzer.series() and analyzer.stats()["dropped_series"] == 1
    analyzer.ingest_values([real], np.array([3.0]), 61.0)
    assert real in analyzer.series() and analyzer.stats()["evicted_series"] == 1
    assert analyzer.points(real)[1].tolist() == [3.0] and analyzer.stats()["series"] == 2


def test_drift_windows_stay_within_the_bucket_cell_budget() -> None:
    """Histogram series beyond max_bucket_cells keep their value window but get no drift window (counted)."""
    analyzer = Analyzer(max_bucket_cells=2 * (len(BOUNDS) + 1), anomaly_detectors=(), thresholds={})
    analyzer.ingest([latency_sample(10, [1] * 7, {"i": i}) for i in range(5)])
    stats = analyzer.stats()
    assert (stats["histogram_series"], stats["bucket_cells"], stats["drift_refused"]) == (2, 14, 3)
    assert stats["series"] >= 5  # every series keeps its p95 window


def test_forget_frees_windows_and_drift_cells() -> None:
    """forget() drops a series' window and drift rows; the budget counts the cells free again."""
    analyzer = Analyzer(anomaly_detectors=(), thresholds={})
    sample = latency_sample(10, [1] * 7)
    analyzer.ingest([sample])
    assert analyzer.forget([sample.series]) == 1
    assert sample.series not in analyzer.series() and analyzer.stats()["bucket_cells"] == 0
