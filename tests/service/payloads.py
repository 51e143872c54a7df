"""Builders of OTLP requests (protobuf messages) and an HTTP client for the receiver tests."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from heritage_otel import semconv
from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.service import AnalyzerServer, ServiceConfig
from tests.helpers import free_port

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
DELTA, CUMULATIVE = 1, 2


def _set(kv: KeyValue, key: str, value: Any) -> None:
    kv.key = key
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, (list, tuple)):
        for v in value:
            kv.value.array_value.values.add().string_value = str(v)
    else:
        kv.value.string_value = str(value)


def _attrs(target: Any, attributes: Mapping[str, Any]) -> None:
    for k, v in attributes.items():
        _set(target.add(), k, v)


def resource(service: str = "recommender", instance: str | None = "replica-a") -> dict[str, str]:
    out = {semconv.SERVICE_NAME: service}
    if instance is not None:
        out[semconv.SERVICE_INSTANCE_ID] = instance
    return out


def metrics_request(res: Mapping[str, Any] | None = None) -> tuple[ExportMetricsServiceRequest, Any]:
    """A request with one resource and one scope; returns (request, scope_metrics) to add metrics to."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    _attrs(rm.resource.attributes, res if res is not None else resource())
    sm = rm.scope_metrics.add()
    sm.scope.name = "tests"
    return req, sm


def add_sum(
    sm: Any, name: str, value: float, *, attributes: Mapping[str, Any] | None = None, temporality: int = DELTA,
    start_ns: int | None = None, time_ns: int | None = None, monotonic: bool = True,
) -> None:
    m = sm.metrics.add()
    m.name = name
    m.sum.aggregation_temporality = temporality
    m.sum.is_monotonic = monotonic
    p = m.sum.data_points.add()
    now = time.time_ns()
    p.start_time_unix_nano = start_ns if start_ns is not None else now - 10**9
    p.time_unix_nano = time_ns if time_ns is not None else now
    p.as_double = float(value)
    _attrs(p.attributes, attributes or {})


def add_histogram(
    sm: Any, name: str, bounds: Sequence[float], counts: Sequence[int], total: float, *, unit: str = "s",
    attributes: Mapping[str, Any] | None = None, temporality: int = DELTA, time_ns: int | None = None,
    exemplar_trace_id: str | None = None,
) -> None:
    m = sm.metrics.add()
    m.name = name
    m.unit = unit
    m.histogram.aggregation_temporality = temporality
    p = m.histogram.data_points.add()
    now = time_ns if time_ns is not None else time.time_ns()
    p.start_time_unix_nano = now - 10**9
    p.time_unix_nano = now
    p.explicit_bounds.extend(bounds)
    p.bucket_counts.extend(counts)
    p.count = sum(counts)
    p.sum = total
    _attrs(p.attributes, attributes or {})
    if exemplar_trace_id:
        ex = p.exemplars.add()
        ex.trace_id = bytes.fromhex(exemplar_trace_id)
        ex.span_id = bytes.fromhex("00f067aa0ba902b7")
        ex.as_double = total / max(sum(counts), 1)
        ex.time_unix_nano = now


def query_logs_request(
    records: Sequence[Mapping[str, Any]], res: Mapping[str, Any] | None = None
) -> ExportLogsServiceRequest:
    """A logs request with one ``heritage.query`` record per mapping (keys: query_id, results, latency_ms,
    components, trace_id)."""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    _attrs(rl.resource.attributes, res if res is not None else resource())
    sl = rl.scope_logs.add()
    for r in records:
        log = sl.log_records.add()
        log.time_unix_nano = r.get("time_ns", time.time_ns())
        log.event_name = semconv.EVENT_QUERY
        log.body.string_value = "query"
        if r.get("trace_id"):
            log.trace_id = bytes.fromhex(r["trace_id"])
            log.span_id = bytes.fromhex("00f067aa0ba902b7")
        attrs = {semconv.QUERY_ID: r["query_id"], semconv.RESULT_COUNT: r.get("results", 10),
                 semconv.LATENCY_MS: float(r.get("latency_ms", 12.5)),
                 semconv.COMPONENTS_USED: list(r.get("components", ["simrank", "horn_index"])),
                 semconv.SUCCESS: True}
        _attrs(log.attributes, attrs)
    return req


def post(url: str, path: str, body: bytes, headers: Mapping[str, str], timeout: float = 30) -> requests.Response:
    return requests.post(url + path, data=body, headers=dict(headers), timeout=timeout)


@contextmanager
def running_server(
    service: ServiceConfig | None = None, analyzer: AnalyzerConfig | None = None, **service_fields: Any
) -> Iterator[AnalyzerServer]:
    """A real AnalyzerServer on a free loopback port, serving on a thread."""
    cfg = service or ServiceConfig(port=free_port(), evaluate_every_s=0.1, **service_fields)
    acfg = analyzer or AnalyzerConfig(interval_seconds=1.0, min_samples=5, retention_minutes=10)
    server = AnalyzerServer(cfg, analyzer_config=acfg).start()
    try:
        yield server
    finally:
        server.close()


def still_serving(server: AnalyzerServer) -> bool:
    """The server answers a fresh request (after whatever came before)."""
    return requests.get(server.url + "/healthz", timeout=5).status_code == 200
