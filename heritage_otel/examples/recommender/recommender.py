"""``HeritageRecommender``: three ranking components behind a fallback chain.

The ranking strategies are tried in order until one succeeds (the seed's
``ranking_chain``):

1. ``primary_simrank``: BM25 (horn index) and TF-IDF (embedding) hits, plus
   SimRank propagation of the best BM25 hits, merged by the ensemble;
2. ``fallback_horn``: the horn index alone, through the ensemble;
3. ``basic_embedding``: the embedding ranker alone, through the ensemble.

Every step is a plain method (``recommend``, ``run_chain``, the three
strategies, each component's ``rank``, ``Ensemble.merge``, ``ResultCache.get``),
so an instrumentor can wrap them without the recommender knowing about
telemetry. ``chain_runner`` replaces the plain-Python chain when given.

>>> rec = HeritageRecommender(n_docs=1000)
>>> results = rec.recommend("chola temple tamil", top_k=3)
>>> [sorted(r) for r in results][0]
['doc_id', 'period', 'rank', 'region', 'score', 'title', 'type']
>>> rec.faults.fail("simrank")
>>> rec.run_chain(rec.strategies(), "chola temple tamil", 3)[1]
'fallback_horn'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from heritage_otel.errors import FallbackExhaustedError, ValidationError
from heritage_otel.examples.recommender.cache import ResultCache
from heritage_otel.examples.recommender.corpus import Corpus, build_corpus, normalize_query
from heritage_otel.examples.recommender.embedding import EmbeddingRanker
from heritage_otel.examples.recommender.ensemble import Ensemble
from heritage_otel.examples.recommender.faults import FaultInjector
from heritage_otel.examples.recommender.horn_index import HornIndex
from heritage_otel.examples.recommender.quality import intra_list_diversity, ndcg_at_k, precision_at_k
from heritage_otel.examples.recommender.simrank import SimRankRanker

CHAIN_NAME = "ranking_chain"
MAX_QUERY_CHARS = 1000
MAX_TOP_K = 100

Ranked = list[tuple[int, float]]
Strategy = tuple[str, Callable[[str, int], Ranked], int]
ChainRunner = Callable[[Sequence[Strategy], str, int], tuple[Ranked, str]]


class HeritageRecommender:
    """Recommends heritage documents for a free-text query.

    ``candidates`` is how many hits each component passes to the ensemble,
    ``seeds`` how many BM25 hits SimRank propagates, ``cache_size`` bounds
    the result cache (0 disables it).
    """

    def __init__(
        self,
        corpus: Corpus | None = None,
        *,
        seed: int = 7,
        n_docs: int = 1200,
        faults: FaultInjector | None = None,
        cache_size: int = 256,
        candidates: int = 50,
        seeds: int = 10,
        chain_runner: ChainRunner | None = None,
    ) -> None:
        if candidates < 1 or seeds < 1:
            msg = f"candidates={candidates!r}, seeds={seeds!r} are invalid; valid: integers >= 1"
            raise ValueError(msg)
        self.corpus = corpus if corpus is not None else build_corpus(seed=seed, n_docs=n_docs)
        self.faults = faults if faults is not None else FaultInjector(seed=seed)
        self.simrank = SimRankRanker(self.corpus, faults=self.faults)
        self.horn_index = HornIndex(self.corpus, faults=self.faults)
        self.embedding = EmbeddingRanker(self.corpus, faults=self.faults)
        self.ensemble = Ensemble()
        self.cache = ResultCache(cache_size)
        self.candidates = candidates
        self.seeds = seeds
        self.chain_runner = chain_runner

    # --- the entry point --------------------------------------------------------
    def recommend(self, query: str, top_k: int = 10) -> list[dict[str, Any]]:
        """The ``top_k`` best documents for ``query``: dicts with doc_id, score, title, period, region, type, rank.

        Raises :class:`~heritage_otel.errors.ValidationError` for an empty or
        over-long query or a ``top_k`` outside 1..100, and
        :class:`~heritage_otel.errors.FallbackExhaustedError` when every strategy fails.
        """
        self.validate(query, top_k)
        key = (normalize_query(query), top_k)
        cached = self.cache.get(key)
        if cached is not None:
            return [dict(r) for r in cached]
        runner = self.chain_runner or self.run_chain
        ranked, _strategy = runner(self.strategies(), query, top_k)
        results = self._materialize(ranked)
        self.cache.put(key, tuple(dict(r) for r in results))
        return results

    @staticmethod
    def validate(query: object, top_k: object) -> None:
        """Raise ValidationError unless ``query`` is 1..1000 non-blank chars and ``top_k`` in 1..100."""
        if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY_CHARS:
            length = len(query) if isinstance(query, str) else None
            msg = f"query is invalid (type {type(query).__name__}, length {length}); valid: 1..1000 non-blank chars"
            raise ValidationError(msg, field="query", value=length, expected="1..1000 non-blank characters")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            msg = f"top_k={top_k!r} is invalid; valid: an integer in 1..100"
            raise ValidationError(msg, field="top_k", value=top_k, expected="integer in 1..100")

    # --- the fallback chain -------------------------------------------------------
    def strategies(self) -> list[Strategy]:
        """(name, callable, priority) of each strategy, in the order they are tried."""
        return [
            ("primary_simrank", self.primary_simrank, 3),
            ("fallback_horn", self.fallback_horn, 2),
            ("basic_embedding", self.basic_embedding, 1),
        ]

    def run_chain(self, strategies: Sequence[Strategy], query: str, top_k: int) -> tuple[Ranked, str]:
        """Try ``strategies`` in order; return (ranking, name of the strategy that answered)."""
        errors: list[tuple[str, BaseException]] = []
        for name, strategy, _priority in strategies:
            try:
                return strategy(query, top_k), name
            except Exception as exc:  # noqa: BLE001 - the next strategy is the handling
                errors.append((name, exc))
        raise FallbackExhaustedError(CHAIN_NAME, errors)

    def primary_simrank(self, query: str, top_k: int) -> Ranked:
        """BM25 + TF-IDF hits and SimRank propagation of the best BM25 hits, merged."""
        horn = self.horn_index.rank(query, self.candidates)
        embedding = self.embedding.rank(query, self.candidates)
        simrank = self.simrank.rank((horn or embedding)[: self.seeds], self.candidates)
        return self.ensemble.merge({"simrank": simrank, "horn_index": horn, "embedding": embedding}, top_k)

    def fallback_horn(self, query: str, top_k: int) -> Ranked:
        """The horn index (BM25) alone."""
        return self.ensemble.merge({"horn_index": self.horn_index.rank(query, self.candidates)}, top_k)

    def basic_embedding(self, query: str, top_k: int) -> Ranked:
        """The embedding ranker (TF-IDF cosine) alone."""
        return self.ensemble.merge({"embedding": self.embedding.rank(query, self.candidates)}, top_k)

    # --- quality ------------------------------------------------------------------
    def evaluate(self, query: str, results: Sequence[dict[str, Any]]) -> dict[str, float]:
        """Quality of ``results``: diversity always, NDCG@10 and P@5 when ``query`` is judged."""
        scores = {"diversity": intra_list_diversity(results)}
        judged = self.corpus.query_for(query)
        if judged is not None:
            ids = [r["doc_id"] for r in results]
            scores["ndcg_at_10"] = ndcg_at_k(ids, judged.judgements, 10, ideal=judged.ideal)
            scores["precision_at_5"] = precision_at_k(ids, judged.judgements, 5)
        return scores

    def _materialize(self, ranked: Ranked) -> list[dict[str, Any]]:
        docs = self.corpus.documents
        return [
            {
                "doc_id": docs[i].doc_id,
                "score": score,
                "title": docs[i].title,
                "period": docs[i].period,
                "region": docs[i].region,
                "type": docs[i].type,
                "rank": rank,
            }
            for rank, (i, score) in enumerate(ranked, start=1)
        ]
