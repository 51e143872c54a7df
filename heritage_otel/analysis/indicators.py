"""Key indicators derived from one export's samples, under the seed's metric names.

The seed kept its metrics under names such as ``query_latency_p95`` (ms) and
``error_rate``; here they are computed from our OpenTelemetry metrics, per
resource (service), for each export interval:

==========================  =================================================================
indicator                   computed from (one interval)
==========================  =================================================================
query_latency_p50/p95/p99   ``heritage.query.duration`` buckets merged over attributes, x1000 (ms)
query_latency_mean          sum / count of ``heritage.query.duration``, in ms
error_rate                  failed queries (``heritage.queries`` with ``heritage.success`` false)
                            / ``heritage.queries``; when the queries counter carries no
                            ``heritage.success``, ``heritage.errors`` / ``heritage.queries``
component_error_rate        ``heritage.errors`` / ``heritage.queries``: every recorded error,
                            including component errors that a fallback absorbed
fallback_rate               degraded ``heritage.fallbacks`` / ``heritage.queries`` (degraded:
                            ``heritage.fallback.degraded`` true, or priority > 0 when that is absent)
empty_result_rate           ``heritage.query.empty_results`` / ``heritage.queries``
cache_hit_rate              ``heritage.cache.requests`` with result ``hit`` / all cache requests
ndcg_at_10, precision_at_5  mean of the quality histogram
diversity                   mean of ``heritage.quality.diversity``
results_per_query           mean of ``heritage.query.results``
throughput_qps              ``heritage.queries`` per second
query_count                 ``heritage.queries`` in the interval (the sample count the alert
                            policy's ``min_count`` reads)
component_latency_p50/p95   p50 and p95 of ``heritage.component.duration`` per component, in ms
==========================  =================================================================

``heritage.queries`` missing from an interval falls back to the number of
query-duration measurements. Rates are undefined (absent) without queries.

>>> from heritage_otel.analysis.samples import IntervalSample, SeriesKey, KIND_SUM
>>> q = IntervalSample(SeriesKey.of("heritage.queries"), KIND_SUM, 0, 10**10, 200.0, 200.0)
>>> e = IntervalSample(SeriesKey.of("heritage.errors", {"heritage.error.severity_name": "HIGH"}), KIND_SUM, 0, 10**10, 3.0, 3.0)
>>> found = compute_indicators([q, e])
>>> round(found[SeriesKey.of("error_rate")].value, 4), found[SeriesKey.of("throughput_qps")].value
(0.015, 20.0)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np

from heritage_otel import semconv
from heritage_otel.checks import is_true
from heritage_otel.indicators import INDICATOR_NAMES
from heritage_otel.analysis.samples import KIND_HISTOGRAM, IntervalSample, Labels, SeriesKey, bucket_quantiles

__all__ = ["INDICATORS", "IndicatorValue", "compute_indicators"]

#: The indicator names (rows of :data:`heritage_otel.indicators.TABLE` derived here).
INDICATORS: Final = INDICATOR_NAMES
_MAX_EXEMPLARS: Final = 5


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator for one interval, with the exemplars (trace id, span id, value) that explain it."""

    value: float
    exemplars: tuple[tuple[str, str, float], ...] = ()


def _exemplars(samples: Iterable[IntervalSample]) -> tuple[tuple[str, str, float], ...]:
    found = [
        (t, s, v)
        for smp in samples
        for t, s, v in zip(smp.exemplar_trace_ids, smp.exemplar_span_ids, smp.exemplar_values, strict=False)
    ]
    found.sort(key=lambda e: -e[2])  # the largest values first: those show a spike
    return tuple(found[:_MAX_EXEMPLARS])


def _merged(samples: list[IntervalSample]) -> tuple[tuple[float, ...], np.ndarray, float, float, float, float] | None:
    """Bucket counts merged over samples with the bounds of the first one."""
    if not samples:
        return None
    bounds = samples[0].bounds
    same = [s for s in samples if s.bounds == bounds]
    counts = np.sum([s.bucket_counts for s in same], axis=0)
    total = float(sum(s.sum for s in same))
    mins = [s.minimum for s in same if math.isfinite(s.minimum)]
    maxs = [s.maximum for s in same if math.isfinite(s.maximum)]
    return bounds, counts, total, float(counts.sum()), min(mins, default=math.nan), max(maxs, default=math.nan)


def _to_ms(unit: str) -> float:
    return 1.0 if unit == "ms" else 1000.0


def _attr(sample: IntervalSample, key: str) -> str | None:
    for k, v in sample.series.attributes:
        if k == key:
            return v
    return None


def _is_degraded(sample: IntervalSample) -> bool:
    degraded = _attr(sample, semconv.FALLBACK_DEGRADED)
    if degraded is not None:
        return is_true(degraded)
    priority = _attr(sample, semconv.FALLBACK_PRIORITY)
    try:
        return priority is not None and float(priority) > 0
    except ValueError:
        return False


def _is_hit(sample: IntervalSample) -> bool:
    result = _attr(sample, semconv.CACHE_RESULT)
    if result is not None:
        return result.lower() == "hit"
    hit = _attr(sample, semconv.CACHE_HIT)
    return hit is not None and is_true(hit)


