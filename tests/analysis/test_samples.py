"""Interval samples: series keys and percentiles estimated from buckets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from heritage_otel.analysis.samples import IntervalSample, SeriesKey, bucket_quantiles


def test_series_key_is_order_independent_and_stringifies_values() -> None:
    """Attribute order does not matter; values become strings (bools, ints, sequences)."""
    a = SeriesKey.of("m", {"b": True, "a": 1}, {"service.name": "s"})
    b = SeriesKey.of("m", {"a": 1, "b": True}, {"service.name": "s"})
    assert a == b and hash(a) == hash(b)
    assert a.attributes == (("a", "1"), ("b", "True"))
    assert a.labels() == {"service.name": "s", "a": "1", "b": "True"}


def test_bucket_quantiles_close_to_exact_percentiles_with_fine_buckets() -> None:
    """With 0.05-wide buckets the estimate is within one bucket width of numpy's percentile."""
    values = np.random.default_rng(3).beta(5, 2, 5000)
    bounds = [round(i * 0.05, 2) for i in range(21)]
    counts = np.bincount(np.searchsorted(bounds, values), minlength=len(bounds) + 1)
    est = bucket_quantiles(bounds, counts, (0.5, 0.95, 0.99), float(values.min()), float(values.max()))
    exact = np.percentile(values, [50, 95, 99])
    assert np.all(np.abs(np.array(est) - exact) <= 0.05)


def test_bucket_quantiles_clamped_to_min_max_and_empty_is_nan() -> None:
    """All measurements equal: every quantile is that value; no measurement: NaN."""
    assert bucket_quantiles((1.0, 2.0, 5.0), (0, 0, 7, 0), (0.5, 0.99), 3.5, 3.5) == [3.5, 3.5]
    assert all(math.isnan(q) for q in bucket_quantiles((1.0,), (0, 0), (0.5,)))


def test_overflow_bucket_uses_maximum() -> None:
    """Ranks in the +Inf bucket interpolate up to the observed maximum."""
    (p,) = bucket_quantiles((1.0,), (0, 10), (1.0,), 2.0, 9.0)
    assert p == 9.0


def test_histogram_sample_value_is_p95_for_durations_and_mean_otherwise() -> None:
    """Duration histograms (unit s) track p95; score histograms track the mean."""
    key = SeriesKey.of("x")
    dur = IntervalSample.from_histogram(key, start_ns=0, end_ns=10**9, bounds=(1.0,), bucket_counts=(10, 0),
                                        total=5.0, minimum=0.5, maximum=0.5, unit="s")
    score = IntervalSample.from_histogram(key, start_ns=0, end_ns=10**9, bounds=(1.0,), bucket_counts=(4, 0),
                                          total=2.0, unit="1")
    assert dur.value == pytest.approx(0.5)
    assert score.value == pytest.approx(0.5) and score.mean == 0.5
