"""The alert policy: which of the Analyzer's findings are worth a person's attention.

Detectors say "this series is unusual"; the policy decides whether that is an
alert. It is the last line of defence against noise and works the same
whichever detector produced a finding (any name other than ``threshold``,
``psi`` and ``ks`` is treated as an anomaly detector). Per evaluation:

- **signals**: findings are grouped per signal (the ``signal`` column of
  :mod:`heritage_otel.indicators`, per service, replica and component): an
  indicator and its raw metric, z-score and MAD, p95 and p99 are one signal;
- **what may page**: anomalies only on rows that page (rates, latencies,
  quality, throughput; not raw counters), drift only on rows with ``drift``
  (none by default) and a statistic of at least ``min_drift``, every
  threshold rule;
- **direction**: an anomaly in the good direction (latency down, quality up)
  is never an alert;
- **confirmation**: where the table names a ``confirm`` row (the query p95:
  its p50), that row must have moved too (by half its effect size);
- **effect size**: an anomaly must move the value away from its baseline
  (the window median before the streak began, then frozen) by at least
  ``max(min_absolute_effect, min_relative_effect x |baseline|)``;
- **minimum sample count**: an interval of a resource with fewer than
  ``min_count`` queries is not judged (a partial last export, a replica that
  just started, a quiet night); for traffic rows the baseline must reach it
  instead, since a low count is what they report; a latency threshold rule
  is judged at any count (a slow replica serving a closed loop of clients
  answers few queries, all slow);
- **cold start**: a series with fewer than ``cold_start_intervals`` points is
  not judged;
- **persistence**: a signal becomes an alert after ``for_intervals``
  consecutive intervals of data that were found (Prometheus' ``for``; an
  evaluation without a new point counts nothing), the latest with the full
  effect size, the earlier ones with at least ``hysteresis`` x it (the first
  interval of a fault is usually a partial one: it counts when its value moved
  that far, flagged by a detector or not);
- **inhibition**: a threshold finding on a signal replaces its anomaly
  findings (one alert per signal, at the highest level seen);
- **hysteresis**: a firing anomaly signal stays up while its value is at
  least ``hysteresis`` x the required effect away from the frozen baseline,
  and resolves after ``resolve_after`` consecutive intervals below that (a
  threshold signal: without its finding); a signal whose series stopped
  (no data for ``stale_after_intervals``) resolves.

Every setting has a default per table row and can be overridden per metric,
indicator or signal in ``AnalyzerConfig.alert_policy`` (and the YAML/JSON
config), e.g. ``{"default": {"for_intervals": 3}, "query_latency": {"min_absolute_effect": 50}}``:
its settings are :mod:`~heritage_otel.analysis.policy_settings` (validated at start-up), this module is the
state machine that applies them (:class:`AlertPolicy`), as a Collector processor has its config apart.

>>> from heritage_otel.analysis import Analyzer
>>> policy = AlertPolicy(Analyzer(alert_policy={"error_rate": {"for_intervals": 3}}))
>>> policy.settings("error_rate").for_intervals, policy.settings("query_latency_p95").for_intervals
(3, 2)
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from heritage_otel import semconv
from heritage_otel.analysis.findings import AlertLevel, Evaluation, Finding
from heritage_otel.analysis.samples import Labels, SeriesKey
from heritage_otel.analysis.policy_settings import (
    DRIFT_DETECTORS,
    THRESHOLD_DETECTOR,
    PolicySettings,
    signal_of,
    validate_policy,
)
from heritage_otel.indicators import TABLE, lookup

__all__ = ["AlertPolicy", "PolicySettings", "DRIFT_DETECTORS", "THRESHOLD_DETECTOR", "validate_policy",
           "signal_of"]

#: The indicator whose latest value is a resource's sample count for an interval.
COUNT_INDICATOR: Final = "query_count"
#: The policy's own anomaly finding: a rate whose whole history was one value moved by the effect size.
CONSTANT_DETECTOR: Final = "constant_baseline"
#: The rates (fractions where up is bad) the policy judges against a constant history itself.
_CONSTANT_ROWS: Final = {n: r for n, r in TABLE.items() if r.derived and r.unit == "1" and r.bad == "up"}


def _kind(detector: str) -> str:
    if detector == THRESHOLD_DETECTOR:
        return "threshold"
    return "drift" if detector in DRIFT_DETECTORS else "anomaly"


SignalKey = tuple[str, Labels]


@dataclass
class _Signal:
    """The state of one signal: its streak, whether it fires, its frozen baselines and representative."""

    streak: int = 0
    clear: int = 0
    firing: bool = False
    baselines: dict[SeriesKey, float] = field(default_factory=dict)
    rep: Finding | None = None
    level: AlertLevel = AlertLevel.WARNING
    since: float = math.nan
    series: set[SeriesKey] = field(default_factory=set)
    last_t: float = -math.inf
    candidate: Finding | None = None  # the anomaly finding that started the streak


def _rank(f: Finding) -> tuple[int, int, float]:
    """Representative order: threshold, then anomalies (indicators first, larger scores), then drift."""
    kind = _kind(f.detector)
    row = lookup(f.metric)
    derived = row is not None and row.derived
    order = {"threshold": 0, "anomaly": 1, "drift": 2}[kind]
    score = abs(f.score) if math.isfinite(f.score) else 0.0
    return (order, 0 if derived else 1, -score)


class AlertPolicy:
    """Turns each :class:`~heritage_otel.analysis.findings.Evaluation` into one finding per firing signal.

    ``analyzer`` supplies the windows (baselines, point counts, sample
    counts); ``policy`` is an ``alert_policy`` mapping (default: the
    analyzer's ``config.alert_policy``). :meth:`apply` returns an
    Evaluation the :class:`~heritage_otel.analysis.alerts.AlertManager`
    applies as it stands: its findings are the firing signals' representative
    findings (stable keys) and its ``judged`` is true for the series of a
    signal that resolved.
    """

    def __init__(self, analyzer: Any, policy: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        if policy is None:
            policy = getattr(analyzer.config, "alert_policy", None) or {}
        validate_policy(policy)
        self.analyzer = analyzer
        self.policy = dict(policy)
        self._settings: dict[str, PolicySettings] = {}
        self._signals: dict[SignalKey, _Signal] = {}
        self._lock = threading.Lock()

    # --- settings and keys ------------------------------------------------------
    def settings(self, metric: str) -> PolicySettings:
        """The resolved settings of ``metric`` (cached)."""
        found = self._settings.get(metric)
        if found is None:
            found = self._settings[metric] = PolicySettings.resolve(metric, self.policy)
        return found

    def _signal_key(self, finding: Finding) -> SignalKey:
        keep = set(self.analyzer.config.resource_label_keys) | {semconv.COMPONENT}
        return (signal_of(finding.metric), tuple((k, v) for k, v in finding.labels if k in keep))

    # --- reading the analyzer -------------------------------------------------
    def _values(self, series: SeriesKey | None) -> np.ndarray:
        if series is None:
            return np.empty(0)
        values = self.analyzer.recent_values(series, -math.inf)
        return values[np.isfinite(values)]

    def _count(self, series: SeriesKey) -> np.ndarray:
        return self._values(SeriesKey(COUNT_INDICATOR, (), series.resource))

    def _ready(self, finding: Finding, settings: PolicySettings) -> bool:
        """Cold start and the minimum sample count of the finding's interval (or baseline, for traffic)."""
        series = finding.series
        if series is None:
            return True
        if self._values(series).size < settings.cold_start_intervals:
            return False
        counts = self._count(series)
        if counts.size == 0 or settings.min_count == 0:
            return True  # not a recommender's resource: no sample count to judge
        row = lookup(finding.metric)
        if _kind(finding.detector) == "threshold" and row is not None and row.unit in ("ms", "s"):
            return True  # past an absolute latency limit is slow however few queries there were (a slow closed loop)
        if row is not None and row.volume:
            return counts.size > 1 and float(np.median(counts[:-1])) >= settings.min_count
        return float(counts[-1]) >= settings.min_count

    def _required(self, metric: str, baseline: float) -> float:
        s = self.settings(metric)
        return max(s.min_absolute_effect, s.min_relative_effect * abs(baseline))

    def _effect(self, metric: str, value: float, baseline: float) -> float:
        """How far ``value`` moved from ``baseline`` in the bad direction (negative: the good one)."""
        row = lookup(metric)
        bad = row.bad if row is not None else "both"
        delta = value - baseline
        return delta if bad == "up" else -delta if bad == "down" else abs(delta)

    def _size(self, finding: Finding, state: _Signal) -> int:
        """0: too small; 1: at least ``hysteresis`` x the effect size (continues or starts a streak, the way
        the first, partial interval of a fault does); 2: the full effect size (may fire)."""
        kind = _kind(finding.detector)
        settings = self.settings(finding.metric)
        if kind == "threshold":
            return 2
        if kind == "drift":
            return 2 if settings.drift and math.isfinite(finding.value) and finding.value >= settings.min_drift else 0
        if not settings.pages or finding.series is None:
            return 0
        baseline = state.baselines.get(finding.series)
        if baseline is None:
            history = self._values(finding.series)[:-1]
            if history.size == 0:
                return 0
            baseline = float(np.median(history))
        effect = self._effect(finding.metric, finding.value, baseline)
        required = self._required(finding.metric, baseline)
        if effect <= 0 or effect < settings.hysteresis * required or not self._confirmed(finding, state):
            return 0
        state.baselines.setdefault(finding.series, baseline)
        return 2 if effect >= required else 1

    def _confirmed(self, finding: Finding, state: _Signal) -> bool:
        """The row named in the ``confirm`` column moved too (by half its effect size), when it has data."""
        row = lookup(finding.metric)
        if row is None or row.confirm is None or finding.series is None:
            return True
        other = SeriesKey(row.confirm, finding.series.attributes, finding.series.resource)
        values = self._values(other)
        if values.size < 2:
            return True
        baseline = state.baselines.get(other)
        if baseline is None:
            baseline = float(np.median(values[:-1]))
        effect = self._effect(row.confirm, float(values[-1]), baseline)
        if effect <= 0 or effect < self.settings(row.confirm).hysteresis * self._required(row.confirm, baseline):
            return False
        state.baselines.setdefault(other, baseline)
        return True

    def _holds(self, state: _Signal, now: float) -> bool:
        """A firing anomaly signal stays up while its latest value is still ``hysteresis`` x the effect away."""
        rep = state.rep
        if rep is None or rep.series is None or _kind(rep.detector) != "anomaly":
            return False
        baseline = state.baselines.get(rep.series)
        values = self._values(rep.series)
        if baseline is None or values.size == 0 or not self._fresh(rep.series, now):
            return False
        settings = self.settings(rep.metric)
        effect = self._effect(rep.metric, float(values[-1]), baseline)
        return effect > 0 and effect >= settings.hysteresis * self._required(rep.metric, baseline)

    def _latest_time(self, series: SeriesKey | None) -> float:
        """Time of the newest point of ``series`` (-inf when unknown)."""
        if series is None:
            return -math.inf
        times, _values = self.analyzer.points(series)
        return float(times[-1]) if times.size else -math.inf

    def _newest(self, series: Iterable[SeriesKey | None]) -> float:
        return max((self._latest_time(k) for k in series), default=-math.inf)

    def _fresh(self, series: SeriesKey, now: float) -> bool:
        cfg = self.analyzer.config
        recent = self.analyzer.recent_values(series, now - cfg.stale_after_intervals * cfg.interval_seconds)
        return bool(np.isfinite(recent).any())

    def _quiet_interval(self, state: _Signal) -> bool:
        """True when the representative's resource sent too few samples in its latest interval to judge."""
        rep = state.rep or state.candidate
        if rep is None or rep.series is None:
            return False
        counts = self._count(rep.series)
        settings = self.settings(rep.metric)
        row = lookup(rep.metric)
        if counts.size == 0 or (row is not None and row.volume):
            return False
        return float(counts[-1]) < settings.min_count

    # --- one evaluation ---------------------------------------------------------
    def apply(self, evaluation: Evaluation) -> Evaluation:
        """Filter one evaluation: one finding per firing signal, and the series of resolved signals judged."""
        with self._lock:
            return self._apply(evaluation)

    def _constant_baseline_findings(self, evaluation: Evaluation) -> list[Finding]:
        """Rates whose whole history was one value (0 errors, 0 fallbacks) and whose latest value moved away by
        the effect size: no noise to judge against, so the move itself is the finding (detectors with a scale
        floor need a larger jump than a rate of a few dozen queries makes in its first, partial interval)."""
        flagged = {f.series for f in evaluation.findings}
        cfg = self.analyzer.config
        fresh_after = evaluation.time_s - cfg.stale_after_intervals * cfg.interval_seconds
        out = []
        for key in self.analyzer.series():
            row = _CONSTANT_ROWS.get(getattr(key, "metric", None))
            if row is None or key in flagged or self._latest_time(key) < fresh_after:
                continue
            values = self._values(key)
            settings = self.settings(key.metric)
            if values.size <= settings.cold_start_intervals or np.ptp(values[:-1]) != 0:
                continue
            baseline, latest = float(values[0]), float(values[-1])
            required = self._required(key.metric, baseline)
            if self._effect(key.metric, latest, baseline) >= settings.hysteresis * required:
                labels = tuple(sorted(key.labels(cfg.resource_label_keys).items()))
                message = (f"{key.metric} = {latest:.4g} after a constant {baseline:.4g} "
                           f"(effect size {required:.4g})")
                out.append(Finding(key.metric, CONSTANT_DETECTOR, labels, AlertLevel.WARNING, latest,
                                   baseline + required, message, series=key))
        return out

    def _apply(self, evaluation: Evaluation) -> Evaluation:
        now = evaluation.time_s
        evaluation = Evaluation(evaluation.time_s, (*evaluation.findings, *self._constant_baseline_findings(evaluation)),
                                evaluation.judged, evaluation.analyzer)
        hot: dict[SignalKey, list[Finding]] = {}
        full: set[SignalKey] = set()
        held: set[SignalKey] = set()
        for finding in evaluation.findings:
            key = self._signal_key(finding)
            state = self._signals.get(key) or _Signal()
            if not self._ready(finding, self.settings(finding.metric)):
                held.add(key)
                continue
            size = self._size(finding, state)
            if size:
                self._signals.setdefault(key, state)
                hot.setdefault(key, []).append(finding)
                if size == 2:
                    full.add(key)
        passed: list[Finding] = []
        resolved: set[SeriesKey | None] = set()
        for key, state in list(self._signals.items()):
            found = hot.get(key)
            # streaks count intervals of data, not evaluations: an evaluation without a new point changes nothing
            newest = self._newest(f.series for f in found) if found else self._newest(state.series)
            new_data = newest > state.last_t or (newest == -math.inf and not state.firing)
            if found:
                state.series.update(f.series for f in found if f.series is not None)
                if new_data:
                    state.last_t = max(state.last_t, newest)
                    self._heat(state, found, now, key in full)
                else:
                    self._refresh(state, found)
            elif state.firing and not any(self._fresh(k, now) for k in state.series):
                state.clear = self.settings(state.rep.metric if state.rep else key[0]).resolve_after
                resolved.add(state.rep.series if state.rep else None)  # no data any more: nothing to page about
                del self._signals[key]
                continue
            elif key in held or not new_data or self._quiet_interval(state):
                pass  # not judged this time: keep the streak and the alert as they are
            elif state.firing and self._holds(state, now):
                state.clear = 0
                state.last_t = newest
            elif state.firing:
                state.clear += 1
                state.last_t = newest
                if state.clear >= self.settings(state.rep.metric if state.rep else key[0]).resolve_after:
                    resolved.add(state.rep.series if state.rep else None)
                    del self._signals[key]
                    continue
            elif (went_on := self._continues(state)) is not None:
                # a detector that flags an episode once (at its onset) need not flag it again: the value decides
                state.last_t = newest
                self._heat(state, [went_on[0]], now, went_on[1])
            else:
                del self._signals[key]  # a streak broken before it fired
                continue
            if state.firing and state.rep is not None:
                passed.append(dataclasses.replace(state.rep, level=state.level))
        firing = {s.rep.series for s in self._signals.values() if s.firing and s.rep is not None}

        def judged(detector: str, series: SeriesKey) -> bool:
            return series in resolved or series not in firing

        return Evaluation(evaluation.time_s, tuple(passed), judged)

    def _continues(self, state: _Signal) -> tuple[Finding, bool] | None:
        """The streak's anomaly with the series' latest value, and whether it has the full effect size, when
        that value is still at least ``hysteresis`` x the effect size away (None: the streak is broken)."""
        candidate = state.candidate
        if candidate is None or candidate.series is None:
            return None
        values = self._values(candidate.series)
        if values.size == 0:
            return None
        now = dataclasses.replace(candidate, value=float(values[-1]))
        size = self._size(now, state)
        return (now, size == 2) if size else None

    def _heat(self, state: _Signal, found: list[Finding], now: float, full: bool) -> None:
        state.streak += 1
        state.clear = 0
        if math.isnan(state.since):  # the start of the first flagged interval
            newest = self._newest(f.series for f in found)
            state.since = (newest if math.isfinite(newest) else now) - self.analyzer.config.interval_seconds
        best = min(found, key=_rank)
        if _kind(best.detector) == "anomaly" and state.candidate is None:
            state.candidate = best
        if state.streak == 1 and full and self._previous_partial(best, state):
            state.streak += 1  # the interval before was the fault's first, partial one
            state.since -= self.analyzer.config.interval_seconds
        if not state.firing:
            if state.streak < self.settings(best.metric).for_intervals or not full:
                return
            state.firing = True
            state.rep = best
            state.level = best.level
            return
        self._refresh(state, found)

    def _previous_partial(self, finding: Finding, state: _Signal) -> bool:
        """True when an anomaly's series moved the bad way by ``hysteresis`` x the effect size in the interval
        before this one too, whether or not a detector flagged it: a fault that began late in an interval
        moves a mean (quality, traffic) by a fraction only, under the detectors' noise-scaled bar."""
        if _kind(finding.detector) != "anomaly" or finding.series is None:
            return False
        baseline = state.baselines.get(finding.series)
        values = self._values(finding.series)
        if baseline is None or values.size < 2:
            return False
        effect = self._effect(finding.metric, float(values[-2]), baseline)
        return effect > 0 and effect >= self.settings(finding.metric).hysteresis * self._required(finding.metric, baseline)

    @staticmethod
    def _refresh(state: _Signal, found: list[Finding]) -> None:
        if not state.firing:
            return
        best = min(found, key=_rank)
        # firing: refresh the representative's value; a threshold finding replaces an anomaly one
        same = [f for f in found if state.rep is not None and f.key == state.rep.key]
        if _kind(best.detector) == "threshold" and (state.rep is None or _kind(state.rep.detector) != "threshold"):
            state.rep = best
        elif same:
            state.rep = same[0]
        state.level = max(state.level, max(f.level for f in found))

    # --- reading --------------------------------------------------------------
    def firing(self) -> dict[SignalKey, Finding]:
        """The firing signals and their representative findings."""
        with self._lock:
            return {k: dataclasses.replace(s.rep, level=s.level) for k, s in self._signals.items()
                    if s.firing and s.rep is not None}

    def started(self, metric: str, labels: Mapping[str, str]) -> float:
        """When the condition of the signal of ``metric`` with ``labels`` began (the start of its first
        flagged interval, seconds); NaN when that signal has no streak."""
        keep = set(self.analyzer.config.resource_label_keys) | {semconv.COMPONENT}
        key = (signal_of(metric), tuple((k, v) for k, v in sorted(labels.items()) if k in keep))
        with self._lock:
            state = self._signals.get(key)
            return state.since if state is not None else math.nan
