"""Property-based tests of the Analyzer service's OTLP/HTTP receiver, on the real server on a free port:
random bytes and random valid-ish protobuf get a clear 2xx/4xx, the server keeps serving, and valid
query-log records sent in between are all stored (nothing lost or corrupted)."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from heritage_otel.service import AnalyzerServer
from tests.service.payloads import (
    JSON,
    PROTOBUF,
    add_histogram,
    add_sum,
    metrics_request,
    query_logs_request,
    resource,
    running_server,
)

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CLEAR = {200, 400, 413, 415}


@pytest.fixture(scope="module")
def server() -> Iterator[AnalyzerServer]:
    with running_server() as srv:
        yield srv


def _post(server: AnalyzerServer, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(server.url + path, data=body, headers=headers, timeout=30)


def _clear_reply(response: requests.Response) -> None:
    assert response.status_code in CLEAR, (response.status_code, response.text[:200])
    if response.status_code != 200:
        assert response.content, "an error reply carries a google.rpc.Status body"
        if response.headers.get("Content-Type", "").startswith("application/json"):
            assert json.loads(response.content).get("message")


def _send_query_log(server: AnalyzerServer, sent: list[str]) -> None:
    query_id = f"prop-{uuid.uuid4().hex[:12]}"
    body = query_logs_request([{"query_id": query_id}]).SerializeToString()
    assert _post(server, "/v1/logs", body, PROTOBUF).status_code == 200
    sent.append(query_id)


def _stored_ids(server: AnalyzerServer) -> set[str]:
    reply = requests.get(server.url + "/api/queries", params={"limit": 1000}, timeout=10).json()
    return {q["query_id"] for q in reply["queries"]}


SENT: list[str] = []


@SETTINGS
@given(body=st.binary(max_size=2048), path=st.sampled_from(["/v1/metrics", "/v1/logs"]),
       content_type=st.sampled_from([PROTOBUF, JSON, {"Content-Type": "text/plain"}, {}]),
       gzip_header=st.booleans())
def test_random_bytes_get_a_clear_reply_and_the_server_keeps_serving(server, body, path, content_type,
                                                                      gzip_header) -> None:
    headers = dict(content_type)
    if gzip_header:
        headers["Content-Encoding"] = "gzip"
    _clear_reply(_post(server, path, body, headers))
    _send_query_log(server, SENT)


finite = st.floats(allow_nan=True, allow_infinity=True, width=64)
names = st.one_of(st.sampled_from(["heritage.query.duration", "heritage.queries", "heritage.errors"]),
                  st.text(max_size=40))
attrs = st.dictionaries(st.text(max_size=12), st.one_of(st.text(max_size=20), st.integers(-2**63, 2**63 - 1),
                                                         st.booleans(), finite), max_size=4)


@st.composite
def metrics_payloads(draw) -> ExportMetricsServiceRequest:
    res = draw(st.one_of(st.just(resource()), attrs))
    req, sm = metrics_request(res)
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            add_sum(sm, draw(names), draw(finite), attributes=draw(attrs),
                    temporality=draw(st.sampled_from([0, 1, 2, 7])), monotonic=draw(st.booleans()),
                    start_ns=draw(st.integers(0, 2**63 - 1)), time_ns=draw(st.integers(0, 2**63 - 1)))
        else:
            bounds = draw(st.lists(finite, max_size=5))
            counts = draw(st.lists(st.integers(0, 2**40), max_size=7))
            add_histogram(sm, draw(names), bounds, counts, draw(finite), attributes=draw(attrs),
                          temporality=draw(st.sampled_from([0, 1, 2])))
    return req


@SETTINGS
@given(payload=metrics_payloads(), as_json=st.booleans())
def test_random_valid_ish_metric_payloads_get_a_clear_reply_and_nothing_is_lost(server, payload, as_json) -> None:
    if as_json:
        from google.protobuf.json_format import MessageToJson

        body, headers = MessageToJson(payload).encode(), JSON
    else:
        body, headers = payload.SerializeToString(), PROTOBUF
    response = _post(server, "/v1/metrics", body, headers)
    _clear_reply(response)
    _send_query_log(server, SENT)


@st.composite
def log_payloads(draw) -> ExportLogsServiceRequest:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    sl = rl.scope_logs.add()
    for _ in range(draw(st.integers(0, 3))):
        log = sl.log_records.add()
        log.event_name = draw(st.sampled_from(["heritage.query", "", "other"]))
        log.time_unix_nano = draw(st.integers(0, 2**63 - 1))
        log.trace_id = draw(st.binary(max_size=20))
        log.body.string_value = draw(st.text(max_size=20))
        for key, value in draw(attrs).items():
            kv = log.attributes.add()
            kv.key = key
            kv.value.string_value = str(value)
    return req


@SETTINGS
@given(payload=log_payloads())
def test_random_valid_ish_log_payloads_get_a_clear_reply(server, payload) -> None:
    _clear_reply(_post(server, "/v1/logs", payload.SerializeToString(), PROTOBUF))
    _send_query_log(server, SENT)


def test_every_valid_query_log_sent_between_bad_requests_was_stored(server) -> None:
    """Not one valid record sent between bad requests is lost: this test's own 120 (random bodies from a
    seeded generator in between), and those the property tests above sent when they ran first."""
    rng = random.Random(14)
    for _ in range(120):
        path = rng.choice(["/v1/metrics", "/v1/logs"])
        headers = rng.choice([PROTOBUF, JSON, {"Content-Type": "text/plain"}])
        _clear_reply(_post(server, path, rng.randbytes(rng.randrange(2048)), dict(headers)))
        _send_query_log(server, SENT)
    assert len(SENT) >= 120
    stored = _stored_ids(server)
    missing = [q for q in SENT if q not in stored]
    assert missing == [], f"{len(missing)} of {len(SENT)} valid query records lost"
    stats = requests.get(server.url + "/api/stats", timeout=10).json()
    assert stats["query_records"] >= len(SENT)
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


@pytest.fixture(scope="module")
def limited_server() -> Iterator[AnalyzerServer]:
    with running_server(max_attributes_per_point=6, max_histogram_buckets=8, max_future_s=300.0,
                        max_age_s=86_400.0, max_bucket_layouts=10_000) as srv:
        yield srv


#: Offsets from now (seconds), kept 60 s away from the window's edges so the test does not race the clock.
_offsets = st.one_of(st.floats(-86_340, 240), st.floats(360, 10**9), st.floats(-10**9, -86_460))


@SETTINGS
@given(n_attrs=st.integers(0, 12), bounds=st.integers(0, 12), offset_s=_offsets)
def test_a_point_is_kept_exactly_when_it_is_within_every_per_point_limit(limited_server, n_attrs, bounds,
                                                                         offset_s) -> None:
    """One histogram point: 200 and kept when its attributes, buckets and time are within the limits;
    otherwise a 400 that names the limit, and the drop is counted."""
    req, sm = metrics_request(resource("recommender", "prop-limits"))
    layout = tuple(float(i) for i in range(bounds))
    attributes = {f"a{i}": str(i) for i in range(n_attrs)}
    add_histogram(sm, "heritage.query.duration", layout, (1,) * (bounds + 1), 1.0, attributes=attributes)
    point = sm.metrics[0].histogram.data_points[0]
    point.time_unix_nano = int(time.time_ns() + offset_s * 1e9)
    point.start_time_unix_nano = point.time_unix_nano - 10**9
    before = requests.get(limited_server.url + "/api/stats", timeout=10).json()["limits"]["dropped"]
    response = _post(limited_server, "/v1/metrics", req.SerializeToString(), PROTOBUF)
    after = requests.get(limited_server.url + "/api/stats", timeout=10).json()["limits"]["dropped"]
    within = n_attrs <= 6 and bounds + 1 <= 8 and -86_400 <= offset_s <= 300
    if within:
        assert response.status_code == 200, response.content[:200]
        assert b"rejected" not in response.content.lower()
        return
    assert response.status_code == 400
    grew = {k for k in after if after[k] > before.get(k, 0)}
    assert grew & {"attributes_per_point", "histogram_buckets", "timestamps"}, grew
