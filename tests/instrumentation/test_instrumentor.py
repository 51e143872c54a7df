"""RecommenderInstrumentor: the telemetry one recommend() call produces, and the edge cases."""

from __future__ import annotations

import logging
import threading

import pytest
import wrapt
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, NoOpTracerProvider, StatusCode
from opentelemetry.trace import Tracer as ApiTracer

from heritage_otel import semconv
from heritage_otel.errors import FallbackExhaustedError, ValidationError
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.examples.recommender.recommender import HeritageRecommender as RecClass
from heritage_otel.instrumentation import RecommenderTargets

COMPONENTS = {"simrank", "horn_index", "embedding"}


def _judged(rec: HeritageRecommender, i: int = 0) -> str:
    return rec.corpus.queries[i].text


def test_recommend_produces_the_span_tree(telemetry, instrumented, rec) -> None:
    """heritage.recommend > fallback_chain > attempt > {3 components, ensemble}, one trace."""
    rec.recommend(_judged(rec), top_k=5)
    (root,) = telemetry.span_tree()
    assert root.name == semconv.SPAN_RECOMMEND
    (chain,) = root.children
    assert chain.name == semconv.SPAN_FALLBACK_CHAIN
    (attempt,) = chain.children
    assert attempt.span.attributes[semconv.FALLBACK_STRATEGY] == "primary_simrank"
    names = [c.name for c in attempt.children]
    assert sorted(names[:3]) == ["rank embedding", "rank horn_index", "rank simrank"]  # what they do, then which
    assert names[-1] == semconv.SPAN_ENSEMBLE
    assert {c.span.attributes[semconv.COMPONENT] for c in attempt.children[:3]} == COMPONENTS
    assert len({s.context.trace_id for s in telemetry.spans()}) == 1


def test_root_span_attributes(telemetry, instrumented, rec) -> None:
    """top_k, counts, cache flag, quality, strategy and OpenInference documents are on the root span."""
    results = rec.recommend(_judged(rec), top_k=5)
    attrs = telemetry.span(semconv.SPAN_RECOMMEND).attributes
    assert attrs[semconv.QUERY_TOP_K] == 5
    assert attrs[semconv.RESULT_COUNT] == 5 and attrs[semconv.RESULT_EMPTY] is False
    assert attrs[semconv.CACHE_HIT] is False
    assert attrs[semconv.FALLBACK_STRATEGY_USED] == "primary_simrank"
    assert attrs[semconv.OPENINFERENCE_SPAN_KIND] == semconv.OPENINFERENCE_RETRIEVER
    expected = rec.evaluate(_judged(rec), results)
    assert attrs[semconv.QUALITY_NDCG_AT_10] == pytest.approx(expected["ndcg_at_10"])
    assert attrs[semconv.QUALITY_PRECISION_AT_5] == pytest.approx(expected["precision_at_5"])
    assert attrs[semconv.QUALITY_DIVERSITY] == pytest.approx(expected["diversity"])
    for i, result in enumerate(results):
        assert attrs[semconv.retrieval_document_id(i)] == result["doc_id"]
        assert attrs[semconv.retrieval_document_score(i)] == pytest.approx(result["score"])
    assert set(attrs[semconv.COMPONENTS_USED]) == COMPONENTS


def test_unjudged_query_has_no_ndcg_and_empty_result_is_flagged(telemetry, instrumented, rec) -> None:
    """No judgements: no NDCG/P@5 attribute; no document found: empty flag and counter."""
    assert rec.recommend("qwertyuiop", top_k=5) == []
    attrs = telemetry.span(semconv.SPAN_RECOMMEND).attributes
    assert attrs[semconv.RESULT_EMPTY] is True and attrs[semconv.RESULT_COUNT] == 0
    assert semconv.QUALITY_NDCG_AT_10 not in attrs
    assert telemetry.metric_sum(semconv.METRIC_EMPTY_RESULTS) == 1


