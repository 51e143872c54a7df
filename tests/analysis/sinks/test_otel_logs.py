"""OtelLogSink: alerts as OpenTelemetry log records with mapped severity and the exemplar trace as context."""

from __future__ import annotations

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from heritage_otel import semconv
from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.analysis.sinks import OtelLogSink

from .conftest import make_alert


def _pipeline():
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return provider, exporter


def test_alert_becomes_log_record_linked_to_exemplar_trace() -> None:
    """Severity CRITICAL -> ERROR, trace/span ids from the first exemplar, heritage.alert.* attributes."""
    provider, exporter = _pipeline()
    alert = make_alert()
    OtelLogSink(provider)(alert)
    (data,) = exporter.get_finished_logs()
    record = data.log_record
    assert record.severity_number == SeverityNumber.ERROR
    assert format(record.trace_id, "032x") == alert.exemplar_trace_ids[0]
    assert format(record.span_id, "016x") == alert.exemplar_span_ids[0]
    assert record.attributes[semconv.ALERT_ID] == alert.id
    assert record.attributes[semconv.ALERT_LEVEL] == "CRITICAL"
    assert record.attributes[semconv.ALERT_THRESHOLD] == 3000.0
    assert record.body == alert.message
    provider.shutdown()


def test_severity_mapping_and_resolved() -> None:
    """WARNING -> WARN, INFO -> INFO, a resolved alert is INFO with a 'Resolved:' body."""
    provider, exporter = _pipeline()
    sink = OtelLogSink(provider)
    sink(make_alert(level=AlertLevel.WARNING))
    sink(make_alert(level=AlertLevel.INFO))
    sink(make_alert(state="resolved"))
    records = [d.log_record for d in exporter.get_finished_logs()]
    assert [r.severity_number for r in records] == [SeverityNumber.WARN, SeverityNumber.INFO, SeverityNumber.INFO]
    assert records[2].body.startswith("Resolved: ")
    assert records[2].attributes[semconv.ALERT_STATE] == "resolved"
    provider.shutdown()
