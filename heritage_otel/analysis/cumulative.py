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

* **reset** (a new start time, a smaller value or bucket count, or other
  bucket bounds): the series started over, so its whole value is the
  increment since the reset;
* a point **not newer** than the last one of its series (a replay, a
  duplicate) is ignored: it was counted already or is superseded;
* **staleness**: a series not updated for ``max_staleness_s`` seconds is
  forgotten by :meth:`CumulativeTracker.sweep` (run by the tracker itself
  at most once per ``max_staleness_s / 2``); its next point is a first point.

Only monotonic values are tracked: an up-down counter's level is a gauge
(see :func:`heritage_otel.analysis.exporter.to_samples`), not a running total.

Warning (statefulness, as the Collector's processor says): the state is in
memory, one entry per series, lost on restart; after a restart every series
begins again with a first point.

>>> tracker = CumulativeTracker("drop")
>>> tracker.sum("queries", start_ns=1, time_ns=10, value=5.0) is None   # baseline only
True
>>> tracker.sum("queries", start_ns=1, time_ns=20, value=8.0)
Increment(start_ns=10, value=3.0, counts=(), total=0.0, reset=False)
>>> tracker.sum("queries", start_ns=25, time_ns=30, value=2.0).value   # a restart of the source
2.0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from heritage_otel.checks import check_choice, check_number

__all__ = ["INITIAL_VALUE_POLICIES", "CumulativeTracker", "Increment", "InitialValue"]

InitialValue = Literal["auto", "keep", "drop"]
#: The valid ``initial_value`` policies.
INITIAL_VALUE_POLICIES: Final[tuple[str, ...]] = ("auto", "keep", "drop")


@dataclass(frozen=True)
class Increment:
    """What happened since the previous point: from ``start_ns`` to the point's own time.

    ``value`` for sums; ``counts`` (per bucket) and ``total`` (sum of the
    measurements) for histograms. ``reset`` is true when the increment is
    the point's whole value (a first point counted whole, or a restart).
    """

    start_ns: int
    value: float = 0.0
    counts: tuple[int, ...] = ()
    total: float = 0.0
    reset: bool = False


@dataclass
class _State:
    start_ns: int
    time_ns: int
    value: float
    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    total: float
    seen_ns: int


class CumulativeTracker:
    """Per-series memory of the last cumulative point (see the module docstring). Not thread-safe:
    callers serialise access (every user here holds its own lock while converting a batch).

    ``initial_value`` one of ``auto``, ``keep``, ``drop``; ``since_ns`` the
    moment ``auto`` compares start times with (default: now);
    ``max_staleness_s`` how long an idle series is remembered (``None``:
    forever); ``clock`` returns nanoseconds.
    """

    def __init__(
        self,
        initial_value: InitialValue = "auto",
        *,
        since_ns: int | None = None,
        max_staleness_s: float | None = 3600.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        check_choice("initial_value", initial_value, INITIAL_VALUE_POLICIES)
        if max_staleness_s is not None:
            check_number("max_staleness_s", max_staleness_s, minimum=0, exclusive_minimum=True, unit="seconds",
                         what="or None: never forget")
        self.initial_value: InitialValue = initial_value
        self._clock = clock
        self.since_ns = int(clock()) if since_ns is None else int(since_ns)
        self.max_staleness_s = max_staleness_s
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
        return self._track(key, start_ns, time_ns, 0.0, tuple(float(b) for b in bounds),
                           tuple(int(c) for c in counts), float(total))

    def _track(
        self, key: Hashable, start_ns: int, time_ns: int, value: float, bounds: tuple[float, ...],
        counts: tuple[int, ...], total: float,
    ) -> Increment | None:
        now_ns = int(self._clock())
        if now_ns >= self._next_sweep_ns:
            self.sweep(now_ns)
        prev = self._states.get(key)
        if prev is not None and time_ns <= prev.time_ns:
            prev.seen_ns = now_ns
            return None  # a replayed or duplicated point: counted already, or superseded
        self._states[key] = _State(start_ns, time_ns, value, bounds, counts, total, now_ns)
        if prev is not None and not self._restarted(prev, start_ns, value, bounds, counts):
            return Increment(prev.time_ns, value - prev.value,
                             tuple(c - p for c, p in zip(counts, prev.counts, strict=True)), total - prev.total)
        if prev is None and not self._count_first(start_ns, time_ns):
            return None
        return Increment(start_ns if start_ns > 0 else time_ns - 1, value, counts, total, reset=True)

    @staticmethod
    def _restarted(
        prev: _State, start_ns: int, value: float, bounds: tuple[float, ...], counts: tuple[int, ...],
    ) -> bool:
        return (
            prev.start_ns != start_ns or value < prev.value or prev.bounds != bounds
            or len(prev.counts) != len(counts) or any(c < p for c, p in zip(counts, prev.counts, strict=True))
        )

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
