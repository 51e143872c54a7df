"""The seed's monitoring API (``utils/monitoring.py``), as thin glue over OpenTelemetry and the Analyzer.

``record_query`` records the heritage-otel instruments through the global
OpenTelemetry providers, with the same function the instrumentor uses
(:func:`heritage_otel.instruments.record_query`). The monitor listens to
every measurement the process records there (its ``FallbackChain``,
``ErrorHandler`` and instrumented code included, with or without
``configure()``): a private SDK MeterProvider receives them and its
``PeriodicExportingMetricReader`` feeds an
:class:`~heritage_otel.analysis.AnalyzingMetricExporter`. Thresholds,
anomalies, drift and health are judged by
:class:`~heritage_otel.analysis.Analyzer` and the analysis detectors;
alerts are kept by :class:`~heritage_otel.analysis.AlertManager`. The
seed's raw-value API (``metrics.get_recent_values``, ``get_stats``,
counters, gauges and rates) keeps a compact bounded store of points beside
the instruments (12 bytes a point).

>>> from heritage_otel.monitoring import initialize_monitoring, shutdown_monitoring
>>> monitor = initialize_monitoring(config={"retention_minutes": 60, "anomaly_sensitivity": 3.0,
...     "alert_log_path": None, "service_name": "doc-recommender"}, start_background=False)
>>> for i in range(20):
...     monitor.record_query(f"q_{i:03d}", latency_ms=100 + i, num_results=10, ndcg=0.75,
...                          components_used=["simrank", "horn_index"])
>>> monitor.metrics.get_stats("query_latency")["count"]
20
>>> monitor.metrics.increment("cache_evictions", 3)
>>> monitor.metrics.get_counter("cache_evictions")
3.0
>>> monitor.drift_detector.set_reference("query_latency", [100, 120, 110, 130, 105] * 20)
>>> monitor.check_drift("query_latency", [900, 950, 1000] * 20, method="psi")
True
>>> sorted(monitor.get_dashboard_data())
['alerts', 'components', 'counters', 'gauges', 'indicators', 'metrics', 'resources', 'system_health', 'timestamp']
>>> shutdown_monitoring()

Configuration keys (``initialize_monitoring(config=...)``; unknown keys and
bad values fail at start-up): ``retention_minutes`` (60),
``anomaly_sensitivity`` (3.0), ``thresholds`` (rules in the seed's format for
any indicator or recorded metric, merged over the seed's defaults; the seed's
``component_failure_rate``, ``diversity_score`` and ``avg_results_returned``
are read as ``component_error_rate``, ``diversity`` and ``results_per_query``),
``replace_thresholds`` (False: True uses ``thresholds`` alone),
``check_interval_seconds`` (60; the background export/evaluation period),
``cooldown_minutes`` (15), ``alert_log_path`` (``logs/alerts.jsonl``; None
disables), ``jaeger_url`` (None), ``reservoir_size`` (10000 raw values per
metric), ``min_samples`` (10), ``service_name`` (the configured pipeline's,
else ``OTEL_SERVICE_NAME``, else ``heritage-recommender``), the drift
thresholds ``psi_warning`` (0.1), ``psi_critical`` (0.2), ``ks_alpha``
(0.05) and ``ks_min_statistic`` (0.1), ``anomaly_detectors`` (registry names of the
detectors ``check_anomalies`` judges with; default the registry's default and the
seed's ``zscore`` and ``mad``), and ``system_metrics`` (True: the
process's CPU, memory and thread metrics through
``opentelemetry-instrumentation-system-metrics``, on the monitor's own
provider; ``get_dashboard_data()["resources"]``), and ``slos`` (None: a list
of OpenSLO v1 documents as dicts and/or paths of files or folders of them;
their budgets and burn-rate incidents, see docs/slo.md).

Components: ``record_query(components_used=[...])`` counts one use of each
named component (``heritage.component.uses``; no duration),
``record_component_performance(name, latency_ms, success, error_type)``
records a measured call (``heritage.component.duration``, and
``heritage.errors`` when it failed). The dashboard's Components page and
``get_dashboard_data()["components"]`` read both through one
:class:`~heritage_otel.analysis.components.ComponentTable` (a call reported
both ways counts once; latency None when none was measured).

When things are judged: see :meth:`Monitor.flush`.

If the recommender is also auto-instrumented (``RecommenderInstrumentor``),
calling ``record_query`` as well counts each query twice: use one or the other.

To listen, ``initialize_monitoring()`` installs heritage-otel's forwarding
global providers when no one has set global providers yet (``configure()``,
before or after, plugs its pipeline into them). A process that sets its own
SDK providers should do so first: the monitor then sees only what it records
itself, and says so in a warning.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from heritage_otel import semconv, telemetry
from heritage_otel._internal import delegating
from heritage_otel.analysis.alert import Alert
from heritage_otel.analysis.alerts import AlertManager
from heritage_otel.analysis.analyzer import Analyzer
from heritage_otel.analysis.components import ComponentTable
from heritage_otel.analysis.exporter import AnalyzingMetricExporter
from heritage_otel.analysis.findings import AlertLevel, Evaluation, Finding
from heritage_otel.analysis.health import compute_health
from heritage_otel.analysis.samples import Labels
from heritage_otel.analysis.sinks import JsonlFileSink, SinkWorker
from heritage_otel.analysis.slo import SloTracker
from heritage_otel.analysis.slo.files import objectives_from
from heritage_otel.errors import Severity, count_error
from heritage_otel.instruments import Instruments, instruments_for, record_component_call, record_query
from heritage_otel.monitoring.anomalies import judge
from heritage_otel.monitoring.config import DRIFT_KEYS, EARLY_QUERIES, SEED_ALERT_POLICY, raw_bad_direction, settings
from heritage_otel.monitoring.drift import DriftDetector
from heritage_otel.monitoring.store import MetricsStore
from heritage_otel.settings import resolve_settings

__all__ = ["Monitor"]

_log = logging.getLogger(__name__)


def _seed_alert_dict(alert: Alert) -> dict[str, Any]:
    """``alert.to_dict()`` with the seed's keys too (``alert_id``, ``metric_name``, ``timestamp``), so a
    dashboard written against the seed's ``get_dashboard_data()`` reads it."""
    return {**alert.to_dict(), "alert_id": alert.id, "metric_name": alert.metric,
            "timestamp": alert.timestamp.isoformat()}


