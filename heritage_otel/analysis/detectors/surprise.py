"""The surprise detector: how surprising a value is to two baselines, judged against the series' own record.

Per series it keeps a few dozen numbers (about 0.6 KiB), updated with every value:

* two **predictors**: a robust **level** (exponential smoothing, each step
  clipped to ``clip`` scales) and, when values carry timestamps, a
  **time-of-day profile** (48 half-hour slots of UTC, each an exponentially
  smoothed value; a value is compared with its slot and the two next to it,
  since a daily step rarely falls on a slot boundary). Each has a robust scale (the mean absolute error, clipped,
  in standard-deviation units, floored by the series' resolution:
  :func:`~heritage_otel.analysis.detectors.base.scale_floor`);
* the **surprise** of a value is its error in scales under the predictor that
  explains it best (a value is normal if the recent level *or* the usual
  value at this time of day explains it: contextual novelty, so a daily peak
  is not an anomaly while a missing one is);
* two judgements of the surprise by the distribution of the series' own
  recent surprises (the idea behind anomaly likelihood): a **tail tracker**
  of its 99.7th percentile (the score is ``2.576 * surprise / tail``: in
  standard deviations of a Gaussian whose 99th percentile sits at the
  series' 99.7th) and a **record** (the largest surprise of the recent past,
  decaying with a time constant of ``memory`` values): the score is capped at
  ``5 * surprise / record``, so at the default sensitivity a value must be
  both far out in the tail and the biggest surprise in a long while. Heavy
  tails, noisy and bursty series earn wider bars instead of alerts;
* a **hold** after each flag: ``hold`` values without another flag unless one
  is ``escalate`` times the flagged score (a bigger event during an episode
  still raises a flag); the tail tracker does not learn during a hold;
* a **warm-up** of ``warmup`` finite values without flags.

The signed score (negative below the baseline) is flagged when it exceeds
``sensitivity`` on the configured ``direction``. During a hold, a value
still beyond the sensitivity by the tail alone is reported as not judged
(score NaN): the episode goes on, so an alert raised at its onset stays
active until the series is back within its tail or the hold ends. NaN and inf are skipped (not judged, not learned).

Defaults were chosen on the development split of the Numenta Anomaly
Benchmark (``benchmarks/nab``, docs/analysis.md), one parameter set for every
series.

>>> import numpy as np
>>> det = SurpriseDetector()
>>> rng = np.random.default_rng(3)
>>> t0 = 1.7e9
>>> flags = [det.update(v, t0 + 300 * i).flagged for i, v in enumerate(rng.normal(100, 5, 400))]
>>> sum(flags)
0
>>> [det.update(v, t0 + 300 * (400 + i)).flagged for i, v in enumerate((100, 180, 100, 101))]
[False, True, False, False]
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from heritage_otel.analysis.detectors.base import (
    STEP_FRACTION,
    Detector,
    RowScores,
    State,
    directional,
    scale_floor,
)

from heritage_otel.checks import check_int, check_number

__all__ = ["SLOTS", "SurpriseDetector"]

_SIGMA_PER_MEAN_ABS: Final = 1.2533  # sqrt(pi / 2): mean |N(0, s)| * this = s
_GAUSS_TAIL: Final = 2.576  # 99th percentile of |N(0, 1)|
#: The tail tracker's quantile: 1 - _TAIL_P.
_TAIL_P: Final = 0.003
_TAIL_RATE: Final = 0.02
#: A surprise equal to the recent record scores this much (the default sensitivity).
_RECORD_SCORE: Final = 5.0
_SURPRISE_CAP: Final = 20.0
_STEP_RATE: Final = 0.05
#: Weight of the level in the slow level that trails it (drift).
_SLOW_RATE: Final = 0.01
_INT_RATE: Final = 0.01
#: Time-of-day slots of the seasonal profile (half hours of the UTC day) and values before it is used.
SLOTS: Final = 48
_DAY_S: Final = 86400.0
_PROFILE_MIN: Final = 100


class SurpriseDetector(Detector):
    """Streaming detector: surprise to a level and a time-of-day profile, judged by the series' own tail and record.

    Settings (all keyword): ``sensitivity`` (default 5.0), ``direction``,
    ``warmup`` (150 values before the first flag), ``hold`` (300 values after a
    flag without another, unless ``escalate`` (1.5) times bigger),
    ``level_rate`` (0.1), ``profile_rate`` (0.1), ``scale_rate`` (0.02),
    ``clip`` (4.0 scales: the most one value moves a level or a scale),
    ``memory`` (1,000 values: the record's time constant).
    """

    name = "surprise"
    default_sensitivity = 5.0
    score_name = "surprise score"

    def __init__(
        self, sensitivity: float | None = None, *, direction: str = "both", warmup: int = 150, hold: int = 300,
        escalate: float = 1.5, level_rate: float = 0.1, profile_rate: float = 0.1, scale_rate: float = 0.02,
        clip: float = 4.0, memory: float = 1000.0,
    ) -> None:
        self.warmup = check_int("warmup", warmup, minimum=2, what="values learned before the first flag")
        self.hold = check_int("hold", hold, minimum=0, what="values after a flag before another")
        self.escalate = check_number("escalate", escalate, minimum=1, maximum=1e6, exclusive_minimum=True, what="score ratio that flags again during a hold")
        self.level_rate = check_number("level_rate", level_rate, minimum=0, maximum=1, exclusive_minimum=True, what="weight of a new value in the level")
        self.profile_rate = check_number("profile_rate", profile_rate, minimum=0, maximum=1, exclusive_minimum=True, what="weight of a new value in its slot")
        self.scale_rate = check_number("scale_rate", scale_rate, minimum=0, maximum=1, exclusive_minimum=True, what="weight of a new value in the scales")
        self.clip = check_number("clip", clip, minimum=1, maximum=1e6, exclusive_minimum=True, what="scales beyond which a value is clipped when learning")
        self.memory = check_number("memory", memory, minimum=1, maximum=1e9, exclusive_minimum=True, what="time constant of the record, in values")
        self._decay = float(np.exp(-1.0 / self.memory))
        # the level averages about (2 - a) / a values: its resolution is finer than one value's
        self._level_resolution = float(np.sqrt(self.level_rate / (2.0 - self.level_rate)))
        super().__init__(sensitivity, direction=direction)

    def new_state(self, rows: int) -> State:
        """Per-row numbers: counts, level, profile, scales, resolution, tail, record, hold."""
        z = np.zeros(rows)
        return {
            "n": np.zeros(rows, dtype=np.int64), "hold": np.zeros(rows, dtype=np.int64), "bar": z.copy(),
            "level": z.copy(), "scale1": z.copy(), "scale2": z.copy(), "seen2": z.copy(), "prev": z.copy(),
            "step": np.full(rows, np.nan), "integer": np.ones(rows), "tail": np.full(rows, _GAUSS_TAIL),
            "record": z.copy(), "slow": z.copy(), "scale3": z.copy(), "tail3": np.full(rows, _GAUSS_TAIL),
            "record3": z.copy(), "profile": np.full((rows, SLOTS), np.nan),
        }

    def _score_rows(
        self, latest: NDArray[np.float64], state: State, baseline: NDArray[np.float64] | None = None,
        valid: NDArray[np.bool_] | None = None, times: NDArray[np.float64] | None = None,
    ) -> RowScores:
        """Judge and learn one value per row (``baseline`` is not used: the state is the baseline)."""
        x = np.array(latest, dtype=float)
        rows = len(x)
        scores = np.full(rows, np.nan)
        centers = state["level"].copy()
        scales = np.full(rows, np.nan)
        flagged = np.zeros(rows, dtype=bool)
        fin = np.isfinite(x)
        first = fin & (state["n"] == 0)
        if first.any():
            state["level"][first] = state["prev"][first] = x[first]
            state["integer"][first] = x[first] == np.round(x[first])
            state["n"][first] = 1
        go = fin & ~first
        judged = go & (state["n"] >= self.warmup)
        if not go.any():
            return RowScores(scores, flagged, judged, centers, scales)
        every = bool(go.all())  # the common case: no subset copies
        idx = None if every else np.flatnonzero(go)
        sub = state if idx is None else {k: v[idx] for k, v in state.items()}
        slot = None
        if times is not None:
            t = np.asarray(times, dtype=float) if idx is None else np.asarray(times, dtype=float)[idx]
            with np.errstate(invalid="ignore"):
                slot = np.where(np.isfinite(t), np.mod(t, _DAY_S) // (_DAY_S / SLOTS), -1).astype(np.intp)
        xs = x if idx is None else x[idx]
        s, f, c, sc, ongoing = self._step(xs, sub, judged if idx is None else judged[idx], slot)
        if idx is None:
            scores, flagged, centers, scales, busy = s, f, c, sc, ongoing
            return RowScores(np.where(busy, np.nan, scores), flagged, judged & ~busy, centers, scales)
        for k, v in sub.items():
            state[k][idx] = v
        scores[idx], flagged[idx], centers[idx], scales[idx] = s, f, c, sc
        busy = np.zeros(rows, dtype=bool)
        busy[idx] = ongoing
        scores[busy] = np.nan
        return RowScores(scores, flagged, judged & ~busy, centers, scales)

    def _step(
        self, x: NDArray[np.float64], g: State, judged: NDArray[np.bool_], slot: NDArray[np.intp] | None
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        n, level = g["n"], g["level"]
        quantum = np.fmax(np.where(g["integer"] > 0.9, 1.0, 0.0), STEP_FRACTION * g["step"])  # NaN step: 0
        floor = scale_floor(quantum, level, np.isfinite(g["step"]))
        s1 = np.maximum(g["scale1"], floor)
        r1 = x - level
        a1 = np.abs(r1) / s1
        # the time-of-day profile: the usual value at this slot, once it has been learned
        rows = np.arange(len(x))
        has_slot = np.zeros(len(x), dtype=bool) if slot is None else slot >= 0
        at = np.where(has_slot, slot if slot is not None else 0, 0)
        own = np.where(has_slot, g["profile"][rows, at], np.nan)
        known = np.isfinite(own)
        # the usual value around this time of day: the slot or a neighbour, whichever is closest to the value
        # (a daily step rarely falls on a slot boundary)
        near = np.stack([g["profile"][rows, (at - 1) % SLOTS], own, g["profile"][rows, (at + 1) % SLOTS]])
        with np.errstate(invalid="ignore"):
            pick = np.argmin(np.where(np.isfinite(near), np.abs(near - x), np.inf), axis=0)
        expected = np.where(known, near[pick, rows], np.nan)
        s2 = np.maximum(g["scale2"], floor)
        r2 = np.where(known, x - expected, 0.0)
        r_own = np.where(known, x - own, 0.0)
        a2 = np.abs(r2) / s2
        use2 = known & (g["seen2"] > _PROFILE_MIN) & (s2 < s1)
        surprise = np.minimum(np.where(use2, a2, a1), _SURPRISE_CAP)
        signed = np.where(use2, r2, r1)
        # drift: the level (after this value) against a slow level that trails it
        new_level = level + np.maximum(1.0 / (n + 1.0), self.level_rate) * np.clip(r1, -self.clip * s1, self.clip * s1)
        s3 = np.maximum(g["scale3"], floor * self._level_resolution)
        r3 = new_level - g["slow"]
        a3 = np.minimum(np.abs(r3) / s3, _SURPRISE_CAP)
        # judged by the series' own recent surprises: its tail and its record
        by_tail = _GAUSS_TAIL * surprise / g["tail"]
        by_record = _RECORD_SCORE * surprise / np.maximum(g["record"], 1e-12)
        point = np.minimum(by_tail, by_record)
        drift = np.minimum(_GAUSS_TAIL * a3 / g["tail3"], _RECORD_SCORE * a3 / np.maximum(g["record3"], 1e-12))
        use3 = drift > point
        score = np.where(use3, np.copysign(drift, r3), np.copysign(point, signed))
        by_tail = np.where(use3, _GAUSS_TAIL * a3 / g["tail3"], by_tail)
        signed = np.where(use3, r3, signed)
        idle = g["hold"] == 0
        with np.errstate(invalid="ignore"):
            side = directional(score, self.direction)
            beyond = side > self.sensitivity
            flagged = judged & beyond & (idle | (side > self.escalate * g["bar"]))
        center = np.where(use3, g["slow"], np.where(use2, expected, level))
        scale = np.where(use3, s3 * g["tail3"], np.where(use2, s2, s1) * g["tail"]) / _GAUSS_TAIL

        # learning
        rate = np.maximum(1.0 / (n + 1.0), self.scale_rate)
        early = n < 10
        g["scale1"] = g["scale1"] + rate * (np.minimum(np.abs(r1), np.where(early, np.inf, self.clip * s1))
                                            * _SIGMA_PER_MEAN_ABS - g["scale1"])
        rate2 = np.maximum(1.0 / (g["seen2"] + 1.0), self.scale_rate)
        cap2 = np.where(g["seen2"] < 10, np.inf, self.clip * s2)
        g["scale2"] = np.where(known, g["scale2"] + rate2 * (np.minimum(np.abs(r2), cap2) * _SIGMA_PER_MEAN_ABS
                                                             - g["scale2"]), g["scale2"])
        g["seen2"] = g["seen2"] + known
        g["level"] = new_level
        g["scale3"] = g["scale3"] + rate * (np.minimum(np.abs(r3), np.where(early, np.inf, self.clip * s3))
                                            * _SIGMA_PER_MEAN_ABS - g["scale3"])
        g["slow"] = np.where(n == 1, new_level, g["slow"] + _SLOW_RATE * np.clip(r3, -self.clip * s3, self.clip * s3))
        if has_slot.any():
            learned = np.where(known, own + self.profile_rate * np.clip(r_own, -self.clip * s2, self.clip * s2), x)
            g["profile"][rows[has_slot], at[has_slot]] = learned[has_slot]
        learn = idle & ~flagged & ~early
        up, down = _TAIL_RATE * (1 - _TAIL_P), -_TAIL_RATE * _TAIL_P
        g["tail"] = np.where(learn, g["tail"] * np.exp(np.where(surprise > g["tail"], up, down)), g["tail"])
        g["tail3"] = np.where(learn, g["tail3"] * np.exp(np.where(a3 > g["tail3"], up, down)), g["tail3"])
        g["record"] = np.maximum(surprise, g["record"] * self._decay)
        g["record3"] = np.maximum(a3, g["record3"] * self._decay)
        # at the end of a hold the slow level adopts the level: a shift that persists becomes the new normal
        g["slow"] = np.where((g["hold"] == 1) & ~flagged, g["level"], g["slow"])
        g["bar"] = np.where(flagged, side, g["bar"])
        # an episode goes on while its values stay beyond the sensitivity by the tail alone (not new records)
        with np.errstate(invalid="ignore"):
            ongoing = ~idle & ~flagged & (directional(np.copysign(by_tail, signed), self.direction) > self.sensitivity)
        g["hold"] = np.where(flagged, self.hold, np.maximum(g["hold"] - 1, 0))
        # the resolution: a running median of the non-zero steps (log domain, 5 % moves); integers seen
        d = np.abs(x - g["prev"])
        with np.errstate(divide="ignore", invalid="ignore"):
            moved = np.where(d > g["step"], _STEP_RATE, -_STEP_RATE)
            g["step"] = np.where(d > 0, np.where(np.isnan(g["step"]), d, g["step"] * np.exp(moved)), g["step"])
        g["integer"] = g["integer"] + np.maximum(1.0 / (n + 1.0), _INT_RATE) * ((x == np.round(x)) - g["integer"])
        g["prev"] = x
        g["n"] = n + 1
        return np.where(judged, score, np.nan), flagged, center, scale, judged & ongoing

    def state_bytes(self) -> int:
        """Bytes of state per series (numpy arrays only)."""
        return sum(v[:1].nbytes for v in self.new_state(1).values())
