"""Anomaly detectors: z-score and MAD (robust z), on one series or on many rows at once.

Formulas (``x`` the value judged, the baseline a set of earlier values):

* z-score: ``z = (x - mean) / std`` with the sample standard deviation (ddof=1).
* MAD: ``z = 0.6745 * (x - median) / MAD`` with ``MAD = median(|b - median(b)|)``;
  0.6745 is the 0.75 quantile of the standard normal, so for Gaussian data the
  robust z is on the same scale as the ordinary one.

A point is flagged when its score passes ``sensitivity`` (default 3.0) on the
detector's ``direction`` (``both``: ``|z|``; ``up``: ``z``; ``down``: ``-z``).
With fewer than ``min_samples`` baseline values the detector does not judge
(score NaN, no flag). The spread is floored by
:func:`~heritage_otel.analysis.detectors.base.scale_floor`: 1 when every
baseline value is an integer (counts), else 0.01 % of the centre, so a
constant counter going ``0 -> 1`` scores 1 (not 10^11) and a constant
latency still scores a real departure as large.

These are the textbook detectors, kept for comparison and for series that
are known to be stationary and Gaussian: they flag every point of an episode
and know nothing of trends or seasonality (the ``adaptive`` detector does).

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
from abc import abstractmethod
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from heritage_otel.analysis.detectors.base import STEP_FRACTION, Detector, RowScores, State, scale_floor
from heritage_otel.checks import check_int

__all__ = [
    "MAD_SCALE",
    "ZScoreDetector",
    "MADDetector",
    "rows_zscore",
    "rows_mad_score",
    "rows_median",
]

MAD_SCALE: Final = 0.6745


def _floored(
    scale: NDArray[np.float64], center: NDArray[np.float64], baseline: NDArray[np.float64], valid: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """``scale`` raised to the floor from each row's resolution where it is below ``max(1, 1 % of the centre)``.

    The resolution is 1 for a window of integers, else ``STEP_FRACTION`` of
    the median non-zero step between neighbouring cells (the ring's one wrap-around pair included);
    a window that never moved floors at 1 % of its centre
    (:func:`~heritage_otel.analysis.detectors.base.scale_floor`). Only rows
    with a small spread pay for this (few in practice).
    """
    with np.errstate(invalid="ignore"):
        low = ~(scale > np.maximum(1.0, 1e-2 * np.abs(center)))
    if not low.any():
        return scale
    rows = np.flatnonzero(low)
    b, v = baseline[rows], valid[rows]
    with np.errstate(invalid="ignore"):
        integer = np.all(~v | (b == np.round(b)), axis=1)
        d = np.abs(np.diff(b, axis=1))
        ok = v[:, 1:] & v[:, :-1] & (d > 0)
    steps = ok.sum(axis=1)
    step = rows_median(np.where(ok, d, np.inf), steps)
    quantum = np.maximum(np.where(integer, 1.0, 0.0), STEP_FRACTION * np.nan_to_num(step))
    out = scale.copy()
    out[rows] = np.fmax(scale[rows], scale_floor(quantum, center[rows], steps > 0))
    return out


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
        scale = _floored(np.sqrt(var), mean, baseline, valid)
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
        scale = _floored(mad / MAD_SCALE, med, baseline, valid)
        scores = (latest - med) / scale
    scores[n < 1] = np.nan
    return scores, n, med, scale


class _WindowDetector(Detector):
    """Shared behaviour of the windowed detectors: the baseline is the last ``window`` values."""

    default_sensitivity = 3.0
    _rows = staticmethod(rows_zscore)

    def __init__(
        self, sensitivity: float | None = None, min_samples: int = 10, window: int = 240, direction: str = "both"
    ) -> None:
        self.min_samples = check_int("min_samples", min_samples, minimum=2,
                                     what="baseline values needed before judging")
        check_int("window", window, minimum=min_samples, what=f"baseline values kept, >= min_samples ({min_samples})")
        super().__init__(sensitivity, direction=direction, window=window)

    @property
    def baseline(self) -> tuple[float, ...]:
        """The learned baseline (the last ``window`` values seen by :meth:`update`)."""
        return tuple(self._baseline)

    def learn(self, values: ArrayLike) -> None:
        """Add values to the baseline without judging them."""
        for v in np.asarray(values, dtype=float).ravel():
            if math.isfinite(v):
                self._baseline.append(float(v))

    def _score_rows(
        self, latest: NDArray[np.float64], state: State, baseline: NDArray[np.float64] | None = None,
        valid: NDArray[np.bool_] | None = None, times: NDArray[np.float64] | None = None,
    ) -> RowScores:
        """Judge ``latest[i]`` against the finite cells of ``baseline[i]`` (no state)."""
        x = np.asarray(latest, dtype=float)
        if baseline is None or baseline.shape[1] == 0:
            nan = np.full(x.shape, np.nan)
            return RowScores(nan, np.zeros(x.shape, dtype=bool), np.zeros(x.shape, dtype=bool), nan, nan)
        scores, counts, centers, scales = self._rows(baseline, x, valid)
        judged = (counts >= self.min_samples) & np.isfinite(x)
        scores = np.where(judged, scores, np.nan)
        return RowScores(scores, judged & self.flags(scores), judged, centers, scales)

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
        return scores, self.flags(scores)

    @abstractmethod
    def _score_many(self, base: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Scores of ``x`` against the finite ``base`` values."""


class ZScoreDetector(_WindowDetector):
    """z-score detector: ``(x - mean) / std`` of the last ``window`` values (ddof=1)."""

    name = "zscore"
    score_name = "z-score"
    _rows = staticmethod(rows_zscore)

    def _score_many(self, base: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
        mean = base.mean()
        std = base.std(ddof=1)
        scale = _floored(np.array([std]), np.array([mean]), base[None, :], np.ones((1, len(base)), dtype=bool))
        return (x - mean) / scale[0]


class MADDetector(_WindowDetector):
    """Robust detector: ``0.6745 * (x - median) / MAD`` of the last ``window`` values."""

    name = "mad"
    score_name = "robust z-score (MAD)"
    _rows = staticmethod(rows_mad_score)

    def _score_many(self, base: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
        med = np.median(base)
        mad = np.median(np.abs(base - med))
        scale = _floored(np.array([mad / MAD_SCALE]), np.array([med]), base[None, :], np.ones((1, len(base)), dtype=bool))
        return (x - med) / scale[0]
