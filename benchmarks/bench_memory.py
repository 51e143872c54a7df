"""Resident memory over many instrumented queries: it must stay flat (bounded stores everywhere).

The process runs the embedded default pipeline that a user gets from
``heritage_otel.configure()`` with no endpoint (the bounded in-process span
store, 10,000 spans), a BatchLogRecordProcessor into a discarding exporter,
and the in-process analysis path (``AnalyzingMetricExporter`` -> ``Analyzer``
-> ``AlertManager``) on a 1 s metric export interval, and sends
``--queries`` queries through a ``RecommenderInstrumentor``-instrumented
target. RSS (``/proc/self/statm``; psutil is not needed) is sampled every
``--every`` queries.

Targets (``--target``):

* ``stub`` (default): a trivial recommender with one ranking component,
  instrumented through the instrumentor's user-targets feature
  (``RecommenderTargets(entry_point=..., components=...)``): a root span, a
  component span, the query metrics, the query event and log record per query.
  About 200 us per query here (mostly the SDK cleaning 40 retrieval.documents.* attributes), so
  1,000,000 queries take about 3.5 minutes.
* ``recommender``: the reference recommender with its result cache on (every
  query after the first 60 is a cache hit; quality is evaluated per query),
  about 225 us per query here (most of it the quality evaluation and the SDK).

Verdict: after the warm-up sample (the span store is full by then), RSS may
not grow by more than ``--tolerance-mib`` (default 8 MiB) up to the end.

Run::

    .venv/bin/python benchmarks/bench_memory.py                       # 1,000,000 queries, stub target
    .venv/bin/python benchmarks/bench_memory.py --target recommender --queries 200000
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from heritage_otel.analysis import AlertManager, Analyzer, AnalyzingMetricExporter
from heritage_otel.instrumentation import RecommenderInstrumentor, RecommenderTargets
from heritage_otel.telemetry import configure

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (second field, in pages)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * PAGE


class StubIndex:
    """A ranking component that costs next to nothing: ten fixed (doc, score) pairs."""

    HITS = [(i, 1.0 / (i + 1)) for i in range(10)]

    def rank(self, query: str, k: int = 10) -> list[tuple[int, float]]:
        return self.HITS[:k]


class StubRecommender:
    """A recommender shaped like the reference one, with no work in it."""

    def __init__(self) -> None:
        self.index = StubIndex()

    def recommend(self, query: str, top_k: int = 10) -> list[dict[str, Any]]:
        return [{"doc_id": f"doc-{i}", "score": s} for i, s in self.index.rank(query, top_k)]


class NullLogExporter(LogRecordExporter):
    """Discards log records."""

    def export(self, batch: Any) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def stub_targets() -> RecommenderTargets:
    """The user-targets of :class:`StubRecommender` (this module imported under its own name)."""
    module = "bench_memory"
    return RecommenderTargets(
        entry_point=f"{module}:StubRecommender.recommend",
        components={"stub_index": f"{module}:StubIndex.rank"},
        ensemble=None,
        chain=None,
        cache=None,
    )


def run(queries: int, every: int, target: str) -> dict[str, Any]:
    analyzer = Analyzer(interval_seconds=1)
    alerts = AlertManager()
    exporter = AnalyzingMetricExporter(analyzer, alerts)
    tel = configure(
        service_name="bench-memory",
        endpoint=None,
        metric_readers=[PeriodicExportingMetricReader(exporter, export_interval_millis=1000)],
        log_exporters=[NullLogExporter()],
        set_global=False,
    )
    instrumentor = RecommenderInstrumentor()
    if target == "stub":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import bench_memory  # noqa: PLC0415 - the targets name this module by its import name

        rec: Any = bench_memory.StubRecommender()
        texts = [f"stub query {i}" for i in range(64)]
        targets = stub_targets()
    else:
        from heritage_otel.examples.recommender import HeritageRecommender  # noqa: PLC0415 - imported after the baseline is measured

        rec = HeritageRecommender()
        texts = [q.text for q in rec.corpus.queries]
        targets = RecommenderTargets()
    instrumentor.instrument(tracer_provider=tel.tracer_provider, meter_provider=tel.meter_provider,
                            logger_provider=tel.logger_provider, targets=targets)
    samples: list[tuple[int, int, float]] = [(0, rss_bytes(), 0.0)]
    start = time.perf_counter()
    try:
        for i in range(1, queries + 1):
            rec.recommend(texts[i % len(texts)], 10)
            if i % every == 0 or i == queries:
                gc.collect()
                samples.append((i, rss_bytes(), time.perf_counter() - start))
                print(f"  {i:>9,} queries  RSS {samples[-1][1] / 2**20:8.1f} MiB  {samples[-1][2]:7.1f} s", flush=True)
    finally:
        instrumentor.uninstrument()
    store = tel.span_store
    stored = len(store.spans()) if store is not None else 0
    tel.shutdown()
    alerts.shutdown()
    return {"samples": samples, "spans_in_store": stored, "store_capacity": tel.settings.span_store_size,
            "analyzer": analyzer}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=1_000_000, help="queries to run (default 1,000,000)")
    parser.add_argument("--every", type=int, default=100_000, help="sample RSS every N queries (default 100,000)")
    parser.add_argument("--target", choices=("stub", "recommender"), default="stub")
    parser.add_argument("--tolerance-mib", type=float, default=8.0,
                        help="allowed RSS growth after the warm-up sample (default 8 MiB)")
    args = parser.parse_args(argv)
    if args.queries < 2 or args.every < 1 or args.every > args.queries:
        parser.error("need --queries >= 2 and 1 <= --every <= --queries")
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}; "
          f"target={args.target}, {args.queries:,} queries, RSS every {args.every:,}")
    result = run(args.queries, args.every, args.target)
    samples = result["samples"]
    warm = samples[2] if len(samples) > 3 else samples[1]  # after the first interval the span store is full
    last = samples[-1]
    growth = (last[1] - warm[1]) / 2**20
    rate = last[0] / last[2] if last[2] else float("nan")
    print("\nqueries      RSS MiB")
    for n, rss, _t in samples:
        print(f"{n:>9,}  {rss / 2**20:9.1f}")
    print(f"\nspan store: {result['spans_in_store']:,} spans kept (capacity {result['store_capacity']:,}); "
          f"{rate:,.0f} queries/s")
    ok = growth <= args.tolerance_mib
    print(f"RSS growth from {warm[0]:,} to {last[0]:,} queries: {growth:+.1f} MiB "
          f"(tolerance {args.tolerance_mib} MiB): {'FLAT' if ok else 'GROWING'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
