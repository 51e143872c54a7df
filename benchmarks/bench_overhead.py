"""Per-query overhead of RecommenderInstrumentor, side by side with the same telemetry written by hand.

Costs are process CPU time per query (the export threads included), so
other processes on a shared machine do not inflate them. Variants, all in
one process, interleaved round by round (the order is
shuffled every round, so drift of a shared machine hits every variant alike):

==================  ===========================================================================
``bare``            the reference recommender, no instrumentation
``hand``            the SAME spans, attributes, events, metrics and log record written by hand
                    against the raw OpenTelemetry SDK (:class:`HandInstrumented`)
``instrumentor``    ``RecommenderInstrumentor().instrument(...)`` on the same SDK pipeline
``hand_10pct``      ``hand`` with head sampling ParentBased(TraceIdRatioBased(0.1))
``instr_10pct``     ``instrumentor`` with the same 10% head sampler
``hand_disabled``   ``hand`` with telemetry disabled (``configure(disabled=True)``: the API's no-op providers)
``instr_disabled``  ``instrumentor`` with telemetry disabled, the (no-op) providers passed to ``instrument()``
``instr_disabled_global``  ``instrumentor`` on the global providers, ``configure(disabled=True)``
``bare_hops``       ``bare`` with a pass-through wrapt wrapper (no telemetry) on each of the instrumentor's
                    7 targets: the cost of the method hops alone, which hand-written code does not pay
==================  ===========================================================================

Every SDK variant uses the same pipeline, built by ``heritage_otel.configure``
(embedded mode, span store off): BatchSpanProcessor and BatchLogRecordProcessor
into exporters that discard, and an in-memory metric reader (aggregation
cost only, no export). Before timing, a shape check runs one query through
``hand`` and ``instrumentor`` with in-memory exporters and fails if the two
produce different span trees, attribute keys, events, metrics or log records.

Every query misses the result cache (``cache_size=0``), so each one runs the
full path: 7 spans, 9 metric instruments, one span event, one log record; in a
trace head sampling dropped, the root span and the metrics only (the query log
follows the trace by default). ``--breakdown`` measures what each of these
costs per query, in a recorded and in a dropped trace.

Run::

    .venv/bin/python benchmarks/bench_overhead.py            # 20 rounds x 400 queries per variant
    .venv/bin/python benchmarks/bench_overhead.py --profile  # where the instrumentor's extra time goes
    .venv/bin/python benchmarks/bench_overhead.py --no-sdk   # instrumented vs bare, no SDK set up at all
    .venv/bin/python benchmarks/bench_overhead.py --opcodes  # Python bytecodes per query, hand vs instrumentor
    .venv/bin/python benchmarks/bench_overhead.py --breakdown  # what each span, instrument, event, log record costs
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import gc
import io
import json
import platform
import pstats
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry._logs import SeverityNumber
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heritage_otel import semconv
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.examples.recommender.corpus import normalize_query
from heritage_otel.instrumentation import RecommenderInstrumentor, RecommenderTargets
from heritage_otel.instrumentation.targets import parse_target
from heritage_otel.hashing import hash_query_text
from heritage_otel.instruments import DURATION_BUCKETS_S, RESULT_COUNT_BUCKETS, UNIT_INTERVAL_BUCKETS, instruments_for
from heritage_otel.telemetry import Telemetry, configure

#: Goals (issue #14): enabled within 1.05x of the hand-written raw SDK; disabled within 1.05x of bare.
GOAL_RATIO = 1.05
GOAL_DISABLED_VS_BARE = 1.05
VARIANTS = ("bare", "bare_hops", "hand", "instrumentor", "hand_10pct", "instr_10pct", "hand_disabled",
            "instr_disabled", "instr_disabled_global")


# --- discarding exporters (the export thread still runs, as in production) ------------
class NullSpanExporter(SpanExporter):
    """Accepts and discards spans; counts them."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Any) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class NullLogExporter(LogRecordExporter):
    """Accepts and discards log records; counts them."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, batch: Any) -> LogRecordExportResult:
        self.exported += len(batch)
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def pipeline(*, sampler: str | None = None, disabled: bool = False, in_memory: bool = False) -> Telemetry:
    """The SDK pipeline every variant shares (discarding exporters, or in-memory ones for the shape check)."""
    if in_memory:
        span_exporter: SpanExporter = InMemorySpanExporter()
        log_exporter: LogRecordExporter = InMemoryLogRecordExporter()
    else:
        span_exporter, log_exporter = NullSpanExporter(), NullLogExporter()
    reader = InMemoryMetricReader()
    tel = configure(
        service_name="bench-overhead",
        sampler=sampler,
        sampler_arg=0.1 if sampler and "ratio" in sampler else None,
        disabled=disabled,
        endpoint=None,
        span_exporters=[span_exporter],
        metric_readers=[reader],
        log_exporters=[log_exporter],
        simple_processors=in_memory,
        span_store_size=0,
        set_global=False,
    )
    tel.bench_span_exporter = span_exporter  # type: ignore[attr-defined]  # the benchmark's exporters, attached to the pipeline
    tel.bench_log_exporter = log_exporter  # type: ignore[attr-defined]  # the benchmark's exporters, attached to the pipeline
    tel.bench_metric_reader = reader  # type: ignore[attr-defined]  # the benchmark's exporters, attached to the pipeline
    return tel


# --- the same telemetry, written by hand against the raw SDK ----------------------------
class _Current:
    """``with _Current(span) as span``: the span current inside the block, ended after it (what
    ``start_as_current_span(..., record_exception=False, set_status_on_exception=False)`` does, without its two
    generator context managers)."""

    __slots__ = ("span", "token")

    def __init__(self, span: Any) -> None:
        self.span = span

    def __enter__(self) -> Any:
        self.token = otel_context.attach(trace_api.set_span_in_context(self.span))
        return self.span

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        otel_context.detach(self.token)
        if kind is not None and self.span.is_recording() and self.span.name == semconv.SPAN_ENSEMBLE:
            self.span.record_exception(exc)  # the ensemble span records what escapes it, as the API's default
            self.span.set_status(trace_api.Status(trace_api.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        self.span.end()


class HandInstrumented:
    """What a developer would write by hand to get the instrumentor's telemetry, on the plain SDK API."""

    def __init__(self, rec: HeritageRecommender, tel: Telemetry, max_documents: int = 20) -> None:
        self.rec = rec
        self.max_documents = max_documents
        self.tracer = tel.tracer_provider.get_tracer("bench.hand", "1")
        meter = tel.meter_provider.get_meter("bench.hand", "1")
        self.logger = tel.logger_provider.get_logger("bench.hand", "1")
        h = meter.create_histogram
        c = meter.create_counter
        self.query_duration = h(semconv.METRIC_QUERY_DURATION, unit="s", explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S)
        self.queries = c(semconv.METRIC_QUERIES, unit="{query}")
        self.results = h(semconv.METRIC_RESULTS, unit="{document}", explicit_bucket_boundaries_advisory=RESULT_COUNT_BUCKETS)
        self.empty_results = c(semconv.METRIC_EMPTY_RESULTS, unit="{query}")
        self.quality = {
            "ndcg_at_10": h(semconv.METRIC_NDCG_AT_10, unit="1", explicit_bucket_boundaries_advisory=UNIT_INTERVAL_BUCKETS),
            "precision_at_5": h(semconv.METRIC_PRECISION_AT_5, unit="1", explicit_bucket_boundaries_advisory=UNIT_INTERVAL_BUCKETS),
            "diversity": h(semconv.METRIC_DIVERSITY, unit="1", explicit_bucket_boundaries_advisory=UNIT_INTERVAL_BUCKETS),
        }
        self.quality_attr = {"ndcg_at_10": semconv.QUALITY_NDCG_AT_10, "precision_at_5": semconv.QUALITY_PRECISION_AT_5,
                             "diversity": semconv.QUALITY_DIVERSITY}
        self.component_duration = h(semconv.METRIC_COMPONENT_DURATION, unit="s",
                                    explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S)
        self.errors = c(semconv.METRIC_ERRORS, unit="{error}")
        self.fallbacks = c(semconv.METRIC_FALLBACKS, unit="{execution}")
        self.cache_requests = c(semconv.METRIC_CACHE_REQUESTS, unit="{request}")

    def _span(self, name: str, attributes: Mapping[str, Any] | None = None) -> _Current:
        return _Current(self.tracer.start_span(name, attributes=attributes, record_exception=False,
                                               set_status_on_exception=False))

    def _component(self, name: str, func: Callable[..., Any], *args: Any) -> Any:
        if not self._spans:  # the trace is not recorded: no child spans, the metrics only
            start = time.perf_counter()
            result = func(*args)
            self.component_duration.record(time.perf_counter() - start, {semconv.COMPONENT: name, semconv.SUCCESS: True})
            self._used.append(name)
            return result
        with self._span(semconv.component_span_name("rank", name)) as span:
            if span.is_recording():
                span.set_attributes({semconv.COMPONENT: name,
                                     semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RETRIEVER})
            start = time.perf_counter()
            result = func(*args)
            self.component_duration.record(time.perf_counter() - start, {semconv.COMPONENT: name, semconv.SUCCESS: True})
            if span.is_recording():
                span.set_attribute(semconv.RESULT_COUNT, len(result))
            self._used.append(name)
            return result

    def _merge(self, rankings: Mapping[str, Any], top_k: int) -> Any:
        if not self._spans:
            return self.rec.ensemble.merge(rankings, top_k)
        with self._span(semconv.SPAN_ENSEMBLE) as span:
            if span.is_recording():
                span.set_attribute(semconv.OPENINFERENCE_SPAN_KIND, semconv.OPENINFERENCE_RERANKER)
                span.set_attribute(semconv.COMPONENTS_USED, tuple(k for k, v in rankings.items() if v))
            merged = self.rec.ensemble.merge(rankings, top_k)
            if span.is_recording():
                span.set_attribute(semconv.RESULT_COUNT, len(merged))
            return merged

    def _primary(self, query: str, top_k: int) -> Any:
        rec = self.rec
        horn = self._component("horn_index", rec.horn_index.rank, query, rec.candidates)
        embedding = self._component("embedding", rec.embedding.rank, query, rec.candidates)
        simrank = self._component("simrank", rec.simrank.rank, (horn or embedding)[: rec.seeds], rec.candidates)
        return self._merge({"simrank": simrank, "horn_index": horn, "embedding": embedding}, top_k)

    def _horn(self, query: str, top_k: int) -> Any:
        return self._merge({"horn_index": self._component("horn_index", self.rec.horn_index.rank, query,
                                                          self.rec.candidates)}, top_k)

    def _embedding(self, query: str, top_k: int) -> Any:
        return self._merge({"embedding": self._component("embedding", self.rec.embedding.rank, query,
                                                         self.rec.candidates)}, top_k)

    def _chain(self, query: str, top_k: int) -> tuple[Any, str]:
        chain = "ranking_chain"
        strategies = (("primary_simrank", self._primary, 3), ("fallback_horn", self._horn, 2),
                      ("basic_embedding", self._embedding, 1))
        if not self._spans:  # the trace is not recorded: the strategies and the counters only
            for attempt, (name, func, _priority) in enumerate(strategies, start=1):
                try:
                    result = func(query, top_k)
                except Exception as exc:  # noqa: BLE001 - next strategy
                    self.errors.add(1, {semconv.COMPONENT: name, semconv.ERROR_TYPE: type(exc).__qualname__})
                    continue
                self.fallbacks.add(1, {semconv.FALLBACK_CHAIN: chain, semconv.FALLBACK_STRATEGY: name,
                                       semconv.FALLBACK_DEGRADED: attempt > 1})
                return result, name
            raise RuntimeError("every strategy failed")
        with self._span(semconv.SPAN_FALLBACK_CHAIN, {semconv.FALLBACK_CHAIN: chain}) as chain_span:
            failed: list[tuple[str, Exception]] = []
            for attempt, (name, func, priority) in enumerate(strategies, start=1):
                with self._span(semconv.SPAN_FALLBACK_ATTEMPT, {
                    semconv.FALLBACK_CHAIN: chain, semconv.FALLBACK_STRATEGY: name,
                    semconv.FALLBACK_PRIORITY: priority, semconv.FALLBACK_ATTEMPT_NUMBER: attempt,
                }) as span:
                    try:
                        result = func(query, top_k)
                    except Exception as exc:  # noqa: BLE001 - next strategy
                        span.set_attribute(semconv.FALLBACK_OUTCOME, semconv.OUTCOME_ERROR)
                        span.record_exception(exc)
                        self.errors.add(1, {semconv.COMPONENT: name, semconv.ERROR_TYPE: type(exc).__qualname__})
                        failed.append((name, exc))
                        continue
                    span.set_attribute(semconv.FALLBACK_OUTCOME, semconv.OUTCOME_SUCCESS)
                degraded = attempt > 1
                if chain_span.is_recording():
                    chain_span.set_attributes({semconv.FALLBACK_STRATEGY_USED: name, semconv.FALLBACK_ATTEMPTS: attempt,
                                               semconv.FALLBACK_DEGRADED: degraded})
                    if degraded:
                        chain_span.add_event(semconv.EVENT_FALLBACK_USED, {semconv.FALLBACK_STRATEGY_USED: name})
                self.fallbacks.add(1, {semconv.FALLBACK_CHAIN: chain, semconv.FALLBACK_STRATEGY: name,
                                       semconv.FALLBACK_DEGRADED: degraded})
                return result, name
        msg = f"every strategy failed: {failed}"
        raise RuntimeError(msg)

    def recommend(self, query: str, top_k: int = 10) -> list[dict[str, Any]]:
        rec = self.rec
        self._used: list[str] = []
        with self._span(semconv.SPAN_RECOMMEND) as span:
            self._spans = span.is_recording()  # this pipeline's sampler is parent-based: no recorded child otherwise
            if span.is_recording():
                digest = hash_query_text(query)
                span.set_attributes({semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RETRIEVER,
                                     semconv.QUERY_TOP_K: top_k, semconv.QUERY_HASH: digest,
                                     semconv.QUERY_LENGTH: len(query)})
            start = time.perf_counter()
            rec.validate(query, top_k)
            key = (normalize_query(query), top_k)
            cached = rec.cache.get(key)
            self.cache_requests.add(1, {semconv.CACHE_RESULT: "hit" if cached is not None else "miss"})
            strategy = None
            if cached is not None:
                results = [dict(r) for r in cached]
            else:
                ranked, strategy = self._chain(query, top_k)
                results = rec._materialize(ranked)  # noqa: SLF001 - same work as recommend()
                rec.cache.put(key, tuple(dict(r) for r in results))
            duration = time.perf_counter() - start
            quality = rec.evaluate(query, results)
            self.queries.add(1, {semconv.SUCCESS: True})
            self.query_duration.record(duration, {semconv.SUCCESS: True})
            self.results.record(len(results))
            if not results:
                self.empty_results.add(1)
            for name, value in quality.items():
                self.quality[name].record(value)
            common: dict[str, Any] = {semconv.SUCCESS: True}
            if self._used:
                common[semconv.COMPONENTS_USED] = tuple(dict.fromkeys(self._used))
            if strategy is not None:
                common[semconv.FALLBACK_STRATEGY_USED] = strategy
            common[semconv.CACHE_HIT] = cached is not None
            if span.is_recording():
                attributes = dict(common)
                attributes[semconv.RESULT_COUNT] = len(results)
                attributes[semconv.RESULT_EMPTY] = not results
                for name, value in quality.items():
                    attributes[self.quality_attr[name]] = value
                for i, item in enumerate(results[: self.max_documents]):
                    attributes[semconv.retrieval_document_id(i)] = str(item["doc_id"])
                    attributes[semconv.retrieval_document_score(i)] = float(item["score"])
                span.set_attributes(attributes)
            if span.is_recording():  # the query log follows the trace (query_log="sampled"): the metrics count all
                event = {semconv.QUERY_ID: uuid.uuid4().hex, semconv.QUERY_HASH: digest,
                         semconv.QUERY_LENGTH: len(query), semconv.RESULT_COUNT: len(results),
                         semconv.RESULT_EMPTY: not results,
                         semconv.RESULT_IDS: tuple(str(r["doc_id"]) for r in results[:10]),
                         semconv.LATENCY_MS: duration * 1000.0,
                         semconv.COMPONENTS_USED: tuple(dict.fromkeys(self._used)), semconv.SUCCESS: True}
                span.add_event(semconv.EVENT_QUERY, event)
                self.logger.emit(severity_number=SeverityNumber.INFO, severity_text="INFO", body="query processed",
                                 attributes=event, event_name=semconv.EVENT_QUERY)
            return results


