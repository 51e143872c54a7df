"""PSI by hand on small tables, KS against scipy.stats.ks_2samp, and the bucket-CDF approximation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from heritage_otel.analysis.drift import PSI_EPSILON, bin_edges, ks, ks_counts, psi, psi_counts


def test_psi_counts_by_hand() -> None:
    """Three bins: shares (0.5, 0.3, 0.2) vs (0.3, 0.3, 0.4)."""
    expected = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert psi_counts([50, 30, 20], [30, 30, 40]) == pytest.approx(expected)
    assert expected == pytest.approx(0.24079, abs=1e-5)


def test_psi_empty_bin_uses_epsilon() -> None:
    """A bin empty on one side counts with share 1e-4 (Evidently's convention), not infinity."""
    ref, cur = [100, 0], [50, 50]
    expected = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - PSI_EPSILON) * math.log(0.5 / PSI_EPSILON)
    assert psi_counts(ref, cur) == pytest.approx(expected)


def test_psi_identical_is_zero_and_rows_work() -> None:
    """Identical distributions give 0; 2-D input gives one PSI per row; empty rows give NaN."""
    out = psi_counts([[10, 20, 30], [5, 5, 0], [0, 0, 0]], [[20, 40, 60], [5, 5, 0], [1, 1, 1]])
    assert out[0] == pytest.approx(0.0)
    assert out[1] == pytest.approx(0.0)
    assert math.isnan(out[2])


def test_psi_on_raw_values_bins_with_common_edges() -> None:
    """Raw-value PSI equals PSI of the counts under numpy's equal-width edges over both samples."""
    ref = np.array([1, 2, 2, 3, 3, 3, 4, 4, 5], dtype=float)
    cur = np.array([3, 4, 4, 5, 5, 5, 6, 6, 7], dtype=float)
    edges = bin_edges(ref, cur, 3)
    np.testing.assert_allclose(edges, [1, 3, 5, 7])
    # [1,3): ref 3, cur 0 ; [3,5): ref 5, cur 3 ; [5,7]: ref 1, cur 6
    assert psi(ref, cur, bins=3) == pytest.approx(psi_counts([3, 5, 1], [0, 3, 6]))


def test_psi_thresholds_on_shifted_normals() -> None:
    """Same distribution: PSI < 0.1; shifted by one sigma: PSI > 0.2."""
    rng = np.random.default_rng(8)
    assert psi(rng.normal(0, 1, 20_000), rng.normal(0, 1, 20_000)) < 0.1
    assert psi(rng.normal(0, 1, 20_000), rng.normal(1, 1, 20_000)) > 0.2


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0])
def test_ks_equals_scipy(shift: float) -> None:
    """On raw values ks() is scipy.stats.ks_2samp."""
    rng = np.random.default_rng(11)
    a, b = rng.normal(0, 1, 400), rng.normal(shift, 1, 300)
    ref = stats.ks_2samp(a, b)
    got = ks(a, b)
    assert got.statistic == pytest.approx(ref.statistic)
    assert got.pvalue == pytest.approx(ref.pvalue)
    assert not got.approximate


def test_ks_counts_statistic_is_max_cdf_gap_at_boundaries() -> None:
    """Bucketed KS: the max gap of the bucket CDFs (hand-computed)."""
    # CDFs: ref .2 .7 1.0 ; cur .1 .3 1.0 -> max gap 0.4
    result = ks_counts([20, 50, 30], [10, 20, 70])
    assert result.statistic == pytest.approx(0.4)
    assert result.approximate


def test_ks_counts_approximates_exact_ks_from_below() -> None:
    """On bucketed samples the statistic is a lower bound of scipy's exact one, and close with fine buckets."""
    rng = np.random.default_rng(12)
    a, b = rng.normal(0, 1, 5000), rng.normal(0.25, 1, 5000)
    bounds = np.linspace(-4, 4, 41)
    ca = np.bincount(np.searchsorted(bounds, a), minlength=len(bounds) + 1)
    cb = np.bincount(np.searchsorted(bounds, b), minlength=len(bounds) + 1)
    exact = stats.ks_2samp(a, b)
    approx = ks_counts(ca, cb)
    assert approx.statistic <= exact.statistic + 1e-12
    assert approx.statistic == pytest.approx(exact.statistic, abs=0.02)
    assert approx.pvalue < 0.05 and exact.pvalue < 0.05


def test_mismatched_shapes_raise() -> None:
    """Counts of different lengths are a usage error with a clear message."""
    with pytest.raises(ValueError, match="must match"):
        psi_counts([1, 2], [1, 2, 3])
