"""Health checks over HTTP: is a component's health endpoint answering 200, and waiting for it.

>>> check_http("http://127.0.0.1:1/", timeout_s=0.2)
False
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

__all__ = ["check_http", "wait_healthy"]


def check_http(url: str, *, timeout_s: float = 1.0) -> bool:
    """True when ``GET url`` answers 200 within ``timeout_s``."""
    try:
        return requests.get(url, timeout=timeout_s).status_code == 200
    except requests.RequestException:
        return False


def wait_healthy(
    url: str,
    *,
    timeout_s: float = 60.0,
    interval_s: float = 0.2,
    still_running: Callable[[], bool] | None = None,
) -> bool:
    """Poll ``url`` until it answers 200 (True), the time is up or ``still_running()`` says no (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check_http(url, timeout_s=min(1.0, interval_s * 5)):
            return True
        if still_running is not None and not still_running():
            return False
        time.sleep(interval_s)
    return check_http(url)
