"""Fallback chains as spans: try strategies by priority until one answers.

The chain is a span ``heritage.fallback_chain``; each strategy tried is a
child span ``heritage.fallback.attempt`` with its name, priority and outcome
(``success``, ``error``, ``timeout``, ``rejected``). The chain span records the
strategy used, the number of attempts, whether the result is degraded (not
from the highest-priority strategy) and a ``heritage.fallback.used`` event
when a fallback answered. ``heritage.fallbacks`` counts executions by chain,
strategy used and degradation.

>>> chain = FallbackChain("ranking_chain")
>>> def primary(q): raise RuntimeError("simrank down")
>>> def fallback(q): return [q.upper()]
>>> chain.add_strategy("primary_simrank", primary, priority=3)
FallbackChain('ranking_chain', strategies=['primary_simrank'])
>>> chain.add_strategy("fallback_horn", fallback, priority=2)
FallbackChain('ranking_chain', strategies=['primary_simrank', 'fallback_horn'])
>>> chain.execute("temple")
(['TEMPLE'], 'fallback_horn')

Timeouts. A strategy with ``timeout_s`` runs in a daemon worker thread (the
OpenTelemetry context is carried into it). When the time is up the chain
records a ``timeout`` attempt and moves on; Python cannot stop a thread, so
the abandoned call keeps running in the background until it returns, and its
result or exception is discarded. Coroutine strategies in
:meth:`FallbackChain.execute_async` are cancelled instead.

Instrumentation applied later. A chain built at import keeps the function
objects it was given, yet instrumenting one of them afterwards (wrapping
``myranker:vector_rank`` with :class:`~heritage_otel.instrumentation.RecommenderInstrumentor`)
takes effect: a registered module-level function or bound method is looked up
again by name where it was defined when the chain runs, and a wrapper of it
found there (anything whose ``__wrapped__`` leads to it) is called instead.
Anything else put there (a different function) is ignored: the chain calls
what it was given.

>>> import types, functools, sys
>>> ranker = types.ModuleType("ranker_doc"); sys.modules["ranker_doc"] = ranker
>>> exec("def rank(q): return [q]", ranker.__dict__)
>>> chain = FallbackChain("late").add_strategy("rank", ranker.rank)
>>> traced = functools.wraps(ranker.rank)(lambda q: ["traced", q])   # what an instrumentor puts there
>>> ranker.rank = traced
>>> chain.execute("tomb")
(['traced', 'tomb'], 'rank')
>>> del sys.modules["ranker_doc"]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import operator
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, TracerProvider

from heritage_otel import semconv
from heritage_otel._internal.tracers import CurrentSpan, tracer_for
from heritage_otel.errors import (
    FallbackExhaustedError,
    ResultRejectedError,
    StrategyTimeoutError,
    record_error,
)
from heritage_otel.instruments import instruments_for

__all__ = ["FallbackChain", "Strategy"]

ResultCheck = Callable[[Any], bool]


class Strategy(NamedTuple):
    """One way to produce the chain's result (a named tuple: cheap to build per call)."""

    name: str
    func: Callable[..., Any]
    priority: int = 0
    timeout_s: float | None = None


def _validate_strategy(name: Any, func: Any, priority: Any, timeout_s: Any, existing: Sequence[Strategy]) -> None:
    if not isinstance(name, str) or not name.strip():
        msg = f"strategy name = {name!r} is not valid; expected a non-empty string"
        raise ValueError(msg)
    if any(s.name == name for s in existing):
        msg = f"strategy name = {name!r} is not valid; a strategy with that name is already registered"
        raise ValueError(msg)
    if not callable(func):
        msg = f"strategy {name!r}: func = {func!r} is not valid; expected a callable"
        raise TypeError(msg)
    if isinstance(priority, bool) or not isinstance(priority, int):
        msg = f"strategy {name!r}: priority = {priority!r} is not valid; expected an integer"
        raise TypeError(msg)
    if timeout_s is not None and (
        isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0
    ):
        msg = f"strategy {name!r}: timeout_s = {timeout_s!r} is not valid; expected None or a number > 0"
        raise ValueError(msg)


