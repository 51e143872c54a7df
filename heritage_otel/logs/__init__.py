"""Structured, trace-correlated logging on OpenTelemetry.

============================  ==================================================
name                          what it is
============================  ==================================================
:class:`JsonFormatter`        stdlib ``logging.Formatter``: one JSON object per
                              line with ``trace_id``/``span_id``
:func:`install_logging_bridge` stdlib ``logging`` → OpenTelemetry log records
                              (SDK layer: imported on first use)
:class:`QueryLogger`          one record per recommendation query
:class:`SystemLogger`         component lifecycle, errors, configuration changes
:class:`PerformanceLogger`    timed operations as spans + duration histogram,
                              rolling p50/p95/p99
:func:`hash_query_text`       the query digest used everywhere query text would
                              be exported
============================  ==================================================

The three loggers each add a span event to the current span and emit one
OpenTelemetry log record through the Logs API (correlated with the current
span), and append a JSON line to ``queries.log``, ``system.log`` or
``performance.log`` under a log directory: ``log_dir=``, else
``HERITAGE_OTEL_LOG_DIR``, else the seed's ``./logs`` as long as no
OpenTelemetry SDK is configured (no ``configure()``); once one is, the log
records go through it and files are written only where a directory is named. Their records do not pass
through stdlib ``logging``, so installing the bridge never duplicates them.

This package needs only ``opentelemetry-api``, except :mod:`.bridge`, which
wires the SDK's ``LoggingHandler`` and is imported only when used.

>>> import logging, io
>>> stream = io.StringIO()
>>> handler = logging.StreamHandler(stream)
>>> handler.setFormatter(JsonFormatter())
>>> log = logging.getLogger("doc.example"); log.addHandler(handler); log.propagate = False
>>> log.warning("cache cold")
>>> import json; json.loads(stream.getvalue())["message"]
'cache cold'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from heritage_otel.hashing import capture_query_text_enabled, hash_query_text, query_text_for_export
from heritage_otel.logs.json_formatter import JsonFormatter
from heritage_otel.logs.performance_logger import PerformanceLogger
from heritage_otel.logs.query_logger import QueryLogger
from heritage_otel.logs.system_logger import SystemLogger

if TYPE_CHECKING:
    from opentelemetry._logs import LoggerProvider

__all__ = [
    "JsonFormatter",
    "PerformanceLogger",
    "QueryLogger",
    "SystemLogger",
    "capture_query_text_enabled",
    "hash_query_text",
    "install_logging_bridge",
    "query_text_for_export",
    "remove_logging_bridge",
]


def install_logging_bridge(
    logger_provider: LoggerProvider | None = None,
    level: int = logging.INFO,
    logger: logging.Logger | None = None,
) -> logging.Handler:
    """See :func:`heritage_otel.logs.bridge.install_logging_bridge` (imports the SDK on first use)."""
    from heritage_otel.logs import bridge

    return bridge.install_logging_bridge(logger_provider, level, logger)


def remove_logging_bridge(handler: logging.Handler) -> None:
    """See :func:`heritage_otel.logs.bridge.remove_logging_bridge`."""
    from heritage_otel.logs import bridge

    bridge.remove_logging_bridge(handler)
