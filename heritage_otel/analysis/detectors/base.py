"""The detector interface: one stream through :meth:`Detector.update`, many rows through :meth:`Detector.score_rows`.

Every detector takes ``sensitivity`` (higher means fewer flags; ``None`` for
its own default) and ``direction`` (``both``, ``up`` or ``down``: which side of
the baseline counts), plus its own settings. ``update(value)`` judges one
value of one stream and learns it; ``score_rows`` judges the latest value of
many series at once (the Analyzer's path), given per-row state from
:meth:`Detector.new_state` and, for detectors with ``window > 0``, each row's
baseline window. ``update`` is ``score_rows`` on one row, so the two paths
cannot disagree.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from heritage_otel.checks import check_number

__all__ = ["STEP_FRACTION", "DIRECTIONS", "Detector", "DetectorResult", "RowScores", "State", "directional", "scale_floor"]

DIRECTIONS: Final = ("both", "up", "down")
_TINY: Final = 1e-12
#: Relative scale floors: for a series that moved, and for a constant one.
_MOVED_FLOOR: Final = 1e-12
_CONSTANT_FLOOR: Final = 1e-2
#: A non-integer series' resolution, as a fraction of its median non-zero step (for Gaussian noise the
#: median step is 0.95 standard deviations, so the floor stays well below a real spread).
STEP_FRACTION: Final = 0.5

State = dict[str, NDArray[Any]]


@dataclass(frozen=True)
class DetectorResult:
    """Outcome of judging one value: the score (NaN when not judged) and whether it is anomalous."""

    score: float
    flagged: bool
    center: float = math.nan
    scale: float = math.nan


@dataclass(frozen=True)
class RowScores:
    """Outcome of judging the latest value of many rows: per-row score, flag, judged, baseline centre and scale.

    ``center + score * scale`` is the judged value; ``judged`` is False where the
    detector did not have enough data (score NaN, no flag).
    """

    scores: NDArray[np.float64]
    flagged: NDArray[np.bool_]
    judged: NDArray[np.bool_]
    centers: NDArray[np.float64]
    scales: NDArray[np.float64]


def directional(scores: NDArray[np.float64], direction: str) -> NDArray[np.float64]:
    """Scores seen from ``direction``: positive where the departure counts, NaN as 0."""
    s = np.where(np.isnan(scores), 0.0, scores)
    if direction == "up":
        return s
    if direction == "down":
        return -s
    return np.abs(s)


def scale_floor(
    quantum: NDArray[np.float64], magnitude: NDArray[np.float64], moved: NDArray[np.bool_] | bool = True
) -> NDArray[np.float64]:
    """Smallest scale a detector may divide by, from the series' own resolution and magnitude.

    ``quantum`` is the resolution of the data (1 for integer counts, the
    ``STEP_FRACTION`` of the median non-zero step otherwise; 0 when unknown) and ``magnitude`` a
    typical absolute value. A series that never ``moved`` (a constant
    baseline) gets 1 % of its magnitude; one that moved, ``1e-12`` of it (a
    numerical guard). So ``0 -> 1`` on a counter is a one-unit change (score 1,
    not 10^12) and a latency stuck at 250 ms that moves to 300 ms scores 20.

    >>> scale_floor(np.array([1.0, 0.0]), np.array([0.0, 250.0]), np.array([True, False])).tolist()
    [1.0, 2.5]
    """
    rel = np.where(moved, _MOVED_FLOOR, _CONSTANT_FLOOR)
    return np.fmax(np.fmax(quantum, rel * np.abs(magnitude)), _TINY)  # fmax ignores NaN


def _check_sensitivity(value: Any) -> float:
    return check_number("sensitivity", value, minimum=0, exclusive_minimum=True, what="higher means fewer flags")


class Detector(ABC):
    """Base of every detector: settings, the streaming :meth:`update` and the row-wise :meth:`score_rows`."""

    #: Registry name, as it appears in findings and alerts.
    name: ClassVar[str]
    #: Sensitivity used when none is given.
    default_sensitivity: ClassVar[float]
    #: What the score is, for messages ("z-score", ...).
    score_name: ClassVar[str] = "score"

    def __init__(self, sensitivity: float | None = None, *, direction: str = "both", window: int = 0) -> None:
        self.sensitivity = _check_sensitivity(self.default_sensitivity if sensitivity is None else sensitivity)
        if direction not in DIRECTIONS:
            msg = f"direction = {direction!r} is not valid; valid values: {', '.join(DIRECTIONS)}"
            raise ValueError(msg)
        self.direction = direction
        #: Baseline points ``score_rows`` needs per row (0: the detector keeps everything in its state).
        self.window = window
        self._state = self.new_state(1)
        self._baseline: deque[float] = deque(maxlen=max(window, 1))

    def new_state(self, rows: int) -> State:
        """Fresh per-row state arrays for ``rows`` series (empty for stateless detectors)."""
        return {}

    def score_rows(
        self, latest: NDArray[np.float64], state: State, baseline: NDArray[np.float64] | None = None,
        valid: NDArray[np.bool_] | None = None, times: NDArray[np.float64] | None = None,
    ) -> RowScores:
        """Judge ``latest[i]`` for every row and advance ``state`` (rows of ``baseline``: earlier values).

        ``times`` (seconds since the epoch, per row; optional) is when each value was observed: detectors
        with seasonal baselines use it, the others ignore it. Floating-point overflow on extreme values
        (1e308) gives inf scores, never a warning or an exception.
        """
        with np.errstate(all="ignore"):
            t = None if times is None else np.asarray(times, dtype=float)
            return self._score_rows(np.asarray(latest, dtype=float), state, baseline, valid, t)

    @abstractmethod
    def _score_rows(
        self, latest: NDArray[np.float64], state: State, baseline: NDArray[np.float64] | None,
        valid: NDArray[np.bool_] | None, times: NDArray[np.float64] | None = None,
    ) -> RowScores:
        """The detector's computation behind :meth:`score_rows`."""

    def update(self, value: float, timestamp: float | None = None) -> DetectorResult:
        """Judge one value of the stream (observed at ``timestamp``, seconds since the epoch), then learn it.

        NaN/inf are not judged (score NaN, no flag).
        """
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = math.nan
        base = np.asarray(self._baseline, dtype=float)[None, :] if self.window else None
        times = None if timestamp is None else np.array([float(timestamp)])
        out = self.score_rows(np.array([value]), self._state, base, None if base is None else np.isfinite(base),
                              times)
        if self.window and math.isfinite(value):
            self._baseline.append(value)
        score = float(out.scores[0])
        return DetectorResult(score, bool(out.flagged[0]), float(out.centers[0]), float(out.scales[0]))

    def flags(self, scores: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Scores beyond the sensitivity on this detector's side."""
        with np.errstate(invalid="ignore"):
            return directional(scores, self.direction) > self.sensitivity

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sensitivity={self.sensitivity:g}, direction={self.direction!r})"
