"""End to end: Jaeger goes down mid-run; the Collector's persistent sending queue (file_storage)
holds the traces, even across a restart of the Collector itself, and delivers every one of them when
Jaeger is back."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from heritage_otel import configure
from heritage_otel.traces import JaegerClient
from tests.e2e.conftest import stack_logs
from tests.e2e.workload import run_recommender, sent_traces, wait_for_traces

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

QUEUE_METRIC = "otelcol_exporter_queue_size"


def _queued_in_collector(metrics_url: str) -> float:
    """The Jaeger exporter's sending-queue size, from the Collector's own Prometheus metrics."""
    total = 0.0
    for line in requests.get(metrics_url, timeout=5).text.splitlines():
        if line.startswith(QUEUE_METRIC) and 'exporter="otlp_grpc/jaeger"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_every_trace_exported_during_a_jaeger_outage_arrives_after_restart(start_stack) -> None:
    # Badger keeps what Jaeger stored before the outage across its restart; 100% sampling: every trace counts.
    stack = start_stack(jaeger_storage="badger", HERITAGE_OTEL_SAMPLING_PERCENTAGE="100")
    service = f"e2e-outage-{uuid.uuid4().hex[:8]}"
    client = JaegerClient(stack.ports.jaeger_url)
    metrics_url = f"http://127.0.0.1:{stack.ports.collector_metrics}/metrics"
    telemetry = configure(service_name=service, endpoint=stack.ports.otlp_http_endpoint,
                          protocol="http/protobuf", span_store_size=100_000)
    try:
        index = run_recommender(telemetry, marker="outage", normal=20, fallback=5)
        before = set(sent_traces(telemetry))
        assert len(before) == 25
        assert before <= set(wait_for_traces(client, service, before, timeout_s=60)), stack_logs(stack)

        assert stack.stop("jaeger")
        run_recommender(telemetry, marker="outage", normal=30, fallback=10, start_index=index)
        during = set(sent_traces(telemetry)) - before
        assert len(during) == 40

        # Wait until the tail sampler decided and the exporter is holding the traces in its queue.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _queued_in_collector(metrics_url) == 0:
            time.sleep(0.5)
        assert _queued_in_collector(metrics_url) > 0, f"nothing queued while Jaeger is down\n{stack_logs(stack)}"
        time.sleep(3)  # a few failed retries while Jaeger stays down
        assert _queued_in_collector(metrics_url) > 0
    finally:
        telemetry.shutdown()

    # The queue is on disk: restarting the Collector while Jaeger is still down loses nothing.
    assert stack.stop("collector")
    stack.start("collector")
    stack.start("jaeger")
    found = wait_for_traces(client, service, before | during, timeout_s=90)
    arrived = during & set(found)
    assert len(arrived) == len(during) == 40, (
        f"{len(during) - len(arrived)} of {len(during)} traces exported during the outage are missing\n"
        f"{stack_logs(stack)}"
    )
    assert before <= set(found), "traces stored before the outage were lost by Jaeger's Badger storage"
    assert _queued_in_collector(metrics_url) == 0
