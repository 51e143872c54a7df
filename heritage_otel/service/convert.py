"""OTLP metric data points -> the Analyzer's interval samples, one batch per replica export.

Each data point becomes an :class:`~heritage_otel.analysis.samples.IntervalSample`
of the series ``SeriesKey(metric, point attributes, resource)`` where the
resource part is ``service.name`` and ``service.instance.id`` only, so an
anomaly on one replica is attributed to that replica. Within a series, the
*source* of a point is every resource attribute (hashed): two processes that
send no ``service.instance.id`` share a series but are two sources.
Conversion rules:

=====================  ========================================================================
OTLP point             sample
=====================  ========================================================================
Sum, DELTA             ``sum`` with the delta (monotonic flag kept), once: a (source, start,
                       end) window seen among the series' last ``max_delta_windows`` is a
                       retried export, dropped and counted (``delta_duplicates``)
Sum, CUMULATIVE        monotonic: ``sum`` with the difference to the previous point of the
                       same source and start time (a new start time is a new running total);
                       non-monotonic (up-down counters): ``gauge`` with the current level
Gauge                  ``gauge``
Histogram              ``histogram``; CUMULATIVE ones are differenced bucket by bucket (in the
                       bounds two points share when they differ: an exponential rescale)
ExponentialHistogram   ``histogram`` with explicit bounds ``2**(i * 2**-scale)`` of its positive buckets
                       (zero and negative buckets folded into the first bucket)
Summary                rejected (partial success): summaries carry no buckets to analyse
=====================  ========================================================================

CUMULATIVE points go through one
:class:`~heritage_otel.analysis.cumulative.CumulativeTracker` (the same one
the in-process exporter uses) with ``initial_value="auto"``: the first point
of a series counts whole when the series started at most ``memory_s`` before
the converter did (the service passes its Analyzer's retention: nothing of
that period can have reached a process that just started, e.g. points the
Collector replays after an outage), otherwise it is only the baseline for the
next one. A point not newer than the last one of its source is ignored;
sources idle for ``max_staleness_s`` are forgotten, and at most ``max_series``
are remembered. A smaller value under the same source and start time is a
second process that cannot be told apart: dropped and counted
(``cumulative_ambiguous``), with one warning per series in the log.

Points of new series beyond ``max_series`` (or their service's or replica's
cap) are rejected and counted unless a series idle for ``series_idle_s`` can
be evicted for them (:mod:`heritage_otel.service.budget`; the evicted keys
are handed to the service by :meth:`MetricConverter.drain_evicted`); the
state is kept for admitted series only, so memory is bounded. The other
limits of :mod:`heritage_otel.service.limits` apply before a point reaches
that state: attributes per point and value length, the size of a series key,
at most ``max_points_per_series_per_request`` points of one series per
request (the rest dropped before they are decoded), buckets per histogram
and distinct bucket layouts per service, and a plausible time window (a point
stamped far in the future or past is rejected, so it cannot poison what
follows).

>>> from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
>>> req = ExportMetricsServiceRequest()
>>> rm = req.resource_metrics.add()
>>> kv = rm.resource.attributes.add(); kv.key = "service.name"; kv.value.string_value = "recommender"
>>> m = rm.scope_metrics.add().metrics.add(); m.name = "heritage.queries"
>>> m.sum.aggregation_temporality = 1; m.sum.is_monotonic = True
>>> p = m.sum.data_points.add(); p.start_time_unix_nano = 0; p.time_unix_nano = 10**10; p.as_int = 7
>>> result = MetricConverter(max_series=10, clock=lambda: 10**10).convert(req)
>>> [(s.series.metric, s.count, s.series.resource) for batch in result.batches for s in batch]
[('heritage.queries', 7.0, (('service.name', 'recommender'),))]
"""

from __future__ import annotations

