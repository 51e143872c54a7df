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
``max_series`` (new series beyond it are dropped and counted in ``dropped``).

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
    """Key -> row index with a cardinality cap; arrays grow by doubling."""

    def __init__(self, max_series: int) -> None:
        self.index: dict[Hashable, int] = {}
        self.keys: list[Hashable] = []
        self.max_series = max_series
        self.dropped = 0

    def _lookup(self, key: Hashable) -> int:
        row = self.index.get(key)
        if row is not None:
            return row
        if len(self.keys) >= self.max_series:
            self.dropped += 1
            return -1
        row = len(self.keys)
        self.index[key] = row
        self.keys.append(key)
        self._ensure(row + 1)
        return row

    def rows_for(self, keys: Sequence[Hashable]) -> NDArray[np.intp]:
        """Row of each key (created when new; -1 when over the cardinality cap)."""
        return np.fromiter((self._lookup(k) for k in keys), dtype=np.intp, count=len(keys))

    @abstractmethod
    def _ensure(self, rows: int) -> None:
        """Grow the per-row arrays to hold at least ``rows`` rows."""

    @staticmethod
    def _grow(array: NDArray[Any], rows: int, fill: float) -> NDArray[Any]:
        if rows <= array.shape[0]:
            return array
        new_rows = max(rows, 2 * array.shape[0], _INITIAL_ROWS)
        grown = np.full((new_rows, *array.shape[1:]), fill, dtype=array.dtype)
        grown[: array.shape[0]] = array
        return grown

    def __len__(self) -> int:
        return len(self.keys)


class SeriesWindows(_Rows):
    """Ring buffers of scalar interval values, one row per series."""

    def __init__(self, points: int, max_series: int = 100_000, capacity: int = _INITIAL_ROWS) -> None:
        super().__init__(max_series)
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
        capacity: int = _INITIAL_ROWS,
    ) -> None:
        super().__init__(max_series)
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
