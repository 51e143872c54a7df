"""The OpenTelemetry instruments heritage-otel records, created once per MeterProvider.

Depends on ``opentelemetry-api`` only. Histograms carry advisory bucket
boundaries: seconds for durations, steps of 0.05 on 0..1 for the quality
scores (fine enough for PSI/KS drift on bucket counts).

>>> from opentelemetry.metrics import NoOpMeterProvider
>>> inst = instruments_for(NoOpMeterProvider())
>>> inst.queries.add(1)
>>> instruments_for(NoOpMeterProvider()) is not inst  # one set per provider
True
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from opentelemetry import metrics
from opentelemetry.metrics import Counter, Histogram, MeterProvider

from heritage_otel import semconv
from heritage_otel.version import __version__

#: Duration buckets in seconds: 1 ms .. 30 s.
DURATION_BUCKETS_S: Final = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
    0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 30.0,
)
#: Buckets for scores on 0..1 (NDCG, precision, diversity): 20 bins of 0.05.
UNIT_INTERVAL_BUCKETS: Final = tuple(round(i * 0.05, 2) for i in range(21))
#: Quality scores :func:`record_query` accepts, and the instrument of each.
QUALITY_KEYS: Final = ("ndcg_at_10", "precision_at_5", "diversity")
#: Buckets for result counts per query.
RESULT_COUNT_BUCKETS: Final = (0, 1, 2, 3, 5, 10, 20, 50, 100)


@dataclass(frozen=True)
class Instruments:
    """All heritage-otel instruments bound to one MeterProvider."""

    query_duration: Histogram
    queries: Counter
    results: Histogram
    empty_results: Counter
    ndcg_at_10: Histogram
    precision_at_5: Histogram
    diversity: Histogram
    component_duration: Histogram
    component_uses: Counter
    errors: Counter
    fallbacks: Counter
    cache_requests: Counter
    operation_duration: Histogram


def _create(provider: MeterProvider) -> Instruments:
    meter = provider.get_meter(semconv.INSTRUMENTATION_SCOPE, __version__)
    return Instruments(
        query_duration=meter.create_histogram(
            semconv.METRIC_QUERY_DURATION, unit="s",
            description="Duration of a recommendation query, end to end",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        ),
        queries=meter.create_counter(
            semconv.METRIC_QUERIES, unit="{query}", description="Recommendation queries served"
        ),
        results=meter.create_histogram(
            semconv.METRIC_RESULTS, unit="{document}",
            description="Documents returned per query",
            explicit_bucket_boundaries_advisory=RESULT_COUNT_BUCKETS,
        ),
        empty_results=meter.create_counter(
            semconv.METRIC_EMPTY_RESULTS, unit="{query}", description="Queries that returned no document"
        ),
        ndcg_at_10=meter.create_histogram(
            semconv.METRIC_NDCG_AT_10, unit="1", description="NDCG@10 of judged queries",
            explicit_bucket_boundaries_advisory=UNIT_INTERVAL_BUCKETS,
        ),
        precision_at_5=meter.create_histogram(
            semconv.METRIC_PRECISION_AT_5, unit="1", description="Precision@5 of judged queries",
            explicit_bucket_boundaries_advisory=UNIT_INTERVAL_BUCKETS,
        ),
        diversity=meter.create_histogram(
            semconv.METRIC_DIVERSITY, unit="1", description="Intra-list diversity of the results",
            explicit_bucket_boundaries_advisory=UNIT_INTERVAL_BUCKETS,
        ),
        component_duration=meter.create_histogram(
            semconv.METRIC_COMPONENT_DURATION, unit="s",
            description="Duration of one ranking component call",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        ),
        component_uses=meter.create_counter(
            semconv.METRIC_COMPONENT_USES, unit="{query}",
            description="Queries that used a ranking component, reported without a duration",
        ),
        errors=meter.create_counter(
            semconv.METRIC_ERRORS, unit="{error}", description="Errors recorded, by severity and component"
        ),
        fallbacks=meter.create_counter(
            semconv.METRIC_FALLBACKS, unit="{execution}",
            description="Fallback chain executions, by chain and strategy used",
        ),
        cache_requests=meter.create_counter(
            semconv.METRIC_CACHE_REQUESTS, unit="{request}", description="Result cache look-ups, by hit or miss"
        ),
        operation_duration=meter.create_histogram(
            semconv.METRIC_OPERATION_DURATION, unit="s",
            description="Duration of a timed operation (PerformanceLogger)",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        ),
    )


_lock = threading.Lock()
_by_provider: weakref.WeakKeyDictionary[MeterProvider, Instruments] = weakref.WeakKeyDictionary()


def instruments_for(provider: MeterProvider | None = None) -> Instruments:
    """The instruments bound to ``provider`` (default: the global MeterProvider).

    Created on first use and cached per provider, so hot paths pay one
    dictionary look-up.
    """
    if provider is None:
        provider = metrics.get_meter_provider()
    try:
        return _by_provider[provider]
    except (KeyError, TypeError):
        pass
    with _lock:
        found = _by_provider.get(provider)
        if found is None:
            found = _create(provider)
            try:
                _by_provider[provider] = found
            except TypeError:  # provider not weak-referenceable: do not cache
                pass
        return found


_SUCCEEDED: Final = {semconv.SUCCESS: True}
_FAILED: Final = {semconv.SUCCESS: False}


def record_query(
    inst: Instruments,
    duration_s: float,
    *,
    success: bool | None = True,
    num_results: int | None = None,
    quality: Mapping[str, float] | None = None,
) -> None:
    """Record one query on ``inst``: the one recording path of the instrumentor and the monitor facade.

    Counts the query and its duration (attribute ``heritage.success``; none
    when ``success`` is None: the outcome is unknown, and the error rate is
    then the recorded errors per query), the
    number of results and an empty result when ``num_results`` is given, and
    each quality score (keys among :data:`QUALITY_KEYS`; others are ignored).
    Call it inside the query's span so the histograms carry exemplars.

    >>> from opentelemetry.metrics import NoOpMeterProvider
    >>> record_query(instruments_for(NoOpMeterProvider()), 0.120, num_results=10, quality={"ndcg_at_10": 0.8})
    """
    outcome = _SUCCEEDED if success else _FAILED if success is not None else None
    inst.queries.add(1, outcome)
    inst.query_duration.record(duration_s, outcome)
    if num_results is not None:
        inst.results.record(num_results)
        if num_results == 0:
            inst.empty_results.add(1)
    if quality:
        for key in QUALITY_KEYS:
            value = quality.get(key)
            if value is not None:
                getattr(inst, key).record(value)


def record_component_call(inst: Instruments, component: str, duration_s: float, *, success: bool = True) -> None:
    """Record one measured call of ``component`` (attributes ``heritage.component``, ``heritage.success``).

    >>> from opentelemetry.metrics import NoOpMeterProvider
    >>> record_component_call(instruments_for(NoOpMeterProvider()), "simrank", 0.012)
    """
    inst.component_duration.record(duration_s, {semconv.COMPONENT: component, semconv.SUCCESS: success})
