"""The OTLP/HTTP receiver against the real server on a loopback port: encodings, limits, errors, bounds."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import time
import tracemalloc

import pytest
import requests
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from heritage_otel import semconv
from tests.service.payloads import (
    CUMULATIVE,
    JSON,
    PROTOBUF,
    add_histogram,
    add_sum,
    metrics_request,
    post,
    query_logs_request,
    resource,
    running_server,
    still_serving,
)

TRACE_ID = "5b8efff798038103d269b633813fc60c"


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


def _series(server, metric: str) -> list[dict]:
    return requests.get(server.url + "/api/series", params={"metric": metric}, timeout=5).json()["series"]


def _status(resp: requests.Response) -> status_pb2.Status:
    status = status_pb2.Status()
    status.ParseFromString(resp.content)
    return status


def test_protobuf_metrics_are_accepted_and_keyed_by_replica(server):
    """A protobuf request gets 200 with an ExportMetricsServiceResponse and no partial_success; its series carry the replica."""
    req, sm = metrics_request(resource("recommender", "replica-a"))
    add_sum(sm, semconv.METRIC_QUERIES, 42)
    resp = post(server.url, "/v1/metrics", req.SerializeToString(), PROTOBUF)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/x-protobuf"
    body = ExportMetricsServiceResponse()
    body.ParseFromString(resp.content)
    assert not body.HasField("partial_success")
    [series] = [s for s in _series(server, semconv.METRIC_QUERIES) if s["instance"] == "replica-a"]
    assert (series["service"], series["latest"]) == ("recommender", 42.0)


def test_json_metrics_with_camel_case_and_hex_exemplar_ids(server):
    """OTLP/JSON (lowerCamelCase keys, integer enums, hex ids, 64-bit ints as strings) is decoded like protobuf."""
    now = time.time_ns()
    doc = {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "recommender"}},
                                    {"key": "service.instance.id", "value": {"stringValue": "replica-j"}}]},
        "scopeMetrics": [{"metrics": [{
            "name": semconv.METRIC_QUERY_DURATION, "unit": "s",
            "histogram": {"aggregationTemporality": 1, "dataPoints": [{
                "startTimeUnixNano": str(now - 10**9), "timeUnixNano": str(now), "count": "4", "sum": 0.4,
                "bucketCounts": ["0", "4", "0"], "explicitBounds": [0.05, 0.5],
                "exemplars": [{"traceId": TRACE_ID.upper(), "spanId": "00f067aa0ba902b7", "asDouble": 0.1,
                               "timeUnixNano": str(now)}]}]}}]}]}]}
    resp = post(server.url, "/v1/metrics", json.dumps(doc).encode(), JSON)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    assert "partialSuccess" not in resp.json()
    [series] = [s for s in _series(server, semconv.METRIC_QUERY_DURATION) if s["instance"] == "replica-j"]
    assert series["latest"] == pytest.approx(0.4775, rel=1e-3)  # p95 interpolated in (0.05, 0.5]
    [latest] = [s for s in server.service.analyzer.snapshot(semconv.METRIC_QUERY_DURATION)
                if ("service.instance.id", "replica-j") in s.series.resource]
    assert latest.exemplars[0][0] == TRACE_ID


def test_json_logs_hex_trace_id_reaches_the_query_store(server):
    """A JSON query-log record's hex traceId is kept as the query's trace id."""
    doc = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "recommender"}}]},
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": str(time.time_ns()), "eventName": semconv.EVENT_QUERY, "traceId": TRACE_ID,
            "attributes": [{"key": semconv.QUERY_ID, "value": {"stringValue": "q-json"}},
                           {"key": semconv.RESULT_COUNT, "value": {"intValue": "7"}},
                           {"key": semconv.LATENCY_MS, "value": {"doubleValue": 33.0}}]}]}]}]}
    resp = post(server.url, "/v1/logs", json.dumps(doc).encode(), JSON)
    assert resp.status_code == 200, resp.text
    [q] = requests.get(server.url + "/api/queries", timeout=5).json()["queries"]
    assert (q["query_id"], q["trace_id"], q["results"], q["latency_ms"]) == ("q-json", TRACE_ID, 7, 33.0)


def test_gzip_body_is_decompressed(server):
    """Content-Encoding: gzip bodies are accepted."""
    req, sm = metrics_request(resource("recommender", "replica-gz"))
    add_sum(sm, semconv.METRIC_QUERIES, 5)
    resp = post(server.url, "/v1/metrics", gzip.compress(req.SerializeToString()),
                {**PROTOBUF, "Content-Encoding": "gzip"})
    assert resp.status_code == 200
    assert [s["latest"] for s in _series(server, semconv.METRIC_QUERIES) if s["instance"] == "replica-gz"] == [5.0]


def test_gzip_bomb_over_the_limit_is_413():
    """A small gzip body that inflates past the limit is refused with 413 before it is all inflated."""
    with running_server(max_request_bytes=1 << 20) as server:
        bomb = gzip.compress(b"\0" * (8 << 20))
        resp = post(server.url, "/v1/metrics", bomb, {**PROTOBUF, "Content-Encoding": "gzip"})
        assert resp.status_code == 413
        assert "exceeds the limit" in _status(resp).message
        assert still_serving(server)


def test_empty_request_is_a_success(server):
    """An empty body (no telemetry) gets 200, in both encodings."""
    assert post(server.url, "/v1/metrics", b"", PROTOBUF).status_code == 200
    assert post(server.url, "/v1/logs", b"", PROTOBUF).status_code == 200
    resp = post(server.url, "/v1/metrics", b"{}", JSON)
    assert (resp.status_code, resp.json()) == (200, {})


def test_truncated_protobuf_is_400_with_a_status_body(server):
    """A truncated protobuf is a 400 whose body is a google.rpc.Status with a BadRequest detail."""
    req, sm = metrics_request()
    add_histogram(sm, semconv.METRIC_QUERY_DURATION, (0.1, 1.0), (1, 2, 3), 2.0)
    data = req.SerializeToString()
    resp = post(server.url, "/v1/metrics", data[: len(data) - 7], PROTOBUF)
    assert resp.status_code == 400
    status = _status(resp)
    assert "not a valid ExportMetricsServiceRequest" in status.message
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert still_serving(server)


def test_seventy_megabyte_body_is_413_and_the_server_keeps_serving(server):
    """A 70 MiB body (over the 64 MiB default) gets 413 Content Too Large; the next request works."""
    resp = post(server.url, "/v1/metrics", b"\x0a" * (70 * 1024 * 1024), PROTOBUF, timeout=120)
    assert resp.status_code == 413
    assert still_serving(server)
    req, sm = metrics_request()
    add_sum(sm, semconv.METRIC_QUERIES, 1)
    assert post(server.url, "/v1/metrics", req.SerializeToString(), PROTOBUF).status_code == 200


def test_unknown_fields_are_ignored(server):
    """Unknown protobuf fields and unknown JSON keys do not fail the request (OTLP forward compatibility)."""
    req, sm = metrics_request(resource("recommender", "replica-u"))
    add_sum(sm, semconv.METRIC_QUERIES, 3)
    unknown_field = bytes([0xB8, 0x3E, 0x01])  # field 999, varint 1
    resp = post(server.url, "/v1/metrics", req.SerializeToString() + unknown_field, PROTOBUF)
    assert resp.status_code == 200
    doc = {"resourceMetrics": [], "someFutureField": {"x": 1}}
    assert post(server.url, "/v1/metrics", json.dumps(doc).encode(), JSON).status_code == 200
    assert [s["latest"] for s in _series(server, semconv.METRIC_QUERIES) if s["instance"] == "replica-u"] == [3.0]


def test_unsupported_content_type_and_encoding_are_415(server):
    """A Content-Type other than protobuf/JSON, or an encoding other than gzip, gets 415."""
    assert post(server.url, "/v1/metrics", b"a=1", {"Content-Type": "text/plain"}).status_code == 415
    resp = post(server.url, "/v1/metrics", b"x", {**PROTOBUF, "Content-Encoding": "br"})
    assert resp.status_code == 415
    assert still_serving(server)


def test_malformed_json_and_bad_hex_ids_are_400(server):
    """Invalid JSON, a non-object document and a non-hex traceId are 400 with a JSON Status body."""
    for body in (b"{not json", b"[1, 2]", json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [
            {"traceId": "zz-not-hex"}]}]}]}).encode()):
        resp = post(server.url, "/v1/logs", body, JSON)
        assert resp.status_code == 400, body
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.json()["message"]
    assert still_serving(server)


def test_ten_thousand_series_stay_under_the_cap():
    """10,000 distinct series against a cap of 2,000: the rest are rejected (partial success), counted, and
    sending 10,000 more new series does not grow memory."""
    cap = 2000
    with running_server(max_series=cap) as server:
        def burst(prefix: str) -> ExportMetricsServiceResponse:
            req, sm = metrics_request(resource("recommender", "replica-card"))
            for i in range(10_000):
                add_sum(sm, "heritage.card", 1, attributes={"user": f"{prefix}{i}"})
            resp = post(server.url, "/v1/metrics", req.SerializeToString(), PROTOBUF, timeout=120)
            assert resp.status_code == 200
            body = ExportMetricsServiceResponse()
            body.ParseFromString(resp.content)
            return body

        first = burst("u")
        assert first.partial_success.rejected_data_points == 10_000 - cap
        assert "series limit of 2000" in first.partial_success.error_message
        # let the fleet aggregates of the admitted series land first (their windows are memory the first burst made)
        deadline = time.monotonic() + 30
        while sum(s["instance"] is None for s in requests.get(
                server.url + "/api/series", params={"metric": "heritage.card", "limit": 100_000},
                timeout=30).json()["series"]) < cap:
            assert time.monotonic() < deadline, "fleet aggregates did not appear"
            time.sleep(0.2)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        second = burst("v")
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert second.partial_success.rejected_data_points == 10_000
        assert grown < 2 * 1024 * 1024, grown
        stats = requests.get(server.url + "/api/stats", timeout=5).json()
        assert stats["receiver_series"] == cap
        assert stats["dropped_series_points"] == 10_000 - cap + 10_000
        assert stats["analyzer"]["series"] <= 2 * cap + 10_000
        assert still_serving(server)


def test_cumulative_sums_become_deltas_per_series(server):
    """Two cumulative points 10 then 25 of one series become the interval values 10 and 15."""
    start = time.time_ns()
    for value, t in ((10, start + 10**9), (25, start + 2 * 10**9)):
        req, sm = metrics_request(resource("recommender", "replica-c"))
        add_sum(sm, semconv.METRIC_QUERIES, value, temporality=CUMULATIVE, start_ns=start, time_ns=t)
        assert post(server.url, "/v1/metrics", req.SerializeToString(), PROTOBUF).status_code == 200
    [series] = [s for s in _series(server, semconv.METRIC_QUERIES) if s["instance"] == "replica-c"]
    points = requests.get(server.url + f"/api/series/{series['id']}", timeout=5).json()
    assert points["values"] == [10.0, 15.0]


def test_summary_points_get_a_partial_success(server):
    """Summary points cannot be analysed: 200 with partial_success counting them, the rest accepted."""
    req, sm = metrics_request()
    add_sum(sm, semconv.METRIC_QUERIES, 1)
    m = sm.metrics.add()
    m.name = "legacy.summary"
    for _ in range(3):
        m.summary.data_points.add().count = 1
    resp = post(server.url, "/v1/metrics", req.SerializeToString(), PROTOBUF)
    body = ExportMetricsServiceResponse()
    body.ParseFromString(resp.content)
    assert resp.status_code == 200
    assert body.partial_success.rejected_data_points == 3
    assert "summary" in body.partial_success.error_message


def test_query_log_without_query_id_is_a_partial_success(server):
    """A heritage.query record without a query id is rejected (counted), the valid one kept."""
    req = query_logs_request([{"query_id": "q-ok"}, {"query_id": ""}])
    resp = post(server.url, "/v1/logs", req.SerializeToString(), PROTOBUF)
    body = ExportLogsServiceResponse()
    body.ParseFromString(resp.content)
    assert body.partial_success.rejected_log_records == 1
    assert [q["query_id"] for q in requests.get(server.url + "/api/queries", timeout=5).json()["queries"]] == ["q-ok"]


def test_bearer_token_protects_receiver_and_api_and_is_never_logged(caplog):
    """With a token, requests without it get 401; with it, 200; the token never appears in the log."""
    token = "s3cret-token-value"
    caplog.set_level(logging.DEBUG)
    with running_server(token=token) as server:
        req, sm = metrics_request()
        add_sum(sm, semconv.METRIC_QUERIES, 1)
        assert post(server.url, "/v1/metrics", req.SerializeToString(), PROTOBUF).status_code == 401
        wrong = {**PROTOBUF, "Authorization": "Bearer nope"}
        assert post(server.url, "/v1/metrics", req.SerializeToString(), wrong).status_code == 401
        assert requests.get(server.url + "/api/health", timeout=5).status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        assert post(server.url, "/v1/metrics", req.SerializeToString(), {**PROTOBUF, **auth}).status_code == 200
        assert requests.get(server.url + "/api/health", headers=auth, timeout=5).status_code == 200
        assert requests.get(server.url + "/", timeout=5).status_code == 200  # the page itself holds no data
        assert token not in repr(server.config)
    assert token not in caplog.text


def test_unknown_paths_and_methods_on_otlp_paths_get_a_status_body(server):
    """POST to an unknown /v1/ path is 404, GET /v1/metrics and PUT are 405: each a google.rpc.Status in the
    request's encoding (protobuf, or JSON for a JSON request)."""
    other = post(server.url, "/v1/profiles", b"", PROTOBUF)
    assert other.status_code == 404
    assert "/v1/metrics" in _status(other).message
    wrong_method = requests.get(server.url + "/v1/metrics", timeout=5)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"
    assert "POST" in _status(wrong_method).message
    put = requests.put(server.url + "/v1/metrics", data=b"", headers=JSON, timeout=5)
    assert put.status_code == 405
    assert put.json()["code"] == 12  # UNIMPLEMENTED
    assert still_serving(server)


