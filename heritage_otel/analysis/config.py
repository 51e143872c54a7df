"""Analyzer configuration: one frozen dataclass, defaults named once, validated at construction.

>>> cfg = AnalyzerConfig()
>>> cfg.points, cfg.sensitivity, cfg.anomaly_detectors
(60, None, ('surprise',))

Anomaly detectors are chosen by registry name, for every series
(``anomaly_detectors``) or per metric (``metric_detectors``); an entry is a
name or a mapping with ``name`` and the detector's settings (as YAML/JSON
give them):

>>> cfg = AnalyzerConfig(metric_detectors={"query_latency_p95": [{"name": "adaptive", "direction": "up"}, "mad"]})
>>> [(d.name, d.direction) for d in cfg.build_detectors(cfg.detectors_for("query_latency_p95"))]
[('adaptive', 'up'), ('mad', 'both')]
>>> AnalyzerConfig(anomaly_detectors=[{"name": "adaptive", "hold": -1}])
Traceback (most recent call last):
...
ValueError: anomaly_detectors: hold = -1 is not valid; expected an integer >= 0 (values after a flag before another)
>>> AnalyzerConfig(retention_minutes=0)
Traceback (most recent call last):
...
ValueError: retention_minutes = 0 is not valid; expected a number > 0 (minutes of history kept per series)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from heritage_otel.analysis.detectors import DEFAULT_DETECTOR, DETECTORS as _ANOMALY, Detector, create
from heritage_otel.analysis.policy_settings import validate_policy
from heritage_otel.analysis.thresholds import DEFAULT_THRESHOLDS, ThresholdRules
from heritage_otel.checks import check_int, check_number, invalid

__all__ = ["AnalyzerConfig", "DETECTORS", "ANOMALY_DETECTORS", "DetectorSpec"]

#: Anomaly detector names (the registry's).
ANOMALY_DETECTORS = tuple(_ANOMALY)
#: Detector names as they appear in findings and alerts.
DETECTORS = ("threshold", *ANOMALY_DETECTORS, "psi", "ks")

#: One configured detector: its registry name and its settings (sorted ``(key, value)`` pairs).
DetectorSpec = tuple[str, tuple[tuple[str, Any], ...]]


def _specs(setting: str, value: Any) -> tuple[DetectorSpec, ...]:
    """Normalise a list of detector names / ``{"name": ..., setting: value}`` mappings; raise naming the problem."""
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        msg = (f"{setting} = {value!r} is not valid; expected a list of detector names or mappings with 'name' "
               f"and settings; valid detectors: {', '.join(ANOMALY_DETECTORS)}")
        raise ValueError(msg)
    out: list[DetectorSpec] = []
    for item in value:
        if isinstance(item, str):
            name, settings = item, {}
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
            name, settings = item["name"], {k: v for k, v in item.items() if k != "name"}
        else:
            msg = f"{setting}: entry {item!r} is not valid; expected a detector name or a mapping with 'name'"
            raise ValueError(msg)
        try:
            create(name, **settings)
        except ValueError as exc:
            raise ValueError(f"{setting}: {exc}") from None
        spec = (name, tuple(sorted(settings.items())))
        if spec not in out:
            out.append(spec)
    return tuple(out)


def _number(name: str, value: Any, minimum: float, what: str, *, strict: bool = True) -> None:
    check_number(name, value, minimum=float(minimum), exclusive_minimum=strict, what=what)


#: Most points a series window may hold (memory is points x series x buckets), and most seconds an interval may be.
MAX_POINTS = 100_000
MAX_DRIFT_POINTS = 10_000
MAX_INTERVAL_S = 86_400.0
MAX_RETENTION_MINUTES = 30 * 24 * 60.0


def _at_most(name: str, value: Any, maximum: float, what: str) -> None:
    if value > maximum:
        raise invalid(name, value, f"at most {maximum:g} ({what})")


def _integer(name: str, value: Any, minimum: int, what: str) -> None:
    check_int(name, value, minimum=minimum, what=what)


@dataclass(frozen=True)
class AnalyzerConfig:
    """Settings of the :class:`~heritage_otel.analysis.analyzer.Analyzer` (see docs/analysis.md)."""

    retention_minutes: float = 60.0
    interval_seconds: float = 60.0
    window_points: int | None = None
    sensitivity: float | None = None
    critical_factor: float = 2.0
    min_samples: int = 10
    anomaly_detectors: tuple[Any, ...] = (DEFAULT_DETECTOR,)
    metric_detectors: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    psi_warning: float = 0.1
    psi_critical: float = 0.2
    ks_alpha: float = 0.05
    ks_min_statistic: float = 0.1
    drift_baseline_points: int = 30
    drift_window_points: int = 15
    drift_min_count: int = 50
    stale_after_intervals: float = 3.0
    max_series: int = 100_000
    #: Seconds without a point after which a series' window may be reused for a new series (None: never).
    series_idle_s: float | None = None
    #: Histogram buckets (series x buckets) kept for drift; a new histogram series beyond it gets no drift window.
    max_bucket_cells: int = 1_000_000
    resource_label_keys: tuple[str, ...] = ("service.name",)
    #: Alert policy overrides per metric, indicator, signal or ``default`` (see heritage_otel.analysis.policy).
    alert_policy: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _number("retention_minutes", self.retention_minutes, 0, "minutes of history kept per series")
        _number("interval_seconds", self.interval_seconds, 0, "the metric export interval")
        if self.window_points is not None:
            _integer("window_points", self.window_points, 3, "points per series window; None derives it")
        if self.sensitivity is not None:
            _number("sensitivity", self.sensitivity, 0, "every detector's sensitivity; None: each its own default")
        _number("critical_factor", self.critical_factor, 1, "CRITICAL when |score| > factor x sensitivity", strict=False)
        _integer("min_samples", self.min_samples, 2, "baseline points needed before judging")
        _specs("anomaly_detectors", self.anomaly_detectors)
        if not isinstance(self.metric_detectors, Mapping):
            raise invalid("metric_detectors", self.metric_detectors, "a mapping metric -> detectors")
        for metric, value in self.metric_detectors.items():
            _specs(f"metric_detectors[{metric!r}]", value)
        ThresholdRules(self.thresholds)  # raises with the rule, key and value
        _number("psi_warning", self.psi_warning, 0, "PSI at which drift is a WARNING")
        _number("psi_critical", self.psi_critical, self.psi_warning, "PSI for CRITICAL, >= psi_warning", strict=False)
        _number("ks_alpha", self.ks_alpha, 0, "KS p-value below which drift is reported")
        if self.ks_alpha >= 1:
            raise invalid("ks_alpha", self.ks_alpha, "a number in (0, 1)")
        _number("ks_min_statistic", self.ks_min_statistic, 0, "smallest KS distance reported", strict=False)
        _integer("drift_baseline_points", self.drift_baseline_points, 1, "intervals learned as the drift reference")
        _integer("drift_window_points", self.drift_window_points, 1, "intervals in the current drift window")
        _integer("drift_min_count", self.drift_min_count, 1, "observations needed on each side for drift")
        _number("stale_after_intervals", self.stale_after_intervals, 0, "a series older than this is not judged")
        _integer("max_series", self.max_series, 1, "cardinality limit; new series beyond it are dropped")
        _integer("max_bucket_cells", self.max_bucket_cells, 1, "histogram buckets kept for drift")
        if self.series_idle_s is not None:
            _number("series_idle_s", self.series_idle_s, 0, "seconds idle before a series may be evicted")
        for name, maximum, what in (
            ("interval_seconds", MAX_INTERVAL_S, "the metric export interval, seconds"),
            ("retention_minutes", MAX_RETENTION_MINUTES, "minutes of history kept per series"),
            ("min_samples", MAX_POINTS, "baseline points needed before judging"),
            ("drift_baseline_points", MAX_DRIFT_POINTS, "intervals learned as the drift reference"),
            ("drift_window_points", MAX_DRIFT_POINTS, "intervals in the current drift window"),
            ("max_series", 10_000_000, "cardinality limit"),
        ):
            _at_most(name, getattr(self, name), maximum, what)
        if self.interval_seconds < 0.001:
            raise invalid("interval_seconds", self.interval_seconds, "at least 0.001 (seconds)")
        if self.points > MAX_POINTS:
            source = "window_points" if self.window_points is not None else "retention_minutes / interval_seconds"
            msg = (f"{source} = {self.points} points per series is not valid; expected at most {MAX_POINTS} "
                   f"(raise interval_seconds or lower retention_minutes)")
            raise ValueError(msg)
        validate_policy(self.alert_policy)
        if self.window_points is not None and self.window_points <= self.min_samples:
            raise invalid("window_points", self.window_points, f"> min_samples ({self.min_samples})")

    @property
    def points(self) -> int:
        """Points kept per series: ``window_points`` or ``ceil(retention / interval)`` (at least min_samples + 1)."""
        if self.window_points is not None:
            return self.window_points
        derived = math.ceil(self.retention_minutes * 60.0 / self.interval_seconds)
        return max(derived, self.min_samples + 1)

    def detectors_for(self, metric: str) -> tuple[DetectorSpec, ...]:
        """The detectors that judge ``metric``: its ``metric_detectors`` entry, else ``anomaly_detectors``."""
        value = self.metric_detectors.get(metric)
        return _specs("anomaly_detectors" if value is None else f"metric_detectors[{metric!r}]",
                      self.anomaly_detectors if value is None else value)

    def build_detectors(self, specs: tuple[DetectorSpec, ...]) -> list[Detector]:
        """Detectors for ``specs``; ``sensitivity`` and ``min_samples`` apply where a spec does not set them.

        ``min_samples`` is also a streaming detector's ``warmup`` in the Analyzer:
        a standalone detector learns long (``adaptive``: 150 values) because
        nothing else guards its first flags, while here the alert policy's cold
        start, persistence and effect size do, so a new service is judged after
        minutes, not hours (``benchmarks/scenarios``).
        """
        out = []
        for name, pairs in specs:
            settings = dict(pairs)
            if self.sensitivity is not None:
                settings.setdefault("sensitivity", self.sensitivity)
            parameters = inspect.signature(_ANOMALY[name]).parameters
            if "min_samples" in parameters:
                settings.setdefault("min_samples", self.min_samples)
            if "warmup" in parameters:
                settings.setdefault("warmup", self.min_samples)
            out.append(create(name, **settings))
        return out

    @property
    def retention_s(self) -> float:
        """Retention in seconds."""
        return self.retention_minutes * 60.0
