"""When the instrumentor's wrappers are in place, and the work they skip when nothing consumes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import wrapt
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import get_current_span

import heritage_otel
from heritage_otel import semconv
from heritage_otel.examples.recommender.recommender import HeritageRecommender as RecClass
from heritage_otel.instrumentation import RecommenderTargets
from heritage_otel.testing import capture_telemetry


def _wrapped() -> bool:
    return isinstance(RecClass.__dict__["recommend"], wrapt.FunctionWrapper)


@pytest.fixture()
def no_pipeline() -> Iterator[None]:
    """Whatever pipeline a test switched in is switched out again (the process starts with none)."""
    yield
    heritage_otel.configure(disabled=True).shutdown()


def test_on_the_globals_the_wrappers_follow_the_pipeline(instrumentor, rec, no_pipeline) -> None:
    """Disabled: the recommender's own methods, nothing in between; enabled later: wrapped and recorded."""
    disabled = heritage_otel.configure(disabled=True)
    instrumentor.instrument()
    assert not _wrapped()
    assert len(rec.recommend(rec.corpus.queries[0].text, 5)) == 5
    disabled.shutdown()
    with capture_telemetry() as captured:
        assert _wrapped()
        rec.recommend(rec.corpus.queries[1].text, 5)
        assert captured.span(semconv.SPAN_RECOMMEND).attributes[semconv.RESULT_COUNT] == 5
    heritage_otel.configure(disabled=True)
    assert not _wrapped()
    instrumentor.uninstrument()
    with capture_telemetry():
        assert not _wrapped()  # uninstrumented: a later pipeline wraps nothing


def test_given_providers_keep_the_wrappers_whatever_the_globals_do(instrumentor, rec, no_pipeline) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider)
    heritage_otel.configure(disabled=True)
    assert _wrapped()
    rec.recommend(rec.corpus.queries[0].text, 5)
    assert [s.name for s in exporter.get_finished_spans()].count(semconv.SPAN_RECOMMEND) == 1
    provider.shutdown()


def test_otel_sdk_disabled_wraps_nothing(instrumentor, rec, monkeypatch, caplog) -> None:
    """OTEL_SDK_DISABLED=true: every SDK provider hands out no-op tracers, so nothing is wrapped."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "TRUE")
    with caplog.at_level("INFO", logger="heritage_otel.instrumentation"):
        instrumentor.instrument(tracer_provider=TracerProvider())
    assert not _wrapped()
    assert "OTEL_SDK_DISABLED" in caplog.text
    assert len(rec.recommend(rec.corpus.queries[0].text, 5)) == 5


class _Scored(dict):
    """A result whose score reads are counted: only the span's retrieval attributes read the score."""

    reads = 0

    def get(self, key, default=None):  # noqa: ANN001, ANN201 - a test double's signature
        if key == "score":
            type(self).reads += 1
        return super().get(key, default)


class _TrackedRecommender:
    def recommend(self, query: str, top_k: int = 10) -> list[dict]:
        return [_Scored(doc_id=f"d{i}", score=1.0 - i / 10) for i in range(top_k)]


@pytest.mark.parametrize(("sampler", "reads"), [(ALWAYS_OFF, 0), (ALWAYS_ON, 3)])
def test_sampled_out_queries_skip_the_span_only_work(telemetry, instrumentor, sampler, reads) -> None:
    """The retrieval.documents.* attributes are built only for a span that records; the metrics are kept either
    way, the query's log record follows the trace (``query_log="sampled"``, the default)."""
    provider = TracerProvider(sampler=sampler)
    _Scored.reads = 0
    instrumentor.instrument(tracer_provider=provider, targets=RecommenderTargets(
        entry_point=f"{__name__}:_TrackedRecommender.recommend"))
    assert len(_TrackedRecommender().recommend("roman coins", 3)) == 3
    assert _Scored.reads == reads
    assert telemetry.histogram_count(semconv.METRIC_QUERY_DURATION) == 1
    assert [r.log_record.event_name for r in telemetry.logs()] == [semconv.EVENT_QUERY] * (reads > 0)
    provider.shutdown()


def _counted_samplers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The span names the SDK's ParentBased sampler decides on (one per span started)."""
    decided: list[str] = []
    original = ParentBased.should_sample

    def should_sample(self, parent_context, trace_id, name, *args, **kwargs):  # type: ignore[no-untyped-def]  # a test sampler, untyped like the SDK samplers it mimics
        decided.append(name)
        return original(self, parent_context, trace_id, name, *args, **kwargs)

    monkeypatch.setattr(ParentBased, "should_sample", should_sample)
    return decided


