"""A recommender shaped unlike the reference one: numpy arrays, tuples, objects, its own chain, async, generators."""

from __future__ import annotations

import asyncio
import logging

import pytest
from opentelemetry.trace import StatusCode

from heritage_otel import semconv
from heritage_otel.instrumentation import RecommenderTargets
from tests.instrumentation import shapes_recommender as shapes
from tests.instrumentation.shapes_recommender import Finder

MOD = "tests.instrumentation.shapes_recommender"
ENGINES = {"titles": f"{MOD}:TitleMatcher.match", "vectors": f"{MOD}:VectorEngine.lookup",
           "broken": f"{MOD}:BrokenEngine.lookup"}


def _targets(entry: str = "search", **kwargs) -> RecommenderTargets:
    return RecommenderTargets(entry_point=f"{MOD}:Finder.{entry}", components=ENGINES, **kwargs)


def test_numpy_scores_through_the_ensemble_leave_the_results_unchanged(telemetry, instrumentor) -> None:
    """A merge step fed a dict of numpy arrays gets its span; the telemetry never turns it into a failure."""
    expected = Finder().search("maps", k=3)
    instrumentor.instrument(targets=_targets(ensemble=f"{MOD}:Blender.combine"))
    assert Finder().search("maps", k=3) == expected
    ensemble = telemetry.span(semconv.SPAN_ENSEMBLE)
    assert ensemble.status.status_code is not StatusCode.ERROR
    assert ensemble.attributes[semconv.COMPONENTS_USED] == ("vectors",)
    assert not telemetry.find_spans(semconv.component_span_name("match", "titles"))  # no fallback happened


def test_a_chain_of_another_shape_runs_unchanged_and_says_why_once(telemetry, instrumentor, caplog) -> None:
    """A chain target that is not ``(strategies, *args) -> (result, name)`` is called through, logged once."""
    expected = Finder().search("maps", k=2)
    instrumentor.instrument(targets=_targets(chain=f"{MOD}:Finder.first_that_works"))
    with caplog.at_level(logging.WARNING, logger="heritage_otel"):
        results = [Finder().search("maps", k=2) for _ in range(3)]
    assert results == [expected] * 3 and len(expected) == 2
    warnings = [r.getMessage() for r in caplog.records if "first_that_works" in r.getMessage()]
    assert len(warnings) == 1 and "(name, callable, priority)" in warnings[0]
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == 3


def test_an_unrelated_evaluate_method_is_never_called_per_query(telemetry, instrumentor, caplog) -> None:
    """Quality comes from ``evaluate(query, results)`` only for the reference recommender or an ``evaluator=``."""
    instrumentor.instrument(targets=_targets())
    finder = Finder()
    with caplog.at_level(logging.ERROR, logger="heritage_otel"):
        finder.search("maps", k=2)
    assert finder.evaluations == 0
    assert not [r for r in caplog.records if "evaluator" in r.getMessage()]
    assert semconv.QUALITY_NDCG_AT_10 not in telemetry.span(semconv.SPAN_RECOMMEND).attributes


def test_an_evaluator_given_is_used_for_a_users_recommender(telemetry, instrumentor) -> None:
    """``evaluator=`` still supplies quality for any recommender."""
    instrumentor.instrument(targets=_targets(), evaluator=lambda inst, q, res: {"ndcg_at_10": 0.25})
    Finder().search("maps", k=2)
    assert telemetry.span(semconv.SPAN_RECOMMEND).attributes[semconv.QUALITY_NDCG_AT_10] == 0.25


@pytest.mark.parametrize("entry", ["search_pairs", "search_docs"])
def test_pairs_and_objects_give_the_retrieval_documents(telemetry, instrumentor, entry) -> None:
    """(id, score) tuples and objects with ``id``/``score`` attributes are documents, like mappings."""
    instrumentor.instrument(targets=_targets(entry))
    results = getattr(Finder(), entry)("maps", k=3)
    attrs = telemetry.span(semconv.SPAN_RECOMMEND).attributes
    ids = [r[0] if isinstance(r, tuple) else r.id for r in results]
    assert [attrs[semconv.retrieval_document_id(i)] for i in range(3)] == ids
    assert attrs[semconv.retrieval_document_score(0)] == pytest.approx(
        results[0][1] if isinstance(results[0], tuple) else results[0].score)