# --- the shape check ------------------------------------------------------------------------
def telemetry_shape(tel: Telemetry) -> dict[str, Any]:
    """Span tree (name, parent name, attribute keys, event names), metrics (name, attribute sets), log events."""
    spans = tel.bench_span_exporter.get_finished_spans()  # type: ignore[attr-defined]  # the benchmark's exporters, attached to the pipeline
    by_id = {s.context.span_id: s for s in spans}
    tree = Counter(
        (s.name, by_id[s.parent.span_id].name if s.parent else None, tuple(sorted(s.attributes)),
         tuple(e.name for e in s.events), tuple(tuple(sorted(e.attributes)) for e in s.events))
        for s in spans
    )
    metrics = {}
    reader = tel.bench_metric_reader  # type: ignore[attr-defined]  # the benchmark's exporters, attached to the pipeline
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                metrics[m.name] = sorted(
                    (tuple(sorted(dict(p.attributes).items())), getattr(p, "count", None) or getattr(p, "value", None),
                     bool(p.exemplars)) for p in m.data.data_points)
    logs = tel.bench_log_exporter.get_finished_logs()  # type: ignore[attr-defined]  # the benchmark's exporters, attached to the pipeline
    log_shape = Counter((r.log_record.event_name, tuple(sorted(r.log_record.attributes))) for r in logs)
    return {"spans": tree, "metrics": metrics, "logs": log_shape}


