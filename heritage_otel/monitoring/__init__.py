"""The seed's monitoring API (``utils/monitoring.py``), as thin glue over OpenTelemetry and the Analyzer.

A package of small modules, everything re-exported here:
:mod:`~heritage_otel.monitoring.config` (the seed's configuration keys, validated at start-up),
:mod:`~heritage_otel.monitoring.store` (:class:`MetricsStore`, the raw values),
:mod:`~heritage_otel.monitoring.drift` (:class:`DriftDetector`),
:mod:`~heritage_otel.monitoring.anomalies` (``check_anomalies``' detectors, from the analysis registry),
:mod:`~heritage_otel.monitoring.monitor` (:class:`Monitor`, the seed's ``MonitoringSystem``; its docstring
describes the facade) and :mod:`~heritage_otel.monitoring.singletons` (the process-wide monitor).

>>> from heritage_otel.monitoring import initialize_monitoring, shutdown_monitoring
>>> monitor = initialize_monitoring(config={"alert_log_path": None}, start_background=False)
>>> monitor.record_query("q_001", latency_ms=120, num_results=10, ndcg=0.75)
>>> monitor.metrics.get_stats("query_latency")["count"]
1
>>> shutdown_monitoring()
"""

from __future__ import annotations

from heritage_otel.analysis.alert import Alert
from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.monitoring.config import DEFAULTS
from heritage_otel.monitoring.drift import DriftDetector, DriftResult
from heritage_otel.monitoring.monitor import Monitor
from heritage_otel.monitoring.singletons import get_monitor, initialize_monitoring, shutdown_monitoring
from heritage_otel.monitoring.store import MetricsStore

__all__ = [
    "DEFAULTS",
    "Alert",
    "AlertLevel",
    "DriftDetector",
    "DriftResult",
    "Monitor",
    "MetricsStore",
    "get_monitor",
    "initialize_monitoring",
    "shutdown_monitoring",
]
