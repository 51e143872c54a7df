"""Ring buffers: wrap-around, growth, cardinality cap, drift reference learning."""

from __future__ import annotations

import numpy as np
import pytest

from heritage_otel.analysis.windows import BucketWindows, SeriesWindows


def test_ring_wraps_and_keeps_the_last_points_in_order() -> None:
    """After 7 writes into 4 slots, the 4 newest values remain, oldest first."""
    w = SeriesWindows(points=4)
    rows = w.rows_for(["a"])
    for t in range(7):
        w.append(rows, np.array([float(t)]), float(t))
    assert w.recent_points(0, since=-1)[1].tolist() == [3.0, 4.0, 5.0, 6.0]
    assert w.latest_values().tolist() == [6.0]


def test_rows_grow_beyond_initial_capacity() -> None:
    """Thousands of series fit; each keeps its own values."""
    w = SeriesWindows(points=3, capacity=2)
    keys = [f"s{i}" for i in range(1000)]
    rows = w.rows_for(keys)
    w.append(rows, np.arange(1000.0), 1.0)
    assert len(w) == 1000 and w.latest_values(rows[[0, 999]]).tolist() == [0.0, 999.0]


def test_cardinality_cap_drops_new_series() -> None:
    """Series beyond max_series get row -1, are counted, and writes to them are ignored."""
    w = SeriesWindows(points=3, max_series=2)
    rows = w.rows_for(["a", "b", "c"])
    assert rows.tolist() == [0, 1, -1] and w.dropped == 1
    w.append(rows, np.array([1.0, 2.0, 3.0]), 1.0)
    assert w.latest_values().tolist() == [1.0, 2.0]


def test_bucket_reference_learned_from_first_intervals_then_frozen() -> None:
    """The reference sums the first baseline_points intervals; the current window the last points."""
    b = BucketWindows(bounds=(1.0,), points=2, baseline_points=2)
    rows = b.rows_for(["h"])
    for t, counts in enumerate(([1, 0], [2, 0], [0, 5], [0, 7])):
        b.append(rows, np.array([counts], dtype=float), float(t))
    assert b.reference[0].tolist() == [3.0, 0.0]
    assert b.reference_ready().tolist() == [True]
    assert b.current(since=-1)[0].tolist() == [0.0, 12.0]
    b.set_reference(0, [4, 4])
    assert b.reference[0].tolist() == [4.0, 4.0]
    with pytest.raises(ValueError, match="expected 2"):
        b.set_reference(0, [1, 2, 3])


def test_a_full_table_reuses_the_row_of_an_idle_series_and_clears_it() -> None:
    """With idle_s, a new key takes the row of the series written longest ago once it is idle; not before."""
    w = SeriesWindows(points=3, max_series=2, idle_s=60.0)
    w.append(w.rows_for(["old"], now=0.0), np.array([1.0]), 0.0)
    w.append(w.rows_for(["busy"], now=50.0), np.array([2.0]), 50.0)
    assert w.rows_for(["new"], now=59.0).tolist() == [-1] and w.dropped == 1  # "old" not idle yet
    (row,) = w.rows_for(["new"], now=61.0).tolist()
    assert w.evicted == [("old", row)] and "old" not in w.index and w.count == 2
    assert np.isnan(w.latest_values(np.array([row]))).all()  # nothing of "old" is left in its row
    assert w.rows_for(["another"], now=100.0).tolist() == [-1]  # "busy" (50) and "new" are not idle


def test_released_bucket_rows_start_a_new_reference() -> None:
    """A released histogram row is cleared: the next series in it learns its own reference."""
    w = BucketWindows((1.0,), points=3, baseline_points=2, max_series=1)
    (row,) = w.rows_for(["a"]).tolist()
    w.append(np.array([row]), np.array([[5.0, 5.0]]), 1.0)
    assert w.release("a") == row and w.count == 0
    assert w.rows_for(["b"]).tolist() == [row]
    assert w.reference[row].tolist() == [0.0, 0.0] and w.reference_points[row] == 0
