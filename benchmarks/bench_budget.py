"""The Analyzer service's resource budget under the shapes that broke it: memory held and work per request.

Run: ``.venv/bin/python benchmarks/bench_budget.py`` (``--scale 0.25`` for a quick pass).

Each case feeds one in-process :class:`~heritage_otel.service.core.AnalyzerService`
(default settings, fresh per case, in a child process so that one case's
memory does not hide the next one's) with OTLP requests of a hostile shape,
and reports the resident-memory growth, what ``/api/stats`` says the budget
holds, and the seconds the ingest took:

1. ``histograms``: 20,000 histogram series of 320 buckets (was +3.6 GB);
2. ``components``: 65,536 component duration points of 320 buckets (was +1.7 GB);
3. ``service_names``: unique 1 MiB ``service.name`` values without points (was +591 MB);
4. ``one_series``: 500,000 points of one series in one request (was 36 s of ingest);
5. ``series_churn``: 200,000 new series, twice ``max_series`` over (series evicted or refused).

The memory figure is compared with the documented ceiling
(:func:`heritage_otel.service.budget.ceiling`, the table in docs/fleet-mode.md).
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from heritage_otel import semconv
from heritage_otel.service.budget import ceiling
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.core import AnalyzerService

_BUCKETS = 320
_MIB = 1 << 20


def _request(service: str = "bench", instance: str = "a") -> tuple[ExportMetricsServiceRequest, Any]:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for key, value in ((semconv.SERVICE_NAME, service), (semconv.SERVICE_INSTANCE_ID, instance)):
        kv = rm.resource.attributes.add()
        kv.key, kv.value.string_value = key, value
    return req, rm.scope_metrics.add()


def _histograms(n: int, name: str, attribute: str, now_ns: int, per_request: int = 500) -> Iterator[ExportMetricsServiceRequest]:
    bounds = [0.001 * (i + 1) for i in range(_BUCKETS - 1)]
    counts = [1] * _BUCKETS
    for first in range(0, n, per_request):
        req, sm = _request(instance=f"i{first // 2000}")
        m = sm.metrics.add()
        m.name, m.unit = name, "s"
        m.histogram.aggregation_temporality = 1
        for i in range(first, min(n, first + per_request)):
            p = m.histogram.data_points.add()
            p.start_time_unix_nano, p.time_unix_nano = now_ns - 10**9, now_ns
            p.explicit_bounds.extend(bounds)
            p.bucket_counts.extend(counts)
            p.count, p.sum = _BUCKETS, 1.0
            kv = p.attributes.add()
            kv.key, kv.value.string_value = attribute, f"v{i}"
        yield req


def case_histograms(scale: float, now_ns: int) -> Iterator[ExportMetricsServiceRequest]:
    return _histograms(int(20_000 * scale), "bench.latency", "route", now_ns)


def case_components(scale: float, now_ns: int) -> Iterator[ExportMetricsServiceRequest]:
    n = int(65_536 * scale)
    for first in range(0, n, 256):  # 256 components, each many points at distinct times
        req, sm = _request(instance=f"c{first}")
        m = sm.metrics.add()
        m.name, m.unit = semconv.METRIC_COMPONENT_DURATION, "s"
        m.histogram.aggregation_temporality = 1
        for i in range(first, min(n, first + 256)):
            p = m.histogram.data_points.add()
            p.start_time_unix_nano, p.time_unix_nano = now_ns - 10**9 - i, now_ns - i
            p.explicit_bounds.extend(0.001 * (b + 1) for b in range(_BUCKETS - 1))
            p.bucket_counts.extend([1] * _BUCKETS)
            p.count, p.sum = _BUCKETS, 1.0
            kv = p.attributes.add()
            kv.key, kv.value.string_value = semconv.COMPONENT, f"component-{i % 256}"
        yield req


def case_service_names(scale: float, now_ns: int) -> Iterator[ExportMetricsServiceRequest]:
    for i in range(int(600 * scale)):
        req = ExportMetricsServiceRequest()
        kv = req.resource_metrics.add().resource.attributes.add()
        kv.key, kv.value.string_value = semconv.SERVICE_NAME, f"{i}-" + "x" * _MIB
        yield req


def case_one_series(scale: float, now_ns: int) -> Iterator[ExportMetricsServiceRequest]:
    req, sm = _request()
    m = sm.metrics.add()
    m.name = semconv.METRIC_QUERIES
    m.sum.aggregation_temporality, m.sum.is_monotonic = 1, True
    for i in range(int(500_000 * scale)):
        p = m.sum.data_points.add()
        p.start_time_unix_nano, p.time_unix_nano, p.as_int = now_ns - 10**9 - i - 1, now_ns - i, 1
    yield req


def case_series_churn(scale: float, now_ns: int) -> Iterator[ExportMetricsServiceRequest]:
    n = int(200_000 * scale)
    for first in range(0, n, 2_000):
        req, sm = _request(service=f"svc{first // 10_000}", instance=f"r{first}")
        m = sm.metrics.add()
        m.name = "bench.junk"
        m.sum.aggregation_temporality, m.sum.is_monotonic = 1, True
        for i in range(first, min(n, first + 2_000)):
            p = m.sum.data_points.add()
            p.start_time_unix_nano, p.time_unix_nano, p.as_int = now_ns - 10**9, now_ns, 1
            kv = p.attributes.add()
            kv.key, kv.value.string_value = "user", f"u{i}"
        yield req


CASES: dict[str, Callable[[float, int], Iterator[ExportMetricsServiceRequest]]] = {
    "histograms": case_histograms, "components": case_components, "service_names": case_service_names,
    "one_series": case_one_series, "series_churn": case_series_churn,
}


def _run(name: str, scale: float, out: Any) -> None:
    service = AnalyzerService(ServiceConfig(), start_background=False)
    now_ns = time.time_ns()
    process = psutil.Process()
    before = process.memory_info().rss
    wire = 0
    seconds = worst = 0.0
    for req in CASES[name](scale, now_ns):  # built one request at a time: what stays is what the service keeps
        wire += req.ByteSize()
        t1 = time.perf_counter()
        service.ingest_metrics(req)
        took = time.perf_counter() - t1
        seconds += took
        worst = max(worst, took)
        del req
    grown = process.memory_info().rss - before
    stats = service.stats()
    out.put({"case": name, "wire_mib": wire / _MIB, "rss_growth_mib": grown / _MIB, "ingest_s": seconds,
             "worst_request_s": worst, "budget_mib": stats["budget"]["bytes"] / _MIB,
             "ceiling_mib": stats["budget"]["ceiling_bytes"] / _MIB, "accepted": stats["data_points_accepted"],
             "rejected": stats["data_points_rejected"]})
    service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each case's size (default 1)")
    parser.add_argument("--case", choices=sorted(CASES), action="append", help="only these cases")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    probe = AnalyzerService(ServiceConfig(), start_background=False)
    print(f"documented ceiling at the defaults: {sum(ceiling(ServiceConfig(), probe.analyzer.config).values()) / _MIB:.0f} MiB")
    probe.close()
    print(f"{'case':14s} {'wire MiB':>9s} {'RSS +MiB':>9s} {'budget MiB':>10s} {'ingest s':>9s} {'worst req s':>11s} "
          f"{'accepted':>9s} {'rejected':>9s}")
    for name in args.case or CASES:
        queue = ctx.Queue()
        child = ctx.Process(target=_run, args=(name, args.scale, queue))
        child.start()
        row = queue.get(timeout=1800)
        child.join()
        print(f"{row['case']:14s} {row['wire_mib']:9.1f} {row['rss_growth_mib']:9.1f} {row['budget_mib']:10.1f} "
              f"{row['ingest_s']:9.2f} {row['worst_request_s']:11.2f} {row['accepted']:9d} {row['rejected']:9d}")


if __name__ == "__main__":
    main()
