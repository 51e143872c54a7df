"""What one request can make a real ``analyzer serve`` (default limits) hold and burn, per endpoint and encoding.

For each request shape, hostile and legitimate, the test measures the
process's peak resident memory above what it held before the request (Linux
``VmHWM`` after resetting it through ``/proc/<pid>/clear_refs``) and the CPU
seconds it spent, divides both by the bytes on the wire and by the bytes once
decompressed, and holds each to a ceiling (docs/fleet-mode.md, "Connection
limits and amplification ceilings", lists the measured values next to them).
``HOSTILE_REPORT=path`` writes the measured table to a JSON file.

The ceilings are generous against noise (the machine is shared) and tight
against the attacks that broke the service: 80 KB of gzip that took 4 GB, ten
million empty messages that took 152 s.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
import requests
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from heritage_otel import semconv
from heritage_otel.service.config import DEFAULT_MAX_REQUEST_BYTES
from tests.service.attacks import AUTH, Served, analyzer_serve
from tests.service.payloads import add_sum, metrics_request, query_logs_request, resource

MB = 1 << 20


@dataclass(frozen=True)
class Shape:
    """One request: where it goes, how it is encoded, what it should get, and its ceilings."""

    name: str
    path: str
    content_type: str
    gzipped: bool
    build: Callable[[], bytes]
    status: int
    #: ceilings: peak RSS growth in MB, RSS growth per decoded byte, CPU seconds per decoded MB
    max_growth_mb: float
    max_rss_per_byte: float
    max_cpu_s_per_mb: float
    #: send it once before measuring: the request's own cost, not the first-time creation of its series
    #: (new series are the resource budget's rows in docs/fleet-mode.md)
    warm: bool = False


@dataclass
class Measured:
    shape: str
    status: int
    wire_bytes: int
    decoded_bytes: int
    rss_growth_mb: float
    rss_per_wire_byte: float
    rss_per_decoded_byte: float
    cpu_s: float
    cpu_s_per_decoded_mb: float
    wall_s: float


def _legit_metrics(points: int) -> bytes:
    req, sm = metrics_request(resource("recommender", "replica-legit"))
    for i in range(points):
        add_sum(sm, semconv.METRIC_QUERIES, 1.0, attributes={"component": f"c{i % 50}", "series": str(i)})
    return req.SerializeToString()


def _as_json(message_bytes: bytes, message_type: type) -> bytes:
    message = message_type()
    message.ParseFromString(message_bytes)
    return json_format.MessageToJson(message, indent=None).encode()


def _empty_resources() -> bytes:
    return b"\x0a\x00" * 10_000_000  # 10 M empty ResourceMetrics (20 MB, under the 64 MiB body limit: refused by the element cap)


def _nested_arrays() -> bytes:
    return b'{"resourceMetrics":[],"unknown":[' + b"[]," * 6_900_000 + b"[]]}"  # 20 MB of [] under an unknown key


def _deep_nesting() -> bytes:
    return b'{"unknown":' + b"[" * 400_000 + b"]" * 400_000 + b"}"


def _long_service_names() -> bytes:
    req = ExportMetricsServiceRequest()
    for i in range(18):  # unique 1 MiB service.name values, no data point (19 MB, under the body limit)
        kv = req.resource_metrics.add().resource.attributes.add()
        kv.key, kv.value.string_value = semconv.SERVICE_NAME, f"{i:03d}" + "s" * MB
    return req.SerializeToString()


def _attribute_flood() -> bytes:
    req, sm = metrics_request(resource("recommender", "replica-flood"))
    add_sum(sm, semconv.METRIC_QUERIES, 1.0, attributes={f"k{i}": "v" for i in range(150_000)})
    return req.SerializeToString()


def _query_logs() -> bytes:
    return query_logs_request([{"query_id": f"q{i}", "results": 10, "latency_ms": 12.5,
                                "components": ["simrank", "horn_index"]} for i in range(4000)]).SerializeToString()


def _spans() -> bytes:
    req = ExportTraceServiceRequest()
    scope = req.resource_spans.add().scope_spans.add()
    for i in range(20_000):
        span = scope.spans.add()
        span.trace_id, span.span_id, span.name = i.to_bytes(16, "big"), (i + 1).to_bytes(8, "big"), "query"
    return req.SerializeToString()


PROTOBUF, JSON = "application/x-protobuf", "application/json"
SHAPES = [
    # hostile: refused before decoding (held: the body once; CPU: the count)
    Shape("10M empty ResourceMetrics", "/v1/metrics", PROTOBUF, False, _empty_resources, 413, 100, 2.5, 0.2),
    Shape("10M empty ResourceMetrics, gzip", "/v1/metrics", PROTOBUF, True, _empty_resources, 413, 100, 2.5, 0.2),
    Shape("20 MB of [] under an unknown JSON key, gzip", "/v1/metrics", JSON, True, _nested_arrays, 413, 100, 2.5,
          0.2),
    Shape("400k-deep JSON nesting, gzip", "/v1/metrics", JSON, True, _deep_nesting, 400, 50, 10.0, 0.5),
    Shape("150k attributes on one point", "/v1/metrics", PROTOBUF, False, _attribute_flood, 400, 100, 25.0, 1.0),
    # hostile but decodable: what is kept is cut
    Shape("18 x 1 MiB service.name, gzip", "/v1/metrics", PROTOBUF, True, _long_service_names, 200, 150, 2.5, 0.2),
    # legitimate, once their series exist
    Shape("8192 points, protobuf", "/v1/metrics", PROTOBUF, False, lambda: _legit_metrics(8192), 200, 100, 40.0,
          5.0, warm=True),
    Shape("8192 points, protobuf gzip", "/v1/metrics", PROTOBUF, True, lambda: _legit_metrics(8192), 200, 100, 40.0,
          5.0, warm=True),
    Shape("8192 points, JSON", "/v1/metrics", JSON, False, lambda: _as_json(_legit_metrics(8192), ExportMetricsServiceRequest), 200,
          100, 15.0, 2.0, warm=True),
    Shape("4000 query log records, protobuf", "/v1/logs", PROTOBUF, False, _query_logs, 200, 100, 20.0, 2.0),
    Shape("20k spans, protobuf (refused as partial success)", "/v1/traces", PROTOBUF, False, _spans, 200, 100, 20.0,
          1.0),
]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with analyzer_serve(max_request_bytes=None) as srv:
        yield srv


@pytest.fixture(scope="module")
def report() -> Iterator[list[Measured]]:
    rows: list[Measured] = []
    yield rows
    target = os.environ.get("HOSTILE_REPORT")
    if target:
        Path(target).write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def measure(served: Served, shape: Shape) -> Measured:
    raw = shape.build()
    body = gzip.compress(raw, compresslevel=9) if shape.gzipped else raw
    headers = {**AUTH, "Content-Type": shape.content_type, **({"Content-Encoding": "gzip"} if shape.gzipped else {})}
    pid = served.process.pid
    for _ in range(3 if shape.warm else 0):  # series state is built over the first points and evaluations
        assert requests.post(served.url + shape.path, data=body, headers=headers, timeout=300).status_code == shape.status
        time.sleep(1.5)  # the evaluator runs every second: its state of the new series is not this request's cost
    time.sleep(0.3)  # let the evaluator's periodic work settle
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak (VmHWM) restarts from the current RSS
    rss_before = _status_kb(pid, "VmRSS")
    cpu = served.process.cpu_times()
    started = time.monotonic()
    resp = requests.post(served.url + shape.path, data=body, headers=headers, timeout=300)
    wall = time.monotonic() - started
    cpu_after = served.process.cpu_times()
    growth_mb = max(0, _status_kb(pid, "VmHWM") - rss_before) / 1024
    cpu_s = (cpu_after.user + cpu_after.system) - (cpu.user + cpu.system)
    return Measured(shape.name, resp.status_code, len(body), len(raw), round(growth_mb, 1),
                    round(growth_mb * MB / len(body), 3), round(growth_mb * MB / len(raw), 3), round(cpu_s, 3),
                    round(cpu_s / (len(raw) / MB), 4), round(wall, 2))


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_a_request_costs_at_most_its_ceiling(served: Served, report: list[Measured], shape: Shape) -> None:
    measured = measure(served, shape)
    report.append(measured)
    assert measured.status == shape.status, measured
    assert measured.rss_growth_mb <= shape.max_growth_mb, measured
    assert measured.rss_per_decoded_byte <= shape.max_rss_per_byte, measured
    assert measured.cpu_s_per_decoded_mb <= shape.max_cpu_s_per_mb, measured
    assert served.alive()


def test_no_request_holds_more_than_a_few_times_the_body_limit(report: list[Measured]) -> None:
    """Whatever the shape, the peak growth of one request stays under 4 x max_request_bytes (the default, 64 MiB)."""
    assert report, "run with the parametrized cases"
    assert max(r.rss_growth_mb for r in report) <= 4 * DEFAULT_MAX_REQUEST_BYTES / MB
