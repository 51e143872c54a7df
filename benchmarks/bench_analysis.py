"""Benchmark of heritage_otel.analysis: vectorised evaluation vs a naive per-series loop, export cost, memory.

Run: ``.venv/bin/python benchmarks/bench_analysis.py`` (options: ``--series``, ``--points``, ``--repeat``).

1. Evaluation of every detector (threshold, z-score, MAD, the streaming
   surprise and adaptive detectors, PSI, KS) over ``--series`` series with
   ``--points``-point windows (and 27-bucket drift windows), by
   ``Analyzer.evaluate`` and by a naive per-series Python/scipy loop over the
   same data, in the same run; both must flag the same series. The streaming
   detectors' state is fed one interval at a time (an evaluation per ingest)
   before the timed pass, and each timed pass judges a new point (its state is
   rewound to before the last point between passes, untimed); the naive
   loop calls ``update()`` on one detector per series holding the same state.
2. Per-export cost of ``AnalyzingMetricExporter`` (samples + ingest +
   evaluation) for a real SDK pipeline at several series counts.
3. Memory per series (numpy arrays and the Python objects around them).

Single-threaded: BLAS/OpenMP thread pools are pinned to one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 - numpy reads the thread counts set above at import
import copy  # noqa: E402 - numpy reads the thread counts set above at import
import gc  # noqa: E402 - numpy reads the thread counts set above at import
import platform  # noqa: E402 - numpy reads the thread counts set above at import
import statistics  # noqa: E402 - numpy reads the thread counts set above at import
import time  # noqa: E402 - numpy reads the thread counts set above at import
import tracemalloc  # noqa: E402 - numpy reads the thread counts set above at import

import numpy as np  # noqa: E402 - numpy reads the thread counts set above at import
from scipy import stats  # noqa: E402 - numpy reads the thread counts set above at import

from heritage_otel.analysis import Analyzer, AnalyzingMetricExporter, SeriesKey  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.analysis.detectors import DETECTORS, Detector  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.analysis.drift import ks_counts, psi_counts  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.instruments import DURATION_BUCKETS_S, instruments_for  # noqa: E402 - numpy reads the thread counts set above at import

INTERVAL_S = 15.0
DRIFT_POINTS = 15
BASELINE_POINTS = 30


def _timed(fn, repeat: int, setup=None) -> tuple[float, object]:
    result = None
    times = []
    for _ in range(repeat):
        arg = () if setup is None else (setup(),)
        gc.collect()
        t0 = time.perf_counter()
        result = fn(*arg)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def make_data(n: int, points: int, seed: int = 7):
    """Latency-like values (ms) with planted spikes, and bucket counts with planted drift."""
    rng = np.random.default_rng(seed)
    values = rng.normal(500.0, 50.0, (n, points))
    spikes = rng.choice(n, n // 100, replace=False)
    values[spikes, -1] = 2500.0  # over the warning threshold and far outside the baseline
    buckets = len(DURATION_BUCKETS_S) + 1
    shape = np.exp(-0.5 * ((np.arange(buckets) - 8) / 3.0) ** 2)
    reference = rng.poisson(shape * 20, (n, BASELINE_POINTS, buckets)).astype(float)
    current = rng.poisson(shape * 20, (n, DRIFT_POINTS, buckets)).astype(float)
    drifted = rng.choice(n, n // 10, replace=False)
    current[drifted] = rng.poisson(np.roll(shape, 3) * 20, (len(drifted), DRIFT_POINTS, buckets))
    return values, reference, current


def build_analyzer(values, reference, current) -> tuple[Analyzer, list[SeriesKey]]:
    n, points = values.shape
    analyzer = Analyzer(window_points=points, interval_seconds=INTERVAL_S, retention_minutes=points * INTERVAL_S / 60,
                        drift_window_points=DRIFT_POINTS, drift_baseline_points=BASELINE_POINTS, max_series=n * 2,
                        anomaly_detectors=tuple(DETECTORS))
    keys = [SeriesKey.of("query_latency_p95", {"series": i}) for i in range(n)]
    for t in range(points):
        analyzer.ingest_values(keys, values[:, t], t * INTERVAL_S)
        if t < points - 1:
            analyzer.evaluate()  # streaming detectors learn each interval as it comes
    t0 = (points - BASELINE_POINTS - DRIFT_POINTS) * INTERVAL_S
    for k in range(BASELINE_POINTS):
        analyzer.ingest_buckets(keys, DURATION_BUCKETS_S, reference[:, k], t0 + k * INTERVAL_S)
    for k in range(DRIFT_POINTS):
        analyzer.ingest_buckets(keys, DURATION_BUCKETS_S, current[:, k],
                                t0 + (BASELINE_POINTS + k) * INTERVAL_S)
    return analyzer, keys


#: The streaming detectors (state per series, no window): the naive loop holds one instance per series.
STREAMING = tuple(name for name, cls in DETECTORS.items() if not cls().window)


def per_series_streaming(values, name: str) -> list[Detector]:
    """One ``name`` detector per series, holding the state learned from all but the last point (with timestamps)."""
    cls = DETECTORS[name]
    shared = cls()
    state = shared.new_state(values.shape[0])
    for t in range(values.shape[1] - 1):
        shared.score_rows(values[:, t], state, times=np.full(values.shape[0], t * INTERVAL_S))
    out = []
    for i in range(values.shape[0]):
        det = cls()
        det._state = {k: v[i : i + 1].copy() for k, v in state.items()}  # noqa: SLF001 - benchmark set-up
        out.append(det)
    return out


def naive_evaluate(values, reference, current, analyzer: Analyzer,
                   streaming: dict[str, list[Detector]]) -> set[tuple[str, int]]:
    """The same detectors, one series at a time, with numpy/scipy calls per series."""
    sensitivity = {name: cls.default_sensitivity for name, cls in DETECTORS.items()}
    cfg = analyzer.config
    rule = analyzer.rules.get("query_latency_p95")
    ref_sum = reference.sum(axis=1)
    cur_sum = current.sum(axis=1)
    found: set[tuple[str, int]] = set()
    for i in range(values.shape[0]):
        base, x = values[i, :-1], values[i, -1]
        if x > rule.warning_at:
            found.add(("threshold", i))
        z = (x - base.mean()) / base.std(ddof=1)
        if abs(z) > sensitivity["zscore"]:
            found.add(("zscore", i))
        med = np.median(base)
        mad = stats.median_abs_deviation(base)
        if abs(0.6745 * (x - med) / mad) > sensitivity["mad"]:
            found.add(("mad", i))
        t_last = (values.shape[1] - 1) * INTERVAL_S
        for name, dets in streaming.items():
            if dets[i].update(x, t_last).flagged:
                found.add((name, i))
        if psi_counts(ref_sum[i], cur_sum[i]) >= cfg.psi_warning:
            found.add(("psi", i))
        ks_result = ks_counts(ref_sum[i], cur_sum[i])
        if ks_result.pvalue < cfg.ks_alpha and ks_result.statistic >= cfg.ks_min_statistic:
            found.add(("ks", i))
    return found


def bench_evaluation(n: int, points: int, repeat: int) -> dict[str, float]:
    values, reference, current = make_data(n, points)
    analyzer, _ = build_analyzer(values, reference, current)
    streaming = analyzer._anomaly  # noqa: SLF001 - the benchmark rewinds the streaming state between passes
    saved = copy.deepcopy((streaming._states, streaming._fed_t))  # noqa: SLF001 - the benchmark reads the window internals

    def rewind() -> Analyzer:
        streaming._states, streaming._fed_t = copy.deepcopy(saved)  # noqa: SLF001 - the benchmark reads the window internals
        return analyzer

    rewind().evaluate()  # warm-up (first touch of the arrays)
    vec_s, evaluation = _timed(lambda a: a.evaluate(), repeat, setup=rewind)
    vec_found = {(f.detector, int(dict(f.labels)["series"])) for f in evaluation.findings}
    streaming = {name: per_series_streaming(values, name) for name in STREAMING}
    naive_s, naive_found = _timed(lambda: naive_evaluate(values, reference, current, analyzer, streaming), 1)
    if vec_found != naive_found:
        msg = f"vectorised and naive evaluations disagree on {len(vec_found ^ naive_found)} findings"
        raise SystemExit(msg)
    return {"vectorised_ms": vec_s * 1e3, "naive_ms": naive_s * 1e3, "ratio": naive_s / vec_s,
            "findings": len(vec_found)}


def bench_export(series_counts: list[int], exports: int) -> list[tuple[int, float, float]]:
    from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    rows = []
    for n in series_counts:
        exporter = AnalyzingMetricExporter(Analyzer(interval_seconds=INTERVAL_S))
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=10**9)
        provider = MeterProvider(metric_readers=[reader], exemplar_filter=TraceBasedExemplarFilter())
        inst = instruments_for(provider)
        rng = np.random.default_rng(1)
        components = [{"heritage.component": f"c{i}"} for i in range(n)]
        durations, flush = [], []
        for _ in range(exports):
            for attrs in components:  # one histogram series per component
                inst.component_duration.record(float(rng.gamma(2.0, 0.05)), attrs)
            inst.queries.add(n)
            inst.query_duration.record(0.2)
            t0 = time.perf_counter()
            provider.force_flush()
            flush.append(time.perf_counter() - t0)
            durations.append(exporter.last_duration_s)
        provider.shutdown()
        rows.append((len(exporter.last_samples), statistics.median(durations[2:]) * 1e3,
                     statistics.median(flush[2:]) * 1e3))
    return rows


def bench_memory(n: int, points: int) -> dict[str, float]:
    values, reference, current = make_data(n, points)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    analyzer, keys = build_analyzer(values, reference, current)
    del keys
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    s = analyzer.stats()
    return {"total_bytes_per_series": (after - before) / n, "array_bytes_per_series": s["bytes"] / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=240)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--exports", type=int, default=12)
    args = parser.parse_args()

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs visible, Python {platform.python_version()}, "
          f"numpy {np.__version__}; single-threaded")
    ev = bench_evaluation(args.series, args.points, args.repeat)
    export_rows = bench_export([10, 100, 1000], args.exports)
    mem = bench_memory(args.series, args.points)

    goal_ratio = "yes" if ev["ratio"] >= 50 else "NO"
    goal_ms = "yes" if ev["vectorised_ms"] < 100 else "NO"
    lines = [
        ("measure", "value", "goal met"),
        (f"Analyzer.evaluate, {args.series:,} series x {args.points} points, all detectors",
         f"{ev['vectorised_ms']:.1f} ms", f"{goal_ms} (< 100 ms)"),
        ("naive per-series numpy/scipy loop, same data", f"{ev['naive_ms']:.0f} ms", ""),
        ("speed-up (same run)", f"{ev['ratio']:.0f}x", f"{goal_ratio} (>= 50x)"),
        ("findings (identical in both)", f"{ev['findings']}", ""),
    ]
    for series, export_ms, flush_ms in export_rows:
        lines.append((f"AnalyzingMetricExporter.export, {series} series", f"{export_ms:.2f} ms",
                      f"(collect+export {flush_ms:.2f} ms)"))
    lines.append((f"memory per series ({args.points} points + drift windows), arrays",
                  f"{mem['array_bytes_per_series'] / 1024:.1f} KiB", ""))
    lines.append(("memory per series, total incl. keys and indexes",
                  f"{mem['total_bytes_per_series'] / 1024:.1f} KiB", ""))
    widths = [max(len(r[i]) for r in lines) for i in range(3)]
    for k, row in enumerate(lines):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)))
        if k == 0:
            print("-+-".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
