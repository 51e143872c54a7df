"""Analysis of the metrics heritage-otel exports: anomalies, drift, thresholds, alerts, health.

Usage sketch (in-process; the demo and the seed-compatible facade do the same)::

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from heritage_otel.analysis import Analyzer, AlertManager, AnalyzingMetricExporter, compute_health
    from heritage_otel.analysis.sinks import JsonlFileSink, AlertmanagerSink

    analyzer = Analyzer(interval_seconds=15, thresholds={
        "query_latency_p95": {"max": 2000, "warning": 1800, "critical": 3000},
        "error_rate": {"max": 0.01, "warning": 0.005, "critical": 0.05}})
    alerts = AlertManager(cooldown_s=900, jaeger_url="http://127.0.0.1:16686")
    alerts.add_sink(JsonlFileSink("logs/alerts.jsonl"))
    alerts.add_sink(AlertmanagerSink("http://127.0.0.1:9093"))
    alerts.add_sink(lambda alert: print(alert.level.name, alert.message))
    exporter = AnalyzingMetricExporter(analyzer, alerts)          # optionally downstream=OTLPMetricExporter()
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=15_000)
    provider = MeterProvider(metric_readers=[reader])              # or configure(metric_readers=[reader])
    ...                                                            # record with heritage_otel.instruments
    health = compute_health(alerts.get_active_alerts(), analyzer.latest_indicators(), analyzer.rules)
    alerts.shutdown()

The anomaly detectors also work alone, one value at a time
(``DETECTORS[name]().update(value)``; :class:`AdaptiveDetector` is the
default, :class:`ZScoreDetector` and :class:`MADDetector` the textbook ones),
and so do :func:`psi`, :func:`psi_counts`, :func:`ks`, :func:`ks_counts`.
See docs/analysis.md for formulas, approximations and configuration.

>>> from heritage_otel.analysis import Analyzer, AlertManager
>>> analyzer = Analyzer(interval_seconds=60)
>>> float(analyzer.config.interval_seconds), analyzer.config.anomaly_detectors[0] in DETECTORS
(60.0, True)
"""

from heritage_otel.analysis.alerts import Alert, AlertManager
from heritage_otel.analysis.analyzer import Analyzer, SeriesSnapshot
from heritage_otel.analysis.config import AnalyzerConfig
from heritage_otel.analysis.detectors import (
    DEFAULT_DETECTOR,
    DETECTORS,
    AdaptiveDetector,
    DetectorResult,
    MADDetector,
    ZScoreDetector,
)
from heritage_otel.analysis.drift import KSResult, ks, ks_counts, psi, psi_counts
from heritage_otel.analysis.exporter import AnalyzingMetricExporter
from heritage_otel.analysis.findings import AlertLevel, Evaluation, Finding
from heritage_otel.analysis.health import HealthReport, compute_health
from heritage_otel.analysis.indicators import INDICATORS, compute_indicators
from heritage_otel.analysis.samples import IntervalSample, SeriesKey
from heritage_otel.analysis.thresholds import DEFAULT_THRESHOLDS, ThresholdRules

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "DEFAULT_THRESHOLDS",
    "INDICATORS",
    "AdaptiveDetector",
    "Alert",
    "AlertLevel",
    "AlertManager",
    "Analyzer",
    "AnalyzerConfig",
    "AnalyzingMetricExporter",
    "DetectorResult",
    "Evaluation",
    "Finding",
    "HealthReport",
    "IntervalSample",
    "KSResult",
    "MADDetector",
    "SeriesKey",
    "SeriesSnapshot",
    "ThresholdRules",
    "ZScoreDetector",
    "compute_health",
    "compute_indicators",
    "ks",
    "ks_counts",
    "psi",
    "psi_counts",
]
