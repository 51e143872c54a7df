"""Alert scenarios: the real ``heritage-otel analyzer serve`` fed by instrumented recommender replicas.

Each scenario starts ``heritage-otel analyzer serve`` (defaults only: interval, alerts file, port) and
one or three load processes (``load.py``: the auto-instrumented reference recommender exporting
OTLP/HTTP with DELTA temporality every interval; open-loop or closed-loop callers, optionally following a
compressed day), injects its faults (none, one, or two in different components) for ``fault`` intervals
after ``baseline`` intervals, lets it recover for ``recovery`` intervals, stops the load cleanly (a
partial last export) and keeps the Analyzer running for ``tail`` more intervals. Then it reads the
alerts JSONL (one notification per line) and scores:

- notifications and incidents (distinct ``incident`` ids);
- detection delay: first ``firing`` notification minus the fault's start, in intervals;
- time to resolve: the incident's ``resolved`` notification minus the fault's end, in intervals;
- whether the probable cause names the right thing (component, replica, or kind).

A scenario passes when a fault-free one sent 0 notifications, and a faulty one opened exactly one
incident, fired within 2 intervals, resolved within 3 intervals of recovery, with the right cause (two
faults: one incident whose cause names both components).

Used by ``run.py`` (the full suite, several seeds) and by ``tests/analysis/test_scenarios.py`` (fast).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LOAD = HERE / "load.py"


#: The load shapes: open loop (arrivals at a fixed rate, whatever the answers take) and closed loop (callers
#: that each wait for their answer and think before the next query: a slower service is less traffic).
LOADS: dict[str, list[str]] = {"open": [], "closed": ["--workers", "2", "--think-ms", "50"]}


@dataclass(frozen=True)
class Scenario:
    """One labelled scenario: its replicas, its faults (none: fault-free), its load shape, and what the cause
    must say."""

    name: str
    replicas: int = 1
    fault: dict[str, Any] | None = None
    faulty_replica: int = 0
    expect: Callable[[dict[str, Any]], bool] | None = None
    stop_early: bool = False
    load: str = "open"
    day: bool = False
    #: More faults at the same time as ``fault`` (other components), on the same replica.
    more_faults: tuple[dict[str, Any], ...] = ()

    @property
    def faults(self) -> tuple[dict[str, Any], ...]:
        return () if self.fault is None else (self.fault, *self.more_faults)


def _cause_names(component: str | None = None, kind: str | None = None,
                 instance: str | None = None, also: tuple[str, ...] = ()) -> Callable[[dict[str, Any]], bool]:
    def check(cause: dict[str, Any]) -> bool:
        return ((component is None or cause.get("component") == component)
                and (kind is None or cause.get("kind") == kind)
                and (instance is None or cause.get("instance") == instance)
                and all(name in cause.get("summary", "") for name in also))
    return check


_FAULT_SHAPES: tuple[Scenario, ...] = (
    Scenario("component failing", fault={"kind": "fail", "component": "simrank", "value": 1.0},
             expect=_cause_names("simrank", "errors")),
    Scenario("component slow", fault={"kind": "slow", "component": "embedding", "value": 0.06},
             expect=_cause_names("embedding", "latency")),
    Scenario("one of 3 replicas slow", replicas=3, faulty_replica=1,
             fault={"kind": "slow", "component": "embedding", "value": 0.06},
             expect=_cause_names("embedding", "latency", "replica-1")),
    Scenario("quality drift", fault={"kind": "drift"}, expect=_cause_names(kind="quality")),
    Scenario("traffic drop", fault={"kind": "traffic", "value": 0.2}, expect=_cause_names(kind="traffic")),
    Scenario("two faults", fault={"kind": "fail", "component": "simrank", "value": 1.0},
             more_faults=({"kind": "slow", "component": "embedding", "value": 0.06},),
             expect=_cause_names("simrank", "errors", also=("embedding",))),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("fault-free soak", replicas=2),
    Scenario("fault-free soak (closed loop)", replicas=2, load="closed"),
    Scenario("compressed day", replicas=2, day=True),
    Scenario("compressed day (closed loop)", replicas=2, day=True, load="closed"),
    *_FAULT_SHAPES,
    *(replace(s, name=f"{s.name} (closed loop)", load="closed") for s in _FAULT_SHAPES),
    Scenario("clean shutdown of the load", stop_early=True),
)


@dataclass
class Result:
    """What one run of one scenario did."""

    scenario: str
    seed: int
    notifications: int = 0
    incidents: int = 0
    delay_intervals: float | None = None
    resolve_intervals: float | None = None
    cause_right: bool | None = None
    cause: str = ""
    passed: bool = False
    lines: list[dict[str, Any]] = field(default_factory=list, repr=False)
    events: list[dict[str, Any]] = field(default_factory=list, repr=False)


def run_name(scenario: Scenario, seed: int) -> str:
    """A file-name-safe name of one run."""
    return f"{scenario.name.replace(' ', '-')}-{seed}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("heritage-otel")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "heritage_otel.cli.main"]


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"analyzer serve exited with {proc.returncode}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    msg = f"analyzer serve at {url} not ready after {timeout_s} s"
    raise RuntimeError(msg)


#: The Analyzer configuration the scenarios run with: the defaults (the default detector, warmed up for
#: ``min_samples`` intervals in the Analyzer, and the default alert policy).
ANALYZER_CONFIG: dict[str, Any] = {}


def run_scenario(
    scenario: Scenario, *, seed: int = 7, interval_s: float = 1.0, qps: float = 20.0, baseline: int = 20,
    fault: int = 10, recovery: int = 10, tail: int = 5, workdir: Path | None = None,
    analyzer_config: dict[str, Any] | None = None, serve_args: tuple[str, ...] = (),
) -> Result:
    """Run one scenario against a fresh ``analyzer serve`` (``analyzer_config``: its ``--config``, default
    :data:`ANALYZER_CONFIG`; ``serve_args``: more of its options, e.g. ``--slo FILE``); returns its scores."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="heritage-scenario-"))
    config = workdir / f"analyzer-{run_name(scenario, seed)}.json"
    config.write_text(json.dumps(ANALYZER_CONFIG if analyzer_config is None else analyzer_config))
    alerts = workdir / f"alerts-{run_name(scenario, seed)}.jsonl"
    alerts.unlink(missing_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [*_cli(), "analyzer", "serve", "--port", str(port), "--interval-seconds", str(interval_s),
         "--alerts-file", str(alerts), "--config", str(config), "--log-level", "WARNING", *serve_args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    loads: list[subprocess.Popen[str]] = []
    events: list[dict[str, Any]] = []
    try:
        _wait_ready(url, server)
        seconds = (baseline if scenario.stop_early else baseline + fault + recovery) * interval_s
        for i in range(scenario.replicas):
            cmd = [sys.executable, str(LOAD), "--url", url, "--instance", f"replica-{i}", "--seconds", str(seconds),
                   "--qps", str(qps), "--interval-ms", str(int(interval_s * 1000)), "--seed", str(seed + i),
                   *LOADS[scenario.load], *(["--day"] if scenario.day else [])]
            if i == scenario.faulty_replica:
                for one in scenario.faults:
                    spec = dict(one, at=baseline * interval_s, until=(baseline + fault) * interval_s)
                    cmd += ["--fault", json.dumps(spec)]
            loads.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env))
        for proc in loads:
            out, _ = proc.communicate(timeout=seconds + 120)
            events.extend(json.loads(line) for line in out.splitlines() if line.startswith("{"))
        time.sleep(tail * interval_s)
    finally:
        for proc in loads:
            if proc.poll() is None:
                proc.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    lines = [json.loads(line) for line in alerts.read_text().splitlines() if line.strip()] if alerts.exists() else []
    return score(scenario, seed, interval_s, events, lines)


