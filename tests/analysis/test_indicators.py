"""Indicators under the seed's names, from our OpenTelemetry metrics."""

from __future__ import annotations

import pytest

from heritage_otel import semconv
from heritage_otel.analysis.indicators import compute_indicators
from heritage_otel.analysis.samples import KIND_SUM, IntervalSample, SeriesKey

NS = 10**9


def counter(metric: str, value: float, attrs=None) -> IntervalSample:
    return IntervalSample(SeriesKey.of(metric, attrs), KIND_SUM, 0, 10 * NS, value, value)


def values(samples) -> dict[str, float]:
    return {k.metric: v.value for k, v in compute_indicators(samples).items() if not k.attributes}


def test_fallback_rate_counts_degraded_executions_only() -> None:
    """fallback_rate = fallbacks with heritage.fallback.degraded=true / queries."""
    got = values([
        counter(semconv.METRIC_QUERIES, 100),
        counter(semconv.METRIC_FALLBACKS, 90, {semconv.FALLBACK_STRATEGY: "primary", semconv.FALLBACK_DEGRADED: False}),
        counter(semconv.METRIC_FALLBACKS, 10, {semconv.FALLBACK_STRATEGY: "bm25", semconv.FALLBACK_DEGRADED: True}),
    ])
    assert got["fallback_rate"] == pytest.approx(0.10)


def test_cache_hit_rate_and_empty_result_rate() -> None:
    """cache_hit_rate = hits / all look-ups; empty_result_rate = empty / queries."""
    got = values([
        counter(semconv.METRIC_QUERIES, 50),
        counter(semconv.METRIC_EMPTY_RESULTS, 5),
        counter(semconv.METRIC_CACHE_REQUESTS, 30, {semconv.CACHE_RESULT: "hit"}),
        counter(semconv.METRIC_CACHE_REQUESTS, 10, {semconv.CACHE_RESULT: "miss"}),
    ])
    assert got["cache_hit_rate"] == pytest.approx(0.75)
    assert got["empty_result_rate"] == pytest.approx(0.10)
    assert got["error_rate"] == 0.0


def test_no_queries_means_no_rates() -> None:
    """Without queries, rates are absent rather than zero."""
    got = values([counter(semconv.METRIC_ERRORS, 3)])
    assert "error_rate" not in got


def test_component_latency_per_component_and_resources_separate() -> None:
    """component_latency_p95 is per component (ms); each resource gets its own indicators."""
    def comp(name: str, seconds: float, service: str) -> IntervalSample:
        return IntervalSample.from_histogram(
            SeriesKey.of(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: name}, {"service.name": service}),
            start_ns=0, end_ns=10 * NS, bounds=(0.1, 1.0), bucket_counts=(0, 4, 0), total=4 * seconds,
            minimum=seconds, maximum=seconds, unit="s")

    found = compute_indicators([comp("simrank", 0.5, "a"), comp("embedding", 0.2, "a"), comp("simrank", 0.3, "b")])
    by = {(dict(k.resource)["service.name"], dict(k.attributes)[semconv.COMPONENT]): v.value for k, v in found.items()}
    assert by == {("a", "simrank"): pytest.approx(500.0), ("a", "embedding"): pytest.approx(200.0),
                  ("b", "simrank"): pytest.approx(300.0)}


def test_error_rate_counts_failed_queries_not_errors_a_fallback_absorbed() -> None:
    """With heritage.success on the queries counter, error_rate is failed queries / queries;
    component_error_rate keeps every recorded error per query."""
    got = values([
        counter(semconv.METRIC_QUERIES, 95, {semconv.SUCCESS: True}),
        counter(semconv.METRIC_QUERIES, 5, {semconv.SUCCESS: False}),
        counter(semconv.METRIC_ERRORS, 80, {semconv.ERROR_SEVERITY_NAME: "high", semconv.COMPONENT: "simrank"}),
    ])
    assert got["error_rate"] == pytest.approx(0.05)
    assert got["component_error_rate"] == pytest.approx(0.80)


def test_error_rate_without_query_outcomes_uses_recorded_errors() -> None:
    """A queries counter without heritage.success leaves error_rate = heritage.errors / queries."""
    got = values([counter(semconv.METRIC_QUERIES, 200), counter(semconv.METRIC_ERRORS, 3)])
    assert got["error_rate"] == pytest.approx(0.015) == got["component_error_rate"]


def test_the_indicator_table_names_registered_detectors_and_known_indicators() -> None:
    """Every row's detector is in the detector registry, its default is the registry's, every derived row is an
    indicator the Analyzer computes, and the directions are the ones that hurt."""
    from heritage_otel.analysis.detectors import DEFAULT_DETECTOR, DETECTORS
    from heritage_otel.analysis.indicators import INDICATORS
    from heritage_otel.indicators import DEFAULT_DETECTOR as TABLE_DEFAULT
    from heritage_otel.indicators import TABLE, bad_direction

    assert TABLE_DEFAULT == DEFAULT_DETECTOR
    assert {row.detector for row in TABLE.values()} <= set(DETECTORS)
    assert {name for name, row in TABLE.items() if row.derived} == set(INDICATORS)
    assert [bad_direction(m) for m in ("query_latency_p95", "error_rate", "ndcg_at_10", "throughput_qps")] == [
        "up", "up", "down", "down"]