def shape_check(rec: HeritageRecommender, queries: list[str]) -> None:
    """Fail unless ``hand`` and ``instrumentor`` produce the same telemetry for the same queries: recorded traces,
    and traces head sampling dropped (no spans; the same metrics and log records)."""
    for sampler in (None, "always_off"):
        _shape_check(rec, queries, sampler)


def _shape_check(rec: HeritageRecommender, queries: list[str], sampler: str | None) -> None:
    hand_tel, instr_tel = pipeline(in_memory=True, sampler=sampler), pipeline(in_memory=True, sampler=sampler)
    hand = HandInstrumented(rec, hand_tel)
    for q in queries:
        hand.recommend(q, 10)
    instrumentor = RecommenderInstrumentor()
    instrumentor.instrument(tracer_provider=instr_tel.tracer_provider, meter_provider=instr_tel.meter_provider,
                            logger_provider=instr_tel.logger_provider)
    try:
        for q in queries:
            rec.recommend(q, 10)
    finally:
        instrumentor.uninstrument()
    a, b = telemetry_shape(hand_tel), telemetry_shape(instr_tel)
    hand_tel.shutdown()
    instr_tel.shutdown()
    for part in ("spans", "metrics", "logs"):
        if a[part] != b[part]:
            msg = (f"shape check failed (sampler {sampler or 'always_on'}): hand-written and instrumentor {part} "
                   f"differ:\nhand: {a[part]}\ninstr: {b[part]}")
            raise SystemExit(msg)


