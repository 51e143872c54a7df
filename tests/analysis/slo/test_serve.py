"""Burn-rate incidents from the real ``heritage-otel analyzer serve --slo``, fed over OTLP/HTTP by a replica.

The replica is a real SDK pipeline (MeterProvider, OTLP/HTTP exporter, 0.25 s export interval) recording
the package's instruments: ``heritage.queries`` with ``heritage.success`` and ``heritage.query.duration``,
with failures placed deterministically (every query whose running failure count should grow fails), so a
burn rate is what the test sets, not a draw. Durations are scaled with ``--slo-time-scale 1/300``: the
5-minute window lasts 1 s, 1 h 12 s, 6 h 72 s, 3 d 864 s, 28 d 2.24 h.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from heritage_otel import semconv
from heritage_otel.instruments import instruments_for
from tests.analysis.sinks.test_alertmanager import active_alerts, alertmanager  # noqa: F401 - the fixture
from tests.helpers import free_port

TIME_SCALE = 1 / 300
EXPORT_S = 0.25
QPS = 200
SLOS = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: recommender
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  objectives: [{target: 0.995}]
  indicator:
    metadata: {name: answered}
    spec:
      ratioMetric:
        bad: {metricSource: {type: HeritageOtel, spec: {metric: heritage.queries, attributes: {heritage.success: false}}}}
        total: {metricSource: {type: HeritageOtel, spec: {metric: heritage.queries}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: latency}
spec:
  service: recommender
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  objectives: [{op: lte, value: 0.3, target: 0.95}]
  indicator:
    metadata: {name: duration}
    spec:
      thresholdMetric: {metricSource: {type: HeritageOtel, spec: {metric: heritage.query.duration}}}
"""


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("heritage-otel")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "heritage_otel.cli.main"]


class Serve:
    """``analyzer serve --slo`` on a free port, with its alerts file."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.alerts_file = workdir / "alerts.jsonl"
        slo_file = workdir / "slos.yaml"
        slo_file.write_text(SLOS)
        self.proc = subprocess.Popen(
            [*_cli(), "analyzer", "serve", "--port", str(self.port), "--interval-seconds", str(EXPORT_S),
             "--slo", str(slo_file), "--slo-time-scale", str(TIME_SCALE), "--alerts-file", str(self.alerts_file),
             "--log-level", "WARNING", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            try:
                if requests.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("analyzer serve did not start")

    def slo_lines(self) -> list[dict]:
        if not self.alerts_file.exists():
            return []
        lines = [json.loads(line) for line in self.alerts_file.read_text().splitlines() if line.strip()]
        return [line for line in lines if "slo" in line["labels"]]

    def slos(self) -> dict[str, dict]:
        body = requests.get(self.url + "/api/slos", timeout=5).json()
        return {row["name"]: row for row in body["slos"]}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Replica:
    """Records ``QPS`` queries a second (``failing`` of them failed, ``latency_s`` each) until stopped."""

    def __init__(self, url: str) -> None:
        resource = Resource.create({semconv.SERVICE_NAME: "recommender", semconv.SERVICE_INSTANCE_ID: "replica-a"})
        self.reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{url}/v1/metrics", timeout=5),
                                                    export_interval_millis=EXPORT_S * 1000)
        self.provider = MeterProvider(metric_readers=[self.reader], resource=resource)
        self.instruments = instruments_for(self.provider)
        self.failing = 0.0
        self.latency_s = 0.05
        self.served = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = 0.05
        while not self._stop.wait(tick):
            for _ in range(int(QPS * tick)):
                self.served += 1
                fail = self.failed < round(self.served * self.failing)  # deterministic: the running share
                self.failed += fail
                self.instruments.queries.add(1, {semconv.SUCCESS: not fail})
                self.instruments.query_duration.record(self.latency_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.provider.shutdown()


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(*extra: str) -> Serve:
        started.append(Serve(tmp_path, *extra))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def _burning(line: dict, level: str) -> list[dict]:
    """The burn-rate members of one incident notification at ``level``."""
    return [m for m in line["members"] if m["detector"] == "burn_rate" and m["level"] == level]


def _burns(line: dict, level: str) -> bool:
    return bool(_burning(line, level))


def _wait_for(predicate, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    return None


def test_error_fault_burning_the_availability_budget_fast_raises_a_page_incident(serve) -> None:
    """50 % of queries failing burns the 0.5 % budget at 100x: a page (CRITICAL) within the 1-hour window of the
    fault's start, with the burn rate over 5 min shown by /api/slos."""
    server = serve()
    replica = Replica(server.url)
    try:
        time.sleep(2.0)
        assert server.slos()["availability"]["total"] > 0
        replica.failing = 0.5
        started = time.monotonic()
        page = _wait_for(lambda: [ln for ln in server.slo_lines() if _burns(ln, "CRITICAL")], 15.0)
        delay = time.monotonic() - started
        assert page, server.slo_lines()
        first = page[0]
        assert first["labels"]["slo"] == "availability" and first["level"] == "CRITICAL"
        # the ticket (1x) holds before the pages do: the incident may have fired as a ticket and been raised
        assert first["event"] in ("fired", "updated")
        # the 6h page (6x) can hold first: with seconds of history its windows hold the same data as 1h's
        assert {m["labels"]["burn_window"] for m in _burning(first, "CRITICAL")} <= {"1h", "6h"}
        assert delay < 12.0  # within the 1-hour window (12 s here); measured ~1 s
        row = server.slos()["availability"]
        assert row["burn_rates"]["5m"] > 14.4 and row["alert"]["severity"] == "page"
        assert row["budget_remaining"] < 1.0 and row["time_to_exhaustion_s"] is not None
        assert row["incidents"] and row["incidents"][0]["level"] == "CRITICAL"
        print(f"page after {delay:.2f} s")
    finally:
        replica.close()


