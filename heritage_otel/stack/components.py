"""What the stack runs: each component's binary, build script, config, ports and health URL.

>>> from pathlib import Path
>>> from heritage_otel.stack.ports import StackPorts
>>> specs = stack_components(Path("/repo"), Path("/state"), StackPorts())
>>> [spec.name for spec in specs]
['jaeger', 'collector']
>>> specs[1].health_url
'http://127.0.0.1:13133/'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from heritage_otel import environment_variables as env_vars
from heritage_otel.stack.ports import HOST, StackPorts

__all__ = ["JAEGER_STORAGES", "ComponentSpec", "stack_components"]

#: Jaeger storage backend -> its config file under jaeger/.
JAEGER_STORAGES: Mapping[str, str] = {"memory": "config.yaml", "badger": "config-badger.yaml"}


@dataclass(frozen=True)
class ComponentSpec:
    """How to build, run and check one component of the stack.

    ``args`` replaces the default command-line arguments (``--config <config>``);
    ``build_script`` is None for programs that need no build (the Debian
    Alertmanager, our own Python service).
    """

    name: str
    binary: Path
    build_script: Path | None
    config: Path
    health_url: str
    ports: Mapping[str, int]
    env: Mapping[str, str] = field(default_factory=dict)
    args: tuple[str, ...] | None = None

    @property
    def argv(self) -> list[str]:
        return [str(self.binary), *(self.args if self.args is not None else ("--config", str(self.config)))]


def stack_components(
    repo: Path,
    state_dir: Path,
    ports: StackPorts,
    *,
    jaeger_storage: str = "memory",
    extra_env: Mapping[str, str] | None = None,
) -> list[ComponentSpec]:
    """The stack's components in start order (Jaeger first: the Collector exports to it)."""
    if jaeger_storage not in JAEGER_STORAGES:
        msg = f"jaeger_storage = {jaeger_storage!r} is not valid; expected one of {sorted(JAEGER_STORAGES)}"
        raise ValueError(msg)
    state_dir = state_dir.resolve()
    common = {**ports.env(), **(extra_env or {})}
    jaeger = ComponentSpec(
        name="jaeger",
        binary=repo / "bin" / "jaeger",
        build_script=repo / "scripts" / "deps" / "jaeger.sh",
        config=repo / "jaeger" / JAEGER_STORAGES[jaeger_storage],
        health_url=f"http://{HOST}:{ports.jaeger_health}/status",
        ports={
            "otlp-grpc": ports.jaeger_otlp_grpc,
            "otlp-http": ports.jaeger_otlp_http,
            "query-http": ports.jaeger_query_http,
            "query-grpc": ports.jaeger_query_grpc,
            "health": ports.jaeger_health,
            "metrics": ports.jaeger_metrics,
        },
        env={env_vars.HERITAGE_OTEL_JAEGER_BADGER_DIR: str(state_dir / "jaeger-badger"), **common},
    )
    collector = ComponentSpec(
        name="collector",
        binary=repo / "bin" / "otelcol-heritage",
        build_script=repo / "scripts" / "deps" / "collector.sh",
        config=repo / "collector" / "config.yaml",
        health_url=f"http://{HOST}:{ports.collector_health}/",
        ports={
            "otlp-grpc": ports.collector_otlp_grpc,
            "otlp-http": ports.collector_otlp_http,
            "health": ports.collector_health,
            "metrics": ports.collector_metrics,
        },
        env={env_vars.HERITAGE_OTEL_COLLECTOR_STORAGE_DIR: str(state_dir / "collector-queue"), **common},
    )
    return [jaeger, collector]
