"""Overhead of RecommenderInstrumentor: the same recommender workload with and without instrumentation.

Run: ``.venv/bin/python benchmarks/bench_instrumentation.py`` (options: ``--queries``, ``--rounds``, ``--seed``).

The workload is the demo's: judged queries from the reference recommender's
usual mix, top 10, result cache off (every query runs the whole fallback
chain and all three components). Variants, measured in the same process and
interleaved round by round so machine noise hits all of them alike:

- ``plain``: not instrumented;
- ``instrumented``: ``RecommenderInstrumentor`` with the embedded default
  pipeline (``configure()``: spans to the in-process span store, metrics to
  an in-memory reader, query log records to the logger provider);
- ``instrumented+file``: as above, plus every span written as OTLP JSON to a
  file through a ``BatchSpanProcessor`` (what ``heritage-otel demo`` does).

Also reported: startup (corpus + indexes + SimRank, first build) and the
per-query latency of each variant. Prints the ratios instrumented / plain.
Single-threaded: BLAS/OpenMP thread pools are pinned to one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 - numpy reads the thread counts set above at import
import platform  # noqa: E402 - numpy reads the thread counts set above at import
import statistics  # noqa: E402 - numpy reads the thread counts set above at import
import tempfile  # noqa: E402 - numpy reads the thread counts set above at import
import time  # noqa: E402 - numpy reads the thread counts set above at import
from pathlib import Path  # noqa: E402 - numpy reads the thread counts set above at import

from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402 - numpy reads the thread counts set above at import


def _startup(seed: int) -> float:
    from heritage_otel.examples.recommender import HeritageRecommender

    start = time.perf_counter()
    HeritageRecommender(seed=seed)
    return time.perf_counter() - start


def _timed(rec, queries: list[str]) -> float:  # noqa: ANN001 - a test double's signature
    start = time.perf_counter()
    for text in queries:
        rec.recommend(text, 10)
    return time.perf_counter() - start


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000, help="queries per variant per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (the median is reported)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    startup_s = _startup(args.seed)  # first build: corpus generation and SimRank included

    from heritage_otel.examples.recommender import HeritageRecommender, QueryMix
    from heritage_otel.instrumentation import RecommenderInstrumentor
    from heritage_otel.telemetry import configure

    rec = HeritageRecommender(seed=args.seed, cache_size=0)
    mix = QueryMix(rec.corpus, rec.faults, seed=args.seed)
    queries = [mix.next().text for _ in range(args.queries)]
    _timed(rec, queries[:100])  # warm-up

    instrumentor = RecommenderInstrumentor()
    workdir = Path(tempfile.mkdtemp(prefix="bench-instr-"))
    times: dict[str, list[float]] = {"plain": [], "instrumented": [], "instrumented+file": []}
    for round_no in range(args.rounds):
        for variant in times:
            if variant == "plain":
                times[variant].append(_timed(rec, queries))
                continue
            telemetry = configure(
                service_name="bench-instrumentation",
                metric_readers=[InMemoryMetricReader()],
                otlp_json_path=workdir / f"spans-{round_no}.jsonl" if variant.endswith("+file") else None,
            )
            instrumentor.instrument(
                tracer_provider=telemetry.tracer_provider,
                meter_provider=telemetry.meter_provider,
                logger_provider=telemetry.logger_provider,
            )
            try:
                elapsed = _timed(rec, queries)
                flush_start = time.perf_counter()
                telemetry.force_flush()  # the export work counts too
                elapsed += time.perf_counter() - flush_start
                times[variant].append(elapsed)
            finally:
                instrumentor.uninstrument()
                telemetry.shutdown()

    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"python {platform.python_version()} on {platform.machine()}; {args.queries} queries x {args.rounds} rounds, "
          "cache off, top 10")
    print(f"startup (corpus + indexes + SimRank, first build): {startup_s * 1000:.0f} ms")
    for variant, seconds in median.items():
        print(f"{variant:<18} {seconds / args.queries * 1e6:8.1f} us/query  (median round {seconds:.3f} s)")
    for variant in ("instrumented", "instrumented+file"):
        print(f"overhead ratio {variant} / plain: {median[variant] / median['plain']:.2f}x "
              f"(+{(median[variant] - median['plain']) / args.queries * 1e6:.0f} us/query)")


if __name__ == "__main__":
    main()
