"""Incidents at scale: many junk services with failing error rates next to one real service that fails.

Starts the real ``heritage-otel analyzer serve`` (defaults, ``--interval-seconds`` as given) and sends, every
interval, one OTLP/HTTP protobuf export holding every service: ``heritage.queries`` (100 per interval) and
``heritage.errors``. After a baseline, every junk service fails (50 % errors: one incident each); a few
intervals later the real service fails too (80 %: CRITICAL). Measured:

- ``real_fired_s``: seconds from the real service's first failing export to its ``fired`` line in the alerts
  file (the JSONL sink is fed by the same notifications as Alertmanager);
- ``active_api_s``: the slowest ``GET /api/alerts/active`` while the junk incidents are open;
- ``junk_incidents``: incidents fired for junk services.

Run::

    .venv/bin/python benchmarks/scenarios/many_services.py --junk 1500     # about a minute

Used by ``tests/analysis/test_scenarios.py`` (fewer services) with the same driver.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import _cli, _free_port, _wait_ready  # noqa: E402 - after the path set-up that makes the suite importable

from heritage_otel import semconv  # noqa: E402 - after the path set-up that makes the suite importable

REAL = "real-service"


@dataclass
class Measured:
    """What one run measured (seconds; None when it never happened)."""

    junk: int
    interval_s: float
    real_fired_s: float | None = None
    active_api_s: float = 0.0
    active_alerts: int = 0
    junk_incidents: int = 0


def _export(services: list[str], failing: dict[str, float], now_ns: int, interval_ns: int) -> bytes:
    req = ExportMetricsServiceRequest()
    for name in services:
        rm = req.resource_metrics.add()
        kv = rm.resource.attributes.add()
        kv.key, kv.value.string_value = semconv.SERVICE_NAME, name
        sm = rm.scope_metrics.add()
        sm.scope.name = "many_services"
        for metric, value in ((semconv.METRIC_QUERIES, 100.0), (semconv.METRIC_ERRORS, 100.0 * failing.get(name, 0.0))):
            m = sm.metrics.add()
            m.name = metric
            m.sum.aggregation_temporality = 1  # DELTA
            m.sum.is_monotonic = True
            p = m.sum.data_points.add()
            p.start_time_unix_nano, p.time_unix_nano, p.as_double = now_ns - interval_ns, now_ns, value
            if metric == semconv.METRIC_ERRORS:
                for key, text in ((semconv.COMPONENT, "ranker"), (semconv.ERROR_TYPE, "JunkError")):
                    a = p.attributes.add()
                    a.key, a.value.string_value = key, text
    return req.SerializeToString()


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(f"{url}/v1/metrics", data=body, method="POST",  # noqa: S310 - the benchmark posts to its own loopback server
                                     headers={"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        response.read()


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(junk: int = 1500, *, interval_s: float = 1.0, baseline: int = 7, junk_lead: int = 4, wait: int = 20,
        workdir: Path | None = None) -> Measured:
    """One run against a fresh ``analyzer serve``; see the module docstring."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="heritage-many-"))
    alerts = workdir / "alerts.jsonl"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*_cli(), "analyzer", "serve", "--port", str(port), "--interval-seconds", str(interval_s),
         "--alerts-file", str(alerts), "--log-level", "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    services = [f"junk-{i}" for i in range(junk)] + [REAL]
    failing: dict[str, float] = {}
    measured = Measured(junk, interval_s)
    real_failed_at: list[float] = []
    stop = threading.Event()

    def send() -> None:
        tick = 0
        next_at = time.time()
        while not stop.is_set():
            if tick == baseline:
                failing.update(dict.fromkeys(services[:-1], 0.5))
            if tick == baseline + junk_lead:
                failing[REAL] = 0.8
            body = _export(services, failing, time.time_ns(), int(interval_s * 1e9))
            if tick == baseline + junk_lead:
                real_failed_at.append(time.time())
            try:
                _post(url, body)
            except OSError:
                if stop.is_set():
                    return
                raise
            tick += 1
            next_at += interval_s
            stop.wait(max(0.0, next_at - time.time()))

    try:
        _wait_ready(url, server, 60)
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        polled, offset = -math.inf, 0
        deadline = time.monotonic() + (baseline + junk_lead + wait) * interval_s + 60
        while time.monotonic() < deadline and measured.real_fired_s is None:
            if real_failed_at and time.monotonic() - polled >= interval_s:
                polled = time.monotonic()
                with urllib.request.urlopen(f"{url}/api/alerts/active", timeout=300) as response:  # noqa: S310 - the benchmark reads its own loopback server
                    measured.active_alerts = int(json.loads(response.read())["count"])
                measured.active_api_s = max(measured.active_api_s, time.monotonic() - polled)
            if real_failed_at and alerts.exists():
                with alerts.open("rb") as f:  # only the lines written since the last look
                    f.seek(offset)
                    chunk = f.read()
                complete = chunk[: chunk.rfind(b"\n") + 1]
                offset += len(complete)
                if any(line["state"] == "firing" and line["labels"].get(semconv.SERVICE_NAME) == REAL
                       for line in map(json.loads, complete.splitlines())):
                    measured.real_fired_s = round(time.time() - real_failed_at[0], 2)
            time.sleep(0.05)
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    measured.junk_incidents = len({line["incident"] for line in _lines(alerts)
                                   if line["labels"].get(semconv.SERVICE_NAME, "").startswith("junk-")})
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junk", type=int, default=1500, help="junk services with failing error rates")
    parser.add_argument("--interval", type=float, default=1.0, help="export and analysis interval, seconds")
    args = parser.parse_args(argv)
    print(json.dumps(asdict(run(args.junk, interval_s=args.interval))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
