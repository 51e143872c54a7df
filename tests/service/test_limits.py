"""Issue #12's reproductions against a real ``analyzer serve --max-request-bytes 1048576 --token s3cret``.

Each attack gets a 4xx (or its data is refused and counted), the service
keeps answering, and its resident memory stays flat.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from tests.service.attacks import (
    AUTH,
    LIMIT,
    PROTOBUF_AUTH,
    Served,
    analyzer_serve,
    both_framings,
    chunked_minus_one,
    exponential_histogram_million_buckets,
    far_future_gauge,
    good_metrics,
    histograms_sharing_bounds,
    huge_query_log,
    many_attributes,
    raw_exchange,
    request_head,
)

HEADER_TIMEOUT_S = 2.0
REQUEST_TIMEOUT_S = 3.0
WRITE_TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with analyzer_serve("--header-timeout-s", str(HEADER_TIMEOUT_S), "--request-timeout-s",
                        str(REQUEST_TIMEOUT_S), "--write-timeout-s", str(WRITE_TIMEOUT_S)) as srv:
        yield srv


def _post_from(srv: Served, source: str, body: bytes) -> int:
    """POST ``body`` to /v1/metrics from another loopback address (``127.0.0.2``: another client)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", "/v1/metrics", body=body, headers=PROTOBUF_AUTH)
        return conn.getresponse().status
    finally:
        conn.close()


def _post(srv: Served, body: bytes, path: str = "/v1/metrics", **headers: str) -> requests.Response:
    return requests.post(srv.url + path, data=body, headers={**PROTOBUF_AUTH, **headers}, timeout=60)


def _partial(resp: requests.Response) -> ExportMetricsServiceResponse:
    assert resp.status_code == 200, resp.content[:200]
    out = ExportMetricsServiceResponse()
    out.ParseFromString(resp.content)
    return out


def _refused_whole(resp: requests.Response, why: str) -> None:
    """A request whose every point broke a per-point limit is a 400 whose Status says which."""
    from google.rpc import status_pb2

    assert resp.status_code == 400, resp.content[:200]
    status = status_pb2.Status()
    status.ParseFromString(resp.content)
    assert why in status.message, status.message


def _dropped(srv: Served) -> dict[str, int]:
    """The drop counters, read from an operator's own address (127.0.0.3: not sharing an attacker's quota)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30, source_address=("127.0.0.3", 0))
    try:
        conn.request("GET", "/api/stats", headers=AUTH)
        return json.loads(conn.getresponse().read())["limits"]["dropped"]
    finally:
        conn.close()


def test_chunk_size_minus_one_is_400_on_every_path_and_memory_stays_flat(served):
    """A chunk size of -1 (then megabytes of filler) is a 400, with or without token, on any path; RSS is flat."""
    before = served.rss_mb()
    for path in ("/v1/metrics", "/v1/logs", "/v1/nowhere") * 3:
        reply = raw_exchange(served.port, chunked_minus_one(path))
        assert reply.startswith(b"HTTP/1.1 400"), reply[:80]
    assert served.alive()
    assert served.rss_mb() - before < 50
    assert _dropped(served)["malformed_http"] >= 9


def test_exponential_histogram_with_a_million_buckets_is_refused_and_counted(served):
    """Scale 20 with 1M positive buckets (~1 MB): a 400, counted, and nothing is reserved."""
    body = exponential_histogram_million_buckets()
    assert len(body) <= LIMIT
    before = served.rss_mb()
    _refused_whole(_post(served, body), "buckets")
    stats = served.stats()
    assert stats["limits"]["dropped"]["histogram_buckets"] >= 1
    assert stats["analyzer"].get("bytes", 0) < 64 * 2**20
    assert served.rss_mb() - before < 64


def test_histograms_sharing_ten_thousand_bounds_are_refused(served):
    """65 series with 10,000 explicit bounds each (sent 5 per request): every request is a 400, every point counted."""
    before = _dropped(served)["histogram_buckets"]
    for _ in range(13):
        _refused_whole(_post(served, histograms_sharing_bounds(5, 10_000)), "buckets")
    assert _dropped(served)["histogram_buckets"] - before == 65


def test_a_refused_point_next_to_good_ones_is_a_partial_success(served):
    """One point over a limit among good ones: 200, the good ones kept, the bad one in partial_success."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    request = ExportMetricsServiceRequest()
    request.ParseFromString(good_metrics("replica-mixed").SerializeToString() + far_future_gauge("replica-mixed"))
    result = _partial(_post(served, request.SerializeToString()))
    assert result.partial_success.rejected_data_points == 1
    assert "time_unix_nano" in result.partial_success.error_message


