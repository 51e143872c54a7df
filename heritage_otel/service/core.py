"""The Analyzer service's state: receiver -> Analyzer/AlertManager, stores, and the data the API serves.

:class:`AnalyzerService` owns one :class:`~heritage_otel.analysis.Analyzer`
and one :class:`~heritage_otel.analysis.AlertManager` (the same classes the
in-process ``AnalyzingMetricExporter`` uses) and feeds them from OTLP
requests: every replica export is ingested as one batch (series keyed by
``service.name`` and ``service.instance.id``), the fleet aggregates per
service as another, and a background thread evaluates the detectors at most
once per ``evaluate_every_s`` and hands the evaluation to the AlertManager.

Everything here is bounded (the resource budget, see
:mod:`heritage_otel.service.budget` and ``docs/fleet-mode.md``): series
(``max_series`` in the receiver, twice that plus indicators in the Analyzer;
idle ones evicted before new ones are refused), drift buckets, services,
recent queries, alert history, component intervals. ``/api/stats`` shows
each structure's items, bound and bytes under ``budget``; ``/api/health``
says when data is being refused.

>>> service = AnalyzerService(start_background=False)
>>> service.health()["status"]
'healthy'
>>> service.close()
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Final

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from heritage_otel import semconv
from heritage_otel.analysis import Alert, AlertLevel, AlertManager, Analyzer, AnalyzerConfig, compute_health
from heritage_otel.analysis import drift
from heritage_otel.analysis.indicators import INDICATORS
from heritage_otel.analysis.policy import signal_of
from heritage_otel.analysis.samples import SeriesKey
from heritage_otel.indicators import bad_direction
from heritage_otel.analysis.components import ComponentTable
from heritage_otel.service.budget import ceiling
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.convert import RESOURCE_KEYS, ConversionResult, MetricConverter
from heritage_otel.service.fleet import FleetAggregator
from heritage_otel.service.limits import DropCounters
from heritage_otel.service.queries import QueryRecord, RecentQueryStore, query_records
from heritage_otel.traces.lookup import TraceLookup

__all__ = ["AnalyzerService", "analyzer_series", "series_id", "KEY_METRICS"]

_log = logging.getLogger(__name__)

#: Indicators shown as the overview's key metrics, in order.
KEY_METRICS: Final = (
    "query_latency_p95", "query_latency_p99", "error_rate", "fallback_rate", "empty_result_rate",
    "throughput_qps", "ndcg_at_10", "precision_at_5", "diversity", "cache_hit_rate",
)
#: Indicators that add up over replicas, so one replica is not comparable with the fleet.
_ADDITIVE: Final = frozenset({"throughput_qps"})
_INDICATOR_HEADROOM: Final = 10_000
#: A replica is named on a key metric when it is this much (relative) worse than the fleet value.
_OUTLIER_MARGIN: Final = 0.1
_IDLE_EVALUATION_S: Final = 5.0
#: Health reports refused data for at least this long after the last refusal (or two intervals).
_REFUSAL_WINDOW_S: Final = 60.0
_SETTLE_S: Final = 0.01


def analyzer_series(config: ServiceConfig) -> int:
    """The Analyzer's own series cap: per-replica series, as many fleet aggregates, and indicator headroom."""
    return 2 * config.max_series + _INDICATOR_HEADROOM


def series_id(key: SeriesKey) -> str:
    """A short stable id for a series (used in API paths).

    >>> series_id(SeriesKey.of("m")) == series_id(SeriesKey.of("m"))
    True
    """
    return hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest()


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _service_names(resources: Any) -> set[str]:
    """The ``service.name`` of each resource of an OTLP request (``resource_metrics`` or ``resource_logs``)."""
    return {kv.value.string_value for item in resources for kv in item.resource.attributes
            if kv.key == semconv.SERVICE_NAME and kv.value.string_value}


def _scope(key: SeriesKey) -> dict[str, str | None]:
    res = dict(key.resource)
    return {"service": res.get(semconv.SERVICE_NAME), "instance": res.get(semconv.SERVICE_INSTANCE_ID)}


