"""A gate between the Analyzer and the AlertManager: persistence and a minimum effect size.

Two rules common in production alerting, applied to each evaluation before
the :class:`~heritage_otel.analysis.AlertManager` sees it:

- **persistence** (Prometheus' ``for:``): a finding passes once its key was
  found in ``intervals`` consecutive evaluations, so a one-interval blip (a
  GC pause, a noisy neighbour on a shared machine) is not an incident;
- **effect size**: an anomaly finding (``zscore``/``mad``) passes only when
  the value has risen to at least ``(1 + min_relative_change)`` times the
  series' baseline median, or fallen to at most its ``1 / (1 +
  min_relative_change)``. Statistically significant but
  tiny changes (a series whose baseline never varied has a zero MAD) do
  not page anyone;
- **direction**: an anomaly in the good direction (latency or error rate
  down, quality or throughput up) is not an incident;
- **drift scope** (optional ``drift_metrics``): drift findings (PSI/KS) pass
  only for those metrics. The demo judges drift on the quality histograms
  (what a shift in the query mix changes); a latency distribution on a
  shared machine drifts with the machine's load, and latency incidents are
  the anomaly detectors' and threshold rules' job.

Threshold and drift findings only need the persistence. Once an alert
fires, it stays up while its detector still flags the series (the effect
size no longer applies), and it resolves after its series was judged clear
in ``resolve_after`` consecutive evaluations (1: at once), so it does not
flap on a single quiet interval.
Wire it as the exporter's ``on_evaluation`` callback instead of giving the
exporter the AlertManager.

>>> from heritage_otel.analysis import AlertManager, Analyzer
>>> from heritage_otel.analysis.findings import AlertLevel, Evaluation, Finding
>>> manager = AlertManager()
>>> gate = AlertGate(manager, Analyzer(), intervals=2)
>>> f = Finding("error_rate", "threshold", (), AlertLevel.CRITICAL, 0.5, 0.05, "high")
>>> [a.metric for a in gate(Evaluation(1.0, (f,)))], [a.metric for a in gate(Evaluation(2.0, (f,)))]
([], ['error_rate'])
>>> manager.shutdown()
True
"""

from __future__ import annotations

import math
import threading

import numpy as np

from heritage_otel import semconv
from heritage_otel.analysis import AlertManager, Analyzer
from heritage_otel.analysis.alerts import Alert
from heritage_otel.analysis.config import ANOMALY_DETECTORS
from heritage_otel.analysis.findings import Evaluation, Finding
from heritage_otel.analysis.samples import SeriesKey


#: The detectors whose findings ``drift_metrics`` scopes.
DRIFT_DETECTORS = frozenset({"psi", "ks"})

#: Metrics (and indicators) where only a rise is bad, and where only a fall is bad.
_HIGHER_IS_WORSE = (
    "query_latency_", "component_latency_", semconv.METRIC_QUERY_DURATION, semconv.METRIC_COMPONENT_DURATION,
    "error_rate", "fallback_rate", "empty_result_rate", semconv.METRIC_ERRORS, semconv.METRIC_FALLBACKS,
    semconv.METRIC_EMPTY_RESULTS,
)
_LOWER_IS_WORSE = (
    "ndcg_at_10", "precision_at_5", semconv.METRIC_NDCG_AT_10, semconv.METRIC_PRECISION_AT_5,
    "throughput_qps", "cache_hit_rate",
)


def _worse_direction(metric: str) -> int:
    """+1 when a rise is bad, -1 when a fall is bad, 0 when both are."""
    if metric.startswith(_HIGHER_IS_WORSE):
        return 1
    if metric.startswith(_LOWER_IS_WORSE):
        return -1
    return 0


class AlertGate:
    """Filters each evaluation (persistence, effect size) and hands the rest to ``manager``."""

    def __init__(
        self,
        manager: AlertManager,
        analyzer: Analyzer,
        *,
        intervals: int = 3,
        min_relative_change: float = 0.2,
        resolve_after: int = 1,
        drift_metrics: frozenset[str] | None = None,
    ) -> None:
        if isinstance(intervals, bool) or not isinstance(intervals, int) or intervals < 1:
            msg = f"intervals={intervals!r} is not valid; expected an integer >= 1 (1 passes every finding)"
            raise ValueError(msg)
        if not (isinstance(min_relative_change, (int, float)) and min_relative_change >= 0):
            msg = f"min_relative_change={min_relative_change!r} is not valid; expected a number >= 0 (0 disables it)"
            raise ValueError(msg)
        if isinstance(resolve_after, bool) or not isinstance(resolve_after, int) or resolve_after < 1:
            msg = f"resolve_after={resolve_after!r} is not valid; expected an integer >= 1 (clear evaluations before resolving)"
            raise ValueError(msg)
        self.manager = manager
        self.analyzer = analyzer
        self.drift_metrics = None if drift_metrics is None else frozenset(drift_metrics)
        self.resolve_after = resolve_after
        self.intervals = intervals
        self.min_relative_change = float(min_relative_change)
        self._streak: dict[tuple, int] = {}
        self._clear: dict[tuple, int] = {}
        self._lock = threading.Lock()

    def _in_scope(self, finding: Finding) -> bool:
        if self.drift_metrics is None or finding.detector not in DRIFT_DETECTORS:
            return True
        return finding.metric in self.drift_metrics

    def _large_enough(self, finding: Finding) -> bool:
        if finding.detector not in ANOMALY_DETECTORS or finding.series is None or self.min_relative_change == 0:
            return True
        window = self.analyzer.recent_values(finding.series, -math.inf)[:-1]
        window = window[np.isfinite(window)]
        if window.size == 0:
            return True
        baseline = float(np.median(window))
        direction = _worse_direction(finding.metric)
        if direction and (finding.value - baseline) * direction <= 0:
            return False
        if baseline == 0:
            return finding.value != 0
        ratio = finding.value / baseline
        factor = 1.0 + self.min_relative_change
        return ratio >= factor or ratio <= 1.0 / factor

    def _key(self, detector: str, series: SeriesKey) -> tuple:
        labels = series.labels(self.analyzer.config.resource_label_keys)
        return (series.metric, detector, tuple(sorted(labels.items())))

    def __call__(self, evaluation: Evaluation) -> list[Alert]:
        """Filter one evaluation and apply it to the manager; returns the alerts the manager sent."""
        with self._lock:
            active = {a.key for a in self.manager.get_active_alerts()}
            findings = [f for f in evaluation.findings if self._in_scope(f)]
            found = {f.key for f in findings}
            self._clear = {k: 0 if k in found else self._clear.get(k, 0) + 1 for k in active}
            # raising needs size and persistence; a firing alert stays up while its detector still flags it
            large = [f for f in findings if f.key in active or self._large_enough(f)]
            keys = {f.key for f in large}
            self._streak = {k: self._streak.get(k, 0) + 1 for k in keys}
            passed = tuple(f for f in large if f.key in active or self._streak[f.key] >= self.intervals)
            clear = dict(self._clear)

        def judged(detector: str, series: SeriesKey) -> bool:
            if not evaluation.judged(detector, series):
                return False
            return clear.get(self._key(detector, series), self.resolve_after) >= self.resolve_after

        return self.manager.observe(Evaluation(evaluation.time_s, passed, judged))
