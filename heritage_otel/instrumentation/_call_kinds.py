"""Entry points and components whose work is not one synchronous call: coroutines, generators.

A ``async def`` entry point gets its span around the awaited call; a
generator function gets its span from the first ``next()`` until it is
exhausted, closed or raises, with the recommender's own time (the time
spent inside ``next()``) as the query duration and what it yielded (the
first :data:`KEPT_RESULTS` items) as its results. Either way the span is
the current one while the recommender's code runs, so its components are
children. An ``async def`` component gets its span around the awaited call
too. The synchronous kinds are :class:`Wrappers`' own methods.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from typing import Any

from opentelemetry import context, trace

from heritage_otel import semconv
from heritage_otel._internal.exception_messages import enter_query, leave_query
from heritage_otel._internal.tracers import CurrentSpan
from heritage_otel.errors import record_error
from heritage_otel.instrumentation._wrappers import (
    CallState,
    Wrappers,
    _current_call,
    _query_and_top_k,
    _set_result_count,
)

_logger = logging.getLogger(__name__)

#: How many yielded items of a generator entry point are kept for its documents, query event and evaluator.
KEPT_RESULTS = 1000


class _Call:
    """One ``heritage.recommend`` span, entered (made current) once per piece of the recommender's work."""

    def __init__(self, wrappers: Wrappers, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.w = wrappers
        self.instance = instance
        self.query, top_k = _query_and_top_k(args, kwargs, wrappers.entry_parameters)
        self.state = CallState()
        self.span = wrappers.tracer.start_span(semconv.SPAN_RECOMMEND, record_exception=False,
                                               set_status_on_exception=False)
        self.context = trace.set_span_in_context(self.span)
        self._tokens: list[tuple[Any, Any]] = []
        with self:
            wrappers._start_attributes(self.span, self.query, top_k, self.state)
            wrappers._call_hook(wrappers.request_hook, self.span, instance, self.query, top_k)

    def __enter__(self) -> _Call:
        query_token = enter_query(self.query) if self.w.note_query else None
        self._tokens.append((context.attach(self.context), _current_call.set(self.state), query_token))
        return self

    def __exit__(self, *exc_info: object) -> None:
        token, call_token, query_token = self._tokens.pop()
        if query_token is not None:
            leave_query(query_token)
        _current_call.reset(call_token)
        context.detach(token)

    def succeed(self, results: Any, duration: float) -> None:
        """Record a successful call (inside the span's context) and end the span."""
        with self:
            self.w._finish(self.span, self.instance, self.query, results, duration, self.state)
            self.w._call_hook(self.w.response_hook, self.span, self.instance, results)
        self.span.end()

    def fail(self, exc: BaseException, duration: float) -> None:
        """Record the exception that escaped the recommender and end the span."""
        with self:
            record_error(self.span, exc, component="recommender", escaped=True, meter_provider=self.w.meter_provider)
            self.w._finish(self.span, self.instance, self.query, None, duration, self.state, error=exc)
        self.span.end()


def _start(wrappers: Wrappers, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
    """A started call, or None (logged) when the telemetry could not start: the recommender runs regardless."""
    try:
        return _Call(wrappers, instance, args, kwargs)
    except Exception:  # noqa: BLE001 - telemetry never breaks the recommender
        _logger.exception("heritage recommender instrumentation: could not start the heritage.recommend span")
        return None


def async_recommend(wrappers: Wrappers) -> Callable[..., Any]:
    """The wrapt wrapper of an ``async def`` entry point."""

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if wrappers._skip() or _current_call.get() is not None:  # re-entered: part of the call in progress
            return await wrapped(*args, **kwargs)
        call = _start(wrappers, instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        start = time.perf_counter()
        try:
            with call:
                results = await wrapped(*args, **kwargs)
        except Exception as exc:
            call.fail(exc, time.perf_counter() - start)
            raise
        except BaseException:  # cancelled: the span still ends
            call.span.end()
            raise
        call.succeed(results, time.perf_counter() - start)
        return results

    return wrapper


def generator_recommend(wrappers: Wrappers) -> Callable[..., Any]:
    """The wrapt wrapper of a generator-function entry point (values sent into it are not forwarded)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if wrappers._skip() or _current_call.get() is not None:  # re-entered: part of the call in progress
            return wrapped(*args, **kwargs)
        return _measured(wrappers, wrapped(*args, **kwargs), instance, args, kwargs)

    return wrapper


def _measured(wrappers: Wrappers, generator: Generator[Any, Any, Any], instance: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Generator[Any, Any, Any]:
    """Yields what ``generator`` yields, inside a ``heritage.recommend`` span that starts at the first ``next()``
    and ends when the generator is exhausted, raises, or is closed (what was taken by then is the result)."""
    call = _start(wrappers, instance, args, kwargs)
    if call is None:
        yield from generator
        return
    kept: list[Any] = []
    elapsed = 0.0
    ended = False
    try:
        while True:
            start = time.perf_counter()
            try:
                with call:
                    item = next(generator)
            except StopIteration:
                elapsed += time.perf_counter() - start
                break
            except Exception as exc:
                ended = True
                call.fail(exc, elapsed + time.perf_counter() - start)
                raise
            elapsed += time.perf_counter() - start
            if len(kept) < KEPT_RESULTS:
                kept.append(item)
            yield item
    finally:
        if not ended:  # exhausted, closed early, or an exception thrown in by the caller
            generator.close()
            call.succeed(kept, elapsed)


def async_component(wrappers: Wrappers, name: str, operation: str) -> Callable[..., Any]:
    """The wrapt wrapper of an ``async def`` ranking component: :meth:`Wrappers.component` around the await."""
    span_name = semconv.component_span_name(operation, name)
    span_attributes = {semconv.COMPONENT: name, semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RETRIEVER}
    succeeded, failed = {semconv.COMPONENT: name, semconv.SUCCESS: True}, {semconv.COMPONENT: name, semconv.SUCCESS: False}

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        state = _current_call.get()
        if state is None:
            if wrappers._skip():  # inside a heritage.recommend call the entry point has decided
                return await wrapped(*args, **kwargs)
        elif not state.spans:  # a trace that is not recorded: the duration only
            start = time.perf_counter()
            try:
                result = await wrapped(*args, **kwargs)
            except Exception as exc:
                record_error(trace.INVALID_SPAN, exc, component=name, escaped=True, meter_provider=wrappers.meter_provider)
                wrappers._record_component(time.perf_counter() - start, failed)
                raise
            wrappers._record_component(time.perf_counter() - start, succeeded)
            state.components_used.append(name)
            return result
        with CurrentSpan(wrappers.tracer, span_name) as span:
            if span.is_recording():
                span.set_attributes(span_attributes)
            start = time.perf_counter()
            try:
                result = await wrapped(*args, **kwargs)
            except Exception as exc:
                record_error(span, exc, component=name, escaped=True, meter_provider=wrappers.meter_provider)
                wrappers._record_component(time.perf_counter() - start, failed)
                raise
            wrappers._record_component(time.perf_counter() - start, succeeded)
            if state is not None:
                state.components_used.append(name)
            if span.is_recording():
                _set_result_count(span, result)
            return result

    return wrapper
