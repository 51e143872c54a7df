"""Good and total events from one export: counters, histogram buckets (interpolated), indicator slices."""

from __future__ import annotations

import math

import pytest

from heritage_otel.analysis.samples import IntervalSample, SeriesKey
from heritage_otel.analysis.slo.counting import events, under
from heritage_otel.analysis.slo.spec import parse_documents
from tests.analysis.slo.helpers import RESOURCE, availability, queries, source


def _duration(counts, minimum=0.01, maximum=0.45):
    return IntervalSample.from_histogram(SeriesKey("heritage.query.duration", (), RESOURCE), start_ns=0,
                                         end_ns=10**10, bounds=(0.1, 0.3, 0.5), bucket_counts=counts, total=1.0,
                                         minimum=minimum, maximum=maximum, unit="s")


def test_a_threshold_on_a_bucket_bound_is_exact() -> None:
    assert under(_duration((50, 30, 20, 0)), 0.3) == 80.0


def test_within_a_bucket_the_count_is_interpolated() -> None:
    assert under(_duration((50, 30, 20, 0)), 0.2) == pytest.approx(65.0)


def test_the_overflow_bucket_ends_at_the_maximum_or_is_all_bad() -> None:
    assert under(_duration((0, 0, 0, 10), maximum=1.5), 1.0) == pytest.approx(5.0)
    assert under(_duration((0, 0, 0, 10), maximum=math.nan), 1.0) == 0.0


def test_a_latency_objective_counts_queries_under_the_threshold() -> None:
    [o] = parse_documents([availability(objectives=[{"op": "lte", "value": 0.3, "target": 0.95}],
                                        indicator={"metadata": {"name": "d"}, "spec": {
                                            "thresholdMetric": source("heritage.query.duration")}})])
    assert events(o, [_duration((50, 30, 20, 0))], {}) == (80.0, 100.0)


def test_a_ratio_counts_bad_among_total_matching_attributes() -> None:
    [o] = parse_documents([availability()])
    assert events(o, queries(60, ok=97, failed=3), {}) == (97.0, 100.0)


def test_an_indicator_threshold_makes_one_slice_per_interval() -> None:
    [o] = parse_documents([availability(budgetingMethod="Timeslices",
                                        objectives=[{"op": "gte", "value": 0.6, "target": 0.9}],
                                        indicator={"metadata": {"name": "q"}, "spec": {"thresholdMetric": {
                                            "metricSource": {"type": "HeritageOtel",
                                                             "spec": {"indicator": "ndcg_at_10"}}}}})])
    key = SeriesKey("ndcg_at_10", (), RESOURCE)
    assert events(o, [], {key: 0.7}) == (1.0, 1.0)
    assert events(o, [], {key: 0.5}) == (0.0, 1.0)
    assert events(o, [], {}) == (0.0, 0.0)