def test_distinct_bucket_layouts_are_capped():
    """Past --max-bucket-layouts distinct bound sets, points with a new layout are refused and counted."""
    with analyzer_serve("--max-bucket-layouts", "3") as srv:
        rejected = [_partial(_post(srv, histograms_sharing_bounds(1, n, instance=f"r{n}"))).partial_success
                    .rejected_data_points for n in (2, 3, 4, 5, 6)]
        assert rejected == [0, 0, 0, 1, 1]
        stats = srv.stats()
        assert (stats["limits"]["dropped"]["bucket_layouts"], stats["limits"]["bucket_layouts"]) == (2, 3)
        assert stats["limits"]["settings"]["max_bucket_layouts"] == 3


def test_a_point_with_sixty_thousand_attributes_is_refused_and_series_stay_small(served):
    """A point over max_attributes_per_point is refused; /api/series?limit=1 stays a small answer."""
    _refused_whole(_post(served, many_attributes(60_000)), "attributes")
    assert _dropped(served)["attributes_per_point"] >= 1
    listed = requests.get(served.url + "/api/series", params={"limit": 1}, headers=AUTH, timeout=30)
    assert listed.status_code == 200 and len(listed.content) < 4096


def test_long_attribute_values_are_cut_and_the_query_store_is_bounded_in_bytes(served):
    """Query logs with 600 kB values: values are cut, the store and /api/queries stay small and fast."""
    for _ in range(10):
        assert _post(served, huge_query_log(600_000), path="/v1/logs").status_code == 200
    started = time.monotonic()
    reply = requests.get(served.url + "/api/queries", params={"limit": 50}, headers=AUTH, timeout=30)
    elapsed = time.monotonic() - started
    assert reply.status_code == 200
    assert len(reply.content) < 512 * 1024, len(reply.content)
    assert elapsed < 10
    stats = served.stats()
    assert stats["limits"]["dropped"]["attribute_values_truncated"] >= 10
    assert stats["queries_stored_bytes"] <= stats["limits"]["settings"]["query_store_bytes"]


def test_a_point_stamped_at_the_end_of_time_cannot_poison_fleet_aggregates(served):
    """time_unix_nano = 2**64 - 1 is a 400 (counted); later samples of that service are not all 'late'
    (before the fix every one was; one may be late on a loaded machine, as for any service)."""
    before = served.stats()
    _refused_whole(_post(served, far_future_gauge("replica-p", service="poison-check")), "time_unix_nano")
    for round_ in range(3):
        for instance in ("replica-p", "replica-q"):
            body = good_metrics(instance, round_ + 1, service="poison-check").SerializeToString()
            assert _post(served, body).status_code == 200
        time.sleep(0.5)
    stats = served.stats()
    assert stats["limits"]["dropped"]["timestamps"] > before["limits"]["dropped"]["timestamps"]
    assert stats["fleet_late_samples"] - before["fleet_late_samples"] < 6


def test_idle_connections_are_closed_after_the_header_timeout_and_threads_stay_bounded(served):
    """100 idle connections add no thread each and are closed by the server after header_timeout_s."""
    threads_before = served.process.num_threads()
    socks = [socket.create_connection(("127.0.0.1", served.port), timeout=10) for _ in range(100)]
    try:
        assert served.process.num_threads() <= threads_before + 5
        assert served.alive()
        time.sleep(HEADER_TIMEOUT_S + 1.0)
        closed = 0
        for sock in socks:
            sock.settimeout(5)
            try:
                closed += sock.recv(1) == b""
            except OSError:
                closed += 1
        assert closed == 100
    finally:
        for sock in socks:
            sock.close()
    assert _dropped(served)["header_timeouts"] >= 100


def test_headers_sent_one_byte_at_a_time_are_cut_off(served):
    """A request line trickled byte by byte is closed once header_timeout_s has passed."""
    head = request_head("GET", "/api/health", AUTH)
    started = time.monotonic()
    raw_exchange(served.port, head[:1], trickle=[bytes([b]) for b in head[1:40]], trickle_every_s=0.2, read_s=15)
    assert time.monotonic() - started < HEADER_TIMEOUT_S + 4  # the whole trickle would take 7.8 s