def test_spans_sent_here_get_a_partial_success_naming_where_they_belong(server):
    """POST /v1/traces is answered per OTLP: 200 with every span rejected and a message (not a 404)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    req = ExportTraceServiceRequest()
    spans = req.resource_spans.add().scope_spans.add()
    for i in range(3):
        span = spans.spans.add()
        span.trace_id, span.span_id, span.name = bytes(16), bytes([i + 1] * 8), "q"
    resp = post(server.url, "/v1/traces", req.SerializeToString(), PROTOBUF)
    assert resp.status_code == 200
    answer = ExportTraceServiceResponse()
    answer.ParseFromString(resp.content)
    assert answer.partial_success.rejected_spans == 3
    assert "Jaeger" in answer.partial_success.error_message
    empty = post(server.url, "/v1/traces", b"{}", JSON)
    assert empty.status_code == 200
    assert empty.json() == {}


def test_an_unknown_field_named_trace_id_is_ignored(server):
    """Only the schema's id fields are hex: ``traceId`` elsewhere (unknown) is ignored, whatever it holds."""
    doc = {"resourceMetrics": [{"traceId": "not-hex!", "scopeMetrics": [{"metrics": [{"name": "x", "traceId": 7}]}]}],
           "traceId": "zz"}
    assert post(server.url, "/v1/metrics", json.dumps(doc).encode(), JSON).status_code == 200
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"spanId": "00f067aa0ba902b7", "extra": {
        "traceId": "not hex either"}}]}]}]}
    assert post(server.url, "/v1/logs", json.dumps(logs).encode(), JSON).status_code == 200


