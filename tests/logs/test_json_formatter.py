"""heritage_otel.logs.json_formatter: one strict JSON object per line, trace-correlated."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from opentelemetry import trace

from heritage_otel.logs.json_formatter import JsonFormatter, format_timestamp
from tests.logs.conftest import hex_ids


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(static_fields={"service": "recommender"}))
    logger = logging.getLogger("tests.json_formatter")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_core_fields_and_extras(json_log):
    """timestamp, level, logger, message, static and extra fields are all there."""
    logger, stream = json_log
    logger.info("query %s served", "q1", extra={"query_id": "q1", "latency_ms": 12.5, "components": ["simrank"]})
    (line,) = _lines(stream)
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.json_formatter"
    assert line["message"] == "query q1 served"
    assert (line["query_id"], line["latency_ms"], line["components"]) == ("q1", 12.5, ["simrank"])
    assert line["service"] == "recommender"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])


def test_trace_ids_match_active_span(telemetry, json_log):
    """trace_id and span_id are the hex ids of the span active at the logging call."""
    logger, stream = json_log
    with trace.get_tracer("test").start_as_current_span("outer"):
        with trace.get_tracer("test").start_as_current_span("inner") as inner:
            logger.warning("inside")
            expected = hex_ids(inner)
    (line,) = _lines(stream)
    assert (line["trace_id"], line["span_id"]) == expected
    assert telemetry.span("inner").context.span_id == int(expected[1], 16)


def test_no_trace_ids_without_span(json_log):
    """Outside any span the ids are left out rather than zero-filled."""
    logger, stream = json_log
    logger.info("outside")
    (line,) = _lines(stream)
    assert "trace_id" not in line and "span_id" not in line


def test_exception_rendered(json_log):
    """logger.exception adds type, message and the stack trace."""
    logger, stream = json_log
    try:
        raise KeyError("doc-17")
    except KeyError:
        logger.exception("lookup failed")
    (line,) = _lines(stream)
    assert line["level"] == "ERROR"
    assert line["exception"]["type"] == "KeyError"
    assert line["exception"]["message"] == "'doc-17'"
    assert "Traceback" in line["exception"]["stacktrace"] and "KeyError" in line["exception"]["stacktrace"]


def test_multiline_message_stays_one_line(json_log):
    """Newlines in the message are escaped; one record is one line."""
    logger, stream = json_log
    logger.info("first\nsecond")
    assert stream.getvalue().count("\n") == 1
    assert _lines(stream)[0]["message"] == "first\nsecond"


def test_non_json_values_and_nan_are_strict(json_log):
    """NaN becomes "NaN" and unknown objects their str, so the line is strict JSON."""
    logger, stream = json_log
    logger.info("odd values", extra={"score": float("nan"), "limit": float("-inf"), "obj": object()})
    text = stream.getvalue()
    line = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert line["score"] == "NaN" and line["limit"] == "-Infinity"
    assert line["obj"].startswith("<object object")


def test_extra_cannot_overwrite_core_fields(json_log):
    """An extra named like a core field is kept under extra.<name>."""
    logger, stream = json_log
    logger.info("real message", extra={"level": "fake", "trace_id": "fake"})
    (line,) = _lines(stream)
    assert line["level"] == "INFO"
    assert line["extra.level"] == "fake" and line["extra.trace_id"] == "fake"
    assert "trace_id" not in line


def test_ids_stamped_by_otel_logging_instrumentation_win(json_log):
    """Records stamped with otelTraceID/otelSpanID (formatted later, elsewhere) keep those ids."""
    logger, stream = json_log
    logger.info("stamped", extra={"otelTraceID": "0af7651916cd43dd8448eb211c80319c", "otelSpanID": "b7ad6b7169203331"})
    (line,) = _lines(stream)
    assert (line["trace_id"], line["span_id"]) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert "otelTraceID" not in line


def test_timestamp_is_utc():
    """The timestamp is UTC whatever the local time zone."""
    assert format_timestamp(1_700_000_000.0) == "2023-11-14T22:13:20.000Z"
