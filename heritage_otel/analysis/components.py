"""Per-component call statistics (the dashboard's Components page), from metric samples.

One definition of a component's calls, whoever records them: in each
interval, the measurements of ``heritage.component.duration`` (one per
call: the instrumentor, ``Monitor.record_component_performance``) or, when
more, the uses of ``heritage.component.uses`` (a query that named the
component without a duration: the facade's ``record_query(components_used=...)``),
so a component reported both ways is not counted twice. Failures come from
``heritage.errors`` carrying ``heritage.component`` (the instrumentor,
``FallbackChain``, ``ErrorHandler``). Everything is summed over every
replica for the last ``window_s`` seconds. Latencies (ms) are the mean and
the p95 estimated from the merged buckets of the measured calls, and None
(unknown, not 0) when no call was measured; ``timed_calls`` says how many
were. Status: ``ok`` at a success rate >= 99 %, ``degraded`` >= 90 %,
``failing`` below (or failures with no call known), ``idle`` with nothing
in the window.

>>> from heritage_otel.analysis.samples import IntervalSample, SeriesKey, KIND_SUM
>>> table = ComponentTable(window_s=3600)
>>> calls = IntervalSample.from_histogram(SeriesKey.of("heritage.component.duration", {"heritage.component": "simrank"}),
...     start_ns=0, end_ns=10**10, bounds=(0.01, 0.1), bucket_counts=(50, 50, 0), total=2.5, unit="s")
>>> errors = IntervalSample(SeriesKey.of("heritage.errors", {"heritage.component": "simrank"}), KIND_SUM, 0, 10**10, 2, 2)
>>> uses = IntervalSample(SeriesKey.of("heritage.component.uses", {"heritage.component": "horn_index"}),
...     KIND_SUM, 0, 10**10, 40, 40)
>>> table.add([calls, errors, uses])
>>> [(r["component"], r["calls"], r["timed_calls"], r["failures"], r["success_rate"], r["latency_mean_ms"], r["status"])
...  for r in table.rows(now_s=10)]
[('horn_index', 40, 0, 0, 1.0, None, 'ok'), ('simrank', 100, 100, 2, 0.98, 25.0, 'degraded')]
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any, Final

import numpy as np

from heritage_otel import semconv
from heritage_otel.analysis.cumulative import merge_buckets
from heritage_otel.analysis.samples import KIND_HISTOGRAM, IntervalSample, bucket_quantiles

__all__ = ["ComponentTable"]

_MAX_COMPONENTS: Final = 256
#: One interval of measured calls: time, count, sum, bounds, bucket counts, unit, min, max.
_Timed = tuple[float, float, float, tuple[float, ...], Any, str, float, float]
_MAX_ENTRIES: Final = 4096
#: Bytes one kept interval costs besides its bucket counts (a tuple, its floats, the deque slot).
ENTRY_BYTES: Final = 200
#: Bytes per bucket count (an int64 array).
BUCKET_BYTES: Final = 8


def _component(sample: IntervalSample) -> str | None:
    for k, v in sample.series.attributes:
        if k == semconv.COMPONENT:
            return v
    return None


def _cost(entry: tuple[Any, ...]) -> int:
    return ENTRY_BYTES + (BUCKET_BYTES * len(entry[4]) if len(entry) > 4 else 0)


def _common_buckets(entries: list[Any]) -> tuple[tuple[float, ...], list[Any]]:
    """Bounds every interval can be summed in, and each interval's counts in them: the bounds all layouts share
    (an SDK's exponential histograms move theirs; merging buckets keeps every count), else the layout of most
    calls and only its intervals."""
    layouts = {e[3] for e in entries}
    if len(layouts) == 1:
        return entries[0][3], [e[4] for e in entries]
    shared = set.intersection(*(set(b) for b in layouts))
    if shared:
        bounds = tuple(sorted(shared))
        return bounds, [merge_buckets(e[3], e[4], bounds) for e in entries]
    calls: dict[tuple[float, ...], float] = {}
    for e in entries:
        calls[e[3]] = calls.get(e[3], 0.0) + e[1]
    bounds = max(calls, key=lambda b: calls[b])
    return bounds, [e[4] for e in entries if e[3] == bounds]


class ComponentTable:
    """Rolling per-component totals. Thread-safe; bounded: 256 components x 4096 intervals each, and
    ``max_bytes`` over all of them (:data:`ENTRY_BYTES` per interval plus 8 per bucket count). Over it,
    intervals older than the window go first; then new intervals are dropped and counted in :attr:`dropped`."""

    def __init__(self, window_s: float = 3600.0, max_bytes: int = 64 << 20) -> None:
        self.window_s = window_s
        self.max_bytes = max_bytes
        #: Bytes held (estimated as above) and intervals dropped over ``max_bytes``.
        self.bytes = 0
        self.dropped = 0
        self._calls: dict[str, deque[_Timed]] = {}
        self._failures: dict[str, deque[tuple[float, float]]] = {}
        self._uses: dict[str, deque[tuple[float, float]]] = {}
        self._layouts: dict[tuple[float, ...], tuple[float, ...]] = {}
        self._lock = threading.Lock()

    def add(self, samples: Iterable[IntervalSample]) -> None:
        """Take one batch of per-replica samples (other metrics are ignored)."""
        with self._lock:
            for s in samples:
                name = _component(s)
                if name is None:
                    continue
                t = s.end_ns / 1e9
                entry: tuple[Any, ...]
                if s.series.metric == semconv.METRIC_COMPONENT_DURATION and s.kind == KIND_HISTOGRAM:
                    table: dict[str, deque[Any]] = self._calls
                    bounds = self._layouts.setdefault(s.bounds, s.bounds) if len(self._layouts) < _MAX_ENTRIES \
                        else self._layouts.get(s.bounds, s.bounds)  # shared tuples, not one per interval
                    entry = (t, s.count, s.sum, bounds, np.asarray(s.bucket_counts, dtype=np.int64), s.unit,
                             s.minimum, s.maximum)
                elif s.series.metric == semconv.METRIC_ERRORS and s.count > 0:
                    table, entry = self._failures, (t, s.count)
                elif s.series.metric == semconv.METRIC_COMPONENT_USES and s.count > 0:
                    table, entry = self._uses, (t, s.count)
                else:
                    continue
                d = self._slot(table, name)
                if d is not None:
                    self._append(d, entry, t)

    @property
    def intervals(self) -> int:
        """Intervals held over every component."""
        with self._lock:
            return sum(len(d) for table in (self._calls, self._failures, self._uses) for d in table.values())

    def _append(self, d: deque[Any], entry: tuple[Any, ...], now: float) -> None:
        cost = _cost(entry)
        if self.bytes + cost > self.max_bytes:
            self._prune(now - self.window_s)
            if self.bytes + cost > self.max_bytes:
                self.dropped += 1
                return
        if len(d) == d.maxlen:
            self.bytes -= _cost(d[0])
        d.append(entry)
        self.bytes += cost

    def _prune(self, since: float) -> None:
        """Drop every interval older than ``since`` (each deque is in arrival order, mostly time order)."""
        for table in (self._calls, self._failures, self._uses):
            for d in table.values():
                while d and d[0][0] < since:
                    self.bytes -= _cost(d.popleft())

    def _slot(self, table: dict[str, deque[Any]], name: str) -> deque[Any] | None:
        d = table.get(name)
        if d is None:
            known = set(self._calls) | set(self._failures) | set(self._uses)
            if name not in known and len(known) >= _MAX_COMPONENTS:
                return None
            d = table[name] = deque(maxlen=_MAX_ENTRIES)
        return d

    def rows(self, now_s: float) -> list[dict[str, Any]]:
        """One row per component, sorted by name."""
        since = now_s - self.window_s
        out = []
        with self._lock:
            names = sorted(set(self._calls) | set(self._failures) | set(self._uses))
            for name in names:
                entries = [e for e in self._calls.get(name, ()) if e[0] >= since]
                failures = sum(c for t, c in self._failures.get(name, ()) if t >= since)
                per_interval: dict[float, list[float]] = {}
                for e in entries:
                    per_interval.setdefault(e[0], [0.0, 0.0])[0] += e[1]
                for t, c in self._uses.get(name, ()):
                    if t >= since:
                        per_interval.setdefault(t, [0.0, 0.0])[1] += c
                calls = sum(max(timed, used) for timed, used in per_interval.values())
                out.append(self._row(name, entries, calls, failures))
        return out

    @staticmethod
    def _row(name: str, entries: list[Any], calls: float, failures: float) -> dict[str, Any]:
        mean_ms = p95_ms = None
        timed = sum(e[1] for e in entries)
        if timed > 0:
            scale = 1.0 if entries[0][5] == "ms" else 1000.0
            mean_ms = sum(e[2] for e in entries) / timed * scale
            bounds, same = _common_buckets(entries)
            if bounds and same:
                lows = [e[6] for e in entries if math.isfinite(e[6])]
                highs = [e[7] for e in entries if math.isfinite(e[7])]
                lo = min(lows) if len(lows) == len(entries) else None  # the bounds of every call, or none
                hi = max(highs) if len(highs) == len(entries) else None
                (p95,) = bucket_quantiles(bounds, np.sum(same, axis=0), (0.95,), lo, hi)
                p95_ms = p95 * scale if math.isfinite(p95) else None
        rate = None if calls <= 0 else max(0.0, 1.0 - failures / calls)
        if rate is None:
            status = "failing" if failures > 0 else "idle"
        else:
            status = "ok" if rate >= 0.99 else "degraded" if rate >= 0.9 else "failing"
        return {
            "component": name,
            "calls": int(calls),
            "timed_calls": int(timed),
            "failures": int(failures),
            "success_rate": None if rate is None else round(rate, 4),
            "latency_mean_ms": None if mean_ms is None else round(mean_ms, 3),
            "latency_p95_ms": None if p95_ms is None else round(p95_ms, 3),
            "status": status,
        }
