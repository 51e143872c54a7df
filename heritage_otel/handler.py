"""``ErrorHandler().handle_errors(component, fallback_value=...)``: the seed's decorator, as spans.

Each call of the decorated function is a span named after the component.
An exception is recorded on it (see :func:`heritage_otel.errors.record_error`)
and ``fallback_value`` is returned instead, except for
:class:`~heritage_otel.errors.CriticalError`, which is recorded and re-raised.
``KeyboardInterrupt``, ``SystemExit`` and other non-``Exception`` errors are
never swallowed. Works on plain and ``async`` functions.

>>> handler = ErrorHandler()
>>> @handler.handle_errors("recommender", fallback_value=[])
... def get_recommendations(query):
...     raise KeyError(query)
>>> get_recommendations("temple")
[]
>>> handler.error_counts["recommender"]
1
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar, cast

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from heritage_otel import semconv
from heritage_otel._internal.tracers import tracer_for
from heritage_otel.errors import CriticalError, record_error

__all__ = ["ErrorHandler"]

F = TypeVar("F", bound=Callable[..., Any])


class ErrorHandler:
    """Creates error-handling decorators that share providers and per-component counts."""

    def __init__(
        self, *, tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
    ) -> None:
        self._tracer = tracer_for(tracer_provider)
        self._meter_provider = meter_provider
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def error_counts(self) -> dict[str, int]:
        """Errors handled so far, by component (a snapshot)."""
        with self._lock:
            return dict(self._counts)

    def handle_errors(
        self,
        component: str,
        fallback_value: Any = None,
        *,
        reraise: tuple[type[BaseException], ...] = (CriticalError,),
    ) -> Callable[[F], F]:
        """Decorate a sync or async function with a span and error handling.

        ``fallback_value`` is returned as is (mutable values are copied per
        call so callers cannot corrupt it). ``reraise`` lists the exception
        types that are recorded and re-raised instead (default: CriticalError).
        """
        if not isinstance(component, str) or not component.strip():
            msg = f"component = {component!r} is not valid; expected a non-empty string"
            raise ValueError(msg)

        def decorate(func: F) -> F:
            attributes = {
                semconv.COMPONENT: component,
                semconv.CODE_FUNCTION: getattr(func, "__qualname__", repr(func)),
            }

            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    with self._span(component, attributes) as span:
                        try:
                            return await func(*args, **kwargs)
                        except Exception as exc:  # noqa: BLE001 - decided in _handled
                            return self._handled(span, component, exc, reraise, fallback_value)

                return cast(F, async_wrapper)

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._span(component, attributes) as span:
                    try:
                        return func(*args, **kwargs)
                    except Exception as exc:  # noqa: BLE001 - decided in _handled
                        return self._handled(span, component, exc, reraise, fallback_value)

            return cast(F, wrapper)

        return decorate

    def _span(self, component: str, attributes: dict[str, Any]) -> Any:
        # Exceptions are recorded once, by _handled (which sets the status, the message hidden unless query
        # capture is on); the SDK would overwrite that status with the raw message of a re-raised error.
        return self._tracer.start_as_current_span(component, attributes=attributes, record_exception=False,
                                                  set_status_on_exception=False)

    def _handled(
        self,
        span: trace.Span,
        component: str,
        exc: Exception,
        reraise: tuple[type[BaseException], ...],
        fallback_value: Any,
    ) -> Any:
        escaping = isinstance(exc, reraise)
        record_error(span, exc, component=component, meter_provider=self._meter_provider, escaped=escaping)
        with self._lock:
            self._counts[component] += 1
        if escaping:
            raise exc
        try:
            return copy.deepcopy(fallback_value)  # nested mutables too: no call sees another's changes
        except Exception:  # noqa: BLE001 - an uncopyable value is returned as a shallow copy
            return copy.copy(fallback_value)
