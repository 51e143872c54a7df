"""Cost of each streaming detector: state per series, time per value (many rows at once, and one stream).

Run: ``python -m benchmarks.nab.cost`` (options: ``--rows``, ``--steps``).
Single-threaded. The row-wise time is what the Analyzer pays per series and
interval (``score_rows`` over ``--rows`` series with timestamps); the
``update()`` time is one stream judged one value per call (numpy's per-call
overhead dominates it).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 - numpy reads the thread counts set above at import
import statistics  # noqa: E402 - numpy reads the thread counts set above at import
import time  # noqa: E402 - numpy reads the thread counts set above at import
from collections.abc import Sequence  # noqa: E402 - numpy reads the thread counts set above at import

import numpy as np  # noqa: E402 - numpy reads the thread counts set above at import

from heritage_otel.analysis.detectors import DETECTORS  # noqa: E402 - numpy reads the thread counts set above at import

__all__ = ["measure", "main"]

INTERVAL_S = 15.0


def measure(name: str, rows: int, steps: int, seed: int = 0) -> dict[str, float]:
    """State bytes per series, microseconds per value row-wise (median step) and per ``update()`` call."""
    det = DETECTORS[name]()
    state = det.new_state(rows)
    rng = np.random.default_rng(seed)
    per_step = []
    for t in range(steps):
        x = rng.normal(500.0, 50.0, rows)
        at = np.full(rows, t * INTERVAL_S)
        t0 = time.perf_counter()
        det.score_rows(x, state, times=at)
        per_step.append(time.perf_counter() - t0)
    one = DETECTORS[name]()
    values = rng.normal(500.0, 50.0, steps).tolist()
    t0 = time.perf_counter()
    for i, v in enumerate(values):
        one.update(v, i * INTERVAL_S)
    per_update = (time.perf_counter() - t0) / steps
    return {"state_bytes": float(sum(v[:1].nbytes for v in det.new_state(1).values())),
            "row_us": statistics.median(per_step[steps // 2:]) / rows * 1e6, "update_us": per_update * 1e6}


def main(argv: Sequence[str] | None = None) -> None:
    """Print one row per streaming detector."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    print("| detector | state per series | per value, score_rows over "
          f"{args.rows:,} series | per update() call (one stream) |\n| --- | --- | --- | --- |")
    for name, cls in DETECTORS.items():
        if cls().window:
            continue  # windowed detectors keep no state: their cost is the window (bench_analysis)
        m = measure(name, args.rows, args.steps)
        print(f"| {name} | {m['state_bytes']:.0f} B | {m['row_us']:.2f} µs | {m['update_us']:.0f} µs |")


if __name__ == "__main__":
    main()
