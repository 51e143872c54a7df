"""Which anomaly detectors judge which series, and the per-series state of the streaming ones (the Analyzer's).

Warning: the state is in memory (a few numbers per series and streaming
detector); it is lost on restart and the detectors warm up again.

>>> from heritage_otel.analysis.config import AnalyzerConfig
>>> rows = DetectorRows(AnalyzerConfig())
>>> [type(d).__name__ for d, _ in rows.members(["any_metric"], 1)] == [type(d).__name__ for d in rows.detectors]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from heritage_otel.analysis.detectors.base import Detector, RowScores, State

if TYPE_CHECKING:
    from heritage_otel.analysis.config import AnalyzerConfig

__all__ = ["DetectorRows"]


class DetectorRows:
    """The configured detectors, which rows each judges, and the per-row state of the streaming ones.

    Each distinct detector spec (name + settings) is built once; a row's
    detectors come from its metric (``metric_detectors``, else
    ``anomaly_detectors``), looked up once per row. Streaming detectors keep
    state arrays with one entry per row and the time of the last point fed.
    """

    def __init__(self, config: AnalyzerConfig) -> None:
        self.config = config
        self.specs: list[Any] = []
        self.detectors: list[Detector] = []
        self._profiles: list[list[int]] = []  # profile -> indices of its detectors
        self._profile_of_specs: dict[tuple[Any, ...], int] = {}
        self._profile_of_metric: dict[str, int] = {}
        self._profile_of_row = np.full(0, -1, dtype=np.intp)
        self._states: dict[int, State] = {}
        self._fed_t: dict[int, NDArray[np.float64]] = {}

    def _profile(self, metric: str) -> int:
        p = self._profile_of_metric.get(metric)
        if p is not None:
            return p
        specs = self.config.detectors_for(metric)
        p = self._profile_of_specs.get(specs)
        if p is None:
            for spec in specs:
                if spec not in self.specs:
                    self.specs.append(spec)
                    self.detectors.append(self.config.build_detectors((spec,))[0])
            p = self._profile_of_specs[specs] = len(self._profiles)
            self._profiles.append([self.specs.index(spec) for spec in specs])
        self._profile_of_metric[metric] = p
        return p

    def members(self, keys: Sequence[Any], n: int) -> list[tuple[Detector, NDArray[np.bool_]]]:
        """Per detector, the rows (of the first ``n``) it judges."""
        if len(self._profile_of_row) < n:
            grown = np.full(max(n, 2 * len(self._profile_of_row), 64), -1, dtype=np.intp)
            grown[: len(self._profile_of_row)] = self._profile_of_row
            self._profile_of_row = grown
        for row in np.flatnonzero(self._profile_of_row[:n] < 0).tolist():
            self._profile_of_row[row] = self._profile(getattr(keys[row], "metric", str(keys[row])))
        table = np.zeros((len(self._profiles), len(self.detectors)), dtype=bool)
        for p, idx in enumerate(self._profiles):
            table[p, idx] = True
        by_row = table[self._profile_of_row[:n]]
        return [(det, by_row[:, d]) for d, det in enumerate(self.detectors) if by_row[:, d].any()]

    def reset(self, row: int) -> None:
        """Forget one row (its series was evicted): the next series in it starts with fresh detector state."""
        if row < len(self._profile_of_row):
            self._profile_of_row[row] = -1
        for d, state in self._states.items():
            if row < len(self._fed_t[d]):
                for k, v in self.detectors[d].new_state(1).items():
                    state[k][row] = v[0]
                self._fed_t[d][row] = -np.inf

    def step(
        self, det: Detector, rows: NDArray[np.intp], latest: NDArray[np.float64], latest_t: NDArray[np.float64]
    ) -> tuple[NDArray[np.intp], RowScores]:
        """Feed the rows whose latest point is newer than the last one fed; returns (rows fed, their RowScores)."""
        d = self.detectors.index(det)
        need = int(rows.max()) + 1
        state = self._states.get(d)
        fed = self._fed_t.get(d)
        if state is None or len(fed) < need:  # type: ignore[arg-type]  # fed is not None when state is not None
            size = max(need, 64, 2 * (0 if fed is None else len(fed)))
            fresh_state = det.new_state(size)
            if state is not None and fed is not None:
                for k, arr in state.items():
                    fresh_state[k][: len(arr)] = arr
                grown = np.full(size, -np.inf)
                grown[: len(fed)] = fed
                fed = grown
            else:
                fed = np.full(size, -np.inf)
            state = fresh_state
            self._states[d], self._fed_t[d] = state, fed
        assert fed is not None
        rows = rows[latest_t[rows] > fed[rows]]
        m = len(rows)
        if m and rows[0] == 0 and rows[-1] == m - 1:  # rows 0..m-1 (sorted, unique): views, no gather
            views = {k: v[:m] for k, v in state.items()}
            sub = dict(views)
            out = det.score_rows(latest[:m], sub, times=latest_t[:m])
            for k, v in sub.items():
                if v is not views[k]:  # a detector may replace an array instead of writing into it
                    state[k][:m] = v
        else:
            sub = {k: v[rows] for k, v in state.items()}
            out = det.score_rows(latest[rows], sub, times=latest_t[rows])
            for k, v in sub.items():
                state[k][rows] = v
        fed[rows] = latest_t[rows]
        return rows, out
