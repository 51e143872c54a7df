"""Window-based scoring of streaming anomaly flags (the scheme of the Numenta Anomaly Benchmark, reimplemented).

Each labelled onset gets a window of ``window_fraction * len(stream) / onsets``
points centred on it. For every window, the *first* flag inside it earns
``sigma(y)`` with ``y = (i - right) / (right - left)`` in [-1, 0] and
``sigma(y) = 2 / (1 + exp(5 y)) - 1``: about 0.987 at the window's start,
falling to 0 at its end (early detection pays). Further flags in the same
window are free. A flag outside every window costs ``fp_weight`` times
``-sigma(y)`` with ``y`` the distance past the previous window's end in window
lengths (a flag just after a window costs little, a far one ``fp_weight``); a
flag before the first window costs ``fp_weight``. A missed window costs 1.

Summed over a corpus and normalised: ``100 * (raw - null) / (perfect - null)``
where ``null = -windows`` (a detector that never fires scores 0) and
``perfect`` flags the first point of every window (scores 100).

>>> import numpy as np
>>> flags = np.zeros(1000, dtype=bool)
>>> score_corpus([(flags, (500,))]).score
0.0
>>> flags[windows_for(1000, (500,))[0][0]] = True
>>> score_corpus([(flags, (500,))]).score
100.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Score", "windows_for", "score_stream", "score_corpus", "FP_WEIGHT", "WINDOW_FRACTION"]

FP_WEIGHT = 0.11
WINDOW_FRACTION = 0.1


def _sigma(y: float) -> float:
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def windows_for(n: int, onsets: Sequence[int], window_fraction: float = WINDOW_FRACTION) -> list[tuple[int, int]]:
    """Scoring windows ``(left, right)`` (inclusive) centred on each onset, clipped to the stream."""
    if not onsets:
        return []
    length = max(int(window_fraction * n / len(onsets)), 2)
    return [(max(0, o - length // 2), min(n - 1, o - length // 2 + length - 1)) for o in sorted(onsets)]


@dataclass(frozen=True)
class Score:
    """A detector's result on a corpus: normalised score, false positives, detection delays."""

    score: float
    raw: float
    windows: int
    detected: int
    false_positives: int
    normal_points: int
    delays: tuple[int, ...]

    @property
    def fp_per_10k(self) -> float:
        """Flags outside every window per 10,000 points outside every window."""
        return 1e4 * self.false_positives / max(self.normal_points, 1)

    @property
    def median_delay(self) -> float:
        """Median of (first flag in a window - labelled onset), in points; NaN when nothing was detected."""
        return float(np.median(self.delays)) if self.delays else math.nan


def score_stream(
    flags: NDArray[np.bool_], onsets: Sequence[int], fp_weight: float = FP_WEIGHT,
    window_fraction: float = WINDOW_FRACTION,
) -> tuple[float, int, int, int, list[int]]:
    """Raw score of one stream: (raw, windows detected, false positives, normal points, delays)."""
    n = len(flags)
    wins = windows_for(n, onsets, window_fraction)
    raw = 0.0
    detected = fp = 0
    delays: list[int] = []
    hit = [False] * len(wins)
    for i in np.flatnonzero(flags).tolist():
        k = next((j for j, (lo, hi) in enumerate(wins) if lo <= i <= hi), None)
        if k is not None:
            if not hit[k]:
                lo, hi = wins[k]
                hit[k] = True
                detected += 1
                raw += _sigma((i - hi) / (hi - lo))
                delays.append(i - sorted(onsets)[k])
            continue
        fp += 1
        before = [w for w in wins if w[1] < i]
        if before:
            lo, hi = before[-1]
            raw += fp_weight * _sigma((i - hi) / (hi - lo))
        else:
            raw -= fp_weight
    raw -= hit.count(False)
    normal = n - sum(hi - lo + 1 for lo, hi in wins)
    return raw, detected, fp, normal, delays


def score_corpus(
    results: Iterable[tuple[NDArray[np.bool_], Sequence[int]]], fp_weight: float = FP_WEIGHT,
    window_fraction: float = WINDOW_FRACTION,
) -> Score:
    """Normalised score over ``(flags, onsets)`` pairs: 0 = never fires, 100 = perfect."""
    raw = perfect = null = 0.0
    windows = detected = fps = normal = 0
    delays: list[int] = []
    for flags, onsets in results:
        r, d, f, nn, dl = score_stream(np.asarray(flags, dtype=bool), onsets, fp_weight, window_fraction)
        wins = windows_for(len(flags), onsets, window_fraction)
        raw += r
        perfect += sum(_sigma(-1.0) for _ in wins)
        null -= len(wins)
        windows += len(wins)
        detected += d
        fps += f
        normal += nn
        delays += dl
    score = 100.0 * (raw - null) / (perfect - null) if windows else math.nan
    return Score(round(score, 6), raw, windows, detected, fps, normal, tuple(delays))
