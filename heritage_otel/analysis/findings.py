"""What the Analyzer reports: alert levels, findings, and one evaluation's outcome.

A :class:`Finding` is a detector saying "this series is not right now"; the
:class:`~heritage_otel.analysis.alerts.AlertManager` turns findings into
alerts (dedup, cooldown, escalation) and resolves alerts whose condition was
judged again and found clear (:meth:`Evaluation.judged`).

>>> AlertLevel.CRITICAL > AlertLevel.WARNING, AlertLevel.WARNING.name
(True, 'WARNING')
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from heritage_otel.analysis.samples import Labels, SeriesKey

__all__ = ["AlertLevel", "Finding", "Evaluation", "anomaly_finding", "psi_finding", "ks_finding"]


class AlertLevel(enum.IntEnum):
    """Alert severity (the seed's three levels)."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3


@dataclass(frozen=True)
class Finding:
    """One detector's verdict on one series.

    ``value`` is the observed value (or the drift statistic for ``psi``/``ks``),
    ``threshold`` the bound it crossed, ``exemplars`` (trace id, span id, value)
    triples from the interval that show the problem.
    """

    metric: str
    detector: str
    labels: Labels
    level: AlertLevel
    value: float
    threshold: float
    message: str
    exemplars: tuple[tuple[str, str, float], ...] = ()
    score: float = math.nan
    series: SeriesKey | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str, Labels]:
        """Dedup key: (metric, detector, labels)."""
        return (self.metric, self.detector, self.labels)


@dataclass(frozen=True)
class Evaluation:
    """One evaluation pass: the findings, its time, and which (detector, series) pairs were judged."""

    time_s: float
    findings: tuple[Finding, ...]
    _judged: Callable[[str, SeriesKey], bool] = field(repr=False, compare=False, default=lambda d, s: False)
    #: The Analyzer that produced it (its windows are what the alert policy reads), if any.
    analyzer: Any = field(default=None, repr=False, compare=False)

    def judged(self, detector: str, series: SeriesKey) -> bool:
        """True when ``detector`` had enough fresh data to judge ``series`` in this pass."""
        return self._judged(detector, series)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def anomaly_finding(
    metric: str, detector: str, labels: Labels, value: float, score: float, center: float, scale: float, *,
    sensitivity: float, critical_factor: float, exemplars: tuple[tuple[str, str, float], ...] = (),
    series: SeriesKey | None = None, score_name: str | None = None,
) -> Finding:
    """The finding for a flagged anomaly score (one wording and level rule for every caller).

    WARNING above ``sensitivity``, CRITICAL above ``critical_factor * sensitivity``;
    ``threshold`` is the value at which the point would have been flagged.
    """
    level = AlertLevel.CRITICAL if abs(score) > critical_factor * sensitivity else AlertLevel.WARNING
    bound = center + math.copysign(sensitivity, score) * scale
    what = score_name or ("z-score" if detector == "zscore" else "robust z-score (MAD)")
    message = (f"Anomaly in {metric}: value {_fmt(value)} has {what} {score:+.2f} "
               f"(baseline {_fmt(center)}, sensitivity {sensitivity:g})")
    return Finding(metric, detector, labels, level, value, bound, message, exemplars, score, series)


def psi_finding(
    metric: str, labels: Labels, value: float, *, warning: float, critical: float,
    exemplars: tuple[tuple[str, str, float], ...] = (), series: SeriesKey | None = None,
) -> Finding:
    """The finding for a PSI at or above ``warning`` (CRITICAL at or above ``critical``)."""
    level = AlertLevel.CRITICAL if value >= critical else AlertLevel.WARNING
    limit = critical if level is AlertLevel.CRITICAL else warning
    message = f"Drift in {metric}: PSI {value:.3f} >= {limit:g} against the reference distribution"
    return Finding(metric, "psi", labels, level, value, limit, message, exemplars, value, series)


def ks_finding(
    metric: str, labels: Labels, statistic: float, pvalue: float, *, alpha: float, min_statistic: float,
    approximate: bool, exemplars: tuple[tuple[str, str, float], ...] = (), series: SeriesKey | None = None,
) -> Finding:
    """The finding for a KS test with ``pvalue < alpha`` and ``statistic >= min_statistic``."""
    how = " (bucketed, approximate)" if approximate else ""
    message = (f"Drift in {metric}: KS statistic {statistic:.3f}{how}, p-value {pvalue:.2g} < {alpha:g} "
               f"and statistic >= {min_statistic:g}")
    return Finding(metric, "ks", labels, AlertLevel.WARNING, statistic, min_statistic, message, exemplars,
                   statistic, series)
