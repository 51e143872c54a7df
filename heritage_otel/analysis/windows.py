"""Bounded per-series history in numpy ring buffers, one 2-D array for all series.

:class:`SeriesWindows` keeps, per series (row), the last ``points`` interval
values and their times: ``values[row, slot]``. Writes are vectorised over the
rows of one export; detectors read the whole matrix at once. Memory is
``points * 16`` bytes per series plus the key (see the benchmark).

:class:`BucketWindows` keeps histogram bucket counts for drift: per series,
the last ``points`` intervals of counts (``counts[row, slot, bucket]``) and a
reference (the sum of the first ``baseline_points`` intervals, or set
explicitly). One instance per set of bucket boundaries.

Warning: state is in memory and lost on restart; the cardinality is capped by
``max_series``: a new series beyond it takes the row of one idle for
``idle_s`` (when set), else it is dropped and counted in ``dropped``.

>>> w = SeriesWindows(points=3)
>>> rows = w.rows_for(["a", "b"])
>>> w.append(rows, np.array([1.0, 10.0]), t=1.0)
>>> w.append(rows, np.array([2.0, 20.0]), t=2.0)
>>> w.latest_values(rows).tolist()
[2.0, 20.0]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["SeriesWindows", "BucketWindows"]

_INITIAL_ROWS = 64


class _Rows(ABC):
    """Key -> row index with a cardinality cap; arrays grow by doubling; idle rows can be evicted and reused.

    With ``idle_s`` set, a new key that finds the table full takes the row of
    the series whose latest point is oldest, if that point is more than
    ``idle_s`` before ``now`` (the evicted keys are listed in :attr:`evicted`
    until the owner reads them); otherwise the new key is dropped (counted).
    """

    def __init__(self, max_series: int, idle_s: float | None = None) -> None:
        self.index: dict[Hashable, int] = {}
        self.keys: list[Hashable | None] = []
        self.max_series = max_series
        self.idle_s = idle_s
        self.dropped = 0
        #: (key, row) pairs evicted since the owner last cleared this list
        self.evicted: list[tuple[Hashable, int]] = []
        self._free: list[int] = []
        self._no_idle_before = -np.inf
        self._born = np.full(0, -np.inf)  # when each row was (re)assigned: a new row is not idle yet

    def _lookup(self, key: Hashable, now: float) -> int:
        row = self.index.get(key)
        if row is not None:
            return row
        if len(self.index) >= self.max_series and not self.evict_idle(now):
            self.dropped += 1
            return -1
        if self._free:
            row = self._free.pop()
            self.keys[row] = key
        else:
            row = len(self.keys)
            self.keys.append(key)
            self._ensure(row + 1)
            if row >= len(self._born):
                self._born = self._grow(self._born, row + 1, -np.inf)
        self._born[row] = now
        self.index[key] = row
        return row

    def rows_for(self, keys: Sequence[Hashable], now: float = -np.inf) -> NDArray[np.intp]:
        """Row of each key (created when new; -1 when over the cardinality cap and none is idle at ``now``)."""
        return np.fromiter((self._lookup(k, now) for k in keys), dtype=np.intp, count=len(keys))

    @property
    def count(self) -> int:
        """Series held (rows in use)."""
        return len(self.index)

    def latest_times(self) -> NDArray[np.float64]:
        """Time of each row's latest point (-inf for none, +inf for a free row)."""
        n = len(self.keys)
        latest = np.maximum(self.times[np.arange(n), (self.head[:n] - 1) % self.points], self._born[:n])
        if self._free:
            latest[self._free] = np.inf
        return latest

    def evict_idle(self, now: float) -> bool:
        """Free the row of the least recently written series if it is idle at ``now``; True when one was freed."""
        if self.idle_s is None or not np.isfinite(now) or now < self._no_idle_before or not self.index:
            return False
        latest = self.latest_times()
        row = int(np.argmin(latest))
        if latest[row] > now - self.idle_s:
            self._no_idle_before = float(latest[row]) + self.idle_s  # nothing turns idle before then
            return False
        key = self.keys[row]
        self.release(key)
        self.evicted.append((key, row))
        return True

    def release(self, key: Hashable) -> int | None:
        """Forget one series: its row is cleared and reused by a new key; returns the row (None if unknown)."""
        row = self.index.pop(key, None)
        if row is None:
            return None
        self.keys[row] = None
        self._clear(row)
        self._free.append(row)
        return row

    @abstractmethod
    def _ensure(self, rows: int) -> None:
        """Grow the per-row arrays to hold at least ``rows`` rows."""

    @abstractmethod
    def _clear(self, row: int) -> None:
        """Reset one row to the state of a new series."""

    @staticmethod
    def _grow(array: NDArray[Any], rows: int, fill: float) -> NDArray[Any]:
        if rows <= array.shape[0]:
            return array
        new_rows = max(rows, 2 * array.shape[0], 1)
        grown = np.full((new_rows, *array.shape[1:]), fill, dtype=array.dtype)
        grown[: array.shape[0]] = array
        return grown

    def __len__(self) -> int:
        return len(self.keys)


