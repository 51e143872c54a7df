"""Fleet-wide aggregates: every replica of a service merged into one series per interval.

Replicas export at their own moments, in separate requests, so the
aggregator bins samples by time: the bucket ``floor(end / interval)`` of each
sample's end time. A bucket is closed (and its merged samples go to the
Analyzer as one batch per service) as soon as every active replica of the
service (one that reported within the last ``active_intervals`` intervals)
has contributed to it, or at the latest once the clock has passed its end by
``grace_s``. Merging: histogram bucket counts, sums and counts add up (per
bucket layout), min/max take the extremes, exemplars are pooled; gauges take
the mean over replicas. The aggregate's resource is ``service.name`` alone,
which is how fleet series differ from per-replica ones. A merged sample ends at
the newest replica sample it holds and spans one interval.

Approximation: a replica whose export happens to fall twice into one bucket
and not into the next makes those two buckets uneven; the rate over the two
is still right. A sample that arrives after its bucket closed goes into the
next open bucket of its service (counted in ``late_samples``), so counts and
sums are never lost, only moved by one interval. A sample whose end time lies
outside the plausible window around the clock (``max_future_s`` ahead,
``max_age_s`` behind; the receiver's limits) is dropped and counted in
``implausible_samples``: one point stamped in the year 2554 must not close
every bucket before it and make all later samples "late".

>>> from heritage_otel.analysis.samples import IntervalSample, SeriesKey, KIND_SUM
>>> agg = FleetAggregator(interval_seconds=10, max_series=100, clock=lambda: 20.0)
>>> def queries(instance, n):
...     res = {"service.name": "rec", "service.instance.id": instance}
...     return IntervalSample(SeriesKey.of("heritage.queries", {}, res), KIND_SUM, 0, 15 * 10**9, n, n)
>>> agg.add([queries("a", 3.0), queries("b", 4.0)])
>>> [(s.series.resource, s.count) for batch in agg.flush(now_s=40.0) for s in batch]
[((('service.name', 'rec'),), 7.0)]
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from heritage_otel import semconv
from heritage_otel.analysis.samples import KIND_GAUGE, KIND_HISTOGRAM, KIND_SUM, IntervalSample, Labels, SeriesKey
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.limits import plausible_time_ns

__all__ = ["FleetAggregator"]

_FUTURE_S = 300.0
_MAX_EXEMPLARS = 10


@dataclass
class _Acc:
    kind: str
    unit: str
    monotonic: bool
    bounds: tuple[float, ...] = ()
    counts: Any = None  # a float64 array: 8 bytes a bucket
    count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    gauge_sum: float = 0.0
    gauges: int = 0
    last_end_ns: int = 0
    exemplars: list[tuple[str, str, float]] = field(default_factory=list)


class FleetAggregator:
    """Merges per-replica samples into per-service samples, interval by interval. Thread-safe."""

    def __init__(
        self, interval_seconds: float, max_series: int, grace_s: float | None = None, active_intervals: float = 3.0,
        *, clock: Callable[[], float] = time.time, limits: ServiceConfig | None = None,
    ) -> None:
        limits = limits or ServiceConfig()
        self._clock = clock
        self._max_future_s, self._max_age_s = limits.max_future_s, limits.max_age_s
        self.implausible_samples = 0
        self.interval_s = float(interval_seconds)
        self.grace_s = self.interval_s if grace_s is None else float(grace_s)
        self.active_s = active_intervals * self.interval_s
        self.max_series = max_series
        self._open: dict[tuple[Labels, int], dict[tuple[Any, ...], _Acc]] = {}
        self._contributors: dict[tuple[Labels, int], set[str]] = {}
        self._last_seen: dict[Labels, dict[str, float]] = {}
        self._closed_before: dict[Labels, int] = {}
        self._open_keys = 0
        self._lock = threading.Lock()
        self.late_samples = 0
        self.dropped_samples = 0

    def add(self, samples: Iterable[IntervalSample]) -> None:
        """Pool per-replica samples (ones without ``service.instance.id`` are ignored)."""
        now_ns = int(self._clock() * 1e9)
        with self._lock:
            for s in samples:
                if not plausible_time_ns(s.end_ns, now_ns=now_ns, max_future_s=self._max_future_s,
                                         max_age_s=self._max_age_s):
                    self.implausible_samples += 1
                    continue
                resource = dict(s.series.resource)
                instance = resource.get(semconv.SERVICE_INSTANCE_ID)
                if instance is None or semconv.SERVICE_NAME not in resource:
                    continue
                service: Labels = ((semconv.SERVICE_NAME, resource[semconv.SERVICE_NAME]),)
                end_s = s.end_ns / 1e9
                bucket = int((end_s - 1e-9) // self.interval_s)
                first_open = self._closed_before.get(service)
                late = first_open is not None and bucket < first_open
                if late:
                    self.late_samples += 1
                    bucket = first_open  # type: ignore[assignment]  # not None when late
                accs = self._open.setdefault((service, bucket), {})
                key = (s.series.metric, s.series.attributes, s.kind, s.bounds)
                acc = accs.get(key)
                if acc is None:
                    if self._open_keys >= self.max_series:
                        self.dropped_samples += 1
                        continue
                    acc = accs[key] = _Acc(s.kind, s.unit, s.monotonic, s.bounds, np.zeros(len(s.bucket_counts)))
                    self._open_keys += 1
                self._merge(acc, s)
                if not late:  # a moved sample does not stand for the replica's export of that interval
                    self._contributors.setdefault((service, bucket), set()).add(instance)
                seen = self._last_seen.setdefault(service, {})
                seen[instance] = max(seen.get(instance, -math.inf), end_s)

    def _complete(self, service: Labels, bucket: int) -> bool:
        """Every replica active around this bucket has contributed to it.

        Until the service's first bucket has closed the set of replicas is not known, so a
        single replica's export does not close it early (the next replica may simply not have
        reported yet); a one-replica fleet waits for the grace period once.
        """
        if service not in self._closed_before and len(self._contributors.get((service, bucket), ())) < 2:
            return False
        start = bucket * self.interval_s
        active = {i for i, t in self._last_seen.get(service, {}).items() if t >= start - self.active_s}
        return bool(active) and active <= self._contributors.get((service, bucket), set())

    def flush(self, now_s: float) -> list[list[IntervalSample]]:
        """Close the complete buckets and those that ended more than ``grace_s`` before ``now_s``;
        one batch per service and bucket, oldest first."""
        out: list[list[IntervalSample]] = []
        with self._lock:
            ready = sorted(
                (k for k in self._open
                 if (k[1] + 1) * self.interval_s + self.grace_s <= now_s
                 or (k[1] + 1) * self.interval_s > now_s + _FUTURE_S
                 or self._complete(*k)),
                key=lambda k: k[1],
            )
            for service, bucket in ready:
                accs = self._open.pop((service, bucket))
                self._contributors.pop((service, bucket), None)
                self._open_keys -= len(accs)
                self._closed_before[service] = max(self._closed_before.get(service, -1), bucket + 1)
                # Stamped at the newest replica sample it holds (so fleet and replica points line up),
                # one interval long (so rates per second are right).
                end_ns = max(a.last_end_ns for a in accs.values())
                start_ns = end_ns - int(self.interval_s * 1e9)
                batch = [self._sample(service, key, acc, start_ns, end_ns) for key, acc in accs.items()]
                out.append([s for s in batch if s is not None])
            self._forget_idle(now_s)
        return [b for b in out if b]

    def _forget_idle(self, now_s: float) -> None:
        """Drop replicas not seen for a long time (bounded state when instances come and go)."""
        horizon = now_s - 10 * self.active_s
        for service, seen in list(self._last_seen.items()):
            for instance in [i for i, t in seen.items() if t < horizon]:
                del seen[instance]
            if not seen:
                del self._last_seen[service]

    @staticmethod
    def _merge(acc: _Acc, s: IntervalSample) -> None:
        acc.last_end_ns = max(acc.last_end_ns, s.end_ns)
        if s.kind == KIND_GAUGE:
            if math.isfinite(s.gauge_value):
                acc.gauge_sum += s.gauge_value
                acc.gauges += 1
            return
        acc.count += s.count
        acc.total += s.sum
        if s.kind == KIND_HISTOGRAM:
            acc.counts += s.bucket_counts
            if math.isfinite(s.minimum):
                acc.minimum = min(acc.minimum, s.minimum)
            if math.isfinite(s.maximum):
                acc.maximum = max(acc.maximum, s.maximum)
            acc.exemplars.extend(zip(s.exemplar_trace_ids, s.exemplar_span_ids, s.exemplar_values, strict=False))
            if len(acc.exemplars) > _MAX_EXEMPLARS:  # the highest values are the ones kept: bounded per series
                acc.exemplars = sorted(acc.exemplars, key=lambda e: -e[2])[:_MAX_EXEMPLARS]

    @staticmethod
    def _sample(service: Labels, key: tuple[Any, ...], acc: _Acc, start_ns: int, end_ns: int) -> IntervalSample | None:
        metric, attributes, kind, bounds = key
        series = SeriesKey(metric, attributes, service)
        if kind == KIND_GAUGE:
            if not acc.gauges:
                return None
            mean = acc.gauge_sum / acc.gauges
            return IntervalSample(series, KIND_GAUGE, start_ns, end_ns, 1.0, mean, unit=acc.unit,
                                  gauge_value=mean, monotonic=False)
        if kind == KIND_SUM:
            return IntervalSample(series, KIND_SUM, start_ns, end_ns, acc.count, acc.total, unit=acc.unit,
                                  monotonic=acc.monotonic)
        exemplars = sorted(acc.exemplars, key=lambda e: -e[2])[:_MAX_EXEMPLARS]
        return IntervalSample.from_histogram(
            series, start_ns=start_ns, end_ns=end_ns, bounds=bounds, bucket_counts=[int(c) for c in acc.counts],
            total=acc.total, minimum=acc.minimum if math.isfinite(acc.minimum) else math.nan,
            maximum=acc.maximum if math.isfinite(acc.maximum) else math.nan, unit=acc.unit, exemplars=exemplars,
        )
