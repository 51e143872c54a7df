"""Shared pieces of the fault tests: a healthy baseline, the latency bound, the SDK's own loss counters.

The bound (generous on purpose: the point is "not blocked by the outage", not a timing benchmark):
the median call during a fault is at most ``3 x`` the healthy median ``+ 5 ms``, and no single call
takes longer than ``1 s``. Loss is read from the OpenTelemetry SDK's own metrics
(``otel.sdk.processor.span.processed`` with ``error.type``, ``otel.sdk.exporter.span.exported`` with
``error.type``), which the SDK records when ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

MEDIAN_FACTOR = 3.0
MEDIAN_SLACK_S = 0.005
MAX_CALL_S = 1.0
SDK_METRICS_ENV = "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"


def timed_calls(call: Callable[[str, int], Any], texts: Sequence[str], n: int) -> list[float]:
    """Seconds of each of ``n`` calls; any exception propagates (and fails the test)."""
    durations = []
    for i in range(n):
        start = time.perf_counter()
        result = call(texts[i % len(texts)], 5)
        durations.append(time.perf_counter() - start)
        assert isinstance(result, list)
    return durations


def healthy_baseline(rec: Any, texts: Sequence[str], instrumentor: Any, n: int = 60) -> list[float]:
    """Per-call seconds of the instrumented ``rec`` with the embedded default pipeline (nothing exported
    over the network): the healthy run every fault is compared with."""
    from heritage_otel import configure

    tel = configure(service_name="faults-healthy", span_store_size=1000)
    instrumentor.instrument()
    try:
        timed_calls(rec.recommend, texts, 10)  # warm-up
        return timed_calls(rec.recommend, texts, n)
    finally:
        instrumentor.uninstrument()
        tel.shutdown()


def assert_not_blocked(faulty: Sequence[float], healthy: Sequence[float], what: str) -> None:
    bound = MEDIAN_FACTOR * statistics.median(healthy) + MEDIAN_SLACK_S
    median = statistics.median(faulty)
    assert median <= bound, f"{what}: median call {median * 1e3:.2f} ms > bound {bound * 1e3:.2f} ms"
    assert max(faulty) <= MAX_CALL_S, f"{what}: slowest call {max(faulty):.3f} s > {MAX_CALL_S} s"


def sdk_loss(reader: InMemoryMetricReader) -> dict[tuple[str, str], float]:
    """(SDK self-metric name, error.type) -> count, for every otel.sdk.* point that carries an error."""
    out: dict[tuple[str, str], float] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if not metric.name.startswith("otel.sdk."):
                    continue
                for point in metric.data.data_points:
                    error = point.attributes.get("error.type")
                    if error and hasattr(point, "value"):
                        key = (metric.name, str(error))
                        out[key] = out.get(key, 0.0) + float(point.value)
    return out


def sdk_span_loss(reader: InMemoryMetricReader) -> float:
    """Spans the SDK counted as dropped by a processor or failed by an exporter."""
    return sum(v for (name, _err), v in sdk_loss(reader).items()
               if name in ("otel.sdk.processor.span.processed", "otel.sdk.exporter.span.exported"))
