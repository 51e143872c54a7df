"""SystemLogger: lifecycle, errors, warnings and configuration changes, with secrets masked."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber

from heritage_otel import semconv
from heritage_otel.errors import CriticalError, LowSeverityError
from heritage_otel.logs import SystemLogger
from heritage_otel.logs.system_logger import is_secret_key, mask_secrets
from tests.logs.conftest import hex_ids, read_json_lines


def _in_span(call):
    with trace.get_tracer("test").start_as_current_span("lifecycle") as span:
        call()
    return span


def test_component_start_event_record_and_line(telemetry, tmp_path):
    """Start: span event, correlated INFO record and a JSON line, all naming the component."""
    logger = SystemLogger(log_dir=tmp_path)
    span = _in_span(lambda: logger.log_component_start("simrank", version="2.1", nodes=5000))
    logger.close()
    (event,) = telemetry.span("lifecycle").events
    assert event.name == semconv.EVENT_SYSTEM
    assert event.attributes[semconv.COMPONENT] == "simrank"
    assert event.attributes[semconv.SYSTEM_EVENT_KIND] == "component_start"
    assert event.attributes[semconv.SYSTEM_DETAIL_PREFIX + "nodes"] == 5000
    (exported,) = telemetry.logs()
    record = exported.log_record
    assert record.body == "component simrank started"
    assert record.severity_number == SeverityNumber.INFO
    assert (record.trace_id, record.span_id) == (span.get_span_context().trace_id, span.get_span_context().span_id)
    assert exported.instrumentation_scope.name == "heritage_otel.system"
    (line,) = read_json_lines(tmp_path / "system.log")
    assert (line["trace_id"], line["span_id"]) == hex_ids(span)
    assert (line["component"], line["event"], line["version"], line["nodes"]) == ("simrank", "component_start", "2.1", 5000)


def test_component_stop_with_reason(telemetry):
    """Stop carries the reason."""
    _in_span(lambda: SystemLogger().log_component_stop("embedding", reason="shutdown"))
    attrs = telemetry.logs()[0].log_record.attributes
    assert attrs[semconv.SYSTEM_EVENT_KIND] == "component_stop"
    assert attrs[semconv.SYSTEM_DETAIL_PREFIX + "reason"] == "shutdown"


@pytest.mark.parametrize(
    ("error", "severity_number", "severity"),
    [
        (LowSeverityError("cache miss storm"), SeverityNumber.WARN, 1),
        (RuntimeError("simrank diverged"), SeverityNumber.ERROR, 3),
        (CriticalError("index missing"), SeverityNumber.FATAL, 4),
    ],
)
def test_error_severity_follows_the_error(telemetry, error, severity_number, severity):
    """The record's severity follows the heritage severity; exception.* attributes are set."""
    _in_span(lambda: SystemLogger().log_error("ranker", error))
    record = telemetry.logs()[0].log_record
    assert record.severity_number == severity_number
    assert record.attributes[semconv.ERROR_SEVERITY] == severity
    assert record.attributes[semconv.ERROR_TYPE] == type(error).__qualname__
    assert record.attributes[semconv.EXCEPTION_MESSAGE] == str(error)
    event = telemetry.span("lifecycle").events[0]
    assert event.attributes[semconv.SYSTEM_EVENT_KIND] == "error"


def test_error_as_text_and_warning(telemetry):
    """A plain error message and a warning are logged at ERROR and WARN."""
    logger = SystemLogger()
    logger.log_error("ranker", "ran out of candidates")
    logger.log_warning("cache", "hit ratio low", ratio=0.12)
    first, second = (r.log_record for r in telemetry.logs())
    assert (first.severity_number, first.attributes[semconv.ERROR_TYPE]) == (SeverityNumber.ERROR, "_OTHER")
    assert (second.severity_number, second.body) == (SeverityNumber.WARN, "hit ratio low")
    assert second.attributes[semconv.SYSTEM_DETAIL_PREFIX + "ratio"] == 0.12


