"""NAB's windowed-Gaussian baseline, as NAB describes it: the scorer's yardstick (not a registry detector).

Each value is scored against the mean and (population) standard deviation of
the values before it, ``1 - Q(|x - mean| / std)`` with ``Q`` the normal tail
probability (a score in ``[0.5, 1]``; 0 for the first value). The window
holds up to 6,400 values and, once full, slides forward 100 values at a time
(its statistics are refreshed then, or with every value while it fills); a
zero spread is taken as ``1e-6``.

>>> s = windowed_gaussian(np.r_[np.zeros(50), 1.0, 100.0])
>>> float(s[0]), float(s[50]), float(s[51])
(0.0, 1.0, 1.0)
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["windowed_gaussian"]

WINDOW: Final = 6400
STEP: Final = 100


def windowed_gaussian(values: NDArray[np.float64], window: int = WINDOW, step: int = STEP) -> NDArray[np.float64]:
    """Per-point scores of the windowed Gaussian (see the module docstring)."""
    x = np.asarray(values, dtype=float)
    out = np.zeros(len(x))
    kept: list[float] = []
    pending: list[float] = []
    mean, std = 0.0, 1.0
    for i, v in enumerate(x.tolist()):
        if kept:
            z = abs(v - mean) / std
            out[i] = 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
        if len(kept) < window:
            kept.append(v)
        else:
            pending.append(v)
            if len(pending) < step:
                continue
            kept = kept[step:] + pending
            pending = []
        arr = np.asarray(kept)
        mean, std = float(arr.mean()), float(arr.std())
        std = std if std != 0.0 else 1e-6
    return out
