"""Small JSON-over-HTTP helper with timeout and bounded retries (stdlib ``urllib``)."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from heritage_otel import environment_variables
from heritage_otel.checks import check_int, check_number

_log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """All attempts to deliver an HTTP request failed."""


def redact(url: str) -> str:
    """Scheme, host and port only: URLs may carry secrets in the path or query (Slack webhooks do)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ":<invalid port>"
    return f"{parts.scheme}://{parts.hostname}{port}/..."


def _valid_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0


def check_url(setting: str, url: Any) -> str:
    """Validate an http(s) URL (host, port in 1..65535) at construction; the message never shows more than
    :func:`redact` does."""
    if not _valid_url(url):
        shown = redact(url) if isinstance(url, str) and "://" in url else "<not shown>"
        msg = f"{setting} = {shown} is not valid; expected an http:// or https:// URL with a host (port in 1..65535)"
        raise ValueError(msg)
    return url


def resolve_url(url: str | None, env_name: str, environ: Mapping[str, str], example: str) -> str:
    """The ``url`` argument, else the ``env_name`` variable; validated (fails fast naming where it came from)."""
    chosen = url or environment_variables.get(env_name, environ)
    if chosen is None:
        msg = f"url = None is not valid; pass url= or set {env_name} to an http(s) URL (e.g. {example})"
        raise ValueError(msg)
    return check_url("url" if url else env_name, chosen)


def check_retry(timeout_s: Any, retries: Any, backoff_s: Any) -> None:
    """Validate the timeout/retry settings shared by the HTTP sinks."""
    check_number("timeout_s", timeout_s, minimum=0, maximum=300, exclusive_minimum=True, unit="seconds")
    check_int("retries", retries, minimum=0, maximum=10)
    check_number("backoff_s", backoff_s, minimum=0, maximum=60, unit="seconds")


def post_json(
    url: str,
    payload: Any,
    *,
    headers: Mapping[str, str],
    timeout_s: float,
    retries: int,
    backoff_s: float,
    stop: threading.Event,
) -> int:
    """POST ``payload`` as JSON; retry connection errors, 429 and 5xx up to ``retries`` times.

    Returns the HTTP status. Raises :class:`DeliveryError` after the last
    failed attempt, or at once on another 4xx or when ``stop`` is set.
    """
    body = json.dumps(payload, default=str).encode("utf-8")
    last = "no attempt"
    for attempt in range(retries + 1):
        if attempt and stop.wait(backoff_s * (2 ** (attempt - 1))):
            break
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) checked
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code != 429 and exc.code < 500:
                break
        except (OSError, ValueError) as exc:  # URLError, timeouts, resets
            last = type(exc).__name__ + (f" ({exc.reason})" if isinstance(exc, urllib.error.URLError) else "")
        if stop.is_set():
            break
        _log.debug("POST to %s failed (%s), attempt %d of %d", redact(url), last, attempt + 1, retries + 1)
    msg = f"POST to {redact(url)} failed: {last}"
    raise DeliveryError(msg)
