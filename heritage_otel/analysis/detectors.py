"""Anomaly detectors: z-score and MAD (robust z), on one series or on many rows at once.

Formulas (``x`` the value judged, the baseline a set of earlier values):

* z-score: ``z = (x - mean) / std`` with the sample standard deviation (ddof=1).
* MAD: ``z = 0.6745 * (x - median) / MAD`` with ``MAD = median(|b - median(b)|)``;
  0.6745 is the 0.75 quantile of the standard normal, so for Gaussian data the
  robust z is on the same scale as the ordinary one.

A point is flagged when ``|z| > sensitivity`` (default 3.0). With fewer than
``min_samples`` baseline values the detector does not judge (score NaN, no flag).
A zero spread is floored at ``1e-12 * max(1, |centre|)`` so a constant baseline
scores unchanged values 0 and any departure as a (very large) anomaly.

False-alarm rate: on stationary Gaussian noise, ``P(|Z| > 3) = 0.27 %`` for a
perfectly known baseline; with a learned baseline of tens of points it is a
little higher (about 0.3-0.5 %); ``tests/analysis/test_detectors.py`` checks it
stays below 1 % for both detectors.

Each detector works on a plain numpy array:

>>> import numpy as np
>>> values = np.r_[np.random.default_rng(0).normal(100, 5, 200), 160.0]
>>> scores, flags = ZScoreDetector().score(values)
>>> bool(flags[-1]), int(flags[:-1].sum()) <= 2
(True, True)
>>> det = MADDetector(min_samples=5)
>>> [det.update(v).flagged for v in (10, 11, 9, 10, 11, 10, 50)]
[False, False, False, False, False, False, True]

The ``rows_*`` functions judge the last value of every row of a 2-D window
against the rest of that row, all rows at once (the Analyzer's hot path).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MAD_SCALE",
    "DetectorResult",
    "ZScoreDetector",
    "MADDetector",
    "rows_zscore",
    "rows_mad_score",
    "rows_median",
]

MAD_SCALE: Final = 0.6745
DIRECTIONS: Final = ("both", "up", "down")
_FLOOR: Final = 1e-12


@dataclass(frozen=True)
class DetectorResult:
    """Outcome of judging one value: the score (NaN when not judged) and whether it is anomalous."""

    score: float
    flagged: bool
    center: float = math.nan
    scale: float = math.nan


def _check(sensitivity: float, min_samples: int, window: int, direction: str) -> None:
    if not (isinstance(sensitivity, (int, float)) and math.isfinite(sensitivity) and sensitivity > 0):
        msg = f"sensitivity = {sensitivity!r} is not valid; expected a finite number > 0 (default 3.0)"
        raise ValueError(msg)
    if not isinstance(min_samples, int) or isinstance(min_samples, bool) or min_samples < 2:
        msg = f"min_samples = {min_samples!r} is not valid; expected an integer >= 2"
        raise ValueError(msg)
    if not isinstance(window, int) or isinstance(window, bool) or window < min_samples:
        msg = f"window = {window!r} is not valid; expected an integer >= min_samples ({min_samples})"
        raise ValueError(msg)
    if direction not in DIRECTIONS:
        msg = f"direction = {direction!r} is not valid; valid values: {', '.join(DIRECTIONS)}"
        raise ValueError(msg)


def _flags(scores: NDArray[np.float64], sensitivity: float, direction: str) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        if direction == "up":
            return np.nan_to_num(scores, nan=0.0) > sensitivity
        if direction == "down":
            return np.nan_to_num(scores, nan=0.0) < -sensitivity
        return np.abs(np.nan_to_num(scores, nan=0.0)) > sensitivity


def _floor(scale: NDArray[np.float64], center: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.maximum(scale, _FLOOR * np.maximum(1.0, np.abs(center)))


def rows_median(values: NDArray[np.float64], counts: NDArray[np.intp]) -> NDArray[np.float64]:
    """Median of every row of ``values`` whose invalid cells hold ``+inf``.

    ``counts[i]`` is the number of valid (finite) cells of row ``i``. Rows are
    grouped by their count so that each group needs one ``np.partition`` (no
    per-row Python loop; in steady state every row is full and there is one
    group). Rows with no valid cell give NaN.
    """
    out = np.full(values.shape[0], np.nan)
    for n in np.unique(counts):
        n = int(n)
        if n <= 0:
            continue
        rows = np.flatnonzero(counts == n)
        lo, hi = (n - 1) // 2, n // 2
        block = values if len(rows) == values.shape[0] else values[rows]
        # one integer kth keeps numpy on its fast (SIMD) selection path; a tuple of kth is ~6x slower
        part = np.partition(block, hi, axis=1)
        upper = part[:, hi]
        lower = upper if lo == hi else part[:, :hi].max(axis=1)
        out[rows] = 0.5 * (lower + upper)
    return out


_Rows = tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]


def rows_zscore(
    baseline: NDArray[np.float64], latest: NDArray[np.float64], valid: NDArray[np.bool_] | None = None
) -> _Rows:
    """z-score of ``latest[i]`` against the finite cells of ``baseline[i]``.

    ``valid`` (the finite mask of ``baseline``) may be passed when already
    known. Returns (scores, baseline counts, centres, scales);
    ``centre + score * scale == latest``. The variance is computed on values
    shifted by one baseline value (close to the row's mean), which keeps the
    one-pass formula numerically stable.
    """
    if valid is None:
        valid = np.isfinite(baseline)
    n = valid.sum(axis=1)
    shift = np.where(valid[:, 0], baseline[:, 0], latest)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(valid, baseline - shift[:, None], 0.0)
        s1 = y.sum(axis=1)
        s2 = np.einsum("ij,ij->i", y, y)
        mean_y = s1 / n
        var = np.maximum(s2 - s1 * mean_y, 0.0) / (n - 1)
        mean = mean_y + shift
        scale = _floor(np.sqrt(var), mean)
        scores = (latest - mean) / scale
    scores[n < 2] = np.nan
    return scores, n, mean, scale


def rows_mad_score(
    baseline: NDArray[np.float64], latest: NDArray[np.float64], valid: NDArray[np.bool_] | None = None
) -> _Rows:
    """Robust z ``0.6745 * (latest - median) / MAD`` per row against the finite cells of ``baseline``.

    Returns (scores, baseline counts, medians, scales) with ``scale = MAD / 0.6745``.
    """
    if valid is None:
        valid = np.isfinite(baseline)
    n = valid.sum(axis=1)
    filled = np.where(valid, baseline, np.inf)
    med = rows_median(filled, n)
    np.subtract(filled, med[:, None], out=filled)
    np.abs(filled, out=filled)  # invalid cells stay +inf
    mad = rows_median(filled, n)
    with np.errstate(invalid="ignore"):
        scale = _floor(mad, med) / MAD_SCALE
        scores = (latest - med) / scale
    scores[n < 1] = np.nan
    return scores, n, med, scale


class _Detector(ABC):
    """Shared streaming/batch behaviour; subclasses choose the row scorer."""

    _rows = staticmethod(rows_zscore)

    def __init__(
        self, sensitivity: float = 3.0, min_samples: int = 10, window: int = 240, direction: str = "both"
    ) -> None:
        _check(sensitivity, min_samples, window, direction)
        self.sensitivity = float(sensitivity)
        self.min_samples = min_samples
        self.window = window
        self.direction = direction
        self._baseline: deque[float] = deque(maxlen=window)

    @property
    def baseline(self) -> tuple[float, ...]:
        """The learned baseline (the last ``window`` values seen by :meth:`update`)."""
        return tuple(self._baseline)

    def learn(self, values: ArrayLike) -> None:
        """Add values to the baseline without judging them."""
        for v in np.asarray(values, dtype=float).ravel():
            if math.isfinite(v):
                self._baseline.append(float(v))

    def update(self, value: float) -> DetectorResult:
        """Judge ``value`` against the baseline learned so far, then add it to the baseline."""
        value = float(value)
        result = DetectorResult(math.nan, False)
        if len(self._baseline) >= self.min_samples and math.isfinite(value):
            base = np.asarray(self._baseline, dtype=float)[None, :]
            score = float(self._rows(base, np.array([value]))[0][0])
            result = DetectorResult(score, bool(_flags(np.array([score]), self.sensitivity, self.direction)[0]))
        if math.isfinite(value):
            self._baseline.append(value)
        return result

    def score(
        self, values: ArrayLike, baseline: ArrayLike | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Per-point scores and flags for ``values``.

        Against ``baseline`` when given, else against ``values`` themselves (as
        ``scipy.stats.zscore`` does). Fewer than ``min_samples`` finite baseline
        values: all scores NaN, no flag.
        """
        x = np.asarray(values, dtype=float).ravel()
        base = x if baseline is None else np.asarray(baseline, dtype=float).ravel()
        base = base[np.isfinite(base)]
        if len(base) < self.min_samples:
            return np.full(x.shape, np.nan), np.zeros(x.shape, dtype=bool)
        scores = self._score_many(base, x)
        return scores, _flags(scores, self.sensitivity, self.direction)

    @abstractmethod
    def _score_many(self, base: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Scores of ``x`` against the finite ``base`` values."""


class ZScoreDetector(_Detector):
    """z-score detector: ``(x - mean) / std`` of the baseline (ddof=1)."""

    _rows = staticmethod(rows_zscore)

    def _score_many(self, base: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
        mean = base.mean()
        std = base.std(ddof=1)
        return (x - mean) / _floor(np.asarray(std), np.asarray(mean))


class MADDetector(_Detector):
    """Robust detector: ``0.6745 * (x - median) / MAD`` of the baseline."""

    _rows = staticmethod(rows_mad_score)

    def _score_many(self, base: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
        med = np.median(base)
        mad = np.median(np.abs(base - med))
        return MAD_SCALE * (x - med) / _floor(np.asarray(mad), np.asarray(med))
