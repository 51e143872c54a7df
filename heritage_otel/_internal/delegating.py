"""Global providers that forward to whichever pipeline ``configure()`` built last.

OpenTelemetry lets a process set its global providers once. heritage-otel
sets these delegating providers once and swaps what they point at, so that

* ``configure()`` can be called again without stacking providers: the old
  pipeline is shut down and every tracer, meter instrument and logger handed
  out earlier (including ones user code took at import time) follows the new
  one;
* the pytest plugin isolates each test with its own in-memory pipeline;
* a *listener* MeterProvider (the seed-compatible monitor's) receives every
  measurement the process records, whichever pipeline is active and whether
  or not ``configure()`` was ever called.

A forwarder caches the real tracer/instrument/logger per generation, so the
hot path costs one integer comparison. With no pipeline installed the no-op
API implementations are used.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import Logger, LoggerProvider, NoOpLoggerProvider
from opentelemetry.metrics import Meter, MeterProvider, NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider, Tracer, TracerProvider

from heritage_otel._internal.otel_api import PROXY_LOGGER_PROVIDER, PROXY_METER_PROVIDER, globals_never_set

_logger = logging.getLogger(__name__)


class _Target:
    """The currently active real providers and a generation counter."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.generation = 0
        self.tracer_provider: TracerProvider = NoOpTracerProvider()
        self.meter_provider: MeterProvider = NoOpMeterProvider()
        self.logger_provider: LoggerProvider = NoOpLoggerProvider()
        self.listeners: tuple[MeterProvider, ...] = ()
        self.ever_configured = False  # a pipeline (configure(), the pytest plugin) was switched in once
        # one forwarder per (meter, kind, name): creating the same observable instrument again returns the
        # first one (as the SDK does), so the table is bounded by the distinct instruments
        self._observables: dict[str, _ObservableForwarder] = {}

    def switch(
        self,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        logger_provider: LoggerProvider | None,
    ) -> None:
        with self.lock:
            if tracer_provider is not None or meter_provider is not None or logger_provider is not None:
                self.ever_configured = True
            self.tracer_provider = tracer_provider or NoOpTracerProvider()
            self.meter_provider = meter_provider or NoOpMeterProvider()
            self.logger_provider = logger_provider or NoOpLoggerProvider()
            self.generation += 1
            for observable in self._observables.values():
                observable.rebind()

    def set_listeners(self, listeners: tuple[MeterProvider, ...]) -> None:
        with self.lock:
            self.listeners = listeners
            self.generation += 1
            for observable in self._observables.values():
                observable.rebind()

    def observable(self, key: str, factory: Callable[[Meter], Any]) -> _ObservableForwarder:
        """The forwarder of ``key``, created (and bound to the active pipeline) on first use."""
        with self.lock:
            found = self._observables.get(key)
            if found is None:
                found = self._observables[key] = _ObservableForwarder(factory)
            return found


TARGET = _Target()


# --- traces ------------------------------------------------------------------
class _ForwardingTracer(Tracer):
    __slots__ = ("_args", "_generation", "_tracer")

    def __init__(self, args: tuple[Any, ...]) -> None:
        self._args = args
        self._generation = -1
        self._tracer: Tracer = trace.NoOpTracer()

    def _real(self) -> Tracer:
        if self._generation != TARGET.generation:
            with TARGET.lock:
                self._tracer = TARGET.tracer_provider.get_tracer(*self._args)
                self._generation = TARGET.generation
        return self._tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._real().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._real().start_as_current_span(*args, **kwargs)


