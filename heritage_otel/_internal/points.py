"""Compact bounded storage of (time, value) points for one series: 12 bytes a point.

Values are float64 (exact); times are float32 seconds relative to the
series' first point (about 8 ms resolution after a day, enough for minute
windows). Capacity grows by doubling up to ``capacity``, then the oldest
point is overwritten.

>>> series = PointSeries(capacity=3)
>>> for t, v in [(100.0, 1.0), (101.0, 2.0), (102.0, 3.0), (103.0, 4.0)]:
...     series.append(t, v)
>>> series.values(since=101.5).tolist()
[3.0, 4.0]
>>> len(series), series.nbytes
(3, 36)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["PointSeries"]

_INITIAL = 16


class PointSeries:
    """A ring of at most ``capacity`` points, oldest first when read. Not thread-safe (callers lock)."""

    __slots__ = ("_epoch", "_size", "_start", "_t", "_v", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        n = min(_INITIAL, self.capacity)
        self._t = np.empty(n, dtype=np.float32)
        self._v = np.empty(n, dtype=np.float64)
        self._start = 0
        self._size = 0
        self._epoch: float | None = None

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes held by the point arrays."""
        return int(self._t.nbytes + self._v.nbytes)

    def append(self, t: float, value: float) -> None:
        """Add one point (time in seconds)."""
        if self._epoch is None:
            self._epoch = t
        n = len(self._v)
        if self._size == n and n < self.capacity:
            grown = min(self.capacity, 2 * n)
            t_arr, v_arr = self._ordered()
            self._t = np.empty(grown, dtype=np.float32)
            self._v = np.empty(grown, dtype=np.float64)
            self._t[:n], self._v[:n] = t_arr, v_arr
            self._start, n = 0, grown
        if self._size < n:
            i = (self._start + self._size) % n
            self._size += 1
        else:
            i = self._start
            self._start = (self._start + 1) % n
        self._t[i] = t - self._epoch
        self._v[i] = value

    def _ordered(self) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
        idx = (self._start + np.arange(self._size)) % len(self._v)
        return self._t[idx], self._v[idx]

    def values(self, since: float = -np.inf) -> NDArray[np.float64]:
        """Values of the points at or after ``since`` (seconds), oldest first."""
        if self._size == 0 or self._epoch is None:
            return np.empty(0)
        t, v = self._ordered()
        return v[t >= np.float32(since - self._epoch)] if np.isfinite(since) else v

    def drop_before(self, since: float) -> None:
        """Forget the points older than ``since`` (seconds)."""
        if self._size == 0 or self._epoch is None:
            return
        t, _ = self._ordered()
        old = int(np.count_nonzero(t < np.float32(since - self._epoch)))
        self._start = (self._start + old) % len(self._v)
        self._size -= old
