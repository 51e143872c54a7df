"""The ensemble: merges component rankings into one by weighted, max-normalised scores.

>>> ensemble = Ensemble({"horn_index": 0.5, "embedding": 0.5})
>>> ensemble.merge({"horn_index": [(1, 8.0), (2, 4.0)], "embedding": [(2, 0.9)]}, k=2)
[(2, 0.75), (1, 0.5)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

DEFAULT_WEIGHTS: Mapping[str, float] = {"simrank": 0.2, "horn_index": 0.6, "embedding": 0.2}


class Ensemble:
    """Weighted sum of each component's scores divided by that component's best score.

    Weights are renormalised over the components present in a call, so a
    strategy that uses one component returns its ranking unchanged (scaled to 0..1).
    """

    name = "ensemble"

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        bad = {k: v for k, v in weights.items() if not v > 0}
        if bad:
            msg = f"ensemble weights {bad!r} are invalid; valid: positive numbers per component"
            raise ValueError(msg)
        self.weights = weights

    def merge(self, rankings: Mapping[str, Sequence[tuple[int, float]]], k: int) -> list[tuple[int, float]]:
        """The ``k`` best (document index, merged score) pairs, best first, ties by index."""
        present = {name: hits for name, hits in rankings.items() if hits}
        if not present:
            return []
        total = sum(self.weights.get(name, 1.0) for name in present)
        merged: dict[int, float] = {}
        for name, hits in present.items():
            top = max(score for _, score in hits) or 1.0
            weight = self.weights.get(name, 1.0) / total
            for doc, score in hits:
                merged[doc] = merged.get(doc, 0.0) + weight * score / top
        docs = np.fromiter(merged.keys(), dtype=np.int64, count=len(merged))
        scores = np.fromiter(merged.values(), dtype=np.float64, count=len(merged))
        order = np.lexsort((docs, -scores))[:k]
        return [(int(docs[i]), round(float(scores[i]), 12)) for i in order]