# --- timing ---------------------------------------------------------------------------------
def _targets() -> list[tuple[type, str]]:
    """(class, method) of each of the instrumentor's default targets."""
    found = []
    targets = RecommenderTargets()
    for target in (targets.entry_point, *targets.components.values(), targets.ensemble, targets.chain, targets.cache):
        module, cls, method = parse_target(target)
        found.append((getattr(importlib.import_module(module), cls), method))
    return found


def _pass_through(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return wrapped(*args, **kwargs)


class Variant:
    """One way of running a query: its pipeline and whether the instrumentor is on."""

    def __init__(self, name: str, rec: HeritageRecommender) -> None:
        self.name = name
        self.rec = rec
        self.tel: Telemetry | None = None
        self.instrumentor: RecommenderInstrumentor | None = None
        sampler = "parentbased_traceidratio" if name.endswith("10pct") else None
        self.global_providers = name.endswith("global")
        if self.global_providers:  # the only variant using the globals: they reach a disabled pipeline
            self.tel = configure(service_name="bench-overhead", disabled=True)
        elif not name.startswith("bare"):
            self.tel = pipeline(sampler=sampler, disabled=name.endswith("disabled"))
        # Looked up at call time: the instrumentor patches the class after this object is built.
        target: Any = HandInstrumented(rec, self.tel) if name.startswith("hand") else rec  # type: ignore[arg-type]  # the hand-instrumented twin of the recommender
        self.call: Callable[[str, int], Any] = lambda query, top_k: target.recommend(query, top_k)
        if name.startswith("instr"):
            self.instrumentor = RecommenderInstrumentor()

    def __enter__(self) -> Callable[[str, int], Any]:
        if self.name == "bare_hops":
            for cls, method in _targets():
                wrapt.wrap_function_wrapper(cls, method, _pass_through)
        if self.instrumentor is not None and self.global_providers:
            self.instrumentor.instrument()
        elif self.instrumentor is not None and self.tel is not None:
            self.instrumentor.instrument(tracer_provider=self.tel.tracer_provider,
                                         meter_provider=self.tel.meter_provider,
                                         logger_provider=self.tel.logger_provider)
        return self.call

    def __exit__(self, *exc: object) -> None:
        if self.name == "bare_hops":
            for cls, method in _targets():
                unwrap(cls, method)
        if self.instrumentor is not None:
            self.instrumentor.uninstrument()
        if self.tel is not None:
            self.tel.force_flush(10_000)  # the export thread's backlog is not billed to the next variant


def run_round(call: Callable[[str, int], Any], queries: list[str], n: int) -> float:
    """CPU seconds of this process per query over ``n`` queries.

    Process CPU time, not wall time: the export threads' work is included,
    and time the shared machine gives to other processes is not.
    """
    gc.collect()
    start = time.process_time()
    for i in range(n):
        call(queries[i % len(queries)], 10)
    return (time.process_time() - start) / n


def measure(rounds: int, per_round: int, seed: int) -> dict[str, Any]:
    rec = HeritageRecommender(cache_size=0)
    queries = [q.text for q in rec.corpus.queries]
    shape_check(rec, queries[:5])
    variants = {name: Variant(name, rec) for name in VARIANTS}
    for v in variants.values():  # warm-up: imports, instrument caches, numpy
        with v as call:
            run_round(call, queries, 50)
    rng = random.Random(seed)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        order = list(VARIANTS)
        rng.shuffle(order)
        for name in order:
            with variants[name] as call:
                times[name].append(run_round(call, queries, per_round))
    for v in variants.values():
        if v.tel is not None:
            v.tel.shutdown()
    return {"times": times, "queries_per_round": per_round, "rounds": rounds}


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    times = result["times"]
    med = {name: statistics.median(ts) for name, ts in times.items()}
    bare = times["bare"]

    def ratio(a: str, b: str) -> float:  # median of per-round ratios: robust to drift between rounds
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))

    def extra(a: str) -> float:  # median per-round overhead over bare, microseconds
        return statistics.median((x - y) * 1e6 for x, y in zip(times[a], bare, strict=True))

    rows = []
    for name in VARIANTS:
        rows.append({
            "variant": name,
            "median_us_per_query": med[name] * 1e6,
            "vs_bare": ratio(name, "bare"),
            "overhead_us": extra(name),
        })
    summary = {
        "rows": rows,
        "instrumentor_vs_hand": ratio("instrumentor", "hand"),
        "instr_10pct_vs_hand_10pct": ratio("instr_10pct", "hand_10pct"),
        "instr_disabled_vs_hand_disabled": ratio("instr_disabled", "hand_disabled"),
        "overhead_ratio_instrumentor_vs_hand": extra("instrumentor") / extra("hand") if extra("hand") > 0 else float("nan"),
        "instr_disabled_vs_bare": ratio("instr_disabled", "bare"),
        "instr_disabled_global_vs_bare": ratio("instr_disabled_global", "bare"),
        "hops_us": extra("bare_hops"),
        "goal": GOAL_RATIO,
        "goal_disabled_vs_bare": GOAL_DISABLED_VS_BARE,
    }
    summary["goal_met"] = summary["instrumentor_vs_hand"] <= GOAL_RATIO
    summary["goal_disabled_met"] = summary["instr_disabled_vs_bare"] <= GOAL_DISABLED_VS_BARE
    return summary


