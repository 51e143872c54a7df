"""End-to-end span throughput: one Python process -> the real Collector -> the real Jaeger, counted in Jaeger.

The script starts ``bin/otelcol-heritage`` (collector/config.yaml) and
``bin/jaeger`` (jaeger/config.yaml, in-memory store) on free loopback ports
with :class:`heritage_otel.stack.Stack`, with the tail sampler keeping 100%
of traces (so every span sent must arrive). It then offers spans at a rising
rate, one step per rate, each step from a fresh SDK pipeline with its own
``service.name``: the OpenTelemetry SDK's TracerProvider with ``configure()``'s
resource -> ``configure()``'s BatchSpanProcessor
(:func:`heritage_otel.telemetry.batch_span_processor`: queue 16384, batch 2048,
0.5 s delay, unless ``OTEL_BSP_*`` are set; ``--sdk-defaults``: the SDK's own,
queue 2048, batch 512, 5 s) -> OTLP (``--protocol``, default http/protobuf;
``--compression``, default none) to the Collector. Traces are a root and
``--spans-per-trace - 1`` children with two attributes each.

The CPU it costs: the process's CPU time over each step (producing the spans,
the export thread, the flush at the end), and the Collector's and Jaeger's
(``psutil``, from their pid files), per span and in cores.

For each step it reports the rate achieved, the spans Jaeger's HTTP API
returns for the step's service (``/api/traces?service=...``), and where any
loss was counted:

* SDK: ``otel.sdk.processor.span.processed`` with ``error.type=queue_full``
  (BatchSpanProcessor queue overflow; the SDK's own metric, read from an
  in-memory reader; the SDK records it only with
  ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true``, which this script sets)
  and spans whose OTLP export returned FAILURE;
* Collector (its Prometheus telemetry port, the ``:8888`` of a default
  install): ``otelcol_receiver_refused_spans``,
  ``otelcol_processor_..._dropped``/tail-sampling drops,
  ``otelcol_exporter_send_failed_spans``, ``otelcol_exporter_enqueue_failed_spans``.

Run::

    bash scripts/deps/collector.sh && bash scripts/deps/jaeger.sh   # once
    .venv/bin/python benchmarks/bench_throughput.py
    .venv/bin/python benchmarks/bench_throughput.py --rates 2000,8000,max --seconds 5
    .venv/bin/python benchmarks/bench_throughput.py --rates 20000,max --sdk-defaults   # the SDK's defaults
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil
import requests
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from heritage_otel.settings import resolve_settings
from heritage_otel.stack import Stack, StackPorts
from heritage_otel.telemetry import batch_span_processor, resource_for

REPO = Path(__file__).resolve().parent.parent
#: The SDK counts BatchSpanProcessor drops in ``otel.sdk.processor.span.processed`` only when this is on.
SDK_METRICS_ENV = "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"
DEFAULT_RATES = "1000,2000,4000,8000,16000,max"


class CountingExporter(SpanExporter):
    """Wraps the OTLP exporter; counts spans exported and spans whose export failed."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.ok = 0
        self.failed = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        result = self.inner.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.ok += len(spans)
        else:
            self.failed += len(spans)
        return result

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.inner.shutdown()


def otlp_exporter(protocol: str, ports: StackPorts, compression: str) -> SpanExporter:
    if protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=f"127.0.0.1:{ports.collector_otlp_grpc}", insecure=True,
                                compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression)
    from opentelemetry.exporter.otlp.proto.http import Compression as HTTPCompression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPExporter

    return HTTPExporter(endpoint=f"{ports.otlp_http_endpoint}/v1/traces",
                        compression=HTTPCompression.Gzip if compression == "gzip" else HTTPCompression.NoCompression)


def stack_cpu_s(state: Path) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process of the stack, from its pid file."""
    used = {}
    for pid_file in sorted(state.glob("*.pid")):
        try:
            times = psutil.Process(int(pid_file.read_text().strip())).cpu_times()
        except (psutil.Error, ValueError):
            continue
        used[pid_file.stem] = times.user + times.system
    return used


def sdk_dropped(reader: InMemoryMetricReader) -> int:
    """Spans the BatchSpanProcessor dropped (queue full), from the SDK's own processor metric."""
    data = reader.get_metrics_data()
    total = 0
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "otel.sdk.processor.span.processed":
                    total += sum(int(p.value) for p in metric.data.data_points if p.attributes.get("error.type"))
    return total


_PROM_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEnaNInf]+)")
LOSS_METRICS = (
    "otelcol_receiver_refused_spans",
    "otelcol_receiver_failed_spans",
    "otelcol_exporter_send_failed_spans",
    "otelcol_exporter_enqueue_failed_spans",
    "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early",
    "otelcol_processor_refused_spans",
    "otelcol_processor_dropped_spans",
)


def prometheus(url: str) -> dict[str, float]:
    """Sum of every sample per metric name (``_total`` suffix removed) from a Prometheus text page."""
    totals: dict[str, float] = {}
    for line in requests.get(url, timeout=5).text.splitlines():
        match = _PROM_LINE.match(line)
        if match:
            name = match.group(1).removesuffix("_total")
            totals[name] = totals.get(name, 0.0) + float(match.group(3))
    return totals