def _group(samples: list[IntervalSample], resource: Labels) -> dict[SeriesKey, IndicatorValue]:
    by_metric: dict[str, list[IntervalSample]] = defaultdict(list)
    for s in samples:
        by_metric[s.series.metric].append(s)
    out: dict[SeriesKey, IndicatorValue] = {}

    def put(name: str, value: float, exemplars: tuple[tuple[str, str, float], ...] = (), attrs: Labels = ()) -> None:
        if math.isfinite(value):
            out[SeriesKey(name, attrs, resource)] = IndicatorValue(float(value), exemplars)

    durations = [s for s in by_metric.get(semconv.METRIC_QUERY_DURATION, ()) if s.kind == KIND_HISTOGRAM]
    merged = _merged(durations)
    latency_count = 0.0
    interval_s = max((s.interval_s for s in samples), default=1.0)
    if merged and merged[3] > 0:
        bounds, counts, total, latency_count, lo, hi = merged
        scale = _to_ms(durations[0].unit)
        p50, p95, p99 = bucket_quantiles(bounds, counts, (0.5, 0.95, 0.99), lo, hi)
        ex = _exemplars(durations)
        ex_ms = tuple((t, sp, v * scale) for t, sp, v in ex)
        put("query_latency_p50", p50 * scale, ex_ms)
        put("query_latency_p95", p95 * scale, ex_ms)
        put("query_latency_p99", p99 * scale, ex_ms)
        put("query_latency_mean", total / latency_count * scale, ex_ms)

    query_samples = by_metric.get(semconv.METRIC_QUERIES, [])
    queries = sum(s.count for s in query_samples) if query_samples else latency_count
    if query_samples:
        interval_s = max(s.interval_s for s in query_samples)
    if queries > 0 or query_samples:
        put("throughput_qps", queries / interval_s, _exemplars(query_samples))
        put("query_count", queries)
    if queries > 0:
        errors = by_metric.get(semconv.METRIC_ERRORS, [])
        put("component_error_rate", sum(s.count for s in errors) / queries, _exemplars(errors))
        outcomes = [s for s in query_samples if _attr(s, semconv.SUCCESS) is not None]
        if outcomes:  # query-level: a query a fallback answered did not fail
            failed = [s for s in outcomes if not is_true(_attr(s, semconv.SUCCESS))]
            put("error_rate", sum(s.count for s in failed) / queries, _exemplars(failed))
        else:
            put("error_rate", sum(s.count for s in errors) / queries, _exemplars(errors))
        fallbacks = [s for s in by_metric.get(semconv.METRIC_FALLBACKS, []) if _is_degraded(s)]
        put("fallback_rate", sum(s.count for s in fallbacks) / queries, _exemplars(fallbacks))
        empty = by_metric.get(semconv.METRIC_EMPTY_RESULTS, [])
        put("empty_result_rate", sum(s.count for s in empty) / queries, _exemplars(empty))

    cache = by_metric.get(semconv.METRIC_CACHE_REQUESTS, [])
    cache_total = sum(s.count for s in cache)
    if cache_total > 0:
        put("cache_hit_rate", sum(s.count for s in cache if _is_hit(s)) / cache_total)

    for metric, name in (
        (semconv.METRIC_NDCG_AT_10, "ndcg_at_10"),
        (semconv.METRIC_PRECISION_AT_5, "precision_at_5"),
        (semconv.METRIC_DIVERSITY, "diversity"),
        (semconv.METRIC_RESULTS, "results_per_query"),
    ):
        hist = [s for s in by_metric.get(metric, ()) if s.kind == KIND_HISTOGRAM]
        n = sum(s.count for s in hist)
        if n > 0:
            ex = tuple(sorted(_exemplars(hist), key=lambda e: e[2]))  # lowest scores first
            put(name, sum(s.sum for s in hist) / n, ex)

    by_component: dict[str, list[IntervalSample]] = defaultdict(list)
    for s in by_metric.get(semconv.METRIC_COMPONENT_DURATION, ()):
        if s.kind == KIND_HISTOGRAM:
            by_component[_attr(s, semconv.COMPONENT) or ""].append(s)
    for component, group in by_component.items():
        m = _merged(group)
        if m and m[3] > 0:
            p50, p95 = bucket_quantiles(m[0], m[1], (0.5, 0.95), m[4], m[5])
            scale = _to_ms(group[0].unit)
            ex = tuple((t, sp, v * scale) for t, sp, v in _exemplars(group))
            put("component_latency_p95", p95 * scale, ex, ((semconv.COMPONENT, component),))
            put("component_latency_p50", p50 * scale, ex, ((semconv.COMPONENT, component),))
    return out


def compute_indicators(samples: Iterable[IntervalSample]) -> dict[SeriesKey, IndicatorValue]:
    """Indicators of one interval, keyed by ``SeriesKey(indicator, attributes, resource)``."""
    by_resource: dict[Labels, list[IntervalSample]] = defaultdict(list)
    for s in samples:
        by_resource[s.series.resource].append(s)
    out: dict[SeriesKey, IndicatorValue] = {}
    for resource, group in by_resource.items():
        out.update(_group(group, resource))
    return out
