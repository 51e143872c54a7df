"""The fleet picture on one machine: gateway, sampling Collectors, Analyzer shards, Alertmanager peers, Jaeger.

::

    apps ─OTLP─► gateway ─traceID─► sampling-1|2 ─► Jaeger (Badger, on disk)
                    │                  └ span metrics ─► back to the gateway
                    └─service─► shard-collector-1|2 (persistent queue) ─► analyzer-1|2
                                                      analyzer-1|2 ─► alertmanager-1 + alertmanager-2 (gossip)

The gateway's load-balancing exporter speaks OTLP/gRPC, the Analyzer OTLP/HTTP:
each shard has its own small Collector (``collector/shard.yaml``) whose
persistent queue keeps the shard's data while the Analyzer is down.

>>> settings = FleetSettings()
>>> settings.ports["gateway"]["otlp-http"], settings.ports["analyzer-2"]["http"]
(4318, 4329)
>>> FleetSettings.from_dict(settings.as_dict()) == settings
True
>>> three = FleetSettings(shards=3, interval_seconds=10)
>>> three.shard_names, three.analyzer_settings()  # doctest: +NORMALIZE_WHITESPACE
(('analyzer-1', 'analyzer-2', 'analyzer-3'),
 {'shards': 3, 'interval_seconds': 10.0, 'analyzer_config': None, 'slos': []})
>>> FleetSettings(slos=("/srv/slos.yaml",)).shard_args()
('--slo', '/srv/slos.yaml')
>>> FleetSettings(shards=0)
Traceback (most recent call last):
...
ValueError: --shards 0 is not valid; expected an integer from 1 to 8
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from heritage_otel import environment_variables as env_vars
from heritage_otel.stack.alertmanager import ALERTMANAGER_CONFIG, alertmanager_peers, render_config
from heritage_otel.stack.components import ComponentSpec, stack_components
from heritage_otel.stack.ports import HOST, StackPorts, free_ports

__all__ = ["FLEET_SHARDS", "MAX_SHARDS", "FleetSettings", "fleet_components"]

#: How many of each the fleet runs (``--shards`` changes the number of Analyzer shards).
FLEET_SHARDS = 2
MAX_SHARDS = 8
FLEET_SAMPLERS = 2
FLEET_PEERS = 2

_JAEGER_PORTS = {"otlp-grpc": "jaeger_otlp_grpc", "otlp-http": "jaeger_otlp_http", "query-http": "jaeger_query_http",
                 "query-grpc": "jaeger_query_grpc", "health": "jaeger_health", "metrics": "jaeger_metrics"}


def _default_ports(shards: int = FLEET_SHARDS) -> dict[str, dict[str, int]]:
    """Fixed defaults: the gateway takes the usual OTLP ports, so applications need no change."""
    jaeger = StackPorts()
    ports: dict[str, dict[str, int]] = {"jaeger": {k: getattr(jaeger, v) for k, v in _JAEGER_PORTS.items()}}
    for i in range(FLEET_PEERS):
        ports[f"alertmanager-{i + 1}"] = {"web": 9093 + 2 * i, "cluster": 9094 + 2 * i}
    for i in range(shards):
        ports[f"analyzer-{i + 1}"] = {"http": 4328 + i}
        ports[f"shard-collector-{i + 1}"] = {"otlp-grpc": 6317 + 100 * i, "health": 13141 + i, "metrics": 8891 + i}
    for i in range(FLEET_SAMPLERS):
        ports[f"sampling-{i + 1}"] = {"otlp-grpc": 5317 + 100 * i, "otlp-http": 5318 + 100 * i,
                                      "health": 13135 + i, "metrics": 8889 + i}
    ports["gateway"] = {"otlp-grpc": 4317, "otlp-http": 4318, "health": 13133, "metrics": 8888}
    return ports


@dataclass(frozen=True)
class FleetSettings:
    """The fleet's ports (component -> port name -> port) and its few knobs, saved with the stack's state.

    ``alert_webhook`` is the receiver the Alertmanager peers notify (the
    example config's URL when None); ``analyzer_args`` are extra
    ``heritage-otel analyzer serve`` options for every shard; ``peer_timeout``
    and ``alert_timings`` tune the Alertmanager cluster (tests make them short).
    ``shards`` (``stack up --fleet --shards``) is the number of Analyzer shards (each behind its own
    Collector); ``interval_seconds`` (``--interval-seconds``) their export and analysis interval (the
    service's default when None); ``analyzer_config`` (``--analyzer-config``) the YAML or JSON file every
    shard reads, as ``analyzer serve --config`` (kept as an absolute path); ``slos`` (``--slo``, repeatable)
    the OpenSLO files or folders of objectives every shard tracks, as ``analyzer serve --slo`` (absolute paths).
    """

    ports: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    alert_webhook: str | None = None
    analyzer_args: tuple[str, ...] = ()
    peer_timeout: str = "15s"
    alert_timings: Mapping[str, str] = field(default_factory=dict)
    shards: int = FLEET_SHARDS
    interval_seconds: float | None = None
    analyzer_config: str | None = None
    slos: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.slos, (str, bytes)) or not all(isinstance(p, str) and p for p in self.slos):
            msg = f"--slo {self.slos!r} is not valid; expected a list of file or folder paths"
            raise ValueError(msg)
        object.__setattr__(self, "slos", tuple(self.slos))
        if isinstance(self.shards, bool) or not isinstance(self.shards, int) or not 1 <= self.shards <= MAX_SHARDS:
            msg = f"--shards {self.shards!r} is not valid; expected an integer from 1 to {MAX_SHARDS}"
            raise ValueError(msg)
        if self.interval_seconds is not None:
            value = self.interval_seconds
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86400:
                msg = f"--interval-seconds {value!r} is not valid; expected a number of seconds > 0 and <= 86400"
                raise ValueError(msg)
            object.__setattr__(self, "interval_seconds", float(value))
        if not self.ports:
            object.__setattr__(self, "ports", _default_ports(self.shards))
        expected = set(_default_ports(self.shards))
        if set(self.ports) != expected:
            msg = f"fleet ports for {sorted(self.ports)} are not valid; expected one entry per {sorted(expected)}"
            raise ValueError(msg)
        if self.alert_webhook is not None and (urlsplit(self.alert_webhook).scheme not in ("http", "https")
                                               or not urlsplit(self.alert_webhook).hostname):
            msg = f"alert_webhook = {self.alert_webhook!r} is not valid; expected an http:// or https:// URL"
            raise ValueError(msg)
        values = [port for named in self.ports.values() for port in named.values()]
        if len(set(values)) != len(values) or not all(0 < port < 65536 for port in values):
            msg = f"fleet ports {dict(self.ports)} are not valid; every socket needs its own port in 1..65535"
            raise ValueError(msg)

    @classmethod
    def free(cls, **knobs: Any) -> FleetSettings:
        """Settings whose ports were all free on 127.0.0.1 a moment ago."""
        layout = _default_ports(int(knobs.get("shards", FLEET_SHARDS)))
        chosen = iter(free_ports(sum(len(named) for named in layout.values())))
        return cls({name: {label: next(chosen) for label in named} for name, named in layout.items()}, **knobs)

    def as_dict(self) -> dict[str, Any]:
        return {"ports": {k: dict(v) for k, v in self.ports.items()}, "alert_webhook": self.alert_webhook,
                "analyzer_args": list(self.analyzer_args), "peer_timeout": self.peer_timeout,
                "alert_timings": dict(self.alert_timings), **self.analyzer_settings()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FleetSettings:
        """Inverse of :meth:`as_dict`."""
        return cls(ports={k: {label: int(p) for label, p in v.items()} for k, v in data["ports"].items()},
                   alert_webhook=data.get("alert_webhook"), analyzer_args=tuple(data.get("analyzer_args", ())),
                   peer_timeout=data.get("peer_timeout", "15s"), alert_timings=dict(data.get("alert_timings", {})),
                   shards=int(data.get("shards", FLEET_SHARDS)), interval_seconds=data.get("interval_seconds"),
                   analyzer_config=data.get("analyzer_config"), slos=tuple(data.get("slos", ())))

    @property
    def shard_names(self) -> tuple[str, ...]:
        """The Analyzer shards' component names, ``analyzer-1`` ..."""
        return tuple(f"analyzer-{i + 1}" for i in range(self.shards))

    def analyzer_settings(self) -> dict[str, Any]:
        """What the shards run with (``stack status --json`` shows it on each shard)."""
        return {"shards": self.shards, "interval_seconds": self.interval_seconds,
                "analyzer_config": self.analyzer_config, "slos": list(self.slos)}

    def shard_args(self) -> tuple[str, ...]:
        """The ``analyzer serve`` options these settings add to every shard."""
        out: tuple[str, ...] = ()
        if self.interval_seconds is not None:
            out += ("--interval-seconds", f"{self.interval_seconds:g}")
        if self.analyzer_config is not None:
            out += ("--config", self.analyzer_config)
        for path in self.slos:
            out += ("--slo", path)
        return (*out, *self.analyzer_args)

    def url(self, component: str, port: str) -> str:
        return f"http://{HOST}:{self.ports[component][port]}"


def _cli() -> Path:
    """The ``heritage-otel`` console script of this environment."""
    sibling = Path(sys.executable).with_name("heritage-otel")
    found = sibling if sibling.is_file() else shutil.which("heritage-otel")
    return Path(found) if found else sibling


def _collector(repo: Path, state_dir: Path, name: str, config: str, ports: Mapping[str, int],
               env: Mapping[str, str]) -> ComponentSpec:
    own = {
        env_vars.HERITAGE_OTEL_COLLECTOR_OTLP_GRPC_ENDPOINT: f"{HOST}:{ports['otlp-grpc']}",
        env_vars.HERITAGE_OTEL_COLLECTOR_HEALTH_ENDPOINT: f"{HOST}:{ports['health']}",
        env_vars.HERITAGE_OTEL_COLLECTOR_METRICS_PORT: str(ports["metrics"]),
        env_vars.HERITAGE_OTEL_COLLECTOR_STORAGE_DIR: str(state_dir / f"{name}-queue"),
    }
    if "otlp-http" in ports:
        own[env_vars.HERITAGE_OTEL_COLLECTOR_OTLP_HTTP_ENDPOINT] = f"{HOST}:{ports['otlp-http']}"
    return ComponentSpec(name=name, binary=repo / "bin" / "otelcol-heritage",
                         build_script=repo / "scripts" / "deps" / "collector.sh",
                         config=repo / "collector" / config, health_url=f"http://{HOST}:{ports['health']}/",
                         ports=dict(ports), env={**env, **own})


def fleet_components(
    repo: Path, state_dir: Path, settings: FleetSettings, *, extra_env: Mapping[str, str] | None = None
) -> list[ComponentSpec]:
    """The fleet's components in start order (each before what sends to it)."""
    state_dir = state_dir.resolve()
    p = settings.ports
    common = dict(extra_env or {})
    jaeger_ports = StackPorts(**{v: p["jaeger"][k] for k, v in _JAEGER_PORTS.items()},
                              **{f"collector_{k.replace('-', '_')}": v for k, v in p["gateway"].items()})
    jaeger = stack_components(repo, state_dir, jaeger_ports, jaeger_storage="badger", extra_env=common)[0]
    am_config = state_dir / "alertmanager.yml"
    if (repo / ALERTMANAGER_CONFIG).is_file():
        render_config(repo / ALERTMANAGER_CONFIG, am_config, webhook_url=settings.alert_webhook,
                      timings=settings.alert_timings)
    peers = alertmanager_peers(repo, state_dir, [(p[f"alertmanager-{i + 1}"]["web"],
                                                  p[f"alertmanager-{i + 1}"]["cluster"]) for i in range(FLEET_PEERS)],
                               config=am_config, peer_timeout=settings.peer_timeout)
    alertmanager_urls = [arg for peer in peers for arg in ("--alertmanager-url", f"http://{HOST}:{peer.ports['web']}")]
    specs = [jaeger, *peers]
    jaeger_url = f"http://{HOST}:{p['jaeger']['query-http']}"
    for i in range(settings.shards):
        name, port = f"analyzer-{i + 1}", p[f"analyzer-{i + 1}"]["http"]
        specs.append(ComponentSpec(
            name=name, binary=_cli(), build_script=None, config=repo / "pyproject.toml",
            health_url=f"http://{HOST}:{port}/healthz", ports={"http": port}, env=common,
            args=("analyzer", "serve", "--port", str(port), "--jaeger-url", jaeger_url, *alertmanager_urls,
                  "--checkpoint-dir", str(state_dir / f"{name}-checkpoint"), *settings.shard_args()),
        ))
    for i in range(settings.shards):
        specs.append(_collector(repo, state_dir, f"shard-collector-{i + 1}", "shard.yaml",
                                p[f"shard-collector-{i + 1}"],
                                {**common, env_vars.HERITAGE_OTEL_ANALYZER_ENDPOINT: settings.url(f"analyzer-{i + 1}", "http")}))
    gateway_http = settings.url("gateway", "otlp-http")
    for i in range(FLEET_SAMPLERS):
        specs.append(_collector(repo, state_dir, f"sampling-{i + 1}", "config.yaml", p[f"sampling-{i + 1}"], {
            **common,
            env_vars.HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT: f"{HOST}:{p['jaeger']['otlp-grpc']}",
            # Span metrics go back through the gateway, so they too are routed by service.
            env_vars.HERITAGE_OTEL_ANALYZER_ENDPOINT: gateway_http,
        }))

    def endpoints(prefix: str, count: int) -> str:
        return "[" + ", ".join(f"{HOST}:{p[f'{prefix}-{i + 1}']['otlp-grpc']}" for i in range(count)) + "]"

    specs.append(_collector(repo, state_dir, "gateway", "gateway.yaml", p["gateway"], {
        **common,
        env_vars.HERITAGE_OTEL_GATEWAY_BACKENDS: endpoints("sampling", FLEET_SAMPLERS),
        env_vars.HERITAGE_OTEL_GATEWAY_ANALYZER_SHARDS: endpoints("shard-collector", settings.shards),
    }))
    return specs