def _query_metrics(telemetry) -> dict[str, float]:  # type: ignore[no-untyped-def]  # a test sampler, untyped like the SDK samplers it mimics
    counts = {name: telemetry.histogram_count(semconv.METRIC_COMPONENT_DURATION, **{semconv.COMPONENT: name})
              for name in ("simrank", "horn_index", "embedding")}
    counts["queries"] = telemetry.metric_sum(semconv.METRIC_QUERIES, **{semconv.SUCCESS: True})
    counts["duration"] = telemetry.histogram_count(semconv.METRIC_QUERY_DURATION)
    counts["fallbacks"] = telemetry.metric_sum(semconv.METRIC_FALLBACKS, **{semconv.FALLBACK_STRATEGY: "primary_simrank"})
    counts["misses"] = telemetry.metric_sum(semconv.METRIC_CACHE_REQUESTS, **{semconv.CACHE_RESULT: "miss"})
    counts["ndcg"] = telemetry.histogram_count(semconv.METRIC_NDCG_AT_10)
    return counts


@pytest.mark.parametrize(("root_sampler", "started"), [(ALWAYS_OFF, 1), (ALWAYS_ON, 7)])
def test_a_trace_that_is_not_recorded_starts_no_child_span(telemetry, instrumentor, rec, monkeypatch,
                                                           root_sampler, started) -> None:
    """Head sampling dropped the trace: only the root span is started (its children could not record), and the
    metrics count the query exactly as for a recorded one."""
    decided = _counted_samplers(monkeypatch)
    provider = TracerProvider(sampler=ParentBased(root_sampler))
    instrumentor.instrument(tracer_provider=provider)
    rec.recommend("chola temple tamil", top_k=5)
    assert len(decided) == started and decided[0] == semconv.SPAN_RECOMMEND
    assert _query_metrics(telemetry) == {"simrank": 1, "horn_index": 1, "embedding": 1, "queries": 1, "duration": 1,
                                         "fallbacks": 1, "misses": 1, "ndcg": 1}
    provider.shutdown()


class _DropRootsOnly(Sampler):
    """A sampler of the application's own: drops a root, samples any span with a parent (recorded or not)."""

    def should_sample(self, parent_context, trace_id, name, *args, **kwargs):  # type: ignore[no-untyped-def]  # a test sampler, untyped like the SDK samplers it mimics
        parent = get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.RECORD_AND_SAMPLE if parent.is_valid else Decision.DROP)

    def get_description(self) -> str:
        return "DropRootsOnly"


def test_under_another_sampler_the_children_of_an_unrecorded_root_are_started(telemetry, instrumentor, rec) -> None:
    """Only the SDK's samplers are known to follow the parent: under any other the child spans are started (and
    recorded, if it says so)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=_DropRootsOnly())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider)
    rec.recommend("chola temple tamil", top_k=5)
    assert sorted(s.name for s in exporter.get_finished_spans()) == sorted(
        [semconv.SPAN_FALLBACK_CHAIN, semconv.SPAN_FALLBACK_ATTEMPT, semconv.SPAN_ENSEMBLE,
         "rank simrank", "rank horn_index", "rank embedding"])
    provider.shutdown()


@pytest.mark.parametrize(("query_log", "sampler", "logged"), [
    ("sampled", ALWAYS_ON, 1), ("sampled", ALWAYS_OFF, 0), ("all", ALWAYS_OFF, 1), ("off", ALWAYS_ON, 0)])
def test_query_log_chooses_the_queries_with_a_log_record_and_span_event(telemetry, instrumentor, rec, query_log,
                                                                        sampler, logged) -> None:
    """``query_log``: the recorded traces' queries (default), every query, or none; the metrics count every one."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider, query_log=query_log)
    rec.recommend("chola temple tamil", top_k=5)
    assert len([r for r in telemetry.logs() if r.log_record.event_name == semconv.EVENT_QUERY]) == logged
    events = [e for s in exporter.get_finished_spans() for e in s.events if e.name == semconv.EVENT_QUERY]
    assert len(events) == (logged if sampler is ALWAYS_ON else 0)
    assert telemetry.metric_sum(semconv.METRIC_QUERIES, **{semconv.SUCCESS: True}) == 1
    provider.shutdown()


