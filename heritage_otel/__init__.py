"""heritage-otel: OpenTelemetry-native telemetry for the Heritage Document Recommender.

>>> import heritage_otel
>>> telemetry = heritage_otel.configure(service_name="recommender")
>>> telemetry.settings.embedded
True
>>> telemetry.shutdown()

The application-facing modules (``errors``, ``fallback``, ``handler``,
``validation``, ``semconv``, ``instruments``) need only opentelemetry-api;
``configure`` and ``Telemetry`` (SDK wiring) are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from heritage_otel.version import __version__

if TYPE_CHECKING:
    from heritage_otel.telemetry import Telemetry, configure, current
    from heritage_otel.settings import ConfigurationError

__all__ = ["ConfigurationError", "Telemetry", "__version__", "configure", "current"]

_LAZY = {
    "configure": "heritage_otel.telemetry",
    "current": "heritage_otel.telemetry",
    "Telemetry": "heritage_otel.telemetry",
    "ConfigurationError": "heritage_otel.settings",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module 'heritage_otel' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