def test_query_text_is_hashed_by_default(telemetry, instrumented, rec) -> None:
    """The raw query appears in no span attribute, event or log record unless asked for."""
    query = _judged(rec)
    rec.recommend(query, top_k=3)
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    exported = [*root.attributes.values()]
    exported += [v for e in root.events for v in e.attributes.values()]
    exported += [v for r in telemetry.logs() for v in (r.log_record.attributes or {}).values()]
    assert query not in exported
    assert root.attributes[semconv.QUERY_HASH].startswith("sha256:")
    assert semconv.QUERY_TEXT not in root.attributes


def test_capture_query_text_opt_in(telemetry, instrumentor, rec) -> None:
    """With capture_query_text=True the query is exported as text and as OpenInference input.value."""
    instrumentor.instrument(capture_query_text=True)
    rec.recommend("chola temple", top_k=3)
    attrs = telemetry.span(semconv.SPAN_RECOMMEND).attributes
    assert attrs[semconv.QUERY_TEXT] == "chola temple" and attrs[semconv.INPUT_VALUE] == "chola temple"


def test_query_event_and_log_record_are_trace_correlated(telemetry, instrumented, rec) -> None:
    """One heritage.query span event and one log record with the root span's trace id."""
    rec.recommend(_judged(rec), top_k=3)
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    (event,) = telemetry.events(root, semconv.EVENT_QUERY)
    assert event.attributes[semconv.RESULT_COUNT] == 3 and event.attributes[semconv.SUCCESS] is True
    records = [r.log_record for r in telemetry.logs() if r.log_record.event_name == semconv.EVENT_QUERY]
    assert len(records) == 1
    assert records[0].trace_id == root.context.trace_id
    assert records[0].attributes[semconv.QUERY_ID] == event.attributes[semconv.QUERY_ID]


def test_metrics_are_recorded_with_exemplars(telemetry, instrumented, rec) -> None:
    """Queries, duration (exemplar = the root's trace id), results, quality and component durations."""
    rec.recommend(_judged(rec), top_k=5)
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    # exemplars are handed out by the first collection only, so read them first
    (duration,) = telemetry.metric_points(semconv.METRIC_QUERY_DURATION)
    assert duration.count == 1
    assert [e.trace_id for e in duration.exemplars] == [root.context.trace_id]
    assert telemetry.metric_sum(semconv.METRIC_QUERIES, **{semconv.SUCCESS: True}) == 1
    assert telemetry.histogram_count(semconv.METRIC_NDCG_AT_10) == 1
    assert telemetry.metric_sum(semconv.METRIC_RESULTS) == 5
    for name in COMPONENTS:
        assert telemetry.histogram_count(semconv.METRIC_COMPONENT_DURATION, **{semconv.COMPONENT: name}) == 1
    assert telemetry.metric_sum(semconv.METRIC_CACHE_REQUESTS, **{semconv.CACHE_RESULT: "miss"}) == 1


def test_cache_hit_skips_the_chain(telemetry, instrumented, rec) -> None:
    """A repeated query is a cache hit: flagged on the span, counted, and no chain span below it."""
    rec.recommend("mughal palace", top_k=3)
    telemetry.clear()
    rec.recommend("mughal palace", top_k=3)
    (root,) = telemetry.span_tree()
    assert root.span.attributes[semconv.CACHE_HIT] is True and root.children == []
    assert telemetry.metric_sum(semconv.METRIC_CACHE_REQUESTS, **{semconv.CACHE_RESULT: "hit"}) == 1