def test_a_slow_body_gets_a_retryable_503_at_the_request_deadline(served):
    """A body at one byte per second is answered 503 with Retry-After (OTLP clients retry it; they drop on 408)."""
    head = request_head("POST", "/v1/metrics", {**PROTOBUF_AUTH, "Content-Length": "100"})
    started = time.monotonic()
    reply = raw_exchange(served.port, head, trickle=[b"x"] * 6, trickle_every_s=1.0, read_s=15)
    assert reply.startswith(b"HTTP/1.1 503"), reply[:80]
    assert b"retry-after: 5" in reply.lower()
    assert time.monotonic() - started < REQUEST_TIMEOUT_S + 8
    assert _dropped(served)["request_timeouts"] >= 1


def test_clients_that_pipeline_and_never_read_starve_neither_health_checks_nor_other_clients(served):
    """64 connections pipeline 300 GETs of the dashboard script each and never read: /healthz and /api/health
    answer, another client address exports, and the write deadline closes the non-readers."""
    before = _dropped(served)
    pipelined = request_head("GET", "/dashboard.js", {}) * 300
    socks = []
    try:
        for _ in range(64):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", served.port))
            sock.sendall(pipelined)
            socks.append(sock)
        time.sleep(1.0)
        for _ in range(10):
            assert requests.get(served.url + "/healthz", timeout=5).status_code == 200
            assert requests.get(served.url + "/api/health", headers=AUTH, timeout=5).status_code == 200
        assert _post_from(served, "127.0.0.2", good_metrics("other-client").SerializeToString()) == 200
        deadline = time.monotonic() + WRITE_TIMEOUT_S + 15
        while _dropped(served)["write_timeouts"] - before["write_timeouts"] < 32:
            assert time.monotonic() < deadline, _dropped(served)
            time.sleep(0.5)
    finally:
        for sock in socks:
            sock.close()
    after = _dropped(served)
    assert after["client_busy_refused"] > before["client_busy_refused"]  # one address got its share, no more
    assert _post(served, good_metrics("after-pipeliners").SerializeToString()).status_code == 200


def test_three_hundred_idle_connections_leave_room_for_health_checks(served):
    """More idle connections than max_connections_per_client: the longest idle is closed for each newcomer."""
    before = _dropped(served)["idle_evicted"]
    socks = []
    try:
        for _ in range(300):
            socks.append(socket.create_connection(("127.0.0.1", served.port), timeout=10))
        assert all(requests.get(served.url + "/healthz", timeout=5).status_code == 200 for _ in range(50))
    finally:
        for sock in socks:
            sock.close()
    assert _dropped(served)["idle_evicted"] - before >= 300 - 128


def test_ten_thousand_headers_in_one_write_are_refused(served):
    """A head of 10,000 headers (~150 KB) sent at once does not pass the 16 KiB max_header_bytes."""
    before = _dropped(served)
    head = request_head("GET", "/api/health", {**AUTH, **{f"X-Flood-{i}": "v" * 4 for i in range(10_000)}})
    assert len(head) > 100_000
    reply = raw_exchange(served.port, head)
    assert reply[:12] in (b"HTTP/1.1 431", b"HTTP/1.1 400"), reply[:80]  # 400: h11 saw it incomplete first
    after = _dropped(served)
    assert (after["headers_too_large"] + after["malformed_http"]
            > before["headers_too_large"] + before["malformed_http"])


def test_the_otlp_grpc_exporter_fails_fast_with_the_reason(served):
    """The real gRPC exporter's call ends within seconds with an error carrying our message (no 30 s hang)."""
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc

    started = time.monotonic()
    with grpc.insecure_channel(f"127.0.0.1:{served.port}") as channel:
        stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        with pytest.raises(grpc.RpcError) as failed:
            stub.Export(good_metrics("grpc-client"), timeout=20)
    assert time.monotonic() - started < 10
    assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED  # not retried by OTLP exporters
    assert "this port speaks OTLP/HTTP" in failed.value.details(), failed.value.details()
    assert _dropped(served)["grpc_refused"] >= 1


