"""Distribution drift: Population Stability Index and Kolmogorov-Smirnov.

PSI compares the share of observations per bin::

    PSI = sum_i (cur_i - ref_i) * ln(cur_i / ref_i)

where ``ref_i`` and ``cur_i`` are the shares of bin ``i`` (each summing to 1).
A bin with no observation on one side would make the logarithm infinite; as
Evidently does, a zero share is replaced by a small ``epsilon`` (default
0.0001) before the sum, without renormalising. Rules of thumb (the defaults
here): PSI < 0.1 stable, 0.1-0.2 moderate drift (WARNING), >= 0.2 significant
drift (CRITICAL).

On raw values, :func:`psi` bins both samples with common edges (``bins`` equal
width bins over the combined range, or explicit edges). OpenTelemetry delivers
histogram *bucket counts*, not values: :func:`psi_counts` works on them
directly (the buckets are the bins, so nothing is lost beyond the bucketing).

KS: on raw values :func:`ks` is ``scipy.stats.ks_2samp``. On bucket counts,
:func:`ks_counts` returns ``D = max_i |F_ref(b_i) - F_cur(b_i)|`` over the bucket
boundaries and an asymptotic p-value ``kolmogorov(D * sqrt(n*m/(n+m)))``. This
is an approximation: the true statistic is a supremum over all values, and the
CDFs are only known at the boundaries, so ``D`` is a lower bound of the exact
statistic (equal when the largest gap falls on a boundary); the p-value is
the large-sample limit and ignores ties created by bucketing.

>>> round(psi_counts([50, 50], [50, 50]), 6)
0.0
>>> round(psi_counts([80, 20], [50, 50]), 4)   # (0.5-0.8)ln(0.5/0.8) + (0.5-0.2)ln(0.5/0.2)
0.4159
>>> r = ks([1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5])
>>> round(r.statistic, 2)
0.25
>>> ks_counts([10, 0], [0, 10]).statistic
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PSI_EPSILON",
    "PSI_WARNING",
    "PSI_CRITICAL",
    "KS_ALPHA",
    "KSResult",
    "psi",
    "psi_counts",
    "ks",
    "ks_counts",
    "bin_edges",
]

PSI_EPSILON: Final = 1e-4
PSI_WARNING: Final = 0.1
PSI_CRITICAL: Final = 0.2
KS_ALPHA: Final = 0.05


@dataclass(frozen=True)
class KSResult:
    """Two-sample KS outcome; ``approximate`` is True when computed from bucket counts."""

    statistic: float
    pvalue: float
    approximate: bool = False


def bin_edges(reference: ArrayLike, current: ArrayLike, bins: int | Sequence[float] = 10) -> NDArray[np.float64]:
    """Common bin edges: ``bins`` equal-width bins over the combined range, or the given edges."""
    if not isinstance(bins, (int, np.integer)):
        edges = np.asarray(bins, dtype=float)
        if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
            msg = f"bins = {bins!r} is not valid; expected an integer >= 1 or at least two increasing edges"
            raise ValueError(msg)
        return edges
    if bins < 1:
        msg = f"bins = {bins!r} is not valid; expected an integer >= 1 or at least two increasing edges"
        raise ValueError(msg)
    both = np.concatenate([np.asarray(reference, dtype=float).ravel(), np.asarray(current, dtype=float).ravel()])
    return np.histogram_bin_edges(both[np.isfinite(both)], bins=int(bins))


def _shares(counts: NDArray[np.float64], epsilon: float) -> NDArray[np.float64]:
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / total
    return np.where(shares > 0, shares, epsilon)


def psi_counts(reference: ArrayLike, current: ArrayLike, epsilon: float = PSI_EPSILON) -> float | NDArray[np.float64]:
    """PSI from bin (bucket) counts; along the last axis, so 2-D input gives one PSI per row.

    Rows with no observation on either side give NaN.
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if ref.shape != cur.shape or ref.ndim == 0:
        msg = f"reference shape {ref.shape} and current shape {cur.shape} must match (one count per bin)"
        raise ValueError(msg)
    p = _shares(ref, epsilon)
    q = _shares(cur, epsilon)
    value = ((q - p) * np.log(q / p)).sum(axis=-1)
    empty = (ref.sum(axis=-1) <= 0) | (cur.sum(axis=-1) <= 0)
    value = np.where(empty, np.nan, value)
    return float(value) if value.ndim == 0 else value


