"""SystemLogger: component lifecycle, errors, warnings and configuration changes.

Each call adds a ``heritage.system`` event to the current span (attribute
``heritage.system.event``: ``component_start``, ``component_stop``,
``error``, ``warning`` or ``config_change``), emits one OpenTelemetry log
record (logger ``heritage_otel.system``) and, with a log directory, appends
a JSON line to ``system.log``.

Secrets never leave the process: a value whose key looks like a secret
(``token``, ``key``, ``password``, ``secret``, ``credential``, ``auth``,
``headers``...) is replaced by ``***``, and the user-info part of any URL
(``https://user:pass@host``) is masked, in details and configuration alike.

>>> mask_secrets({"api_key": "abc123", "endpoint": "https://bob:hunter2@collector:4318", "top_k": 10})
{'api_key': '***', 'endpoint': 'https://***@collector:4318', 'top_k': 10}
>>> from heritage_otel.testing import capture_telemetry
>>> with capture_telemetry() as captured:
...     SystemLogger().log_config_change("ranker", {"alpha": 0.7, "token": "s3cr3t"}, old={"alpha": 0.5})
...     attributes = captured.logs()[0].log_record.attributes
>>> attributes["heritage.config.changed_keys"], attributes["heritage.config.new.token"]
(('alpha', 'token'), '***')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry._logs import LoggerProvider, SeverityNumber

from heritage_otel import semconv
from heritage_otel.errors import Severity, severity_of
from heritage_otel.logs._emit import Emitter
from heritage_otel.secrets import MASK, is_secret_key, mask_secrets

__all__ = ["MASK", "SystemLogger", "is_secret_key", "mask_secrets"]

_logger = logging.getLogger(__name__)

LOGGER_NAME: Final = f"{semconv.INSTRUMENTATION_SCOPE}.system"
FILE_NAME: Final = "system.log"
_KIND_START: Final = "component_start"
_KIND_STOP: Final = "component_stop"
_KIND_ERROR: Final = "error"
_KIND_WARNING: Final = "warning"
_KIND_CONFIG: Final = "config_change"

_SEVERITY_BY_ERROR: Final = {
    Severity.LOW: SeverityNumber.WARN,
    Severity.MEDIUM: SeverityNumber.WARN,
    Severity.HIGH: SeverityNumber.ERROR,
    Severity.CRITICAL: SeverityNumber.FATAL,
}


class SystemLogger:
    """Logs system events as span events, OTel log records and (optionally) JSON lines.

    ``log_dir`` (default: ``HERITAGE_OTEL_LOG_DIR``; else ``./logs`` while no
    OpenTelemetry SDK is configured, as the seed did; else no file) is where
    ``system.log`` goes. ``logger_provider`` defaults to the global one.
    Every method returns None and never raises.
    """

    def __init__(
        self,
        *,
        log_dir: str | os.PathLike[str] | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        self._emitter = Emitter(LOGGER_NAME, FILE_NAME, log_dir, logger_provider)

    @property
    def log_file(self) -> os.PathLike[str] | None:
        """Path of ``system.log``, or None when no log directory is configured."""
        return self._emitter.file_path

    def log_component_start(self, component: str, **details: Any) -> None:
        """A component started (``details``: version, model size, ...)."""
        self._log(_KIND_START, component, f"component {component} started", SeverityNumber.INFO, details)

    def log_component_stop(self, component: str, reason: str | None = None, **details: Any) -> None:
        """A component stopped, optionally saying why."""
        if reason is not None:
            details["reason"] = reason
        self._log(_KIND_STOP, component, f"component {component} stopped", SeverityNumber.INFO, details)

    def log_warning(self, component: str, message: str, **details: Any) -> None:
        """Something worth attention that is not an error."""
        self._log(_KIND_WARNING, component, str(message), SeverityNumber.WARN, details)

    def log_error(self, component: str, error: BaseException | str, **details: Any) -> None:
        """An error in ``component``; the log severity follows the error's severity.

        An exception's type, message and stack trace go on the log record
        (``exception.*``); ``heritage.error.severity`` says how bad it is.
        """
        if isinstance(error, BaseException):
            severity = severity_of(error)
            details = {
                **details,
                "error_type": type(error).__qualname__,
                "severity": severity.name.lower(),
            }
            self._log(_KIND_ERROR, component, f"{component}: {type(error).__name__}: {error}",
                      _SEVERITY_BY_ERROR[severity], details, exception=error,
                      extra_attributes={semconv.ERROR_TYPE: type(error).__qualname__,
                                        semconv.ERROR_SEVERITY: int(severity)})
        else:
            self._log(_KIND_ERROR, component, f"{component}: {error}", SeverityNumber.ERROR, details,
                      extra_attributes={semconv.ERROR_TYPE: "_OTHER"})

    def log_config_change(
        self, component: str, new: Mapping[str, Any], old: Mapping[str, Any] | None = None
    ) -> None:
        """Configuration of ``component`` changed to ``new`` (from ``old``, if known).

        With ``old``, only keys whose value differs (or that were removed) are
        reported. Secret-looking
        keys and URL credentials are masked in both.
        """
        try:
            old = dict(old or {})
            changed = [str(k) for k, v in new.items() if old.get(k, _MISSING) != v] if old else [str(k) for k in new]
            changed += [str(k) for k in old if k not in new]  # removed settings
            masked_new = mask_secrets({k: new[k] for k in new if str(k) in changed})
            masked_old = mask_secrets({k: old[k] for k in old if str(k) in changed})
            attributes: dict[str, Any] = {semconv.CONFIG_CHANGED_KEYS: changed}
            attributes.update({semconv.CONFIG_NEW_PREFIX + k: _flat(v) for k, v in masked_new.items()})
            attributes.update({semconv.CONFIG_OLD_PREFIX + k: _flat(v) for k, v in masked_old.items()})
            fields = {
                "changes": {k: {"old": masked_old.get(k), "new": masked_new.get(k)} for k in changed},
            }
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            _logger.warning("SystemLogger could not describe a configuration change; dropped", exc_info=True)
            return
        self._log(_KIND_CONFIG, component, f"configuration of {component} changed: {', '.join(changed) or 'nothing'}",
                  SeverityNumber.INFO, {}, extra_attributes=attributes, extra_fields=fields)

    def _log(
        self,
        kind: str,
        component: str,
        message: str,
        severity: SeverityNumber,
        details: Mapping[str, Any],
        *,
        exception: BaseException | None = None,
        extra_attributes: Mapping[str, Any] | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            masked = mask_secrets(details)
            attributes: dict[str, Any] = {semconv.COMPONENT: str(component), semconv.SYSTEM_EVENT_KIND: kind}
            attributes.update({semconv.SYSTEM_DETAIL_PREFIX + k: _flat(v) for k, v in masked.items()})
            attributes.update(extra_attributes or {})
            fields: dict[str, Any] = {"component": str(component), "event": kind, **masked, **(extra_fields or {})}
            self._emitter.emit(
                event_name=semconv.EVENT_SYSTEM,
                message=message,
                severity=severity,
                attributes=attributes,
                file_fields=fields,
                exception=exception,
            )
        except Exception:  # noqa: BLE001 - logging never raises into the caller
            _logger.warning("SystemLogger could not log %s of %r; dropped", kind, component, exc_info=True)

    def close(self) -> None:
        """Close ``system.log`` (it is reopened on the next event)."""
        self._emitter.close()


_MISSING: Final = object()


def _flat(value: Any) -> Any:
    """A nested mapping as its JSON-ish ``str`` (attributes are flat); other values as they are."""
    return str(value) if isinstance(value, Mapping) else value
