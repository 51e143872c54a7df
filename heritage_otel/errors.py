"""The four-tier error hierarchy and how an error is recorded on a span.

Severity decides what the caller should do (the seed's contract):

============  ========  ===========  ==================================
class         severity  HTTP status  meaning
============  ========  ===========  ==================================
Critical      4         503          service unavailable; re-raised
High          3         500          a fallback is expected
Medium        2         200          served with reduced quality
Low           1         200          handled gracefully
============  ========  ===========  ==================================

:func:`record_error` records any exception the OpenTelemetry way: an
``exception`` event (``exception.type``/``message``/``stacktrace``) through
``span.record_exception``, status ERROR when severity >= High, the attributes
``error.type`` and ``heritage.error.severity``, and one increment of the
``heritage.errors`` counter by severity and component.

An exception's message may hold the user's query (``raise KeyError(query)``),
so unless query capture is on (``HERITAGE_OTEL_CAPTURE_QUERY_TEXT=true``) the
message is replaced by its digest everywhere it is exported
(:func:`exception_message_for_export`): ``exception.message``, the last
line of ``exception.stacktrace`` (chained exceptions are left out) and the
span status. The type is always kept.

>>> from opentelemetry import trace
>>> span = trace.INVALID_SPAN
>>> record_error(span, HighSeverityError("simrank timed out"), component="simrank")
<Severity.HIGH: 3>
>>> severity_of(KeyError("x"))
<Severity.HIGH: 3>
>>> exception_message_for_export(KeyError("roman coins"), capture=False).startswith("<hidden sha256:")
True
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, Status, StatusCode

from heritage_otel import semconv
from heritage_otel._internal.exception_messages import message_for_export
from heritage_otel.hashing import capture_query_text_enabled
from heritage_otel.instruments import instruments_for

_logger = logging.getLogger(__name__)

__all__ = [
    "exception_message_for_export",
    "Severity",
    "HeritageError",
    "CriticalError",
    "HighSeverityError",
    "MediumSeverityError",
    "LowSeverityError",
    "ValidationError",
    "FallbackExhaustedError",
    "StrategyTimeoutError",
    "ResultRejectedError",
    "severity_of",
    "count_error",
    "record_error",
]


class Severity(IntEnum):
    """Error severity, 1 (low) to 4 (critical)."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class HeritageError(Exception):
    """Base of every heritage-otel error.

    ``component`` names where it happened; ``details`` carries extra context
    that is safe to export (never raw query text).
    """

    severity: Severity = Severity.HIGH
    http_status: int = 500
    fallback_expected: bool = False

    def __init__(
        self, message: str = "", *, component: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.component = component
        self.details: dict[str, Any] = dict(details or {})


class CriticalError(HeritageError):
    """The service cannot answer (severity 4, HTTP 503). Never swallowed."""

    severity = Severity.CRITICAL
    http_status = 503


class HighSeverityError(HeritageError):
    """A component failed; a fallback is expected (severity 3, HTTP 500)."""

    severity = Severity.HIGH
    http_status = 500
    fallback_expected = True


class MediumSeverityError(HeritageError):
    """The answer is served with reduced quality (severity 2, HTTP 200)."""

    severity = Severity.MEDIUM
    http_status = 200


class LowSeverityError(HeritageError):
    """A minor problem, handled gracefully (severity 1, HTTP 200)."""

    severity = Severity.LOW
    http_status = 200


class ValidationError(HeritageError):
    """Input or output failed validation (severity 2, HTTP 400).

    ``field``, ``value`` (already truncated or hashed by the caller) and
    ``expected`` say what was wrong and what is valid.
    """

    severity = Severity.MEDIUM
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
        component: str | None = None,
    ) -> None:
        super().__init__(message, component=component)
        self.field = field
        self.value = value
        self.expected = expected


class StrategyTimeoutError(HighSeverityError, TimeoutError):
    """A fallback strategy did not answer within its ``timeout_s``."""


class ResultRejectedError(MediumSeverityError):
    """A fallback strategy answered, but the chain's result check rejected the answer."""