def psi(
    reference: ArrayLike, current: ArrayLike, bins: int | Sequence[float] = 10, epsilon: float = PSI_EPSILON
) -> float:
    """PSI of two samples of raw values, binned with :func:`bin_edges`.

    >>> rng = np.random.default_rng(1)
    >>> psi(rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)) < 0.1
    True
    >>> psi(rng.normal(0, 1, 5000), rng.normal(1, 1, 5000)) > 0.2
    True
    """
    ref = np.asarray(reference, dtype=float).ravel()
    cur = np.asarray(current, dtype=float).ravel()
    edges = bin_edges(ref, cur, bins)
    ref_counts, _ = np.histogram(ref[np.isfinite(ref)], bins=edges)
    cur_counts, _ = np.histogram(cur[np.isfinite(cur)], bins=edges)
    return float(psi_counts(ref_counts, cur_counts, epsilon))


def ks(reference: ArrayLike, current: ArrayLike) -> KSResult:
    """Two-sample Kolmogorov-Smirnov test on raw values (``scipy.stats.ks_2samp``)."""
    ref = np.asarray(reference, dtype=float).ravel()
    cur = np.asarray(current, dtype=float).ravel()
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if len(ref) == 0 or len(cur) == 0:
        return KSResult(math.nan, math.nan)
    from scipy import stats  # imported where used: scipy.stats alone costs ~75 MiB

    result = stats.ks_2samp(ref, cur)
    return KSResult(float(result.statistic), float(result.pvalue))


def psi_drifted(value: Any, warning: float) -> Any:
    """The drift rule for PSI, on a value or an array: at or above the WARNING level.

    >>> psi_drifted(0.25, 0.1), psi_drifted(np.array([0.05, 0.1]), 0.1).tolist()
    (True, [False, True])
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(value) >= warning if np.ndim(value) else bool(value >= warning)


def ks_drifted(statistic: Any, pvalue: Any, alpha: float, min_statistic: float) -> Any:
    """The drift rule for KS, on values or arrays: significant (p < ``alpha``) and large (D >= ``min_statistic``).

    >>> ks_drifted(0.3, 0.001, 0.05, 0.1), ks_drifted(0.05, 0.001, 0.05, 0.1)
    (True, False)
    """
    with np.errstate(invalid="ignore"):
        hit = (np.asarray(pvalue) < alpha) & (np.asarray(statistic) >= min_statistic)
    return hit if np.ndim(hit) else bool(hit)


def warm_up() -> None:
    """Import the scipy parts the drift statistics use now, for long-running services whose first
    evaluation should not pay for it (in-process users import them on first use)."""
    from scipy import special, stats  # noqa: F401 - imported to warm the import cache


def ks_counts(reference: ArrayLike, current: ArrayLike) -> KSResult:
    """Approximate KS from bucket counts (see the module docstring); 2-D input works row-wise.

    For 2-D input the fields of the result are arrays.
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if ref.shape != cur.shape or ref.ndim == 0:
        msg = f"reference shape {ref.shape} and current shape {cur.shape} must match (one count per bucket)"
        raise ValueError(msg)
    n = ref.sum(axis=-1)
    m = cur.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf_ref = np.cumsum(ref, axis=-1) / n[..., None] if ref.ndim > 1 else np.cumsum(ref) / n
        cdf_cur = np.cumsum(cur, axis=-1) / m[..., None] if cur.ndim > 1 else np.cumsum(cur) / m
        d = np.abs(cdf_ref - cdf_cur).max(axis=-1)
        en = n * m / (n + m)
        from scipy import special  # imported where used: scipy.special ~26 MiB, scipy.stats ~75 MiB

        p = special.kolmogorov(d * np.sqrt(en))
    bad = (n <= 0) | (m <= 0)
    d = np.where(bad, np.nan, d)
    p = np.where(bad, np.nan, p)
    if d.ndim == 0:
        return KSResult(float(d), float(min(1.0, p)), approximate=True)
    return KSResult(d, np.minimum(p, 1.0), approximate=True)  # type: ignore[arg-type]  # arrays for array input (KSResult is typed for scalars)
