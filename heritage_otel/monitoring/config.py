"""The facade's configuration: the seed's keys and defaults, validated at start-up, and its name tables.

>>> cfg = settings({"retention_minutes": 30})
>>> cfg["retention_minutes"], cfg["check_interval_seconds"], "error_rate" in cfg["thresholds"]
(30, 60, True)
>>> settings({"retention_minute": 30})
Traceback (most recent call last):
...
ValueError: monitoring config key 'retention_minute' is not valid; valid keys: retention_minutes, anomaly_sensitivity, thresholds, replace_thresholds, check_interval_seconds, cooldown_minutes, alert_log_path, jaeger_url, reservoir_size, min_samples, service_name, system_metrics, slos, anomaly_detectors, psi_warning, psi_critical, ks_alpha, ks_min_statistic
>>> raw_bad_direction("query_latency"), raw_bad_direction("ndcg_at_10")
('up', 'down')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from heritage_otel import semconv
from heritage_otel.analysis.config import AnalyzerConfig
from heritage_otel.analysis.detectors import DEFAULT_DETECTOR, DETECTORS
from heritage_otel.analysis.thresholds import DEFAULT_THRESHOLDS
from heritage_otel.checks import check_bool, check_choice, check_int, check_number, invalid
from heritage_otel.indicators import bad_direction

__all__ = ["DEFAULTS", "DRIFT_KEYS", "EARLY_QUERIES", "SEED_ALERT_POLICY", "SEED_DETECTORS", "SEED_INDICATOR_NAMES", "SEED_METRICS",
           "raw_bad_direction", "settings"]

#: The seed's anomaly detectors, judged by ``check_anomalies`` besides the registry's default.
SEED_DETECTORS: Final = ("zscore", "mad")

#: Drift settings taken from the monitoring config into the Analyzer's (names and defaults are AnalyzerConfig's).
DRIFT_KEYS: Final = ("psi_warning", "psi_critical", "ks_alpha", "ks_min_statistic")

DEFAULTS: dict[str, Any] = {
    "retention_minutes": 60,
    "anomaly_sensitivity": 3.0,
    "thresholds": None,
    "replace_thresholds": False,
    "check_interval_seconds": 60,
    "cooldown_minutes": 15,
    "alert_log_path": "logs/alerts.jsonl",
    "jaeger_url": None,
    "reservoir_size": 10_000,
    "min_samples": 10,
    "service_name": None,
    "system_metrics": True,
    "slos": None,
    "anomaly_detectors": None,
    **{key: getattr(AnalyzerConfig, key) for key in DRIFT_KEYS},
}

#: The seed's check_* calls judge the data so far at once: no persistence or cold start (the rest of the
#: alert policy applies: direction, effect size, minimum sample count, one alert per signal, incidents).
SEED_ALERT_POLICY: Final[dict[str, dict[str, Any]]] = {"default": {"for_intervals": 1, "cold_start_intervals": 1}}

#: Seed metric name -> (OpenTelemetry histogram, the Instruments field recording it, factor from the seed's unit).
SEED_METRICS: Final[dict[str, tuple[str, str, float]]] = {
    "query_latency": (semconv.METRIC_QUERY_DURATION, "query_duration", 0.001),
    "num_results": (semconv.METRIC_RESULTS, "results", 1.0),
    "ndcg_at_10": (semconv.METRIC_NDCG_AT_10, "ndcg_at_10", 1.0),
    "precision_at_5": (semconv.METRIC_PRECISION_AT_5, "precision_at_5", 1.0),
    "diversity": (semconv.METRIC_DIVERSITY, "diversity", 1.0),
}


#: Queries recorded before ``serve_dashboard()`` that its query log shows (the seed's page: the last 50).
EARLY_QUERIES: Final = 50

#: The seed's names of three indicators, accepted in ``thresholds`` (the alerts then name ours).
SEED_INDICATOR_NAMES: Final[dict[str, str]] = {
    "component_failure_rate": "component_error_rate",
    "diversity_score": "diversity",
    "avg_results_returned": "results_per_query",
}


def _indicator_rules(user_rules: Mapping[str, Any]) -> dict[str, Any]:
    """``thresholds`` with the seed's indicator names translated (a name given both ways is an error)."""
    out: dict[str, Any] = {}
    for name, rule in user_rules.items():
        ours = SEED_INDICATOR_NAMES.get(name, name)
        if ours in out:
            msg = (f"monitoring config 'thresholds' names {ours!r} twice ({name!r} is the seed's name for it); "
                   "keep one")
            raise ValueError(msg)
        out[ours] = rule
    return out


def _detector_names(names: Any) -> tuple[str, ...]:
    """``anomaly_detectors``: registry names (None: the registry's default detector and the seed's two)."""
    if names is None:
        return tuple(dict.fromkeys((DEFAULT_DETECTOR, *SEED_DETECTORS)))
    valid = ", ".join(sorted(DETECTORS))
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
        raise invalid("monitoring config 'anomaly_detectors'", names, f"a non-empty list of detector names ({valid})")
    for name in names:
        check_choice("monitoring config 'anomaly_detectors'", name, sorted(DETECTORS))
    return tuple(dict.fromkeys(names))


def settings(config: Mapping[str, Any] | None) -> dict[str, Any]:
    if config is not None and not isinstance(config, Mapping):
        msg = f"config = {config!r} is not valid; expected a dict with keys among {', '.join(DEFAULTS)}"
        raise ValueError(msg)
    unknown = sorted(set(config or {}) - set(DEFAULTS))
    if unknown:
        msg = f"monitoring config key {unknown[0]!r} is not valid; valid keys: {', '.join(DEFAULTS)}"
        raise ValueError(msg)
    out = {**DEFAULTS, **(config or {})}
    for key in ("check_interval_seconds", "cooldown_minutes", "retention_minutes"):
        check_number(f"monitoring config {key!r}", out[key], minimum=0, exclusive_minimum=True)
    check_int("monitoring config 'reservoir_size'", out["reservoir_size"], minimum=1, maximum=10_000_000)
    for key in ("replace_thresholds", "system_metrics"):
        check_bool(f"monitoring config {key!r}", out[key])
    out["anomaly_detectors"] = _detector_names(out["anomaly_detectors"])
    name = out["service_name"]
    if name is not None and (not isinstance(name, str) or not name.strip()):
        msg = f"monitoring config 'service_name' = {name!r} is not valid; expected a non-empty string or None"
        raise ValueError(msg)
    user_rules = out["thresholds"]
    if user_rules is not None and not isinstance(user_rules, Mapping):
        msg = f"monitoring config 'thresholds' = {user_rules!r} is not valid; expected a dict of rule name -> rule dict"
        raise ValueError(msg)
    user_rules = _indicator_rules(user_rules or {})
    if out["replace_thresholds"]:
        out["thresholds"] = user_rules
    else:
        out["thresholds"] = {**DEFAULT_THRESHOLDS, **user_rules}
    return out


#: The facade's raw series (the seed's names) and the indicator whose bad direction each follows.
_RAW_SERIES_INDICATOR = {"query_latency": "query_latency_p95", "num_results": "results_per_query"}


def raw_bad_direction(name: str) -> str:
    """The direction in which a raw series of the facade gets worse, from the one indicator table."""
    if name.endswith("_latency") and name not in _RAW_SERIES_INDICATOR:
        return bad_direction("component_latency_p95")  # record_component_performance's series
    return bad_direction(_RAW_SERIES_INDICATOR.get(name, name))
