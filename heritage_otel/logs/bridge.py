"""Bridge stdlib ``logging`` to OpenTelemetry log records (SDK-wiring layer).

:func:`install_logging_bridge` attaches the OpenTelemetry SDK's own
``LoggingHandler`` to a stdlib logger (the root logger by default). Every
record that reaches it becomes an OpenTelemetry log record of the global
LoggerProvider (or the one given), stamped with the trace and span id of the
span current at the logging call, with the ``extra=`` fields as attributes.
Because heritage-otel's global providers follow the latest ``configure()``,
a bridge installed once keeps working across re-configuration.

Two guards are added around the SDK handler:

* records of the ``opentelemetry`` loggers themselves are not bridged (an
  exporter complaining about a failed export must not feed the exporter);
* an exception while converting or emitting a record is reported once
  (a warning of ``heritage_otel.logs.bridge``) and the record dropped:
  logging never raises into the caller and never prints to stderr.

>>> import logging
>>> from heritage_otel.testing import capture_telemetry
>>> with capture_telemetry() as captured:
...     handler = install_logging_bridge(logger=logging.getLogger("doc.bridge"))
...     logging.getLogger("doc.bridge").warning("disk almost full", extra={"free_mb": 12})
...     remove_logging_bridge(handler)
...     [(r.log_record.body, r.log_record.attributes["free_mb"]) for r in captured.logs()]
[('disk almost full', 12)]
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any

from opentelemetry._logs import LoggerProvider
from opentelemetry.sdk._logs import LoggingHandler

__all__ = ["install_logging_bridge", "remove_logging_bridge"]

_logger = logging.getLogger(__name__)
_BRIDGE_MARK = "_heritage_otel_bridge"
_EXCLUDED_PREFIXES = ("opentelemetry",)


class _NotOpenTelemetry(logging.Filter):
    """Drops records of the OpenTelemetry SDK's own loggers (no feedback loops)."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        return not any(name == prefix or name.startswith(prefix + ".") for prefix in _EXCLUDED_PREFIXES)


class _SafeLoggingHandler(LoggingHandler):
    """The SDK's LoggingHandler, but an emit failure is reported once and dropped."""

    def __init__(self, level: int, logger_provider: LoggerProvider | None) -> None:
        with warnings.catch_warnings():
            # The SDK (1.45) deprecates its handler in favour of
            # opentelemetry-instrumentation-logging; it still is the SDK's
            # supported bridge, and the replacement is not a dependency here.
            warnings.simplefilter("ignore", DeprecationWarning)
            super().__init__(level=level, logger_provider=logger_provider)
        self._failed_once = False
        self._local = threading.local()
        self.addFilter(_NotOpenTelemetry())

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._local, "busy", False):  # a record logged while emitting one: drop it
            return
        self._local.busy = True
        try:
            super().emit(record)
        except Exception:  # noqa: BLE001 - logging never raises into the caller
            if not self._failed_once:
                self._failed_once = True
                _logger.warning("OpenTelemetry logging bridge dropped a record", exc_info=True)
        finally:
            self._local.busy = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging API name
        """Never print a traceback to stderr for a bridged record."""


def install_logging_bridge(
    logger_provider: LoggerProvider | None = None,
    level: int = logging.INFO,
    logger: logging.Logger | None = None,
) -> logging.Handler:
    """Attach an OpenTelemetry ``LoggingHandler`` to ``logger`` (default: root) and return it.

    ``logger_provider`` defaults to the global LoggerProvider. Installing again
    on the same logger with the same provider returns the existing handler
    instead of adding a second one (records would be emitted twice). The
    logger's own level is lowered to ``level`` if it would filter out records
    the handler should see (and restored by :func:`remove_logging_bridge`).
    """
    if not isinstance(level, int) or isinstance(level, bool):
        msg = f"level = {level!r} is not valid; expected a logging level number such as logging.INFO"
        raise ValueError(msg)
    target = logger if logger is not None else logging.getLogger()
    for existing in target.handlers:
        if isinstance(existing, _SafeLoggingHandler) and getattr(existing, _BRIDGE_MARK, None) is logger_provider:
            existing.setLevel(level)
            return existing
    handler = _SafeLoggingHandler(level=level, logger_provider=logger_provider)
    setattr(handler, _BRIDGE_MARK, logger_provider)
    handler._heritage_otel_logger = target  # type: ignore[attr-defined]  # our marker on the stdlib handler
    target.addHandler(handler)
    if target.level == logging.NOTSET or target.level > level:
        handler._heritage_otel_restore_level = (target.level, level)  # type: ignore[attr-defined]  # our marker on the stdlib handler
        target.setLevel(level)
    return handler


def remove_logging_bridge(handler: logging.Handler) -> None:
    """Detach a handler returned by :func:`install_logging_bridge` and flush it; never raises."""
    target: Any = getattr(handler, "_heritage_otel_logger", None) or logging.getLogger()
    try:
        target.removeHandler(handler)
        restore = getattr(handler, "_heritage_otel_restore_level", None)
        if restore is not None and target.level == restore[1]:  # nobody changed it since
            target.setLevel(restore[0])
        provider = getattr(handler, "_logger_provider", None)
        force_flush = getattr(provider, "force_flush", None)
        if callable(force_flush):
            force_flush()
        handler.close()
    except Exception:  # noqa: BLE001 - telemetry never breaks the caller
        _logger.warning("could not remove the OpenTelemetry logging bridge", exc_info=True)
