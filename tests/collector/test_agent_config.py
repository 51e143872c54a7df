"""collector/config.yaml through the real Collector binary: the query-text digest equals the SDK's, the
Analyzer's bearer token comes from the environment, and the debug exporter is off unless asked."""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from heritage_otel import semconv
from heritage_otel.hashing import hash_query_text
from heritage_otel.stack import Stack, StackPorts
from heritage_otel.stack.process import log_path
from heritage_otel.testing import HttpReceiver
from tests.helpers import BIN_DIR, REPO_ROOT, require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SALT = "pepper-7f3a"
TOKEN = "analyzer-token-1234"


def _collector(tmp_path: Path, receiver: HttpReceiver, **env: str) -> Stack:
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    stack = Stack(tmp_path / f"state-{uuid.uuid4().hex[:6]}", ports=StackPorts.free(), repo=REPO_ROOT,
                  extra_env={"HERITAGE_OTEL_ANALYZER_ENDPOINT": receiver.url, "HERITAGE_OTEL_QUERY_HASH_SALT": SALT,
                             "HERITAGE_OTEL_ANALYZER_TOKEN": TOKEN, "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT": "100ms",
                             **env})
    stack.start("collector", timeout_s=60)
    return stack


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as hook:
        yield hook


def _send_query_log(stack: Stack, text: str) -> None:
    """A query log record carrying raw query text (an application with query capture on), over OTLP/HTTP."""
    provider = LoggerProvider(resource=Resource.create({"service.name": "hash-test"}))
    endpoint = f"{stack.ports.otlp_http_endpoint}/v1/logs"
    provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, timeout=10)))
    try:
        provider.get_logger("tests.collector").emit(
            body="query", attributes={semconv.QUERY_TEXT: text, semconv.INPUT_VALUE: text, "heritage.query.id": "q1"})
    finally:
        provider.shutdown()


def _received_log_attributes(receiver: HttpReceiver) -> tuple[dict[str, str], dict[str, str]]:
    """The attributes of the first log record the Collector forwarded to the Analyzer endpoint, and the headers."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for request in receiver.requests:
            if request.path.startswith("/v1/logs"):
                body = request.body
                if request.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(body)
                message = ExportLogsServiceRequest.FromString(body)
                record = message.resource_logs[0].scope_logs[0].log_records[0]
                return {kv.key: kv.value.string_value for kv in record.attributes}, request.headers
        time.sleep(0.2)
    raise AssertionError(f"no logs reached the Analyzer endpoint: {[r.path for r in receiver.requests]}")


def test_the_collector_hashes_query_text_as_the_sdk_does(tmp_path: Path, receiver: HttpReceiver) -> None:
    """Same text, same salt: the Collector's digest is the SDK's, under the SDK's key; the raw text is gone."""
    stack = _collector(tmp_path, receiver)
    try:
        text = f"roman coins {uuid.uuid4().hex[:6]}"
        _send_query_log(stack, text)
        attributes, headers = _received_log_attributes(receiver)
    finally:
        stack.down()
    assert attributes[semconv.QUERY_HASH] == hash_query_text(text, salt=SALT)
    assert attributes[semconv.INPUT_VALUE] == hash_query_text(text, salt=SALT)
    assert semconv.QUERY_TEXT not in attributes and text not in str(attributes)
    assert headers.get("Authorization") == f"Bearer {TOKEN}"


def test_the_debug_exporter_is_off_unless_asked(tmp_path: Path, receiver: HttpReceiver) -> None:
    stack = _collector(tmp_path, receiver)
    try:
        _send_query_log(stack, "quiet")
        _received_log_attributes(receiver)
    finally:
        stack.down()
    assert "debug" not in log_path("collector", stack.state_dir).read_text(encoding="utf-8")
    loud = _collector(tmp_path, receiver, HERITAGE_OTEL_COLLECTOR_DEBUG_EXPORTER="debug",
                      HERITAGE_OTEL_COLLECTOR_DEBUG_VERBOSITY="detailed")
    try:
        _send_query_log(loud, "loud")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "heritage.query.hash" not in log_path("collector", loud.state_dir).read_text():
            time.sleep(0.2)
    finally:
        loud.down()
    assert "heritage.query.hash" in log_path("collector", loud.state_dir).read_text(encoding="utf-8")
