"""Score every registered detector at several sensitivities on the generated labelled streams; print the table.

Run: ``python -m benchmarks.anomaly`` (options: ``--seed``, ``--streams``,
``--detectors``, ``--sensitivities``). Each detector sees each stream one value
at a time through the vectorised ``score_rows`` (all streams as rows, in
step), which is the same computation as ``update()`` (tests check that).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from benchmarks.anomaly.scoring import Score, score_corpus
from benchmarks.anomaly.streams import Stream, generate
from heritage_otel.analysis.detectors import DETECTORS, Detector

#: Sensitivities tried per detector (its default is always added).
SWEEP = {"zscore": (2.0, 3.0, 4.0, 6.0, 8.0), "mad": (3.0, 5.0, 8.0, 12.0), "adaptive": (4.0, 5.0, 6.0, 8.0),
         "surprise": (4.0, 5.0, 6.0, 8.0)}


def run_rows(
    detector: Detector, series: Sequence[NDArray[np.float64]], times: Sequence[NDArray[np.float64]] | None = None,
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.bool_]]]:
    """The detector's (scores, flags) on every series, all advanced together one value per step.

    ``times`` (seconds since the epoch, one array per series) is passed to the
    detector with each value when given. Each series is a row of
    ``score_rows``, which is the same computation as ``update()`` (tests check that).
    """
    length = max(len(v) for v in series)
    matrix = np.full((len(series), length), np.nan)
    clock = None if times is None else np.zeros((len(series), length))
    for i, v in enumerate(series):
        matrix[i, : len(v)] = v
        if clock is not None and times is not None:
            clock[i, : len(v)] = times[i]
            clock[i, len(v):] = times[i][-1] if len(v) else 0.0
    state = detector.new_state(len(series))
    flags = np.zeros(matrix.shape, dtype=bool)
    scores = np.full(matrix.shape, np.nan)
    w = detector.window
    ring = np.full((len(series), w), np.nan) if w else None
    head = np.zeros(len(series), dtype=np.intp)
    for t in range(length):
        x = matrix[:, t]
        at = None if clock is None else clock[:, t]
        out = detector.score_rows(x, state, ring, None if ring is None else np.isfinite(ring), at)
        flags[:, t], scores[:, t] = out.flagged, out.scores
        if ring is not None:
            fin = np.flatnonzero(np.isfinite(x))  # the baseline learns finite values only, as update() does
            ring[fin, head[fin]] = x[fin]
            head[fin] = (head[fin] + 1) % w
    return [scores[i, : len(v)] for i, v in enumerate(series)], [flags[i, : len(v)] for i, v in enumerate(series)]


def run_flags(detector: Detector, streams: Sequence[Stream]) -> list[NDArray[np.bool_]]:
    """The detector's flags on every generated stream (see :func:`run_rows`), each value with its timestamp."""
    times = [np.arange(len(s.values)) * 60.0 * s.interval_min for s in streams]
    return run_rows(detector, [s.values for s in streams], times)[1]


def evaluate(detector: Detector, streams: Sequence[Stream]) -> Score:
    """Score of ``detector`` on ``streams``."""
    return score_corpus((f, s.onsets) for f, s in zip(run_flags(detector, streams), streams, strict=True))


def table(streams: Sequence[Stream], names: Sequence[str], sweep: dict[str, Sequence[float]]) -> list[tuple[str, ...]]:
    """Rows ``(detector, sensitivity, score, FP per 10k normal points, median delay, detected/windows)``."""
    rows = [("detector", "sensitivity", "score", "FP / 10k normal points", "median delay (points)", "windows found")]
    for name in names:
        cls = DETECTORS[name]
        for sens in sorted({*sweep.get(name, ()), cls.default_sensitivity}):
            sc = evaluate(cls(sensitivity=sens), streams)
            mark = " (default)" if sens == cls.default_sensitivity else ""
            delay = "-" if math.isnan(sc.median_delay) else f"{sc.median_delay:.0f}"
            rows.append((name, f"{sens:g}{mark}", f"{sc.score:.1f}", f"{sc.fp_per_10k:.2f}", delay,
                         f"{sc.detected}/{sc.windows}"))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Print the benchmark table (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--streams", type=int, default=48)
    parser.add_argument("--max-points", type=int, default=20000, help="cap on stream length (quick runs)")
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    parser.add_argument("--sensitivities", default=None, help="comma-separated; default: a sweep per detector")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    streams = generate(args.seed, args.streams, args.max_points)
    names = [n.strip() for n in args.detectors.split(",") if n.strip()]
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        parser.error(f"--detectors: unknown {', '.join(unknown)}; valid: {', '.join(DETECTORS)}")
    sweep = SWEEP if args.sensitivities is None else dict.fromkeys(
        names, [float(v) for v in args.sensitivities.split(",")])
    points = sum(len(s.values) for s in streams)
    labelled = sum(len(s.episodes) for s in streams)
    print(f"{len(streams)} streams, {points:,} points, {labelled} labelled episodes (seed {args.seed})\n")
    rows = table(streams, names, sweep)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if k == 0:
            print("| " + " | ".join("-" * w for w in widths) + " |")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
