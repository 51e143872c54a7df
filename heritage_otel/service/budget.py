"""What the Analyzer service keeps of all requests together: series admission (with idle eviction) and layouts.

The receiver admits a series (``metric``, point attributes, resource) while
the total, its service's and its replica's counts are under their caps
(``max_series``, ``max_series_per_service``, ``max_series_per_replica``).
When a cap is reached, the series that has gone longest without a point is
evicted if it has been idle for ``series_idle_s`` (counted in
``series_evicted``), so junk that filled the table once never locks a new
service out; only when every candidate is still active is the new series
refused (counted under the cap's name). Evicted keys are handed to the
caller (:meth:`SeriesAdmission.drain_evicted`) to forget their other state.

Histogram bucket layouts (distinct bound sets) are capped per service
(``max_bucket_layouts``), so one service with many exponential layouts
cannot use up the cap for every other (and a service at its cap forgets a
layout unused for ``series_idle_s``); the total is capped at
:data:`LAYOUTS_PER_SERVICE_TOTAL_FACTOR` times that.

>>> from heritage_otel.service.limits import DropCounters
>>> now = [0.0]
>>> admission = SeriesAdmission(max_series=1, per_service=10, per_replica=10, idle_s=60,
...                             counters=DropCounters(), clock=lambda: now[0])
>>> res = (("service.name", "junk"),)
>>> admission.admit("m1", res), admission.admit("m2", (("service.name", "real"),))
(None, 'series')
>>> now[0] = 61.0
>>> admission.admit("m2", (("service.name", "real"),)), admission.drain_evicted()
(None, ['m1'])
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, Final

from heritage_otel import semconv
from heritage_otel.analysis.alerts import (
    ALERT_BYTES,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_INCIDENT_HISTORY_SIZE,
    DEFAULT_MAX_ACTIVE,
    MEMBER_BYTES,
)
from heritage_otel.analysis.incidents import MAX_CLOSED, MAX_MEMBERS, MAX_PAST
from heritage_otel.service.limits import DropCounters

__all__ = ["CEILING_ROWS", "HistogramLayouts", "LAYOUTS_PER_SERVICE_TOTAL_FACTOR", "SeriesAdmission", "ceiling",
           "key_bytes"]

#: The total of distinct bucket layouts held is at most this many times ``max_bucket_layouts`` (per service).
LAYOUTS_PER_SERVICE_TOTAL_FACTOR: Final = 16
#: Oldest series looked at for an idle one of the same service or replica (bounded work per refusal).
_SCAN: Final = 64


#: Bytes an attribute costs in a series key besides its characters (a pair tuple and two string headers).
PAIR_BYTES: Final = 100


def key_bytes(metric: str, attributes: Any) -> int:
    """Bytes a series' name and attributes hold (characters plus :data:`PAIR_BYTES` per attribute);
    what ``max_series_key_bytes`` bounds, with the resource labels counted the same way.

    >>> key_bytes("m", {"a": "xy", "b": 1})
    206
    """
    return len(metric) + sum(len(str(k)) + len(str(v)) + PAIR_BYTES for k, v in attributes.items())


class SeriesAdmission:
    """Admits series under the caps, evicting the least recently seen idle one when full. Thread-safe.

    A series is any hashable key; its service and replica come from the
    ``resource`` labels (``service.name``, ``service.instance.id``).
    ``clock`` returns seconds. Memory: one entry per admitted series.
    """

    def __init__(
        self, *, max_series: int, per_service: int, per_replica: int, idle_s: float, counters: DropCounters,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_series, self.per_service, self.per_replica = max_series, per_service, per_replica
        self.idle_s = idle_s
        self.counters = counters
        self._clock = clock
        #: key -> (last seen, service, replica), least recently seen first
        self._seen: dict[Hashable, tuple[float, Any, Any]] = {}
        self._services: Counter[Any] = Counter()
        self._replicas: Counter[Any] = Counter()
        self._evicted: list[Hashable] = []
        self.last_refused: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._seen

    def admit(self, key: Hashable, resource: tuple[tuple[str, str], ...]) -> str | None:
        """None when ``key`` is (now) admitted (and marked seen), else the name of the cap that refused it."""
        now = self._clock()
        with self._lock:
            entry = self._seen.pop(key, None)
            if entry is not None:
                self._seen[key] = (now, entry[1], entry[2])
                return None
            labels = dict(resource)
            service = labels.get(semconv.SERVICE_NAME)
            replica = (service, labels.get(semconv.SERVICE_INSTANCE_ID))
            refused = self._full(service, replica, now)
            if refused is None:
                self._seen[key] = (now, service, replica)
                self._services[service] += 1
                self._replicas[replica] += 1
                return None
            self.last_refused = (now, refused)
        self.counters.add(refused)
        return refused

    def _full(self, service: Any, replica: Any, now: float) -> str | None:
        """None when there is room (after evicting an idle series if needed), else the cap that is full."""
        checks = (("series", len(self._seen) >= self.max_series, None),
                  ("series_per_service", self._services[service] >= self.per_service, 1),
                  ("series_per_replica", self._replicas[replica] >= self.per_replica, 2))
        for name, full, field in checks:
            if full and not self._evict_idle(now, field, service if field == 1 else replica):
                return name
        return None

    def _evict_idle(self, now: float, field: int | None, owner: Any) -> bool:
        horizon = now - self.idle_s
        for i, (key, (seen, service, replica)) in enumerate(self._seen.items()):
            if i >= _SCAN or seen > horizon:
                return False  # least recently seen first: nothing further is idle
            if field is None or (service, replica)[field - 1] == owner:
                del self._seen[key]
                self._services[service] -= 1
                self._replicas[replica] -= 1
                if not self._services[service]:
                    del self._services[service]
                if not self._replicas[replica]:
                    del self._replicas[replica]
                self._evicted.append(key)
                self.counters.add("series_evicted")
                return True
        return False

    def drain_evicted(self) -> list[Hashable]:
        """The keys evicted since the last call (their other state may be forgotten)."""
        with self._lock:
            out, self._evicted = self._evicted, []
        return out

    def nbytes(self) -> int:
        """Approximate bytes of the admission table itself (entries, not the keys, which other tables share)."""
        return sys.getsizeof(self._seen) + 64 * len(self._seen)


class HistogramLayouts:
    """Bucket-count and distinct-layout caps for histogram points; layouts are capped per service.

    A service at its cap forgets its least recently used layout when that one
    has not been used for ``idle_s`` seconds (an SDK's exponential histograms
    move their bounds over time), so its new layouts are not refused forever.

    >>> layouts = HistogramLayouts(max_buckets=4, max_layouts=1, counters=DropCounters())
    >>> layouts.refuse((1.0, 2.0), "a"), layouts.refuse((1.0, 2.0), "a"), layouts.refuse((5.0,), "a")
    (None, None, 'bucket_layouts')
    >>> layouts.refuse((5.0,), "b"), layouts.refuse(tuple(range(9)), "b")
    (None, 'histogram_buckets')
    """

    def __init__(
        self, *, max_buckets: int, max_layouts: int, counters: DropCounters, idle_s: float = float("inf"),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_buckets, self.max_layouts, self.counters = max_buckets, max_layouts, counters
        self.max_total = max_layouts * LAYOUTS_PER_SERVICE_TOTAL_FACTOR
        self.idle_s = idle_s
        self._clock = clock
        #: bounds -> the services using them (the tuple held once: :meth:`shared`)
        self._layouts: dict[tuple[float, ...], set[Any]] = {}
        self._shared: dict[tuple[float, ...], tuple[float, ...]] = {}
        #: per service, its layouts and when each was last used, least recently used first
        self._used: dict[Any, dict[tuple[float, ...], float]] = {}
        self._lock = threading.Lock()

    def too_many_buckets(self, buckets: int) -> bool:
        """True (counted) when a point with ``buckets`` buckets is over the cap; check before building bounds."""
        if buckets > self.max_buckets:
            self.counters.add("histogram_buckets")
            return True
        return False

    def refuse(self, bounds: tuple[float, ...], service: Any = None) -> str | None:
        """None when ``service`` may keep a point with these explicit bounds, else the cap that refused it (counted)."""
        if self.too_many_buckets(len(bounds) + 1):
            return "histogram_buckets"
        now = self._clock()
        with self._lock:
            used = self._used.setdefault(service, {})
            if used.pop(bounds, None) is not None:
                used[bounds] = now
                return None
            if len(used) >= self.max_layouts:
                oldest, last = next(iter(used.items()))
                if last > now - self.idle_s:
                    return self._refused()
                self._release(service, oldest)
            users = self._layouts.get(bounds)
            if users is None and len(self._layouts) >= self.max_total:
                return self._refused()
            if users is None:
                users = self._layouts[bounds] = set()
                self._shared[bounds] = bounds
            users.add(service)
            used[bounds] = now
            return None

    def _refused(self) -> str:
        self.counters.add("bucket_layouts")
        return "bucket_layouts"

    def _release(self, service: Any, bounds: tuple[float, ...]) -> None:
        del self._used[service][bounds]
        users = self._layouts[bounds]
        users.discard(service)
        if not users:
            del self._layouts[bounds]
            del self._shared[bounds]

    def shared(self, bounds: tuple[float, ...]) -> tuple[float, ...]:
        """The one tuple held for these bounds (after :meth:`refuse` admitted them), so state keeps no copies."""
        return self._shared.get(bounds, bounds)

    def __len__(self) -> int:
        return len(self._layouts)

    def nbytes(self) -> int:
        """Approximate bytes held: the bounds tuples (one float object each) and the sets of users."""
        return sum(sys.getsizeof(b) + 24 * len(b) + 216 for b in self._layouts)


#: Per-object sizes the ceiling uses (CPython 3.11 on 64 bits, rounded up; ``benchmarks/bench_budget.py`` checks them).
_KEY_BYTES: Final = 300          # a SeriesKey, its tuples, and the dict slots of the tables that share it
_EXEMPLARS_BYTES: Final = 1_300  # five (trace id, span id, value) tuples kept per series row
_DETECTOR_ROW_BYTES: Final = 200  # streaming detector state and rule/profile indexes per row
_STATE_BYTES: Final = 300        # one cumulative state besides its bucket counts (8 bytes each)
_WINDOW_BYTES: Final = 120       # one remembered DELTA (source, start, end) window
_LAYOUT_BYTES: Final = 32        # one bound of a held bucket layout (a float object and its slot)
_SERVICE_BYTES: Final = 100      # one listed service besides its name's characters
_ACC_BYTES: Final = 400          # one open fleet accumulator besides its buckets and exemplars
_EXEMPLAR_BYTES: Final = 250     # one (trace id, span id, value) exemplar
#: Peak bytes one request holds while decoded, per decompressed body byte (the body included; the hostile suite
#: measured at most 2.5: ``tests/service/hostile/test_amplification.py``, docs/fleet-mode.md).
DECODE_PEAK_FACTOR: Final = 2.5
#: Peak bytes per decoded element (message or JSON value) of the element-dense shapes, which hold more per body
#: byte (150k attributes: 300k messages, 20 MB; an 8,192-point JSON export: 156k values, 10 MB; measured).
DECODE_ELEMENT_BYTES: Final = 70
_ACTIVE_BYTES: Final = 500       # one active alert's track, dict slots and cooldown entry besides its key
_INCIDENT_BYTES: Final = 1_000   # one Incident besides its members

#: The structures :func:`ceiling` bounds, with how (the table in docs/fleet-mode.md, in this order).
CEILING_ROWS: Final = {
    "request_bodies": "`max_buffered_bytes`",
    "request_decoding": "the larger of 2.5 x min(`max_concurrent_ingest` x `max_request_bytes`, `max_buffered_bytes`) "
                        "and `max_concurrent_ingest` x `max_request_items` x 70",
    "series_keys": "2 x `max_series` x (`max_series_key_bytes` + 300) + indicator headroom",
    "analyzer_windows": "Analyzer rows (2 x `max_series` + 10,000, capacity doubled) x (points x 16 + exemplars 1,300 + detectors 200)",
    "drift_buckets": "2 x `max_bucket_cells` x (`drift_window_points` + 1) x 8",
    "cumulative_states": "`max_series` x (300 + `max_histogram_buckets` x 8)",
    "delta_windows": "`max_series` x `max_delta_windows` x 120",
    "bucket_layouts": "16 x `max_bucket_layouts` x `max_histogram_buckets` x 32",
    "series_admission": "`max_series` x 300",
    "services": "`max_services` x (`max_attribute_value_length` + 100)",
    "fleet_open_intervals": "`max_series` x (400 + `max_histogram_buckets` x 8 + 10 exemplars x 250)",
    "component_intervals": "`max_component_bytes`",
    "queries": "`query_store_bytes`",
    "alerts": f"{DEFAULT_MAX_ACTIVE:,} active x (alert + 500 + `max_series_key_bytes`) + {DEFAULT_HISTORY_SIZE:,} "
              f"events x alert + {DEFAULT_INCIDENT_HISTORY_SIZE:,} incident notes x (alert + {MAX_MEMBERS} members); "
              "alert = 5,500 + `max_series_key_bytes`, member = 3,000 + `max_series_key_bytes`",
    "incidents": f"{DEFAULT_MAX_ACTIVE:,} open x (1,000 + member) + {MAX_PAST:,} resolved members x (alert + member) "
                 f"+ {MAX_CLOSED} resolved incidents x 1,000",
}


def _capacity(rows: int) -> int:
    """Rows a window table allocates for ``rows`` series (it doubles from 64)."""
    capacity = 64
    while capacity < rows:
        capacity *= 2
    return capacity


def ceiling(config: Any, analyzer_config: Any) -> dict[str, int]:
    """Worst-case bytes of each structure of :data:`CEILING_ROWS` at these settings (a ``ServiceConfig`` and the
    service's ``AnalyzerConfig``); their sum is the documented ceiling.

    >>> from heritage_otel.analysis import AnalyzerConfig
    >>> from heritage_otel.service.config import ServiceConfig
    >>> rows = ceiling(ServiceConfig(), AnalyzerConfig())
    >>> list(rows) == list(CEILING_ROWS), sum(rows.values()) <= 1 << 30
    (True, True)
    """
    c, a = config, analyzer_config
    analyzer_rows = 2 * c.max_series + 10_000
    alert = ALERT_BYTES + c.max_series_key_bytes  # labels: at most a series key's characters
    member = MEMBER_BYTES + c.max_series_key_bytes
    decoding = min(c.max_concurrent_ingest * c.max_request_bytes, c.max_buffered_bytes)  # bodies being decoded
    return {
        "request_bodies": c.max_buffered_bytes,
        "request_decoding": max(int(DECODE_PEAK_FACTOR * decoding),
                                c.max_concurrent_ingest * c.max_request_items * DECODE_ELEMENT_BYTES),
        "series_keys": 2 * c.max_series * (c.max_series_key_bytes + _KEY_BYTES) + 10_000 * 2 * _KEY_BYTES,
        "analyzer_windows": _capacity(analyzer_rows) * (a.points * 16 + _EXEMPLARS_BYTES + _DETECTOR_ROW_BYTES),
        "drift_buckets": 2 * c.max_bucket_cells * (a.drift_window_points + 1) * 8,
        "cumulative_states": c.max_series * (_STATE_BYTES + c.max_histogram_buckets * 8),
        "delta_windows": c.max_series * c.max_delta_windows * _WINDOW_BYTES,
        "bucket_layouts": LAYOUTS_PER_SERVICE_TOTAL_FACTOR * c.max_bucket_layouts * c.max_histogram_buckets
        * _LAYOUT_BYTES,
        "series_admission": c.max_series * _KEY_BYTES,
        "services": c.max_services * (c.max_attribute_value_length + _SERVICE_BYTES),
        "fleet_open_intervals": c.max_series * (_ACC_BYTES + c.max_histogram_buckets * 8 + 10 * _EXEMPLAR_BYTES),
        "component_intervals": c.max_component_bytes,
        "queries": c.query_store_bytes,
        "alerts": DEFAULT_MAX_ACTIVE * (alert + _ACTIVE_BYTES + c.max_series_key_bytes) + DEFAULT_HISTORY_SIZE * alert
        + DEFAULT_INCIDENT_HISTORY_SIZE * (alert + MAX_MEMBERS * member),
        "incidents": DEFAULT_MAX_ACTIVE * (_INCIDENT_BYTES + member) + MAX_PAST * (alert + member)
        + MAX_CLOSED * _INCIDENT_BYTES,
    }