#: Result types that are never awaitable: the check is skipped for them (it costs more than a strategy call).
_PLAIN_RESULTS: frozenset[type] = frozenset({list, tuple, dict, str, int, float, bool, type(None)})


def _refuse_awaitable(strategy: Strategy, result: Any) -> None:
    """Raise TypeError when a strategy run synchronously returned an awaitable (closing a coroutine)."""
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()
        msg = f"strategy {strategy.name!r} returned an awaitable; use execute_async for coroutine strategies"
        raise TypeError(msg)


#: A strategy's priority (sorted with ``reverse=True``: highest first, ties in the order given, as sorts are stable).
_PRIORITY = operator.itemgetter(2)


def _as_strategy(given: Any) -> Strategy:
    """A ``(name, func, priority[, timeout_s])`` tuple as a Strategy; anything else as one whose call fails."""
    try:
        return Strategy(*given)
    except TypeError:
        return Strategy(repr(given)[:80], given)


class _Rebinding(NamedTuple):
    """Where a registered strategy's function can be found again by name, to call a wrapper put there later."""

    namespaces: tuple[Mapping[str, Any], ...]  # a module's __dict__, or the instance's classes' (MRO order)
    name: str
    original: Any  # the function as registered (a bound method's underlying function)
    instance: Any  # the instance of a bound method, else None


def _rebinding(func: Any) -> _Rebinding | None:
    """How to find ``func`` again by name: a module-level function or a bound method, else None."""
    try:
        if inspect.ismethod(func) and not isinstance(func.__self__, type):
            underlying, instance = func.__func__, func.__self__
            mro = type(instance).__mro__
            if any(vars(cls).get(underlying.__name__) is underlying for cls in mro):
                return _Rebinding(tuple(vars(cls) for cls in mro), underlying.__name__, underlying, instance)
        elif inspect.isfunction(func) and func.__qualname__ == func.__name__:
            module, name = sys.modules.get(func.__module__), func.__name__
            if module is not None and vars(module).get(name) is func:
                return _Rebinding((vars(module),), name, func, None)
    except Exception:  # noqa: BLE001 - an unusual object: the chain calls it as given
        return None
    return None


def _wraps(candidate: Any, original: Any) -> bool:
    """True when following ``__wrapped__`` from ``candidate`` reaches ``original`` (a few levels at most)."""
    for _ in range(8):
        try:
            candidate = candidate.__wrapped__
        except Exception:  # noqa: BLE001 - no (readable) __wrapped__
            return False
        if candidate is original:
            return True
    return False


def _current_func(rebinding: _Rebinding, given: Callable[..., Any]) -> Callable[..., Any]:
    """What to call for a strategy registered as ``given``: a wrapper of it now bound to its name, else ``given``."""
    name = rebinding.name
    for namespace in rebinding.namespaces:
        if name in namespace:
            now = namespace[name]
            break
    else:
        return given
    if now is rebinding.original or not _wraps(now, rebinding.original):
        return given
    if rebinding.instance is None:
        return now  # type: ignore[no-any-return]  # a strategy is any callable
    try:
        return now.__get__(rebinding.instance, type(rebinding.instance))  # type: ignore[no-any-return]  # a strategy is any callable
    except Exception:  # noqa: BLE001 - an unusual object: the chain calls the strategy it was given
        return given


