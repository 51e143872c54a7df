"""Interval samples: one per series per metric export, the Analyzer's input.

A *series* is a metric name plus its point attributes plus the resource that
produced it. With DELTA temporality each export carries, per series, what
happened during one interval; :class:`IntervalSample` holds that summary:
count, sum, mean, rate per second, histogram bucket counts, percentiles
estimated from the buckets, and the exemplars' trace and span ids.

>>> s = IntervalSample.from_histogram(
...     SeriesKey.of("heritage.query.duration", {}), start_ns=0, end_ns=10**10,
...     bounds=(0.1, 0.5, 1.0), bucket_counts=(10, 80, 10, 0), total=30.0,
...     minimum=0.05, maximum=0.9, unit="s")
>>> s.count, s.mean, s.rate_per_s
(100.0, 0.3, 10.0)
>>> round(s.p50, 3), round(s.p95, 3)
(0.3, 0.75)
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["SeriesKey", "IntervalSample", "bucket_quantiles", "KIND_SUM", "KIND_GAUGE", "KIND_HISTOGRAM"]

KIND_SUM: Final = "sum"
KIND_GAUGE: Final = "gauge"
KIND_HISTOGRAM: Final = "histogram"

Labels = tuple[tuple[str, str], ...]


def _freeze(attributes: Mapping[str, Any] | None) -> Labels:
    if not attributes:
        return ()
    return tuple(sorted((str(k), _label_value(v)) for k, v in attributes.items()))


def _label_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True, order=True)
class SeriesKey:
    """Identity of a series: metric name, point attributes and resource attributes (sorted pairs)."""

    metric: str
    attributes: Labels = ()
    resource: Labels = ()

    @classmethod
    def of(
        cls, metric: str, attributes: Mapping[str, Any] | None = None, resource: Mapping[str, Any] | None = None
    ) -> SeriesKey:
        """Build a key from plain mappings.

        >>> SeriesKey.of("m", {"b": 2, "a": "x"}).attributes
        (('a', 'x'), ('b', '2'))
        """
        return cls(metric, _freeze(attributes), _freeze(resource))

    def labels(self, resource_keys: Sequence[str] = ("service.name",)) -> dict[str, str]:
        """Point attributes plus the chosen resource attributes, as a dict (for alerts)."""
        out = {k: v for k, v in self.resource if k in resource_keys}
        out.update(self.attributes)
        return out


def bucket_quantiles(
    bounds: Sequence[float],
    counts: Sequence[float],
    qs: Sequence[float],
    minimum: float | None = None,
    maximum: float | None = None,
) -> list[float]:
    """Estimate quantiles from explicit-bucket histogram counts.

    Linear interpolation inside the bucket holding the rank (as Prometheus'
    ``histogram_quantile`` does); the first and last, unbounded buckets are
    closed with the observed ``minimum``/``maximum`` when known (otherwise with
    their one finite edge, and 0 for a positive first bound). The result is clamped to [minimum, maximum].
    Returns NaN for an empty histogram.

    >>> bucket_quantiles((1.0, 2.0), (0, 10, 0), (0.5,))
    [1.5]
    """
    c = [float(x) for x in counts]
    total = sum(c)
    if total <= 0 or len(c) != len(bounds) + 1:
        return [math.nan for _ in qs]
    b = [float(x) for x in bounds]
    if minimum is None or not math.isfinite(minimum):
        lo_edge = 0.0 if b[0] > 0 else b[0]  # as Prometheus: a positive first bound starts at 0
    else:
        lo_edge = min(float(minimum), b[0])
    hi_edge = b[-1] if maximum is None or not math.isfinite(maximum) else max(float(maximum), b[-1])
    lowers = [lo_edge, *b]
    uppers = [*b, hi_edge]
    cum = list(itertools.accumulate(c))
    out = []
    for q in qs:
        rank = q * total
        i = min(bisect.bisect_left(cum, rank), len(c) - 1)  # plain Python: ~30 buckets, faster than numpy here
        below = cum[i] - c[i]
        frac = 0.0 if c[i] <= 0 else (rank - below) / c[i]
        value = lowers[i] + (uppers[i] - lowers[i]) * min(max(frac, 0.0), 1.0)
        if minimum is not None and math.isfinite(minimum):
            value = max(value, float(minimum))
        if maximum is not None and math.isfinite(maximum):
            value = min(value, float(maximum))
        out.append(float(value))
    return out


@dataclass(frozen=True)
class IntervalSample:
    """What one series did during one export interval.

    ``count`` is the number of measurements for histograms and the delta value
    for sums (for gauges, 1). ``value`` is the one scalar the Analyzer keeps in
    the series window (see :attr:`value`).
    """

    series: SeriesKey
    kind: str
    start_ns: int
    end_ns: int
    count: float
    sum: float
    unit: str = ""
    minimum: float = math.nan
    maximum: float = math.nan
    bounds: tuple[float, ...] = ()
    bucket_counts: tuple[int, ...] = ()
    p50: float = math.nan
    p95: float = math.nan
    p99: float = math.nan
    exemplar_trace_ids: tuple[str, ...] = ()
    exemplar_span_ids: tuple[str, ...] = ()
    exemplar_values: tuple[float, ...] = ()
    gauge_value: float = math.nan
    monotonic: bool = True

    @property
    def interval_s(self) -> float:
        """Length of the interval in seconds (at least 1 ns)."""
        return max(self.end_ns - self.start_ns, 1) / 1e9

    @property
    def mean(self) -> float:
        """Mean measurement (histograms), or NaN without measurements."""
        if self.kind == KIND_GAUGE:
            return self.gauge_value
        return self.sum / self.count if self.count else math.nan

    @property
    def rate_per_s(self) -> float:
        """Measurements (histograms) or increments (sums) per second over the interval."""
        if self.kind == KIND_GAUGE:
            return math.nan
        return self.count / self.interval_s

    @property
    def value(self) -> float:
        """The scalar tracked per interval: p95 for duration histograms (unit ``s``, ``ms``),
        the mean for other histograms, the delta for sums, the last value for gauges."""
        if self.kind == KIND_HISTOGRAM:
            return self.p95 if self.unit in ("s", "ms") else self.mean
        if self.kind == KIND_SUM:
            return self.count
        return self.gauge_value

    @classmethod
    def from_histogram(
        cls,
        series: SeriesKey,
        *,
        start_ns: int,
        end_ns: int,
        bounds: Sequence[float],
        bucket_counts: Sequence[int],
        total: float,
        minimum: float = math.nan,
        maximum: float = math.nan,
        unit: str = "",
        exemplars: Sequence[tuple[str, str, float]] = (),
    ) -> IntervalSample:
        """A histogram sample; percentiles estimated with :func:`bucket_quantiles`.

        ``exemplars`` are (trace id hex, span id hex, value) triples.
        """
        counts = tuple(int(c) for c in bucket_counts)
        p50, p95, p99 = bucket_quantiles(bounds, counts, (0.5, 0.95, 0.99), minimum, maximum)
        return cls(
            series=series, kind=KIND_HISTOGRAM, start_ns=start_ns, end_ns=end_ns,
            count=float(sum(counts)), sum=float(total), unit=unit,
            minimum=float(minimum), maximum=float(maximum),
            bounds=tuple(float(b) for b in bounds), bucket_counts=counts,
            p50=p50, p95=p95, p99=p99,
            exemplar_trace_ids=tuple(e[0] for e in exemplars),
            exemplar_span_ids=tuple(e[1] for e in exemplars),
            exemplar_values=tuple(float(e[2]) for e in exemplars),
        )
