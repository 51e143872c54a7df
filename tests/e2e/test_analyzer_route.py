"""End to end, metrics and logs: application -> the real Collector -> the Analyzer service.

The agent config sends metrics (the application's and the span_metrics connector's) and logs (query
records) to the Analyzer endpoint; query text in log records is hashed on the way."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from heritage_otel import configure
from heritage_otel.stack.health import wait_healthy
from heritage_otel.stack.ports import free_ports
from heritage_otel.stack.process import log_path, start_process, stop_process, tail
from tests.e2e.workload import collector_digest, query_text, run_recommender

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

CLI = Path(sys.executable).with_name("heritage-otel")


def _wait_for(predicate, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def test_metrics_and_query_logs_reach_the_analyzer_through_the_collector(start_stack, tmp_path: Path) -> None:
    if not CLI.is_file():
        pytest.fail(f"{CLI} not found: the heritage-otel console script of this environment is needed")
    [port] = free_ports(1)
    analyzer = f"http://127.0.0.1:{port}"
    start_process("analyzer", [str(CLI), "analyzer", "serve", "--port", str(port), "--interval-seconds", "2"],
                  tmp_path)
    try:
        assert wait_healthy(f"{analyzer}/healthz", timeout_s=30), tail(log_path("analyzer", tmp_path))
        stack = start_stack(HERITAGE_OTEL_ANALYZER_ENDPOINT=analyzer, HERITAGE_OTEL_SPANMETRICS_FLUSH_INTERVAL="1s",
                            HERITAGE_OTEL_COLLECTOR_DEBUG_VERBOSITY="detailed",
                            HERITAGE_OTEL_COLLECTOR_DEBUG_EXPORTER="debug")
        service = f"e2e-analyzer-{uuid.uuid4().hex[:8]}"
        marker = f"rawq{uuid.uuid4().hex[:6]}"
        telemetry = configure(service_name=service, endpoint=stack.ports.otlp_http_endpoint,
                              protocol="http/protobuf", metric_export_interval_millis=1000, span_store_size=1000)
        try:
            run_recommender(telemetry, marker=marker, normal=30, fallback=5)
            telemetry.force_flush(timeout_millis=10_000)
        finally:
            telemetry.shutdown()

        def metric_names() -> set[str]:
            return {m["metric"] for m in requests.get(f"{analyzer}/api/metrics", timeout=5).json()["metrics"]}

        wanted = {"heritage.query.duration", "heritage.fallbacks", "traces.span.metrics.calls",
                  "traces.span.metrics.duration"}
        assert _wait_for(lambda: wanted <= metric_names()), f"{sorted(metric_names())}"

        def queries() -> list[dict]:
            return [q for q in requests.get(f"{analyzer}/api/queries", params={"limit": 1000}, timeout=5).json()["queries"]
                    if q.get("service") == service]

        assert _wait_for(lambda: len(queries()) == 35), f"{len(queries())} query records"
        assert {q["results"] for q in queries()} == {5}
        body = requests.get(f"{analyzer}/api/queries", params={"limit": 1000}, timeout=5).text
        assert marker not in body
        # The debug exporter prints every log record the Collector forwards: hashed query text, never raw.
        collector_log = log_path("collector", stack.state_dir).read_text(encoding="utf-8")
        assert collector_digest(query_text(marker, 0)) in collector_log
        assert marker not in collector_log
    finally:
        stop_process("analyzer", tmp_path)