def test_component_failure_falls_back_and_is_recorded_with_severity(telemetry, instrumented, rec) -> None:
    """A failing simrank: exception event and severity on its span, fallback_horn used, one error counted."""
    rec.faults.fail("simrank")
    rec.recommend(_judged(rec), top_k=5)
    failed = telemetry.span("rank simrank", **{semconv.COMPONENT: "simrank"})
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes[semconv.ERROR_SEVERITY] == 3
    assert [e.name for e in failed.events] == [semconv.EXCEPTION_EVENT]
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    assert root.attributes[semconv.FALLBACK_STRATEGY_USED] == "fallback_horn"
    assert root.status.status_code is StatusCode.UNSET
    assert telemetry.metric_sum(semconv.METRIC_ERRORS) == 1
    assert telemetry.metric_sum(semconv.METRIC_FALLBACKS, **{semconv.FALLBACK_DEGRADED: True}) == 1


def test_exhausted_chain_propagates_and_marks_the_root(telemetry, instrumented, rec) -> None:
    """Every component failing: FallbackExhaustedError reaches the caller, the root span is an error."""
    for name in COMPONENTS:
        rec.faults.fail(name)
    with pytest.raises(FallbackExhaustedError):
        rec.recommend(_judged(rec), top_k=5)
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes[semconv.ERROR_TYPE] == "FallbackExhaustedError"
    assert root.attributes[semconv.SUCCESS] is False
    assert telemetry.metric_sum(semconv.METRIC_QUERIES, **{semconv.SUCCESS: False}) == 1
    # three failed attempts and the exhausted chain; the root does not count it again
    assert telemetry.metric_sum(semconv.METRIC_ERRORS) == 4
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.COMPONENT: "recommender"}) == 0


def test_validation_error_is_counted_at_the_root(telemetry, instrumented, rec) -> None:
    """An invalid top_k raises ValidationError; the root span records it with medium severity."""
    with pytest.raises(ValidationError):
        rec.recommend("temple", top_k=0)
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    assert root.attributes[semconv.ERROR_SEVERITY] == 2
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.COMPONENT: "recommender"}) == 1


def test_instrument_uninstrument_reinstrument(telemetry, instrumentor, rec) -> None:
    """Wrapped while instrumented, original methods after uninstrument, wrapped again after instrument."""
    instrumentor.instrument()
    assert isinstance(RecClass.__dict__["recommend"], wrapt.FunctionWrapper)
    rec.recommend("temple", 3)
    assert len(telemetry.find_spans(semconv.SPAN_RECOMMEND)) == 1
    instrumentor.uninstrument()
    assert not isinstance(RecClass.__dict__["recommend"], wrapt.FunctionWrapper)
    rec.recommend("fort", 3)
    assert len(telemetry.find_spans(semconv.SPAN_RECOMMEND)) == 1
    instrumentor.instrument()
    rec.recommend("palace", 3)
    assert len(telemetry.find_spans(semconv.SPAN_RECOMMEND)) == 2


def test_instrument_twice_wraps_once(telemetry, instrumentor, rec) -> None:
    """A second instrument() is a no-op: one span per call, not two."""
    instrumentor.instrument()
    instrumentor.instrument()
    rec.recommend("temple", 3)
    assert len(telemetry.find_spans(semconv.SPAN_RECOMMEND)) == 1
    assert len(telemetry.find_spans(semconv.SPAN_FALLBACK_CHAIN)) == 1


def test_no_op_tracer_provider(telemetry, instrumentor, rec) -> None:
    """With a no-op tracer provider no span is exported, results are unchanged, metrics still flow."""
    expected = HeritageRecommender(seed=7).recommend("chola temple", 5)
    instrumentor.instrument(tracer_provider=NoOpTracerProvider())
    assert rec.recommend("chola temple", 5) == expected
    assert telemetry.spans() == ()
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == 1


