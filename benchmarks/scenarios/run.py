"""Run the alert scenario suite (benchmarks/scenarios/suite.py) over several seeds and print its table.

Run::

    .venv/bin/python benchmarks/scenarios/run.py                      # every scenario, seeds 1 2 3 (~20 min)
    .venv/bin/python benchmarks/scenarios/run.py --seeds 1 --only "component slow,traffic drop"
    .venv/bin/python benchmarks/scenarios/run.py --json out/scenarios.json   # also every notification

The table is the one recorded in docs/analysis.md. Exit status 1 when any scenario failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SCENARIOS, run_scenario, table  # noqa: E402 - after the sys.path line above


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--interval", type=float, default=1.0, help="export and analysis interval, seconds")
    parser.add_argument("--qps", type=float, default=20.0, help="queries per second per replica")
    parser.add_argument("--json", type=Path, default=None, help="write every result (with its notifications) here")
    args = parser.parse_args(argv)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = wanted - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"--only {', '.join(sorted(unknown))}: unknown; valid: {', '.join(s.name for s in SCENARIOS)}")
    results = []
    for seed in args.seeds:
        for scenario in SCENARIOS:
            if wanted and scenario.name not in wanted:
                continue
            result = run_scenario(scenario, seed=seed, interval_s=args.interval, qps=args.qps)
            print(f"{scenario.name} seed {seed}: {'pass' if result.passed else 'FAIL'} "
                  f"({result.notifications} notifications, cause: {result.cause or '-'})", flush=True)
            results.append(result)
    print()
    print(table(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1, default=str))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
