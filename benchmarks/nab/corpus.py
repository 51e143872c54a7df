"""Reading a NAB checkout (``data/`` and ``labels/`` of github:numenta/NAB, kept outside the repository).

Only the **development split** is read unless held-out categories are asked
for explicitly: ``realKnownCause`` and ``realTraffic`` are held out (never
opened, not even listed). Files not on disk are skipped, so a checkout
without the held-out folders works as it is.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["DEV_SPLIT", "HELD_OUT", "NabFile", "load", "windows_as_indices"]

#: Categories detectors are developed and tuned on.
DEV_SPLIT: Final = ("artificialNoAnomaly", "artificialWithAnomaly", "realAWSCloudwatch", "realAdExchange", "realTweets")
#: Categories kept for an evaluation outside this repository.
HELD_OUT: Final = ("realKnownCause", "realTraffic")


@dataclass(frozen=True)
class NabFile:
    """One data file: its corpus-relative name, timestamps (seconds since the epoch), values and windows."""

    name: str
    times: NDArray[np.float64]
    values: NDArray[np.float64]
    windows: tuple[tuple[int, int], ...]


def _seconds(stamps: Sequence[str]) -> NDArray[np.float64]:
    return np.array([s.strip().replace(" ", "T") for s in stamps], dtype="datetime64[us]").astype(np.int64) / 1e6


def windows_as_indices(times: NDArray[np.float64], limits: Iterable[Sequence[str]]) -> tuple[tuple[int, int], ...]:
    """Window limits (timestamp strings) as inclusive point indices: first point >= start, last point <= end.

    >>> t = _seconds(["2015-01-01 00:00:00", "2015-01-01 00:05:00", "2015-01-01 00:10:00"])
    >>> windows_as_indices(t, [["2015-01-01 00:05:00.000000", "2015-01-01 00:10:00.000000"]])
    ((1, 2),)
    """
    out = []
    for start, end in limits:
        lo, hi = _seconds([start, end])
        a = int(np.searchsorted(times, lo, side="left"))
        b = int(np.searchsorted(times, hi, side="right")) - 1
        if a <= b:
            out.append((a, b))
    return tuple(out)


def _read(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    it, iv = header.index("timestamp"), header.index("value")
    return _seconds([r[it] for r in body]), np.array([float(r[iv]) for r in body])


def load(nab_dir: Path, categories: Sequence[str] = DEV_SPLIT) -> list[NabFile]:
    """The files of ``categories`` found under ``nab_dir/data``, with their windows, sorted by name.

    Label entries of other categories (or of files not on disk) are ignored
    without being looked at.
    """
    labels = json.loads((nab_dir / "labels" / "combined_windows.json").read_text())
    out = []
    for category in categories:
        folder = nab_dir / "data" / category
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.csv")):
            name = f"{category}/{path.name}"
            times, values = _read(path)
            out.append(NabFile(name, times, values, windows_as_indices(times, labels.get(name, []))))
    return out
