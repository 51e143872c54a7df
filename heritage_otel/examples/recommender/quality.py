"""Ranking quality: NDCG@10, precision@5 and intra-list diversity.

>>> ndcg_at_k(["a", "b"], {"a": 3, "b": 2}, k=10)
1.0
>>> precision_at_k(["a", "x", "b", "y", "z"], {"a": 3, "b": 2}, k=5)
0.4
>>> intra_list_diversity([{"period": "chola", "type": "temple"}, {"period": "mughal", "type": "temple"}])
0.5
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Mapping, Sequence

FACETS: tuple[str, ...] = ("period", "region", "type")


def _discount(rank: int) -> float:
    """1 / log2(rank + 2) for a 0-based rank."""
    return 1.0 / math.log2(rank + 2)


def ideal_grades(judgements: Mapping[str, int], k: int = 10) -> list[int]:
    """The ``k`` best positive grades, best first: the ideal ranking's grades."""
    return heapq.nlargest(k, (g for g in judgements.values() if g > 0))


def ndcg_at_k(
    ranked_ids: Sequence[str], judgements: Mapping[str, int], k: int = 10, ideal: Sequence[int] | None = None
) -> float:
    """Normalised discounted cumulative gain of the first ``k`` ids (gain 2^grade - 1).

    ``ideal`` (from :func:`ideal_grades`) saves recomputing the ideal ranking for a query asked often.
    """
    ideal = ideal_grades(judgements, k) if ideal is None else list(ideal)[:k]
    if not ideal:
        return 0.0
    dcg = sum((2.0 ** judgements.get(d, 0) - 1.0) * _discount(i) for i, d in enumerate(ranked_ids[:k]))
    idcg = sum((2.0**g - 1.0) * _discount(i) for i, g in enumerate(ideal))
    return dcg / idcg


def precision_at_k(ranked_ids: Sequence[str], judgements: Mapping[str, int], k: int = 5, min_grade: int = 2) -> float:
    """Fraction of the first ``k`` positions holding a document graded >= ``min_grade``."""
    if k <= 0:
        msg = f"k={k!r} is invalid; valid: an integer >= 1"
        raise ValueError(msg)
    return sum(1 for d in ranked_ids[:k] if judgements.get(d, 0) >= min_grade) / k


def intra_list_diversity(results: Sequence[Mapping[str, object]], facets: Sequence[str] = FACETS) -> float:
    """Mean, over pairs of results, of the fraction of ``facets`` on which they differ (0 for < 2 results).

    Counted per facet value rather than per pair: O(n) instead of O(n^2).
    """
    present = [f for f in facets if any(f in r for r in results)]
    n = len(results)
    if n < 2 or not present:
        return 0.0
    same = 0
    for facet in present:
        same += sum(c * (c - 1) // 2 for c in Counter(r.get(facet) for r in results).values())
    return 1.0 - same / (n * (n - 1) / 2 * len(present))