def test_a_document_reader_names_fields_of_any_result_object(telemetry, instrumentor) -> None:
    """``document_reader=`` maps a result of any shape to (id, score)."""
    instrumentor.instrument(targets=_targets(), document_reader=lambda hit: (hit.book_id, hit.relevance))
    results = Finder().search("maps", k=2)
    attrs = telemetry.span(semconv.SPAN_RECOMMEND).attributes
    assert attrs[semconv.retrieval_document_id(1)] == results[1].book_id
    assert attrs[semconv.retrieval_document_score(1)] == pytest.approx(results[1].relevance)


def test_a_raising_document_reader_is_logged_and_the_results_returned(telemetry, instrumentor, caplog) -> None:
    """A reader that fails on some result never reaches the caller; the span still ends with its counts."""
    instrumentor.instrument(targets=_targets(), document_reader=lambda hit: hit["nope"])
    with caplog.at_level(logging.ERROR, logger="heritage_otel"):
        assert len(Finder().search("maps", k=2)) == 2
    assert telemetry.span(semconv.SPAN_RECOMMEND).attributes[semconv.RESULT_COUNT] == 2
    assert any("document_reader" in r.getMessage() for r in caplog.records)


def test_a_component_returning_index_and_score_arrays_counts_its_hits(telemetry, instrumentor) -> None:
    """``(indices, scores)`` arrays count the hits (3), not the two arrays."""
    instrumentor.instrument(targets=_targets())
    Finder().search("maps", k=3)
    span = telemetry.span(semconv.component_span_name("lookup", "vectors"))
    assert span.attributes[semconv.RESULT_COUNT] == 3


def test_a_typo_in_a_target_suggests_the_names_that_exist(instrumentor) -> None:
    """A class or method that does not exist fails naming the close matches."""
    with pytest.raises(ValueError, match="did you mean 'Finder'"):
        instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{MOD}:Findr.search"))
    with pytest.raises(ValueError, match="did you mean 'search'"):
        instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{MOD}:Finder.serch"))


def test_an_async_entry_point_gets_its_span_around_the_awaited_call(telemetry, instrumentor) -> None:
    """``async def`` entry point: the span covers the awaited work, its components are children, results counted."""
    instrumentor.instrument(targets=_targets("asearch"))
    results = asyncio.run(Finder().asearch("maps", k=2))
    (root,) = telemetry.span_tree()
    assert root.name == semconv.SPAN_RECOMMEND
    assert root.span.attributes[semconv.RESULT_COUNT] == 2
    assert (root.span.end_time - root.span.start_time) >= 5_000_000  # the 5 ms sleep is inside
    assert [c.span.attributes[semconv.COMPONENT] for c in root.children] == ["vectors"]
    assert len(results) == 2 and telemetry.metric_sum(semconv.METRIC_QUERIES) == 1


def test_an_async_entry_point_that_raises_records_the_error(telemetry, instrumentor) -> None:
    """The exception of an awaited entry point reaches the caller and is on the span."""
    instrumentor.instrument(targets=_targets("asearch"))

    async def fail() -> None:
        await Finder().asearch(None, k=2)

    with pytest.raises(AttributeError):  # None.split(), from the last strategy of the finder's own chain
        asyncio.run(fail())
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    assert root.status.status_code is StatusCode.ERROR and root.attributes[semconv.SUCCESS] is False


def test_a_generator_entry_point_is_measured_while_consumed(telemetry, instrumentor) -> None:
    """A generator's span ends when it is exhausted (or closed), counting what it yielded."""
    instrumentor.instrument(targets=_targets("stream"))
    stream = Finder().stream("maps", k=3)
    assert not telemetry.find_spans(semconv.SPAN_RECOMMEND)  # nothing ran yet
    first = next(stream)
    rest = list(stream)
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    assert root.attributes[semconv.RESULT_COUNT] == 3
    assert isinstance(first, shapes.Hit) and len(rest) == 2
    assert [c.span.attributes[semconv.COMPONENT] for c in telemetry.span_tree()[0].children] == ["vectors"]
    partial = Finder().stream("maps", k=3)
    next(partial)
    partial.close()
    assert [s.attributes[semconv.RESULT_COUNT] for s in telemetry.find_spans(semconv.SPAN_RECOMMEND)] == [3, 1]


