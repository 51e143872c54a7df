"""Good and total event counts per time slot, in a ring of fixed length: what a budget window keeps.

A ring of ``slots`` slots of ``slot_s`` seconds holds the last
``slots * slot_s`` seconds; adding to a newer slot clears the slots between.
Its state is plain data (numbers and lists of numbers), so it serialises to
JSON (:meth:`SlotRing.state`, :meth:`SlotRing.restore`).

>>> ring = SlotRing(slot_s=60, slots=60)
>>> ring.add(30.0, good=99, total=100); ring.add(90.0, good=50, total=100)
True
True
>>> ring.sums(now=100.0, window_s=3600)
(149.0, 200.0)
>>> ring.sums(now=100.0, window_s=60)
(50.0, 100.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["SlotRing"]


class SlotRing:
    """Per-slot good/total counts over the last ``slots`` slots of ``slot_s`` seconds."""

    def __init__(self, slot_s: float, slots: int) -> None:
        self.slot_s = float(slot_s)
        self.slots = int(slots)
        self.good = np.zeros(self.slots)
        self.total = np.zeros(self.slots)
        self.last: int | None = None

    def _slot(self, t: float) -> int:
        return math.floor(t / self.slot_s)

    def add(self, t: float, good: float, total: float) -> bool:
        """Count events at time ``t`` (seconds); False when ``t`` is older than the ring holds."""
        slot = self._slot(t)
        if self.last is None:
            self.last = slot
        if slot > self.last:
            gap = slot - self.last
            if gap >= self.slots:
                self.good[:] = 0.0
                self.total[:] = 0.0
            else:
                idx = np.arange(self.last + 1, slot + 1) % self.slots
                self.good[idx] = 0.0
                self.total[idx] = 0.0
            self.last = slot
        elif slot <= self.last - self.slots:
            return False
        i = slot % self.slots
        self.good[i] += good
        self.total[i] += total
        return True

    def sums(self, now: float, window_s: float) -> tuple[float, float]:
        """(good, total) in the slots of the last ``window_s`` seconds before ``now`` (whole slots)."""
        if self.last is None:
            return 0.0, 0.0
        hi = min(self._slot(now), self.last)
        lo = max(self._slot(now - window_s) + 1, self.last - self.slots + 1)
        if hi < lo:
            return 0.0, 0.0
        idx = np.arange(lo, hi + 1) % self.slots
        return float(self.good[idx].sum()), float(self.total[idx].sum())

    def state(self) -> dict[str, Any]:
        """Plain data: slot length, slot count, newest slot and the two count lists."""
        return {"slot_s": self.slot_s, "slots": self.slots, "last": self.last,
                "good": self.good.tolist(), "total": self.total.tolist()}

    def restore(self, state: Mapping[str, Any]) -> bool:
        """Take a :meth:`state` of a ring of the same shape; False (nothing changed) for any other."""
        try:
            same = float(state["slot_s"]) == self.slot_s and int(state["slots"]) == self.slots
            good = np.asarray(state["good"], dtype=float)
            total = np.asarray(state["total"], dtype=float)
            last = state["last"]
        except (KeyError, TypeError, ValueError):
            return False
        if (not same or good.shape != (self.slots,) or total.shape != (self.slots,)
                or not (np.isfinite(good).all() and np.isfinite(total).all())
                or (last is not None and not isinstance(last, int))):
            return False
        self.good, self.total, self.last = good, total, last
        return True