def print_table(summary: dict[str, Any], result: dict[str, Any]) -> None:
    print(f"\nPer-query cost, {result['rounds']} interleaved rounds x {result['queries_per_round']} queries per variant "
          f"(medians; every query misses the cache: 7 spans, 9 instruments, 1 event, 1 log record when recorded)")
    print(f"{'variant':<22} {'us/query':>10} {'x bare':>8} {'overhead us':>12}")
    for row in summary["rows"]:
        print(f"{row['variant']:<22} {row['median_us_per_query']:>10.1f} {row['vs_bare']:>8.3f} {row['overhead_us']:>12.1f}")
    print(f"\ninstrumentor / hand-written raw SDK (total time per query): {summary['instrumentor_vs_hand']:.3f}x "
          f"(goal <= {GOAL_RATIO}x: {'met' if summary['goal_met'] else 'MISSED'})")
    print(f"instrumentor / hand-written at 10% head sampling:            {summary['instr_10pct_vs_hand_10pct']:.3f}x")
    print(f"instrumentor / hand-written with telemetry disabled:         {summary['instr_disabled_vs_hand_disabled']:.3f}x")
    print(f"instrumentor disabled / bare:                                {summary['instr_disabled_vs_bare']:.3f}x "
          f"(goal <= {GOAL_DISABLED_VS_BARE}x: {'met' if summary['goal_disabled_met'] else 'MISSED'})")
    print(f"instrumentor disabled, global providers / bare:              {summary['instr_disabled_global_vs_bare']:.3f}x "
          f"(goal <= {GOAL_DISABLED_VS_BARE}x: "
          f"{'met' if summary['instr_disabled_global_vs_bare'] <= GOAL_DISABLED_VS_BARE else 'MISSED'})")
    print(f"the 7 method hops alone (pass-through wrappers, no telemetry): +{summary['hops_us']:.1f} us/query")
    print(f"instrumentor overhead / hand-written overhead (above bare):   "
          f"{summary['overhead_ratio_instrumentor_vs_hand']:.2f}x")