def _in_daemon_thread(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> concurrent.futures.Future[Any]:
    """Run ``func`` in a daemon thread with the caller's context; its outcome as a Future.

    A daemon thread (not a pool) so that an abandoned, hanging call can never
    keep the interpreter from exiting.
    """
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    context = contextvars.copy_context()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = context.run(func, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=run, name="heritage-fallback-strategy", daemon=True).start()
    return future


class FallbackChain:
    """Strategies tried by descending priority; the first acceptable answer wins.

    ``result_check`` (optional) returns True for an acceptable result; a
    rejected result (for example an empty list) moves on to the next
    strategy. Every ``Exception`` moves on too; ``KeyboardInterrupt``,
    ``SystemExit`` and other ``BaseException``\\ s propagate at once. When every
    strategy fails, :class:`~heritage_otel.errors.FallbackExhaustedError`
    lists each strategy's error.
    """

    def __init__(
        self,
        name: str,
        *,
        result_check: ResultCheck | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            msg = f"chain name = {name!r} is not valid; expected a non-empty string"
            raise ValueError(msg)
        if result_check is not None and not callable(result_check):
            msg = f"result_check = {result_check!r} is not valid; expected a callable returning bool, or None"
            raise TypeError(msg)
        self.name = name
        self.result_check = result_check
        self._strategies: list[Strategy] = []
        self._rebindings: dict[str, _Rebinding] = {}
        self._tracer = tracer_for(tracer_provider)
        self._meter_provider = meter_provider
        self._fallbacks: Any = None

    def add_strategy(
        self, name: str, func: Callable[..., Any], priority: int = 0, timeout_s: float | None = None
    ) -> FallbackChain:
        """Register a strategy; higher ``priority`` is tried first (ties: registration order)."""
        _validate_strategy(name, func, priority, timeout_s, self._strategies)
        self._strategies.append(Strategy(name, func, priority, float(timeout_s) if timeout_s else None))
        rebinding = _rebinding(func)
        if rebinding is not None:
            self._rebindings[name] = rebinding
        self._strategies.sort(key=_PRIORITY, reverse=True)
        return self

    @property
    def strategies(self) -> tuple[Strategy, ...]:
        """The registered strategies in the order they are tried."""
        return tuple(self._strategies)

    def __repr__(self) -> str:
        return f"FallbackChain({self.name!r}, strategies={[s.name for s in self._strategies]})"

    # --- execution -----------------------------------------------------------
    def execute(self, *args: Any, **kwargs: Any) -> tuple[Any, str]:
        """Run the chain; returns ``(result, name of the strategy that produced it)``."""
        return self._run(self._strategies, args, kwargs, self._rebindings)

    def execute_strategies(self, strategies: Iterable[tuple[Any, ...]], *args: Any, **kwargs: Any) -> tuple[Any, str]:
        """Run ``strategies`` once, instead of the registered ones, with this chain's spans and metrics.

        Each is a :class:`Strategy` or a ``(name, func, priority)`` tuple; they
        are tried by descending priority (ties: the order given). For code that
        builds its strategies per call (bound methods of a request's objects):
        one chain serves every call. A ``func`` that cannot be called is one
        failed attempt, as a plain loop over the strategies would see it.

        >>> chain = FallbackChain("ranking_chain")
        >>> chain.execute_strategies([("primary", lambda q: 1 / 0, 2), ("backup", str.upper, 1)], "tomb")
        ('TOMB', 'backup')
        """
        try:  # a stable sort: ties keep the order given
            plan = sorted(strategies, key=_PRIORITY, reverse=True)
        except (TypeError, IndexError):  # priorities that do not compare: the order given
            plan = list(strategies)
        return self._run(plan, args, kwargs)

    def _run(self, strategies: Sequence[Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             rebindings: Mapping[str, _Rebinding] | None = None) -> tuple[Any, str]:
        """Try ``strategies`` (Strategy objects, or tuples turned into them as they are tried) in order."""
        errors: list[tuple[str, BaseException]] = []
        with self._chain_span() as chain_span:
            for attempt, strategy in enumerate(strategies, start=1):
                if type(strategy) is not Strategy:
                    strategy = _as_strategy(strategy)
                elif rebindings:
                    strategy = self._resolved(strategy, rebindings)
                with self._attempt_span(strategy, attempt) as attempt_span:
                    try:
                        if strategy.timeout_s is None and callable(strategy.func):  # the common case, inline
                            result = strategy.func(*args, **kwargs)
                            if type(result) not in _PLAIN_RESULTS:
                                _refuse_awaitable(strategy, result)
                        else:
                            result = self._call_sync(strategy, args, kwargs)
                    except Exception as exc:  # noqa: BLE001 - the chain's purpose
                        errors.append((strategy.name, self._failed(attempt_span, strategy, exc)))
                        continue
                    if self.result_check is None:  # every answer is accepted
                        attempt_span.set_attribute(semconv.FALLBACK_OUTCOME, semconv.OUTCOME_SUCCESS)
                        return self._succeeded(chain_span, strategy, attempt, errors, result)
                    if self._accept(attempt_span, strategy, result, errors):
                        return self._succeeded(chain_span, strategy, attempt, errors, result)
            raise self._exhausted(chain_span, errors)

    async def execute_async(self, *args: Any, **kwargs: Any) -> tuple[Any, str]:
        """Like :meth:`execute`; coroutine strategies are awaited (and cancelled on timeout)."""
        errors: list[tuple[str, BaseException]] = []
        with self._chain_span() as chain_span:
            for attempt, strategy in enumerate(self._strategies, start=1):
                strategy = self._resolved(strategy, self._rebindings)
                with self._attempt_span(strategy, attempt) as attempt_span:
                    try:
                        result = await self._call_async(strategy, args, kwargs)
                    except Exception as exc:  # noqa: BLE001 - telemetry never breaks the caller
                        errors.append((strategy.name, self._failed(attempt_span, strategy, exc)))
                        continue
                    if self._accept(attempt_span, strategy, result, errors):
                        return self._succeeded(chain_span, strategy, attempt, errors, result)
            raise self._exhausted(chain_span, errors)

    # --- calling strategies --------------------------------------------------
    @staticmethod
    def _resolved(strategy: Strategy, rebindings: Mapping[str, _Rebinding]) -> Strategy:
        """``strategy`` calling a wrapper of its function put in its place since it was registered, if any."""
        rebinding = rebindings.get(strategy.name)
        if rebinding is None:
            return strategy
        func = _current_func(rebinding, strategy.func)
        return strategy if func is strategy.func else strategy._replace(func=func)

    @staticmethod
    def _call_sync(strategy: Strategy, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if strategy.timeout_s is None:
            result = strategy.func(*args, **kwargs)
        else:
            future = _in_daemon_thread(strategy.func, args, kwargs)
            try:
                result = future.result(timeout=strategy.timeout_s)
            except concurrent.futures.TimeoutError:
                future.cancel()
                msg = f"strategy {strategy.name!r} did not answer within {strategy.timeout_s} s"
                raise StrategyTimeoutError(msg, component=strategy.name) from None
        if type(result) not in _PLAIN_RESULTS:
            _refuse_awaitable(strategy, result)
        return result

    @staticmethod
    async def _call_async(strategy: Strategy, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        timeout = strategy.timeout_s
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                if inspect.iscoroutinefunction(strategy.func):
                    return await strategy.func(*args, **kwargs)
                if timeout is None:
                    result = strategy.func(*args, **kwargs)
                    return await result if inspect.isawaitable(result) else result
                return await asyncio.wrap_future(_in_daemon_thread(strategy.func, args, kwargs))
        except TimeoutError:
            if not deadline.expired():  # the strategy's own TimeoutError: an ordinary failure
                raise
            msg = f"strategy {strategy.name!r} did not answer within {timeout} s"
            raise StrategyTimeoutError(msg, component=strategy.name) from None

    # --- telemetry -----------------------------------------------------------
    def _chain_span(self) -> Any:
        return CurrentSpan(self._tracer, semconv.SPAN_FALLBACK_CHAIN, {semconv.FALLBACK_CHAIN: self.name})

    def _attempt_span(self, strategy: Strategy, attempt: int) -> Any:
        attributes: dict[str, Any] = {
            semconv.FALLBACK_CHAIN: self.name,
            semconv.FALLBACK_STRATEGY: strategy.name,
            semconv.FALLBACK_PRIORITY: strategy.priority,
            semconv.FALLBACK_ATTEMPT_NUMBER: attempt,
        }
        if strategy.timeout_s is not None:
            attributes[semconv.FALLBACK_TIMEOUT_S] = strategy.timeout_s
        return CurrentSpan(self._tracer, semconv.SPAN_FALLBACK_ATTEMPT, attributes)

    def _failed(self, span: Span, strategy: Strategy, exc: Exception) -> Exception:
        outcome = semconv.OUTCOME_TIMEOUT if isinstance(exc, StrategyTimeoutError) else semconv.OUTCOME_ERROR
        span.set_attribute(semconv.FALLBACK_OUTCOME, outcome)
        record_error(span, exc, component=strategy.name, meter_provider=self._meter_provider)
        return exc

    def _accept(
        self, span: Span, strategy: Strategy, result: Any, errors: list[tuple[str, BaseException]]
    ) -> bool:
        check = self.result_check
        if check is not None:
            try:
                accepted = bool(check(result))
                reason = "result check returned False"
            except Exception as exc:  # noqa: BLE001 - a failing check rejects
                accepted, reason = False, f"result check raised {type(exc).__name__}: {exc}"
            if not accepted:
                rejection = ResultRejectedError(
                    f"strategy {strategy.name!r}: {reason}", component=strategy.name
                )
                span.set_attribute(semconv.FALLBACK_OUTCOME, semconv.OUTCOME_REJECTED)
                record_error(span, rejection, component=strategy.name, meter_provider=self._meter_provider)
                errors.append((strategy.name, rejection))
                return False
        span.set_attribute(semconv.FALLBACK_OUTCOME, semconv.OUTCOME_SUCCESS)
        return True

    def _succeeded(
        self,
        span: Span,
        strategy: Strategy,
        attempt: int,
        errors: list[tuple[str, BaseException]],
        result: Any,
    ) -> tuple[Any, str]:
        degraded = attempt > 1
        if span.is_recording():
            span.set_attributes(
                {
                    semconv.FALLBACK_STRATEGY_USED: strategy.name,
                    semconv.FALLBACK_ATTEMPTS: attempt,
                    semconv.FALLBACK_DEGRADED: degraded,
                }
            )
            if degraded:
                span.add_event(
                    semconv.EVENT_FALLBACK_USED,
                    {
                        semconv.FALLBACK_STRATEGY_USED: strategy.name,
                        semconv.FALLBACK_FAILED_STRATEGIES: [name for name, _ in errors],
                        semconv.FALLBACK_FAILED_ERROR_TYPES: [type(exc).__qualname__ for _, exc in errors],
                    },
                )
        self._count(strategy.name, degraded)
        return result, strategy.name

    def _exhausted(self, span: Span, errors: list[tuple[str, BaseException]]) -> FallbackExhaustedError:
        error = FallbackExhaustedError(self.name, errors)
        if span.is_recording():
            span.set_attributes({semconv.FALLBACK_ATTEMPTS: len(errors), semconv.FALLBACK_DEGRADED: True})
        record_error(span, error, component=self.name, meter_provider=self._meter_provider, escaped=True)
        self._count("none", True)
        return error

    def _count(self, strategy: str, degraded: bool) -> None:
        try:
            if self._fallbacks is None:  # bound on first use: the global provider may be set after the chain
                self._fallbacks = instruments_for(self._meter_provider).fallbacks
            self._fallbacks.add(
                1,
                {
                    semconv.FALLBACK_CHAIN: self.name,
                    semconv.FALLBACK_STRATEGY: strategy,
                    semconv.FALLBACK_DEGRADED: degraded,
                },
            )
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            pass

