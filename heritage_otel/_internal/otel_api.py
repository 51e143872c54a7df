"""The OpenTelemetry API's private internals heritage-otel reads, named once, behind this shim.

The API keeps its global providers in module globals it never exposes, and
two of its proxy classes in ``_internal`` modules it does not re-export.
heritage-otel reads them for one reason: to tell cheaply, on every
instrumented call, whether anything records (no global provider was ever set,
or only the API's proxies and no-ops are). Nothing else of ours may import an
OpenTelemetry ``_internal`` module or read a private global (``tests/_internal/
test_otel_api.py`` checks both).

:data:`VERIFIED_API_VERSIONS` lists the ``opentelemetry-api`` releases these
names were read in; the same test fails on any other release, naming it and
what to check. At run time a missing name never breaks the application: the
shim then answers through the public API only (slower, same answer).

>>> problems()
[]
>>> globals_never_set() in (True, False)
True
>>> isinstance(PROXY_METER_PROVIDER, type) and isinstance(PROXY_LOGGER_PROVIDER, type)
True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final

from opentelemetry import trace
from opentelemetry._logs import _internal as _logs_api
from opentelemetry.metrics import _internal as _metrics_api

__all__ = ["PROXY_LOGGER_PROVIDER", "PROXY_METER_PROVIDER", "VERIFIED_API_VERSIONS", "api_version",
           "globals_never_set", "problems", "version_verified"]

#: ``major.minor`` releases of opentelemetry-api whose private names below were read (and tested).
VERIFIED_API_VERSIONS: Final = ("1.45",)

#: Where the API keeps each global provider (None until one is set).
_GLOBALS: Final = ((trace, "_TRACER_PROVIDER"), (_metrics_api, "_METER_PROVIDER"), (_logs_api, "_LOGGER_PROVIDER"))
#: The proxy classes the API hands out before a provider is set, and where they live.
_PROXIES: Final = ((_metrics_api, "_ProxyMeterProvider"), (_logs_api, "ProxyLoggerProvider"))
_MISSING: Final = object()


class _Absent:
    """Stands in for a proxy class a future API lacks: nothing is an instance of it."""


PROXY_METER_PROVIDER: Final[type] = getattr(_metrics_api, "_ProxyMeterProvider", _Absent)
PROXY_LOGGER_PROVIDER: Final[type] = getattr(_logs_api, "ProxyLoggerProvider", _Absent)
#: False when a global's name is missing: :func:`globals_never_set` then cannot tell and says False.
_GLOBALS_READABLE: Final = all(hasattr(module, name) for module, name in _GLOBALS)


def globals_never_set() -> bool:
    """True when no global tracer, meter or logger provider was ever set (the API's globals are all None).

    False when one was, or when this API release keeps them elsewhere (the caller then asks the public
    getters)."""
    return (_GLOBALS_READABLE and trace._TRACER_PROVIDER is None  # noqa: SLF001 - this shim's purpose
            and _metrics_api._METER_PROVIDER is None  # noqa: SLF001 - this shim's purpose
            and _logs_api._LOGGER_PROVIDER is None)  # noqa: SLF001 - this shim's purpose


def api_version() -> str:
    """The installed opentelemetry-api release ('unknown' when its metadata is missing)."""
    try:
        return version("opentelemetry-api")
    except PackageNotFoundError:
        return "unknown"


def version_verified(release: str | None = None) -> bool:
    """True when ``release`` (default: the installed one) is a ``major.minor`` of :data:`VERIFIED_API_VERSIONS`.

    >>> version_verified("1.45.2"), version_verified("1.46.0"), version_verified("2.0")
    (True, False, False)
    """
    parts = (release or api_version()).split(".")
    return ".".join(parts[:2]) in VERIFIED_API_VERSIONS


def problems() -> list[str]:
    """The private names this shim reads that the installed API lacks (empty when all are there)."""
    missing = [f"{module.__name__}.{name}" for module, name in (*_GLOBALS, *_PROXIES)
               if getattr(module, name, _MISSING) is _MISSING]
    return missing
