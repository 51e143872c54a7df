"""Properties of the statistics over generated inputs (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from heritage_otel.analysis.detectors import rows_median
from heritage_otel.analysis.drift import ks_counts, psi_counts
from heritage_otel.analysis.samples import bucket_quantiles

counts = st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=30)


@given(counts, st.data())
def test_psi_is_non_negative_symmetric_and_zero_for_proportional_counts(ref, data) -> None:
    """PSI >= 0, PSI(a, b) == PSI(b, a), PSI(a, k*a) == 0."""
    cur = data.draw(st.lists(st.integers(0, 1000), min_size=len(ref), max_size=len(ref)))
    if sum(ref) == 0 or sum(cur) == 0:
        return
    value = psi_counts(ref, cur)
    assert value >= 0
    assert np.isclose(value, psi_counts(cur, ref))
    assert np.isclose(psi_counts(ref, [3 * c for c in ref]), 0.0, atol=1e-12)


@given(counts, st.data())
def test_ks_counts_statistic_in_unit_interval(ref, data) -> None:
    """0 <= D <= 1 and 0 <= p <= 1."""
    cur = data.draw(st.lists(st.integers(0, 1000), min_size=len(ref), max_size=len(ref)))
    if sum(ref) == 0 or sum(cur) == 0:
        return
    result = ks_counts(ref, cur)
    assert 0.0 <= result.statistic <= 1.0 + 1e-12
    assert 0.0 <= result.pvalue <= 1.0


@given(counts, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_bucket_quantiles_monotone_and_within_range(c, q1, q2) -> None:
    """Quantile estimates are non-decreasing in q and lie within [min, max]."""
    bounds = [float(i) for i in range(1, len(c))]
    if sum(c) == 0:
        return
    lo, hi = 0.5, float(len(c)) + 0.5
    a, b = bucket_quantiles(bounds, c, sorted((q1, q2)), lo, hi)
    assert lo <= a <= b <= hi


@settings(max_examples=50)
@given(st.integers(1, 40), st.integers(2, 30), st.integers(0, 2**32 - 1))
def test_rows_median_equals_numpy_on_ragged_rows(n_rows, n_cols, seed) -> None:
    """Grouped partition medians equal np.nanmedian, row by row, for any mix of row lengths."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, n_cols))
    x[rng.random((n_rows, n_cols)) < 0.3] = np.nan
    valid = np.isfinite(x)
    got = rows_median(np.where(valid, x, np.inf), valid.sum(axis=1))
    for i in range(n_rows):
        if valid[i].any():
            assert np.isclose(got[i], np.median(x[i][valid[i]]))
        else:
            assert np.isnan(got[i])
