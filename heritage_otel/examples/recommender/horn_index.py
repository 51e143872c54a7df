"""The "horn index": a keyword inverted index ranked with Okapi BM25.

Postings are numpy arrays per term, so scoring a query is a few vectorised
additions over the documents that contain its terms.

>>> from heritage_otel.examples.recommender.corpus import build_corpus
>>> index = HornIndex(build_corpus(seed=7, n_docs=1000))
>>> hits = index.rank("chola temple tamil", k=3)
>>> len(hits), hits[0][1] >= hits[1][1] >= hits[2][1]
(3, True)
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from heritage_otel.examples.recommender.corpus import Corpus, tokenize
from heritage_otel.examples.recommender.faults import FaultInjector
from heritage_otel.examples.recommender.scoring import top_k

NAME = "horn_index"


class HornIndex:
    """BM25 over an inverted index of the corpus texts and titles.

    ``k1`` and ``b`` are the usual BM25 parameters.
    """

    name = NAME

    def __init__(self, corpus: Corpus, *, k1: float = 1.2, b: float = 0.75, faults: FaultInjector | None = None) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            msg = f"BM25 parameters k1={k1!r}, b={b!r} are invalid; valid: k1 >= 0 and 0 <= b <= 1"
            raise ValueError(msg)
        self.corpus = corpus
        self.faults = faults or FaultInjector()
        self.n_docs = len(corpus.documents)
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.empty(self.n_docs, dtype=np.float64)
        for i, doc in enumerate(corpus.documents):
            tokens = tokenize(doc.title) + tokenize(doc.text)
            lengths[i] = len(tokens)
            for term, tf in Counter(tokens).items():
                postings[term].append((i, tf))
        avgdl = float(lengths.mean())
        norm = k1 * (1.0 - b + b * lengths / avgdl)
        self._weights: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, plist in postings.items():
            docs = np.fromiter((d for d, _ in plist), dtype=np.int64, count=len(plist))
            tf = np.fromiter((t for _, t in plist), dtype=np.float64, count=len(plist))
            df = len(plist)
            idf = np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))
            self._weights[term] = (docs, idf * tf * (k1 + 1.0) / (tf + norm[docs]))

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct indexed terms."""
        return len(self._weights)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (0 where no term matches)."""
        out = np.zeros(self.n_docs)
        for term in tokenize(query):
            entry = self._weights.get(term)
            if entry is not None:
                out[entry[0]] += entry[1]
        return out

    def rank(self, query: str, k: int = 50) -> list[tuple[int, float]]:
        """The ``k`` best (document index, score) pairs with a positive score, best first."""
        self.faults.before_call(NAME)
        scores = self.faults.perturb(NAME, self.scores(query))
        return top_k(scores, k)