class SeriesWindows(_Rows):
    """Ring buffers of scalar interval values, one row per series."""

    def __init__(
        self, points: int, max_series: int = 100_000, capacity: int = _INITIAL_ROWS, idle_s: float | None = None,
    ) -> None:
        super().__init__(max_series, idle_s)
        if points < 2:
            msg = f"points = {points!r} is not valid; expected an integer >= 2"
            raise ValueError(msg)
        self.points = points
        self.values = np.full((capacity, points), np.nan)
        self.times = np.full((capacity, points), -np.inf)
        self.head = np.zeros(capacity, dtype=np.intp)
        self.exemplars: list[tuple[tuple[str, str, float], ...]] = []

    def _ensure(self, rows: int) -> None:
        self.values = self._grow(self.values, rows, np.nan)
        self.times = self._grow(self.times, rows, -np.inf)
        self.head = self._grow(self.head, rows, 0)
        while len(self.exemplars) < rows:
            self.exemplars.append(())

    def _clear(self, row: int) -> None:
        self.values[row] = np.nan
        self.times[row] = -np.inf
        self.head[row] = 0
        self.exemplars[row] = ()

    def append(
        self,
        rows: NDArray[np.intp],
        values: NDArray[np.float64],
        t: float | NDArray[np.float64],
        exemplars: Sequence[tuple[tuple[str, str, float], ...]] | None = None,
    ) -> None:
        """Write one value per row at time ``t`` (seconds); rows < 0 (dropped series) are ignored.

        A row must appear at most once per call.
        """
        keep = rows >= 0
        if not keep.all():
            rows, values = rows[keep], np.asarray(values)[keep]
            if exemplars is not None:
                exemplars = [e for e, k in zip(exemplars, keep, strict=True) if k]
            if not np.isscalar(t):
                t = np.asarray(t)[keep]
        slots = self.head[rows]
        self.values[rows, slots] = values
        self.times[rows, slots] = t
        self.head[rows] = (slots + 1) % self.points
        if exemplars is not None:
            for row, ex in zip(rows.tolist(), exemplars, strict=True):
                self.exemplars[row] = ex

    def latest_slots(self, rows: NDArray[np.intp] | None = None) -> NDArray[np.intp]:
        """Slot of the most recent value of each row."""
        head = self.head[: len(self)] if rows is None else self.head[rows]
        return (head - 1) % self.points

    def latest_values(self, rows: NDArray[np.intp] | None = None) -> NDArray[np.float64]:
        """Most recent value of each row (NaN if none)."""
        r = np.arange(len(self)) if rows is None else rows
        return self.values[r, self.latest_slots(r)]

    def recent_points(self, row: int, since: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(times, values) of one row at or after time ``since``, oldest first, finite values only."""
        order = np.roll(np.arange(self.points), -int(self.head[row]))
        t = self.times[row, order]
        v = self.values[row, order]
        keep = (t >= since) & np.isfinite(v) & np.isfinite(t)
        return t[keep], v[keep]

    def nbytes(self) -> int:
        """Bytes held by the arrays (allocated capacity)."""
        return int(self.values.nbytes + self.times.nbytes + self.head.nbytes)


class BucketWindows(_Rows):
    """Histogram bucket counts per series for drift (one instance per bucket layout)."""

    def __init__(
        self,
        bounds: Sequence[float],
        points: int,
        baseline_points: int,
        max_series: int = 100_000,
        capacity: int = 1,
        idle_s: float | None = None,
    ) -> None:
        super().__init__(max_series, idle_s)
        self.bounds = tuple(float(b) for b in bounds)
        self.buckets = len(self.bounds) + 1
        self.points = points
        self.baseline_points = baseline_points
        self.counts = np.zeros((capacity, points, self.buckets))
        self.times = np.full((capacity, points), -np.inf)
        self.head = np.zeros(capacity, dtype=np.intp)
        self.reference = np.zeros((capacity, self.buckets))
        self.reference_points = np.zeros(capacity, dtype=np.intp)
        self.reference_fixed = np.zeros(capacity, dtype=bool)

    def _ensure(self, rows: int) -> None:
        self.counts = self._grow(self.counts, rows, 0.0)
        self.times = self._grow(self.times, rows, -np.inf)
        self.head = self._grow(self.head, rows, 0)
        self.reference = self._grow(self.reference, rows, 0.0)
        self.reference_points = self._grow(self.reference_points, rows, 0)
        self.reference_fixed = self._grow(self.reference_fixed, rows, False)

    def _clear(self, row: int) -> None:
        self.counts[row] = 0.0
        self.times[row] = -np.inf
        self.head[row] = 0
        self.reference[row] = 0.0
        self.reference_points[row] = 0
        self.reference_fixed[row] = False

    def append(self, rows: NDArray[np.intp], counts: NDArray[np.float64], t: float) -> None:
        """Write one interval's bucket counts per row; learn the reference while it is not complete."""
        keep = rows >= 0
        rows, counts = rows[keep], np.asarray(counts, dtype=float)[keep]
        slots = self.head[rows]
        self.counts[rows, slots] = counts
        self.times[rows, slots] = t
        self.head[rows] = (slots + 1) % self.points
        learning = (~self.reference_fixed[rows]) & (self.reference_points[rows] < self.baseline_points)
        if learning.any():
            lr = rows[learning]
            self.reference[lr] += counts[learning]
            self.reference_points[lr] += 1

    def set_reference(self, row: int, counts: Sequence[float]) -> None:
        """Fix the reference of one row (no further learning)."""
        c = np.asarray(counts, dtype=float)
        if c.shape != (self.buckets,):
            msg = f"reference counts have {c.size} buckets; expected {self.buckets} (len(bounds) + 1)"
            raise ValueError(msg)
        self.reference[row] = c
        self.reference_fixed[row] = True

    def current(self, since: float) -> NDArray[np.float64]:
        """Per row, the bucket counts summed over the intervals at or after ``since``."""
        n = len(self)
        mask = self.times[:n] >= since
        return np.einsum("rkb,rk->rb", self.counts[:n], mask.astype(float))

    def reference_ready(self) -> NDArray[np.bool_]:
        """Rows whose reference is fixed or completely learned."""
        n = len(self)
        return self.reference_fixed[:n] | (self.reference_points[:n] >= self.baseline_points)

    def nbytes(self) -> int:
        """Bytes held by the arrays (allocated capacity)."""
        return int(self.counts.nbytes + self.times.nbytes + self.reference.nbytes + self.head.nbytes)
