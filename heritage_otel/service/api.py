"""The JSON API: path + query parameters -> (HTTP status, JSON-ready payload).

Documented in ``docs/analyzer-openapi.yaml``. Parameters are validated and a
bad one is a 400 naming the parameter, its value and what is valid.

>>> from heritage_otel.service.core import AnalyzerService
>>> service = AnalyzerService(start_background=False)
>>> route(service, "/api/alerts", {"level": "LOUD"})
(400, {'error': "level = 'LOUD' is not valid; expected one of INFO, WARNING, CRITICAL"})
>>> route(service, "/api/queries", {})
(200, {'queries': [], 'total': 0})
>>> route(service, "/api/incidents", {})
(200, {'incidents': [], 'count': 0, 'state': 'open'})
>>> service.close()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from heritage_otel.analysis import AlertLevel
from heritage_otel.indicators import bad_direction
from heritage_otel.service.core import KEY_METRICS, AnalyzerService
from heritage_otel.traces.sampling import DECIDING, DECIDING_S, why_not_kept
from heritage_otel.version import __version__
from heritage_otel.service.slos import slo_payload

__all__ = ["route", "ApiError"]

_LEVELS: Final = tuple(level.name for level in AlertLevel)
_MAX_MINUTES: Final = 7 * 24 * 60.0


class ApiError(Exception):
    """A bad request parameter (400)."""


def _level(query: Mapping[str, str]) -> str | None:
    level = query.get("level")
    if not level:
        return None
    if level.upper() not in _LEVELS:
        msg = f"level = {level!r} is not valid; expected one of {', '.join(_LEVELS)}"
        raise ApiError(msg)
    return level.upper()


def _number(query: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not lo <= value <= hi:
        msg = f"{name} = {raw!r} is not valid; expected a number in {lo:g}..{hi:g}"
        raise ApiError(msg)
    return value


def _filters(query: Mapping[str, str]) -> dict[str, Any]:
    return {
        "level": _level(query), "metric": query.get("metric") or None,
        "instance": query.get("instance") or None, "service": query.get("service") or None,
    }


def _health(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    return service.health()


def _alerts(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    state = query.get("state", "active")
    if state not in ("active", "history"):
        msg = f"state = {state!r} is not valid; expected active or history"
        raise ApiError(msg)
    return _history(service, query) if state == "history" else _active(service, query)


def _active(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    alerts = _located(service, _linked(service, service.active_alerts(**_filters(query))))
    return {"alerts": alerts, "count": len(alerts)}


def _located(service: AnalyzerService, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alert dicts of a replica with ``instance_details``: the host and pid it runs as, when known."""
    where = _instance_whereabouts(service) if any(a.get("instance") for a in alerts) else {}
    for alert in alerts:
        if alert.get("instance") in where:
            alert["instance_details"] = where[alert["instance"]]
    return alerts


