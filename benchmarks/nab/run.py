"""Score registered detectors on a NAB checkout (development split by default); print one table.

Run: ``python -m benchmarks.nab --nab-dir /path/to/nab`` (a copy of
github:numenta/NAB's ``data/`` and ``labels/``, outside this repository).
Options: ``--detectors`` (comma-separated registry names, default all),
``--gaussian`` (add NAB's windowed-Gaussian baseline), ``--results DIR``
(score a NAB ``results/<detector>`` folder of per-file detections, e.g.
NAB's own ``results/windowedGaussian``, at ``--results-threshold``),
``--include-held-out`` (also score ``realKnownCause`` and ``realTraffic``;
never used in development) and ``--per-file``.

Per profile, two normalised scores: **default** (a detection is a point the
detector flags at its own default sensitivity: what a user gets) and
**optimised** (NAB's threshold optimisation over the detector's reported
score, one threshold for the whole corpus, comparable with NAB's scoreboard).
Each file is one row of ``score_rows``, advanced one value per step with its
timestamp.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from benchmarks.anomaly.run import run_rows
from benchmarks.nab.corpus import DEV_SPLIT, HELD_OUT, NabFile, load
from benchmarks.nab.gaussian import windowed_gaussian
from benchmarks.nab.scoring import PROFILES, ScoredFile, normalise, normalised, optimise, raw_score
from heritage_otel.analysis.detectors import DETECTORS, create
from heritage_otel.analysis.detectors.base import directional

__all__ = ["detector_outputs", "main", "results_scores", "summary"]


def detector_outputs(name: str, files: Sequence[NabFile], **settings: float) -> tuple[list[NDArray[np.float64]],
                                                                                   list[NDArray[np.bool_]]]:
    """Per file: the registry detector's reported score (on its direction, unjudged as 0) and its flags."""
    det = create(name, **settings)
    scores, flags = run_rows(det, [f.values for f in files], [f.times for f in files])
    return [directional(s, det.direction) for s in scores], flags


def results_scores(results_dir: Path, files: Sequence[NabFile], detector: str) -> list[NDArray[np.float64]]:
    """The ``anomaly_score`` column of NAB result files ``<results_dir>/<category>/<detector>_<file>``."""
    out = []
    for f in files:
        category, base = f.name.split("/")
        with (results_dir / category / f"{detector}_{base}").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        out.append(np.array([float(r["anomaly_score"]) for r in rows]))
    return out


def summary(files: Sequence[NabFile], continuous: Sequence[NDArray[np.float64]],
            flags: Sequence[NDArray[np.bool_]] | None = None, threshold: float | None = None) -> dict[str, tuple[float, float]]:
    """Per profile ``(default, optimised)`` normalised scores.

    The default detections are ``flags`` when given, else ``continuous >= threshold``.
    """
    out = {}
    cont = [ScoredFile.build(s, f.windows, f.name) for s, f in zip(continuous, files, strict=True)]
    if flags is not None:
        binary = [ScoredFile.build(b.astype(float), f.windows, f.name) for b, f in zip(flags, files, strict=True)]
        at = 0.5
    else:
        binary, at = cont, float(threshold if threshold is not None else np.inf)
    for p in PROFILES:
        _, best = optimise(cont, p)
        out[p.name] = (normalised(binary, p, at), normalise(best, cont, p))
    return out


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if k == 0:
            lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the NAB table (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nab-dir", type=Path, required=True, help="copy of NAB's data/ and labels/")
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    parser.add_argument("--gaussian", action="store_true", help="add NAB's windowed-Gaussian baseline")
    parser.add_argument("--results", type=Path, default=None, help="a NAB results/<detector> folder to score")
    parser.add_argument("--results-threshold", type=float, default=1.0)
    parser.add_argument("--include-held-out", action="store_true",
                        help=f"also score {', '.join(HELD_OUT)} (held out: not for development)")
    parser.add_argument("--per-file", action="store_true", help="per-file raw scores (standard profile, default)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.detectors.split(",") if n.strip()]
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        parser.error(f"--detectors: unknown {', '.join(unknown)}; valid: {', '.join(DETECTORS)}")
    t0 = time.perf_counter()
    files = load(args.nab_dir, (*DEV_SPLIT, *HELD_OUT) if args.include_held_out else DEV_SPLIT)
    if not files:
        parser.error(f"--nab-dir: no data files under {args.nab_dir / 'data'}")
    split = "full corpus" if args.include_held_out else "development split"
    print(f"{split}: {len(files)} files, {sum(len(f.values) for f in files):,} points, "
          f"{sum(len(f.windows) for f in files)} windows\n")
    header = ("detector", *(f"{p.name} {k}" for p in PROFILES for k in ("default", "optimised")))
    rows = [header]
    per_file: list[tuple[str, ...]] = [("detector", "file", "raw score (standard, default)")]
    runs: list[tuple[str, list[NDArray[np.float64]], list[NDArray[np.bool_]] | None, float | None]] = []
    for name in names:
        cont, flags = detector_outputs(name, files)
        runs.append((f"{name} (sensitivity {DETECTORS[name].default_sensitivity:g})", cont, flags, None))
    if args.gaussian:
        runs.append(("windowed Gaussian (threshold 1.0)", [windowed_gaussian(f.values) for f in files], None, 1.0))
    if args.results is not None:
        label = args.results.name
        runs.append((f"NAB results/{label} (threshold {args.results_threshold:g})",
                     results_scores(args.results, files, label), None, args.results_threshold))
    for label, cont, flags, threshold in runs:
        s = summary(files, cont, flags, threshold)
        rows.append((label, *(f"{v:.1f}" for p in PROFILES for v in s[p.name])))
        if args.per_file:
            for f, c, b in zip(files, cont, flags or cont, strict=True):
                det = b.astype(float) if flags is not None else c
                at = 0.5 if flags is not None else float(threshold or np.inf)
                sf = ScoredFile.build(det, f.windows, f.name)
                per_file.append((label, f.name, f"{raw_score([sf], PROFILES[0], at):.4f}"))
    print(_table(rows))
    if args.per_file:
        print("\n" + _table(per_file))
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
