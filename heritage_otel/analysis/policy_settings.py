"""The alert policy's settings (per table row, overridden per metric, indicator or signal), validated at
start-up; :mod:`~heritage_otel.analysis.policy` applies them.

>>> s = PolicySettings.resolve("query_latency_p95", {"query_latency": {"min_absolute_effect": 50}})
>>> s.for_intervals, s.resolve_after, s.min_absolute_effect, s.min_relative_effect
(2, 1, 50.0, 0.5)
>>> PolicySettings.resolve("error_rate", {"default": {"for": 2}})
Traceback (most recent call last):
...
ValueError: alert_policy['default']: setting 'for' is not valid; valid settings: for_intervals, resolve_after, min_relative_effect, min_absolute_effect, hysteresis, min_count, cold_start_intervals, min_drift, pages, drift
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from heritage_otel.checks import check_bool, check_int, check_number, invalid
from heritage_otel.indicators import TABLE, Indicator, lookup

__all__ = ["DEFAULT_KEY", "DRIFT_DETECTORS", "THRESHOLD_DETECTOR", "PolicySettings", "signal_of", "validate_policy"]

THRESHOLD_DETECTOR: Final = "threshold"
DRIFT_DETECTORS: Final = frozenset({"psi", "ks"})
#: Policy keys that are not metric names.
DEFAULT_KEY: Final = "default"
_SIGNALS: Final = frozenset(row.signal for row in TABLE.values())


@dataclass(frozen=True)
class PolicySettings:
    """The policy for one metric: defaults from its table row, overridden by ``alert_policy``."""

    for_intervals: int = 2
    resolve_after: int = 1
    min_relative_effect: float = 0.5
    min_absolute_effect: float = 0.0
    hysteresis: float = 0.5
    min_count: int = 10
    cold_start_intervals: int = 5
    min_drift: float = 0.25
    pages: bool = True
    drift: bool = False

    def __post_init__(self) -> None:
        check_int("for_intervals", self.for_intervals, minimum=1)
        check_int("resolve_after", self.resolve_after, minimum=1)
        for name in ("min_relative_effect", "min_absolute_effect", "min_drift"):
            object.__setattr__(self, name, check_number(name, getattr(self, name), minimum=0))
        object.__setattr__(self, "hysteresis", check_number("hysteresis", self.hysteresis, minimum=0, maximum=1))
        check_int("min_count", self.min_count, minimum=0)
        check_int("cold_start_intervals", self.cold_start_intervals, minimum=1)
        check_bool("pages", self.pages)
        check_bool("drift", self.drift)

    @staticmethod
    def names() -> tuple[str, ...]:
        """The setting names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(PolicySettings))

    @classmethod
    def for_row(cls, row: Indicator | None) -> PolicySettings:
        """The defaults of a table row (a metric the table does not know never pages by itself)."""
        if row is None:
            return cls(pages=False)
        return cls(min_relative_effect=row.min_relative_effect, min_absolute_effect=row.min_absolute_effect,
                   pages=row.pages, drift=row.drift)

    @classmethod
    def resolve(cls, metric: str, policy: Mapping[str, Mapping[str, Any]] | None = None) -> PolicySettings:
        """Settings of ``metric``: its row's defaults, then ``policy['default']``, its signal's and its own."""
        row = lookup(metric)
        settings = cls.for_row(row)
        policy = policy or {}
        for key in (DEFAULT_KEY, row.signal if row is not None else None, metric):
            if key is not None and key in policy:
                settings = settings._with(key, policy[key])
        return settings

    def _with(self, key: str, overrides: Any) -> PolicySettings:
        if not isinstance(overrides, Mapping):
            raise invalid(f"alert_policy[{key!r}]", overrides, "a mapping of setting -> value")
        valid = self.names()
        for name in overrides:
            if name not in valid:
                msg = f"alert_policy[{key!r}]: setting {name!r} is not valid; valid settings: {', '.join(valid)}"
                raise ValueError(msg)
        try:
            return dataclasses.replace(self, **dict(overrides))
        except ValueError as exc:
            msg = f"alert_policy[{key!r}]: {exc}"
            raise ValueError(msg) from None


def validate_policy(policy: Any) -> None:
    """Raise ValueError naming the key, setting and value when ``policy`` is not a valid ``alert_policy``.

    Keys are ``default``, a signal (``query_latency``), an indicator or any metric name.

    >>> validate_policy({"error_rate": {"min_count": -1}})
    Traceback (most recent call last):
    ...
    ValueError: alert_policy['error_rate']: min_count = -1 is not valid; expected an integer >= 0
    """
    if not isinstance(policy, Mapping):
        raise invalid("alert_policy", policy, "a mapping of metric (or 'default') -> settings")
    for key, overrides in policy.items():
        if not isinstance(key, str) or not key:
            msg = f"alert_policy key {key!r} is not valid; expected 'default', a signal, indicator or metric name"
            raise ValueError(msg)
        PolicySettings()._with(key, overrides)
        if key not in (DEFAULT_KEY, *_SIGNALS):
            PolicySettings.resolve(key, policy)


def signal_of(metric: str) -> str:
    """The signal a metric belongs to (its own name when the table does not know it).

    >>> signal_of("heritage.query.duration"), signal_of("query_latency_p99"), signal_of("x")
    ('query_latency', 'query_latency', 'x')
    """
    row = lookup(metric)
    return row.signal if row is not None else metric
