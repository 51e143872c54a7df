"""The generated corpus: size, determinism, links and judgements."""

from __future__ import annotations

from heritage_otel.examples.recommender.corpus import build_corpus, normalize_query


def test_corpus_has_at_least_1000_documents_with_all_fields() -> None:
    """Every document has a title, text, period, region, type and at least one link."""
    corpus = build_corpus(seed=7)
    assert len(corpus.documents) >= 1000
    for doc in corpus.documents:
        assert doc.title and doc.text and doc.period and doc.region and doc.type
        assert doc.links and all(link in corpus.index_of for link in doc.links)
        assert doc.doc_id not in doc.links


def test_same_seed_same_corpus_other_seed_other_corpus() -> None:
    """The corpus is a function of its seed."""
    a = build_corpus(seed=11, n_docs=300)
    b = build_corpus.__wrapped__(seed=11, n_docs=300)  # bypass the cache: regenerate
    c = build_corpus(seed=12, n_docs=300)
    assert a.documents == b.documents
    assert [q.text for q in a.queries] == [q.text for q in b.queries]
    assert a.documents != c.documents


def test_judgements_are_graded_and_found_by_query_text() -> None:
    """Each judged query has grades 1..3 including a perfect match, found by normalised text."""
    corpus = build_corpus(seed=7)
    assert len(corpus.queries) >= 50 and len(corpus.drift_queries) >= 50
    for query in (*corpus.queries, *corpus.drift_queries):
        assert set(query.judgements.values()) <= {1, 2, 3}
        assert 3 in query.judgements.values()
    query = corpus.queries[0]
    assert corpus.judgements_for("  " + query.text.upper() + " ") == query.judgements
    assert corpus.judgements_for("no such query") is None
    assert normalize_query(" A  b ") == "a b"


def test_drift_queries_ask_about_other_facets() -> None:
    """The drifted mix covers periods the usual mix never asks about."""
    corpus = build_corpus(seed=7)
    usual = {q.period for q in corpus.queries}
    drifted = {q.period for q in corpus.drift_queries}
    assert usual.isdisjoint(drifted)