def _resource(service_name: str | None) -> Resource:
    active = telemetry.current()
    if service_name is None and active is not None:
        return active.resource
    return telemetry.resource_for(resolve_settings(service_name=service_name))


class _SeedAlertManager(AlertManager):
    """The AlertManager under the seed's name for adding a handler; reading the active alerts first lets the
    monitor evaluate when an evaluation is due (``before_read``)."""

    before_read: Any = None

    def get_active_alerts(self, level: AlertLevel | str | None = None, metric: str | None = None) -> list[Alert]:
        """Active (firing) alerts, optionally one level and/or metric, oldest first (see :meth:`Monitor.flush`)."""
        hook = self.before_read
        if hook is not None:
            hook()
        return super().get_active_alerts(level, metric)

    def register_handler(self, handler: Any, name: str | None = None) -> SinkWorker:
        """The seed's ``alerts.register_handler(fn)``: :meth:`AlertManager.add_sink`."""
        return self.add_sink(handler, name)


class Monitor:
    """The seed's ``MonitoringSystem``: metrics, anomalies, drift, alerts and the dashboard data.

    Sees every measurement recorded through the global OpenTelemetry
    providers while it is open (see the module docstring).
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, start_background: bool = True) -> None:
        cfg = settings(config)
        objectives = objectives_from(cfg["slos"], "monitoring config 'slos'")
        self.config = cfg
        interval_s = float(cfg["check_interval_seconds"])
        self.resource = _resource(cfg["service_name"])
        # the pipeline's detectors keep their own default sensitivity unless the seed config sets one
        sensitivity = cfg["anomaly_sensitivity"] if config and "anomaly_sensitivity" in config else None
        self._sensitivity: float | None = sensitivity
        self.analyzer = Analyzer(retention_minutes=cfg["retention_minutes"], interval_seconds=interval_s,
                                 sensitivity=sensitivity, thresholds=cfg["thresholds"],
                                 min_samples=cfg["min_samples"], alert_policy=SEED_ALERT_POLICY,
                                 **{k: cfg[k] for k in DRIFT_KEYS})
        self.analyzer.slos = SloTracker(objectives) if objectives else None
        self.alerts = _SeedAlertManager(cooldown_s=float(cfg["cooldown_minutes"]) * 60, jaeger_url=cfg["jaeger_url"])
        self._interval_s = interval_s
        self._evaluated_at = -math.inf  # time.monotonic() of the last evaluation (or of a claimed one)
        self._created_at = time.monotonic()
        self._due_lock = threading.Lock()
        self.alerts.before_read = self._evaluate_if_due
        if cfg["alert_log_path"]:
            self.alerts.add_sink(JsonlFileSink(cfg["alert_log_path"]), "alerts.jsonl")
        self.exporter = AnalyzingMetricExporter(self.analyzer, self.alerts, on_evaluation=self._after_evaluation)
        self._dashboard: Any = None
        #: The last queries recorded before the dashboard started (its query log shows them too).
        self._early_queries: deque[dict[str, Any]] = deque(maxlen=EARLY_QUERIES)
        self.background = bool(start_background)
        self._reader = PeriodicExportingMetricReader(
            self.exporter, export_interval_millis=interval_s * 1000 if self.background else math.inf)
        self.meter_provider = MeterProvider(metric_readers=[self._reader], resource=self.resource,
                                            exemplar_filter=TraceBasedExemplarFilter(), shutdown_on_exit=False)
        # Listen to the process's global providers; if another SDK owns them, record on ours directly too.
        self.listening = delegating.install_globals()
        providers: list[Any] = [otel_metrics.get_meter_provider()]
        if self.listening:
            delegating.add_meter_listener(self.meter_provider)
        else:
            _log.warning("another OpenTelemetry SDK owns the global providers: the monitor sees what it records "
                         "itself (record_query, metrics.*), not what FallbackChain or ErrorHandler record")
            providers.append(self.meter_provider)
        self._providers = tuple(providers)
        self._instrument_sets: list[Instruments] = [instruments_for(p) for p in providers]
        self.metrics = MetricsStore(cfg["retention_minutes"], int(cfg["reservoir_size"]), meter_providers=providers)
        self.drift_detector = DriftDetector(self.analyzer)
        #: The labels of the monitor's own findings (check_anomalies, check_drift): the resource labels the
        #: Analyzer puts on the pipeline's, so one service's alerts are one incident, one notification.
        self._labels: Labels = tuple(sorted(
            (k, str(v)) for k in self.analyzer.config.resource_label_keys
            if (v := self.resource.attributes.get(k)) is not None))
        #: Per-component calls, failures and latencies, from the samples the Analyzer receives each export.
        self.components = ComponentTable(window_s=float(cfg["retention_minutes"]) * 60)
        self._system_metrics: Any = None
        if cfg["system_metrics"]:
            self._system_metrics = _start_system_metrics(self.meter_provider)
        self._closed = False

    # --- recording ---------------------------------------------------------
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
        success: bool | None = None,
    ) -> None:
        """Record one query on the OpenTelemetry instruments and in the raw store. Never raises.

        ``query_id`` is not recorded as a metric attribute (unbounded cardinality).
        ``components_used``: the names of the components the query used (each
        counted as a call, duration unknown), or a mapping of name to its
        latency in ms (each a measured call, as
        :meth:`record_component_performance` records it).
        ``success`` (not in the seed's signature): None records no outcome, so
        ``error_rate`` is every error recorded (``ErrorHandler``,
        ``FallbackChain``, ...) per query, the seed's reading; True/False make it
        the share of failed queries (an error a fallback absorbed then shows in
        ``component_error_rate`` and ``fallback_rate`` only).
        """
        try:
            given = {"ndcg_at_10": ndcg, "precision_at_5": precision_at_5, "diversity": diversity}
            quality = {k: float(v) for k, v in given.items() if v is not None}
            for inst in self._instrument_sets:
                record_query(inst, float(latency_ms) / 1000.0, success=None if success is None else bool(success),
                             num_results=int(num_results), quality=quality)
            self.metrics.keep_raw("query_latency", float(latency_ms), None)
            self.metrics.keep_raw("num_results", float(num_results), None)
            for name, value in quality.items():
                self.metrics.keep_raw(name, value, None)
            if isinstance(components_used, Mapping):  # {name: latency_ms}: measured calls
                for name, component_ms in components_used.items():
                    self._record_component(name, component_ms)
            elif components_used:
                for name in dict.fromkeys(str(c) for c in components_used):
                    attributes = {semconv.COMPONENT: name}
                    for inst in self._instrument_sets:
                        inst.component_uses.add(1, attributes)
            self._log_query(query_id, latency_ms, num_results, components_used, success)
            self._evaluate_if_due(recording=True)
        except Exception:  # noqa: BLE001 - monitoring never breaks the caller
            _log.exception("record_query(%r) failed; not recorded", query_id)

    def record_component_performance(self, component_name: str, latency_ms: float, success: bool = True,
                                     error_type: str | None = None) -> None:
        """Record one measured call of a ranking component (the seed's per-component latency). Never raises.

        Records ``heritage.component.duration`` (in seconds, as the
        instrumentor does) and, for a failed call, one ``heritage.errors``
        (severity high, ``error.type`` = ``error_type`` or ``_OTHER``); keeps
        the raw value as ``{component_name}_latency`` (ms) for
        ``metrics.get_stats``. The Components page then shows the
        component's latency; a query that also names it in
        ``components_used`` is not counted twice.
        """
        try:
            self._record_component(component_name, latency_ms, success, error_type)
            self._evaluate_if_due(recording=True)
        except Exception:  # noqa: BLE001 - monitoring never breaks the caller
            _log.exception("record_component_performance(%r) failed; not recorded", component_name)

    def _record_component(self, component_name: str, latency_ms: Any, success: bool = True,
                          error_type: str | None = None) -> None:
        name = str(component_name)
        try:
            value = float(latency_ms)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or value < 0:
            _log.warning("component %r: latency_ms = %r is not valid; expected a finite number >= 0 (not recorded)",
                         name, latency_ms)
            return
        for inst in self._instrument_sets:
            record_component_call(inst, name, value / 1000.0, success=bool(success))
        if not success:
            for provider in self._providers:
                count_error(Severity.HIGH, name, str(error_type) if error_type else "_OTHER", provider)
        self.metrics.keep_raw(f"{name}_latency", value, None)

    # --- checks ------------------------------------------------------------
    def flush(self, timeout_millis: float = 10_000) -> bool:
        """Export now: the Analyzer evaluates thresholds, anomalies and drift on the interval so far.

        The monitor evaluates once per ``check_interval_seconds``: on its
        background thread, or, without one (``start_background=False``,
        ``get_monitor()``), on the first ``record_query`` or read
        (``alerts.get_active_alerts()``, ``get_dashboard_data()``,
        ``get_system_health()``, the dashboard's pages) once the interval has
        passed since the last evaluation: alert handlers hear of a problem
        while queries are recorded, a read right after a burst of queries
        sees their alerts (a read evaluates also when nothing was evaluated
        yet), and frequent calls do not cut the data into intervals too
        short to judge.
        ``check_thresholds()``, ``check_anomalies()`` and ``flush()`` evaluate at once.
        """
        if self._closed:
            return True
        return bool(self.meter_provider.force_flush(timeout_millis))

    def _evaluate_if_due(self, recording: bool = False) -> None:
        """Without a background thread: evaluate when an interval has passed since the last evaluation (a read
        also when there was none yet; a record not before an interval since the monitor started)."""
        if self.background or self._closed:
            return
        now = time.monotonic()
        since = max(self._evaluated_at, self._created_at) if recording else self._evaluated_at
        if now - since < self._interval_s:
            return
        with self._due_lock:
            since = max(self._evaluated_at, self._created_at) if recording else self._evaluated_at
            due = now - since >= self._interval_s
            if due:
                self._evaluated_at = now
        if due:
            self.flush()

    def _apply(self, finding: Finding | None, key: tuple[str, str, Labels]) -> Alert | None:
        if finding is not None:
            return self.alerts.process(finding)
        self.alerts.resolve(key)
        return None

    def check_anomalies(self, lookback_minutes: float = 60) -> list[Alert]:
        """Evaluate the pipeline now, and judge every raw value of the last ``lookback_minutes`` of each
        metric with each detector of ``anomaly_detectors`` (the analysis registry's names: by default its
        default detector and the seed's z-score and MAD); the most extreme flagged value of a metric raises
        that detector's alert. Returns the active alerts of those detectors."""
        self.flush()
        names = self.config["anomaly_detectors"]
        sensitivity = self._sensitivity
        min_samples = int(self.config["min_samples"])
        for name in self.metrics.names():
            values = np.asarray(self.metrics.get_recent_values(name, lookback_minutes))
            if len(values) <= min_samples:
                continue
            direction = raw_bad_direction(name)  # latency going down, quality going up: no alert
            for detector in names:
                finding = judge(name, values, detector, labels=self._labels, sensitivity=sensitivity,
                                min_samples=min_samples, direction=direction,
                                critical_factor=self.analyzer.config.critical_factor)
                self._apply(finding, (name, detector, self._labels))
        return [a for a in self.alerts.get_active_alerts() if a.detector in names]

    def check_thresholds(self) -> list[Alert]:
        """Evaluate the pipeline now; returns the active threshold alerts."""
        self.flush()
        return [a for a in self.alerts.get_active_alerts() if a.detector == "threshold"]

    def check_drift(self, name: str, values: Sequence[float], method: str = "psi") -> bool:
        """True when ``values`` drifted from the reference of ``name`` (raises an alert); False without one."""
        if not self.drift_detector.has_reference(name):
            _log.warning("check_drift(%r): no reference set; call drift_detector.set_reference first", name)
            return False
        result = self.drift_detector.check(name, values, method, self._labels)
        self._apply(result.finding, (name, method, self._labels))
        return result.drifted

    # --- dashboard -----------------------------------------------------------
    def get_system_health(self) -> dict[str, Any]:
        """``{'score', 'status', 'issues'}`` from active alerts and the latest key rates.

        Evaluates first when an evaluation is due (see :meth:`flush`)."""
        self._evaluate_if_due()
        return self._health()

    def _health(self) -> dict[str, Any]:
        report = compute_health(self.alerts.get_active_alerts(), self.analyzer.latest_indicators(), self.analyzer.rules)
        return report.to_dict()

    def get_dashboard_data(self) -> dict[str, Any]:
        """The seed's dashboard dict: system_health, alerts, metrics (stats per raw metric) and more.

        Evaluates first when an evaluation is due (see :meth:`flush`).
        Each of ``alerts`` is :meth:`Alert.to_dict` with the seed's keys
        ``alert_id``, ``metric_name`` and ``timestamp`` too. ``components`` maps each component to its row of the dashboard's Components page
        (:class:`~heritage_otel.analysis.components.ComponentTable`): calls, timed_calls, failures,
        success_rate, latency_mean_ms and latency_p95_ms (None when no call was measured), status."""
        self._evaluate_if_due()
        self.metrics.cleanup()
        components = {row["component"]: row for row in self.components.rows(time.time())}
        return {
            "timestamp": _dt.datetime.now(tz=_dt.UTC).isoformat(),
            "system_health": self._health(),
            "alerts": [_seed_alert_dict(a) for a in self.alerts.get_active_alerts()],
            "metrics": {name: self.metrics.get_stats(name) for name in self.metrics.names()},
            "counters": self.metrics.counters(),
            "gauges": self.metrics.gauges(),
            "indicators": self.analyzer.latest_indicators(),
            "components": components,
            "resources": self.resource_usage(),
        }

    def resource_usage(self) -> dict[str, float]:
        """Latest value of each ``process.*`` series (CPU, memory, threads), keyed ``name`` or ``name{k=v}``."""
        out: dict[str, float] = {}
        horizon = self.analyzer.last_time - 3 * float(self.config["check_interval_seconds"])
        for key in self.analyzer.series():
            if key.metric.startswith("process."):
                values = self.analyzer.recent_values(key, horizon)
                if values.size:
                    labels = ",".join(f"{k}={v}" for k, v in key.attributes)
                    out[f"{key.metric}{{{labels}}}" if labels else key.metric] = float(values[-1])
        return out

    def serve_dashboard(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                        ingest: bool = False) -> str:
        """Serve the operational dashboard from this process, on this monitor's Analyzer; returns its URL.

        Loopback by default (``port=0`` picks a free port); the same pages as
        the Analyzer service (overview, metrics, trends, alerts, alert history,
        components, query log, trace pages read from Jaeger when ``jaeger_url``
        is set, else from this process's span store). The query log lists the
        queries recorded since it started and the last 50 before. Stopped by
        :meth:`shutdown`. Calling it again returns the running dashboard's URL.
        Read-only unless ``ingest=True`` (no other process on the host can
        write OTLP data into this application's Analyzer and alerts); ``token``
        (else ``HERITAGE_OTEL_ANALYZER_TOKEN``) makes the API and any ingest
        require ``Authorization: Bearer <token>``.
        """
        if self._dashboard is not None:
            return str(self._dashboard.url)
        from heritage_otel.service.config import ServiceConfig
        from heritage_otel.service.server import AnalyzerServer

        interval = float(self.config["check_interval_seconds"])
        config = ServiceConfig(host=host, port=port, jaeger_url=self.config["jaeger_url"],
                               refresh_seconds=max(5, min(300, round(interval))), ingest=ingest,
                               token=ServiceConfig.resolve_token(token))
        server = AnalyzerServer(config, analyzer=self.analyzer, alert_manager=self.alerts, components=self.components,
                                start_background=False)
        self._dashboard = server.start()
        early, self._early_queries = list(self._early_queries), deque(maxlen=EARLY_QUERIES)
        server.service.add_queries(early)
        return str(server.url)

    def _after_evaluation(self, evaluation: Evaluation) -> None:
        """Each export: the component table takes the interval's samples (the ones the Analyzer ingested)."""
        self._evaluated_at = time.monotonic()
        self.components.add(self.exporter.last_samples)
        server = self._dashboard
        if server is not None:
            server.service.note_evaluation(evaluation.time_s)

    def _log_query(self, query_id: str, latency_ms: float, num_results: int,
                   components_used: Sequence[str] | None, success: bool | None) -> None:
        """One entry of the dashboard's query log (kept until the dashboard starts, the last few only)."""
        context = otel_trace.get_current_span().get_span_context()
        record = {
            "query_id": str(query_id), "time_s": time.time(), "results": int(num_results),
            "latency_ms": float(latency_ms), "components": tuple(components_used or ()),
            "success": None if success is None else bool(success),
            "trace_id": f"{context.trace_id:032x}" if context.is_valid else None,
            "span_id": f"{context.span_id:016x}" if context.is_valid else None,
            "service": str(self.resource.attributes.get("service.name", "")) or None}
        dashboard = self._dashboard
        if dashboard is None:
            self._early_queries.append(record)
            return
        dashboard.service.add_queries([record])

    # --- lifecycle -----------------------------------------------------------
    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Stop listening, export and evaluate a last time, stop the dashboard and every alert sink thread.
        Idempotent."""
        if self._closed:
            return True
        self._closed = True
        delegating.remove_meter_listener(self.meter_provider)
        if self._system_metrics is not None:
            try:
                self._system_metrics.uninstrument()
            except Exception:  # noqa: BLE001 - telemetry never breaks the caller
                _log.exception("system metrics instrumentation did not stop")
        try:
            self.meter_provider.shutdown(timeout_millis=timeout_s * 1000)
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            _log.exception("monitoring meter provider shutdown failed")
        dashboard, self._dashboard = self._dashboard, None
        if dashboard is not None:
            dashboard.close()
        return self.alerts.shutdown(timeout_s)


def _start_system_metrics(meter_provider: MeterProvider) -> Any:
    """CPU, memory and thread metrics of this process on ``meter_provider`` (OpenTelemetry's instrumentation)."""
    try:
        from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor
    except ImportError as exc:
        msg = ("monitoring config 'system_metrics' = True needs opentelemetry-instrumentation-system-metrics; "
               "install heritage-otel[analysis]")
        raise ValueError(msg) from exc
    config = {"process.cpu.utilization": None, "process.memory.usage": None, "process.thread.count": None,
              "process.cpu.time": ["user", "system"], "process.memory.virtual": None}
    instrumentor = SystemMetricsInstrumentor(config=config)
    if instrumentor.is_instrumented_by_opentelemetry:  # the application's own: left as it is
        _log.warning("system metrics are already instrumented by the application; the monitor's dashboard "
                     "shows no process resources")
        return None
    instrumentor.instrument(meter_provider=meter_provider)
    return instrumentor