def test_the_page_reaches_a_real_alertmanager_with_slo_burn_window_and_severity_labels(
        serve, alertmanager) -> None:  # noqa: F811 - the fixture
    server = serve("--alertmanager-url", alertmanager)
    replica = Replica(server.url)
    try:
        time.sleep(1.0)
        replica.failing = 0.5

        def paged() -> list[dict]:
            return [a for a in active_alerts(alertmanager) if a["labels"].get("slo") == "availability"
                    and a["labels"].get("severity") == "critical" and a["status"]["state"] == "active"]

        found = _wait_for(paged, 20.0)
        assert found, active_alerts(alertmanager)
        labels = found[0]["labels"]
        assert labels["burn_window"] in ("1h", "6h", "3d") and labels["service"] == "recommender"
    finally:
        replica.close()


def test_slow_burn_raises_only_a_ticket(serve) -> None:
    """1.5 % failing burns at 3x: a ticket (WARNING, burn_window 3d), never a page, over more than the
    30-minute short window (6 s here)."""
    server = serve()
    replica = Replica(server.url)
    replica.failing = 0.015
    try:
        ticket = _wait_for(lambda: [ln for ln in server.slo_lines() if _burns(ln, "WARNING")], 15.0)
        assert ticket, server.slo_lines()
        assert ticket[0]["labels"]["burn_window"] == "3d" and ticket[0]["labels"]["slo"] == "availability"
        time.sleep(8.0)
        row = server.slos()["availability"]
        assert 2.0 < row["burn_rates"]["6h"] < 4.0, row
        assert not [ln for ln in server.slo_lines() if _burns(ln, "CRITICAL")], server.slo_lines()
    finally:
        replica.close()


def test_fault_free_run_raises_nothing(serve) -> None:
    """No failures and every query under 300 ms: budgets untouched, no SLO notification."""
    server = serve()
    replica = Replica(server.url)
    try:
        time.sleep(8.0)
        rows = server.slos()
        assert rows["availability"]["total"] > 500 and rows["latency"]["total"] > 500
        assert rows["availability"]["budget_remaining"] == 1.0 and rows["latency"]["budget_remaining"] == 1.0
        assert server.slo_lines() == []
    finally:
        replica.close()


def test_budgets_survive_a_restart_from_the_checkpoint_folder(serve, tmp_path) -> None:
    """Events counted before SIGTERM are counted after the restart (slos.json in --checkpoint-dir)."""
    folder = tmp_path / "ckpt"
    first = serve("--checkpoint-dir", str(folder))
    replica = Replica(first.url)
    replica.failing = 0.01
    time.sleep(2.0)
    replica.close()
    time.sleep(0.5)
    before = first.slos()["availability"]
    first.stop()
    assert (folder / "slos.json").exists()
    second = serve("--checkpoint-dir", str(folder))
    after = second.slos()["availability"]
    assert before["total"] > 100
    assert after["total"] == before["total"] and after["good"] == before["good"]
    assert after["budget_remaining"] == pytest.approx(before["budget_remaining"])
