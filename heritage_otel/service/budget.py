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
cannot use up the cap for every other; the total is capped at
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
from heritage_otel.service.limits import DropCounters

__all__ = ["HistogramLayouts", "LAYOUTS_PER_SERVICE_TOTAL_FACTOR", "SeriesAdmission", "key_bytes"]

#: The total of distinct bucket layouts held is at most this many times ``max_bucket_layouts`` (per service).
LAYOUTS_PER_SERVICE_TOTAL_FACTOR: Final = 16
#: Oldest series looked at for an idle one of the same service or replica (bounded work per refusal).
_SCAN: Final = 64


def key_bytes(metric: str, attributes: Any) -> int:
    """UTF-8-ish size of a series' name and attributes (characters; what ``max_series_key_bytes`` bounds).

    >>> key_bytes("m", {"a": "xy", "b": 1})
    6
    """
    return len(metric) + sum(len(str(k)) + len(str(v)) for k, v in attributes.items())


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

    >>> layouts = HistogramLayouts(max_buckets=4, max_layouts=1, counters=DropCounters())
    >>> layouts.refuse((1.0, 2.0), "a"), layouts.refuse((1.0, 2.0), "a"), layouts.refuse((5.0,), "a")
    (None, None, 'bucket_layouts')
    >>> layouts.refuse((5.0,), "b"), layouts.refuse(tuple(range(9)), "b")
    (None, 'histogram_buckets')
    """

    def __init__(self, *, max_buckets: int, max_layouts: int, counters: DropCounters) -> None:
        self.max_buckets, self.max_layouts, self.counters = max_buckets, max_layouts, counters
        self.max_total = max_layouts * LAYOUTS_PER_SERVICE_TOTAL_FACTOR
        self._layouts: dict[tuple[float, ...], set[Any]] = {}
        self._per_service: Counter[Any] = Counter()
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
        with self._lock:
            users = self._layouts.get(bounds)
            if users is not None and service in users:
                return None
            if self._per_service[service] < self.max_layouts and (users is not None
                                                                   or len(self._layouts) < self.max_total):
                self._layouts.setdefault(bounds, set()).add(service)
                self._per_service[service] += 1
                return None
        self.counters.add("bucket_layouts")
        return "bucket_layouts"

    def __len__(self) -> int:
        return len(self._layouts)

    def nbytes(self) -> int:
        """Approximate bytes held: the bounds tuples (one float object each) and the sets of users."""
        return sum(sys.getsizeof(b) + 24 * len(b) + 216 for b in self._layouts)
