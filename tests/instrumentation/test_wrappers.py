"""When the instrumentor's wrappers are in place, and the work they skip when nothing consumes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import wrapt
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

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
    """The retrieval.documents.* attributes are built only for a span that records; metrics and the
    query's log record are kept either way."""
    provider = TracerProvider(sampler=sampler)
    _Scored.reads = 0
    instrumentor.instrument(tracer_provider=provider, targets=RecommenderTargets(
        entry_point=f"{__name__}:_TrackedRecommender.recommend"))
    assert len(_TrackedRecommender().recommend("roman coins", 3)) == 3
    assert _Scored.reads == reads
    assert telemetry.histogram_count(semconv.METRIC_QUERY_DURATION) == 1
    assert [r.log_record.event_name for r in telemetry.logs()] == [semconv.EVENT_QUERY]
    provider.shutdown()


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
