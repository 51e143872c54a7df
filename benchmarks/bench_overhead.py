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
full path: 7 spans, 9 metric instruments, one span event, one log record.

Run::

    .venv/bin/python benchmarks/bench_overhead.py            # 20 rounds x 400 queries per variant
    .venv/bin/python benchmarks/bench_overhead.py --profile  # where the instrumentor's extra time goes
    .venv/bin/python benchmarks/bench_overhead.py --no-sdk   # instrumented vs bare, no SDK set up at all
    .venv/bin/python benchmarks/bench_overhead.py --opcodes  # Python bytecodes per query, hand vs instrumentor
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
from heritage_otel.instruments import DURATION_BUCKETS_S, RESULT_COUNT_BUCKETS, UNIT_INTERVAL_BUCKETS
from heritage_otel.hashing import hash_query_text
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
        sampler_arg=0.1 if sampler else None,
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

    def _component(self, name: str, func: Callable[..., Any], *args: Any) -> Any:
        with self.tracer.start_as_current_span(semconv.component_span_name("rank", name), record_exception=False,
                                               set_status_on_exception=False) as span:
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
        with self.tracer.start_as_current_span(semconv.SPAN_ENSEMBLE) as span:
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
        with self.tracer.start_as_current_span(semconv.SPAN_FALLBACK_CHAIN, attributes={semconv.FALLBACK_CHAIN: chain},
                                               record_exception=False, set_status_on_exception=False) as chain_span:
            failed: list[tuple[str, Exception]] = []
            for attempt, (name, func, priority) in enumerate(strategies, start=1):
                with self.tracer.start_as_current_span(semconv.SPAN_FALLBACK_ATTEMPT, attributes={
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
        with self.tracer.start_as_current_span(semconv.SPAN_RECOMMEND, record_exception=False,
                                               set_status_on_exception=False) as span:
            digest = hash_query_text(query)
            if span.is_recording():
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
            event = {semconv.QUERY_ID: uuid.uuid4().hex, semconv.QUERY_HASH: digest,
                     semconv.QUERY_LENGTH: len(query), semconv.RESULT_COUNT: len(results),
                     semconv.RESULT_EMPTY: not results,
                     semconv.RESULT_IDS: tuple(str(r["doc_id"]) for r in results[:10]),
                     semconv.LATENCY_MS: duration * 1000.0,
                     semconv.COMPONENTS_USED: tuple(dict.fromkeys(self._used)), semconv.SUCCESS: True}
            if span.is_recording():
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
                metrics[m.name] = sorted(tuple(sorted(dict(p.attributes).items())) for p in m.data.data_points)
    logs = tel.bench_log_exporter.get_finished_logs()  # type: ignore[attr-defined]  # the benchmark's exporters, attached to the pipeline
    log_shape = Counter((r.log_record.event_name, tuple(sorted(r.log_record.attributes))) for r in logs)
    return {"spans": tree, "metrics": metrics, "logs": log_shape}


def shape_check(rec: HeritageRecommender, queries: list[str]) -> None:
    """Fail unless ``hand`` and ``instrumentor`` produce the same telemetry for the same queries."""
    hand_tel, instr_tel = pipeline(in_memory=True), pipeline(in_memory=True)
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
            msg = f"shape check failed: hand-written and instrumentor {part} differ:\nhand: {a[part]}\ninstr: {b[part]}"
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
          f"(medians; every query misses the cache: 7 spans, 9 instruments, 1 event, 1 log record)")
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
    print(f"machine: {platform.processor() or platform.machine()}, {_cpu_count()} cores, Python {platform.python_version()}")
    result = measure(args.rounds, args.queries, args.seed)
    summary = summarize(result)
    print_table(summary, result)
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