def profile(n: int) -> None:
    """cProfile the instrumented and the hand-written path; print the top functions by own time."""
    rec = HeritageRecommender(cache_size=0)
    queries = [q.text for q in rec.corpus.queries]
    for name in ("instrumentor", "hand", "instr_disabled"):
        v = Variant(name, rec)
        with v as call:
            run_round(call, queries, 50)
            prof = cProfile.Profile()
            prof.enable()
            run_round(call, queries, n)
            prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(f"\n===== {name}: top 25 functions by own time over {n} queries =====")
        print(out.getvalue())
        if v.tel is not None:
            v.tel.shutdown()


def opcodes(queries_traced: int = 20) -> dict[str, float]:
    """Python bytecodes executed per query by ``hand`` and ``instrumentor`` (deterministic, unlike timings;
    C code, such as wrapt's and the SDK's, is not counted)."""
    rec = HeritageRecommender(cache_size=0)
    queries = [q.text for q in rec.corpus.queries]
    counted: dict[str, float] = {}
    for name in ("hand", "instrumentor"):
        variant = Variant(name, rec)
        with variant as call:
            for text in queries:  # warm-up over every query: caches filled for both variants alike
                call(text, 10)
            total = 0

            def trace(frame: Any, event: str, arg: Any) -> Any:
                nonlocal total
                frame.f_trace_opcodes = True
                if event == "opcode":
                    total += 1
                return trace

            sys.settrace(trace)
            try:
                for text in queries[:queries_traced]:
                    call(text, 10)
            finally:
                sys.settrace(None)
        counted[name] = total / queries_traced
        if variant.tel is not None:
            variant.tel.shutdown()
    return counted