class _SpyTracer(ApiTracer):
    """Hands out non-recording spans that remember every attribute/event call made on them."""

    def __init__(self, calls: list[tuple[str, str]]) -> None:
        self.calls = calls

    def start_span(self, name, context=None, *args, **kwargs):  # noqa: ANN001, ANN201 - a test double's signature
        calls = self.calls

        class Spy(NonRecordingSpan):
            def set_attribute(self, key, value):  # noqa: ANN001, ANN201 - a test double's signature
                calls.append((name, key))

            def set_attributes(self, attributes):  # noqa: ANN001, ANN201 - a test double's signature
                calls.extend((name, key) for key in attributes)

            def add_event(self, event_name, *a, **k):  # noqa: ANN001, ANN201 - a test double's signature
                calls.append((name, event_name))

        from opentelemetry.trace import INVALID_SPAN_CONTEXT

        return Spy(INVALID_SPAN_CONTEXT)

    def start_as_current_span(self, name, context=None, *args, **kwargs):  # noqa: ANN001, ANN201 - a test double's signature
        from opentelemetry.trace import use_span

        return use_span(self.start_span(name), end_on_exit=True)


class _SpyTracerProvider(NoOpTracerProvider):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def get_tracer(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - a test double's signature
        return _SpyTracer(self.calls)


def test_non_recording_spans_get_no_attribute_work(telemetry, instrumentor, rec) -> None:
    """Our spans that do not record receive no attribute or event calls; the call still works."""
    spy = _SpyTracerProvider()
    instrumentor.instrument(tracer_provider=spy)
    rec.faults.fail("simrank")
    assert len(rec.recommend(_judged(rec), 5)) == 5
    ours = {semconv.SPAN_RECOMMEND, semconv.SPAN_ENSEMBLE, "rank simrank", "rank horn_index", "rank embedding"}
    assert [c for c in spy.calls if c[0] in ours] == []


def test_sampled_out_spans_are_not_exported(telemetry, instrumentor, rec) -> None:
    """A tracer provider sampling nothing exports nothing; the metrics are still recorded."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider)
    rec.recommend(_judged(rec), 5)
    assert exporter.get_finished_spans() == ()
    assert telemetry.histogram_count(semconv.METRIC_QUERY_DURATION) == 1
    provider.shutdown()


def test_suppressed_instrumentation_records_nothing(telemetry, instrumentor, rec) -> None:
    """Inside suppress_instrumentation() no span, metric or log is produced, and results are unchanged."""
    expected = HeritageRecommender(seed=7).recommend("chola temple", 5)
    instrumentor.instrument()
    with suppress_instrumentation():
        assert rec.recommend("chola temple", 5) == expected
    assert telemetry.spans() == ()
    assert telemetry.metric_points(semconv.METRIC_QUERIES) == []
    assert telemetry.metric_points(semconv.METRIC_CACHE_REQUESTS) == []
    assert telemetry.logs() == ()


def test_hooks_see_span_instance_query_and_results(telemetry, instrumentor, rec) -> None:
    """The request hook gets (span, recommender, query, top_k); the response hook gets the results."""
    seen = {}

    def request_hook(span, instance, query, top_k):  # noqa: ANN001, ANN202 - a test double's signature
        seen["request"] = (instance, query, top_k)
        span.set_attribute("app.tenant", "museum")

    def response_hook(span, instance, results):  # noqa: ANN001, ANN202 - a test double's signature
        seen["response"] = len(results)

    instrumentor.instrument(request_hook=request_hook, response_hook=response_hook)
    rec.recommend("fort", top_k=4)
    assert seen == {"request": (rec, "fort", 4), "response": 4}
    assert telemetry.span(semconv.SPAN_RECOMMEND).attributes["app.tenant"] == "museum"


def test_hooks_that_raise_are_logged_not_raised(telemetry, instrumentor, rec, caplog) -> None:
    """A raising hook or evaluator is logged; the caller still gets its results and the span ends."""

    def boom(*args):  # noqa: ANN002, ANN202 - a test double's signature
        raise RuntimeError("hook bug")

    instrumentor.instrument(request_hook=boom, response_hook=boom, evaluator=boom)
    with caplog.at_level(logging.ERROR, logger="heritage_otel.instrumentation._wrappers"):
        assert len(rec.recommend("fort", top_k=4)) == 4
    assert sum("hook" in r.getMessage() for r in caplog.records) == 2
    assert sum("evaluator" in r.getMessage() for r in caplog.records) == 1
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    assert root.status.status_code is StatusCode.UNSET
    assert semconv.QUALITY_DIVERSITY not in root.attributes


def test_eight_threads_get_exact_span_counts_and_parents(telemetry, instrumented) -> None:
    """8 threads x 10 calls: 80 traces, each with one root, one chain, one attempt, 3 components, 1 ensemble."""
    rec = HeritageRecommender(seed=7, cache_size=0)
    queries = [q.text for q in rec.corpus.queries[:10]]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            for q in queries:
                rec.recommend(q, 5)
        except BaseException as exc:  # noqa: BLE001 - the thread hands what it raised to the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    spans = telemetry.spans()
    assert len([s for s in spans if s.name == semconv.SPAN_RECOMMEND]) == 80
    assert len([s for s in spans if semconv.COMPONENT in (s.attributes or {})]) == 240
    roots = telemetry.span_tree()
    assert len(roots) == 80 and len({r.span.context.trace_id for r in roots}) == 80
    for root in roots:
        assert root.name == semconv.SPAN_RECOMMEND and root.span.parent is None
        (chain,) = root.children
        (attempt,) = chain.children
        assert sorted(c.name for c in attempt.children) == [semconv.SPAN_ENSEMBLE, "rank embedding",
                                                             "rank horn_index", "rank simrank"]
        assert {n.span.context.trace_id for _, n in root.walk()} == {root.span.context.trace_id}
        assert len(telemetry.events(root.span, semconv.EVENT_QUERY)) == 1
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == 80


def test_user_recommender_through_targets(telemetry, instrumentor) -> None:
    """A user's own classes are wrapped by module:Class.method targets."""
    from tests.instrumentation.user_recommender import Shop

    targets = RecommenderTargets(
        entry_point="tests.instrumentation.user_recommender:Shop.search",
        components={"keywords": "tests.instrumentation.user_recommender:KeywordScorer.score"},
        ensemble=None, chain=None, cache=None,
    )
    instrumentor.instrument(targets=targets)
    results = Shop().search("ancient stepwell", limit=2)
    (root,) = telemetry.span_tree()
    assert root.span.attributes[semconv.QUERY_TOP_K] == 2
    assert root.span.attributes[semconv.retrieval_document_id(0)] == results[0]["doc_id"]
    assert [c.span.attributes[semconv.COMPONENT] for c in root.children] == ["keywords"]
    instrumentor.uninstrument()
    assert not isinstance(Shop.__dict__["search"], wrapt.FunctionWrapper)


def test_default_top_k_comes_from_the_signature(telemetry, instrumented, rec) -> None:
    """recommend(query) without top_k records the method's default (10)."""
    rec.recommend("temple")
    assert telemetry.span(semconv.SPAN_RECOMMEND).attributes[semconv.QUERY_TOP_K] == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"targets": RecommenderTargets(entry_point="tests.instrumentation.user_recommender:Nope.search")},
         "no class 'Nope'"),
        ({"max_documents": -1}, "max_documents"),
        ({"request_hook": "not callable"}, "request_hook"),
    ],
)
def test_bad_configuration_fails_fast(instrumentor, kwargs, message) -> None:
    """Bad targets (of imported modules) or options raise at instrument() with the setting named; nothing is wrapped."""
    import tests.instrumentation.user_recommender  # noqa: F401 - an imported module is checked at once
    with pytest.raises((ValueError, TypeError), match=message):
        instrumentor.instrument(**kwargs)
    assert not isinstance(RecClass.__dict__["recommend"], wrapt.FunctionWrapper)


