"""ErrorHandler.handle_errors on sync and async functions, every severity."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.trace import StatusCode

from heritage_otel import semconv
from heritage_otel.errors import (
    CriticalError,
    HighSeverityError,
    LowSeverityError,
    MediumSeverityError,
)
from heritage_otel.handler import ErrorHandler


def test_success_is_a_span_named_after_the_component(telemetry):
    """A successful call returns its value inside one span named after the component."""
    handler = ErrorHandler()

    @handler.handle_errors("simrank", fallback_value=[])
    def rank(q):
        return [q]

    assert rank("temple") == ["temple"]
    span = telemetry.span("simrank")
    assert span.attributes[semconv.COMPONENT] == "simrank"
    assert span.status.status_code == StatusCode.UNSET and not span.events


@pytest.mark.parametrize(
    ("cls", "status"),
    [(HighSeverityError, StatusCode.ERROR), (MediumSeverityError, StatusCode.UNSET), (LowSeverityError, StatusCode.UNSET)],
)
def test_non_critical_errors_return_the_fallback(telemetry, cls, status):
    """High, medium and low errors are recorded once and the fallback value returned."""
    handler = ErrorHandler()

    @handler.handle_errors("horn_index", fallback_value=["default"])
    def rank():
        raise cls("broken index")

    assert rank() == ["default"]
    span = telemetry.span("horn_index")
    assert len(telemetry.events(span, "exception")) == 1
    assert span.status.status_code == status
    assert handler.error_counts == {"horn_index": 1}


def test_critical_errors_are_recorded_and_reraised(telemetry):
    """CriticalError propagates, recorded exactly once, status ERROR."""
    handler = ErrorHandler()

    @handler.handle_errors("recommender", fallback_value=[])
    def rank():
        raise CriticalError("store unavailable")

    with pytest.raises(CriticalError):
        rank()
    span = telemetry.span("recommender")
    assert len(telemetry.events(span, "exception")) == 1
    assert span.status.status_code == StatusCode.ERROR
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.ERROR_SEVERITY_NAME: "critical"}) == 1


@pytest.mark.parametrize("cls", [KeyboardInterrupt, SystemExit])
def test_never_swallows_interrupts(telemetry, cls):
    """KeyboardInterrupt and SystemExit pass straight through."""

    @ErrorHandler().handle_errors("c", fallback_value=0)
    def stop():
        raise cls()

    with pytest.raises(cls):
        stop()


def test_fallback_value_is_copied_per_call(telemetry):
    """A caller mutating the returned fallback does not change the next one."""

    @ErrorHandler().handle_errors("c", fallback_value=[])
    def fail():
        raise ValueError("x")

    fail().append("corrupted")
    assert fail() == []


async def test_async_functions_are_handled(telemetry, monkeypatch):
    """Async functions get the same span and fallback behaviour."""
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "true")  # messages shown as they are (opt-in)
    handler = ErrorHandler()

    @handler.handle_errors("embedding", fallback_value=[])
    async def rank():
        await asyncio.sleep(0)
        raise HighSeverityError("model missing")

    assert await rank() == []
    span = telemetry.span("embedding")
    assert span.status.status_code == StatusCode.ERROR
    assert telemetry.events(span, "exception")[0].attributes["exception.message"] == "model missing"


def test_works_with_no_configure_at_all():
    """Without configure() the API no-ops and the fallback still applies."""

    @ErrorHandler().handle_errors("c", fallback_value="safe")
    def fail():
        raise RuntimeError("x")

    assert fail() == "safe"


def test_bad_component_fails_at_decoration():
    """An empty component name is rejected with a clear message."""
    with pytest.raises(ValueError, match="component = '' is not valid"):
        ErrorHandler().handle_errors("")
