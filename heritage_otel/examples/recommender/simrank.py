"""SimRank over the document link graph, vectorised and computed once per corpus.

Two documents are similar when documents similar to each other link them:
``S = C * W S W^T`` with the diagonal held at 1, where ``W`` is the
row-normalised adjacency matrix of the (undirected) link graph. Each
iteration is two sparse-times-dense products; the matrix is cached per
(corpus, parameters), so every recommender built on the same corpus shares it.

Ranking propagates seed documents (for example a keyword ranker's best hits)
through the similarity matrix.

>>> from heritage_otel.examples.recommender.corpus import build_corpus
>>> ranker = SimRankRanker(build_corpus(seed=7, n_docs=1000))
>>> float(ranker.similarity[3, 3])
1.0
>>> hits = ranker.rank([(3, 1.0)], k=4)
>>> hits[0][0]
3
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

from heritage_otel.examples.recommender.corpus import Corpus
from heritage_otel.examples.recommender.faults import FaultInjector
from heritage_otel.examples.recommender.scoring import top_k

NAME = "simrank"


def link_matrix(corpus: Corpus) -> sparse.csr_matrix:
    """The symmetric 0/1 adjacency matrix of the corpus link graph."""
    n = len(corpus.documents)
    rows, cols = [], []
    for i, doc in enumerate(corpus.documents):
        for target in doc.links:
            rows.append(i)
            cols.append(corpus.index_of[target])
    adj = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    adj = ((adj + adj.T) > 0).astype(np.float64)
    return adj.tocsr()


def simrank_matrix(adjacency: sparse.csr_matrix, *, decay: float = 0.8, iterations: int = 8) -> np.ndarray:
    """SimRank similarities (dense, float32) of the graph ``adjacency``."""
    if not 0.0 < decay < 1.0:
        msg = f"decay={decay!r} is invalid; valid: 0 < decay < 1"
        raise ValueError(msg)
    if iterations < 1:
        msg = f"iterations={iterations!r} is invalid; valid: an integer >= 1"
        raise ValueError(msg)
    n = adjacency.shape[0]
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    w = (sparse.diags(1.0 / np.maximum(degree, 1.0)) @ adjacency).tocsr()
    sim = np.eye(n)
    diag = np.arange(n)
    for _ in range(iterations):
        left = w @ sim  # W S
        sim = decay * (w @ left.T).T  # (W (W S)^T)^T = W S W^T
        sim[diag, diag] = 1.0
    return sim.astype(np.float32)


@lru_cache(maxsize=4)
def _cached(corpus: Corpus, decay: float, iterations: int) -> np.ndarray:
    matrix = simrank_matrix(link_matrix(corpus), decay=decay, iterations=iterations)
    matrix.setflags(write=False)
    return matrix


class SimRankRanker:
    """Ranks documents by SimRank similarity to weighted seed documents."""

    name = NAME

    def __init__(
        self, corpus: Corpus, *, decay: float = 0.8, iterations: int = 8, faults: FaultInjector | None = None
    ) -> None:
        self.corpus = corpus
        self.faults = faults or FaultInjector()
        self.similarity: np.ndarray = _cached(corpus, float(decay), int(iterations))

    def scores(self, seeds: Sequence[tuple[int, float]]) -> np.ndarray:
        """Seed-weighted sum of the seeds' similarity rows."""
        if not seeds:
            return np.zeros(self.similarity.shape[0])
        idx = np.fromiter((i for i, _ in seeds), dtype=np.int64, count=len(seeds))
        weights = np.fromiter((w for _, w in seeds), dtype=np.float64, count=len(seeds))
        return weights @ self.similarity[idx]

    def rank(self, seeds: Sequence[tuple[int, float]], k: int = 50) -> list[tuple[int, float]]:
        """The ``k`` documents most similar to ``seeds`` ((index, weight) pairs), best first."""
        self.faults.before_call(NAME)
        scores = self.faults.perturb(NAME, self.scores(seeds))
        return top_k(scores, k)
