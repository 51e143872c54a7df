"""Capacity of the Analyzer service: OTLP ingest rate, evaluation time as series grow, two shards vs one.

Run: ``.venv/bin/python benchmarks/bench_capacity.py`` (``--quick`` for a smoke run).

1. **Ingest** (OTLP/HTTP, protobuf, gzip): one ``heritage-otel analyzer serve``
   process; two client processes post pre-built, gzip-compressed export
   requests (``--batch`` series per request, the size of a Collector batch) as
   fast as the Analyzer answers, for ``--seconds``; the rate is the Analyzer's
   own ``data_points_accepted`` (``/api/stats``) divided by the elapsed time,
   at several series counts (the receiver's series table grows with them).
2. **Evaluation**: ``AnalyzerService.evaluate()`` in process, after
   ``--history`` intervals of every series, median of ``--repeat`` runs, as the
   series count grows.
3. **Two shards vs one**: the same two client processes and the same requests,
   first against one Analyzer, then split by service between two (what the
   gateway's ``routing_key: service`` does), interleaved over ``--rounds``
   rounds; the ratio of accepted points per second, per round, side by side.

Finally a sizing table: series per shard at a 60 s export interval, from the
measured rates with half of one core left for everything else.

The data are synthetic and seeded: each replica exports 8 series (query
duration histogram, 3 component duration histograms, query count, 3 component
error counts), DELTA temporality.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 - numpy reads the thread counts set above at import
import gzip  # noqa: E402 - numpy reads the thread counts set above at import
import math  # noqa: E402 - numpy reads the thread counts set above at import
import multiprocessing as mp  # noqa: E402 - numpy reads the thread counts set above at import
import platform  # noqa: E402 - numpy reads the thread counts set above at import
import statistics  # noqa: E402 - numpy reads the thread counts set above at import
import subprocess  # noqa: E402 - numpy reads the thread counts set above at import
import sys  # noqa: E402 - numpy reads the thread counts set above at import
import time  # noqa: E402 - numpy reads the thread counts set above at import
from pathlib import Path  # noqa: E402 - numpy reads the thread counts set above at import

import numpy as np  # noqa: E402 - numpy reads the thread counts set above at import
import requests  # noqa: E402 - numpy reads the thread counts set above at import
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest  # noqa: E402 - numpy reads the thread counts set above at import
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality  # noqa: E402 - numpy reads the thread counts set above at import

from heritage_otel import semconv  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.analysis import AnalyzerConfig  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.instruments import DURATION_BUCKETS_S  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.service import ServiceConfig  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.service.core import AnalyzerService  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.stack.health import wait_healthy  # noqa: E402 - numpy reads the thread counts set above at import
from heritage_otel.stack.ports import free_ports  # noqa: E402 - numpy reads the thread counts set above at import

SERIES_PER_REPLICA = 8
COMPONENTS = ("simrank", "horn_index", "embedding")
DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
INTERVAL_S = 60.0


def _kv(target, key: str, value: str) -> None:
    kv = target.add()
    kv.key = key
    kv.value.string_value = value


def export_request(service: str, replicas: range, t_ns: int, rng: np.random.Generator) -> ExportMetricsServiceRequest:
    """One request: ``len(replicas)`` replicas of ``service``, 8 series each, one DELTA point per series."""
    req = ExportMetricsServiceRequest()
    n_buckets = len(DURATION_BUCKETS_S) + 1
    for r in replicas:
        rm = req.resource_metrics.add()
        _kv(rm.resource.attributes, semconv.SERVICE_NAME, service)
        _kv(rm.resource.attributes, semconv.SERVICE_INSTANCE_ID, f"{service}-{r}")
        sm = rm.scope_metrics.add()
        sm.scope.name = "bench.capacity"
        for name, component in [(semconv.METRIC_QUERY_DURATION, None)] + [
                (semconv.METRIC_COMPONENT_DURATION, c) for c in COMPONENTS]:
            m = sm.metrics.add()
            m.name, m.unit = name, "s"
            m.histogram.aggregation_temporality = DELTA
            p = m.histogram.data_points.add()
            p.start_time_unix_nano, p.time_unix_nano = t_ns - int(INTERVAL_S * 1e9), t_ns
            counts = rng.multinomial(100, np.full(n_buckets, 1.0 / n_buckets))
            p.bucket_counts.extend(int(c) for c in counts)
            p.explicit_bounds.extend(DURATION_BUCKETS_S)
            p.count, p.sum = 100, float(rng.uniform(5, 50))
            if component:
                _kv(p.attributes, semconv.COMPONENT, component)
        for name, component in [(semconv.METRIC_QUERIES, None)] + [(semconv.METRIC_ERRORS, c) for c in COMPONENTS]:
            m = sm.metrics.add()
            m.name = name
            m.sum.aggregation_temporality, m.sum.is_monotonic = DELTA, True
            p = m.sum.data_points.add()
            p.start_time_unix_nano, p.time_unix_nano = t_ns - int(INTERVAL_S * 1e9), t_ns
            p.as_double = float(rng.integers(0, 100))
            if component:
                _kv(p.attributes, semconv.COMPONENT, component)
    return req


def bodies(services: list[str], series: int, batch: int, seed: int) -> list[tuple[str, bytes, int]]:
    """Gzip bodies covering ``series`` series spread over ``services``: (service, body, points)."""
    rng = np.random.default_rng(seed)
    per_service = max(1, series // SERIES_PER_REPLICA // len(services))
    per_request = max(1, batch // SERIES_PER_REPLICA)
    out = []
    t_ns = time.time_ns()
    for service in services:
        for start in range(0, per_service, per_request):
            replicas = range(start, min(per_service, start + per_request))
            body = gzip.compress(export_request(service, replicas, t_ns, rng).SerializeToString())
            out.append((service, body, len(replicas) * SERIES_PER_REPLICA))
    return out


# --- Analyzer processes -------------------------------------------------------------------------------------------
def start_analyzer(port: int, max_series: int, log: Path) -> subprocess.Popen:
    cli = Path(sys.executable).with_name("heritage-otel")
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [str(cli), "analyzer", "serve", "--port", str(port), "--max-series", str(max_series),
         "--max-request-bytes", str(64 * 1024 * 1024), "--log-level", "WARNING"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT)
    if not wait_healthy(f"http://127.0.0.1:{port}/healthz", timeout_s=60, still_running=lambda: proc.poll() is None):
        proc.kill()
        msg = f"analyzer on {port} did not start; see {log}"
        raise SystemExit(msg)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def accepted(url: str) -> int:
    stats = requests.get(f"{url}/api/stats", timeout=30).json()
    return int(stats["data_points_accepted"])


def _client(targets: list[str], work: list[tuple[int, bytes]], seconds: float, done: mp.Queue) -> None:
    """Post the bodies round-robin to their target until ``seconds`` pass; report (requests, failures)."""
    session = requests.Session()
    sent = failed = 0
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        target, body = work[i % len(work)]
        i += 1
        try:
            reply = session.post(f"{targets[target]}/v1/metrics", data=body, headers=HEADERS, timeout=60)
            sent += 1
            failed += reply.status_code != 200
        except requests.RequestException:
            failed += 1
    done.put((sent, failed))


def drive(targets: list[str], work_per_client: list[list[tuple[int, bytes]]], seconds: float) -> float:
    """Run one client process per work list; accepted points per second over all targets."""
    before = [accepted(t) for t in targets]
    done: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_client, args=(targets, work, seconds, done)) for work in work_per_client]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    results = [done.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - t0
    if sum(f for _s, f in results):
        print(f"  warning: {sum(f for _s, f in results)} failed requests", flush=True)
    return (sum(accepted(t) for t in targets) - sum(before)) / elapsed


# --- 1. ingest -----------------------------------------------------------------------------------------------------
def bench_ingest(series_steps: list[int], batch: int, seconds: float, tmp: Path) -> dict[int, float]:
    rates = {}
    for series in series_steps:
        port = free_ports(1)[0]
        proc = start_analyzer(port, max_series=series + 100, log=tmp / "ingest.log")
        url = f"http://127.0.0.1:{port}"
        try:
            work = [(0, body) for _svc, body, _n in bodies([f"svc-{i}" for i in range(8)], series, batch, seed=series)]
            drive([url], [work], 1.0)  # warm-up: every series admitted once
            rates[series] = drive([url], [work[0::2], work[1::2]], seconds)
        finally:
            stop(proc)
        print(f"  ingest {series:>6} series: {rates[series]:>9,.0f} points/s", flush=True)
    return rates


# --- 2. evaluation -------------------------------------------------------------------------------------------------
def bench_evaluation(series_steps: list[int], history: int, repeat: int) -> dict[int, float]:
    out = {}
    for series in series_steps:
        service = AnalyzerService(ServiceConfig(max_series=series + 100),
                                  analyzer_config=AnalyzerConfig(interval_seconds=INTERVAL_S, retention_minutes=history + 5),
                                  start_background=False)
        rng = np.random.default_rng(series)
        now = time.time()
        try:
            replicas = max(1, series // SERIES_PER_REPLICA // 8)
            for h in range(history):
                t_ns = int((now - (history - h) * INTERVAL_S) * 1e9)
                for s in range(8):
                    service.ingest_metrics(export_request(f"svc-{s}", range(replicas), t_ns, rng))
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                service.evaluate(now=now)
                times.append(time.perf_counter() - t0)
            out[series] = statistics.median(times) * 1e3
        finally:
            service.close()
        print(f"  evaluate {series:>6} series x {history} intervals: {out[series]:>8.1f} ms", flush=True)
    return out


# --- 3. two shards vs one ----------------------------------------------------------------------------------------
def bench_shards(series: int, batch: int, seconds: float, rounds: int, tmp: Path) -> list[tuple[float, float]]:
    services = [f"svc-{i}" for i in range(16)]
    work = bodies(services, series, batch, seed=1)
    halves = (set(services[0::2]), set(services[1::2]))  # the gateway's split by service (here: fixed, balanced)
    ports = free_ports(3)
    one = start_analyzer(ports[0], series + 100, tmp / "one.log")
    two = [start_analyzer(p, series + 100, tmp / f"two-{i}.log") for i, p in enumerate(ports[1:])]
    urls_one = [f"http://127.0.0.1:{ports[0]}"]
    urls_two = [f"http://127.0.0.1:{p}" for p in ports[1:]]
    # The same two client processes, with the same bodies, in both set-ups.
    per_client = [[b for s, b, _n in work if s in half] for half in halves]
    try:
        drive(urls_one, [[(0, b) for b in bs] for bs in per_client], 1.0)
        drive(urls_two, [[(i, b) for b in bs] for i, bs in enumerate(per_client)], 1.0)
        results = []
        for r in range(rounds):
            single = drive(urls_one, [[(0, b) for b in bs] for bs in per_client], seconds)
            double = drive(urls_two, [[(i, b) for b in bs] for i, bs in enumerate(per_client)], seconds)
            results.append((single, double))
            print(f"  round {r + 1}: one shard {single:,.0f} points/s, two shards {double:,.0f} points/s, "
                  f"ratio {double / single:.2f}", flush=True)
        return results
    finally:
        for proc in (one, *two):
            stop(proc)


def sizing(rate: float, eval_ms: dict[int, float]) -> None:
    """Series one shard can take at a 60 s export interval with half a core for ingest and a 10 % evaluation budget."""
    ingest_cap = rate * 0.5 * INTERVAL_S
    per_series_ms = max(ms / n for n, ms in eval_ms.items())
    eval_cap = 0.1 * INTERVAL_S * 1e3 / per_series_ms
    cap = int(min(ingest_cap, eval_cap, ServiceConfig.max_series))
    print(f"\nOne shard, 60 s interval: ingest allows {ingest_cap:,.0f} series, evaluation {eval_cap:,.0f}, "
          f"max_series {ServiceConfig.max_series:,}: plan for {cap:,} series per shard.")
    print("\n| replicas | series per replica | series | shards (at the per-shard figure above) |")
    print("| ---: | ---: | ---: | ---: |")
    for replicas in (10, 50, 200, 1000):
        for per_replica in (8, 50):
            total = replicas * per_replica
            print(f"| {replicas} | {per_replica} | {total:,} | {max(1, math.ceil(total / cap))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=1000, help="series per request (default 1000)")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    seconds = args.seconds or (2.0 if args.quick else 6.0)
    rounds = args.rounds or (2 if args.quick else 5)
    steps = [1000, 5000] if args.quick else [1000, 5000, 10000, 20000]
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-capacity-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
          f"batch {args.batch} series/request; load average {os.getloadavg()[0]:.1f}", flush=True)
    print("\n1. Ingest, one Analyzer (OTLP/HTTP protobuf + gzip, 2 client processes):", flush=True)
    rates = bench_ingest(steps, args.batch, seconds, tmp)
    print("\n2. Evaluation (AnalyzerService.evaluate, in process):", flush=True)
    eval_ms = bench_evaluation(steps, history=10 if args.quick else 15, repeat=3)
    print("\n3. Two shards vs one, same load (5,000 series over 16 services):", flush=True)
    results = bench_shards(5000, args.batch, seconds, rounds, tmp)
    ratios = [d / s for s, d in results]
    print(f"\n  two shards / one shard: median ratio {statistics.median(ratios):.2f} "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    sizing(min(rates.values()), eval_ms)


if __name__ == "__main__":
    main()
