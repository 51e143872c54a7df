"""Good and total events of one objective in one export (a batch of interval samples of one resource).

* A counter source counts its increments in the interval (``count`` of the
  delta sample); a histogram source counts its observations.
* A threshold on a histogram counts the observations on the good side of
  ``value`` from the bucket counts. Within the bucket that holds ``value``
  the observations are taken as spread evenly (linear interpolation, the
  same assumption as Prometheus's ``histogram_quantile``), so the count is
  exact when ``value`` is a bucket bound (``0.3`` s is one of the duration
  buckets, :data:`heritage_otel.instruments.DURATION_BUCKETS_S`) and off by
  at most that bucket's count otherwise. The lowest bucket starts at the
  interval's minimum (or 0), the overflow bucket ends at its maximum (or
  holds only bad events when the maximum is unknown). OpenTelemetry bucket
  bounds are inclusive upper bounds: ``lte`` and ``lt`` count alike.
* A threshold on an indicator makes the interval one slice: good (1, 1) when
  the indicator holds ``op value``, bad (0, 1) otherwise.

>>> from heritage_otel.analysis.samples import IntervalSample, SeriesKey
>>> s = IntervalSample.from_histogram(SeriesKey.of("heritage.query.duration"), start_ns=0, end_ns=10**10,
...     bounds=(0.1, 0.3, 0.5), bucket_counts=(50, 30, 20, 0), total=20.0, minimum=0.01, maximum=0.45, unit="s")
>>> under(s, 0.3), under(s, 0.4), round(under(s, 0.05), 2)
(80.0, 90.0, 22.22)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from heritage_otel.analysis.samples import KIND_HISTOGRAM, IntervalSample, SeriesKey
from heritage_otel.analysis.slo.spec import Objective, Source

__all__ = ["events", "matches", "under"]


def matches(sample: IntervalSample, source: Source) -> bool:
    """True when the sample is of the source's metric and carries each of its attributes."""
    if sample.series.metric != source.metric:
        return False
    attrs = {k: str(v).lower() for k, v in sample.series.attributes}
    return all(attrs.get(k) == v for k, v in source.attributes)


def _count(samples: Iterable[IntervalSample], source: Source) -> float:
    return float(sum(s.count for s in samples if matches(s, source)))


def under(sample: IntervalSample, value: float) -> float:
    """Observations of a histogram sample at or below ``value`` (interpolated within its bucket)."""
    counts = sample.bucket_counts
    bounds = sample.bounds
    if not counts or not bounds:
        return math.nan
    below = 0.0
    lower = sample.minimum if math.isfinite(sample.minimum) else min(0.0, bounds[0])
    for i, n in enumerate(counts):
        upper = bounds[i] if i < len(bounds) else (sample.maximum if math.isfinite(sample.maximum) else math.inf)
        if value >= upper:
            below += n
            lower = upper
            continue
        if n and value > lower and math.isfinite(upper) and upper > lower:
            below += n * (value - lower) / (upper - lower)
        break
    return below


def _threshold_good(samples: Iterable[IntervalSample], source: Source, op: str, value: float) -> tuple[float, float]:
    good = total = 0.0
    for s in samples:
        if s.kind != KIND_HISTOGRAM or not matches(s, source) or not s.count:
            continue
        low = under(s, value)
        if math.isnan(low):
            continue
        good += low if op in ("lt", "lte") else s.count - low
        total += s.count
    return good, total


def _holds(op: str, x: float, value: float) -> bool:
    return {"lt": x < value, "lte": x <= value, "gt": x > value, "gte": x >= value}[op]


def events(objective: Objective, samples: list[IntervalSample], indicators: Mapping[SeriesKey, float]) -> tuple[float, float]:
    """(good, total) of one objective in one resource's interval; (0, 0) when it has no such events."""
    source = objective.threshold_source
    if source is not None and source.indicator is not None:
        found = [v for k, v in indicators.items() if k.metric == source.indicator and not k.attributes]
        if not found or not math.isfinite(found[0]):
            return 0.0, 0.0
        assert objective.op is not None and objective.value is not None  # noqa: S101 - narrows the type; the loader guarantees it
        return (1.0 if _holds(objective.op, found[0], objective.value) else 0.0), 1.0
    if source is not None:
        assert objective.op is not None and objective.value is not None  # noqa: S101 - narrows the type; the loader guarantees it
        return _threshold_good(samples, source, objective.op, objective.value)
    assert objective.total is not None  # noqa: S101 - narrows the type; the loader guarantees it
    total = _count(samples, objective.total)
    if total <= 0:
        return 0.0, 0.0
    if objective.good is not None:
        good = _count(samples, objective.good)
    else:
        assert objective.bad is not None  # noqa: S101 - narrows the type; the loader guarantees it
        good = total - _count(samples, objective.bad)
    return min(max(good, 0.0), total), total
