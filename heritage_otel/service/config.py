"""Settings of the Analyzer service: one frozen dataclass, defaults named once, validated at construction.

The bearer token comes from the argument or the ``HERITAGE_OTEL_ANALYZER_TOKEN``
environment variable (see :meth:`ServiceConfig.resolve_token`); it is kept
out of ``repr`` so it never reaches a log line.

>>> cfg = ServiceConfig()
>>> cfg.host, cfg.port, cfg.max_request_bytes
('127.0.0.1', 4328, 20971520)
>>> ServiceConfig(port=70000)
Traceback (most recent call last):
...
ValueError: port = 70000 is not valid; expected an integer in 0..65535 (0 picks a free port)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlparse

__all__ = ["ServiceConfig", "ENV_TOKEN", "DEFAULT_PORT", "DEFAULT_MAX_REQUEST_BYTES"]

#: Environment variable holding the optional bearer token.
ENV_TOKEN: Final = "HERITAGE_OTEL_ANALYZER_TOKEN"
#: Default port: next to the Collector's 4317/4318, not clashing with them.
DEFAULT_PORT: Final = 4328
#: 20 MiB, the OTLP specification's recommended request limit (after decompression too).
DEFAULT_MAX_REQUEST_BYTES: Final = 20 * 1024 * 1024


def _int(name: str, value: Any, lo: int, hi: int | None, what: str) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= lo and (hi is None or value <= hi)
    if not ok:
        rng = f"in {lo}..{hi}" if hi is not None else f">= {lo}"
        msg = f"{name} = {value!r} is not valid; expected an integer {rng} ({what})"
        raise ValueError(msg)


def _positive(name: str, value: Any, what: str) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and value == value
    if not ok:
        msg = f"{name} = {value!r} is not valid; expected a number > 0 ({what})"
        raise ValueError(msg)


@dataclass(frozen=True)
class ServiceConfig:
    """Network, limits and presentation settings (the detectors are configured by ``AnalyzerConfig``).

    ``max_series`` caps the distinct per-replica series the receiver admits
    (new series beyond it are rejected and counted); fleet aggregates and
    indicators are capped by the Analyzer's own ``max_series``.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_series: int = 20_000
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    token: str | None = field(default=None, repr=False)
    jaeger_url: str | None = None
    query_store_size: int = 1000
    alert_history_hours: float = 24.0
    evaluate_every_s: float = 1.0
    fleet_aggregates: bool = True
    refresh_seconds: int = 30

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            msg = f"host = {self.host!r} is not valid; expected an interface address such as 127.0.0.1"
            raise ValueError(msg)
        _int("port", self.port, 0, 65535, "0 picks a free port")
        _int("max_series", self.max_series, 1, None, "distinct series admitted; new ones beyond it are dropped")
        _int("max_request_bytes", self.max_request_bytes, 1024, None, "largest request body, after decompression")
        _int("query_store_size", self.query_store_size, 1, None, "recent queries kept")
        _int("refresh_seconds", self.refresh_seconds, 1, 3600, "dashboard auto-refresh period")
        _positive("alert_history_hours", self.alert_history_hours, "hours of alert history served")
        _positive("evaluate_every_s", self.evaluate_every_s, "seconds between detector evaluations")
        if self.token is not None and (not isinstance(self.token, str) or not self.token.strip()):
            msg = "token is not valid; expected a non-empty string or None (the value is not shown)"
            raise ValueError(msg)
        if self.jaeger_url is not None:
            parsed = urlparse(str(self.jaeger_url))
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                msg = f"jaeger_url = {self.jaeger_url!r} is not valid; expected an http(s) URL such as http://127.0.0.1:16686"
                raise ValueError(msg)

    @classmethod
    def resolve_token(cls, token: str | None) -> str | None:
        """The argument, else ``HERITAGE_OTEL_ANALYZER_TOKEN``, else None (no authentication)."""
        if token:
            return token
        from_env = os.environ.get(ENV_TOKEN, "").strip()
        return from_env or None

    def trace_url(self, trace_id: str) -> str | None:
        """Link to one trace in Jaeger's UI, or None without a Jaeger URL.

        >>> ServiceConfig(jaeger_url="http://127.0.0.1:16686/").trace_url("ab" * 16)
        'http://127.0.0.1:16686/trace/abababababababababababababababab'
        """
        if not self.jaeger_url or not trace_id:
            return None
        return f"{self.jaeger_url.rstrip('/')}/trace/{trace_id}"
