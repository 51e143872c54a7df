"""Seeded generator of labelled streams shaped like a recommender fleet's metrics.

Every stream is one metric series at a fixed interval (1 min, 5 min or 1 h):
latency percentiles with heavy tails, request and error counts (with long runs
of zeros at night), error rates, quality scores in [0, 1], CPU and memory.
Anomaly episodes are injected and labelled by their onset: spikes, dips, level
shifts up and down (that stay: the new normal), gradual degradation, variance
changes, flatlines, gaps (NaN) and seasonal pattern breaks. Hard normal cases
are *not* labelled: daily and weekly seasonality, traffic ramps, traffic steps
from deploys (an operator would not page on them), low-traffic nights.

No anomaly starts in the first 15 % of a stream (time for a detector to
learn), and episodes are spaced so that their scoring windows do not overlap.

>>> streams = generate(seed=1, count=6)
>>> len(streams), all(2000 <= len(s.values) <= 20000 for s in streams)
(6, True)
>>> generate(seed=1, count=6)[3].onsets == streams[3].onsets
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["Stream", "Episode", "generate", "SHAPES", "ANOMALIES"]

_Rng = np.random.Generator
_DAY_MIN = 1440


@dataclass(frozen=True)
class Episode:
    """One labelled anomaly: its kind and the points [start, end) it covers."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Stream:
    """One labelled stream: values (NaN for gaps) and its anomaly episodes."""

    name: str
    shape: str
    interval_min: int
    values: NDArray[np.float64]
    episodes: tuple[Episode, ...] = field(default=())

    @property
    def onsets(self) -> tuple[int, ...]:
        """Labelled onset index of each episode."""
        return tuple(e.start for e in self.episodes)


# --- normal behaviour ---------------------------------------------------------
def _daily(n: int, interval_min: int, rng: _Rng, depth: float) -> NDArray[np.float64]:
    """Traffic multiplier: a daily cycle (trough at night), a weekly dip on weekends."""
    t = np.arange(n) * interval_min / _DAY_MIN + rng.uniform(0, 1)
    day = 1.0 - depth * 0.5 * (1 + np.cos(2 * np.pi * (t - 0.1)))  # low near 0.1 day (night)
    week = np.clip(np.minimum(t % 7 - 5, 7 - t % 7) / 0.15, 0, 1)  # weekend, entered and left over ~3.6 h
    weekend = 1.0 - rng.uniform(0.1, 0.35) * week
    return np.clip(day * weekend, 0.02, None)


