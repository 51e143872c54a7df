"""The process-wide monitor of the seed's module-level functions.

>>> from heritage_otel.monitoring import initialize_monitoring, get_monitor, shutdown_monitoring
>>> monitor = initialize_monitoring({"alert_log_path": None, "system_metrics": False}, start_background=False)
>>> get_monitor() is monitor
True
>>> shutdown_monitoring()
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from typing import Any

from heritage_otel.monitoring.monitor import Monitor

__all__ = ["get_monitor", "initialize_monitoring", "shutdown_monitoring"]

_lock = threading.Lock()
_monitor: Monitor | None = None


def initialize_monitoring(config: Mapping[str, Any] | None = None, start_background: bool = True) -> Monitor:
    """Create the process-wide monitor (shutting down a previous one) and return it."""
    global _monitor
    monitor = Monitor(config, start_background=start_background)
    with _lock:
        previous, _monitor = _monitor, monitor
    if previous is not None:
        previous.shutdown()
    return monitor


def get_monitor() -> Monitor:
    """The process-wide monitor; created with defaults (no background thread) on first use."""
    global _monitor
    with _lock:
        if _monitor is None:
            _monitor = Monitor(None, start_background=False)
        return _monitor


def shutdown_monitoring() -> None:
    """Shut the process-wide monitor down (also run at interpreter exit)."""
    global _monitor
    with _lock:
        monitor, _monitor = _monitor, None
    if monitor is not None:
        monitor.shutdown()


atexit.register(shutdown_monitoring)