def test_a_failed_query_is_logged_whether_its_trace_is_recorded_or_not(telemetry, instrumentor, rec) -> None:
    """Every failed query keeps its log record under the default ``query_log="sampled"``."""
    provider = TracerProvider(sampler=ALWAYS_OFF)
    instrumentor.instrument(tracer_provider=provider)
    for name in ("simrank", "horn_index", "embedding"):
        rec.faults.fail(name)
    with pytest.raises(Exception):  # noqa: B017,PT011 - whatever the chain raises when every strategy failed
        rec.recommend("chola temple tamil", top_k=5)
    (record,) = [r.log_record for r in telemetry.logs() if r.log_record.event_name == semconv.EVENT_QUERY]
    assert record.attributes[semconv.SUCCESS] is False
    provider.shutdown()


def test_query_log_from_the_environment_and_a_bad_value(instrumentor, monkeypatch) -> None:
    """``HERITAGE_OTEL_QUERY_LOG`` when ``query_log`` is not given; a bad value fails naming the setting."""
    monkeypatch.setenv("HERITAGE_OTEL_QUERY_LOG", "sometimes")
    with pytest.raises(ValueError, match="HERITAGE_OTEL_QUERY_LOG = 'sometimes' is not valid; valid: 'sampled'"):
        instrumentor.instrument(tracer_provider=TracerProvider())
    with pytest.raises(ValueError, match="query_log = 'every' is not valid"):
        instrumentor.instrument(tracer_provider=TracerProvider(), query_log="every")


class _StreamingRecommender:
    def recommend(self, query: str, top_k: int = 10) -> Iterator[dict]:
        return iter([{"doc_id": f"d{i}", "score": 0.5} for i in range(top_k)])


def test_an_iterator_result_is_never_consumed(telemetry, instrumentor) -> None:
    """Results the caller can read only once reach the caller whole; the span has no document attributes."""
    instrumentor.instrument(targets=RecommenderTargets(entry_point=f"{__name__}:_StreamingRecommender.recommend"))
    assert [d["doc_id"] for d in _StreamingRecommender().recommend("roman coins", 3)] == ["d0", "d1", "d2"]
    span = telemetry.span(semconv.SPAN_RECOMMEND)
    assert not [k for k in span.attributes if k.startswith("retrieval.documents.")]
    assert semconv.RESULT_COUNT not in span.attributes  # unknown without consuming the results
    assert telemetry.histogram_count(semconv.METRIC_QUERY_DURATION) == 1  # the query is still counted
    assert [r.log_record.event_name for r in telemetry.logs()] == [semconv.EVENT_QUERY]


_SDK_SET_AFTER_INSTRUMENT = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.instrumentation import RecommenderInstrumentor

rec = HeritageRecommender(n_docs=300)
RecommenderInstrumentor().instrument()          # no SDK yet: calls go straight through
rec.recommend("chola temple tamil", 3)
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)             # the application sets its SDK afterwards, the plain way
rec.recommend("roman coins", 3)
import json
print(json.dumps(sorted({s.name for s in exporter.get_finished_spans()})))
"""


def test_an_sdk_set_after_instrument_is_recorded_from_the_next_call(tmp_path) -> None:
    """With no SDK at all the wrappers call straight through; the plain SDK set up later is used at once."""
    import json
    import subprocess
    import sys

    script = tmp_path / "app.py"
    script.write_text(_SDK_SET_AFTER_INSTRUMENT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0, done.stderr
    names = json.loads(done.stdout.strip().splitlines()[-1])
    assert semconv.SPAN_RECOMMEND in names and semconv.SPAN_FALLBACK_CHAIN in names


def test_inside_a_trace_that_is_not_recorded_the_recommender_sees_the_roots_context(telemetry, instrumentor, rec,
                                                                                     monkeypatch) -> None:
    """No child span is started, but what the recommender's code sees as the current span (and would propagate)
    is the root's: same trace, same span id, not sampled."""
    from opentelemetry import trace

    provider = TracerProvider(sampler=ALWAYS_OFF)
    roots, seen = [], []
    instrumentor.instrument(tracer_provider=provider,
                            request_hook=lambda span, *_: roots.append(span.get_span_context()))
    merge = type(rec.ensemble).merge

    def spy(rankings, top_k):  # type: ignore[no-untyped-def]  # a test sampler, untyped like the SDK samplers it mimics
        seen.append(trace.get_current_span().get_span_context())
        return merge(rec.ensemble, rankings, top_k)

    monkeypatch.setattr(rec.ensemble, "merge", spy)
    rec.recommend("chola temple tamil", top_k=5)
    assert len(roots) == 1 and seen == roots
    assert seen[0].is_valid and not seen[0].trace_flags.sampled
    provider.shutdown()
