"""The indicator table: every metric and derived indicator heritage-otel knows, with what is bad about it.

One row per name (a raw OpenTelemetry metric from :mod:`heritage_otel.semconv`
or an indicator the Analyzer derives from one, see
:mod:`heritage_otel.analysis.indicators`):

- ``unit``: the unit of the values the Analyzer keeps (indicators in ms, raw
  durations in s, rates as fractions);
- ``raw_metric``: the OpenTelemetry metric the row is computed from;
- ``bad``: the direction that hurts: ``up`` (latency, error and fallback
  rates), ``down`` (quality, throughput, success), ``both``;
- ``signal``: rows sharing a signal are one signal for alerting (an
  indicator and its raw metric; the p50/p95/p99 of one histogram);
- ``threshold``: the default threshold rule (the seed's format) or None;
- ``detector``: the default anomaly detector, by registry name;
- ``pages``: whether an anomaly on this row can open an alert by itself
  (raw counters do not: their rates do, per query);
- ``drift``: whether distribution drift (PSI/KS) of this row's histogram pages.
  No row does by default: a drift window needs ``drift_window_points``
  intervals to clear, so a drift alert cannot resolve within a few intervals
  of recovery; the quality indicators' own effect size pages for a shifted
  query mix. Opt in per metric with ``alert_policy`` (``{"drift": true}``);
- ``volume``: a traffic row: its minimum sample count applies to the
  baseline, since a low value is the very thing it reports;
- ``min_relative_effect``/``min_absolute_effect``: the smallest change from
  the baseline, in the bad direction, worth an alert (in ``unit``);
- ``confirm``: another row (same series attributes) that must also have moved
  by at least half its effect size for an anomaly here to count: the query
  and component p95 are confirmed by their p50, so a stall of the host that slows the few
  queries in flight (the tail) does not page, a slower component (every
  query) does.

Every reader of "which way is bad" (the Analyzer's policy, the service, the
dashboard, the seed facade) asks :func:`bad_direction`; nothing else knows.
Standard library only, like :mod:`heritage_otel.semconv`.

>>> lookup("query_latency_p95").bad, lookup("ndcg_at_10").bad, lookup("heritage.quality.ndcg_at_10").bad
('up', 'down', 'both')
>>> lookup("heritage.component.duration").signal == lookup("component_latency_p95").signal
True
>>> bad_direction("throughput_qps"), bad_direction("my.custom.metric")
('down', 'both')
>>> is_worse("query_latency_p95", 120.0, 100.0), is_worse("query_latency_p95", 80.0, 100.0)
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from heritage_otel import semconv

__all__ = [
    "BAD_DIRECTIONS",
    "DEFAULT_DETECTOR",
    "INDICATOR_NAMES",
    "TABLE",
    "Indicator",
    "bad_direction",
    "default_thresholds",
    "is_worse",
    "lookup",
]

#: Valid values of :attr:`Indicator.bad`.
BAD_DIRECTIONS: Final = ("up", "down", "both")
#: The anomaly detector named by every row unless it says otherwise: the registry's default
#: (``heritage_otel.analysis.detectors.DEFAULT_DETECTOR``; this module imports nothing of ours).
DEFAULT_DETECTOR: Final = "surprise"


@dataclass(frozen=True)
class Indicator:
    """One row of the table (see the module docstring for the columns)."""

    name: str
    unit: str
    raw_metric: str
    bad: str
    signal: str
    derived: bool = True
    threshold: Mapping[str, float] | None = field(default=None, compare=False)
    detector: str = DEFAULT_DETECTOR
    pages: bool = True
    drift: bool = False
    volume: bool = False
    min_relative_effect: float = 0.5
    min_absolute_effect: float = 0.0
    confirm: str | None = None


def _ms(name: str, signal: str, raw: str, threshold: Mapping[str, float] | None = None, *,
        pages: bool = True, confirm: str | None = None) -> Indicator:
    return Indicator(name, "ms", raw, "up", signal, threshold=threshold, pages=pages, min_relative_effect=0.5,
                     min_absolute_effect=20.0, confirm=confirm)


def _rate(name: str, signal: str, raw: str, threshold: Mapping[str, float] | None = None) -> Indicator:
    # 0.1: two failures in an interval of 20 queries, not one (a rare failure is not an incident)
    return Indicator(name, "1", raw, "up", signal, threshold=threshold, min_relative_effect=1.0,
                     min_absolute_effect=0.1)


def _quality(name: str, raw: str, threshold: Mapping[str, float] | None = None) -> Indicator:
    # a mean of a few dozen per-query scores (std ~0.2) moves by ~0.04 from one interval to the next on its own
    return Indicator(name, "1", raw, "down", name, threshold=threshold, min_relative_effect=0.15,
                     min_absolute_effect=0.1)


def _raw(name: str, unit: str, bad: str, signal: str, *, pages: bool = False, drift: bool = False,
         rel: float = 0.5, abs_: float = 0.0) -> Indicator:
    return Indicator(name, unit, name, bad, signal, derived=False, pages=pages, drift=drift,
                     min_relative_effect=rel, min_absolute_effect=abs_)


_ROWS: Final = (
    # indicators (derived per interval and per resource by heritage_otel.analysis.indicators)
    # the p95 pages for the query latency signal: p99 of an interval of a few dozen queries is its maximum,
    # and testing p50, p95, p99 and the mean of one histogram is four chances of noise for one signal
    _ms("query_latency_p50", "query_latency", semconv.METRIC_QUERY_DURATION, pages=False),
    _ms("query_latency_p95", "query_latency", semconv.METRIC_QUERY_DURATION,
        {"max": 2000, "warning": 1800, "critical": 3000}, confirm="query_latency_p50"),
    _ms("query_latency_p99", "query_latency", semconv.METRIC_QUERY_DURATION, pages=False),
    _ms("query_latency_mean", "query_latency", semconv.METRIC_QUERY_DURATION, pages=False),
    _ms("component_latency_p50", "component_latency", semconv.METRIC_COMPONENT_DURATION, pages=False),
    _ms("component_latency_p95", "component_latency", semconv.METRIC_COMPONENT_DURATION,
        confirm="component_latency_p50"),
    _rate("error_rate", "errors", semconv.METRIC_QUERIES, {"max": 0.01, "warning": 0.005, "critical": 0.05}),
    _rate("component_error_rate", "errors", semconv.METRIC_ERRORS),
    _rate("fallback_rate", "fallbacks", semconv.METRIC_FALLBACKS),
    _rate("empty_result_rate", "empty_results", semconv.METRIC_EMPTY_RESULTS),
    Indicator("cache_hit_rate", "1", semconv.METRIC_CACHE_REQUESTS, "down", "cache_hits",
              min_relative_effect=0.3, min_absolute_effect=0.1),
    _quality("ndcg_at_10", semconv.METRIC_NDCG_AT_10, {"min": 0.6, "warning": 0.65, "critical": 0.5}),
    _quality("precision_at_5", semconv.METRIC_PRECISION_AT_5),
    _quality("diversity", semconv.METRIC_DIVERSITY),
    Indicator("results_per_query", "{result}", semconv.METRIC_RESULTS, "down", "results",
              min_relative_effect=0.3, min_absolute_effect=1.0),
    Indicator("throughput_qps", "{query}/s", semconv.METRIC_QUERIES, "down", "throughput", volume=True,
              min_relative_effect=0.5),
    Indicator("query_count", "{query}", semconv.METRIC_QUERIES, "down", "throughput", pages=False, volume=True,
              min_relative_effect=0.5),
    # raw OpenTelemetry metrics (values per interval: p95 of durations, mean of other histograms, deltas of sums)
    _raw(semconv.METRIC_QUERY_DURATION, "s", "up", "query_latency", abs_=0.02),
    _raw(semconv.METRIC_COMPONENT_DURATION, "s", "up", "component_latency", abs_=0.02),
    _raw(semconv.METRIC_COMPONENT_USES, "{query}", "down", "component_uses"),
    _raw(semconv.METRIC_OPERATION_DURATION, "s", "up", "operation_latency", abs_=0.02),
    _raw(semconv.METRIC_QUERIES, "{query}", "down", "throughput"),
    _raw(semconv.METRIC_ERRORS, "{error}", "up", "errors"),
    _raw(semconv.METRIC_FALLBACKS, "{fallback}", "up", "fallbacks"),
    _raw(semconv.METRIC_EMPTY_RESULTS, "{query}", "up", "empty_results"),
    _raw(semconv.METRIC_CACHE_REQUESTS, "{request}", "both", "cache_hits"),
    _raw(semconv.METRIC_RESULTS, "{result}", "down", "results"),
    _raw(semconv.METRIC_NDCG_AT_10, "1", "both", "ndcg_at_10"),
    _raw(semconv.METRIC_PRECISION_AT_5, "1", "both", "precision_at_5"),
    _raw(semconv.METRIC_DIVERSITY, "1", "both", "diversity"),
)

#: Name -> row, indicators first.
TABLE: Final[Mapping[str, Indicator]] = {row.name: row for row in _ROWS}
#: The names of the derived indicators.
INDICATOR_NAMES: Final = frozenset(row.name for row in _ROWS if row.derived)


def lookup(name: str) -> Indicator | None:
    """The row of ``name`` (an indicator or raw metric), or None for a metric the package does not know."""
    return TABLE.get(name)


def bad_direction(name: str) -> str:
    """``up``, ``down`` or ``both`` (for a metric the table does not know)."""
    row = TABLE.get(name)
    return row.bad if row is not None else "both"


def is_worse(name: str, value: float, reference: float) -> bool:
    """True when ``value`` is worse than ``reference`` for ``name`` (any change, for ``both``)."""
    bad = bad_direction(name)
    if bad == "up":
        return value > reference
    if bad == "down":
        return value < reference
    return value != reference


def default_thresholds() -> dict[str, dict[str, float]]:
    """The default threshold rules of the table (the seed's), as a fresh dict."""
    return {row.name: dict(row.threshold) for row in _ROWS if row.threshold is not None}