def _time(iso: str | None) -> float | None:
    from datetime import datetime

    return None if iso is None else datetime.fromisoformat(iso).timestamp()


def score(scenario: Scenario, seed: int, interval_s: float, events: list[dict[str, Any]],
          lines: list[dict[str, Any]]) -> Result:
    """Score one run from the load's events and the alerts JSONL lines."""
    result = Result(scenario.name, seed, notifications=len(lines), lines=lines, events=events)
    incidents = list(dict.fromkeys(line.get("incident") for line in lines))
    result.incidents = len(incidents)
    if not scenario.faults:
        result.passed = not lines
        return result
    on = next((e["t"] for e in events if e["event"] == "fault_on"), None)
    off = next((e["t"] for e in events if e["event"] == "fault_off"), None)
    if incidents and on is not None:
        mine = [line for line in lines if line.get("incident") == incidents[0]]
        fired = next((line for line in mine if line["state"] == "firing"), None)
        resolved = next((line for line in mine if line["state"] == "resolved"), None)
        if fired is not None:
            result.delay_intervals = round((_time(fired["first_seen"]) - on) / interval_s, 1)
        if resolved is not None and off is not None:
            result.resolve_intervals = round((_time(resolved["resolved_at"]) - off) / interval_s, 1)
        last = [line for line in mine if line["state"] == "firing"][-1:] or mine[-1:]
        cause = (last[0].get("cause") or {}) if last else {}
        result.cause = cause.get("summary", "")
        result.cause_right = bool(scenario.expect is not None and cause and scenario.expect(cause))
    result.passed = (result.incidents == 1 and result.delay_intervals is not None and result.delay_intervals <= 2
                     and result.resolve_intervals is not None and result.resolve_intervals <= 3
                     and bool(result.cause_right))
    return result


def table(results: list[Result]) -> str:
    """A Markdown table of results."""
    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:g}"

    rows = [("| scenario | seed | notifications | incidents | delay (intervals) | resolve (intervals) | cause right | "
            "cause (last firing notification) | pass |"),
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        cause = "-" if r.cause_right is None else ("yes" if r.cause_right else "no")
        summary = (r.cause or "-").replace("|", "/")
        rows.append(f"| {r.scenario} | {r.seed} | {r.notifications} | {r.incidents} | {fmt(r.delay_intervals)} | "
                    f"{fmt(r.resolve_intervals)} | {cause} | {summary} | {'yes' if r.passed else 'NO'} |")
    return "\n".join(rows)
