"""Faults on the export path: the Collector not running at start, and the Collector killed and
restarted mid-run. The recommender keeps answering within the bound of tests/faults/support.py, no
exception reaches it, and what was lost is counted by the SDK's own metrics.

Jaeger down then back (the Collector's persistent queue, nothing lost, even across a Collector
restart) is tested in tests/e2e/test_outage.py and is not repeated here.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from heritage_otel import configure, semconv
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.stack import Stack, StackPorts
from heritage_otel.stack.process import read_pid
from heritage_otel.traces import JaegerClient
from tests.faults.support import (
    SDK_METRICS_ENV,
    assert_not_blocked,
    healthy_baseline,
    sdk_loss,
    sdk_span_loss,
    timed_calls,
)
from tests.helpers import BIN_DIR, REPO_ROOT, free_port, require_binary

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_collector_not_running_at_start(protocol, instrumentor, monkeypatch) -> None:
    monkeypatch.setenv(SDK_METRICS_ENV, "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")  # each export gives up after 2 s
    rec = HeritageRecommender(seed=7, cache_size=0)
    texts = [q.text for q in rec.corpus.queries]
    healthy = healthy_baseline(rec, texts, instrumentor)

    reader = InMemoryMetricReader()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    tel = configure(service_name="faults-no-collector", endpoint=closed, protocol=protocol,
                    metric_readers=[reader], span_store_size=0)
    instrumentor.instrument()
    try:
        faulty = timed_calls(rec.recommend, texts, 400)  # 2,800 spans: more than the SDK queue holds
        assert_not_blocked(faulty, healthy, f"Collector down ({protocol})")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sdk_span_loss(reader) == 0:
            time.sleep(0.5)
        loss = sdk_loss(reader)
    finally:
        instrumentor.uninstrument()
        start = time.monotonic()
        tel.shutdown(timeout_millis=5_000)
        shutdown_s = time.monotonic() - start
    assert sdk_span_loss(reader) > 0, f"the SDK counted no lost span: {loss}"
    # counted as queue overflow (spans produced faster than failed exports free the queue) and/or as
    # export failures (each batch given up after OTEL_EXPORTER_OTLP_TIMEOUT); which one depends on load
    assert {name for name, _ in loss} <= {"otel.sdk.processor.span.processed", "otel.sdk.exporter.span.exported",
                                          "otel.sdk.processor.log.processed", "otel.sdk.exporter.log.exported",
                                          "otel.sdk.exporter.metric_data_point.exported"}, loss
    assert shutdown_s < 30, f"shutdown took {shutdown_s:.1f} s with the Collector down"


def _jaeger_span_count(client: JaegerClient, service: str) -> tuple[set[str], int]:
    traces = client.find_traces(service, limit=10_000, lookback="1h")
    return {t.trace_id for t in traces}, sum(len(t.spans) for t in traces)


def _wait_for(client: JaegerClient, service: str, expected: set[str], timeout_s: float = 60) -> set[str]:
    deadline = time.monotonic() + timeout_s
    found: set[str] = set()
    while time.monotonic() < deadline:
        found, _ = _jaeger_span_count(client, service)
        if expected <= found:
            break
        time.sleep(1)
    return found


def _roots(tel) -> set[str]:
    return {f"{s.context.trace_id:032x}" for s in tel.span_store.spans() if s.name == semconv.SPAN_RECOMMEND}


def test_collector_killed_and_restarted_mid_run(tmp_path, instrumentor, monkeypatch) -> None:
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    monkeypatch.setenv(SDK_METRICS_ENV, "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    rec = HeritageRecommender(seed=7, cache_size=0)
    texts = [q.text for q in rec.corpus.queries]
    healthy = healthy_baseline(rec, texts, instrumentor)

    stack = Stack(tmp_path / "state", ports=StackPorts.free(), repo=REPO_ROOT, extra_env={
        "HERITAGE_OTEL_SAMPLING_PERCENTAGE": "100",
        "HERITAGE_OTEL_SAMPLING_MAX_SPANS_PER_SEC": "1000000",  # every trace kept: the test counts each one
        "HERITAGE_OTEL_SAMPLING_DECISION_WAIT": "2s",
        "HERITAGE_OTEL_SAMPLING_DECISION_WAIT_AFTER_ROOT": "1s",
        "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT": "200ms",
        "HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    })
    stack.up(timeout_s=60)
    service = f"faults-restart-{uuid.uuid4().hex[:8]}"
    reader = InMemoryMetricReader()
    tel = configure(service_name=service, endpoint=stack.ports.otlp_http_endpoint, metric_readers=[reader],
                    span_store_size=100_000)
    client = JaegerClient(stack.ports.jaeger_url)
    instrumentor.instrument()
    try:
        timed_calls(rec.recommend, texts, 30)
        assert tel.force_flush(10_000)
        before = _roots(tel)
        # Kill only once they are stored: spans the Collector accepted but the tail sampler has not
        # decided yet live in its memory and die with a SIGKILL (the persistent queue sits after it).
        assert _wait_for(client, service, before) >= before

        os.kill(read_pid("collector", stack.state_dir), signal.SIGKILL)  # killed, not stopped
        time.sleep(0.5)
        during_calls = timed_calls(rec.recommend, texts, 200)
        assert_not_blocked(during_calls, healthy, "Collector killed")
        tel.force_flush(5_000)
        during = _roots(tel) - before

        stack.start("collector", timeout_s=60)
        timed_calls(rec.recommend, texts, 30)
        assert tel.force_flush(10_000)
        after = _roots(tel) - before - during
        lost_counted = sdk_span_loss(reader)
    finally:
        instrumentor.uninstrument()
        tel.shutdown(timeout_millis=5_000)
    try:
        found = _wait_for(client, service, before | after)
        spans_per_trace = 7
    finally:
        stack.down(timeout_s=20)
    assert before <= found, f"{len(before - found)} traces from before the kill are missing"
    assert after <= found, f"{len(after - found)} traces sent after the restart are missing"
    missing_during = len(during - found)
    assert missing_during > 0, "the kill lost nothing: the fault was not injected"
    # every span that never arrived was counted as dropped or failed by the SDK
    assert lost_counted >= missing_during * spans_per_trace, (lost_counted, missing_during, sdk_loss(reader))
