"""The alert policy through the public API: Analyzer -> AlertManager.observe, asserting on the alerts kept."""

from __future__ import annotations

import numpy as np
import pytest

from heritage_otel.analysis import AlertManager, Analyzer, AnalyzerConfig
from heritage_otel.analysis.findings import AlertLevel, Evaluation, Finding
from heritage_otel.analysis.policy import AlertPolicy, PolicySettings
from heritage_otel.analysis.samples import SeriesKey

LATENCY = SeriesKey.of("query_latency_p95")
RAW = SeriesKey.of("heritage.query.duration")
COUNT = SeriesKey.of("query_count")
QPS = SeriesKey.of("throughput_qps")
#: A detector that flags every anomalous point (the policy's own tests); the adaptive one is tested below.
DETECTORS = ("mad", "zscore")


class Run:
    """An Analyzer and an AlertManager fed one interval at a time (1 s intervals)."""

    def __init__(self, **config) -> None:
        config.setdefault("anomaly_detectors", DETECTORS)
        self.analyzer = Analyzer(AnalyzerConfig(interval_seconds=1.0, **config))
        self.manager = AlertManager(clock=lambda: self.t)
        self.rng = np.random.default_rng(3)
        self.t = 0.0

    def step(self, latency_ms: float | None = None, count: float = 50.0, qps: float | None = None) -> list:
        self.t += 1.0
        keys, values = [COUNT], [count]
        if latency_ms is None:
            latency_ms = 100.0 + float(self.rng.normal(0, 3))
        keys += [LATENCY, RAW]
        values += [latency_ms, latency_ms / 1000.0]
        keys.append(QPS)
        values.append(count + float(self.rng.normal(0, 1)) if qps is None else qps)
        self.analyzer.ingest_values(keys, np.array(values), self.t)
        return self.manager.observe(self.analyzer.evaluate(), self.t)

    def baseline(self, n: int = 20) -> None:
        for _ in range(n):
            assert self.step() == []

    def active(self) -> list[tuple[str, str]]:
        return sorted((a.metric, a.detector) for a in self.manager.get_active_alerts())

    def close(self) -> None:
        assert self.manager.shutdown(5.0)


@pytest.fixture
def run():
    r = Run()
    yield r
    r.close()


def test_one_interval_spike_never_pages(run) -> None:
    """A single bad interval (a GC pause, a noisy neighbour) is flagged by the detectors, not alerted."""
    run.baseline()
    assert run.step(latency_ms=900.0) == []
    for _ in range(5):
        assert run.step() == []
    assert run.manager.incident_history() == []


def test_lasting_rise_fires_one_alert_for_indicator_raw_metric_and_both_detectors(run) -> None:
    """z-score and MAD on the indicator and on its raw metric are one signal: one alert, one incident."""
    run.baseline()
    assert run.step(latency_ms=400.0) == []
    (note,) = run.step(latency_ms=410.0)  # for_intervals = 2
    assert (note.event, note.state, note.incident) == ("fired", "firing", note.id)
    assert run.active() == [("query_latency_p95", "mad")] or run.active() == [("query_latency_p95", "zscore")]
    assert [m["signal"] for m in note.members] == ["query_latency"]


def test_latency_going_down_never_pages(run) -> None:
    """An anomaly in the good direction is not an alert, however long it lasts."""
    run.baseline()
    for _ in range(10):
        assert run.step(latency_ms=20.0) == []
    assert run.active() == []


def test_small_effect_never_pages(run) -> None:
    """A statistically clear but small rise (under the 20 ms / 50 % effect size) is not an alert."""
    run.baseline()
    for _ in range(10):
        assert run.step(latency_ms=115.0) == []


def test_few_samples_are_not_judged_as_a_collapse(run) -> None:
    """Intervals with fewer queries than min_count (a partial last export, a quiet night) judge nothing;
    throughput judged against a baseline that had enough queries still sees a lasting drop."""
    run.baseline()
    for _ in range(4):  # partial/low-traffic intervals: latency of 3 queries is not judged
        assert run.step(latency_ms=900.0, count=3.0, qps=50.0) == []
    assert run.active() == []


def test_traffic_drop_pages_and_traffic_rise_does_not(run) -> None:
    """Throughput down by more than half for 2 intervals is an incident; up is never one."""
    run.baseline()
    for _ in range(4):
        assert run.step(qps=200.0) == []
    for _ in range(4):
        run.step()
    notes = [run.step(qps=10.0) for _ in range(2)]
    assert [n.event for batch in notes for n in batch] == ["fired"]
    assert run.active() == [("throughput_qps", "mad")] or run.active() == [("throughput_qps", "zscore")]


