"""The ranking components, the ensemble, the cache and the quality measures."""

from __future__ import annotations

import numpy as np
import pytest

from heritage_otel.examples.recommender.cache import ResultCache
from heritage_otel.examples.recommender.corpus import build_corpus
from heritage_otel.examples.recommender.embedding import EmbeddingRanker
from heritage_otel.examples.recommender.ensemble import Ensemble
from heritage_otel.examples.recommender.horn_index import HornIndex
from heritage_otel.examples.recommender.quality import intra_list_diversity, ndcg_at_k, precision_at_k
from heritage_otel.examples.recommender.simrank import SimRankRanker, link_matrix, simrank_matrix


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(seed=7)


def test_simrank_matches_the_pairwise_definition_on_a_small_graph() -> None:
    """The vectorised iteration equals the textbook recurrence on a 4-node graph."""
    from scipy import sparse

    edges = [(0, 1), (0, 2), (1, 3), (2, 3)]
    adj = sparse.csr_matrix((np.ones(8), ([a for a, b in edges] + [b for a, b in edges],
                                          [b for a, b in edges] + [a for a, b in edges])), shape=(4, 4))
    fast = simrank_matrix(adj, decay=0.8, iterations=5)
    neigh = {0: [1, 2], 1: [0, 3], 2: [0, 3], 3: [1, 2]}
    s = np.eye(4)
    for _ in range(5):
        new = np.eye(4)
        for a in range(4):
            for b in range(4):
                if a != b:
                    new[a, b] = 0.8 * sum(s[i, j] for i in neigh[a] for j in neigh[b]) / (len(neigh[a]) * len(neigh[b]))
        s = new
    np.testing.assert_allclose(fast, s, rtol=1e-5)


def test_simrank_is_computed_once_per_corpus(corpus) -> None:
    """Two rankers on the same corpus share one read-only similarity matrix."""
    a, b = SimRankRanker(corpus), SimRankRanker(corpus)
    assert a.similarity is b.similarity
    assert not a.similarity.flags.writeable
    assert link_matrix(corpus).nnz >= len(corpus.documents)


def test_simrank_scores_documents_of_the_seeds_period_higher(corpus) -> None:
    """Links follow periods, so documents of the seed's period are more similar than the others."""
    ranker = SimRankRanker(corpus)
    for seed in (0, 1, 2):
        scores = ranker.scores([(seed, 1.0)])
        period = corpus.documents[seed].period
        same = [i for i, d in enumerate(corpus.documents) if d.period == period and i != seed]
        other = [i for i, d in enumerate(corpus.documents) if d.period != period]
        assert scores[same].mean() > scores[other].mean()


def test_bm25_prefers_documents_with_more_query_terms(corpus) -> None:
    """The best BM25 hit for a facet query contains the query's terms."""
    index = HornIndex(corpus)
    hits = index.rank("mughal palace rajasthan", k=5)
    best = corpus.documents[hits[0][0]]
    assert {"mughal", "palace", "rajasthan"} & set(best.text.split() + best.title.lower().split())
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert index.rank("zzzz qqqq", k=5) == []


def test_bm25_rejects_invalid_parameters(corpus) -> None:
    """Bad BM25 parameters fail at construction, naming the valid range."""
    with pytest.raises(ValueError, match="0 <= b <= 1"):
        HornIndex(corpus, b=2.0)


def test_embedding_scores_are_cosines(corpus) -> None:
    """Document vectors are unit length; cosine of a document's own text is the maximum."""
    ranker = EmbeddingRanker(corpus)
    norms = np.sqrt(np.asarray(ranker.matrix.multiply(ranker.matrix).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, 1.0)
    doc = corpus.documents[42]
    hits = ranker.rank(doc.title + " " + doc.text, k=1)
    assert hits[0][0] == 42 and hits[0][1] == pytest.approx(1.0)


def test_ensemble_renormalises_over_present_components() -> None:
    """A single component keeps its order; absent components do not dilute scores."""
    ensemble = Ensemble()
    assert ensemble.merge({"embedding": [(3, 0.5), (1, 0.25)]}, k=5) == [(3, 1.0), (1, 0.5)]
    assert ensemble.merge({"embedding": []}, k=5) == []
    with pytest.raises(ValueError, match="positive numbers"):
        Ensemble({"simrank": 0})


def test_cache_is_bounded_and_counts_hits() -> None:
    """The least recently used entry is evicted; hits and misses are counted."""
    cache = ResultCache(maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and len(cache) == 2
    assert (cache.hits, cache.misses) == (2, 1)
    disabled = ResultCache(0)
    disabled.put("a", 1)
    assert disabled.get("a") is None


def test_quality_measures() -> None:
    """NDCG, precision and diversity on hand-checked lists."""
    judgements = {"a": 3, "b": 1, "c": 2}
    assert ndcg_at_k(["a", "c", "b"], judgements) == pytest.approx(1.0)
    worse = ndcg_at_k(["b", "c", "a"], judgements)
    expected = (1 + 3 / np.log2(3) + 7 / 2) / (7 + 3 / np.log2(3) + 1 / 2)
    assert worse == pytest.approx(expected)
    assert ndcg_at_k([], judgements) == 0.0
    assert precision_at_k(["a", "b", "c", "x", "y"], judgements) == pytest.approx(0.4)
    same = {"period": "p", "region": "r", "type": "t"}
    assert intra_list_diversity([same, same]) == 0.0
    assert intra_list_diversity([same, {"period": "q", "region": "s", "type": "u"}]) == 1.0
    assert intra_list_diversity([same]) == 0.0


def test_precomputed_ideal_gives_the_same_ndcg(corpus) -> None:
    """NDCG with a judged query's cached ideal grades equals NDCG computed from scratch."""
    from heritage_otel.examples.recommender.quality import ideal_grades

    query = corpus.queries[3]
    ranked = sorted(query.judgements, key=lambda d: (-query.judgements[d], d))[5:15]
    assert list(query.ideal) == ideal_grades(query.judgements)
    assert ndcg_at_k(ranked, query.judgements, ideal=query.ideal) == pytest.approx(ndcg_at_k(ranked, query.judgements))
