"""PerformanceLogger: timed operations as spans, a duration histogram, rolling percentiles.

``with perf.time_operation("simrank_ranking"):`` runs the block inside a span
**named after the operation** (``simrank_ranking``; the name is also the
``heritage.operation.name`` attribute). The operation name is what a trace
viewer should show, so it is the span name; it must therefore be a
low-cardinality constant, never an id or user input. When the block ends:

* the duration is recorded in the ``heritage.operation.duration`` histogram
  (seconds, attribute ``heritage.operation.name``, plus ``error.type`` when
  the block raised);
* a ``heritage.performance`` event is added to the operation's span, and one
  OpenTelemetry log record (logger ``heritage_otel.performance``) is emitted
  inside it, so both are correlated with the operation's trace and span;
* with a log directory, a JSON line goes to ``performance.log``;
* the duration in milliseconds joins the operation's rolling window, from
  which :meth:`PerformanceLogger.get_percentiles` computes p50/p95/p99.

An exception in the block is recorded on the span with
:func:`heritage_otel.errors.record_error` and re-raised unchanged. A
``slow_threshold_ms`` turns slower operations into WARN records with
``heritage.operation.slow=true`` (the seed's bottleneck detection).

>>> perf = PerformanceLogger(window_size=100)
>>> for _ in range(3):
...     with perf.time_operation("doc_sum"):
...         total = sum(range(1000))
>>> perf.get_last_duration("doc_sum") >= 0.0
True
>>> sorted(perf.get_percentiles("doc_sum"))
['p50', 'p95', 'p99']
>>> perf.get_percentiles("never_ran")
{}
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import statistics
from opentelemetry import trace
from opentelemetry._logs import LoggerProvider, SeverityNumber
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, TracerProvider
from opentelemetry.util.types import AttributeValue

from heritage_otel import semconv
from heritage_otel.errors import record_error
from heritage_otel.instruments import instruments_for
from heritage_otel.logs._emit import Emitter, attribute_value
from heritage_otel.version import __version__

__all__ = ["PERCENTILES", "PerformanceLogger"]

_logger = logging.getLogger(__name__)

LOGGER_NAME: Final = f"{semconv.INSTRUMENTATION_SCOPE}.performance"
FILE_NAME: Final = "performance.log"
#: The percentiles reported by :meth:`PerformanceLogger.get_percentiles`.
PERCENTILES: Final = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0))


class PerformanceLogger:
    """Times operations; keeps the last ``window_size`` durations of each for percentiles.

    ``slow_threshold_ms`` (optional) marks slower operations as WARN.
    ``log_dir`` (default: ``HERITAGE_OTEL_LOG_DIR``; else ``./logs`` while no
    OpenTelemetry SDK is configured, as the seed did; else no file) is where
    ``performance.log`` goes. Providers default to the global ones.
    ``clock`` returns seconds (default ``time.perf_counter``). Thread-safe.
    """

    def __init__(
        self,
        *,
        window_size: int = 1000,
        slow_threshold_ms: float | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not isinstance(window_size, int) or isinstance(window_size, bool) or window_size < 1:
            msg = f"window_size = {window_size!r} is not valid; expected an integer >= 1"
            raise ValueError(msg)
        if slow_threshold_ms is not None and (
            isinstance(slow_threshold_ms, bool)
            or not isinstance(slow_threshold_ms, (int, float))
            or not 0 < slow_threshold_ms < float("inf")
        ):
            msg = f"slow_threshold_ms = {slow_threshold_ms!r} is not valid; expected a positive finite number or None"
            raise ValueError(msg)
        self.window_size = window_size
        self._clock = clock
        self.slow_threshold_ms = None if slow_threshold_ms is None else float(slow_threshold_ms)
        self._tracer = trace.get_tracer(semconv.INSTRUMENTATION_SCOPE, __version__, tracer_provider=tracer_provider)
        self._meter_provider = meter_provider
        self._emitter = Emitter(LOGGER_NAME, FILE_NAME, log_dir, logger_provider)
        self._lock = threading.Lock()
        self._windows: dict[str, collections.deque[float]] = {}
        self._last: dict[str, float] = {}
        self._last_any: float | None = None

    @property
    def log_file(self) -> os.PathLike[str] | None:
        """Path of ``performance.log``, or None when no log directory is configured."""
        return self._emitter.file_path

    @contextlib.contextmanager
    def time_operation(self, name: str, **attributes: Any) -> Iterator[Span]:
        """Time the ``with`` block as a span named ``name``; yields the span.

        ``attributes`` are set on the span (not on the histogram, to keep its
        cardinality low). Raises ValueError at once for an empty or non-str
        ``name``; the telemetry itself never raises.
        """
        if not isinstance(name, str) or not name:
            msg = f"name = {name!r} is not valid; expected a non-empty operation name"
            raise ValueError(msg)
        span_attributes: dict[str, AttributeValue] = {semconv.OPERATION_NAME: name}
        span_attributes.update({k: attribute_value(v) for k, v in attributes.items()})
        with self._tracer.start_as_current_span(
            name, attributes=span_attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            error: BaseException | None = None
            start = self._clock()
            try:
                yield span
            except BaseException as exc:
                error = exc
                if isinstance(exc, Exception):
                    record_error(span, exc, component=name, meter_provider=self._meter_provider)
                raise
            finally:
                self._finish(name, span, (self._clock() - start) * 1000.0, error)

    def _finish(self, name: str, span: Span, duration_ms: float, error: BaseException | None) -> None:
        try:
            with self._lock:
                window = self._windows.get(name)
                if window is None:
                    window = self._windows[name] = collections.deque(maxlen=self.window_size)
                window.append(duration_ms)
                self._last[name] = duration_ms
                self._last_any = duration_ms
            error_type = type(error).__qualname__ if error is not None else None
            metric_attributes = {semconv.OPERATION_NAME: name}
            if error_type is not None:
                metric_attributes[semconv.ERROR_TYPE] = error_type
            instruments_for(self._meter_provider).operation_duration.record(duration_ms / 1000.0, metric_attributes)
            slow = self.slow_threshold_ms is not None and duration_ms > self.slow_threshold_ms
            if error is not None:
                severity, message = SeverityNumber.ERROR, f"operation {name} failed after {duration_ms:.3f} ms"
            elif slow:
                severity, message = SeverityNumber.WARN, f"operation {name} slow: {duration_ms:.3f} ms"
            else:
                severity, message = SeverityNumber.INFO, f"operation {name} took {duration_ms:.3f} ms"
            self._emitter.emit(
                event_name=semconv.EVENT_PERFORMANCE,
                message=message,
                severity=severity,
                attributes={
                    semconv.OPERATION_NAME: name,
                    semconv.OPERATION_DURATION_S: duration_ms / 1000.0,
                    semconv.OPERATION_SLOW: slow,
                    semconv.SUCCESS: error is None,
                    semconv.ERROR_TYPE: error_type,
                },
                file_fields={
                    "operation": name,
                    "duration_ms": duration_ms,
                    "slow": slow,
                    "success": error is None,
                    "error_type": error_type,
                },
                span=span,
            )
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            _logger.warning("PerformanceLogger could not record operation %r; dropped", name, exc_info=True)

    def get_last_duration(self, name: str | None = None) -> float | None:
        """Duration in ms of the last operation named ``name`` (any operation if None); None if none ran."""
        with self._lock:
            return self._last_any if name is None else self._last.get(name)

    def get_percentiles(self, name: str) -> dict[str, float]:
        """``{"p50", "p95", "p99"}`` in ms over the rolling window of ``name``; ``{}`` if it never ran.

        Linear interpolation between the closest ranks (``numpy.percentile``'s
        default, ``statistics.quantiles(method="inclusive")``) over the last
        ``window_size`` durations; the standard library only, so application
        code needs no numpy.
        """
        with self._lock:
            window = self._windows.get(name)
            samples = list(window) if window else None
        if samples is None:
            return {}
        if len(samples) == 1:
            return {label: float(samples[0]) for label, _ in PERCENTILES}
        cuts = statistics.quantiles(samples, n=100, method="inclusive")
        return {label: float(cuts[round(q) - 1]) for label, q in PERCENTILES}

    def get_all_percentiles(self) -> Mapping[str, dict[str, float]]:
        """Percentiles of every operation seen so far, by name."""
        with self._lock:
            names = list(self._windows)
        return {name: self.get_percentiles(name) for name in names}

    def reset(self) -> None:
        """Forget every recorded duration."""
        with self._lock:
            self._windows.clear()
            self._last.clear()
            self._last_any = None

    def close(self) -> None:
        """Close ``performance.log`` (it is reopened on the next operation)."""
        self._emitter.close()
