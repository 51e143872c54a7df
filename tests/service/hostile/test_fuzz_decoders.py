"""Fuzzing the OTLP decoders (hypothesis): any bytes, any JSON, any mutation of a valid export.

Properties: :func:`decode` answers every input with a message or a
:class:`PayloadError` (400/413/415), never another exception; the wire-format
count agrees exactly with the messages protobuf itself decodes; the JSON
count is never below the containers the document holds.
"""

from __future__ import annotations

import gzip
import json

from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from heritage_otel.service.payload import JSON, PROTOBUF, PayloadError, count_json_values, count_messages, decode
from tests.service.payloads import add_histogram, add_sum, metrics_request, query_logs_request, resource

TYPES = (ExportMetricsServiceRequest, ExportLogsServiceRequest, ExportTraceServiceRequest)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_or_refuse(body: bytes, kind: str, encoding: str | None, message_type: type[Message]) -> None:
    try:
        decode(body, kind, encoding, message_type, max_bytes=1 << 20, max_items=5000)
    except PayloadError as exc:
        assert exc.status in (400, 413, 415)


def _embedded_messages(message: Message) -> int:
    """Messages embedded in ``message`` as protobuf decoded them (the count the wire walk must match)."""
    total = 0
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        children = value if field.is_repeated else [value]
        for child in children:
            total += 1 + _embedded_messages(child)
    return total


def _valid_export(points: int, attrs: int, seed: int) -> bytes:
    req, sm = metrics_request(resource(f"svc{seed}", f"replica-{seed}"))
    for i in range(points):
        attributes = {f"k{j}": (j if j % 2 else f"v{seed}") for j in range(attrs)}
        if i % 2:
            add_sum(sm, "heritage.queries", float(i), attributes=attributes)
        else:
            add_histogram(sm, "heritage.query.duration", [1.0, 2.0], [i, 1, 0], 1.5 * i, attributes=attributes,
                          exemplar_trace_id="ab" * 16)
    return req.SerializeToString()


@FUZZ
@given(body=st.binary(max_size=2048), kind=st.sampled_from([PROTOBUF, JSON]), which=st.sampled_from(TYPES),
       gzipped=st.booleans())
def test_any_bytes_are_decoded_or_refused(body: bytes, kind: str, which: type[Message], gzipped: bool) -> None:
    _decode_or_refuse(gzip.compress(body) if gzipped else body, kind, "gzip" if gzipped else None, which)


@FUZZ
@given(points=st.integers(0, 12), attrs=st.integers(0, 6), seed=st.integers(0, 1000),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       cut=st.integers(0, 10_000))
def test_mutations_of_a_valid_export_are_decoded_or_refused(points: int, attrs: int, seed: int,
                                                           flips: list[tuple[int, int]], cut: int) -> None:
    body = bytearray(_valid_export(points, attrs, seed))
    for where, byte in flips:
        if body:
            body[where % len(body)] = byte
    _decode_or_refuse(bytes(body[: max(cut, len(body) // 2)]), PROTOBUF, None, ExportMetricsServiceRequest)


@FUZZ
@given(points=st.integers(0, 20), attrs=st.integers(0, 8), seed=st.integers(0, 1000))
def test_the_wire_count_equals_the_messages_protobuf_decodes(points: int, attrs: int, seed: int) -> None:
    body = _valid_export(points, attrs, seed)
    parsed = ExportMetricsServiceRequest.FromString(body)
    assert count_messages(body, ExportMetricsServiceRequest, max_items=10**6) == _embedded_messages(parsed)
    logs = query_logs_request([{"query_id": f"q{i}", "components": ["a", "b"]} for i in range(points)]).SerializeToString()
    assert count_messages(logs, ExportLogsServiceRequest, max_items=10**6) == _embedded_messages(
        ExportLogsServiceRequest.FromString(logs))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=60,
)


def _containers(value: object) -> int:
    if isinstance(value, list):
        return 1 + sum(_containers(v) for v in value)
    if isinstance(value, dict):
        return 1 + sum(_containers(v) for v in value.values())
    return 0


@FUZZ
@given(document=st.dictionaries(st.sampled_from(["resourceMetrics", "resourceLogs", "traceId", "x", "spanId"]),
                                JSON_VALUES, max_size=4),
       which=st.sampled_from(TYPES))
def test_any_json_document_is_decoded_or_refused_and_counted_from_above(document: dict, which: type[Message]) -> None:
    body = json.dumps(document).encode()
    assert count_json_values(body, max_items=10**9) >= _containers(document)
    _decode_or_refuse(body, JSON, None, which)
