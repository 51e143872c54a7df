"""HeritageRecommender: results, fallbacks, faults, cache and quality."""

from __future__ import annotations

import time

import pytest

from heritage_otel.errors import FallbackExhaustedError, HighSeverityError, ValidationError
from heritage_otel.examples.recommender import FaultInjector, HeritageRecommender, QueryMix


@pytest.fixture()
def rec() -> HeritageRecommender:
    return HeritageRecommender(seed=7)


def test_recommend_returns_ranked_documents(rec) -> None:
    """Results carry doc_id, score, title and facets, scores descending, at most top_k."""
    results = rec.recommend("chola temple tamil", top_k=7)
    assert len(results) == 7
    assert [r["rank"] for r in results] == list(range(1, 8))
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert all(r["doc_id"] in rec.corpus.index_of and r["title"] for r in results)


def test_unknown_words_give_an_empty_result(rec) -> None:
    """A query with no indexed term returns no document (and no error)."""
    assert rec.recommend("qwertyuiop", top_k=5) == []


@pytest.mark.parametrize(("query", "top_k", "field"), [("", 5, "query"), ("x" * 1001, 5, "query"),
                                                        ("temple", 0, "top_k"), ("temple", 101, "top_k")])
def test_invalid_input_raises_validation_error(rec, query, top_k, field) -> None:
    """Queries must be 1..1000 non-blank chars and top_k 1..100."""
    with pytest.raises(ValidationError) as info:
        rec.recommend(query, top_k)
    assert info.value.field == field


def test_failing_component_falls_back_in_order(rec) -> None:
    """simrank failing -> fallback_horn; horn also failing -> basic_embedding; all -> exhausted."""
    query = "mughal palace rajasthan"
    assert rec.run_chain(rec.strategies(), query, 5)[1] == "primary_simrank"
    rec.faults.fail("simrank")
    ranked, used = rec.run_chain(rec.strategies(), query, 5)
    assert used == "fallback_horn" and ranked == rec.fallback_horn(query, 5)
    rec.faults.fail("horn_index")
    assert rec.run_chain(rec.strategies(), query, 5)[1] == "basic_embedding"
    rec.faults.fail("embedding")
    with pytest.raises(FallbackExhaustedError) as info:
        rec.recommend(query, 5)
    assert set(info.value.errors) == {"primary_simrank", "fallback_horn", "basic_embedding"}
    assert isinstance(info.value.errors["primary_simrank"], HighSeverityError)


def test_injectable_chain_runner_is_used() -> None:
    """A chain runner passed in replaces the plain-Python chain."""
    seen = []

    def runner(strategies, query, top_k):
        seen.append([name for name, _, _ in strategies])
        return strategies[-1][1](query, top_k), strategies[-1][0]

    rec = HeritageRecommender(seed=7, chain_runner=runner)
    assert rec.recommend("temple", 3)
    assert seen == [["primary_simrank", "fallback_horn", "basic_embedding"]]


def test_cache_serves_repeated_queries_with_copies(rec) -> None:
    """The second identical query is a cache hit; mutating a result does not touch the cache."""
    first = rec.recommend("Gupta fort Tamil", 5)
    first[0]["title"] = "changed"
    second = rec.recommend("gupta  fort tamil", 5)
    assert rec.cache.hits == 1 and rec.cache.misses == 1
    assert second[0]["title"] != "changed"


def test_slow_fault_adds_latency(rec) -> None:
    """A slow component delays the call by at least the injected latency."""
    rec.faults.slow("embedding", 0.05)
    start = time.perf_counter()
    rec.primary_simrank("temple", 5)
    assert time.perf_counter() - start >= 0.05


def test_degrade_fault_lowers_quality() -> None:
    """Noise on every component lowers the mean NDCG@10 of the judged queries."""
    rec = HeritageRecommender(seed=7, cache_size=0)

    def mean_ndcg() -> float:
        queries = rec.corpus.queries[:30]
        return sum(rec.evaluate(q.text, rec.recommend(q.text, 10))["ndcg_at_10"] for q in queries) / len(queries)

    clean = mean_ndcg()
    for name in ("simrank", "horn_index", "embedding"):
        rec.faults.degrade(name, 1.0)
    assert mean_ndcg() < clean - 0.1


def test_drift_switches_the_query_mix_and_lowers_quality() -> None:
    """While drifting, the workload draws from the tail queries, which are answered worse."""
    rec = HeritageRecommender(seed=7, cache_size=0)
    mix = QueryMix(rec.corpus, rec.faults, seed=1)

    def sample(n: int) -> tuple[set[str], float]:
        queries = [mix.next() for _ in range(n)]
        ndcg = sum(rec.evaluate(q.text, rec.recommend(q.text, 10))["ndcg_at_10"] for q in queries) / n
        return {q.query_id[0] for q in queries}, ndcg

    usual_ids, usual_ndcg = sample(40)
    rec.faults.drift(True)
    drift_ids, drift_ndcg = sample(40)
    assert usual_ids == {"q"} and drift_ids == {"d"}
    assert drift_ndcg < usual_ndcg


def test_evaluate_reports_quality_only_for_judged_queries(rec) -> None:
    """Judged queries get NDCG@10 and P@5; every result list gets a diversity."""
    query = rec.corpus.queries[0]
    scores = rec.evaluate(query.text, rec.recommend(query.text, 10))
    assert set(scores) == {"ndcg_at_10", "precision_at_5", "diversity"}
    assert 0.0 < scores["ndcg_at_10"] <= 1.0
    assert set(rec.evaluate("unjudged temple", rec.recommend("unjudged temple", 10))) == {"diversity"}


def test_fault_switches_validate_and_clear() -> None:
    """Bad fault settings fail fast; clear() removes every fault and the drift."""
    faults = FaultInjector()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        faults.fail("simrank", rate=2)
    faults.fail("simrank", rate=0.5)
    faults.drift(True)
    faults.clear()
    assert faults.active() == {} and not faults.drifting