def _traffic(n: int, interval_min: int, rng: _Rng) -> NDArray[np.float64]:
    """Expected requests per interval: seasonality, a slow ramp and deploy steps (all normal)."""
    base = rng.uniform(5, 400) * interval_min
    mult = _daily(n, interval_min, rng, rng.uniform(0.3, 0.95))
    ramp = 1.0 + rng.uniform(-0.2, 0.6) * np.arange(n) / n
    steps = np.ones(n)
    for at in rng.integers(n // 5, n, rng.integers(0, 3)):
        steps[at:] *= rng.uniform(0.85, 1.2)
    return base * mult * ramp * steps


def _ar1(n: int, rng: _Rng, phi: float) -> NDArray[np.float64]:
    e = rng.standard_normal(n)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = phi * acc + e[i]
        out[i] = acc
    return out * np.sqrt(1 - phi * phi)


def _latency(n: int, interval_min: int, rng: _Rng) -> NDArray[np.float64]:
    """p95 latency in ms: lognormal noise, load-dependent, occasional heavy-tailed bursts."""
    load = _daily(n, interval_min, rng, rng.uniform(0.2, 0.8))
    base = rng.uniform(40, 900) * (1 + rng.uniform(0.0, 0.5) * load)
    sigma = rng.uniform(0.05, 0.25)
    noise = np.exp(sigma * _ar1(n, rng, rng.uniform(0.0, 0.6)))
    tail = np.where(rng.random(n) < 0.004, rng.pareto(3.0, n) * 0.3 + 1, 1.0)
    return np.round(base * noise * tail, 1)


def _requests(n: int, interval_min: int, rng: _Rng) -> NDArray[np.float64]:
    return rng.poisson(_traffic(n, interval_min, rng)).astype(float)


def _errors(n: int, interval_min: int, rng: _Rng) -> NDArray[np.float64]:
    rate = _traffic(n, interval_min, rng) * rng.uniform(0.0002, 0.004)
    return rng.poisson(rate).astype(float)


def _error_rate(n: int, interval_min: int, rng: _Rng) -> NDArray[np.float64]:
    req = rng.poisson(_traffic(n, interval_min, rng))
    err = rng.binomial(req, rng.uniform(0.001, 0.02))
    return np.where(req > 0, err / np.maximum(req, 1), 0.0)


def _quality(n: int, interval_min: int, rng: _Rng) -> NDArray[np.float64]:
    """Mean NDCG@10 per interval: noise shrinks with traffic."""
    req = np.maximum(rng.poisson(_traffic(n, interval_min, rng) * 0.1), 1)
    mean = rng.uniform(0.55, 0.85)
    return np.clip(mean + rng.standard_normal(n) * rng.uniform(0.1, 0.2) / np.sqrt(req), 0, 1)


def _cpu(n: int, interval_min: int, rng: _Rng) -> NDArray[np.float64]:
    """CPU % rounded to whole percent: load-following with AR(1) noise."""
    load = _daily(n, interval_min, rng, rng.uniform(0.2, 0.7))
    level = rng.uniform(10, 50) + rng.uniform(5, 30) * load + rng.uniform(1, 5) * _ar1(n, rng, 0.7)
    return np.clip(np.round(level), 0, 100)


def _memory(n: int, interval_min: int, rng: _Rng) -> NDArray[np.float64]:
    """Resident memory in MB: slow daily breathing and noise."""
    load = _daily(n, interval_min, rng, rng.uniform(0.1, 0.4))
    return np.round(rng.uniform(300, 4000) * (0.9 + 0.1 * load) + rng.normal(0, 3, n), 0)


SHAPES: dict[str, Callable[[int, int, _Rng], NDArray[np.float64]]] = {
    "latency_p95_ms": _latency, "requests": _requests, "errors": _errors, "error_rate": _error_rate,
    "ndcg_at_10": _quality, "cpu_percent": _cpu, "memory_mb": _memory,
}


# --- anomalies ----------------------------------------------------------------
def _local_spread(x: NDArray[np.float64], at: int) -> tuple[float, float]:
    ref = x[max(0, at - 300):at]
    ref = ref[np.isfinite(ref)]
    med = float(np.median(ref))
    spread = float(np.percentile(ref, 90) - np.percentile(ref, 10)) / 2.56
    return med, max(spread, 0.05 * abs(med), 1e-3)


def _shifted(x: NDArray[np.float64], s: int, e: int, delta: float, lo: float, hi: float) -> None:
    x[s:e] = np.clip(x[s:e] + delta, lo, hi)


def _inject(shape: str, kind: str, x: NDArray[np.float64], s: int, rng: _Rng) -> int:
    """Inject one anomaly of ``kind`` at ``s``; returns its end."""
    n = len(x)
    med, spread = _local_spread(x, s)
    sign = rng.choice([-1.0, 1.0])
    hi = 1.0 if shape in ("ndcg_at_10", "error_rate") else (100.0 if shape == "cpu_percent" else np.inf)
    mag = rng.uniform(5, 12) * spread
    if kind == "spike":
        e = s + int(rng.integers(1, 4))
        x[s:e] = np.clip(x[s:e] + mag * (1.5 if sign > 0 else -0.8), 0, hi)
    elif kind == "dip":
        e = s + int(rng.integers(5, 40))
        x[s:e] = np.clip(x[s:e] - max(mag, 0.5 * abs(med)), 0, hi)
    elif kind in ("level_up", "level_down"):
        e = n if rng.random() < 0.6 else min(n, s + int(rng.integers(200, 800)))
        step = rng.uniform(4, 8) * spread
        _shifted(x, s, e, step if kind == "level_up" else -min(step, 0.7 * abs(med) + spread), 0, hi)
    elif kind == "degradation":
        length = int(rng.integers(60, 300))
        e = min(n, s + length + int(rng.integers(100, 400)))
        ramp = np.minimum(np.arange(e - s) / length, 1.0) * rng.uniform(6, 12) * spread
        _shifted(x, s, e, ramp * (1 if shape not in ("ndcg_at_10", "requests") else -1), 0, hi)
    elif kind == "variance":
        e = min(n, s + int(rng.integers(60, 300)))
        x[s:e] = np.clip(med + (x[s:e] - med) * rng.uniform(4, 7) + rng.normal(0, 2 * spread, e - s), 0, hi)
    elif kind == "flatline":
        e = min(n, s + int(rng.integers(60, 300)))
        x[s:e] = x[s - 1] if np.isfinite(x[s - 1]) else med
    elif kind == "gap":
        e = min(n, s + int(rng.integers(10, 80)))
        x[s:e] = np.nan
    elif kind == "seasonal_break":
        e = min(n, s + int(rng.integers(100, 300)))
        x[s:e] = np.clip(med + rng.normal(0, 0.5 * spread, e - s) + sign * 3 * spread, 0, hi)
    else:
        msg = f"unknown anomaly kind {kind!r}; valid: {', '.join(ANOMALIES)}"
        raise ValueError(msg)
    return e


ANOMALIES = ("spike", "dip", "level_up", "level_down", "degradation", "variance", "flatline", "gap",
             "seasonal_break")
_KINDS_FOR = {
    "latency_p95_ms": ("spike", "level_up", "degradation", "variance", "gap", "level_down"),
    "requests": ("dip", "level_down", "seasonal_break", "gap", "spike", "flatline"),
    "errors": ("level_up", "spike", "degradation"),
    "error_rate": ("level_up", "spike", "degradation"),
    "ndcg_at_10": ("level_down", "dip", "variance", "degradation"),
    "cpu_percent": ("spike", "level_up", "flatline", "degradation", "variance"),
    "memory_mb": ("degradation", "level_up", "flatline", "spike"),
}


_INTEGER = ("requests", "errors", "cpu_percent", "memory_mb")


def _one(rng: _Rng, index: int, max_points: int) -> Stream:
    shape = list(SHAPES)[index % len(SHAPES)]
    interval = int(rng.choice([1, 5, 5, 60]))
    n = int(rng.integers(2000, min(max_points, 20000 if interval < 60 else 8000) + 1))
    x = SHAPES[shape](n, interval, rng)
    episodes: list[Episode] = []
    count = int(rng.choice([0, 1, 1, 2, 2, 3])) if index % 8 else 0  # every 8th stream is all normal
    if count:
        slot = (n - int(0.15 * n)) // count
        for k in range(count):
            lo = int(0.15 * n) + k * slot
            s = int(rng.integers(lo + slot // 5, lo + slot // 2))
            kind = str(rng.choice(_KINDS_FOR[shape]))
            end = _inject(shape, kind, x, s, rng)
            episodes.append(Episode(kind, s, min(end, n)))
    if shape in _INTEGER:
        x = np.round(x)
    return Stream(f"{index:02d}-{shape}", shape, interval, x, tuple(episodes))


def generate(seed: int = 20261129, count: int = 48, max_points: int = 20000) -> list[Stream]:
    """``count`` labelled streams from ``seed`` (the same arguments give the same streams).

    ``max_points`` (>= 2000) caps stream lengths, for quick runs.
    """
    if max_points < 2000:
        msg = f"max_points = {max_points!r} is not valid; expected an integer >= 2000"
        raise ValueError(msg)
    root = np.random.default_rng(seed)
    return [_one(np.random.default_rng(root.integers(2**63)), i, max_points) for i in range(count)]
