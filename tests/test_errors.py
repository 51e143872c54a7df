"""The error hierarchy and record_error, asserted on the telemetry produced."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from heritage_otel import semconv
from heritage_otel.errors import (
    CriticalError,
    FallbackExhaustedError,
    HeritageError,
    HighSeverityError,
    LowSeverityError,
    MediumSeverityError,
    Severity,
    ValidationError,
    record_error,
    severity_of,
)

TIERS = [
    (CriticalError, Severity.CRITICAL, 503, StatusCode.ERROR),
    (HighSeverityError, Severity.HIGH, 500, StatusCode.ERROR),
    (MediumSeverityError, Severity.MEDIUM, 200, StatusCode.UNSET),
    (LowSeverityError, Severity.LOW, 200, StatusCode.UNSET),
]


@pytest.mark.parametrize(("cls", "severity", "status", "_"), TIERS)
def test_tiers_carry_severity_and_http_status(cls, severity, status, _):
    """Each tier has the seed's severity and suggested HTTP status."""
    error = cls("boom", component="simrank")
    assert isinstance(error, HeritageError)
    assert (error.severity, error.http_status, error.component) == (severity, status, "simrank")


def test_high_severity_expects_a_fallback():
    """Only the high tier says a fallback is expected."""
    assert HighSeverityError.fallback_expected and not CriticalError.fallback_expected


@pytest.mark.parametrize(("cls", "severity", "_", "span_status"), TIERS)
def test_record_error_follows_otel_conventions(telemetry, cls, severity, _, span_status, monkeypatch):
    """An exception event, error.type, severity, status ERROR only from High up."""
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "true")  # messages shown as they are (opt-in)
    with trace.get_tracer("t").start_as_current_span("work") as span:
        record_error(span, cls("it broke"), component="embedding")
    recorded = telemetry.span("work")
    event = telemetry.events(recorded, semconv.EXCEPTION_EVENT)[0]
    assert event.attributes[semconv.EXCEPTION_TYPE].endswith(cls.__name__)
    assert event.attributes[semconv.EXCEPTION_MESSAGE] == "it broke"
    assert semconv.EXCEPTION_STACKTRACE in event.attributes
    assert recorded.attributes[semconv.ERROR_TYPE] == cls.__qualname__
    assert recorded.attributes[semconv.ERROR_SEVERITY] == int(severity)
    assert recorded.status.status_code == span_status


def test_record_error_counts_by_severity_and_component(telemetry):
    """heritage.errors is incremented once per recorded error, by severity and component."""
    span = trace.get_tracer("t").start_span("x")
    record_error(span, HighSeverityError("a"), component="simrank")
    record_error(span, HighSeverityError("b"), component="simrank")
    record_error(span, LowSeverityError("c"), component="horn_index")
    span.end()
    high = {semconv.ERROR_SEVERITY_NAME: "high", semconv.COMPONENT: "simrank"}
    low = {semconv.ERROR_SEVERITY_NAME: "low", semconv.COMPONENT: "horn_index"}
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **high) == 2
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **low) == 1


def test_foreign_exceptions_count_as_high():
    """A plain exception is treated as high severity (a fallback is the right answer)."""
    assert severity_of(ValueError("x")) == Severity.HIGH


def test_record_error_without_configure_is_a_no_op():
    """With no pipeline the API still works: nothing raises."""
    assert record_error(trace.INVALID_SPAN, CriticalError("x")) == Severity.CRITICAL


def test_record_error_never_raises_on_a_broken_span(telemetry):
    """A span whose methods raise does not break the caller."""

    class BrokenSpan(trace.NonRecordingSpan):
        def is_recording(self) -> bool:
            return True

        def record_exception(self, *args, **kwargs):
            raise RuntimeError("exporter bug")

    assert record_error(BrokenSpan(trace.INVALID_SPAN_CONTEXT), LowSeverityError("x")) == Severity.LOW


def test_fallback_exhausted_lists_every_strategy_error():
    """FallbackExhaustedError is critical and carries each strategy's error."""
    first, second = RuntimeError("one"), TimeoutError("two")
    error = FallbackExhaustedError("ranking_chain", [("a", first), ("b", second)])
    assert error.severity == Severity.CRITICAL and error.errors == {"a": first, "b": second}
    assert "a: RuntimeError: one" in str(error) and "b: TimeoutError: two" in str(error)


def test_validation_error_names_field_value_and_range():
    """ValidationError keeps what was wrong and what is valid."""
    error = ValidationError("top_k = 0 is not valid", field="top_k", value=0, expected="1..100")
    assert (error.field, error.value, error.expected, error.http_status) == ("top_k", 0, "1..100", 400)
