"""The loopback ports of the stack, and the environment variables the configs read them from.

Every port in ``collector/config.yaml`` and ``jaeger/config.yaml`` comes from
an environment variable with a default; :class:`StackPorts` holds one value
per variable, with the configs' defaults, and :meth:`StackPorts.free` picks
free ports (tests).

>>> ports = StackPorts()
>>> ports.env()["HERITAGE_OTEL_COLLECTOR_OTLP_HTTP_ENDPOINT"]
'127.0.0.1:4318'
>>> ports.jaeger_url
'http://127.0.0.1:16686'
"""

from __future__ import annotations

import dataclasses
import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from heritage_otel import environment_variables as env_vars
from heritage_otel.checks import check_int

__all__ = ["HOST", "StackPorts", "free_ports"]

HOST = "127.0.0.1"

#: field -> (environment variable, whether the variable holds host:port or a bare port)
_ENV: Mapping[str, tuple[str, bool]] = {
    "collector_otlp_grpc": (env_vars.HERITAGE_OTEL_COLLECTOR_OTLP_GRPC_ENDPOINT, True),
    "collector_otlp_http": (env_vars.HERITAGE_OTEL_COLLECTOR_OTLP_HTTP_ENDPOINT, True),
    "collector_health": (env_vars.HERITAGE_OTEL_COLLECTOR_HEALTH_ENDPOINT, True),
    "collector_metrics": (env_vars.HERITAGE_OTEL_COLLECTOR_METRICS_PORT, False),
    "jaeger_otlp_grpc": (env_vars.HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT, True),
    "jaeger_otlp_http": (env_vars.HERITAGE_OTEL_JAEGER_OTLP_HTTP_ENDPOINT, True),
    "jaeger_query_http": (env_vars.HERITAGE_OTEL_JAEGER_QUERY_HTTP_ENDPOINT, True),
    "jaeger_query_grpc": (env_vars.HERITAGE_OTEL_JAEGER_QUERY_GRPC_ENDPOINT, True),
    "jaeger_health": (env_vars.HERITAGE_OTEL_JAEGER_HEALTH_ENDPOINT, True),
    "jaeger_metrics": (env_vars.HERITAGE_OTEL_JAEGER_METRICS_PORT, False),
}


_FALLBACK_EPHEMERAL = (32768, 60999)
_LOWEST = 10000


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' source ports (Linux), or its usual default."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as handle:
            low, high = (int(part) for part in handle.read().split())
        return low, high
    except (OSError, ValueError):
        return _FALLBACK_EPHEMERAL


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 a moment ago.

    They are drawn below the kernel's ephemeral range when it leaves room
    (from 10000 up), so the outgoing connections of the processes we start
    (which take source ports from that range) cannot grab one before the
    server that is meant to listen on it binds it.
    """
    low, _high = _ephemeral_range()
    sockets: list[socket.socket] = []
    try:
        candidates = random.sample(range(_LOWEST, low), k=min(low - _LOWEST, count * 20)) if low > _LOWEST else []
        for port in candidates:
            if len(sockets) == count:
                break
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((HOST, port))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
        while len(sockets) < count:  # no room below the ephemeral range: let the kernel choose
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class StackPorts:
    """One loopback port per listening socket of the Collector and Jaeger (defaults = the configs' defaults)."""

    collector_otlp_grpc: int = 4317
    collector_otlp_http: int = 4318
    collector_health: int = 13133
    collector_metrics: int = 8888
    jaeger_otlp_grpc: int = 14317
    jaeger_otlp_http: int = 14318
    jaeger_query_http: int = 16686
    jaeger_query_grpc: int = 16685
    jaeger_health: int = 13134
    jaeger_metrics: int = 14269

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            check_int(f"port {field.name}", value, minimum=1, maximum=65535)
        values = dataclasses.astuple(self)
        if len(set(values)) != len(values):
            msg = f"ports {self.as_dict()} are not valid; every component socket needs its own port"
            raise ValueError(msg)

    @classmethod
    def free(cls) -> StackPorts:
        """Ports that were all free on 127.0.0.1 a moment ago."""
        return cls(*free_ports(len(dataclasses.fields(cls))))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StackPorts:
        """Inverse of :meth:`as_dict` (unknown keys are ignored)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: int(value) for key, value in data.items() if key in names})

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    def env(self) -> dict[str, str]:
        """Environment variables that make the configs listen on these ports."""
        result = {}
        for name, (variable, with_host) in _ENV.items():
            port = getattr(self, name)
            result[variable] = f"{HOST}:{port}" if with_host else str(port)
        return result

    @property
    def jaeger_url(self) -> str:
        """Base URL of Jaeger's HTTP query API (and placeholder UI)."""
        return f"http://{HOST}:{self.jaeger_query_http}"

    @property
    def otlp_http_endpoint(self) -> str:
        """Where applications send OTLP/HTTP (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""
        return f"http://{HOST}:{self.collector_otlp_http}"

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"http://{HOST}:{self.collector_otlp_grpc}"