def test_cold_start_is_not_judged() -> None:
    """A series with fewer points than cold_start_intervals is never judged, even by a threshold rule."""
    r = Run(thresholds={"query_latency_p95": {"max": 200}}, alert_policy={"default": {"cold_start_intervals": 4}})
    try:
        assert r.step(latency_ms=900.0) == [] and r.step(latency_ms=900.0) == [] and r.step(latency_ms=900.0) == []
        assert [n.event for n in r.step(latency_ms=900.0)] == []  # 4th point: judged, streak 1
        assert [n.event for n in r.step(latency_ms=900.0)] == ["fired"]
    finally:
        r.close()


def test_threshold_inhibits_anomaly_and_hysteresis_then_resolve(run) -> None:
    """A threshold finding replaces the anomaly alert of its signal; the alert resolves at the first clear interval."""
    run.baseline()
    run.step(latency_ms=2500.0)
    (note,) = run.step(latency_ms=2600.0)
    assert run.active() == [("query_latency_p95", "threshold")]  # default rule: max 2000 ms
    assert note.level is AlertLevel.WARNING
    (up,) = run.step(latency_ms=3500.0)  # past critical 3000: escalated
    assert (up.event, up.level, up.id) == ("updated", AlertLevel.CRITICAL, note.id)
    (end,) = run.step()  # resolve_after = 1: the first clear interval
    assert (end.event, end.state, end.id) == ("resolved", "resolved", note.id)
    assert run.active() == []


def test_anomaly_stays_up_while_above_hysteresis() -> None:
    """Once firing, an anomaly stays up while the value is still half the required effect away."""
    r = Run()
    try:
        r.baseline()
        r.step(latency_ms=400.0)
        r.step(latency_ms=400.0)
        for _ in range(4):  # 140 ms: +40 ms >= 0.5 x the required 50 ms: holds, though no detector may flag it
            assert r.step(latency_ms=140.0) == []
        assert r.active()
        notes = [n for _ in range(2) for n in r.step()]
        assert [n.event for n in notes] == ["resolved"]
    finally:
        r.close()


def test_any_detector_name_is_an_anomaly_detector() -> None:
    """The policy does not depend on which detector produced a finding (a new one from the registry)."""
    analyzer = Analyzer(interval_seconds=1.0)
    policy = AlertPolicy(analyzer)
    rng = np.random.default_rng(0)
    for t in range(1, 21):
        analyzer.ingest_values([LATENCY, COUNT], np.array([100 + rng.normal(0, 2), 50.0]), float(t))
    passed = []
    for t in (21, 22):
        analyzer.ingest_values([LATENCY, COUNT], np.array([20.0, 50.0]), float(t))  # down: good
        f = Finding("query_latency_p95", "iforest", (), AlertLevel.CRITICAL, 20.0, 90.0, "odd", series=LATENCY)
        passed.append(policy.apply(Evaluation(float(t), (f,))).findings)
    assert passed == [(), ()]
    for t in (23, 24):
        analyzer.ingest_values([LATENCY, COUNT], np.array([400.0, 50.0]), float(t))
        f = Finding("query_latency_p95", "iforest", (), AlertLevel.CRITICAL, 400.0, 110.0, "odd", series=LATENCY)
        passed.append(policy.apply(Evaluation(float(t), (f,))).findings)
    assert [len(p) for p in passed] == [0, 0, 0, 1]
    assert passed[-1][0].detector == "iforest"


def test_settings_per_metric_and_signal_from_the_config() -> None:
    """alert_policy overrides the table's defaults: default, then signal, then metric."""
    policy = {"default": {"for_intervals": 3}, "query_latency": {"min_absolute_effect": 50},
              "query_latency_p99": {"min_absolute_effect": 80}}
    assert PolicySettings.resolve("query_latency_p95", policy).for_intervals == 3
    assert PolicySettings.resolve("query_latency_p95", policy).min_absolute_effect == 50
    assert PolicySettings.resolve("query_latency_p99", policy).min_absolute_effect == 80
    assert PolicySettings.resolve("error_rate", policy).min_absolute_effect == 0.1
    assert PolicySettings.resolve("my.metric").pages is False  # unknown metrics never page by themselves


@pytest.mark.parametrize(
    ("policy", "needle"),
    [
        ({"default": {"for": 3}}, "setting 'for' is not valid; valid settings: for_intervals"),
        ({"error_rate": {"hysteresis": 2}}, "alert_policy['error_rate']: hysteresis = 2 is not valid"),
        ({"error_rate": 3}, "alert_policy['error_rate'] = 3 is not valid; expected a mapping"),
        ([], "alert_policy = [] is not valid"),
    ],
)
def test_bad_policy_fails_at_start_up(policy, needle) -> None:
    """A bad alert_policy fails when the AnalyzerConfig is built, naming the key, setting and value."""
    with pytest.raises(ValueError) as info:
        AnalyzerConfig(alert_policy=policy)
    assert needle in str(info.value)