def test_module_level_functions_are_targets(telemetry, instrumentor) -> None:
    """``module:function`` names a plain function as the entry point or a component; uninstrument restores it."""
    instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{MOD}:search_titles",
                                                       components={"titles": f"{MOD}:top_titles"}))
    results = shapes.search_titles("maps kings", k=2)
    (root,) = telemetry.span_tree()
    assert root.span.attributes[semconv.QUERY_TOP_K] == 2 and root.span.attributes[semconv.RESULT_COUNT] == 2
    assert [c.name for c in root.children] == [semconv.component_span_name("top_titles", "titles")]
    assert len(results) == 2
    instrumentor.uninstrument()
    assert not hasattr(shapes.search_titles, "__wrapped__")


def test_a_typo_in_a_function_target_suggests_the_names_that_exist(instrumentor) -> None:
    """A function that does not exist fails naming the close matches."""
    with pytest.raises(ValueError, match="no function 'search_title'.*did you mean 'search_titles'"):
        instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{MOD}:search_title"))


def test_an_async_component_span_covers_the_awaited_call(telemetry, instrumentor) -> None:
    """An ``async def`` component is timed over its await; its failure is recorded on its span and counted once."""
    instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{MOD}:AsyncFinder.find",
                                                       components={"remote": f"{MOD}:Remote.fetch"}))
    asyncio.run(shapes.AsyncFinder().find("maps", k=2))
    asyncio.run(shapes.AsyncFinder().find("offline", k=2))
    ok, failed = telemetry.find_spans(semconv.component_span_name("fetch", "remote"))
    assert ok.end_time - ok.start_time >= 5_000_000 and ok.attributes[semconv.RESULT_COUNT] == 2
    assert failed.status.status_code is StatusCode.ERROR and failed.attributes["error.type"] == "ConnectionError"
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.COMPONENT: "remote"}) == 1
    assert telemetry.histogram_count(semconv.METRIC_COMPONENT_DURATION, **{semconv.COMPONENT: "remote"}) == 2


def test_the_evaluator_can_be_named_in_the_environment(telemetry, instrumentor, monkeypatch) -> None:
    """``HERITAGE_OTEL_RECOMMENDER_EVALUATOR`` (for opentelemetry-instrument) names a method or function."""
    monkeypatch.setattr(Finder, "quality", lambda self, text, hits: {"precision_at_5": len(hits) / 5},
                        raising=False)
    monkeypatch.setenv("HERITAGE_OTEL_RECOMMENDER_EVALUATOR", f"{MOD}:Finder.quality")
    instrumentor.instrument(targets=_targets())
    Finder().search("maps", k=2)
    assert telemetry.span(semconv.SPAN_RECOMMEND).attributes[semconv.QUALITY_PRECISION_AT_5] == 0.4


def test_an_evaluator_named_wrongly_is_logged_once_and_scores_nothing(telemetry, instrumentor, monkeypatch,
                                                                      caplog) -> None:
    """A typo in the variable: one log record naming it; queries are answered and recorded as usual."""
    monkeypatch.setenv("HERITAGE_OTEL_RECOMMENDER_EVALUATOR", f"{MOD}:Finder.qualty")
    instrumentor.instrument(targets=_targets())
    with caplog.at_level(logging.ERROR, logger="heritage_otel"):
        for _ in range(3):
            assert len(Finder().search("maps", k=2)) == 2
    assert sum("HERITAGE_OTEL_RECOMMENDER_EVALUATOR" in r.getMessage() for r in caplog.records) == 1
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == 3


def test_components_in_a_thread_pool_are_children_when_the_context_is_carried(telemetry, instrumentor) -> None:
    """Engines submitted with ``contextvars.copy_context().run`` are children of the call and counted in it."""
    instrumentor.instrument(targets=RecommenderTargets(
        entry_point=f"{MOD}:ParallelFinder.search", components=ENGINES))
    shapes.ParallelFinder().search("maps", k=2)
    (root,) = telemetry.span_tree()
    assert sorted(c.span.attributes[semconv.COMPONENT] for c in root.children) == ["titles", "vectors"]
    assert set(root.span.attributes[semconv.COMPONENTS_USED]) == {"titles", "vectors"}


