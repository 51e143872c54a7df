"""The Numenta Anomaly Benchmark's scoring, written from its paper and scorer's definition (no code copied).

A file is a sequence of timestamps with an anomaly score per point; a point is
a *detection* when its score is at least the threshold. Per file:

* the first ``15 %`` of the points (at most ``0.15 * 5000``) are the
  **probationary period**: never scored, and a window lying wholly inside it
  does not count;
* inside a labelled **window** of width ``w`` whose last point is ``r``, a
  detection at ``i`` is worth ``tp * S(-(r - i + 1) / w) / S(-1)`` where
  ``S(y) = 2 / (1 + exp(5 y)) - 1`` is the scaled sigmoid (so the first point
  of a window earns ``tp``, the last about a quarter of it);
  only the best (earliest) detection of a window counts, and a window
  without one costs ``fn``;
* a detection outside every window is a false positive worth
  ``fp * S((i - r') / (w' - 1))`` where ``r'`` and ``w'`` are the last point and width
  of the previous window (``-fp`` when no window precedes it), so a
  detection just after a window costs little;
* the raw score of a corpus is the sum over its files; normalised,
  ``100 * (raw - null) / (perfect - null)`` where ``null`` is the raw score of
  a detector that never fires (``-fn`` per scorable window) and ``perfect``
  is ``tp`` per window.

``PROFILES`` are NAB's three cost matrices. :func:`optimise` finds the single
threshold that maximises the raw score over the whole corpus, as NAB's
optimiser does.

>>> f = ScoredFile.build(np.zeros(100), [(50, 59)])   # one window, points 50..59
>>> f.probation
15
>>> [round(float(v), 4) for v in f.sweep_scores(STANDARD)[[10, 50, 59, 60]]]   # before, first, last, after
[-0.11, 1.0, 0.2482, -0.0298]
>>> raw_score([f], STANDARD, 0.5)     # no detection: the window is missed
-1.0
>>> normalised([f], STANDARD, 0.5)
0.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PROBATION_FRACTION",
    "PROFILES",
    "STANDARD",
    "Profile",
    "ScoredFile",
    "normalised",
    "optimise",
    "raw_score",
    "scaled_sigmoid",
]

PROBATION_FRACTION: Final = 0.15
#: The probationary period never exceeds this fraction of 5,000 points.
_PROBATION_CAP: Final = 5000


@dataclass(frozen=True)
class Profile:
    """A cost matrix: the weight of a true positive, a false positive and a false negative."""

    name: str
    tp: float
    fp: float
    fn: float


STANDARD: Final = Profile("standard", 1.0, 0.11, 1.0)
PROFILES: Final = (STANDARD, Profile("reward_low_FP_rate", 1.0, 0.22, 1.0), Profile("reward_low_FN_rate", 1.0, 0.11, 2.0))


def scaled_sigmoid(y: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """``2 / (1 + exp(5 y)) - 1``, and -1 beyond ``y > 3`` (far after a window).

    >>> scaled_sigmoid(np.array([-1.0, 0.0, 1.0, 4.0])).round(5).tolist()
    [0.98661, 0.0, -0.98661, -1.0]
    """
    y = np.asarray(y, dtype=float)
    with np.errstate(over="ignore"):
        out = 2.0 / (1.0 + np.exp(5.0 * y)) - 1.0
    return np.where(y > 3.0, -1.0, out)


_MAX_TP: Final = float(scaled_sigmoid(-1.0))


def probation_length(points: int) -> int:
    """Number of leading points that are never scored: ``min(floor(0.15 n), 0.15 * 5000)``."""
    return int(min(math.floor(PROBATION_FRACTION * points), PROBATION_FRACTION * _PROBATION_CAP))


@dataclass(frozen=True)
class ScoredFile:
    """One file's anomaly scores and its labelled windows (inclusive point indices)."""

    scores: NDArray[np.float64]
    windows: tuple[tuple[int, int], ...]
    name: str = ""
    #: Per point: index of its window, -1 outside every window (computed by :meth:`build`).
    window_of: NDArray[np.intp] = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.intp))

    @classmethod
    def build(cls, scores: Sequence[float] | NDArray[np.float64], windows: Sequence[tuple[int, int]],
              name: str = "") -> ScoredFile:
        """A file from its per-point scores and its windows ``(first, last)`` (sorted, non-overlapping)."""
        s = np.asarray(scores, dtype=float)
        s = np.where(np.isfinite(s), s, 0.0)
        wins = tuple((int(a), int(b)) for a, b in windows)
        window_of = np.full(len(s), -1, dtype=np.intp)
        for k, (a, b) in enumerate(wins):
            if not 0 <= a <= b < len(s):
                msg = f"{name}: window {(a, b)} is outside the file's {len(s)} points"
                raise ValueError(msg)
            window_of[a : b + 1] = k
        return cls(s, wins, name, window_of)

    @property
    def probation(self) -> int:
        """Leading points not scored."""
        return probation_length(len(self.scores))

    def scorable_windows(self) -> list[int]:
        """Indices of the windows that reach past the probationary period."""
        return [k for k, (_, b) in enumerate(self.windows) if b >= self.probation]

    def sweep_scores(self, profile: Profile) -> NDArray[np.float64]:
        """What a detection at each point would be worth (weighted; probationary points too, though never used)."""
        n = len(self.scores)
        idx = np.arange(n, dtype=float)
        out = np.full(n, -profile.fp)  # before any window
        for a, b in self.windows:
            width = b - a + 1.0
            inside = slice(a, b + 1)
            out[inside] = scaled_sigmoid(-(b - idx[inside] + 1.0) / width) * profile.tp / _MAX_TP
            after = slice(b + 1, n)
            # NAB divides the distance past a window by its width less one (a width-1 window: far at once)
            past = (idx[after] - b) / (width - 1.0) if width > 1 else np.full(n - b - 1, np.inf)
            out[after] = scaled_sigmoid(past) * profile.fp
        return out