class AnalyzerService:
    """Receiver state and read models. Thread-safe; :meth:`close` stops the evaluator and the sinks."""

    def __init__(
        self,
        config: ServiceConfig | None = None,
        *,
        analyzer_config: AnalyzerConfig | None = None,
        alert_manager: AlertManager | None = None,
        analyzer: Analyzer | None = None,
        components: ComponentTable | None = None,
        clock: Callable[[], float] = time.time,
        start_background: bool = True,
    ) -> None:
        self.config = config or ServiceConfig()
        base = analyzer.config if analyzer is not None else analyzer_config or AnalyzerConfig()
        # ``analyzer``: one fed in process (the monitoring facade's), served as it is
        self.analyzer = analyzer if analyzer is not None else Analyzer(replace(
            base, resource_label_keys=RESOURCE_KEYS, max_series=analyzer_series(self.config),
            series_idle_s=self.config.series_idle_s, max_bucket_cells=self.config.max_bucket_cells))
        self.traces = TraceLookup(self.config.jaeger_url)
        if analyzer is None:
            drift.warm_up()  # a long-running service: its first evaluation does not pay scipy's import
        self.alerts = alert_manager or AlertManager(jaeger_url=self.config.jaeger_url, clock=clock)
        self.clock = clock
        self.drops = DropCounters()
        #: Request body bytes the HTTP layer holds right now (set by the server; shown in /api/stats).
        self.buffered_bytes = 0
        self.converter = MetricConverter(clock=lambda: int(clock() * 1e9), limits=self.config, drops=self.drops,
                                         memory_s=base.retention_s, max_staleness_s=base.retention_s)
        self.fleet = (FleetAggregator(base.interval_seconds, self.config.max_series, clock=clock, limits=self.config)
                      if self.config.fleet_aggregates else None)
        # ``components``: the table the in-process feeder (the monitoring facade) fills, served as it is
        self.components = components if components is not None else ComponentTable(
            window_s=base.retention_s, max_bytes=self.config.max_component_bytes)
        self.queries = RecentQueryStore(self.config.query_store_size, self.config.query_store_bytes, self.drops)
        self.started_at = clock()
        self.counters: dict[str, int] = {
            "metric_requests": 0, "log_requests": 0, "data_points_accepted": 0, "data_points_rejected": 0,
            "log_records": 0, "query_records": 0, "log_records_rejected": 0, "evaluations": 0,
            "evaluation_errors": 0,
        }
        self.last_evaluation_s: float | None = None
        self.last_evaluation_ms: float | None = None
        self._lock = threading.RLock()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._ids: dict[str, SeriesKey] = {}
        #: Services whose data reached this instance (a shard behind the gateway owns these); bounded.
        self._services: set[str] = set()
        #: (time, why) of the last request whose points were refused for the service's state (a full budget)
        self._refused: tuple[float, str] | None = None
        self._budget_drops: dict[str, int] = {}
        self._sids: dict[SeriesKey, str] = {}
        self._thread: threading.Thread | None = None
        if start_background:
            self._thread = threading.Thread(target=self._run, name="heritage-analyzer-evaluator", daemon=True)
            self._thread.start()

    # --- ingest --------------------------------------------------------------
    def ingest_metrics(self, request: ExportMetricsServiceRequest) -> ConversionResult:
        """Convert and ingest one OTLP metrics request; returns what was accepted and rejected."""
        result = self.converter.convert(request)
        evicted = self.converter.drain_evicted()
        if evicted:
            self.analyzer.forget(evicted)
        with self._lock:
            self.counters["metric_requests"] += 1
            self.counters["data_points_accepted"] += result.accepted
            self.counters["data_points_rejected"] += result.rejected
            if result.rejected > result.malformed + result.repeated:  # points lost to a full budget
                self._refused = (self.clock(), result.message())
        for batch in result.batches:  # the lock per batch: health and the API are answered in between
            with self._lock:
                self._note_services(batch[0].series.resource)
                self.analyzer.ingest(batch)
                self.components.add(batch)
                if self.fleet is not None:
                    self.fleet.add(batch)
        with self._lock:
            self._flush_fleet(self.clock())
            self._count_budget_drops()
        if result.batches:
            self._dirty.set()
        return result

    def _count_budget_drops(self) -> None:
        """Carry the Analyzer's and the component table's own drop counts into ``limits.dropped``."""
        for name, now in (("bucket_cells", self.analyzer.drift_refused),
                          ("component_bytes", getattr(self.components, "dropped", 0))):
            if now > self._budget_drops.get(name, 0):
                self.drops.add(name, now - self._budget_drops.get(name, 0))
                self._budget_drops[name] = now

    def _note_services(self, resource: tuple[tuple[str, str], ...]) -> None:
        """Remember the service of accepted data (its name already cut to max_attribute_value_length)."""
        for key, name in resource:
            if key == semconv.SERVICE_NAME and name not in self._services \
                    and len(self._services) < self.config.max_services:
                self._services.add(name)

    def _flush_fleet(self, now: float) -> None:
        if self.fleet is None:
            return
        for batch in self.fleet.flush(now):
            self.analyzer.ingest(batch)

    def ingest_logs(self, request: ExportLogsServiceRequest) -> tuple[int, int, str]:
        """Keep the query-log records of one OTLP logs request; returns (seen, rejected, message)."""
        records, seen, malformed = query_records(request, limits=self.config, drops=self.drops,
                                                 now_ns=int(self.clock() * 1e9))
        self.queries.extend(records)
        with self._lock:
            for name in _service_names(request.resource_logs) if records else ():
                self._note_services(((semconv.SERVICE_NAME, name[: self.config.max_attribute_value_length]),))
            self.counters["log_requests"] += 1
            self.counters["log_records"] += seen
            self.counters["query_records"] += len(records)
            self.counters["log_records_rejected"] += malformed
        message = (f"{malformed} {semconv.EVENT_QUERY} record(s) rejected (no {semconv.QUERY_ID}, too many "
                   "attributes, or a time outside the plausible window)") if malformed else ""
        return seen, malformed, message

    def add_queries(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Keep queries an in-process feeder logged (the monitoring facade), each a ``QueryRecord``'s fields."""
        self.queries.extend([QueryRecord(**record) for record in records])

    def note_evaluation(self, time_s: float) -> None:
        """An in-process feeder (the monitoring facade) evaluated this service's Analyzer at ``time_s``."""
        with self._lock:
            self.counters["metric_requests"] += 1
            self.last_evaluation_s = time_s

    # --- evaluation ------------------------------------------------------------
    def evaluate(self, now: float | None = None) -> list[Alert]:
        """Flush due fleet buckets, run every detector, update alerts. Returns the alert events sent."""
        now = self.clock() if now is None else now
        with self._lock:
            t0 = time.perf_counter()
            self._flush_fleet(now)
            evaluation = self.analyzer.evaluate(now)
            self.last_evaluation_ms = (time.perf_counter() - t0) * 1000.0
            self.last_evaluation_s = now
            self.counters["evaluations"] += 1
        return self.alerts.observe(evaluation, now)

    def _run(self) -> None:
        # evaluate as soon as data arrived (a replica's export), at most every evaluate_every_s when it keeps
        # arriving, and every _IDLE_EVALUATION_S without data (stale series resolve); the alert policy counts
        # intervals of data, not evaluations, so evaluating more often changes no persistence
        every = min(self.config.evaluate_every_s, self.analyzer.config.interval_seconds / 10)
        last = -math.inf
        while not self._stop.is_set():
            woke = self._dirty.wait(_IDLE_EVALUATION_S)
            if self._stop.is_set():
                break
            if woke:
                self._stop.wait(max(_SETTLE_S, last + every - time.monotonic()))  # let a burst of exports land
            self._dirty.clear()
            last = time.monotonic()
            try:
                self.evaluate()
            except Exception:  # noqa: BLE001 - the evaluator thread must survive anything
                self.counters["evaluation_errors"] += 1
                _log.exception("evaluation failed; will retry")

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the evaluator thread and the alert sinks."""
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.alerts.shutdown(timeout_s)

    # --- read models for the API ----------------------------------------------
    def _indicator_rates(self) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
        """Fresh key indicators: the worst value over the services (fleet series, else replicas), and
        the worst replica of each indicator when it is clearly worse than that (value and instance)."""
        cfg = self.analyzer.config
        horizon = self.clock() - cfg.stale_after_intervals * cfg.interval_seconds
        fleet: dict[str, list[float]] = {}
        replicas: dict[str, list[tuple[float, str]]] = {}
        for latest in self.analyzer.snapshot():
            key, value = latest.series, latest.value
            if not latest.indicator or key.attributes or latest.time < horizon or not math.isfinite(value):
                continue
            instance = _scope(key)["instance"]
            if instance is None:
                fleet.setdefault(key.metric, []).append(value)
            else:
                replicas.setdefault(key.metric, []).append((value, instance))
        rates: dict[str, float] = {}
        worst: dict[str, dict[str, Any]] = {}
        for name in set(fleet) | set(replicas):
            rule = self.analyzer.rules.get(name)
            lower_worse = (not rule.upper) if rule is not None else bad_direction(name) == "down"
            pick = min if lower_worse else max
            rates[name] = pick(fleet[name]) if name in fleet else pick(v for v, _ in replicas[name])
            if name in replicas and name not in _ADDITIVE:
                value, instance = pick(replicas[name])
                margin = _OUTLIER_MARGIN * max(abs(rates[name]), 1e-12)
                if (rates[name] - value if lower_worse else value - rates[name]) > margin:
                    worst[name] = {"value": value, "instance": instance}
        return rates, worst

    def health(self) -> dict[str, Any]:
        """Score, status and issues (see :func:`heritage_otel.analysis.compute_health`), plus key metrics
        and, per key metric, the replica that is more than 10 % worse than the fleet value (if any)."""
        with self._lock:
            rates, worst = self._indicator_rates()
            stats = self.analyzer.stats()
        active = self.alerts.get_active_alerts()
        report = compute_health(active, rates, self.analyzer.rules).to_dict()
        counts = {level.name: sum(1 for a in active if a.level == level) for level in AlertLevel}
        report.update(
            active_alerts=counts,
            open_incidents=len(self.alerts.active_incidents()),
            key_metrics={k: _num(rates[k]) for k in KEY_METRICS if k in rates},
            worst_replica={k: {"value": _num(worst[k]["value"]), "instance": worst[k]["instance"]}
                           for k in KEY_METRICS if k in worst},
            series=stats["series"],
            last_evaluation=self.last_evaluation_s,
            receiving=self.counters["metric_requests"] > 0,
            refusing=self._refusing(),
        )
        if report["refusing"] is not None:
            report["issues"].insert(0, f"data refused: {report['refusing']['reason']}")
            if report["status"] == "healthy":
                report["status"] = "degraded"
        return report

    def _refusing(self) -> dict[str, Any] | None:
        """The last refusal of points for the service's state (a full budget) if it is recent, else None."""
        with self._lock:
            refused = self._refused
        window = max(_REFUSAL_WINDOW_S, 2 * self.analyzer.config.interval_seconds)
        if refused is None or self.clock() - refused[0] > window:
            return None
        return {"at": refused[0], "reason": refused[1]}

    @staticmethod
    def _matches(alert: Alert, instance: str | None, service: str | None) -> bool:
        labels = alert.labels
        if instance is not None and labels.get(semconv.SERVICE_INSTANCE_ID) != instance:
            return False
        return service is None or labels.get(semconv.SERVICE_NAME) == service

    def active_alerts(
        self, level: str | None = None, metric: str | None = None, instance: str | None = None,
        service: str | None = None,
    ) -> list[dict[str, Any]]:
        """Active alerts, most severe first, as dicts."""
        found = [a for a in self.alerts.get_active_alerts(level, metric) if self._matches(a, instance, service)]
        found.sort(key=lambda a: (-int(a.level), a.detector != "threshold",
                                  semconv.SERVICE_INSTANCE_ID not in a.labels, a.metric))
        return [self._alert_dict(a) for a in found]

    def alert_history(
        self, level: str | None = None, metric: str | None = None, instance: str | None = None,
        service: str | None = None, hours: float | None = None,
    ) -> list[dict[str, Any]]:
        """Alert events (fired, escalated, repeated, resolved) of the last ``hours``, newest first."""
        since = self.clock() - 3600.0 * (hours if hours is not None else self.config.alert_history_hours)
        found = [
            a for a in self.alerts.history(level, metric)
            if self._matches(a, instance, service) and (a.resolved_at or a.last_seen) >= since
        ]
        found.reverse()
        return [self._alert_dict(a) for a in found]

    def incidents(self, state: str = "open", limit: int = 100) -> list[dict[str, Any]]:
        """Incidents as dicts, most severe first: ``open`` ones, ``resolved`` ones (newest first), or ``all``.

        Each has its members (the alerts it groups), probable cause and exemplar traces with Jaeger links.
        """
        tracker = self.alerts.incidents
        with self._lock:
            found = [] if state == "resolved" else [(i, "firing") for i in self.alerts.active_incidents()]
            if state != "open":
                found += [(i, "resolved") for i in tracker.recent(limit)]
        return [self._incident_dict(incident, st) for incident, st in found[:limit]]

    def _incident_dict(self, incident: Any, state: str) -> dict[str, Any]:
        members = [self._alert_dict(a) for a in incident.all_members()]
        traces: list[str] = []
        if incident.cause is not None:
            traces.extend(incident.cause.trace_ids)
        for m in members:
            traces.extend(m["exemplar_trace_ids"])
        trace_ids = list(dict.fromkeys(traces))[:5]
        return {
            "id": incident.id, "state": state, "level": incident.level.name, "service": incident.service,
            "scope": incident.scope, "instances": list(incident.instances),
            "first_seen": incident.first_seen, "last_seen": incident.last_seen,
            "signals": sorted({signal_of(m["metric"]) for m in members}),
            "members": members, "cause": incident.cause.to_dict() if incident.cause is not None else None,
            "exemplar_trace_ids": trace_ids,
            "trace_urls": [self.config.trace_url(t) for t in trace_ids] if self.config.jaeger_url else [],
        }

    @staticmethod
    def _alert_dict(alert: Alert) -> dict[str, Any]:
        out = alert.to_dict()
        out["instance"] = alert.labels.get(semconv.SERVICE_INSTANCE_ID)
        out["service"] = alert.labels.get(semconv.SERVICE_NAME)
        out["attributes"] = {k: v for k, v in alert.labels.items() if k not in RESOURCE_KEYS}
        out["time"] = alert.resolved_at or alert.last_seen
        return out

    def _series_index(self) -> dict[str, SeriesKey]:
        keys = self.analyzer.series()
        if len(self._ids) != len(keys):
            self._sids = {k: self._sids.get(k) or series_id(k) for k in keys}
            self._ids = {sid: k for k, sid in self._sids.items()}
        return self._ids

    def series(self, metric: str | None = None, instance: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Series (metrics and indicators) with their latest value, optionally one metric or replica."""
        out = []
        with self._lock:
            self._series_index()  # refreshes the ids of new series
            sids = dict(self._sids)
        for latest in self.analyzer.snapshot(metric):
            key = latest.series
            scope = _scope(key)
            if instance is not None and scope["instance"] != instance:
                continue
            out.append({
                "id": sids.get(key) or series_id(key), "metric": key.metric, "attributes": dict(key.attributes), **scope,
                "indicator": latest.indicator, "latest": _num(latest.value), "latest_time": _num(latest.time),
            })
        out.sort(key=lambda s: (not s["indicator"], s["metric"], s["instance"] or "", str(s["attributes"])))
        return out[:limit]

    def points(self, sid: str, minutes: float = 60.0) -> dict[str, Any] | None:
        """One series' recent points (times in seconds, oldest first), or None for an unknown id."""
        with self._lock:
            key = self._series_index().get(sid)
        if key is None:
            return None
        times, values = self.analyzer.points(key, since=self.clock() - minutes * 60.0)
        return {"id": sid, "metric": key.metric, "attributes": dict(key.attributes), **_scope(key),
                "times": times.tolist(), "values": values.tolist()}

    def metric_points(self, metric: str, minutes: float = 60.0, limit: int = 20) -> list[dict[str, Any]]:
        """Points of every series of one metric (fleet aggregates first), at most ``limit`` series."""
        listed = self.series(metric=metric, limit=100_000)
        listed.sort(key=lambda s: (s["instance"] is not None, s["instance"] or "", str(s["attributes"])))
        out = []
        for s in listed[:limit]:
            pts = self.points(s["id"], minutes)
            if pts is not None:
                out.append(pts)
        return out

    def metric_names(self) -> list[dict[str, Any]]:
        """Distinct metric names with their number of series, indicators first."""
        counts: dict[str, int] = {}
        for key in self.analyzer.series():
            counts[key.metric] = counts.get(key.metric, 0) + 1
        names = sorted(counts, key=lambda m: (m not in INDICATORS, m))
        return [{"metric": m, "series": counts[m], "indicator": m in INDICATORS} for m in names]

    def component_rows(self) -> list[dict[str, Any]]:
        return self.components.rows(self.clock())

    def recent_queries(self, limit: int = 50, filters: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Newest queries first, each with a Jaeger link when a Jaeger URL is configured."""
        filters = filters or {}
        out = []
        for q in self.queries.recent():
            if filters.get("instance") and q.instance != filters["instance"]:
                continue
            if filters.get("component") and filters["component"] not in q.components:
                continue
            if filters.get("query_id") and filters["query_id"] not in q.query_id:
                continue
            d = q.as_dict()
            d["trace_url"] = self.config.trace_url(q.trace_id) if q.trace_id else None
            out.append(d)
            if len(out) >= limit:
                break
        return out

    def budget(self) -> dict[str, Any]:
        """Per structure that grows with input: items held, its bound, bytes held (estimated), and the total
        next to the documented ceiling at these settings (:func:`heritage_otel.service.budget.ceiling`)."""
        cfg = self.config
        alerts = {"items": len(self.alerts.get_active_alerts()), "bound": self.alerts.max_active,
                  "bytes": self.alerts.nbytes()}  # its own lock, not taken under the service's
        with self._lock:
            a = self.analyzer.stats()
            services = len(self._services)
            service_bytes = sum(len(s) for s in self._services)
            components = self.components
            rows: dict[str, dict[str, int]] = {
                **self.converter.budget(),
                "analyzer_series": {"items": a["series"], "bound": self.analyzer.config.max_series,
                                    "bytes": int(a["bytes"] - a["bucket_bytes"])},
                "drift_buckets": {"items": a["bucket_cells"], "bound": self.analyzer.config.max_bucket_cells,
                                  "bytes": int(a["bucket_bytes"])},
                "services": {"items": services, "bound": cfg.max_services, "bytes": service_bytes + 64 * services},
                "component_intervals": {"items": components.intervals, "bound": components.max_bytes,
                                        "bytes": components.bytes},
                "queries": {"items": len(self.queries), "bound": cfg.query_store_size, "bytes": self.queries.bytes},
                "request_bodies": {"items": 0, "bound": cfg.max_buffered_bytes, "bytes": self.buffered_bytes},
                "alerts": alerts,
            }
        total = sum(r["bytes"] for r in rows.values())
        return {"structures": rows, "bytes": total, "ceiling_bytes": sum(ceiling(cfg, self.analyzer.config).values()),
                "dropped": {"drift_refused": a["drift_refused"], "component_intervals": components.dropped},
                "evicted_series": {"receiver": self.drops.snapshot()["series_evicted"],
                                   "analyzer": a["evicted_series"]}}

    def stats(self) -> dict[str, Any]:
        """Receiver, Analyzer and AlertManager counters (memory bounds included)."""
        with self._lock:
            out: dict[str, Any] = dict(self.counters)
            out["analyzer"] = self.analyzer.stats()
            out["services"] = sorted(self._services)
        out["receiver_series"] = self.converter.series_count
        out["max_series"] = self.config.max_series
        out["dropped_series_points"] = self.converter.dropped_series_points
        if self.fleet is not None:
            out["fleet_late_samples"] = self.fleet.late_samples
            out["fleet_dropped_samples"] = self.fleet.dropped_samples
            out["fleet_implausible_samples"] = self.fleet.implausible_samples
        out["queries_stored"] = len(self.queries)
        out["queries_stored_bytes"] = self.queries.bytes
        out["limits"] = {"settings": self.config.limits(), "dropped": self.drops.snapshot(),
                         "bucket_layouts": self.converter.bucket_layouts, "buffered_bytes": self.buffered_bytes}
        out["budget"] = self.budget()
        out["alerts"] = self.alerts.stats()
        out["uptime_s"] = round(self.clock() - self.started_at, 3)
        out["last_evaluation_ms"] = self.last_evaluation_ms
        return out
