"""One cumulative-to-delta tracker for every path that reads CUMULATIVE points.

The in-process exporter (``AnalyzingMetricExporter`` behind an OTLP exporter
that prefers CUMULATIVE), the Analyzer service's OTLP receiver and the demo's
run totals all turn running totals into per-interval increments with this
class, so they agree on the first point, resets, late points and memory.

Rules, per series (a hashable key chosen by the caller):

* **first point** of a series, by ``initial_value`` (the names of the
  Collector's ``cumulativetodelta`` processor):

  ========  ==================================================================
  policy    the first point is
  ========  ==================================================================
  ``keep``  counted whole: everything since its start time is one interval
  ``drop``  only the baseline for the next point
  ``auto``  counted whole when its start time is set, differs from its time,
            and is at or after ``since_ns`` (by default: when the tracker was
            made); otherwise the baseline only
  ========  ==================================================================

* **reset** (a new start time, a smaller value or bucket count, or bucket
  bounds with nothing in common): the series started over, so its whole
  value is the increment since the reset;
* **other bounds with some in common** (an exponential histogram whose SDK
  halved the scale, or whose offset moved): both points are merged into the
  bounds they share (each bucket into the shared bucket that holds it: exact
  counts, coarser buckets) and differenced there, not taken for a reset;
* with ``strict_start=True`` (for callers that key series by start time, so a
  restart is a new series): a smaller value with the same, set start time is
  not a restart but a second source writing the same series; the point is
  dropped and counted in :attr:`CumulativeTracker.ambiguous` instead of
  counting the other source's whole total again;
* a point **not newer** than the last one of its series (a replay, a
  duplicate) is ignored: it was counted already or is superseded;
* **staleness**: a series not updated for ``max_staleness_s`` seconds is
  forgotten by :meth:`CumulativeTracker.sweep` (run by the tracker itself
  at most once per ``max_staleness_s / 2``); its next point is a first point;
  with ``max_entries``, the least recently updated series is forgotten when a
  new one would exceed it.

Only monotonic values are tracked: an up-down counter's level is a gauge
(see :func:`heritage_otel.analysis.exporter.to_samples`), not a running total.

Warning (statefulness, as the Collector's processor says): the state is in
memory, one entry per series, lost on restart; after a restart every series
begins again with a first point.

>>> tracker = CumulativeTracker("drop")
>>> tracker.sum("queries", start_ns=1, time_ns=10, value=5.0) is None   # baseline only
True
>>> tracker.sum("queries", start_ns=1, time_ns=20, value=8.0)
Increment(start_ns=10, value=3.0, counts=(), total=0.0, reset=False, bounds=())
>>> tracker.sum("queries", start_ns=25, time_ns=30, value=2.0).value   # a restart of the source
2.0
>>> h = CumulativeTracker("keep")
>>> h.histogram("lat", 1, 10, bounds=(1.0, 2.0, 4.0), counts=(0, 1, 1, 0), total=5.0).counts
(0, 1, 1, 0)
>>> step = h.histogram("lat", 1, 20, bounds=(1.0, 4.0), counts=(0, 3, 0), total=9.0)   # scale halved
>>> step.bounds, step.counts, step.reset
((1.0, 4.0), (0, 1, 0), False)
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from heritage_otel.checks import check_choice, check_number

__all__ = ["INITIAL_VALUE_POLICIES", "CumulativeTracker", "Increment", "InitialValue", "merge_buckets"]

InitialValue = Literal["auto", "keep", "drop"]
#: The valid ``initial_value`` policies.
INITIAL_VALUE_POLICIES: Final[tuple[str, ...]] = ("auto", "keep", "drop")


@dataclass(frozen=True)
class Increment:
    """What happened since the previous point: from ``start_ns`` to the point's own time.

    ``value`` for sums; ``counts`` (per bucket) and ``total`` (sum of the
    measurements) for histograms. ``reset`` is true when the increment is
    the point's whole value (a first point counted whole, or a restart).
    ``bounds`` are the bounds ``counts`` refer to (histograms): the point's
    own, or the ones two points with different bounds share (see the module docstring).
    """

    start_ns: int
    value: float = 0.0
    counts: tuple[int, ...] = ()
    total: float = 0.0
    reset: bool = False
    bounds: tuple[float, ...] = ()


def merge_buckets(bounds: Sequence[float], counts: Sequence[int], into: Sequence[float]) -> tuple[int, ...]:
    """``counts`` over ``bounds`` summed into the buckets of ``into`` (bounds that are a subset of ``bounds``).

    Bucket ``i`` (upper bound ``bounds[i]``, the last one unbounded) goes to the bucket of ``into`` that holds it.

    >>> merge_buckets((1.0, 2.0, 4.0), (1, 2, 3, 4), (2.0,))
    (3, 7)
    """
    out = [0] * (len(into) + 1)
    for i, c in enumerate(counts):
        out[bisect_left(into, bounds[i]) if i < len(bounds) else len(into)] += int(c)
    return tuple(out)


@dataclass
class _State:
    start_ns: int
    time_ns: int
    value: float
    bounds: tuple[float, ...]
    counts: Sequence[int]  # an int64 array: 8 bytes a bucket
    total: float
    seen_ns: int


class CumulativeTracker:
    """Per-series memory of the last cumulative point (see the module docstring). Not thread-safe:
    callers serialise access (every user here holds its own lock while converting a batch).

    ``initial_value`` one of ``auto``, ``keep``, ``drop``; ``since_ns`` the
    moment ``auto`` compares start times with (default: now);
    ``max_staleness_s`` how long an idle series is remembered (``None``:
    forever); ``max_entries`` the most series remembered (``None``: no cap);
    ``strict_start`` see the module docstring; ``clock`` returns nanoseconds.
    """

    def __init__(
        self,
        initial_value: InitialValue = "auto",
        *,
        since_ns: int | None = None,
        max_staleness_s: float | None = 3600.0,
        clock: Callable[[], int] = time.time_ns,
        max_entries: int | None = None,
        strict_start: bool = False,
    ) -> None:
        check_choice("initial_value", initial_value, INITIAL_VALUE_POLICIES)
        if max_staleness_s is not None:
            check_number("max_staleness_s", max_staleness_s, minimum=0, exclusive_minimum=True, unit="seconds",
                         what="or None: never forget")
        self.initial_value: InitialValue = initial_value
        self._clock = clock
        self.since_ns = int(clock()) if since_ns is None else int(since_ns)
        self.max_staleness_s = max_staleness_s
        if max_entries is not None:
            check_number("max_entries", max_entries, minimum=1, unit="series", what="or None: no cap")
        self.max_entries = max_entries
        self.strict_start = strict_start
        #: Points dropped because two sources share one series and start time (``strict_start``).
        self.ambiguous = 0
        self._states: dict[Hashable, _State] = {}
        self._next_sweep_ns = self._sweep_due(int(clock()))

    def __len__(self) -> int:
        return len(self._states)

    def sum(self, key: Hashable, start_ns: int, time_ns: int, value: float) -> Increment | None:
        """The increment of a monotonic cumulative sum, or ``None`` (baseline only, or an old point)."""
        return self._track(key, start_ns, time_ns, float(value), (), (), 0.0)

    def histogram(
        self, key: Hashable, start_ns: int, time_ns: int, bounds: Sequence[float], counts: Sequence[int], total: float,
    ) -> Increment | None:
        """The per-bucket and sum increments of a cumulative histogram, or ``None`` (as :meth:`sum`)."""
        kept = bounds if isinstance(bounds, tuple) else tuple(float(b) for b in bounds)  # the caller's, shared
        return self._track(key, start_ns, time_ns, 0.0, kept, array("q", counts), float(total))

    def _track(
        self, key: Hashable, start_ns: int, time_ns: int, value: float, bounds: tuple[float, ...],
        counts: Sequence[int], total: float,
    ) -> Increment | None:
        now_ns = int(self._clock())
        if now_ns >= self._next_sweep_ns:
            self.sweep(now_ns)
        prev = self._states.pop(key, None)  # re-inserted below: least recently updated first
        if prev is not None and time_ns <= prev.time_ns:
            prev.seen_ns = now_ns
            self._states[key] = prev
            return None  # a replayed or duplicated point: counted already, or superseded
        if prev is None and self.max_entries is not None and len(self._states) >= self.max_entries:
            del self._states[next(iter(self._states))]
        state = _State(start_ns, time_ns, value, bounds, counts, total, now_ns)
        self._states[key] = state
        if prev is not None:
            step = self._difference(prev, state)
            if step is not None:
                return step
            if self.strict_start and start_ns > 0 and prev.start_ns == start_ns:
                self.ambiguous += 1  # a second source of the same series and start: keep the first one's state
                self._states[key] = prev
                return None
        if prev is None and not self._count_first(start_ns, time_ns):
            return None
        return Increment(start_ns if start_ns > 0 else time_ns - 1, value, tuple(counts), total, reset=True,
                         bounds=bounds)

    @staticmethod
    def _difference(prev: _State, new: _State) -> Increment | None:
        """The increment from ``prev`` to ``new``, or None when the series restarted in between."""
        if prev.start_ns != new.start_ns or new.value < prev.value:
            return None
        bounds, before, after = new.bounds, prev.counts, new.counts
        if prev.bounds != new.bounds:
            shared = tuple(sorted(set(prev.bounds) & set(new.bounds)))
            if not shared:
                return None
            before = merge_buckets(prev.bounds, prev.counts, shared)
            after = merge_buckets(new.bounds, new.counts, shared)
            bounds = shared
        elif len(before) != len(after):
            return None
        if any(c < p for c, p in zip(after, before, strict=True)):
            return None
        return Increment(prev.time_ns, new.value - prev.value, tuple(c - p for c, p in zip(after, before, strict=True)),
                         new.total - prev.total, bounds=bounds)

    def _count_first(self, start_ns: int, time_ns: int) -> bool:
        if self.initial_value == "keep":
            return True
        if self.initial_value == "drop":
            return False
        return 0 < start_ns != time_ns and start_ns >= self.since_ns

    def _sweep_due(self, now_ns: int) -> int:
        if self.max_staleness_s is None:
            return 2**63
        return now_ns + int(self.max_staleness_s * 1e9 / 2)

    def sweep(self, now_ns: int | None = None) -> int:
        """Forget the series not updated for ``max_staleness_s``; returns how many were forgotten."""
        now_ns = int(self._clock()) if now_ns is None else int(now_ns)
        self._next_sweep_ns = self._sweep_due(now_ns)
        if self.max_staleness_s is None:
            return 0
        horizon = now_ns - int(self.max_staleness_s * 1e9)
        stale = [k for k, s in self._states.items() if s.seen_ns < horizon]
        for k in stale:
            del self._states[k]
        return len(stale)

    def forget(self, key: Hashable) -> None:
        """Drop one series' state (its next point is a first point)."""
        self._states.pop(key, None)