def _points(files: Sequence[ScoredFile], profile: Profile) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                                     NDArray[np.intp], int]:
    """Scorable points of all files: (anomaly scores, sweep values, global window id or -1, scorable windows)."""
    scores, sweeps, wins = [], [], []
    offset = 0
    for f in files:
        p = f.probation
        scores.append(f.scores[p:])
        sweeps.append(f.sweep_scores(profile)[p:])
        w = f.window_of[p:]
        wins.append(np.where(w >= 0, w + offset, -1))
        offset += len(f.windows)
    windows = sum(len(f.scorable_windows()) for f in files)
    if not files:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.intp), 0
    return np.concatenate(scores), np.concatenate(sweeps), np.concatenate(wins), windows


def raw_score(files: Sequence[ScoredFile], profile: Profile, threshold: float) -> float:
    """Sum over the files of the profile's score with detections at ``score >= threshold``."""
    scores, sweeps, wins, windows = _points(files, profile)
    hit = scores >= threshold
    total = float(sweeps[hit & (wins < 0)].sum())
    caught = {}
    for w, v in zip(wins[hit & (wins >= 0)].tolist(), sweeps[hit & (wins >= 0)].tolist(), strict=True):
        caught[w] = max(caught.get(w, -math.inf), v)
    return total + sum(caught.values()) - profile.fn * (windows - len(caught))


def null_and_perfect(files: Sequence[ScoredFile], profile: Profile) -> tuple[float, float]:
    """The raw scores of a detector that never fires and of a perfect one (``tp`` per window, as NAB counts)."""
    scorable = sum(len(f.scorable_windows()) for f in files)
    return -profile.fn * scorable, profile.tp * sum(len(f.windows) for f in files)


def normalise(raw: float, files: Sequence[ScoredFile], profile: Profile) -> float:
    """``100 * (raw - null) / (perfect - null)``."""
    null, perfect = null_and_perfect(files, profile)
    return 100.0 * (raw - null) / (perfect - null)


def normalised(files: Sequence[ScoredFile], profile: Profile, threshold: float) -> float:
    """The normalised score at ``threshold``."""
    return normalise(raw_score(files, profile, threshold), files, profile)


def optimise(files: Sequence[ScoredFile], profile: Profile) -> tuple[float, float]:
    """NAB's threshold optimisation: ``(threshold, raw score)`` maximising the raw score over all files.

    Every distinct score is a candidate threshold (plus one above them all: no
    detection). Points are taken in decreasing score order; the false
    positives' values accumulate and each window's contribution is the best
    value among its detected points (``-fn`` until one is detected).
    """
    scores, sweeps, wins, windows = _points(files, profile)
    order = np.argsort(-scores, kind="stable")
    s, v, w = scores[order], sweeps[order], wins[order]
    gain = np.where(w < 0, v, 0.0)
    # per window: the running best of its detected points, as an increment over the previous best
    for k in np.unique(w[w >= 0]).tolist():
        at = np.flatnonzero(w == k)
        best = np.maximum.accumulate(v[at])
        gain[at] = np.diff(np.r_[-profile.fn, best])
    totals = -profile.fn * windows + np.cumsum(gain)
    # a threshold admits every point with a score >= it: candidates end where the next score differs
    last = np.r_[s[1:] != s[:-1], True] if len(s) else np.zeros(0, dtype=bool)
    cand_totals = np.r_[-profile.fn * windows, totals[last]]
    cand_thresholds = np.r_[math.inf, s[last]]
    i = int(np.argmax(cand_totals))
    return float(cand_thresholds[i]), float(cand_totals[i])
