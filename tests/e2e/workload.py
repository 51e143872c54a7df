"""Workloads for the end-to-end tests: the instrumented reference recommender, and what it sent.

What the application sent is read back from the in-process span store of
``configure()`` (every finished span, synchronously) through the OTLP JSON
encoding, into the same span model the Jaeger client produces, so sent and
received traces compare field by field.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from heritage_otel import semconv
from heritage_otel.errors import FallbackExhaustedError
from heritage_otel.examples.recommender import FaultInjector, HeritageRecommender
from heritage_otel.exporters.otlp_json import spans_to_otlp_json
from heritage_otel.instrumentation import RecommenderInstrumentor
from heritage_otel.hashing import hash_query_text
from heritage_otel.telemetry import Telemetry
from heritage_otel.traces import JaegerClient, Trace, group_traces, spans_from_otlp_json

QUERIES = (
    "mughal marble palace rajasthan",
    "chola temple tamil bronze",
    "buddhist stupa relief",
    "colonial fort harbour",
    "temple architecture carving",
    "stepwell gujarat carving",
)


def query_text(marker: str, index: int) -> str:
    """A real query with a unique, searchable marker word (to prove the raw text never reaches Jaeger)."""
    return f"{QUERIES[index % len(QUERIES)]} {marker}{index:05d}"


def collector_digest(text: str) -> str:
    """What the Collector's transform/query_text turns query text into: the SDK's digest, with the salt of the
    environment the Collector inherits (this process's)."""
    return hash_query_text(text)


def run_recommender(
    telemetry: Telemetry,
    *,
    marker: str,
    normal: int = 0,
    fallback: int = 0,
    failing: int = 0,
    slow: int = 0,
    slow_latency_s: float = 0.6,
    start_index: int = 0,
    flush_every: int = 50,
) -> int:
    """Run the instrumented recommender: ``normal`` healthy queries, ``fallback`` with SimRank failing
    (the horn index answers), ``failing`` with every component failing (chain exhausted), ``slow`` with
    the embedding ranker ``slow_latency_s`` slower. Returns the next query index."""
    faults = FaultInjector(seed=11)
    recommender = HeritageRecommender(n_docs=300, cache_size=0, faults=faults)
    instrumentor = RecommenderInstrumentor()
    instrumentor.instrument(capture_query_text=True)
    index = start_index
    try:
        for count, setup in ((normal, lambda: None),
                             (fallback, lambda: faults.fail("simrank")),
                             (failing, lambda: [faults.fail(c) for c in ("simrank", "horn_index", "embedding")]),
                             (slow, lambda: faults.slow("embedding", slow_latency_s))):
            faults.clear()
            setup()
            for _ in range(count):
                try:
                    recommender.recommend(query_text(marker, index), top_k=5)
                except FallbackExhaustedError:
                    pass
                index += 1
                if index % flush_every == 0:
                    telemetry.force_flush(timeout_millis=10_000)  # paces the batch processor: no span dropped
        telemetry.force_flush(timeout_millis=10_000)
    finally:
        instrumentor.uninstrument()
    return index


def sent_traces(telemetry: Telemetry) -> dict[str, Trace]:
    """Every trace the application finished, by trace id (from the in-process span store)."""
    assert telemetry.span_store is not None, "configure(span_store_size=...) is needed for the ground truth"
    spans = spans_from_otlp_json(spans_to_otlp_json(telemetry.span_store.spans()))
    return {trace.trace_id: trace for trace in group_traces(spans)}


def must_keep(trace: Trace, latency_threshold_ms: float) -> bool:
    """True when the agent's tail sampling policies must keep ``trace`` (error, fallback or slow)."""
    return (
        trace.has_error
        or any(span.attributes.get(semconv.FALLBACK_DEGRADED) is True for span in trace.spans)
        or any(event.name == semconv.EVENT_FALLBACK_USED for span in trace.spans for event in span.events)
        or trace.duration_ms > latency_threshold_ms
    )


def wait_for_traces(
    client: JaegerClient,
    service: str,
    expected: set[str],
    *,
    timeout_s: float = 60.0,
    settle_s: float = 2.0,
) -> dict[str, Trace]:
    """Poll Jaeger until every ``expected`` trace id is there and the count stopped changing for
    ``settle_s``, or ``timeout_s`` passed; returns what Jaeger has for ``service`` by trace id."""
    deadline = time.monotonic() + timeout_s
    found: Mapping[str, Trace] = {}
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        current = {t.trace_id: t for t in client.find_traces(service, limit=10_000, lookback="1h")}
        if set(current) != set(found):
            stable_since = time.monotonic()
        found = current
        if expected <= set(found) and time.monotonic() - stable_since >= settle_s:
            break
        time.sleep(0.5)
    return dict(found)