def _breakdown_ops(tel: Telemetry, rec: HeritageRecommender, query: str) -> list[tuple[str, str, int, Callable[[], Any]]]:
    """(group, item, calls per query, one call) for every telemetry operation of one cache-missing query, each
    built as the instrumentor issues it (same names, attribute sets, values) on ``tel``'s pipeline."""
    tracer = tel.tracer_provider.get_tracer("bench.breakdown", "1")
    inst = instruments_for(tel.meter_provider)
    logger = tel.logger_provider.get_logger("bench.breakdown", "1")
    results = rec.recommend(query, 10)
    digest = hash_query_text(query)
    chain = "ranking_chain"

    def span(name: str, start: Mapping[str, Any] | None, end: Mapping[str, Any] | None) -> Callable[[], Any]:
        def call() -> None:
            with tracer.start_as_current_span(name, record_exception=False, set_status_on_exception=False) as s:
                if start and s.is_recording():
                    s.set_attributes(start)
                if end and s.is_recording():
                    s.set_attributes(end)
        return call

    root_end: dict[str, Any] = {semconv.SUCCESS: True, semconv.COMPONENTS_USED: ("horn_index", "embedding", "simrank"),
                                semconv.FALLBACK_STRATEGY_USED: "primary_simrank", semconv.CACHE_HIT: False,
                                semconv.RESULT_COUNT: len(results), semconv.RESULT_EMPTY: False,
                                semconv.QUALITY_NDCG_AT_10: 0.5, semconv.QUALITY_PRECISION_AT_5: 0.4,
                                semconv.QUALITY_DIVERSITY: 0.7}
    documents = {}
    for i, item in enumerate(results):
        documents[semconv.retrieval_document_id(i)] = str(item["doc_id"])
        documents[semconv.retrieval_document_score(i)] = float(item["score"])
    event = {semconv.QUERY_ID: uuid.uuid4().hex, semconv.QUERY_HASH: digest, semconv.QUERY_LENGTH: len(query),
             semconv.RESULT_COUNT: len(results), semconv.RESULT_EMPTY: False,
             semconv.RESULT_IDS: tuple(str(r["doc_id"]) for r in results), semconv.LATENCY_MS: 1.5,
             semconv.COMPONENTS_USED: ("horn_index", "embedding", "simrank"), semconv.SUCCESS: True}
    component = {semconv.COMPONENT: "simrank", semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RETRIEVER}
    succeeded = {semconv.COMPONENT: "simrank", semconv.SUCCESS: True}
    outcome = {semconv.SUCCESS: True}

    def root_span() -> None:
        with tracer.start_as_current_span(semconv.SPAN_RECOMMEND, record_exception=False,
                                          set_status_on_exception=False) as s:
            if s.is_recording():
                s.set_attributes({semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RETRIEVER,
                                  semconv.QUERY_TOP_K: 10, semconv.QUERY_HASH: digest, semconv.QUERY_LENGTH: len(query)})
                s.set_attributes(root_end)

    def root_documents() -> None:
        s = trace_api.get_current_span()
        if s.is_recording():
            s.set_attributes(documents)

    def span_event() -> None:
        s = trace_api.get_current_span()
        if s.is_recording():
            s.add_event(semconv.EVENT_QUERY, event)

    def log_record() -> None:
        logger.emit(severity_number=SeverityNumber.INFO, severity_text="INFO", body="query processed",
                    attributes=event, event_name=semconv.EVENT_QUERY)

    return [
        ("span", f"{semconv.SPAN_RECOMMEND} (root, 11 attributes)", 1, root_span),
        ("span", f"root: {len(documents)} retrieval.documents.* attributes", 1, root_documents),
        ("span", semconv.SPAN_FALLBACK_CHAIN, 1, span(semconv.SPAN_FALLBACK_CHAIN, {semconv.FALLBACK_CHAIN: chain},
                                                      {semconv.FALLBACK_STRATEGY_USED: "primary_simrank",
                                                       semconv.FALLBACK_ATTEMPTS: 1, semconv.FALLBACK_DEGRADED: False})),
        ("span", semconv.SPAN_FALLBACK_ATTEMPT, 1, span(semconv.SPAN_FALLBACK_ATTEMPT, {
            semconv.FALLBACK_CHAIN: chain, semconv.FALLBACK_STRATEGY: "primary_simrank", semconv.FALLBACK_PRIORITY: 3,
            semconv.FALLBACK_ATTEMPT_NUMBER: 1}, {semconv.FALLBACK_OUTCOME: semconv.OUTCOME_SUCCESS})),
        ("span", "rank <component> (x3)", 3, span("rank simrank", component, {semconv.RESULT_COUNT: 10})),
        ("span", semconv.SPAN_ENSEMBLE, 1, span(semconv.SPAN_ENSEMBLE, {
            semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RERANKER,
            semconv.COMPONENTS_USED: ("simrank", "horn_index", "embedding")}, {semconv.RESULT_COUNT: 10})),
        ("instrument", f"{semconv.METRIC_QUERIES} (counter, 1 attribute)", 1, lambda: inst.queries.add(1, outcome)),
        ("instrument", f"{semconv.METRIC_QUERY_DURATION} (histogram, 1 attribute)", 1,
         lambda: inst.query_duration.record(0.0015, outcome)),
        ("instrument", f"{semconv.METRIC_RESULTS} (histogram)", 1, lambda: inst.results.record(10)),
        ("instrument", "3 quality histograms (ndcg@10, p@5, diversity)", 1,
         lambda: (inst.ndcg_at_10.record(0.5), inst.precision_at_5.record(0.4), inst.diversity.record(0.7))),
        ("instrument", f"{semconv.METRIC_COMPONENT_DURATION} (histogram, 2 attributes, x3)", 3,
         lambda: inst.component_duration.record(0.0002, succeeded)),
        ("instrument", f"{semconv.METRIC_CACHE_REQUESTS} (counter, 1 attribute)", 1,
         lambda: inst.cache_requests.add(1, {semconv.CACHE_RESULT: "miss"})),
        ("instrument", f"{semconv.METRIC_FALLBACKS} (counter, 3 attributes)", 1,
         lambda: inst.fallbacks.add(1, {semconv.FALLBACK_CHAIN: chain, semconv.FALLBACK_STRATEGY: "primary_simrank",
                                        semconv.FALLBACK_DEGRADED: False})),
        ("event", f"{semconv.EVENT_QUERY} span event (9 attributes)", 1, span_event),
        ("log", f"{semconv.EVENT_QUERY} log record (9 attributes)", 1, log_record),
        ("work", "quality evaluation (the recommender's evaluate)", 1, lambda: rec.evaluate(query, results)),
        ("work", "query hash + query id", 1, lambda: (hash_query_text(query), uuid.uuid4().hex)),
    ]


