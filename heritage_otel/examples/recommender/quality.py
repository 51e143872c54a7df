"""Ranking quality: NDCG@10, precision@5 and intra-list diversity.

>>> ndcg_at_k(["a", "b"], {"a": 3, "b": 2}, k=10)
1.0
>>> precision_at_k(["a", "x", "b", "y", "z"], {"a": 3, "b": 2}, k=5)
0.4
>>> intra_list_diversity([{"period": "chola", "type": "temple"}, {"period": "mughal", "type": "temple"}])
0.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

FACETS: tuple[str, ...] = ("period", "region", "type")


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2))


def ndcg_at_k(ranked_ids: Sequence[str], judgements: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the first ``k`` ids (gain 2^grade - 1)."""
    ideal = sorted((g for g in judgements.values() if g > 0), reverse=True)[:k]
    if not ideal:
        return 0.0
    gains = np.array([2.0 ** judgements.get(d, 0) - 1.0 for d in ranked_ids[:k]])
    dcg = float(gains @ _discounts(len(gains))) if len(gains) else 0.0
    idcg = float((2.0 ** np.array(ideal) - 1.0) @ _discounts(len(ideal)))
    return dcg / idcg


def precision_at_k(ranked_ids: Sequence[str], judgements: Mapping[str, int], k: int = 5, min_grade: int = 2) -> float:
    """Fraction of the first ``k`` positions holding a document graded >= ``min_grade``."""
    if k <= 0:
        msg = f"k={k!r} is invalid; valid: an integer >= 1"
        raise ValueError(msg)
    return sum(1 for d in ranked_ids[:k] if judgements.get(d, 0) >= min_grade) / k


def intra_list_diversity(results: Sequence[Mapping[str, object]], facets: Sequence[str] = FACETS) -> float:
    """Mean, over pairs of results, of the fraction of ``facets`` on which they differ (0 for < 2 results)."""
    present = [f for f in facets if any(f in r for r in results)]
    if len(results) < 2 or not present:
        return 0.0
    total = 0.0
    pairs = 0
    for a, b in combinations(results, 2):
        total += sum(a.get(f) != b.get(f) for f in present) / len(present)
        pairs += 1
    return total / pairs