def test_tail_only_latency_is_not_confirmed_by_the_median() -> None:
    """A host stall slows the few queries in flight: p95 up, p50 steady, no alert; a slower component slows
    every query: p95 and p50 up, an alert."""
    p50 = SeriesKey.of("query_latency_p50")
    analyzer = Analyzer(interval_seconds=1.0, anomaly_detectors=DETECTORS)
    manager = AlertManager(clock=lambda: 0.0)
    rng = np.random.default_rng(5)
    try:
        def step(t: int, p95: float, median: float) -> list:
            analyzer.ingest_values([LATENCY, p50, COUNT], np.array([p95 + rng.normal(0, 2), median, 50.0]), float(t))
            return manager.observe(analyzer.evaluate(), float(t))

        for t in range(1, 21):
            assert step(t, 100.0, 30.0 + rng.normal(0, 1)) == []
        for t in range(21, 25):  # tail only
            assert step(t, 400.0, 31.0) == []
        for t in range(25, 30):
            step(t, 100.0, 30.0)
        notes = [n for t in (30, 31) for n in step(t, 400.0, 95.0)]
        assert [n.event for n in notes] == ["fired"]
    finally:
        assert manager.shutdown(5.0)


def test_analyzer_serve_refuses_a_bad_policy_in_its_config_file(tmp_path) -> None:
    """`heritage-otel analyzer serve --config` with a bad alert_policy exits at start-up naming the setting."""
    from click.testing import CliRunner

    from heritage_otel.cli.analyzer import analyzer

    path = tmp_path / "analyzer.yaml"
    path.write_text("alert_policy:\n  query_latency: {min_absolute_effect: -5}\n")
    result = CliRunner().invoke(analyzer, ["serve", "--port", "0", "--config", str(path)])
    assert result.exit_code == 2
    assert "alert_policy['query_latency']: min_absolute_effect = -5 is not valid" in result.output


def test_partial_first_interval_counts_toward_persistence() -> None:
    """A fault that began late in an interval moved that interval's mean by a fraction (under the detector's
    bar, over half the effect size): with the next, full interval the signal has its two intervals and fires."""
    ndcg = SeriesKey.of("ndcg_at_10")
    analyzer = Analyzer(interval_seconds=1.0, thresholds={}, anomaly_detectors=DETECTORS)
    manager = AlertManager(clock=lambda: 0.0)
    rng = np.random.default_rng(8)
    try:
        def step(t: int, value: float) -> list:
            analyzer.ingest_values([ndcg, COUNT], np.array([value, 50.0]), float(t))
            return manager.observe(analyzer.evaluate(), float(t))

        for t in range(1, 21):
            assert step(t, 0.8 + rng.normal(0, 0.03)) == []
        assert step(21, 0.725) == []  # partial: -0.075, under 3 robust sigmas, over half of max(0.1, 0.12)
        assert [n.event for n in step(22, 0.5)] == ["fired"]
    finally:
        assert manager.shutdown(5.0)


@pytest.mark.parametrize("detector", [{"name": "adaptive", "warmup": 15}, "mad", "zscore"])
def test_a_detector_that_flags_an_episode_once_still_pages_it_once_and_resolves(detector) -> None:
    """The adaptive detector flags a level shift at its onset only, then holds: the policy follows the value
    (persistence, hysteresis), so the lasting rise fires once and resolves once whichever detector saw it."""
    r = Run(anomaly_detectors=(detector,))
    try:
        r.baseline(30)
        notes = [n for _ in range(8) for n in r.step(latency_ms=400.0 + float(r.rng.normal(0, 3)))]
        notes += [n for _ in range(4) for n in r.step()]
        assert [n.event for n in notes] == ["fired", "resolved"]
    finally:
        r.close()


def test_a_rate_that_was_always_zero_pages_from_the_first_partial_interval() -> None:
    """Fallbacks at exactly 0 for the whole history: 0.6 in a fault's partial interval (under the detectors'
    scale floor) and 1.0 in the next fire at once; a single failure in 20 queries (0.05) never does."""
    fallbacks = SeriesKey.of("fallback_rate")
    r = Run()
    try:
        def step(value: float) -> list:
            r.t += 1
            r.analyzer.ingest_values([fallbacks, COUNT], np.array([value, 20.0]), r.t)
            return r.manager.observe(r.analyzer.evaluate(), r.t)

        for _ in range(20):
            assert step(0.0) == []
        assert step(0.05) == [] and step(0.05) == [] and step(0.0) == []
        assert step(0.6) == []
        (note,) = step(1.0)
        assert note.event == "fired" and note.members[0]["metric"] == "fallback_rate"
    finally:
        r.close()