def test_config_change_reports_only_changed_keys(telemetry, tmp_path):
    """With the old configuration, only changed and removed keys are reported, old and new."""
    logger = SystemLogger(log_dir=tmp_path)
    _in_span(lambda: logger.log_config_change(
        "ensemble", {"alpha": 0.7, "beta": 0.2, "gamma": 1}, old={"alpha": 0.5, "beta": 0.2, "delta": 3}
    ))
    logger.close()
    attrs = telemetry.logs()[0].log_record.attributes
    assert attrs[semconv.CONFIG_CHANGED_KEYS] == ("alpha", "gamma", "delta")
    assert attrs[semconv.CONFIG_NEW_PREFIX + "alpha"] == 0.7
    assert attrs[semconv.CONFIG_OLD_PREFIX + "alpha"] == 0.5
    assert semconv.CONFIG_NEW_PREFIX + "beta" not in attrs
    (line,) = read_json_lines(tmp_path / "system.log")
    assert line["changes"]["alpha"] == {"old": 0.5, "new": 0.7}
    assert line["changes"]["delta"] == {"old": 3, "new": None}


SECRETS = {
    "api_key": "AKIA-very-secret",
    "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer tok-123",
    "db_password": "hunter2",
    "authToken": "tok-abc",
    "endpoint": "https://alice:pa55word@collector.internal:4318/v1",
    "nested": {"client_secret": "cs-999", "url": "postgres://svc:pg-pass@db/heritage"},
    "top_k": 10,
}
SECRET_VALUES = ("AKIA-very-secret", "Bearer tok-123", "hunter2", "tok-abc", "pa55word", "alice", "cs-999", "pg-pass")


def test_secrets_masked_everywhere(telemetry, tmp_path):
    """No secret value in the span event, the log record or system.log, for config and details alike."""
    logger = SystemLogger(log_dir=tmp_path)

    def calls():
        logger.log_config_change("exporter", SECRETS)
        logger.log_component_start("exporter", **SECRETS)

    _in_span(calls)
    logger.close()
    exported = [repr(e.attributes) for e in telemetry.span("lifecycle").events]
    exported += [repr(r.log_record.attributes) + str(r.log_record.body) for r in telemetry.logs()]
    exported.append((tmp_path / "system.log").read_text(encoding="utf-8"))
    blob = "\n".join(exported)
    for secret in SECRET_VALUES:
        assert secret not in blob, secret
    assert "collector.internal:4318" in blob  # the useful part of the URL survives
    attrs = telemetry.logs()[0].log_record.attributes
    assert attrs[semconv.CONFIG_NEW_PREFIX + "top_k"] == 10
    assert attrs[semconv.CONFIG_NEW_PREFIX + "api_key"] == "***"


def test_mask_secrets_rules():
    """Keys are judged by their words; URL user-info is masked in any value."""
    masked = mask_secrets(SECRETS)
    assert masked["api_key"] == masked["db_password"] == masked["authToken"] == "***"
    assert masked["endpoint"] == "https://***@collector.internal:4318/v1"
    assert masked["nested"] == {"client_secret": "***", "url": "postgres://***@db/heritage"}
    assert masked["top_k"] == 10
    assert not is_secret_key("keyword_boost") and not is_secret_key("monkey_patch")
    assert mask_secrets({"token": None}) == {"token": None}  # nothing to hide


def test_never_raises(telemetry, tmp_path, caplog):
    """A config mapping that breaks while being read is dropped with a warning."""

    class Exploding(dict):
        def __iter__(self):
            raise RuntimeError("boom")

    blocker = tmp_path / "file"
    blocker.write_text("")
    logger = SystemLogger(log_dir=blocker)
    with caplog.at_level(logging.WARNING):
        logger.log_config_change("x", Exploding(a=1))
        logger.log_component_start("x")
    assert "configuration change" in caplog.text
    assert len(telemetry.logs()) == 1


def test_detail_values_become_valid_attributes(telemetry):
    """Mixed numbers, nested mappings and objects become attribute values instead of being dropped."""
    SystemLogger().log_component_start("ensemble", weights=[1, 0.5], params={"a": 1}, obj=object(), flags=[True, 0])
    attrs = telemetry.logs()[0].log_record.attributes
    prefix = semconv.SYSTEM_DETAIL_PREFIX
    assert attrs[prefix + "weights"] == (1.0, 0.5)
    assert attrs[prefix + "params"] == "{'a': 1}"
    assert attrs[prefix + "obj"].startswith("<object object")
    assert attrs[prefix + "flags"] == ("True", "0")