class FallbackExhaustedError(CriticalError):
    """Every strategy of a fallback chain failed.

    ``errors`` maps each strategy name to the exception it raised (a
    :class:`StrategyTimeoutError` for a timeout, a :class:`ResultRejectedError`
    for a rejected result).
    """

    def __init__(self, chain: str, errors: Sequence[tuple[str, BaseException]]) -> None:
        self.chain = chain
        self.errors: dict[str, BaseException] = dict(errors)
        parts = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in errors) or "no strategy registered"
        super().__init__(f"fallback chain {chain!r} exhausted ({parts})", component=chain)


def severity_of(exc: BaseException) -> Severity:
    """Severity of any exception: its own for a HeritageError, HIGH otherwise."""
    if isinstance(exc, HeritageError):
        return exc.severity
    return Severity.HIGH


#: Attribute set on an exception once ``heritage.errors`` counted it.
_COUNTED = "_heritage_otel_counted"


def exception_message_for_export(exc: BaseException | str, capture: bool | None = None) -> str:
    """``str(exc)`` when query capture is on (``capture``, else the environment); else, with
    ``HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES=true``, the message with secrets and the call's query masked;
    else ``<hidden sha256:...>`` (an exception or error text may hold the query; the digest still tells equal
    messages apart)."""
    text = str(exc)
    if capture_query_text_enabled(capture) or not text:
        return text
    return message_for_export(text)


def _record_exception(span: Span, exc: BaseException, escaped: bool) -> str:
    """Add the ``exception`` event (message as :func:`exception_message_for_export` says); returns the message."""
    message = exception_message_for_export(exc)
    if message == str(exc):
        span.record_exception(exc, escaped=escaped)
        return message
    frames = "".join(traceback.format_tb(exc.__traceback__))
    span.add_event(semconv.EXCEPTION_EVENT, {
        semconv.EXCEPTION_TYPE: type(exc).__qualname__,
        semconv.EXCEPTION_MESSAGE: message,
        semconv.EXCEPTION_STACKTRACE: f"Traceback (most recent call last):\n{frames}{type(exc).__qualname__}: {message}",
        "exception.escaped": escaped,
    })
    return message


def count_error(
    severity: Severity, component: str, error_type: str, meter_provider: MeterProvider | None = None
) -> None:
    """Add one to ``heritage.errors`` (attributes: severity name, component, ``error.type``).

    :func:`record_error` calls it once per exception; call it directly for a
    failure known without an exception object (the facade's
    ``record_component_performance(success=False)``).

    >>> from opentelemetry.metrics import NoOpMeterProvider
    >>> count_error(Severity.HIGH, "simrank", "TimeoutError", NoOpMeterProvider())
    """
    instruments_for(meter_provider).errors.add(
        1,
        {
            semconv.ERROR_SEVERITY_NAME: severity.name.lower(),
            semconv.COMPONENT: component,
            semconv.ERROR_TYPE: error_type,
        },
    )


def record_error(
    span: Span,
    exc: BaseException,
    *,
    component: str | None = None,
    meter_provider: MeterProvider | None = None,
    escaped: bool = False,
) -> Severity:
    """Record ``exc`` on ``span`` and count it in ``heritage.errors``, once per exception object.

    The first call counts it (under the component that raised it); later
    calls for the same exception, as it travels up through a fallback
    attempt, an error handler or the request span, record it on their span
    without counting it again. Never raises: telemetry must not break the
    caller. Returns the severity.
    """
    severity = severity_of(exc)
    component = component or getattr(exc, "component", None) or "unknown"
    try:
        if span.is_recording():
            message = _record_exception(span, exc, escaped)
            span.set_attributes(
                {
                    semconv.ERROR_TYPE: type(exc).__qualname__,
                    semconv.ERROR_SEVERITY: int(severity),
                    semconv.ERROR_SEVERITY_NAME: severity.name.lower(),
                }
            )
            if severity >= Severity.HIGH:
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {message}"[:256]))
        if not getattr(exc, _COUNTED, False):
            count_error(severity, component, type(exc).__qualname__, meter_provider)
            try:
                setattr(exc, _COUNTED, True)
            except (AttributeError, TypeError):  # an exception type without __dict__: it may count again
                pass
    except Exception:  # noqa: BLE001 - telemetry never breaks the caller
        _logger.exception("could not record %s on span", type(exc).__name__)
    return severity
