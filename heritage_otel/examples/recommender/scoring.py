"""Small numeric helpers shared by the ranking components.

>>> import numpy as np
>>> top_k(np.array([0.0, 3.0, 1.0, 2.0]), 2)
[(1, 3.0), (3, 2.0)]
"""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` highest positive scores as (index, score), best first, ties by index."""
    positive = np.flatnonzero(scores > 0)
    if positive.size == 0 or k <= 0:
        return []
    if positive.size > k:
        part = np.argpartition(-scores[positive], k - 1)[:k]
        positive = positive[part]
    order = np.lexsort((positive, -scores[positive]))
    chosen = positive[order]
    return [(int(i), float(scores[i])) for i in chosen]
