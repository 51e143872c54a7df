"""Run every benchmark under benchmarks/ one after the other and print their tables.

Each benchmark runs in its own Python process (no state shared between them), with its output
streamed as it comes. ``--quick`` shortens the long ones (the memory run to 200,000 queries, fewer
overhead rounds, shorter throughput steps) for a smoke check; the figures in docs/performance.md
come from the default (full) run. The throughput benchmark needs bin/otelcol-heritage and bin/jaeger
(``bash scripts/deps/collector.sh && bash scripts/deps/jaeger.sh``); without them it is reported as
skipped and the others still run.

Run::

    .venv/bin/python benchmarks/run_all.py            # everything, full size (about 8 minutes here)
    .venv/bin/python benchmarks/run_all.py --quick    # about 2 minutes
    .venv/bin/python benchmarks/run_all.py --only overhead,memory
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name -> (script, full-run arguments, quick-run arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "overhead": ("bench_overhead.py", [], ["--rounds", "8", "--queries", "200"]),
    "no-sdk": ("bench_overhead.py", ["--no-sdk"], ["--no-sdk", "--rounds", "8", "--queries", "200"]),
    "memory": ("bench_memory.py", [], ["--queries", "200000", "--every", "20000"]),
    "throughput": ("bench_throughput.py", [], ["--rates", "2000,8000,max", "--seconds", "2"]),
    "instrumentation": ("bench_instrumentation.py", [], ["--rounds", "3", "--queries", "300"]),
    "analysis": ("bench_analysis.py", [], ["--series", "2000", "--repeat", "3", "--exports", "4"]),
    "facade": ("bench_facade_memory.py", [], []),
    "service": ("bench_service.py", [], ["--requests", "100"]),
    "capacity": ("bench_capacity.py", [], ["--quick"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shortened runs (smoke check, not for the docs)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        parser.error(f"--only {','.join(unknown)}: unknown; valid: {', '.join(BENCHMARKS)}")
    results: list[tuple[str, str, float]] = []
    for name in chosen:
        script, full, quick = BENCHMARKS[name]
        path = HERE / script
        if not path.is_file():
            results.append((name, "missing", 0.0))
            continue
        command = [sys.executable, str(path), *(quick if args.quick else full)]
        print(f"\n{'=' * 100}\n== {name}: {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(command))}"
              f"\n{'=' * 100}", flush=True)
        start = time.monotonic()
        code = subprocess.run(command, check=False).returncode  # noqa: S603 - our own scripts
        elapsed = time.monotonic() - start
        status = {0: "ok", 2: "skipped (missing binaries or bad arguments)"}.get(code, f"exit {code}")
        results.append((name, status, elapsed))
    print(f"\n{'benchmark':<16} {'status':<46} {'seconds':>8}")
    for name, status, elapsed in results:
        print(f"{name:<16} {status:<46} {elapsed:>8.1f}")
    return 0 if all(status in ("ok",) or status.startswith("skipped") for _, status, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