def test_an_entry_point_that_calls_itself_is_one_query(telemetry, instrumentor) -> None:
    """A retry through the entry point itself (nothing matched, search again relaxed) is one span and one query."""
    instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{MOD}:ParallelFinder.search_retrying",
                                                       components=ENGINES))
    results = shapes.ParallelFinder().search_retrying("zzz", k=2)
    (root,) = telemetry.span_tree()
    assert root.name == semconv.SPAN_RECOMMEND and root.span.attributes[semconv.RESULT_COUNT] == len(results) == 2
    assert [c.name for c in root.children] == [semconv.component_span_name("match", "titles")] * 2
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == 1
    assert telemetry.metric_sum(semconv.METRIC_EMPTY_RESULTS) == 0


def test_a_typo_in_a_module_name_fails_instead_of_waiting_forever(instrumentor, caplog) -> None:
    """A target module that cannot be found is never imported: refused in code, logged from the environment."""
    typo = MOD.replace("shapes_recommender", "shapes_recomender")
    with pytest.raises(ValueError, match="no module 'tests.instrumentation.shapes_recomender' can be found|"
                                         "no module 'tests' can be found"):
        instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{typo}:Finder.search"))
    with pytest.raises(ValueError, match="no module 'bookfindr' can be found"):
        instrumentor.instrument(targets=RecommenderTargets(entry_point="bookfindr.service:Finder.search"))


def test_a_typo_in_a_submodule_is_logged_when_its_package_is_imported(instrumentor, tmp_path, monkeypatch,
                                                                        caplog) -> None:
    """``pkg.engine`` for ``pkg.engines``: unknown until ``pkg`` is imported, then logged with the close name."""
    package = tmp_path / "typo_pkg_for_targets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "engines.py").write_text("class Index:\n    def rank(self, text, k=3):\n        return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    instrumentor.instrument(targets=RecommenderTargets(
        entry_point=None, components={"bm25": "typo_pkg_for_targets.engine:Index.rank"}))
    with caplog.at_level(logging.ERROR, logger="heritage_otel"):
        import typo_pkg_for_targets  # noqa: F401 - imported for its import hook
    assert "no module 'typo_pkg_for_targets.engine' can be found; did you mean 'engines'?" in caplog.text


def test_targets_may_be_the_functions_and_methods_themselves(telemetry, instrumentor) -> None:
    """``entry_point=Finder.search`` is the same as ``"module:Finder.search"``; a local function is refused."""
    targets = RecommenderTargets(entry_point=Finder.search, components={"titles": shapes.top_titles})
    assert (targets.entry_point, targets.components["titles"]) == (f"{MOD}:Finder.search", f"{MOD}:top_titles")
    instrumentor.instrument(targets=RecommenderTargets(entry_point=shapes.search_titles,
                                                       components={"titles": shapes.top_titles}))
    shapes.search_titles("maps", k=1)
    assert [n.name for _, n in telemetry.span_tree()[0].walk()] == [
        semconv.SPAN_RECOMMEND, semconv.component_span_name("top_titles", "titles")]

    def local_search(text, k=3):
        return []

    with pytest.raises(ValueError, match="expected a module-level function or a method of a module-level class"):
        RecommenderTargets(entry_point=local_search)


def test_targets_given_in_code_replace_those_loaded_from_the_environment(telemetry, instrumentor, caplog) -> None:
    """opentelemetry-instrument instruments with the environment's targets first; instrument(targets=...) in the
    program then takes effect (a warning says so) instead of being a silent no-op."""
    instrumentor.instrument()  # what opentelemetry-instrument does: no targets given
    with caplog.at_level(logging.WARNING):
        instrumentor.instrument(targets=_targets())
        instrumentor.instrument(targets=_targets())  # the same targets again: a no-op
    Finder().search("maps", k=2)
    assert telemetry.span(semconv.SPAN_RECOMMEND).attributes[semconv.RESULT_COUNT] == 2
    assert sum("re-instrumenting" in r.getMessage() for r in caplog.records) == 1


def test_a_generator_that_raises_midway_records_the_error_and_ends_its_span(telemetry, instrumentor) -> None:
    """What it yielded reaches the caller, then its exception; the span is ERROR and ended, counted once."""
    instrumentor.instrument(targets=_targets("stream"))
    stream = Finder().stream(None, k=3)  # None.split() raises on the first next(), inside the finder
    with pytest.raises(AttributeError):
        next(stream)
    root = telemetry.span(semconv.SPAN_RECOMMEND)
    assert root.status.status_code is StatusCode.ERROR and root.attributes[semconv.SUCCESS] is False
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == 1
    thrown = Finder().stream("maps", k=3)
    next(thrown)
    with pytest.raises(KeyError):
        thrown.throw(KeyError("the caller's own"))
    assert len(telemetry.find_spans(semconv.SPAN_RECOMMEND)) == 2  # ended, with what was taken