def _linked(service: AnalyzerService, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alert dicts whose ``jaeger_links`` open their traces: Jaeger's UI when a real one answers, else the
    dashboard's trace page (Jaeger built from its Go module serves a placeholder at ``/trace/<id>``)."""
    for alert in alerts:
        if alert.get("jaeger_links"):
            alert["jaeger_links"] = [service.traces.page_url(t) for t in alert.get("exemplar_trace_ids") or ()]
    return alerts


def _history(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    hours = _number(query, "hours", service.config.alert_history_hours, 0.001, 24 * 30)
    alerts = _located(service, _linked(service, service.alert_history(**_filters(query), hours=hours)))
    return {"alerts": alerts, "count": len(alerts), "hours": hours}


def _incidents(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    state = query.get("state", "open")
    if state not in ("open", "resolved", "all"):
        msg = f"state = {state!r} is not valid; expected open, resolved or all"
        raise ApiError(msg)
    limit = int(_number(query, "limit", 100, 1, 1000))
    incidents = service.incidents(state, limit)
    where = _instance_whereabouts(service)
    for incident in incidents:
        _kept_exemplars(service, incident)
        _linked(service, incident.get("members") or [])
        incident["instance_details"] = {i: where[i] for i in incident.get("instances") or () if i in where}
    return {"incidents": incidents, "count": len(incidents), "state": state}


def _instance_whereabouts(service: AnalyzerService) -> dict[str, dict[str, Any]]:
    """``service.instance.id`` -> its ``host`` and ``pid``, from the newest query record of each instance."""
    where: dict[str, dict[str, Any]] = {}
    for q in service.queries.recent():
        if q.instance and q.instance not in where and (q.host or q.pid is not None):
            where[q.instance] = {"host": q.host, "pid": q.pid}
    return where


def _kept_exemplars(service: AnalyzerService, incident: dict[str, Any]) -> None:
    """Exemplars limited to traces a source has (what the Collector kept), with links that open them.

    ``exemplar_trace_ids`` keeps the ids not known to be dropped; ``trace_urls`` point at the dashboard's
    trace page unless the real Jaeger UI answers; ``exemplars_dropped`` counts those tail sampling dropped.
    """
    ids = list(incident.get("exemplar_trace_ids") or [])
    kept = service.traces.kept(ids)
    shown = [t for t in ids if kept.get(t) is not False]
    incident["exemplar_trace_ids"] = shown
    incident["trace_urls"] = [service.traces.page_url(t) for t in shown]
    incident["exemplars_dropped"] = len(ids) - len(shown)


def _series(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    limit = int(_number(query, "limit", 1000, 1, 100_000))
    found = service.series(metric=query.get("metric") or None, instance=query.get("instance") or None, limit=limit)
    return {"series": found, "count": len(found)}


def _metrics(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    return {"metrics": service.metric_names(), "key_metrics": list(KEY_METRICS),
            "bad_direction": {m: bad_direction(m) for m in KEY_METRICS}}


def _points(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    metric = query.get("metric")
    if not metric:
        msg = "metric is required (a metric or indicator name from /api/metrics)"
        raise ApiError(msg)
    minutes = _number(query, "minutes", 60, 0.1, _MAX_MINUTES)
    limit = int(_number(query, "limit", 20, 1, 200))
    return {"metric": metric, "minutes": minutes, "series": service.metric_points(metric, minutes, limit)}


def _components(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    return {"components": service.component_rows(), "window_s": service.components.window_s}


def _queries(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    limit = int(_number(query, "limit", 50, 1, service.config.query_store_size))
    filters = {k: query[k] for k in ("instance", "component", "query_id") if query.get(k)}
    rows = service.recent_queries(limit, filters)
    kept = service.traces.kept(r["trace_id"] for r in rows if r.get("trace_id"))
    for r in rows:
        _trace_fields(service, r, kept.get(r["trace_id"]) if r.get("trace_id") else None)
    return {"queries": rows, "total": service.queries.total}


def _trace_fields(service: AnalyzerService, row: dict[str, Any], kept: bool | None) -> None:
    """A query row's trace: ``trace_kept`` (True/False, None when unknown), ``trace_url`` that opens it, and
    ``trace_note`` saying why a dropped trace is not there."""
    trace_id = row.get("trace_id")
    deciding = kept is False and time.time() - float(row.get("time_s") or 0.0) < DECIDING_S
    kept = None if deciding else kept
    row["trace_kept"] = kept
    row["trace_url"] = service.traces.page_url(trace_id) if trace_id and kept is not False else None
    row["trace_note"] = why_not_kept(row) if kept is False else DECIDING if deciding else None


def _trace(service: AnalyzerService, trace_id: str) -> tuple[int, dict[str, Any]]:
    """One trace for the trace page; when no source has it and the query log knows it, why (tail sampling)."""
    found = service.traces.find(trace_id)
    if found["trace"] is not None:
        return 200, found
    wanted = found["trace_id"]
    record = next((q for q in service.queries.recent() if q.trace_id and q.trace_id.rjust(32, "0") == wanted), None)
    if record is not None:
        found["why"] = why_not_kept(record.as_dict())
    return 404, found


def _stats(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    return service.stats()


def _config(service: AnalyzerService, query: Mapping[str, str]) -> dict[str, Any]:
    cfg = service.config
    acfg = service.analyzer.config
    return {
        "version": __version__, "jaeger_url": cfg.public_jaeger_url, "refresh_seconds": cfg.refresh_seconds,
        "interval_seconds": acfg.interval_seconds, "retention_minutes": acfg.retention_minutes,
        "sensitivity": acfg.sensitivity, "thresholds": {k: dict(v) for k, v in acfg.thresholds.items()},
        "max_series": cfg.max_series, "max_request_bytes": cfg.max_request_bytes,
        "alert_history_hours": cfg.alert_history_hours, "auth": cfg.token is not None,
    }


_ROUTES: Final[dict[str, Callable[[AnalyzerService, Mapping[str, str]], Any]]] = {
    "/api/health": _health,
    "/api/alerts": _alerts,
    "/api/alerts/active": _active,
    "/api/alerts/history": _history,
    "/api/incidents": _incidents,
    "/api/series": _series,
    "/api/metrics": _metrics,
    "/api/points": _points,
    "/api/components": _components,
    "/api/queries": _queries,
    "/api/stats": _stats,
    "/api/config": _config,
    "/api/slos": lambda service, query: slo_payload(service),
}


def route(service: AnalyzerService, path: str, query: Mapping[str, str]) -> tuple[int, Any]:
    """Answer one API request."""
    handler = _ROUTES.get(path.rstrip("/") or path)
    try:
        if handler is not None:
            return 200, handler(service, query)
        if path.startswith("/api/traces/"):
            try:
                return _trace(service, path.removeprefix("/api/traces/"))
            except ValueError as exc:
                return 400, {"error": str(exc)}
        if path.startswith("/api/series/"):
            sid = path.removeprefix("/api/series/")
            found = service.points(sid, _number(query, "minutes", 60, 0.1, _MAX_MINUTES))
            if found is None:
                return 404, {"error": f"no series with id {sid!r}; list them at /api/series"}
            return 200, found
    except ApiError as exc:
        return 400, {"error": str(exc)}
    return 404, {"error": f"no API endpoint at {path}; see docs/analyzer-openapi.yaml"}
