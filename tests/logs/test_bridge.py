"""heritage_otel.logs.bridge: stdlib logging becomes trace-correlated OTel log records."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry._logs import Logger, LoggerProvider, SeverityNumber

from heritage_otel.logs import install_logging_bridge, remove_logging_bridge


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.bridge.app")
    logger.propagate = False
    logger.setLevel(logging.NOTSET)
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)


def test_record_is_correlated_with_active_span(telemetry, app_logger):
    """The OTel record carries the trace and span id of the span active at the call."""
    handler = install_logging_bridge(logger=app_logger)
    try:
        with trace.get_tracer("test").start_as_current_span("work") as span:
            app_logger.warning("cache cold", extra={"cache_size": 0})
            expected = span.get_span_context()
    finally:
        remove_logging_bridge(handler)
    (record,) = [r.log_record for r in telemetry.logs()]
    assert record.body == "cache cold"
    assert record.severity_number == SeverityNumber.WARN
    assert record.attributes["cache_size"] == 0
    assert (record.trace_id, record.span_id) == (expected.trace_id, expected.span_id)
    assert telemetry.span("work").context.span_id == record.span_id


def test_level_filters_records(telemetry, app_logger):
    """Records below the bridge level are not bridged."""
    handler = install_logging_bridge(level=logging.WARNING, logger=app_logger)
    try:
        app_logger.info("ignored")
        app_logger.error("kept")
    finally:
        remove_logging_bridge(handler)
    assert [r.log_record.body for r in telemetry.logs()] == ["kept"]


def test_install_is_idempotent_per_logger(telemetry, app_logger):
    """Installing twice does not emit every record twice."""
    first = install_logging_bridge(logger=app_logger)
    second = install_logging_bridge(logger=app_logger)
    try:
        assert first is second
        app_logger.warning("once")
    finally:
        remove_logging_bridge(first)
    assert len(telemetry.logs()) == 1


def test_remove_stops_bridging_and_restores_level(telemetry, app_logger):
    """After removal nothing more is bridged and the logger's level is what it was."""
    app_logger.setLevel(logging.ERROR)
    handler = install_logging_bridge(level=logging.INFO, logger=app_logger)
    assert app_logger.level == logging.INFO
    remove_logging_bridge(handler)
    assert app_logger.level == logging.ERROR
    app_logger.error("after removal")
    assert telemetry.logs() == ()
    assert handler not in app_logger.handlers


def test_opentelemetry_own_records_not_bridged(telemetry):
    """Records of the opentelemetry.* loggers are never fed back into the pipeline."""
    root = logging.getLogger()
    handler = install_logging_bridge(level=logging.WARNING)
    try:
        logging.getLogger("opentelemetry.sdk._logs.export").warning("exporter failed")
        logging.getLogger("tests.bridge.other").warning("application warning")
    finally:
        remove_logging_bridge(handler)
    assert [r.log_record.body for r in telemetry.logs()] == ["application warning"]
    assert handler not in root.handlers


def test_follows_reconfiguration(app_logger):
    """A bridge on the global provider reaches whichever pipeline configure() built last."""
    from heritage_otel.testing import capture_telemetry

    handler = install_logging_bridge(logger=app_logger)
    try:
        with capture_telemetry() as first:
            app_logger.warning("to first")
        with capture_telemetry() as second:
            app_logger.warning("to second")
            assert [r.log_record.body for r in second.logs()] == ["to second"]
        assert [r.log_record.body for r in first.logs()] == ["to first"]
    finally:
        remove_logging_bridge(handler)


class _BrokenLogger(Logger):
    def emit(self, *args, **kwargs):  # noqa: ANN002, ANN003 - a test double's signature
        raise RuntimeError("exporter on fire")

    def enabled(self, *args, **kwargs):  # noqa: ANN002, ANN003 - a test double's signature
        return True


class _BrokenProvider(LoggerProvider):
    def get_logger(self, name, version=None, schema_url=None, attributes=None):  # noqa: ANN001 - a test double's signature
        return _BrokenLogger(name)


def test_failing_pipeline_never_raises_into_caller(app_logger, caplog):
    """An emit failure is reported once (a warning) and the caller goes on."""
    handler = install_logging_bridge(logger_provider=_BrokenProvider(), logger=app_logger)
    try:
        with caplog.at_level(logging.WARNING, logger="heritage_otel.logs.bridge"):
            app_logger.error("first")
            app_logger.error("second")
    finally:
        remove_logging_bridge(handler)
    reports = [r for r in caplog.records if r.name == "heritage_otel.logs.bridge"]
    assert len(reports) == 1
    assert "exporter on fire" in caplog.text


def test_bad_level_fails_fast(app_logger):
    """A level that is not a number is refused at install time, naming the setting."""
    with pytest.raises(ValueError, match="level"):
        install_logging_bridge(level="INFO", logger=app_logger)  # type: ignore[arg-type]  # a bad value on purpose


def test_no_deprecation_warning_escapes(app_logger, recwarn):
    """Installing the SDK handler does not surface its deprecation warning to users."""
    handler = install_logging_bridge(logger=app_logger)
    remove_logging_bridge(handler)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
