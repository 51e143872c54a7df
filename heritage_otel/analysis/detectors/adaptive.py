"""The adaptive detector: robust streaming levels, self-calibrating scores, one flag per episode.

Per series it keeps a handful of numbers (no window), updated with every value:

* a **fast level** (robust exponential smoothing: each step moves it by at most
  ``clip`` scales, so a spike barely moves it) and a **slow level** that
  trails it (``slow_rate``);
* two **robust scales**: of the one-step innovations ``x - fast level`` and of
  the gap ``fast level - slow level`` (exponentially weighted mean absolute
  values with outliers clipped, in standard-deviation units), each floored by
  :func:`~heritage_otel.analysis.detectors.base.scale_floor` from the series'
  own resolution (1 for integer counts, else the running median of its
  non-zero steps) and magnitude;
* three scores: the **point score** ``(x - fast level) / scale`` finds spikes,
  dips and the first point of a level shift; the **drift score**
  ``(fast level - slow level) / scale`` finds gradual degradation and small
  sustained shifts; the **flatline score** ``sqrt(-2 r ln p0)`` finds ``r``
  repeats of a non-zero value where repeats have had frequency ``p0`` (one
  flag per flatline). The point and drift scores are divided by how heavy
  their own tail has been: a tracker of the 99th percentile of the absolute
  score (the idea of judging the distribution of recent scores, as anomaly
  likelihood does) relative to the Gaussian 2.576, to the power 2.5, never
  below 1. Seasonal, trending or heavy-tailed series thus earn wider scales
  and tails instead of alerts;
* a **hold** after each flag (``hold`` points without flags, tail trackers
  frozen so the episode does not teach them), at whose end the slow level
  adopts the fast one: a level shift that persists becomes the new normal;
* a **calibration** per series: each flag raises the bar by 10 %, each value
  without a flag lowers it slightly (back to 1 after about 3,000 quiet values
  per flag): a recurring pattern (an hourly batch job's spike) stops flagging
  after a few occurrences, while rare anomalies keep the bar near 1;
* a **warm-up** of ``warmup`` finite values without flags.

During a hold, a value still beyond the sensitivity is reported as not
judged (``RowScores.judged`` False): the episode goes on, so an alert raised
at its onset stays active until the series is back within the sensitivity
or the hold ends.

The reported score is the largest of the three (signed; a flatline counts as
a drop); the point is flagged when it exceeds ``sensitivity`` on the
configured ``direction`` (a flatline on any direction). NaN and inf are
skipped (not judged, not learned). The score is in standard deviations of the
series' own recent behaviour, so one sensitivity suits every kind of series.

>>> import numpy as np
>>> det = AdaptiveDetector()
>>> rng = np.random.default_rng(3)
>>> flags = [det.update(v).flagged for v in rng.normal(100, 5, 400)]
>>> sum(flags)
0
>>> [det.update(v).flagged for v in (100, 180, 100, 101)]
[False, True, False, False]
>>> counter = AdaptiveDetector()
>>> sum(counter.update(v).flagged for v in [0] * 300 + [1, 0, 0, 1, 0])
0
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from heritage_otel.analysis.detectors.base import (
    Detector,
    RowScores,
    State,
    directional,
    scale_floor,
)
from heritage_otel.checks import check_int, check_number

__all__ = ["AdaptiveDetector"]

_SIGMA_PER_MEAN_ABS: Final = 1.2533  # sqrt(pi / 2): mean |N(0, s)| * this = s
_GAUSS_TAIL: Final = 2.576  # 99th percentile of |N(0, 1)|
_TAIL_P: Final = 0.01
#: The tail ratio at the 99th percentile to a power of about 2 approximates it at the 99.99th for Student-t and
#: Laplace noise; 2.5 leans to fewer false alarms on heavy tails.
_TAIL_POWER: Final = 2.5
_STEP_RATE: Final = 0.05
_INT_RATE: Final = 0.01
_MIN_P0: Final = 1e-3
#: Calibration: each flag raises the series' bar by 10 %; each judged value without a flag lowers it so that
#: the bar is stable at about 3 flags per 10,000 values (a recurring pattern stops flagging after a few times).
_CALIB_STEP: Final = 0.1
_FLAG_RATE: Final = 3e-4


class AdaptiveDetector(Detector):
    """Streaming detector for level shifts, drift, spikes and dips on trending, seasonal, heavy-tailed series.

    Settings (all keyword): ``sensitivity`` (default 5.0, in tail-adjusted
    standard deviations), ``direction``, ``warmup`` (150 values before the first
    flag), ``hold`` (60 values after a flag without another), ``fast_rate``
    (0.2), ``slow_rate`` (0.01), ``scale_rate`` (1/64, how fast scales adapt),
    ``clip`` (4.0 scales: the most one value moves a level or a scale),
    ``tail_rate`` (0.02, the step of the tail trackers). Defaults were chosen on
    the seeded benchmark in ``benchmarks/anomaly`` (docs/analysis.md).
    """

    name = "adaptive"
    default_sensitivity = 5.0
    score_name = "adaptive score"

    def __init__(
        self, sensitivity: float | None = None, *, direction: str = "both", warmup: int = 150, hold: int = 60,
        fast_rate: float = 0.2, slow_rate: float = 0.01, scale_rate: float = 1 / 64, clip: float = 4.0,
        tail_rate: float = 0.02,
    ) -> None:
        self.warmup = check_int("warmup", warmup, minimum=2, what="values learned before the first flag")
        self.hold = check_int("hold", hold, minimum=0, what="values after a flag before another")
        self.fast_rate = check_number("fast_rate", fast_rate, minimum=0, maximum=1, exclusive_minimum=True,
                                      what="weight of a new value in the fast level")
        self.slow_rate = check_number("slow_rate", slow_rate, minimum=0, maximum=1, exclusive_minimum=True,
                                      what="weight of the fast level in the slow one")
        self.scale_rate = check_number("scale_rate", scale_rate, minimum=0, maximum=1, exclusive_minimum=True,
                                       what="weight of a new value in the scales")
        self.clip = check_number("clip", clip, minimum=1, maximum=1e6, exclusive_minimum=True,
                                 what="scales beyond which a value is clipped when learning")
        self.tail_rate = check_number("tail_rate", tail_rate, minimum=0, maximum=1, exclusive_minimum=True,
                                      what="step of the tail trackers")
        # the fast level averages about (2 - a) / a values: its resolution is finer than one value's
        self._level_resolution = float(np.sqrt(self.fast_rate / (2.0 - self.fast_rate)))
        super().__init__(sensitivity, direction=direction)

    def new_state(self, rows: int) -> State:
        """Per-row numbers: counts, levels, scales, resolution, tail trackers, hold countdown."""
        z = np.zeros(rows)
        return {
            "n": np.zeros(rows, dtype=np.int64), "hold": np.zeros(rows, dtype=np.int64),
            "level": z.copy(), "slow": z.copy(), "scale1": z.copy(), "scale2": z.copy(), "prev": z.copy(),
            "step": np.full(rows, np.nan), "integer": np.ones(rows),
            "tail1": np.full(rows, _GAUSS_TAIL), "tail2": np.full(rows, _GAUSS_TAIL), "calib": np.ones(rows),
            "run": np.zeros(rows), "zero": np.full(rows, 0.5),
        }

    def _score_rows(
        self, latest: NDArray[np.float64], state: State, baseline: NDArray[np.float64] | None = None,
        valid: NDArray[np.bool_] | None = None, times: NDArray[np.float64] | None = None,
    ) -> RowScores:
        """Judge and learn one value per row (``baseline`` is not used: the state is the baseline)."""
        x = np.array(latest, dtype=float)  # a copy: the state keeps it (as the previous value)
        st = state
        rows = len(x)
        scores = np.full(rows, np.nan)
        centers = st["slow"].copy()
        scales = np.full(rows, np.nan)
        fin = np.isfinite(x)
        first = fin & (st["n"] == 0)
        if first.any():
            for key in ("level", "slow", "prev"):
                st[key][first] = x[first]
            st["integer"][first] = x[first] == np.round(x[first])
            st["n"][first] = 1
        go = fin & ~first
        judged = go & (st["n"] >= self.warmup)
        flagged = np.zeros(rows, dtype=bool)
        if not go.any():
            return RowScores(scores, flagged, judged, centers, scales)
        idx = None if go.all() else np.flatnonzero(go)
        g = {k: (v if idx is None else v[idx]) for k, v in st.items()}
        xv = x if idx is None else x[idx]
        self._step(xv, g, judged if idx is None else judged[idx])
        if idx is None:
            st.update(g["_state"])
            scores, flagged, centers, scales, ongoing = g["_out"]
        else:
            for k, v in g["_state"].items():
                st[k][idx] = v
            s, f, c, sc, ong = g["_out"]
            scores[idx], flagged[idx], centers[idx], scales[idx] = s, f, c, sc
            ongoing = np.zeros(rows, dtype=bool)
            ongoing[idx] = ong
        # an episode still beyond the sensitivity during its hold is not judged again (its alert stays up)
        return RowScores(scores, flagged, judged & ~ongoing, centers, scales)

    def _step(self, x: NDArray[np.float64], g: dict[str, Any], judged: NDArray[np.bool_]) -> None:
        n, hold = g["n"], g["hold"]
        level, slow, scale1, scale2 = g["level"], g["slow"], g["scale1"], g["scale2"]
        # it judges one-step innovations, so its resolution is a whole typical step (not STEP_FRACTION of one)
        quantum = np.fmax(np.where(g["integer"] > 0.9, 1.0, 0.0), g["step"])  # fmax: an unknown (NaN) step is 0
        floor = scale_floor(quantum, level, np.isfinite(g["step"]))
        s1 = np.maximum(scale1, floor)
        s2 = np.maximum(scale2, floor * self._level_resolution)
        r1 = x - level
        z1 = r1 / s1
        new_level = level + self.fast_rate * np.clip(r1, -self.clip * s1, self.clip * s1)
        r2 = new_level - slow
        z2 = r2 / s2
        heavy1 = np.maximum(1.0, g["tail1"] / _GAUSS_TAIL) ** _TAIL_POWER
        heavy2 = np.maximum(1.0, g["tail2"] / _GAUSS_TAIL) ** _TAIL_POWER
        t1 = z1 / heavy1
        t2 = z2 / heavy2
        use1 = np.abs(t1) >= np.abs(t2)
        score = np.where(use1, t1, t2)
        # a flatline: r unchanged non-zero values in a row where unchanged steps have frequency p0
        same = (x == g["prev"]) & (x != 0)
        run = np.where(same, g["run"] + 1, 0.0)
        flat = np.sqrt(2.0 * np.maximum(run, 0.0) * -np.log(np.clip(g["zero"], _MIN_P0, 1.0)))
        use3 = flat > np.abs(score)
        score = np.where(use3, -flat, score)
        # calibration: flags far more frequent than _FLAG_RATE (a recurring pattern, e.g. an hourly batch job's
        # spike) raise this series' bar; it decays back when flags stay rare
        score = score / g["calib"]
        flat = flat / g["calib"]
        idle = hold == 0
        with np.errstate(invalid="ignore"):
            beyond = (directional(score, self.direction) > self.sensitivity) | (use3 & (flat > self.sensitivity))
        flagged = judged & idle & beyond
        run = np.where(flagged & use3, -np.inf, run)  # one flag per flatline: counting restarts after a change
        center = np.where(use1, level, slow)
        scale = np.where(use1, s1 * heavy1, s2 * heavy2)

        # learning: the scales always (clipped, so one value moves them a little), the tails only outside
        # holds (an episode must not teach them)
        rate = np.maximum(1.0 / (n + 1.0), self.scale_rate)
        early = n < 10
        cap1 = np.where(early, np.inf, self.clip * s1)
        cap2 = np.where(early, np.inf, self.clip * s2)
        learn = idle & ~flagged
        new_scale1 = scale1 + rate * (np.minimum(np.abs(r1), cap1) * _SIGMA_PER_MEAN_ABS - scale1)
        new_scale2 = scale2 + rate * (np.minimum(np.abs(r2), cap2) * _SIGMA_PER_MEAN_ABS - scale2)
        up = self.tail_rate * (1 - _TAIL_P)
        down = -self.tail_rate * _TAIL_P
        tail_learn = learn & ~early
        tail1 = np.where(tail_learn, g["tail1"] * np.exp(np.where(np.abs(z1) > g["tail1"], up, down)), g["tail1"])
        tail2 = np.where(tail_learn, g["tail2"] * np.exp(np.where(np.abs(z2) > g["tail2"], up, down)), g["tail2"])

        new_slow = slow + self.slow_rate * np.clip(r2, -self.clip * s2, self.clip * s2)
        new_hold = np.where(flagged, self.hold, np.maximum(hold - 1, 0))
        ending = (hold == 1) & ~flagged
        new_slow = np.where(ending, new_level, new_slow)

        # the resolution: a running median of the non-zero steps (log domain, 5 % moves), integers seen
        d = np.abs(x - g["prev"])
        with np.errstate(divide="ignore", invalid="ignore"):
            moved = np.where(d > g["step"], _STEP_RATE, -_STEP_RATE)
            step = np.where(d > 0, np.where(np.isnan(g["step"]), d, g["step"] * np.exp(moved)), g["step"])
        # frequencies (integer values, repeated values): exact means at first, then exponentially weighted
        frequency_rate = np.maximum(1.0 / (n + 1.0), _INT_RATE)
        integer = g["integer"] + frequency_rate * ((x == np.round(x)) - g["integer"])
        g["_state"] = {
            "n": n + 1, "hold": new_hold, "level": new_level, "slow": new_slow, "scale1": new_scale1,
            "scale2": new_scale2, "prev": x, "step": step, "integer": integer,
            "tail1": tail1, "tail2": tail2, "run": run,
            "calib": np.maximum(1.0, g["calib"] * np.exp(np.where(flagged, _CALIB_STEP, np.where(judged, -_CALIB_STEP * _FLAG_RATE, 0.0)))), "zero": g["zero"] + frequency_rate * (same - g["zero"]),
        }
        g["_out"] = (np.where(judged, score, np.nan), flagged, center, scale, ~idle & beyond)
