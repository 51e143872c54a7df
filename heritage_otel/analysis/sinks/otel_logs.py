"""Alerts as OpenTelemetry log records, so they travel the same pipeline to the Collector.

Severity: INFO -> INFO, WARNING -> WARN, CRITICAL -> ERROR (resolved alerts
are INFO). The record's context is the first exemplar trace (trace and span
id of a request that shows the problem), so log backends link the alert to
the trace. Attributes use the ``heritage.alert.*`` names from
:mod:`heritage_otel.semconv`.

>>> from opentelemetry.sdk._logs import LoggerProvider
>>> from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
>>> from heritage_otel.analysis.alert import Alert
>>> from heritage_otel.analysis.findings import AlertLevel
>>> exporter = InMemoryLogRecordExporter()
>>> provider = LoggerProvider()
>>> provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
>>> OtelLogSink(provider)(Alert("a1", AlertLevel.WARNING, "error_rate", "threshold", {}, 0.02, 0.01, "high", 0.0, 0.0))
>>> [r.log_record.severity_text for r in exporter.get_finished_logs()]
['WARN']
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import _logs, trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from heritage_otel import semconv
from heritage_otel.analysis.alert import Alert
from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.version import __version__

__all__ = ["OtelLogSink", "SEVERITY"]

SEVERITY = {
    AlertLevel.INFO: _logs.SeverityNumber.INFO,
    AlertLevel.WARNING: _logs.SeverityNumber.WARN,
    AlertLevel.CRITICAL: _logs.SeverityNumber.ERROR,
}


def _context(alert: Alert) -> Context | None:
    if not alert.exemplar_trace_ids:
        return None
    try:
        trace_id = int(alert.exemplar_trace_ids[0], 16)
        span_id = int(alert.exemplar_span_ids[0], 16) if alert.exemplar_span_ids else 0
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    ctx = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(ctx), Context())


class OtelLogSink:
    """Emit each alert event as a log record through ``logger_provider`` (default: the global one)."""

    def __init__(self, logger_provider: _logs.LoggerProvider | None = None) -> None:
        self._provider = logger_provider

    def __call__(self, alert: Alert) -> None:
        provider = self._provider or _logs.get_logger_provider()
        logger = provider.get_logger(semconv.INSTRUMENTATION_SCOPE, __version__)
        resolved = alert.state == "resolved"
        severity = _logs.SeverityNumber.INFO if resolved else SEVERITY[alert.level]
        attributes: dict[str, Any] = {
            semconv.ALERT_ID: alert.id,
            semconv.ALERT_LEVEL: alert.level.name,
            semconv.ALERT_METRIC: alert.metric,
            semconv.ALERT_DETECTOR: alert.detector,
            semconv.ALERT_STATE: alert.state,
        }
        if alert.current_value == alert.current_value:  # not NaN
            attributes[semconv.ALERT_VALUE] = float(alert.current_value)
        if alert.threshold == alert.threshold:
            attributes[semconv.ALERT_THRESHOLD] = float(alert.threshold)
        for k, v in alert.labels.items():
            attributes[f"{semconv.EVENT_ALERT}.label.{k}"] = str(v)
        if getattr(alert, "incident", None):
            attributes[semconv.ALERT_INCIDENT] = alert.incident
        if getattr(alert, "scope", None):
            attributes[semconv.ALERT_SCOPE] = alert.scope
        cause = getattr(alert, "cause", None)
        if cause and cause.get("summary"):
            attributes[semconv.ALERT_CAUSE] = str(cause["summary"])
        logger.emit(
            timestamp=int(alert.last_seen * 1e9),
            observed_timestamp=time.time_ns(),
            context=_context(alert),
            severity_number=severity,
            severity_text="INFO" if resolved else severity.name,
            body=("Resolved: " if resolved else "") + alert.message,
            attributes=attributes,
            event_name=semconv.EVENT_ALERT,
        )