def test_a_body_with_more_messages_than_max_request_items_is_refused_before_decoding():
    """Ten million empty ResourceMetrics (20 MB) are a 413 after counting max_request_items, not a decode."""
    with running_server(max_request_items=10_000, max_request_bytes=32 << 20, max_buffered_bytes=64 << 20) as srv:
        started = time.monotonic()
        resp = post(srv.url, "/v1/metrics", b"\x0a\x00" * 10_000_000, PROTOBUF)
        assert resp.status_code == 413
        assert "max_request_items" in _status(resp).message
        nested = gzip.compress(b'{"x":[' + b"[]," * 3_000_000 + b"[]]}")
        resp = post(srv.url, "/v1/metrics", nested, {**JSON, "Content-Encoding": "gzip"})
        assert resp.status_code == 413
        assert "max_request_items" in resp.json()["message"]
        assert time.monotonic() - started < 30  # the decode of the first took minutes
        dropped = requests.get(srv.url + "/api/stats", timeout=5).json()["limits"]["dropped"]
        assert dropped["too_many_items"] == 2
        assert still_serving(srv)


def test_missing_content_length_and_short_body_do_not_stop_the_server(server):
    """A raw request with no Content-Length gets 411; one whose body ends early (client half-closes) is dropped
    without being ingested (no answer or a 400); the server keeps serving."""
    host, port = "127.0.0.1", server.port
    with socket.create_connection((host, port), timeout=40) as sock:
        sock.sendall(b"POST /v1/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n\r\n")
        assert b" 411 " in sock.recv(200)
    with socket.create_connection((host, port), timeout=40) as sock:
        sock.sendall(b"POST /v1/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                     b"Content-Length: 100\r\nConnection: close\r\n\r\nabc")
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(200)
        assert answer == b"" or b" 400 " in answer
    assert server.service.counters["metric_requests"] == 0
    assert still_serving(server)


def test_concurrent_good_and_bad_requests_are_all_answered(server):
    """Eight clients at once, mixing valid exports with garbage: every request gets its own right answer and
    every valid point is counted."""
    from concurrent.futures import ThreadPoolExecutor

    def client(i: int) -> list[int]:
        codes = []
        with requests.Session() as session:
            for j in range(25):
                if j % 5 == 4:
                    resp = session.post(server.url + "/v1/metrics", data=b"\xff\xff garbage", headers=PROTOBUF, timeout=30)
                else:
                    req, sm = metrics_request(resource("recommender", f"replica-{i}"))
                    add_sum(sm, semconv.METRIC_QUERIES, 1)
                    resp = session.post(server.url + "/v1/metrics", data=req.SerializeToString(), headers=PROTOBUF,
                                        timeout=30)
                codes.append(resp.status_code)
        return codes

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    assert all(codes == [200, 200, 200, 200, 400] * 5 for codes in results)
    stats = requests.get(server.url + "/api/stats", timeout=5).json()
    assert stats["data_points_accepted"] == 8 * 20
    assert still_serving(server)


def test_a_megabyte_service_name_is_cut_before_anything_keeps_it(server):
    """Resources with a unique 1 MiB service.name and no data point (metrics and logs): what is kept is cut to
    max_attribute_value_length, and counted."""
    limit = server.config.max_attribute_value_length
    for i in range(5):
        name = f"{i}" + "s" * (1 << 20)
        req, _ = metrics_request(resource(name, f"replica-{i}"))
        assert post(server.url, "/v1/metrics", req.SerializeToString(), PROTOBUF).status_code == 200
        logs = query_logs_request([{"query_id": f"q{i}"}], res={semconv.SERVICE_NAME: name})
        assert post(server.url, "/v1/logs", logs.SerializeToString(), PROTOBUF).status_code == 200
    stats = requests.get(server.url + "/api/stats", timeout=10).json()
    assert stats["services"] and max(len(s) for s in stats["services"]) <= limit
    assert stats["limits"]["dropped"]["attribute_values_truncated"] >= 10
