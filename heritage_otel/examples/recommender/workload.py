"""Query workloads over the judged query sets: the usual mix, or the drifted one.

>>> from heritage_otel.examples.recommender.corpus import build_corpus
>>> from heritage_otel.examples.recommender.faults import FaultInjector
>>> corpus, faults = build_corpus(seed=7, n_docs=1000), FaultInjector()
>>> mix = QueryMix(corpus, faults, seed=3)
>>> mix.next().query_id.startswith("q")
True
>>> faults.drift(True)
>>> mix.next().query_id.startswith("d")
True
"""

from __future__ import annotations

import threading

import numpy as np

from heritage_otel.examples.recommender.corpus import Corpus, JudgedQuery
from heritage_otel.examples.recommender.faults import FaultInjector


class QueryMix:
    """Draws judged queries: from ``corpus.queries`` normally, from ``corpus.drift_queries`` while drifting."""

    def __init__(self, corpus: Corpus, faults: FaultInjector | None = None, *, seed: int = 0) -> None:
        self.corpus = corpus
        self.faults = faults or FaultInjector()
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def next(self) -> JudgedQuery:
        """The next query of the current mix."""
        pool = self.corpus.drift_queries if self.faults.drifting else self.corpus.queries
        with self._lock:
            i = int(self._rng.integers(len(pool)))
        return pool[i]