class ForwardingTracerProvider(TracerProvider):
    """A TracerProvider whose tracers follow the active pipeline."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> Tracer:
        return _ForwardingTracer((instrumenting_module_name, instrumenting_library_version, schema_url, attributes))


# --- metrics -----------------------------------------------------------------
class _Fanout:
    """One measurement to the active pipeline's instrument and to each listener's."""

    __slots__ = ("_instruments",)

    def __init__(self, instruments: tuple[Any, ...]) -> None:
        self._instruments = instruments

    def add(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        for instrument in self._instruments:
            instrument.add(amount, attributes, context)

    def record(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        for instrument in self._instruments:
            instrument.record(amount, attributes, context)

    def set(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        for instrument in self._instruments:
            instrument.set(amount, attributes, context)


class _InstrumentForwarder:
    """Forwards add/record/set to the instrument of the active generation."""

    __slots__ = ("_factory", "_generation", "_instrument")

    def __init__(self, factory: Callable[[Meter], Any]) -> None:
        self._factory = factory
        self._generation = -1
        self._instrument: Any = None

    def _real(self) -> Any:
        if self._generation != TARGET.generation:
            with TARGET.lock:
                main = self._factory(_meter_for_generation(self._factory))
                if TARGET.listeners:
                    extra = tuple(self._factory(_meter_of(p, self._factory)) for p in TARGET.listeners)
                    main = _Fanout((main, *extra))
                self._instrument = main
                self._generation = TARGET.generation
        return self._instrument

    def add(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self._real().add(amount, attributes, context)

    def record(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self._real().record(amount, attributes, context)

    def set(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self._real().set(amount, attributes, context)


class _ObservableForwarder:
    """Re-creates an observable instrument (and its callbacks) on each switch."""

    def __init__(self, factory: Callable[[Meter], Any]) -> None:
        self._factory = factory
        self.rebind()

    def rebind(self) -> None:
        self._instrument = self._factory(_meter_for_generation(self._factory))
        self._listening = [self._factory(_meter_of(p, self._factory)) for p in TARGET.listeners]


def _meter_of(provider: MeterProvider, factory: Callable[[Meter], Any]) -> Meter:
    return provider.get_meter(*factory.meter_args)  # type: ignore[attr-defined]  # set on the factory by _MeterForwarder below


def _meter_for_generation(factory: Callable[[Meter], Any]) -> Meter:
    return _meter_of(TARGET.meter_provider, factory)


class _ForwardingMeter(Meter):
    def __init__(self, name: str, version: str | None, schema_url: str | None, attributes: Any) -> None:
        super().__init__(name, version, schema_url)
        self._meter_args = (name, version, schema_url, attributes)

    def _factory(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[Meter], Any]:
        def factory(meter: Meter) -> Any:
            return getattr(meter, method)(*args, **kwargs)

        factory.meter_args = self._meter_args  # type: ignore[attr-defined]  # an attribute carried by the factory function
        return factory

    def _sync(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return _InstrumentForwarder(self._factory(method, args, kwargs))

    def _observable(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = args[0] if args else kwargs.get("name")
        return TARGET.observable(repr((self._meter_args, method, name)), self._factory(method, args, kwargs))

    def create_counter(self, *args: Any, **kwargs: Any) -> Any:
        return self._sync("create_counter", args, kwargs)

    def create_up_down_counter(self, *args: Any, **kwargs: Any) -> Any:
        return self._sync("create_up_down_counter", args, kwargs)

    def create_histogram(self, *args: Any, **kwargs: Any) -> Any:
        return self._sync("create_histogram", args, kwargs)

    def create_gauge(self, *args: Any, **kwargs: Any) -> Any:
        return self._sync("create_gauge", args, kwargs)

    def create_observable_counter(self, *args: Any, **kwargs: Any) -> Any:
        return self._observable("create_observable_counter", args, kwargs)

    def create_observable_gauge(self, *args: Any, **kwargs: Any) -> Any:
        return self._observable("create_observable_gauge", args, kwargs)

    def create_observable_up_down_counter(self, *args: Any, **kwargs: Any) -> Any:
        return self._observable("create_observable_up_down_counter", args, kwargs)


class ForwardingMeterProvider(MeterProvider):
    """A MeterProvider whose instruments follow the active pipeline."""

    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> Meter:
        return _ForwardingMeter(name, version, schema_url, attributes)


# --- logs --------------------------------------------------------------------
class _ForwardingLogger(Logger):
    def __init__(self, args: tuple[Any, ...]) -> None:
        super().__init__(*args[:3])
        self._args = args
        self._generation = -1
        self._logger: Logger | None = None

    def _real(self) -> Logger:
        if self._logger is None or self._generation != TARGET.generation:
            with TARGET.lock:
                self._logger = TARGET.logger_provider.get_logger(*self._args)
                self._generation = TARGET.generation
        return self._logger

    def emit(self, record: Any = None, **kwargs: Any) -> None:
        if record is None:
            self._real().emit(**kwargs)
        else:
            self._real().emit(record, **kwargs)

    def enabled(self, *args: Any, **kwargs: Any) -> bool:
        return self._real().enabled(*args, **kwargs)


class ForwardingLoggerProvider(LoggerProvider):
    """A LoggerProvider whose loggers follow the active pipeline."""

    def get_logger(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> Logger:
        return _ForwardingLogger((name, version, schema_url, attributes))


# --- installation --------------------------------------------------------------
_installed = False
_install_lock = threading.Lock()


def install_globals() -> bool:
    """Set the forwarding providers as the OpenTelemetry globals (once).

    Returns False when another TracerProvider was already set globally (by
    the user or ``opentelemetry-instrument``); then the globals are left as
    they are.
    """
    global _installed
    with _install_lock:
        if _installed:
            return True
        current = trace.get_tracer_provider()
        if not isinstance(current, trace.ProxyTracerProvider):
            return False
        trace.set_tracer_provider(ForwardingTracerProvider())
        metrics.set_meter_provider(ForwardingMeterProvider())
        _logs.set_logger_provider(ForwardingLoggerProvider())
        _installed = True
        return True


def globals_installed() -> bool:
    """True when heritage-otel owns the OpenTelemetry globals."""
    return _installed


def switch(
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    logger_provider: LoggerProvider | None,
) -> None:
    """Point the forwarding globals at a new pipeline (None: no-op)."""
    TARGET.switch(tracer_provider, meter_provider, logger_provider)
    _notify_switch()


def add_meter_listener(provider: MeterProvider) -> None:
    """Also send every measurement recorded through the globals to ``provider`` (until removed)."""
    with TARGET.lock:
        if provider not in TARGET.listeners:
            TARGET.set_listeners((*TARGET.listeners, provider))
    _notify_switch()


def remove_meter_listener(provider: MeterProvider) -> None:
    """Stop sending measurements to ``provider``; unknown providers are ignored."""
    with TARGET.lock:
        if provider in TARGET.listeners:
            TARGET.set_listeners(tuple(p for p in TARGET.listeners if p is not provider))
    _notify_switch()


_switch_callbacks: list[Callable[[], None]] = []


def add_switch_callback(callback: Callable[[], None]) -> None:
    """Call ``callback()`` after every change of what the globals reach (a pipeline switched in or out, a
    meter listener added or removed), until removed. It runs on the thread that made the change; an
    exception it raises is logged and dropped."""
    with TARGET.lock:
        _switch_callbacks.append(callback)


def remove_switch_callback(callback: Callable[[], None]) -> None:
    """Stop calling ``callback``; unknown callbacks are ignored."""
    with TARGET.lock:
        if callback in _switch_callbacks:
            _switch_callbacks.remove(callback)


def _notify_switch() -> None:
    with TARGET.lock:
        callbacks = tuple(_switch_callbacks)
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 - a switch never fails because of a follower
            _logger.exception("heritage-otel: a pipeline switch callback raised; ignored")


#: Set once a global provider is found set: the API sets each global once, so it never becomes unset again.
_api_set_once = [False]
#: Providers named in the environment are loaded by the API's getters on first use.
_PROVIDERS_FROM_ENV = any(os.environ.get(name) for name in (
    "OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER", "OTEL_PYTHON_LOGGER_PROVIDER"))


def _api_global_unset() -> bool:
    """True while no global provider records: the API's own proxies, or no-op providers set explicitly.

    On the hot path of every instrumented call when no SDK is set up, so the common answer is cheap: no
    global set at all (the API modules' own globals still None) is True without a look-up.
    """
    if _api_set_once[0]:
        return False
    if not _PROVIDERS_FROM_ENV and globals_never_set():
        return True
    unset = (isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, NoOpTracerProvider))
             and isinstance(metrics.get_meter_provider(), (PROXY_METER_PROVIDER, NoOpMeterProvider))
             and isinstance(_logs.get_logger_provider(), (PROXY_LOGGER_PROVIDER, NoOpLoggerProvider)))
    if not unset:
        _api_set_once[0] = True  # a provider other than a proxy or a no-op is set, for good
    return unset


_disabled_cache: list[Any] = [-1, False]


def telemetry_off() -> bool:
    """True when what the globals reach records nothing: no-op providers for every signal and no listener
    (``configure(disabled=True)``, ``OTEL_SDK_DISABLED``, or no SDK at all). Cached per pipeline switch."""
    if not _installed:
        return _api_global_unset()
    generation = TARGET.generation
    if _disabled_cache[0] != generation:
        off = (isinstance(TARGET.tracer_provider, NoOpTracerProvider)
               and isinstance(TARGET.meter_provider, NoOpMeterProvider)
               and isinstance(TARGET.logger_provider, NoOpLoggerProvider) and not TARGET.listeners)
        _disabled_cache[:] = [generation, off]
    return bool(_disabled_cache[1])


def active() -> Sequence[Any]:
    """The (tracer, meter, logger) providers the globals currently reach."""
    return (TARGET.tracer_provider, TARGET.meter_provider, TARGET.logger_provider)