def test_several_entry_points_each_read_their_own_parameters(telemetry, instrumentor, monkeypatch) -> None:
    """entry_point=[...]: each call of any of them is one query, with its own query and top-k parameters;
    one that calls another (search_pairs -> search) is still one query."""
    instrumentor.instrument(targets=RecommenderTargets(
        entry_point=[f"{MOD}:Finder.search_pairs", f"{MOD}:search_titles"], components=ENGINES))
    Finder().search_pairs("maps", k=2)
    shapes.search_titles(text="maps kings", k=1)
    first, second = telemetry.find_spans(semconv.SPAN_RECOMMEND)
    assert (first.attributes[semconv.QUERY_TOP_K], second.attributes[semconv.QUERY_TOP_K]) == (2, 1)
    assert second.attributes[semconv.QUERY_LENGTH] == len("maps kings")
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == 2
    monkeypatch.setenv("HERITAGE_OTEL_RECOMMENDER_ENTRY", f"{MOD}:Finder.search, {MOD}:search_titles")
    assert RecommenderTargets.from_env().entry_points == (f"{MOD}:Finder.search", f"{MOD}:search_titles")


def test_a_typo_in_an_option_of_instrument_is_refused(instrumentor) -> None:
    """instrument(document_reder=...) would be ignored without a word: it fails naming the close option."""
    with pytest.raises(TypeError, match="instrument\\(document_reder=...\\) is not a valid option; "
                                        "did you mean 'document_reader'"):
        instrumentor.instrument(targets=_targets(), document_reder=lambda hit: (hit.book_id, hit.relevance))
    assert not instrumentor.is_instrumented_by_opentelemetry


def test_static_and_class_methods_are_themselves_again_after_uninstrument(telemetry, instrumentor) -> None:
    """Wrapped and restored by uninstrument(), a staticmethod stays static and a classmethod stays bound to the
    class it is called on."""
    expected = shapes.Engines().keyword("maps", 1)
    instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{MOD}:Engines.search",
                                                       components={"keywords": f"{MOD}:Engines.keyword"}))
    assert shapes.Engines().keyword("maps", 1) == shapes.Engines.search("maps", k=1) == expected
    assert [n.name for _, n in telemetry.span_tree()[1].walk()] == [
        semconv.SPAN_RECOMMEND, semconv.component_span_name("keyword", "keywords")]
    instrumentor.uninstrument()
    assert type(vars(shapes.Engines)["keyword"]) is staticmethod
    assert type(vars(shapes.Engines)["search"]) is classmethod
    assert shapes.Engines().keyword("maps", 1) == expected  # no self passed as the text

    class Tuned(shapes.Engines):
        pass

    assert Tuned.search.__self__ is Tuned


def test_static_methods_stay_static_while_telemetry_is_switched_off(instrumentor) -> None:
    """configure(disabled=True) takes the wrappers off (the instrumentor follows the pipeline): what is put
    back is the staticmethod itself."""
    import heritage_otel

    expected = shapes.Engines().keyword("maps", 1)
    telemetry = heritage_otel.configure(service_name="switching")
    try:
        instrumentor.instrument(targets=RecommenderTargets(entry_point=None,
                                                           components={"keywords": f"{MOD}:Engines.keyword"}))
        assert type(vars(shapes.Engines)["keyword"]) is not staticmethod  # wrapped
        telemetry = heritage_otel.configure(disabled=True)
        assert type(vars(shapes.Engines)["keyword"]) is staticmethod
        assert shapes.Engines().keyword("maps", 1) == expected
    finally:
        instrumentor.uninstrument()
        telemetry.shutdown()


def test_an_inherited_method_named_on_a_subclass_is_inherited_again_after_uninstrument(telemetry,
                                                                                        instrumentor) -> None:
    """``module:Sub.search`` where Sub inherits search: wrapped on Sub only, and afterwards Sub has no copy."""
    instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{MOD}:TunedFinder.search"))
    shapes.TunedFinder().search("maps", k=1)
    Finder().search("maps", k=1)  # the base class is not wrapped
    assert len(telemetry.find_spans(semconv.SPAN_RECOMMEND)) == 1
    instrumentor.uninstrument()
    assert "search" not in vars(shapes.TunedFinder)