def test_malformed_target_string_is_rejected() -> None:
    """A target must look like module:Class.method."""
    with pytest.raises(ValueError, match="module:Class.method"):
        RecommenderTargets(entry_point="just_a_function")


LAZY_MODULE = """
class Ranker:
    def rank(self, text, k=5):
        return [(text, 1.0)][:k]


class App:
    def search(self, text, k=5):
        return [{"doc_id": d, "score": s} for d, s in Ranker().rank(text, k)]
"""


def _lazy_targets(module: str) -> RecommenderTargets:
    return RecommenderTargets(entry_point=f"{module}:App.search", components={"ranker": f"{module}:Ranker.rank"},
                              ensemble=None, chain=None, cache=None)


def test_targets_not_yet_imported_are_wrapped_on_import(telemetry, instrumentor, tmp_path, monkeypatch) -> None:
    """instrument() does not import a target module; importing it later wraps it."""
    import importlib
    import sys

    (tmp_path / "lazy_app_one.py").write_text(LAZY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    instrumentor.instrument(targets=_lazy_targets("lazy_app_one"))
    assert "lazy_app_one" not in sys.modules
    module = importlib.import_module("lazy_app_one")
    module.App().search("stupa")
    (root,) = telemetry.span_tree()
    assert root.name == semconv.SPAN_RECOMMEND and [c.name for c in root.children] == ["rank ranker"]
    instrumentor.uninstrument()
    assert not isinstance(module.App.__dict__["search"], wrapt.FunctionWrapper)


def test_uninstrument_before_import_leaves_the_module_alone(telemetry, instrumentor, tmp_path, monkeypatch) -> None:
    """A module first imported after uninstrument() is not wrapped."""
    import importlib

    (tmp_path / "lazy_app_two.py").write_text(LAZY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    instrumentor.instrument(targets=_lazy_targets("lazy_app_two"))
    instrumentor.uninstrument()
    module = importlib.import_module("lazy_app_two")
    assert not isinstance(module.App.__dict__["search"], wrapt.FunctionWrapper)
    module.App().search("stupa")
    assert telemetry.spans() == ()


def test_targets_the_user_did_not_name_are_none() -> None:
    """A custom entry point keeps none of the reference recommender's components, ensemble, chain or cache."""
    targets = RecommenderTargets(entry_point="tests.instrumentation.user_recommender:Shop.search",
                                 components={"keywords": "tests.instrumentation.user_recommender:KeywordScorer.score"})
    assert (targets.ensemble, targets.chain, targets.cache) == (None, None, None)
    assert dict(targets.components) == {"keywords": "tests.instrumentation.user_recommender:KeywordScorer.score"}
    reference = RecommenderTargets()
    assert set(reference.components) == {"simrank", "horn_index", "embedding"} and reference.chain is not None
    only_env_entry = RecommenderTargets.from_env({"HERITAGE_OTEL_RECOMMENDER_ENTRY": "app:Rec.search"})
    assert (dict(only_env_entry.components), only_env_entry.cache) == ({}, None)


def test_from_env_strict_raises_and_lenient_keeps_the_valid_targets(caplog) -> None:
    """strict (the default) raises on a malformed variable; strict=False logs it and keeps the rest."""
    env = {"HERITAGE_OTEL_RECOMMENDER_ENTRY": "app:Rec.search",
           "HERITAGE_OTEL_RECOMMENDER_COMPONENTS": "ok=app:A.rank,bad=app.A.rank",
           "HERITAGE_OTEL_RECOMMENDER_ENSEMBLE": "app:Ens.merge.now"}
    with pytest.raises(ValueError, match="HERITAGE_OTEL_RECOMMENDER_COMPONENTS entry 'bad'"):
        RecommenderTargets.from_env(env)
    targets = RecommenderTargets.from_env(env, strict=False)
    assert dict(targets.components) == {"ok": "app:A.rank"} and targets.ensemble is None
    assert "HERITAGE_OTEL_RECOMMENDER_ENSEMBLE" in caplog.text and "'app.A.rank'" in caplog.text
    bad_entry = RecommenderTargets.from_env({"HERITAGE_OTEL_RECOMMENDER_ENTRY": "app.Rec.search"}, strict=False)
    assert bad_entry.entry_point is None and bad_entry.chain is None


def test_an_exception_escaping_a_component_and_recommend_counts_once(telemetry, instrumentor, monkeypatch) -> None:
    """No chain: the component's exception propagates through recommend; heritage.errors grows by 1, both spans ERROR."""
    from tests.instrumentation.user_recommender import KeywordScorer, Shop

    def broken(self, text):
        raise RuntimeError("index offline")

    monkeypatch.setattr(KeywordScorer, "score", broken)
    instrumentor.instrument(targets=RecommenderTargets(
        entry_point="tests.instrumentation.user_recommender:Shop.search",
        components={"keywords": "tests.instrumentation.user_recommender:KeywordScorer.score"}))
    with pytest.raises(RuntimeError, match="index offline"):
        Shop().search("stepwell")
    instrumentor.uninstrument()
    assert telemetry.metric_sum(semconv.METRIC_ERRORS) == 1
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    component = telemetry.span("score keywords")
    assert root.status.status_code is StatusCode.ERROR and component.status.status_code is StatusCode.ERROR


def test_a_failing_component_is_counted_under_its_own_name_once(telemetry, instrumented, rec) -> None:
    """simrank failing inside the primary strategy: heritage.errors counts it once under simrank (not under
    primary_simrank), so the components table shows one row for one failure."""
    rec.faults.fail("simrank")
    for query in rec.corpus.queries[:3]:  # three different queries: no cache hit
        rec.recommend(query.text, top_k=5)
    points = telemetry.metric_points(semconv.METRIC_ERRORS)
    assert {p.attributes[semconv.COMPONENT]: p.value for p in points} == {"simrank": 3}
    assert telemetry.metric_sum(semconv.METRIC_FALLBACKS, **{semconv.FALLBACK_STRATEGY: "fallback_horn"}) == 3


def test_disabled_telemetry_calls_straight_through(instrumentor, rec) -> None:
    """configure(disabled=True): the wrappers run nothing of their own (no evaluator, no hook, no span)."""
    import heritage_otel

    calls = []
    telemetry = heritage_otel.configure(disabled=True)
    try:
        instrumentor.instrument(evaluator=lambda *a: calls.append("evaluator") or {},
                                request_hook=lambda *a: calls.append("hook"))
        results = rec.recommend(_judged(rec), top_k=5)
        assert len(results) == 5 and calls == []
    finally:
        instrumentor.uninstrument()
        telemetry.shutdown()
    from heritage_otel.testing import capture_telemetry

    with capture_telemetry() as captured:  # enabled again: the same wrappers record
        instrumentor.instrument(evaluator=lambda *a: calls.append("evaluator") or {})
        try:
            rec.recommend(_judged(rec, 1), top_k=5)
        finally:
            instrumentor.uninstrument()
        assert calls == ["evaluator"] and captured.span(semconv.SPAN_RECOMMEND)


def test_no_op_providers_given_to_instrument_wrap_nothing(instrumentor, rec) -> None:
    """Explicit no-op providers can never record anything: instrument() wraps no method at all."""
    from opentelemetry._logs import NoOpLoggerProvider
    from opentelemetry.metrics import NoOpMeterProvider

    instrumentor.instrument(tracer_provider=NoOpTracerProvider(), meter_provider=NoOpMeterProvider(),
                            logger_provider=NoOpLoggerProvider())
    assert not isinstance(RecClass.__dict__["recommend"], wrapt.FunctionWrapper)
    assert len(rec.recommend(_judged(rec), 5)) == 5
    instrumentor.uninstrument()
