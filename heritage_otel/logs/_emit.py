"""Shared machinery of the three loggers: span event + OTel log record + JSON line.

Nothing here raises into the caller: a failing span, logger or file is
reported once through ``logging.getLogger(__name__)`` and then dropped.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Final

from opentelemetry import _logs, trace
from opentelemetry._logs import LoggerProvider, NoOpLoggerProvider, SeverityNumber
from opentelemetry.util.types import AttributeValue

from heritage_otel import environment_variables as env_vars
from heritage_otel._internal import delegating
from heritage_otel._internal.otel_api import PROXY_LOGGER_PROVIDER
from heritage_otel.logs.json_formatter import json_line, log_entry
from heritage_otel.version import __version__

_logger = logging.getLogger(__name__)

#: Environment variable naming the directory of the JSON-lines files.
ENV_LOG_DIR: Final = env_vars.HERITAGE_OTEL_LOG_DIR
#: The seed's log directory, used while no OpenTelemetry SDK is configured.
DEFAULT_LOG_DIR: Final = "logs"

_SEVERITY_TEXT: Final = {
    SeverityNumber.DEBUG: "DEBUG",
    SeverityNumber.INFO: "INFO",
    SeverityNumber.WARN: "WARNING",
    SeverityNumber.ERROR: "ERROR",
    SeverityNumber.FATAL: "CRITICAL",
}


def sdk_logging_configured() -> bool:
    """True once ``configure()`` built a pipeline in this process (even if shut down since), or another
    OpenTelemetry SDK owns the global logger provider.

    Until then the loggers keep the seed's JSON-lines files under ``./logs``.
    """
    if delegating.globals_installed():  # the forwarding globals: the monitor installs them without a pipeline
        return delegating.TARGET.ever_configured
    return not isinstance(_logs.get_logger_provider(), (PROXY_LOGGER_PROVIDER, NoOpLoggerProvider))


def resolve_log_dir(log_dir: str | os.PathLike[str] | None) -> Path | None:
    """The explicit log directory: the argument, else ``HERITAGE_OTEL_LOG_DIR``, else None."""
    if log_dir is not None:
        if not isinstance(log_dir, (str, os.PathLike)):
            msg = f"log_dir = {log_dir!r} is not valid; expected a directory path (str or os.PathLike) or None"
            raise ValueError(msg)
        return Path(log_dir)
    from_env = os.environ.get(ENV_LOG_DIR, "").strip()
    return Path(from_env) if from_env else None


def attribute_value(value: Any) -> AttributeValue:
    """``value`` as something an OpenTelemetry attribute can hold (else its ``str``)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool:  # the common case, without isinstance
        return value  # type: ignore[no-any-return]  # one of the four scalar types, checked just above
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        items = list(value)
        if all(isinstance(v, str) for v in items):
            return tuple(items)
        if all(isinstance(v, bool) for v in items):
            return tuple(items)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            return tuple(items)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
            return tuple(float(v) for v in items)  # attribute arrays are homogeneous
        return tuple(str(v) for v in items)
    return str(value)


class JsonLinesFile:
    """Appends JSON lines to one file; on the first failure, warns once and stops writing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stream: IO[str] | None = None
        self._broken = path is None

    @property
    def active(self) -> bool:
        """True while lines are still being written."""
        return not self._broken

    def write(self, entry: Mapping[str, Any]) -> None:
        if self._broken:
            return
        with self._lock:
            if self._broken:
                return
            try:
                if self._stream is None:
                    assert self.path is not None
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
                    weakref.finalize(self, self._stream.close)  # closed when the logger goes away
                self._stream.write(json_line(entry) + "\n")
                self._stream.flush()
            except Exception:  # noqa: BLE001 - logging never raises into the caller
                self._broken = True
                _logger.warning("cannot write log file %s; file logging disabled", self.path, exc_info=True)
                self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - telemetry never breaks the caller
                pass

    def close(self) -> None:
        with self._lock:
            self._close_stream()


class Emitter:
    """Emits one logical log entry three ways: span event, OTel log record, JSON line."""

    def __init__(
        self,
        logger_name: str,
        file_name: str,
        log_dir: str | os.PathLike[str] | None,
        logger_provider: LoggerProvider | None,
    ) -> None:
        self.logger_name = logger_name
        directory = resolve_log_dir(log_dir)
        # no directory named: the seed's ./logs while no SDK is configured (decided at each emit)
        self._default_dir = directory is None and logger_provider is None
        if directory is None:
            directory = Path(DEFAULT_LOG_DIR) if self._default_dir else None
        self.file = JsonLinesFile(directory / file_name if directory is not None else None)
        self._otel_logger = _logs.get_logger(logger_name, __version__, logger_provider=logger_provider)
        self._reported: set[str] = set()

    @property
    def writes_file(self) -> bool:
        """True when an entry emitted now also goes to the JSON-lines file."""
        return self.file.active and not (self._default_dir and sdk_logging_configured())

    @property
    def file_path(self) -> Path | None:
        """The JSON-lines file written now, or None."""
        return self.file.path if self.writes_file else None

    def _report_once(self, what: str) -> None:
        if what not in self._reported:
            self._reported.add(what)
            _logger.warning("%s: could not emit %s; dropped", self.logger_name, what, exc_info=True)

    def emit(
        self,
        *,
        event_name: str,
        message: str,
        severity: SeverityNumber,
        attributes: Mapping[str, Any],
        file_fields: Mapping[str, Any] | None,
        exception: BaseException | None = None,
        span: trace.Span | None = None,
        typed: bool = False,
    ) -> None:
        """Span event on ``span`` (default: current), log record, and JSON line; never raises.

        ``typed``: ``attributes`` already holds only attribute values (no None,
        homogeneous tuples), so they are used as they are.
        """
        now_ns = time.time_ns()
        attrs = attributes if typed else {
            key: attribute_value(value) for key, value in attributes.items() if value is not None}
        try:
            target = span if span is not None else trace.get_current_span()
            if target.is_recording():
                target.add_event(event_name, attrs)
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            self._report_once("a span event")
        try:
            self._otel_logger.emit(
                timestamp=now_ns,
                severity_number=severity,
                severity_text="INFO" if severity is SeverityNumber.INFO else _SEVERITY_TEXT.get(severity, severity.name),
                body=message,
                attributes=attrs,
                event_name=event_name,
                exception=exception,
            )
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            self._report_once("a log record")
        if file_fields is not None and self.writes_file:
            try:
                span_context = (span if span is not None else trace.get_current_span()).get_span_context()
                entry = log_entry(
                    timestamp=now_ns / 1e9,
                    level=_SEVERITY_TEXT.get(severity, severity.name),
                    logger=self.logger_name,
                    message=message,
                    fields={k: v for k, v in file_fields.items() if v is not None},
                    span_context=span_context,
                )
                self.file.write(entry)
            except Exception:  # noqa: BLE001 - telemetry never breaks the caller
                self._report_once("a JSON line")

    def close(self) -> None:
        self.file.close()
