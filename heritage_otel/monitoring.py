"""The seed's monitoring API (``utils/monitoring.py``), backed by OpenTelemetry and the Analyzer.

Thin glue, not a second implementation: ``record_query`` records the
heritage-otel instruments (on the global MeterProvider, so the data reaches
the Collector, and on a private SDK MeterProvider whose
``PeriodicExportingMetricReader`` feeds an
:class:`~heritage_otel.analysis.AnalyzingMetricExporter`). Thresholds,
anomalies and drift are judged by :class:`~heritage_otel.analysis.Analyzer`
and the analysis detectors; alerts are kept by
:class:`~heritage_otel.analysis.AlertManager`. Where the seed's API needs raw
values (``metrics.get_recent_values``, ``get_stats``, ``check_anomalies``,
``check_drift``) a bounded reservoir is kept beside the instruments.

>>> from heritage_otel.monitoring import initialize_monitoring
>>> monitor = initialize_monitoring(config={"retention_minutes": 60, "anomaly_sensitivity": 3.0,
...     "alert_log_path": None}, start_background=False)
>>> for i in range(20):
...     monitor.record_query(f"q_{i:03d}", latency_ms=100 + i, num_results=10, ndcg=0.75,
...                          components_used=["simrank", "horn_index"])
>>> monitor.metrics.get_stats("query_latency")["count"]
20
>>> monitor.drift_detector.set_reference("query_latency", [100, 120, 110, 130, 105] * 20)
>>> monitor.check_drift("query_latency", [900, 950, 1000] * 20, method="psi")
True
>>> sorted(monitor.get_dashboard_data())
['alerts', 'components', 'indicators', 'metrics', 'system_health', 'timestamp']
>>> shutdown_monitoring()

Configuration keys (``initialize_monitoring(config=...)``; unknown keys and
bad values fail at start-up): ``retention_minutes`` (60),
``anomaly_sensitivity`` (3.0), ``thresholds`` (the seed's rules),
``check_interval_seconds`` (60; the background export/evaluation period),
``cooldown_minutes`` (15), ``alert_log_path`` (``logs/alerts.jsonl``; None
disables), ``jaeger_url`` (None), ``reservoir_size`` (10000 raw values per
metric), ``min_samples`` (10).

If the recommender is also auto-instrumented (``RecommenderInstrumentor``),
calling ``record_query`` as well counts each query twice on the global
provider: use one or the other.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import logging
import math
import threading
import time
from collections import Counter as _Counter
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from opentelemetry import metrics as otel_metrics
from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from heritage_otel import semconv
from heritage_otel.analysis import (
    DEFAULT_THRESHOLDS,
    Alert,
    AlertLevel,
    AlertManager,
    Analyzer,
    AnalyzingMetricExporter,
    MADDetector,
    ZScoreDetector,
    compute_health,
    ks,
    psi,
)
from heritage_otel.analysis.findings import Finding, anomaly_finding, ks_finding, psi_finding
from heritage_otel.analysis.sinks import JsonlFileSink
from heritage_otel.instruments import Instruments, instruments_for

__all__ = [
    "Alert",
    "AlertLevel",
    "DriftDetector",
    "MetricsStore",
    "Monitor",
    "get_monitor",
    "initialize_monitoring",
    "shutdown_monitoring",
]

_log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "retention_minutes": 60,
    "anomaly_sensitivity": 3.0,
    "thresholds": DEFAULT_THRESHOLDS,
    "check_interval_seconds": 60,
    "cooldown_minutes": 15,
    "alert_log_path": "logs/alerts.jsonl",
    "jaeger_url": None,
    "reservoir_size": 10_000,
    "min_samples": 10,
}

#: Seed metric name -> (OpenTelemetry histogram, factor from the seed's unit to the instrument's).
SEED_TO_OTEL: dict[str, tuple[str, float]] = {
    "query_latency": (semconv.METRIC_QUERY_DURATION, 0.001),
    "num_results": (semconv.METRIC_RESULTS, 1.0),
    "ndcg_at_10": (semconv.METRIC_NDCG_AT_10, 1.0),
    "precision_at_5": (semconv.METRIC_PRECISION_AT_5, 1.0),
    "diversity": (semconv.METRIC_DIVERSITY, 1.0),
}


def _settings(config: Mapping[str, Any] | None) -> dict[str, Any]:
    if config is not None and not isinstance(config, Mapping):
        msg = f"config = {config!r} is not valid; expected a dict with keys among {', '.join(DEFAULTS)}"
        raise ValueError(msg)
    unknown = sorted(set(config or {}) - set(DEFAULTS))
    if unknown:
        msg = f"monitoring config key {unknown[0]!r} is not valid; valid keys: {', '.join(DEFAULTS)}"
        raise ValueError(msg)
    out = {**DEFAULTS, **(config or {})}
    for key in ("check_interval_seconds", "cooldown_minutes", "retention_minutes", "reservoir_size"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            msg = f"monitoring config {key!r} = {value!r} is not valid; expected a number > 0"
            raise ValueError(msg)
    return out


class MetricsStore:
    """Bounded reservoirs of raw values per seed metric name (``get_recent_values``, ``get_stats``)."""

    def __init__(self, retention_minutes: float = 60, reservoir_size: int = 10_000, clock: Any = time.time) -> None:
        self.retention_s = float(retention_minutes) * 60
        self.reservoir_size = int(reservoir_size)
        self._clock = clock
        self._values: dict[str, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def record_metric(self, name: str, value: float, timestamp: float | None = None) -> None:
        """Keep one raw value (non-finite values are ignored)."""
        value = float(value)
        if not math.isfinite(value):
            return
        with self._lock:
            series = self._values.get(name)
            if series is None:
                series = self._values[name] = deque(maxlen=self.reservoir_size)
            series.append((self._clock() if timestamp is None else timestamp, value))

    def names(self) -> list[str]:
        """Metric names with at least one value."""
        with self._lock:
            return [n for n, v in self._values.items() if v]

    def get_recent_values(self, name: str, minutes: float = 60) -> list[float]:
        """Values of the last ``minutes`` (within the retention), oldest first."""
        since = self._clock() - min(float(minutes) * 60, self.retention_s)
        with self._lock:
            return [v for t, v in self._values.get(name, ()) if t >= since]

    def get_stats(self, name: str, minutes: float | None = None) -> dict[str, float]:
        """mean, median, std, min, max, count, p50, p95, p99 over the retention (or ``minutes``); {} if no data."""
        values = np.asarray(self.get_recent_values(name, self.retention_s / 60 if minutes is None else minutes))
        if values.size == 0:
            return {}
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {"mean": float(values.mean()), "median": float(np.median(values)), "std": float(values.std()),
                "min": float(values.min()), "max": float(values.max()), "count": int(values.size),
                "p50": float(p50), "p95": float(p95), "p99": float(p99)}

    def cleanup(self) -> None:
        """Drop values older than the retention."""
        since = self._clock() - self.retention_s
        with self._lock:
            for series in self._values.values():
                while series and series[0][0] < since:
                    series.popleft()


@dataclass(frozen=True)
class DriftResult:
    """Outcome of one drift check on raw values."""

    drifted: bool
    method: str
    statistic: float
    pvalue: float = math.nan


class DriftDetector:
    """Reference distributions per seed metric name; checks with :func:`psi` or :func:`ks` on raw values.

    A reference for a metric with an OpenTelemetry histogram (``query_latency``
    in ms, ``ndcg_at_10``, ...) is also given to the Analyzer, so the pipeline's
    bucket-count drift uses it too.
    """

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._references: dict[str, np.ndarray] = {}

    def set_reference(self, name: str, values: Iterable[float]) -> None:
        """Set (replace) the reference of ``name``."""
        ref = np.asarray([float(v) for v in values if v is not Ellipsis], dtype=float)
        ref = ref[np.isfinite(ref)]
        if ref.size == 0:
            msg = f"reference for {name!r} is empty; expected at least one finite value"
            raise ValueError(msg)
        self._references[name] = ref
        if name in SEED_TO_OTEL:
            metric, factor = SEED_TO_OTEL[name]
            self.analyzer.set_reference(metric, ref * factor)

    def has_reference(self, name: str) -> bool:
        """True when a reference is set for ``name``."""
        return name in self._references

    def check(self, name: str, values: Sequence[float], method: str = "psi") -> DriftResult:
        """Compare ``values`` with the reference; raises KeyError without one, ValueError on a bad method."""
        if method not in ("psi", "ks"):
            msg = f"method = {method!r} is not valid; valid values: 'psi', 'ks'"
            raise ValueError(msg)
        ref = self._references[name]
        cur = np.asarray(values, dtype=float)
        cfg = self.analyzer.config
        if method == "psi":
            value = psi(ref, cur)
            return DriftResult(value >= cfg.psi_warning, "psi", value)
        result = ks(ref, cur)
        drifted = result.pvalue < cfg.ks_alpha and result.statistic >= cfg.ks_min_statistic
        return DriftResult(bool(drifted), "ks", result.statistic, result.pvalue)


class Monitor:
    """The seed's ``MonitoringSystem``: metrics, anomalies, drift, alerts and the dashboard data."""

    def __init__(self, config: Mapping[str, Any] | None = None, *, start_background: bool = True) -> None:
        cfg = _settings(config)
        self.config = cfg
        interval_s = float(cfg["check_interval_seconds"])
        self.analyzer = Analyzer(retention_minutes=cfg["retention_minutes"], interval_seconds=interval_s,
                                 sensitivity=cfg["anomaly_sensitivity"], thresholds=cfg["thresholds"],
                                 min_samples=cfg["min_samples"])
        self.alerts = AlertManager(cooldown_s=float(cfg["cooldown_minutes"]) * 60, jaeger_url=cfg["jaeger_url"])
        if cfg["alert_log_path"]:
            self.alerts.add_sink(JsonlFileSink(cfg["alert_log_path"]), "alerts.jsonl")
        self.exporter = AnalyzingMetricExporter(self.analyzer, self.alerts)
        self.background = bool(start_background)
        self._reader = PeriodicExportingMetricReader(
            self.exporter, export_interval_millis=interval_s * 1000 if self.background else math.inf)
        self.meter_provider = MeterProvider(metric_readers=[self._reader], resource=Resource.create(),
                                            exemplar_filter=TraceBasedExemplarFilter())
        self._private: Instruments = instruments_for(self.meter_provider)
        self.metrics = MetricsStore(cfg["retention_minutes"], int(cfg["reservoir_size"]))
        self.drift_detector = DriftDetector(self.analyzer)
        self.components: _Counter[str] = _Counter()
        self._closed = False

    # --- recording ---------------------------------------------------------
    def _instrument_sets(self) -> list[Instruments]:
        sets = [self._private]
        global_provider = otel_metrics.get_meter_provider()
        if global_provider is not self.meter_provider:
            sets.append(instruments_for(global_provider))
        return sets

    def record_query(
        self,
        query_id: str,
        latency_ms: float,
        num_results: int,
        ndcg: float | None = None,
        components_used: Sequence[str] | None = None,
        *,
        precision_at_5: float | None = None,
        diversity: float | None = None,
        success: bool = True,
    ) -> None:
        """Record one query on the OpenTelemetry instruments and in the raw reservoir. Never raises.

        ``query_id`` is not recorded as a metric attribute (unbounded cardinality).
        """
        try:
            outcome = {semconv.SUCCESS: bool(success)}
            for inst in self._instrument_sets():
                inst.queries.add(1, outcome)
                inst.query_duration.record(float(latency_ms) / 1000.0, outcome)
                inst.results.record(int(num_results))
                if int(num_results) == 0:
                    inst.empty_results.add(1)
                if ndcg is not None:
                    inst.ndcg_at_10.record(float(ndcg))
                if precision_at_5 is not None:
                    inst.precision_at_5.record(float(precision_at_5))
                if diversity is not None:
                    inst.diversity.record(float(diversity))
            self.metrics.record_metric("query_latency", latency_ms)
            self.metrics.record_metric("num_results", num_results)
            for name, value in (("ndcg_at_10", ndcg), ("precision_at_5", precision_at_5), ("diversity", diversity)):
                if value is not None:
                    self.metrics.record_metric(name, value)
            self.components.update(components_used or ())
        except Exception:  # noqa: BLE001 - monitoring never breaks the caller
            _log.exception("record_query(%r) failed; not recorded", query_id)

    # --- checks ------------------------------------------------------------
    def flush(self, timeout_millis: float = 10_000) -> bool:
        """Export now: the Analyzer evaluates thresholds, anomalies and drift on the interval so far."""
        return bool(self.meter_provider.force_flush(timeout_millis))

    def _apply(self, finding: Finding | None, key: tuple[str, str, tuple[()]]) -> Alert | None:
        if finding is not None:
            return self.alerts.process(finding)
        self.alerts.resolve(key)
        return None

    def check_anomalies(self, lookback_minutes: float = 60) -> list[Alert]:
        """Evaluate the pipeline now, and judge each raw metric's latest value against its last
        ``lookback_minutes`` (z-score and MAD). Returns the active anomaly alerts."""
        self.flush()
        sensitivity = float(self.config["anomaly_sensitivity"])
        min_samples = int(self.config["min_samples"])
        detectors = {"zscore": ZScoreDetector(sensitivity, min_samples, max(min_samples, 2)),
                     "mad": MADDetector(sensitivity, min_samples, max(min_samples, 2))}
        for name in self.metrics.names():
            values = self.metrics.get_recent_values(name, lookback_minutes)
            if len(values) <= min_samples:
                continue
            baseline, latest = np.asarray(values[:-1]), values[-1]
            for det_name, det in detectors.items():
                scores, flags = det.score([latest], baseline=baseline)
                finding = None
                if flags[0]:
                    center = float(np.mean(baseline) if det_name == "zscore" else np.median(baseline))
                    scale = (latest - center) / scores[0] if scores[0] else math.nan
                    finding = anomaly_finding(name, det_name, (), float(latest), float(scores[0]), center, scale,
                                              sensitivity=sensitivity,
                                              critical_factor=self.analyzer.config.critical_factor)
                self._apply(finding, (name, det_name, ()))
        return [a for a in self.alerts.get_active_alerts() if a.detector in ("zscore", "mad")]

    def check_thresholds(self) -> list[Alert]:
        """Evaluate the pipeline now; returns the active threshold alerts."""
        self.flush()
        return [a for a in self.alerts.get_active_alerts() if a.detector == "threshold"]

    def check_drift(self, name: str, values: Sequence[float], method: str = "psi") -> bool:
        """True when ``values`` drifted from the reference of ``name`` (raises an alert); False without one."""
        if not self.drift_detector.has_reference(name):
            _log.warning("check_drift(%r): no reference set; call drift_detector.set_reference first", name)
            return False
        result = self.drift_detector.check(name, values, method)
        cfg = self.analyzer.config
        finding = None
        if result.drifted and method == "psi":
            finding = psi_finding(name, (), result.statistic, warning=cfg.psi_warning, critical=cfg.psi_critical)
        elif result.drifted:
            finding = ks_finding(name, (), result.statistic, result.pvalue, alpha=cfg.ks_alpha,
                                 min_statistic=cfg.ks_min_statistic, approximate=False)
        self._apply(finding, (name, method, ()))
        return result.drifted

    # --- dashboard -----------------------------------------------------------
    def get_system_health(self) -> dict[str, Any]:
        """``{'score', 'status', 'issues'}`` from active alerts and the latest key rates."""
        report = compute_health(self.alerts.get_active_alerts(), self.analyzer.latest_indicators(), self.analyzer.rules)
        return report.to_dict()

    def get_dashboard_data(self) -> dict[str, Any]:
        """The seed's dashboard dict: system_health, alerts, metrics (stats per raw metric) and more."""
        self.metrics.cleanup()
        return {
            "timestamp": _dt.datetime.now(tz=_dt.timezone.utc).isoformat(),
            "system_health": self.get_system_health(),
            "alerts": [a.to_dict() for a in self.alerts.get_active_alerts()],
            "metrics": {name: self.metrics.get_stats(name) for name in self.metrics.names()},
            "indicators": self.analyzer.latest_indicators(),
            "components": dict(self.components),
        }

    # --- lifecycle -----------------------------------------------------------
    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Stop background export (final evaluation included) and every alert sink thread."""
        if self._closed:
            return True
        self._closed = True
        try:
            self.meter_provider.shutdown(timeout_millis=timeout_s * 1000)
        except Exception:  # noqa: BLE001
            _log.exception("monitoring meter provider shutdown failed")
        return self.alerts.shutdown(timeout_s)


_lock = threading.Lock()
_monitor: Monitor | None = None


def initialize_monitoring(config: Mapping[str, Any] | None = None, start_background: bool = True) -> Monitor:
    """Create the process-wide monitor (shutting down a previous one) and return it."""
    global _monitor
    monitor = Monitor(config, start_background=start_background)
    with _lock:
        previous, _monitor = _monitor, monitor
    if previous is not None:
        previous.shutdown()
    return monitor


def get_monitor() -> Monitor:
    """The process-wide monitor; created with defaults (no background thread) on first use."""
    global _monitor
    with _lock:
        if _monitor is None:
            _monitor = Monitor(None, start_background=False)
        return _monitor


def shutdown_monitoring() -> None:
    """Shut the process-wide monitor down (also run at interpreter exit)."""
    global _monitor
    with _lock:
        monitor, _monitor = _monitor, None
    if monitor is not None:
        monitor.shutdown()


atexit.register(shutdown_monitoring)
