"""``HERITAGE_OTEL_OTLP_JSON_PATH`` for pipelines that ``configure()`` did not build (``opentelemetry-instrument``).

The SDK is imported only when the variable is set.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any

from opentelemetry import trace

from heritage_otel.environment_variables import HERITAGE_OTEL_OTLP_JSON_PATH as ENV_OTLP_JSON_PATH

_logger = logging.getLogger(__name__)
_lock = threading.Lock()
_attached: weakref.WeakSet[Any] = weakref.WeakSet()


def attach_otlp_json_file(tracer_provider: Any = None) -> bool:
    """Also write the spans of an SDK ``tracer_provider`` (default: the global one) to the file the variable names.

    Does nothing without the variable, for a provider that is not the SDK's
    (``configure()`` writes the file itself) or one already writing it. A
    path that cannot be used is logged and skipped. Returns True when attached.
    """
    path = os.environ.get(ENV_OTLP_JSON_PATH, "").strip()
    if not path:
        return False
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from heritage_otel.exporters.otlp_json import OtlpJsonFileSpanExporter

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        return False
    with _lock:
        if provider in _attached:
            return False
        try:
            exporter = OtlpJsonFileSpanExporter(path)
        except ValueError:
            _logger.exception("%s not used", ENV_OTLP_JSON_PATH)
            return False
        provider.add_span_processor(BatchSpanProcessor(exporter))
        _attached.add(provider)
    return True
