"""Threshold rules in the seed's format, validated at construction and evaluated vectorised.

A rule set maps an indicator name (see :mod:`heritage_otel.analysis.indicators`)
or any recorded metric's name (an OpenTelemetry instrument name) to a dict with either ``max`` (upper limit) or ``min`` (lower limit), plus
optional ``warning`` and ``critical`` levels::

    {'query_latency_p95': {'max': 2000, 'warning': 1800, 'critical': 3000},
     'ndcg_at_10': {'min': 0.6, 'warning': 0.65, 'critical': 0.5},
     'error_rate': {'max': 0.01, 'warning': 0.005, 'critical': 0.05}}

Levels, for a ``max`` rule (mirror image for ``min``): the value is CRITICAL
when beyond ``critical``; WARNING when beyond the first of ``warning`` and
``max`` it crosses (``warning`` is the early warning, ``max`` the limit
itself); otherwise fine. Comparisons are strict (equal to a level is fine).

>>> rules = ThresholdRules({'error_rate': {'max': 0.01, 'warning': 0.005, 'critical': 0.05}})
>>> import numpy as np
>>> levels, crossed = rules.evaluate(np.array([0, 0, 0]), np.array([0.001, 0.02, 0.08]))
>>> levels.tolist(), crossed.tolist()
([0, 2, 3], [nan, 0.005, 0.05])
>>> ThresholdRules({'error_rate': {'max': 'high'}})
Traceback (most recent call last):
...
ValueError: threshold rule 'error_rate': key 'max' = 'high' is not valid; expected a finite number
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from heritage_otel.analysis.indicators import INDICATORS
from heritage_otel.indicators import default_thresholds

__all__ = ["DEFAULT_THRESHOLDS", "ThresholdRule", "ThresholdRules", "LEVEL_NONE", "LEVEL_WARNING", "LEVEL_CRITICAL"]

LEVEL_NONE: Final = 0
LEVEL_WARNING: Final = 2
LEVEL_CRITICAL: Final = 3
_KEYS: Final = ("max", "min", "warning", "critical")
#: OpenTelemetry's instrument name syntax: a rule may name any recorded metric.
_METRIC_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/]{0,254}")

#: The seed's thresholds (latency in milliseconds, rates as fractions): the table's default rules
#: (:func:`heritage_otel.indicators.default_thresholds`).
DEFAULT_THRESHOLDS: Final[Mapping[str, Mapping[str, float]]] = default_thresholds()


@dataclass(frozen=True)
class ThresholdRule:
    """One validated rule: ``upper`` True for ``max`` rules; the value at which WARNING and CRITICAL start."""

    name: str
    upper: bool
    limit: float
    warning_at: float
    critical_at: float

    def describe(self) -> str:
        """Human-readable summary, e.g. ``max 2000 (warning 1800, critical 3000)``."""
        word = "max" if self.upper else "min"
        return f"{word} {self.limit:g} (warning {self.warning_at:g}, critical {self.critical_at:g})"


def _bad(name: str, key: str, value: Any, valid: str) -> ValueError:
    return ValueError(f"threshold rule {name!r}: key {key!r} = {value!r} is not valid; {valid}")


def _parse(name: Any, spec: Any) -> ThresholdRule:
    if not isinstance(name, str) or not (name in INDICATORS or _METRIC_NAME.fullmatch(name)):
        msg = (f"threshold rule {name!r} is not valid; expected an indicator ({', '.join(sorted(INDICATORS))}) "
               "or a metric name (a letter, then up to 254 letters, digits, '_', '.', '-', '/')")
        raise ValueError(msg)
    near = [] if name in INDICATORS else difflib.get_close_matches(name, INDICATORS, n=1, cutoff=0.9)
    if near:  # a typo of an indicator would otherwise be a metric that is never recorded
        msg = f"threshold rule {name!r} is not valid; did you mean the indicator {near[0]!r}?"
        raise ValueError(msg)
    if not isinstance(spec, Mapping):
        msg = f"threshold rule {name!r} = {spec!r} is not valid; expected a dict with 'max' or 'min' and optional 'warning', 'critical'"
        raise ValueError(msg)
    values: dict[str, float] = {}
    for key, raw in spec.items():
        if key not in _KEYS:
            raise _bad(name, str(key), raw, f"valid keys: {', '.join(_KEYS)}")
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise _bad(name, key, raw, "expected a finite number")
        values[key] = float(raw)
    if ("max" in values) == ("min" in values):
        msg = f"threshold rule {name!r} = {dict(spec)!r} is not valid; give exactly one of 'max' or 'min'"
        raise ValueError(msg)
    upper = "max" in values
    limit = values["max"] if upper else values["min"]
    warning = values.get("warning", limit)
    critical = values.get("critical", math.inf if upper else -math.inf)
    if upper:
        warning_at = min(warning, limit)
        if critical < warning_at:
            raise _bad(name, "critical", spec["critical"], f"expected >= the warning level {warning_at:g} for a 'max' rule")
    else:
        warning_at = max(warning, limit)
        if critical > warning_at:
            raise _bad(name, "critical", spec["critical"], f"expected <= the warning level {warning_at:g} for a 'min' rule")
    return ThresholdRule(name, upper, limit, warning_at, critical)


class ThresholdRules:
    """A validated rule set; :meth:`evaluate` judges many values at once."""

    def __init__(self, rules: Mapping[str, Mapping[str, float]] | None = None) -> None:
        if rules is None:
            rules = DEFAULT_THRESHOLDS
        if not isinstance(rules, Mapping):
            msg = f"thresholds = {rules!r} is not valid; expected a dict of rule name -> rule dict"
            raise ValueError(msg)
        self.rules: tuple[ThresholdRule, ...] = tuple(_parse(n, s) for n, s in rules.items())
        self.index: dict[str, int] = {r.name: i for i, r in enumerate(self.rules)}
        self._upper = np.array([r.upper for r in self.rules], dtype=bool)
        self._warn = np.array([r.warning_at for r in self.rules], dtype=float)
        self._crit = np.array([r.critical_at for r in self.rules], dtype=float)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, name: str) -> ThresholdRule | None:
        """The rule for indicator ``name``, if any."""
        i = self.index.get(name)
        return None if i is None else self.rules[i]

    def evaluate(self, rule_idx: NDArray[np.intp], values: NDArray[np.float64]) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
        """Levels (0, 2 WARNING, 3 CRITICAL) and the level value crossed (NaN if none), per value.

        ``rule_idx[i]`` is the rule judging ``values[i]``; NaN values are fine (level 0).
        """
        idx = np.asarray(rule_idx, dtype=np.intp)
        v = np.asarray(values, dtype=float)
        if len(self.rules) == 0 or len(idx) == 0:
            return np.zeros(len(v), dtype=np.int8), np.full(len(v), np.nan)
        upper = self._upper[idx]
        warn = self._warn[idx]
        crit = self._crit[idx]
        with np.errstate(invalid="ignore"):
            is_crit = np.where(upper, v > crit, v < crit)
            is_warn = np.where(upper, v > warn, v < warn)
        levels = np.where(is_crit, LEVEL_CRITICAL, np.where(is_warn, LEVEL_WARNING, LEVEL_NONE)).astype(np.int8)
        crossed = np.where(is_crit, crit, np.where(is_warn, warn, np.nan))
        return levels, crossed
