"""Per-slot counts over a rolling window, and their state as plain data."""

from __future__ import annotations

import json

from heritage_otel.analysis.slo.ring import SlotRing


def test_counts_older_than_the_ring_are_gone() -> None:
    ring = SlotRing(slot_s=10, slots=6)
    ring.add(5, 1, 1)
    ring.add(65, 2, 2)
    assert ring.sums(65, 1000) == (2.0, 2.0)
    assert ring.add(0, 1, 1) is False


def test_a_window_sums_whole_slots_before_now() -> None:
    ring = SlotRing(slot_s=10, slots=100)
    for t in range(0, 100, 10):
        ring.add(t + 5, 1, 2)
    assert ring.sums(99, 30) == (3.0, 6.0)


def test_state_is_json_and_restores_the_same_counts() -> None:
    ring = SlotRing(slot_s=10, slots=10)
    ring.add(15, 3, 4)
    state = json.loads(json.dumps(ring.state()))
    fresh = SlotRing(slot_s=10, slots=10)
    assert fresh.restore(state) and fresh.sums(20, 100) == (3.0, 4.0)


def test_a_state_of_another_shape_is_refused() -> None:
    ring = SlotRing(slot_s=10, slots=10)
    ring.add(15, 3, 4)
    other = SlotRing(slot_s=5, slots=10)
    assert other.restore(ring.state()) is False and other.sums(20, 100) == (0.0, 0.0)