def breakdown(calls: int = 3000) -> list[dict[str, Any]]:
    """CPU µs per query of each telemetry operation, in a sampled and in an unsampled trace.

    Each operation is called ``calls`` times inside a ``heritage.recommend``-like parent span that is
    recorded (full sampling) or not (a trace head sampling dropped), on the benchmark's pipeline; the
    pipeline is flushed inside the timed region, so the export threads' share is billed to the operation.
    """
    rec = HeritageRecommender(cache_size=0)
    query = rec.corpus.queries[0].text
    rows: dict[str, dict[str, Any]] = {}
    for label, sampler in (("sampled", None), ("unsampled", "always_off")):
        tel = pipeline(sampler=sampler)
        tracer = tel.tracer_provider.get_tracer("bench.breakdown", "1")
        for group, item, per_query, call in _breakdown_ops(tel, rec, query):
            with tracer.start_as_current_span(semconv.SPAN_RECOMMEND):
                for _ in range(100):  # warm-up: attribute sets, caches
                    call()
                tel.force_flush(10_000)
                gc.collect()
                start = time.process_time()
                for _ in range(calls):
                    call()
                tel.force_flush(10_000)
                per_call = (time.process_time() - start) / calls * 1e6
            row = rows.setdefault(item, {"group": group, "item": item, "per_query": per_query})
            row[label] = per_call * per_query
        tel.shutdown()
    return list(rows.values())


def print_breakdown(rows: list[dict[str, Any]]) -> None:
    print("\nCost breakdown per cache-missing query (CPU us, export threads included; "
          "'unsampled': inside a trace head sampling dropped)")
    print(f"{'group':<11} {'item':<58} {'calls':>5} {'sampled':>9} {'unsampled':>10}")
    totals: dict[str, list[float]] = {}
    for row in rows:
        print(f"{row['group']:<11} {row['item']:<58} {row['per_query']:>5} {row['sampled']:>9.1f} {row['unsampled']:>10.1f}")
        t = totals.setdefault(row["group"], [0.0, 0.0])
        t[0] += row["sampled"]
        t[1] += row["unsampled"]
    for group, (a, b) in totals.items():
        print(f"{'total':<11} {group:<58} {'':>5} {a:>9.1f} {b:>10.1f}")
    print(f"{'total':<11} {'all':<58} {'':>5} {sum(t[0] for t in totals.values()):>9.1f} "
          f"{sum(t[1] for t in totals.values()):>10.1f}")


def no_sdk(rounds: int, per_round: int) -> float:
    """Median per-round ratio instrumented / bare when no SDK is set up at all (run in a fresh process:
    nothing may have called ``configure()`` or set a global provider)."""
    rec = HeritageRecommender(cache_size=0)
    queries = [q.text for q in rec.corpus.queries]
    instrumentor = RecommenderInstrumentor()
    run_round(rec.recommend, queries, 50)
    bare, instrumented = [], []
    for _ in range(rounds):
        bare.append(run_round(rec.recommend, queries, per_round))
        instrumentor.instrument()
        try:
            instrumented.append(run_round(rec.recommend, queries, per_round))
        finally:
            instrumentor.uninstrument()
    return statistics.median(x / y for x, y in zip(instrumented, bare, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    parser.add_argument("--queries", type=int, default=400, help="queries per variant per round (default 400)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the round order shuffle")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON too")
    parser.add_argument("--profile", action="store_true", help="profile instrumentor vs hand-written, then exit")
    parser.add_argument("--opcodes", action="store_true", help="Python bytecodes per query, hand vs instrumentor")
    parser.add_argument("--no-sdk", action="store_true", help="instrumented vs bare with no SDK set up at all, then exit")
    parser.add_argument("--breakdown", action="store_true",
                        help="only the cost breakdown: each span, instrument, event and log record per query, then exit")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the cost breakdown after the table")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.queries < 1:
        parser.error("--rounds and --queries must be >= 1")
    if args.opcodes:
        counted = opcodes()
        print(f"bytecodes per query: hand-written {counted['hand']:.0f}, instrumentor {counted['instrumentor']:.0f} "
              f"({counted['instrumentor'] / counted['hand'] - 1:+.1%})")
        return 0
    if args.no_sdk:
        ratio = no_sdk(args.rounds, args.queries)
        print(f"no SDK at all, instrumented / bare: {ratio:.3f}x (the 7 wrappers call straight through)")
        return 0
    if args.profile:
        profile(args.queries * 3)
        return 0
    if args.breakdown:
        print_breakdown(breakdown())
        return 0
    print(f"machine: {platform.processor() or platform.machine()}, {_cpu_count()} cores, Python {platform.python_version()}")
    result = measure(args.rounds, args.queries, args.seed)
    summary = summarize(result)
    print_table(summary, result)
    if not args.no_breakdown:
        summary["breakdown"] = breakdown()
        print_breakdown(summary["breakdown"])
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