import math
import threading
import time
import hashlib
import logging
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from heritage_otel import semconv
from heritage_otel.analysis.cumulative import CumulativeTracker, InitialValue
from heritage_otel.analysis.samples import (
    KIND_GAUGE,
    KIND_HISTOGRAM,
    KIND_SUM,
    IntervalSample,
    Labels,
    SeriesKey,
)
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.budget import HistogramLayouts, SeriesAdmission, key_bytes
from heritage_otel.service.limits import DropCounters, bounded_attributes, plausible_time_ns

__all__ = ["RESOURCE_KEYS", "ConversionResult", "MetricConverter", "any_value", "attributes_of"]

#: Resource attributes that identify a series' origin (a replica of a service).
RESOURCE_KEYS: Final = (semconv.SERVICE_NAME, semconv.SERVICE_INSTANCE_ID)
_DELTA: Final = 1
_CUMULATIVE: Final = 2
_NO_RECORDED_VALUE: Final = 1
_MAX_EXEMPLARS: Final = 10
_TRACE_ID_BYTES: Final = 16
_SPAN_ID_BYTES: Final = 8
_log = logging.getLogger(__name__)


def any_value(value: AnyValue) -> Any:
    """A Python value from an OTLP ``AnyValue`` (arrays as lists, maps and bytes as strings)."""
    which = value.WhichOneof("value")
    if which is None:
        return ""
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return str({kv.key: any_value(kv.value) for kv in value.kvlist_value.values})
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def attributes_of(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    """OTLP attributes as a dict."""
    return {kv.key: any_value(kv.value) for kv in kvs}


@dataclass
class ConversionResult:
    """Samples grouped per export (same replica, same end time), oldest first, and what was refused."""

    batches: list[list[IntervalSample]] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: Points refused for their own shape (too many attributes or buckets, implausible time), not for the
    #: service's state (series caps): a request of nothing else is refused whole (400) by the receiver.
    malformed: int = 0
    #: Points dropped as repeats of what was counted already (a retried DELTA export): nothing is lost.
    repeated: int = 0

    def reject(self, reason: str, n: int = 1, *, malformed: bool = False) -> None:
        self.rejected += n
        self.reasons[reason] += n
        if malformed:
            self.malformed += n

    def message(self) -> str:
        """A human-readable English summary of the rejections (empty when none)."""
        return "; ".join(f"{n} data point(s) rejected: {why}" for why, n in sorted(self.reasons.items()))


def _exemplars(points: Iterable[Any]) -> list[tuple[str, str, float]]:
    out = []
    for ex in points:
        if len(ex.trace_id) != _TRACE_ID_BYTES or len(ex.span_id) not in (0, _SPAN_ID_BYTES):
            continue  # no trace, or ids of another size than OTLP's (kept per series: bounded)
        value = ex.as_double if ex.WhichOneof("value") == "as_double" else float(ex.as_int)
        out.append((ex.trace_id.hex(), ex.span_id.hex(), float(value)))
        if len(out) >= _MAX_EXEMPLARS:
            break
    return out


def _resource_labels(resource: Mapping[str, Any], max_length: int) -> Labels:
    return tuple(sorted((k, str(resource[k])[:max_length]) for k in RESOURCE_KEYS if k in resource))


def _source(attributes: Iterable[KeyValue]) -> bytes:
    """A fingerprint of every resource attribute: two processes that differ in any of them are two sources."""
    digest = hashlib.blake2b(digest_size=8)
    for kv in sorted(attributes, key=lambda kv: kv.key):
        digest.update(kv.key.encode() + b"\0" + kv.value.SerializeToString(deterministic=True) + b"\0")
    return digest.digest()


def _exponential_to_explicit(point: Any) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Explicit bounds and counts from an exponential histogram point (see the module table)."""
    step = 2.0 ** -point.scale  # 2 ** (i * step): the same float for the same bound at any scale
    offset = point.positive.offset
    positive = list(point.positive.bucket_counts)
    below = int(point.zero_count) + sum(int(c) for c in point.negative.bucket_counts)
    if not positive:
        return (0.0,), (below, 0)
    bounds = tuple(2.0 ** ((offset + i) * step) for i in range(len(positive) + 1))
    return bounds, (below, *(int(c) for c in positive), 0)


class MetricConverter:
    """Stateful converter (limits, series admission, cumulative -> delta). Thread-safe.

    ``limits`` (default: ``ServiceConfig()``) holds the limit settings;
    ``max_series`` overrides its ``max_series``. Drops are counted in ``drops``.
    ``initial_value``, ``memory_s`` and ``max_staleness_s`` configure the
    cumulative tracker (see the module docstring).
    """

    def __init__(
        self, max_series: int | None = None, clock: Any = time.time_ns, *, limits: ServiceConfig | None = None,
        drops: DropCounters | None = None, initial_value: InitialValue = "auto", memory_s: float = 0.0,
        max_staleness_s: float | None = 3600.0,
    ) -> None:
        cfg = limits or ServiceConfig()
        self.limits = cfg
        self.max_series = cfg.max_series if max_series is None else max_series
        self.drops = drops or DropCounters()
        self._clock = clock
        self._admission = SeriesAdmission(max_series=self.max_series, per_service=cfg.max_series_per_service,
                                          per_replica=cfg.max_series_per_replica, idle_s=cfg.series_idle_s,
                                          counters=self.drops, clock=lambda: clock() / 1e9)
        self._layouts = HistogramLayouts(max_buckets=cfg.max_histogram_buckets, max_layouts=cfg.max_bucket_layouts,
                                         counters=self.drops, idle_s=cfg.series_idle_s, clock=lambda: clock() / 1e9)
        # Nothing from before ``memory_s`` ago can have reached this process (its windows start empty),
        # so under "auto" a series that started since then is counted from its start. Its keys hold every
        # resource attribute and the start time, so two processes of one service are two sources.
        self._cumulative = CumulativeTracker(
            initial_value, since_ns=int(clock()) - int(memory_s * 1e9), max_staleness_s=max_staleness_s, clock=clock,
            max_entries=self.max_series, strict_start=True)
        #: per DELTA series, its recent (source, start, end) windows (a retried export repeats them)
        self._windows: dict[SeriesKey, deque[tuple[bytes, int, int]]] = {}
        self._warned_ambiguous: set[SeriesKey] = set()
        self._evicted: list[SeriesKey] = []
        self._lock = threading.Lock()

    @property
    def series_count(self) -> int:
        """Distinct series admitted (held) now."""
        return len(self._admission)

    @property
    def bucket_layouts(self) -> int:
        """Distinct histogram bound sets held."""
        return len(self._layouts)

    @property
    def last_refused(self) -> tuple[float, str] | None:
        """(time in seconds, cap name) of the last new series refused, or None."""
        return self._admission.last_refused

    @property
    def dropped_series_points(self) -> int:
        """Points refused by any series cap."""
        counts = self.drops.snapshot()
        return counts["series"] + counts["series_per_service"] + counts["series_per_replica"]

    def budget(self) -> dict[str, dict[str, int]]:
        """Items, bound and approximate bytes of what the converter keeps (``/api/stats`` ``budget``)."""
        cfg = self.limits
        with self._lock:
            windows = sum(len(d) for d in self._windows.values())
            return {
                "series": {"items": len(self._admission), "bound": self.max_series,
                           "bytes": self._admission.nbytes()},
                "bucket_layouts": {"items": len(self._layouts), "bound": self._layouts.max_total,
                                   "bytes": self._layouts.nbytes()},
                "cumulative_states": {"items": len(self._cumulative), "bound": self.max_series,
                                      "bytes": 400 * len(self._cumulative)},
                "delta_windows": {"items": windows, "bound": self.max_series * cfg.max_delta_windows,
                                  "bytes": 100 * windows + 700 * len(self._windows)},
            }

    def drain_evicted(self) -> list[SeriesKey]:
        """Series evicted (idle) to admit new ones since the last call; their state here is forgotten already."""
        with self._lock:
            out, self._evicted = self._evicted, []
        return out

    def _admit(self, key: SeriesKey, result: ConversionResult) -> bool:
        refused = self._admission.admit(key, key.resource)
        if refused is not None:
            cap = {"series": self.max_series, "series_per_service": self.limits.max_series_per_service,
                   "series_per_replica": self.limits.max_series_per_replica}[refused]
            result.reject(f"{refused.replace('_', ' ')} limit of {cap} reached and no series idle for "
                          f"{self.limits.series_idle_s:g} s (new series are dropped)")
        return refused is None

    def _point_attributes(self, point: Any, result: ConversionResult) -> dict[str, Any] | None:
        cfg = self.limits
        if len(point.attributes) > cfg.max_attributes_per_point:  # before decoding 200k of them
            self.drops.add("attributes_per_point")
            result.reject(f"more than {cfg.max_attributes_per_point} attributes on a point", malformed=True)
            return None
        return bounded_attributes(attributes_of(point.attributes), max_count=cfg.max_attributes_per_point,
                                  max_value_length=cfg.max_attribute_value_length, counters=self.drops)

    def _plausible(self, time_ns: int, now_ns: int, result: ConversionResult) -> bool:
        cfg = self.limits
        if plausible_time_ns(time_ns, now_ns=now_ns, max_future_s=cfg.max_future_s, max_age_s=cfg.max_age_s):
            return True
        self.drops.add("timestamps")
        result.reject(f"time_unix_nano outside [now - {cfg.max_age_s:g} s, now + {cfg.max_future_s:g} s]",
                      malformed=True)
        return False

    def convert(self, request: ExportMetricsServiceRequest) -> ConversionResult:
        """Convert one request; never raises on odd data (odd points are rejected and counted)."""
        result = ConversionResult()
        groups: dict[tuple[Labels, int], list[IntervalSample]] = defaultdict(list)
        now_ns = int(self._clock())
        per_series: Counter[SeriesKey] = Counter()
        with self._lock:
            for rm in request.resource_metrics:
                resource = _resource_labels(attributes_of(rm.resource.attributes),
                                            self.limits.max_attribute_value_length)
                source = _source(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        for sample in self._metric(metric, resource, source, now_ns, result, per_series):
                            groups[(resource, sample.end_ns)].append(sample)
            for key in self._admission.drain_evicted():
                self._forget(key)  # type: ignore[arg-type]  # an evicted row's key is a SeriesKey (typed Hashable | None there)
                self._evicted.append(key)  # type: ignore[arg-type]  # an evicted row's key is a SeriesKey (typed Hashable | None there)
        for key in sorted(groups, key=lambda k: k[1]):
            result.batches.append(groups[key])
        result.accepted = sum(len(b) for b in result.batches)
        return result

    def _forget(self, key: SeriesKey) -> None:
        self._windows.pop(key, None)
        self._warned_ambiguous.discard(key)

    def _metric(
        self, metric: Any, resource: Labels, source: bytes, now_ns: int, result: ConversionResult,
        per_series: Counter[SeriesKey],
    ) -> list[IntervalSample]:
        which = metric.WhichOneof("data")
        name = metric.name
        if not name:
            result.reject("metric without a name", _point_count(metric, which))
            return []
        if which == "summary":
            result.reject("summary metrics are not analysed (no buckets)", len(metric.summary.data_points))
            return []
        if which is None:
            return []
        out = []
        data = getattr(metric, which)
        temporality = getattr(data, "aggregation_temporality", None)
        if which in ("sum", "histogram", "exponential_histogram") and temporality not in (_DELTA, _CUMULATIVE):
            result.reject("aggregation temporality unspecified", len(data.data_points))
            return []
        cfg = self.limits
        resource_size = sum(len(k) + len(v) for k, v in resource)
        cap = cfg.max_points_per_series_per_request
        crowded: Counter[tuple[tuple[str, bytes], ...]] | None = Counter() if len(data.data_points) > cap else None
        skipped = 0
        for point in data.data_points:
            if point.flags & _NO_RECORDED_VALUE:
                continue
            if crowded is not None:  # many points in one metric: drop those over the cap before decoding them
                raw = tuple((kv.key, kv.value.SerializeToString()) for kv in point.attributes)
                crowded[raw] += 1
                if crowded[raw] > cap:
                    skipped += 1
                    continue
            end_ns = int(point.time_unix_nano) or now_ns
            attributes = self._point_attributes(point, result)
            if attributes is None or not self._plausible(end_ns, now_ns, result):
                continue
            if key_bytes(name, attributes) + resource_size > cfg.max_series_key_bytes:
                self.drops.add("series_key_bytes")
                result.reject(f"metric name, attributes, service.name and service.instance.id longer than "
                              f"{cfg.max_series_key_bytes} characters", malformed=True)
                continue
            key = SeriesKey.of(name, attributes)
            key = SeriesKey(key.metric, key.attributes, resource)
            per_series[key] += 1
            if per_series[key] > cap:
                skipped += 1
                continue
            if not self._admit(key, result):
                continue
            start_ns = int(point.start_time_unix_nano)
            if temporality == _DELTA and which != "gauge" and self._repeated(key, source, start_ns, end_ns, result):
                continue
            try:
                if which == "gauge":
                    sample = self._gauge(key, point, start_ns, end_ns, metric.unit)
                elif which == "sum":
                    sample = self._sum(key, source, point, data, start_ns, end_ns, metric.unit)
                else:
                    sample = self._histogram(key, source, point, which, temporality, start_ns, end_ns, metric.unit,
                                             result)
            except (ValueError, OverflowError, TypeError) as exc:
                result.reject(f"invalid {which} point ({exc})")
                continue
            if sample is not None:
                out.append(sample)
        if skipped:
            self.drops.add("points_per_series_per_request", skipped)
            result.reject(f"more than {cap} points of one series in a request", skipped)
        return out

    def _repeated(self, key: SeriesKey, source: bytes, start_ns: int, end_ns: int, result: ConversionResult) -> bool:
        """True (counted) when this DELTA window of this series and source was counted already (a retried export)."""
        window = (source, start_ns, end_ns)
        seen = self._windows.get(key)
        if seen is None:
            seen = self._windows[key] = deque(maxlen=self.limits.max_delta_windows)
        elif window in seen:
            self.drops.add("delta_duplicates")
            result.reject("DELTA point of a (start, end) window counted already (a retried export)")
            result.repeated += 1
            return True
        seen.append(window)
        return False

    def _layout(self, bounds: tuple[float, ...], service: Any, result: ConversionResult) -> bool:
        refused = self._layouts.refuse(bounds, service)
        if refused is not None:
            result.reject(f"histogram over the {refused.replace('_', ' ')} limit "
                          f"({self._layouts.max_buckets} buckets, {self._layouts.max_layouts} layouts per service)",
                          malformed=refused == "histogram_buckets")
        return refused is None

    def _ambiguous(self, key: SeriesKey, before: int) -> None:
        if self._cumulative.ambiguous > before:
            self.drops.add("cumulative_ambiguous")
            if key not in self._warned_ambiguous and len(self._warned_ambiguous) < self.max_series:
                self._warned_ambiguous.add(key)
                _log.warning("two sources write the series %s %s with the same resource and start time; set a "
                             "distinct service.instance.id per process (their points are dropped, not added)",
                             key.metric, dict(key.resource))

    @staticmethod
    def _number(point: Any) -> float:
        which = point.WhichOneof("value")
        if which is None:
            msg = "no value"
            raise ValueError(msg)
        return float(point.as_double if which == "as_double" else point.as_int)

    def _gauge(self, key: SeriesKey, point: Any, start_ns: int, end_ns: int, unit: str) -> IntervalSample:
        value = self._number(point)
        return IntervalSample(key, KIND_GAUGE, start_ns or end_ns - 1, end_ns, 1.0, value, unit=unit,
                              gauge_value=value, monotonic=False)

    def _sum(
        self, key: SeriesKey, source: bytes, point: Any, data: Any, start_ns: int, end_ns: int, unit: str,
    ) -> IntervalSample | None:
        value = self._number(point)
        if data.aggregation_temporality == _DELTA:
            return IntervalSample(key, KIND_SUM, start_ns or end_ns - 1, end_ns, value, value, unit=unit,
                                  monotonic=bool(data.is_monotonic))
        if not data.is_monotonic:  # an up-down counter: its level is what matters
            return IntervalSample(key, KIND_GAUGE, start_ns or end_ns - 1, end_ns, 1.0, value, unit=unit,
                                  gauge_value=value, monotonic=False)
        before = self._cumulative.ambiguous
        step = self._cumulative.sum((key, KIND_SUM, source, start_ns), start_ns, end_ns, value)
        self._ambiguous(key, before)
        if step is None:
            return None
        return IntervalSample(key, KIND_SUM, step.start_ns, end_ns, step.value, step.value, unit=unit)

    def _histogram(
        self, key: SeriesKey, source: bytes, point: Any, which: str, temporality: int, start_ns: int, end_ns: int,
        unit: str, result: ConversionResult,
    ) -> IntervalSample | None:
        if which == "exponential_histogram":
            if self._layouts.too_many_buckets(len(point.positive.bucket_counts) + 2):
                result.reject(f"histogram with more than {self._layouts.max_buckets} buckets", malformed=True)
                return None
            bounds, counts = _exponential_to_explicit(point)
        else:
            bounds = tuple(float(b) for b in point.explicit_bounds)
            counts = tuple(int(c) for c in point.bucket_counts)
            if not counts:
                bounds, counts = (), (int(point.count),)
            elif len(counts) != len(bounds) + 1:
                result.reject("histogram with len(bucket_counts) != len(explicit_bounds) + 1")
                return None
        if any(not math.isfinite(b) for b in bounds) or list(bounds) != sorted(bounds):
            result.reject("histogram bounds not finite and increasing")
            return None
        service = dict(key.resource).get(semconv.SERVICE_NAME)
        if not self._layout(bounds, service, result):
            return None
        bounds = self._layouts.shared(bounds)
        total = float(point.sum) if point.HasField("sum") else math.nan
        minimum = float(point.min) if point.HasField("min") else math.nan
        maximum = float(point.max) if point.HasField("max") else math.nan
        exemplars = _exemplars(point.exemplars)
        if temporality == _CUMULATIVE:
            before = self._cumulative.ambiguous
            step = self._cumulative.histogram((key, KIND_HISTOGRAM, source, start_ns), start_ns, end_ns, bounds,
                                              counts, total)
            self._ambiguous(key, before)
            if step is None:
                return None
            counts, total, start_ns = step.counts, step.total, step.start_ns
            if step.bounds != bounds:  # merged into the bounds it shares with the previous point
                if not self._layout(step.bounds, service, result):
                    return None
                bounds = self._layouts.shared(step.bounds)
            if not step.reset:
                minimum = maximum = math.nan  # cumulative min/max do not describe the interval
        if not bounds:
            return None
        if not math.isfinite(total):
            total = 0.0
        return IntervalSample.from_histogram(
            key, start_ns=start_ns or end_ns - 1, end_ns=end_ns, bounds=bounds, bucket_counts=counts,
            total=total, minimum=minimum, maximum=maximum, unit=unit, exemplars=exemplars,
        )


def _point_count(metric: Any, which: str | None) -> int:
    return len(getattr(metric, which).data_points) if which else 0