def jaeger_span_count(jaeger_url: str, service: str) -> int:
    """Spans Jaeger's HTTP API returns for ``service`` (all its traces)."""
    response = requests.get(f"{jaeger_url}/api/traces", params={"service": service, "limit": 1_000_000,
                                                                  "lookback": "1h"}, timeout=120)
    if response.status_code == 404:
        return 0
    response.raise_for_status()
    return sum(len(trace["spans"]) for trace in response.json().get("data") or ())


def wait_jaeger(jaeger_url: str, service: str, expected: int, timeout_s: float) -> int:
    """Poll until Jaeger holds ``expected`` spans for ``service`` or the count stops moving."""
    deadline = time.monotonic() + timeout_s
    last, stable = -1, 0
    count = 0
    while time.monotonic() < deadline:
        count = jaeger_span_count(jaeger_url, service)
        if count >= expected:
            return count
        stable = stable + 1 if count == last else 0
        if stable >= 6 and count > 0:  # 6 polls (about 9 s) without change: nothing more is coming
            return count
        last = count
        time.sleep(1.5)
    return count


def run_step(rate: float | None, seconds: float, spans_per_trace: int, protocol: str, ports: StackPorts,
             collector_metrics: str, *, sdk_defaults: bool = False, compression: str = "none",
             state: Path | None = None) -> dict[str, Any]:
    service = f"bench-throughput-{uuid.uuid4().hex[:8]}"
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    exporter = CountingExporter(otlp_exporter(protocol, ports, compression))
    if sdk_defaults:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(exporter, meter_provider=meter_provider))
    else:  # configure()'s resource and batch processor
        provider = TracerProvider(resource=resource_for(resolve_settings(service_name=service)))
        provider.add_span_processor(batch_span_processor(exporter, meter_provider=meter_provider))
    tracer = provider.get_tracer("bench.throughput")
    before = prometheus(collector_metrics)
    stack_before = stack_cpu_s(state) if state is not None else {}
    sent = 0
    cpu_start = time.process_time()
    start = time.perf_counter()
    end = start + seconds
    traces = 0
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        if rate is not None:
            due = start + (traces * spans_per_trace) / rate
            if due > now:
                time.sleep(due - now)
        with tracer.start_as_current_span("bench.root", attributes={"bench.step": service, "bench.i": traces}):
            for child in range(spans_per_trace - 1):
                with tracer.start_as_current_span("bench.child", attributes={"bench.child": child,
                                                                             "bench.kind": "work"}):
                    pass
        traces += 1
        sent += spans_per_trace
    elapsed = time.perf_counter() - start
    provider.force_flush(60_000)
    cpu_s = time.process_time() - cpu_start
    wall_s = time.perf_counter() - start
    dropped = sdk_dropped(reader)
    provider.shutdown()
    meter_provider.shutdown()
    stack_after = stack_cpu_s(state) if state is not None else {}
    stored = wait_jaeger(ports.jaeger_url, service, sent, timeout_s=90)
    after = prometheus(collector_metrics)
    collector_loss = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in LOSS_METRICS
                      if after.get(name, 0.0) - before.get(name, 0.0) > 0}
    return {
        "offered": "max" if rate is None else int(rate),
        "achieved_spans_per_s": sent / elapsed,
        "sent": sent,
        "sdk_dropped": dropped,
        "sdk_export_failed": exporter.failed,
        "sdk_exported": exporter.ok,
        "collector_accepted": after.get("otelcol_receiver_accepted_spans", 0.0)
        - before.get("otelcol_receiver_accepted_spans", 0.0),
        "collector_loss": collector_loss,
        "in_jaeger": stored,
        "lost": sent - stored,
        "cpu_us_per_span": cpu_s / sent * 1e6 if sent else 0.0,
        "cpu_cores": cpu_s / wall_s if wall_s else 0.0,
        "stack_cpu_us_per_span": {name: (stack_after[name] - stack_before.get(name, 0.0)) / sent * 1e6
                                  for name in stack_after} if sent else {},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default=DEFAULT_RATES,
                        help=f"offered spans/s per step, comma separated; 'max' = as fast as possible ({DEFAULT_RATES})")
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each step (default 4)")
    parser.add_argument("--spans-per-trace", type=int, default=10, help="spans per trace (default 10)")
    parser.add_argument("--protocol", choices=("http/protobuf", "grpc"), default="http/protobuf")
    parser.add_argument("--compression", choices=("none", "gzip"), default="none",
                        help="OTLP compression (default none: on loopback it only costs CPU)")
    parser.add_argument("--sdk-defaults", action="store_true",
                        help="the SDK's BatchSpanProcessor defaults instead of configure()'s")
    args = parser.parse_args(argv)
    os.environ[SDK_METRICS_ENV] = "true"
    try:
        rates = [None if r.strip() == "max" else float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        parser.error(f"--rates {args.rates!r}: expected numbers or 'max', comma separated")
    if any(r is not None and r <= 0 for r in rates) or args.seconds <= 0 or args.spans_per_trace < 1:
        parser.error("rates, --seconds and --spans-per-trace must be positive")
    for binary, script in (("otelcol-heritage", "collector.sh"), ("jaeger", "jaeger.sh")):
        if not (REPO / "bin" / binary).is_file():
            print(f"bin/{binary} is missing; build it with: bash scripts/deps/{script}", file=sys.stderr)
            return 2
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores (shared by this process, "
          f"the Collector and Jaeger), Python {platform.python_version()}; protocol {args.protocol}, "
          f"{args.spans_per_trace} spans/trace, {args.seconds:g} s per step, compression {args.compression}, "
          f"batch processor: {'SDK defaults' if args.sdk_defaults else 'configure() defaults'}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as state:
        stack = Stack(Path(state), ports=StackPorts.free(), repo=REPO, extra_env={
            "HERITAGE_OTEL_SAMPLING_PERCENTAGE": "100",
            "HERITAGE_OTEL_SAMPLING_DECISION_WAIT": "2s",
            "HERITAGE_OTEL_SAMPLING_DECISION_WAIT_AFTER_ROOT": "1s",
            "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT": "200ms",
            "HERITAGE_OTEL_JAEGER_MAX_TRACES": "2000000",
            "HERITAGE_OTEL_COLLECTOR_LOG_LEVEL": "warn",
            # no Analyzer in this run: metrics export to a closed port fails quietly
            "HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{StackPorts.free().jaeger_metrics}",
        })
        stack.up(timeout_s=60)
        try:
            metrics_url = f"http://127.0.0.1:{stack.ports.collector_metrics}/metrics"
            for rate in rates:
                result = run_step(rate, args.seconds, args.spans_per_trace, args.protocol, stack.ports, metrics_url,
                                  sdk_defaults=args.sdk_defaults, compression=args.compression, state=Path(state))
                results.append(result)
                loss = ", ".join(f"{k}={v:g}" for k, v in result["collector_loss"].items()) or "none"
                print(f"  offered {result['offered']!s:>6}: achieved {result['achieved_spans_per_s']:8.0f}/s, "
                      f"sent {result['sent']}, in Jaeger {result['in_jaeger']}, SDK dropped {result['sdk_dropped']}, "
                      f"SDK export failed {result['sdk_export_failed']}, Collector loss: {loss}; CPU: this process "
                      f"{result['cpu_us_per_span']:.1f} us/span ({result['cpu_cores']:.2f} cores), "
                      + ", ".join(f"{k} {v:.1f} us/span" for k, v in result["stack_cpu_us_per_span"].items()),
                      flush=True)
        finally:
            stack.down(timeout_s=20)
    print_table(results)
    return 0


def print_table(results: list[Mapping[str, Any]]) -> None:
    print(f"\n{'offered/s':>9} {'achieved/s':>10} {'sent':>8} {'in Jaeger':>9} {'lost':>7} "
          f"{'SDK queue_full':>14} {'SDK exp.fail':>12} {'Collector refused/failed':>24} {'CPU us/span':>11} "
          f"{'cores':>5} {'stack us/span':>13}")
    for r in results:
        collector = sum(r["collector_loss"].values())
        print(f"{r['offered']!s:>9} {r['achieved_spans_per_s']:>10.0f} {r['sent']:>8} {r['in_jaeger']:>9} "
              f"{r['lost']:>7} {r['sdk_dropped']:>14} {r['sdk_export_failed']:>12} {collector:>24g} "
              f"{r['cpu_us_per_span']:>11.1f} {r['cpu_cores']:>5.2f} {sum(r['stack_cpu_us_per_span'].values()):>13.1f}")
    by_rate = sorted(results, key=lambda r: r["achieved_spans_per_s"])
    lossy = [r for r in by_rate if r["lost"] > 0]
    first_loss = lossy[0]["achieved_spans_per_s"] if lossy else float("inf")
    lossless = [r for r in by_rate if r["achieved_spans_per_s"] < first_loss]
    if lossless:
        best = lossless[-1]
        print(f"\nzero loss at every rate up to {best['achieved_spans_per_s']:.0f} spans/s (offered {best['offered']})")
    if any(r["lost"] == 0 and r["achieved_spans_per_s"] > first_loss for r in by_rate):
        print("(a higher rate lost nothing: loss depends on the CPU left to the SDK's export thread; rerun on a quiet machine)")
    if lossy:
        first = lossy[0]
        where = []
        if first["sdk_dropped"]:
            where.append(f"SDK BatchSpanProcessor queue_full ({first['sdk_dropped']})")
        if first["sdk_export_failed"]:
            where.append(f"SDK OTLP export failures ({first['sdk_export_failed']})")
        where += [f"Collector {k} ({v:g})" for k, v in first["collector_loss"].items()]
        print(f"loss begins at {first['achieved_spans_per_s']:.0f} spans/s (offered {first['offered']}): "
              f"{first['lost']} spans missing; counted by {', '.join(where) or 'nothing (uncounted loss)'}")
    else:
        print("no loss at any offered rate")


if __name__ == "__main__":
    sys.exit(main())
