"""The adversarial requests of issue #12, as raw bytes, and a real ``analyzer serve`` process to aim them at.

Shared by the limit tests (one reproduction each) and the load test (all of
them at once, next to well-formed traffic).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
import requests
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from heritage_otel import semconv
from tests.helpers import free_port
from tests.service.payloads import DELTA, add_sum, metrics_request, query_logs_request, resource

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROTOBUF_AUTH = {"Content-Type": "application/x-protobuf", **AUTH}
LIMIT = 1_048_576
CLI = [sys.executable, "-c", "from heritage_otel.cli.main import main; main()"]


@dataclass
class Served:
    """A running ``analyzer serve`` process."""

    url: str
    port: int
    process: psutil.Process

    def rss_mb(self) -> float:
        return self.process.memory_info().rss / 2**20

    def stats(self) -> dict:
        return requests.get(self.url + "/api/stats", headers=AUTH, timeout=30).json()

    def alive(self) -> bool:
        return requests.get(self.url + "/healthz", timeout=10).status_code == 200


@contextmanager
def analyzer_serve(*extra: str, max_request_bytes: int | None = LIMIT) -> Iterator[Served]:
    """``analyzer serve --max-request-bytes 1048576 --token s3cret`` (the issue's command line) on a free port.

    ``max_request_bytes=None`` keeps the default limit. The token is passed in the environment.
    """
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "HERITAGE_OTEL_ANALYZER_TOKEN"},
           "HERITAGE_OTEL_ANALYZER_TOKEN": TOKEN}
    size = [] if max_request_bytes is None else ["--max-request-bytes", str(max_request_bytes)]
    proc = subprocess.Popen(
        [*CLI, "analyzer", "serve", "--port", str(port), *size,
         "--interval-seconds", "1", "--log-level", "ERROR", *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "analyzer serve did not come up"
            time.sleep(0.1)
        yield Served(url, port, psutil.Process(proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def raw_exchange(port: int, data: bytes, *, read_s: float = 10.0, trickle: Sequence[bytes] = (),
                 trickle_every_s: float = 0.0) -> bytes:
    """Send ``data`` (then each ``trickle`` piece, spaced) on a fresh connection; what came back until close or ``read_s``."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_s) as sock:
        try:
            sock.sendall(data)
            for piece in trickle:
                time.sleep(trickle_every_s)
                sock.sendall(piece)
        except OSError:
            pass  # the server may close first: that is what we are testing
        out = b""
        deadline = time.monotonic() + read_s
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                break
        return out


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- the reproductions ---------------------------------------------------------------------------
def chunked_minus_one(path: str = "/v1/metrics", filler_bytes: int = 2 << 20) -> bytes:
    """A chunked body whose chunk size is -1, then a stream of filler (no token needed to send it)."""
    head = request_head("POST", path, {"Content-Type": "application/x-protobuf", "Transfer-Encoding": "chunked"})
    return head + b"-1\r\n" + b"A" * filler_bytes


def both_framings() -> bytes:
    """Content-Length and Transfer-Encoding at once (request smuggling)."""
    head = request_head("POST", "/v1/metrics", {**PROTOBUF_AUTH, "Content-Length": "4", "Transfer-Encoding": "chunked"})
    return head + b"0\r\n\r\n"


def exponential_histogram_million_buckets() -> bytes:
    """One exponential histogram point at scale 20 with 1M positive buckets (about 1 MB on the wire)."""
    req, sm = metrics_request(resource("recommender", "replica-x"))
    m = sm.metrics.add()
    m.name = semconv.METRIC_QUERY_DURATION
    m.exponential_histogram.aggregation_temporality = DELTA
    p = m.exponential_histogram.data_points.add()
    p.time_unix_nano = time.time_ns()
    p.start_time_unix_nano = p.time_unix_nano - 10**9
    p.scale = 20
    p.count = 1
    p.positive.bucket_counts.extend([0] * 1_000_000)
    return req.SerializeToString()


def histograms_sharing_bounds(points: int, bounds: int, instance: str = "replica-b") -> bytes:
    """``points`` histogram series that share one layout of ``bounds`` explicit bounds."""
    req, sm = metrics_request(resource("recommender", instance))
    m = sm.metrics.add()
    m.name = semconv.METRIC_QUERY_DURATION
    m.histogram.aggregation_temporality = DELTA
    layout = [float(i) for i in range(bounds)]
    now = time.time_ns()
    for i in range(points):
        p = m.histogram.data_points.add()
        p.time_unix_nano, p.start_time_unix_nano = now, now - 10**9
        p.explicit_bounds.extend(layout)
        p.bucket_counts.extend([0] * (bounds + 1))
        kv = p.attributes.add()
        kv.key, kv.value.string_value = "series", str(i)
    return req.SerializeToString()


def many_attributes(n: int) -> bytes:
    """One sum point with ``n`` attributes."""
    req, sm = metrics_request(resource("recommender", "replica-c"))
    add_sum(sm, semconv.METRIC_QUERIES, 1, attributes={f"k{i}": "v" for i in range(n)})
    return req.SerializeToString()


def huge_query_log(value_chars: int) -> bytes:
    """A query-log record whose query id and service name are ``value_chars`` long."""
    big = "q" * value_chars
    return query_logs_request([{"query_id": big}], res={semconv.SERVICE_NAME: big[: value_chars // 2]}).SerializeToString()


def far_future_gauge(instance: str = "replica-p", service: str = "recommender") -> bytes:
    """A gauge point stamped at time_unix_nano = 2**64 - 1."""
    req, sm = metrics_request(resource(service, instance))
    m = sm.metrics.add()
    m.name = "queue.depth"
    p = m.gauge.data_points.add()
    p.time_unix_nano = 2**64 - 1
    p.as_double = 1.0
    return req.SerializeToString()


def good_metrics(instance: str, value: float = 1.0, service: str = "recommender") -> ExportMetricsServiceRequest:
    """A well-formed export from one replica."""
    req, sm = metrics_request(resource(service, instance))
    add_sum(sm, semconv.METRIC_QUERIES, value)
    return req
