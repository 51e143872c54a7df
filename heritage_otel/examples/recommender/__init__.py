"""A small but real Heritage Document Recommender to instrument, demonstrate and test against.

Plain Python with numpy and scipy; no telemetry code inside. A deterministic
corpus (:mod:`.corpus`), three ranking components (:mod:`.simrank`,
:mod:`.horn_index`, :mod:`.embedding`), an :mod:`.ensemble`, a result
:mod:`.cache`, :mod:`.quality` measures, run-time :mod:`.faults` and query
:mod:`.workload` mixes, put together by :class:`HeritageRecommender`.

>>> from heritage_otel.examples.recommender import HeritageRecommender
>>> rec = HeritageRecommender(seed=7)
>>> len(rec.recommend("mughal marble palace rajasthan", top_k=5))
5
"""

from heritage_otel.examples.recommender.cache import ResultCache
from heritage_otel.examples.recommender.corpus import Corpus, Document, JudgedQuery, build_corpus
from heritage_otel.examples.recommender.embedding import EmbeddingRanker
from heritage_otel.examples.recommender.ensemble import Ensemble
from heritage_otel.examples.recommender.faults import FaultInjector
from heritage_otel.examples.recommender.horn_index import HornIndex
from heritage_otel.examples.recommender.recommender import CHAIN_NAME, HeritageRecommender
from heritage_otel.examples.recommender.simrank import SimRankRanker
from heritage_otel.examples.recommender.workload import QueryMix

__all__ = [
    "CHAIN_NAME",
    "Corpus",
    "Document",
    "EmbeddingRanker",
    "Ensemble",
    "FaultInjector",
    "HeritageRecommender",
    "HornIndex",
    "JudgedQuery",
    "QueryMix",
    "ResultCache",
    "SimRankRanker",
    "build_corpus",
]
