"""One heritage-otel tracer per TracerProvider, cached (``trace.get_tracer`` is not free)."""

from __future__ import annotations

import threading
import weakref

from opentelemetry import trace
from opentelemetry.trace import Tracer, TracerProvider

from heritage_otel import semconv
from heritage_otel.version import __version__

_lock = threading.Lock()
_by_provider: weakref.WeakKeyDictionary[TracerProvider, Tracer] = weakref.WeakKeyDictionary()


def tracer_for(provider: TracerProvider | None = None) -> Tracer:
    """The ``heritage_otel`` tracer of ``provider`` (default: the global TracerProvider)."""
    if provider is None:
        provider = trace.get_tracer_provider()
    try:
        return _by_provider[provider]
    except (KeyError, TypeError):
        pass
    tracer = trace.get_tracer(semconv.INSTRUMENTATION_SCOPE, __version__, provider)
    with _lock:
        try:
            _by_provider.setdefault(provider, tracer)
        except TypeError:  # not weak-referenceable: do not cache
            pass
    return tracer
