"""Properties of the quality measures and of SimRank, checked on generated inputs."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from heritage_otel.examples.recommender.corpus import build_corpus
from heritage_otel.examples.recommender.quality import intra_list_diversity, ndcg_at_k, precision_at_k
from heritage_otel.examples.recommender.simrank import SimRankRanker

FACET = st.sampled_from(["a", "b", "c"])
RESULT = st.fixed_dictionaries({"period": FACET, "region": FACET, "type": FACET})
JUDGEMENTS = st.dictionaries(st.sampled_from([f"d{i}" for i in range(30)]), st.integers(1, 3), min_size=1)
RANKING = st.lists(st.sampled_from([f"d{i}" for i in range(40)]), unique=True, max_size=15)


@given(st.lists(RESULT, max_size=25))
def test_diversity_equals_the_pairwise_definition(results) -> None:
    """The O(n) count equals the mean over pairs of the fraction of differing facets."""
    pairs = list(combinations(results, 2))
    expected = (sum(sum(a[f] != b[f] for f in ("period", "region", "type")) / 3 for a, b in pairs) / len(pairs)
                if pairs else 0.0)
    assert abs(intra_list_diversity(results) - expected) < 1e-9


@given(RANKING, JUDGEMENTS)
def test_ndcg_and_precision_are_fractions(ranking, judgements) -> None:
    """NDCG@10 and P@5 lie in [0, 1]."""
    assert 0.0 <= ndcg_at_k(ranking, judgements) <= 1.0 + 1e-12
    assert 0.0 <= precision_at_k(ranking, judgements) <= 1.0


@given(JUDGEMENTS)
def test_the_ideal_ranking_has_ndcg_one(judgements) -> None:
    """Ranking the judged documents by grade gives NDCG@10 = 1."""
    ideal = sorted(judgements, key=lambda d: -judgements[d])
    assert abs(ndcg_at_k(ideal, judgements) - 1.0) < 1e-12


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 10_000))
def test_simrank_is_a_similarity(seed) -> None:
    """For any corpus seed: symmetric, unit diagonal, values in [0, 1]."""
    sim = SimRankRanker(build_corpus(seed=seed, n_docs=200)).similarity
    assert np.allclose(sim, sim.T, atol=1e-6)
    assert np.allclose(np.diag(sim), 1.0)
    assert sim.min() >= 0.0 and sim.max() <= 1.0 + 1e-6
