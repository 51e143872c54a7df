"""The embedding ranker: TF-IDF vectors (L2-normalised, sparse) and cosine similarity.

>>> from heritage_otel.examples.recommender.corpus import build_corpus
>>> ranker = EmbeddingRanker(build_corpus(seed=7, n_docs=1000))
>>> hits = ranker.rank("mughal marble palace", k=5)
>>> len(hits), all(0 < s <= 1.0 + 1e-9 for _, s in hits)
(5, True)
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import sparse

from heritage_otel.examples.recommender.corpus import Corpus, tokenize
from heritage_otel.examples.recommender.faults import FaultInjector
from heritage_otel.examples.recommender.scoring import top_k

NAME = "embedding"


class EmbeddingRanker:
    """Cosine similarity between TF-IDF vectors of the query and of each document."""

    name = NAME

    def __init__(self, corpus: Corpus, *, faults: FaultInjector | None = None) -> None:
        self.corpus = corpus
        self.faults = faults or FaultInjector()
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for i, doc in enumerate(corpus.documents):
            for term, tf in Counter(tokenize(doc.title) + tokenize(doc.text)).items():
                rows.append(i)
                cols.append(vocab.setdefault(term, len(vocab)))
                vals.append(1.0 + np.log(tf))
        n_docs = len(corpus.documents)
        counts = sparse.csr_matrix((vals, (rows, cols)), shape=(n_docs, len(vocab)))
        df = np.bincount(cols, minlength=len(vocab))
        self._idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
        matrix = counts.multiply(self._idf).tocsr()
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        self.matrix: sparse.csr_matrix = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix
        self.vocabulary = vocab

    def vector(self, text: str) -> np.ndarray:
        """The L2-normalised dense TF-IDF vector of ``text`` (zero when no term is known)."""
        vec = np.zeros(len(self.vocabulary))
        for term, tf in Counter(tokenize(text)).items():
            j = self.vocabulary.get(term)
            if j is not None:
                vec[j] = (1.0 + np.log(tf)) * self._idf[j]
        norm = np.linalg.norm(vec)
        return vec / norm if norm > 0 else vec

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity of every document to ``query``."""
        return self.matrix @ self.vector(query)

    def rank(self, query: str, k: int = 50) -> list[tuple[int, float]]:
        """The ``k`` most similar (document index, cosine) pairs with a positive similarity."""
        self.faults.before_call(NAME)
        scores = self.faults.perturb(NAME, self.scores(query))
        return top_k(scores, k)