def test_content_length_with_transfer_encoding_is_refused(served):
    """Both framings at once (request smuggling) is a 400 and the connection is closed."""
    reply = raw_exchange(served.port, both_framings())
    assert reply.startswith(b"HTTP/1.1 400"), reply[:80]
    assert b"connection: close" in reply.lower()
    assert _dropped(served)["framing_refused"] >= 1


def test_every_member_of_a_multi_member_gzip_body_is_used(served):
    """Two gzip members (two protobuf messages, which concatenate into one request): both replicas' points land."""
    body = gzip.compress(good_metrics("replica-m1", 3).SerializeToString()) + gzip.compress(
        good_metrics("replica-m2", 4).SerializeToString())
    assert _post(served, body, **{"Content-Encoding": "gzip"}).status_code == 200
    series = requests.get(served.url + "/api/series", params={"metric": "heritage.queries", "limit": 1000},
                          headers=AUTH, timeout=30).json()["series"]
    assert {"replica-m1", "replica-m2"} <= {s["instance"] for s in series}


def test_a_body_over_the_limit_after_decompression_is_413(served):
    """A gzip bomb is refused once it inflates past the limit, and counted."""
    bomb = gzip.compress(b"\0" * (LIMIT * 8))
    assert _post(served, bomb, **{"Content-Encoding": "gzip"}).status_code == 413
    assert _dropped(served)["decompressed_too_large"] >= 1


def test_host_header_must_name_this_service(served):
    """DNS rebinding: a Host that is not the bind address or localhost is a 400; localhost:port is fine."""
    evil = requests.get(served.url + "/api/health", headers={**AUTH, "Host": "evil.example"}, timeout=10)
    assert evil.status_code == 400
    local = requests.get(served.url + "/api/health", headers={**AUTH, "Host": f"localhost:{served.port}"}, timeout=10)
    assert local.status_code == 200
    assert _dropped(served)["hosts_refused"] >= 1


def test_stats_show_every_limit_and_every_drop_counter(served):
    """/api/stats names each limit setting with its value and each drop counter."""
    from heritage_otel.service.config import LIMIT_FIELDS
    from heritage_otel.service.limits import DROP_COUNTERS

    limits = served.stats()["limits"]
    assert set(limits["settings"]) == {f.name for f in LIMIT_FIELDS}
    assert limits["settings"]["max_request_bytes"] == LIMIT
    assert set(DROP_COUNTERS) <= set(limits["dropped"])


def test_the_runbook_names_every_limit_and_every_counter():
    """docs/OPERATIONAL_RUNBOOK.md section 7.4 lists each limit flag and each drop counter (docs stay true)."""
    from pathlib import Path

    from heritage_otel.service.config import LIMIT_FIELDS
    from heritage_otel.service.limits import DROP_COUNTERS

    runbook = (Path(__file__).parents[2] / "docs" / "OPERATIONAL_RUNBOOK.md").read_text(encoding="utf-8")
    section = runbook[runbook.index("### 7.4 Analyzer limits"):]
    assert all(f"| `--{f.name.replace('_', '-')}` | {f.default} |" in section for f in LIMIT_FIELDS)
    assert all(f"`{name}`" in section for name in DROP_COUNTERS)


def test_bodies_held_by_all_requests_together_are_capped():
    """With max_buffered_bytes = 1 MiB, a second large upload while one is held gets 503 (counted)."""
    with analyzer_serve("--max-buffered-bytes", str(LIMIT)) as srv:
        held = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        try:
            held.sendall(request_head("POST", "/v1/metrics", {**PROTOBUF_AUTH, "Content-Length": str(LIMIT)})
                         + b"\0" * (700 * 1024))
            deadline = time.monotonic() + 20
            while srv.stats()["limits"]["buffered_bytes"] < 700 * 1024:  # the first body is being held
                assert time.monotonic() < deadline, "the held body was not buffered"
                time.sleep(0.1)
            assert _post(srv, b"\0" * (700 * 1024)).status_code == 503
        finally:
            held.close()
        assert _dropped(srv)["buffered_bytes_refused"] >= 1
        assert _post(srv, good_metrics("after").SerializeToString()).status_code == 200


def test_max_buffered_bytes_below_max_request_bytes_is_refused_at_start_up():
    from heritage_otel.service import ServiceConfig

    with pytest.raises(ValueError, match="max_buffered_bytes = 2048 is not valid; expected >= max_request_bytes"):
        ServiceConfig(max_buffered_bytes=2048, max_request_bytes=4096)
