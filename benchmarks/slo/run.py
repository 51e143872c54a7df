"""Burn-rate alerts next to the anomaly policy, on the labelled scenarios of benchmarks/scenarios.

Each scenario runs the real ``heritage-otel analyzer serve`` with the shipped objectives
(``heritage_otel/examples/recommender/slos.yaml``) at ``--slo-time-scale`` (default 1/120: 5 min lasts
2.5 s, 1 h 30 s, 6 h 3 min), fed by the instrumented recommender. From the alerts file it reports, in
intervals after the fault started: the first notification of the anomaly/threshold policy, the first
SLO page and the first SLO ticket (with the objective), and the SLO pages of the fault-free scenarios.

Run::

    .venv/bin/python benchmarks/slo/run.py                       # every scenario, seed 7 (~5 min)
    .venv/bin/python benchmarks/slo/run.py --only "component failing" --seeds 1 2

The table is the one recorded in docs/slo.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))

from suite import SCENARIOS, run_scenario  # noqa: E402 - after the path set-up that makes the suite importable

from heritage_otel.analysis.slo.files import EXAMPLE_FILE  # noqa: E402 - after the path set-up that makes the suite importable

FAST = {"interval_s": 1.0, "qps": 20.0, "baseline": 20, "fault": 10, "recovery": 10, "tail": 4}


def _first(lines: list[dict[str, Any]], on: float, interval_s: float, keep: Callable[[dict], bool]) -> str:
    """When the first alert that ``keep`` selects was first seen, in intervals after ``on``, and its names."""
    members = [m for line in lines for m in line["members"] if keep(m)]
    if not members:
        return "–"
    first = min(datetime.fromisoformat(m["first_seen"]).timestamp() for m in members)
    names = sorted({m["labels"].get("slo", m["metric"]) for m in members})
    return f"{(first - on) / interval_s:+.1f} ({', '.join(names)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--time-scale", default=str(1 / 120), help="--slo-time-scale of the Analyzer")
    args = parser.parse_args(argv)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    print("| scenario | seed | anomaly policy: first notification | SLO page | SLO ticket | SLO notifications |")
    print("| --- | --- | --- | --- | --- | --- |")
    for seed in args.seeds:
        for scenario in SCENARIOS:
            if wanted and scenario.name not in wanted:
                continue
            result = run_scenario(scenario, seed=seed, serve_args=(
                "--slo", str(EXAMPLE_FILE), "--slo-time-scale", args.time_scale), **FAST)
            on = next((e["t"] for e in result.events if e["event"] == "fault_on"), None)
            slo_lines = [ln for ln in result.lines if any(m["detector"] == "burn_rate" for m in ln["members"])]
            if on is None:
                anomaly = page = ticket = "–" if not result.lines else f"{len(result.lines)} notification(s)"
            else:
                iv = FAST["interval_s"]
                anomaly = _first(result.lines, on, iv, lambda m: m["detector"] != "burn_rate")
                page = _first(result.lines, on, iv, lambda m: m["detector"] == "burn_rate" and m["level"] == "CRITICAL")
                ticket = _first(result.lines, on, iv, lambda m: m["detector"] == "burn_rate" and m["level"] == "WARNING")
            print(f"| {scenario.name} | {seed} | {anomaly} | {page} | {ticket} | {len(slo_lines)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
