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

from heritage_otel.analysis.samples import Labels, SeriesKey

__all__ = ["AlertLevel", "Finding", "Evaluation"]


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

    def judged(self, detector: str, series: SeriesKey) -> bool:
        """True when ``detector`` had enough fresh data to judge ``series`` in this pass."""
        return self._judged(detector, series)
