"""The repository's Collector and Jaeger configs: valid for the real binaries, every port from the environment."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from heritage_otel.stack import StackPorts
from heritage_otel.stack.ports import _ENV
from tests.helpers import BIN_DIR, REPO_ROOT, require_binary

COLLECTOR_CONFIGS = [REPO_ROOT / "collector" / name for name in ("config.yaml", "gateway.yaml", "shard.yaml")]
JAEGER_CONFIGS = [REPO_ROOT / "jaeger" / "config.yaml", REPO_ROOT / "jaeger" / "config-badger.yaml"]
ENV_REFERENCE = re.compile(r"\$\{env:([A-Z0-9_]+)(?::-([^}]*))?\}")


def env_defaults(path: Path) -> dict[str, str]:
    """``${env:NAME:-default}`` references of a config: NAME -> default."""
    found = {}
    for name, default in ENV_REFERENCE.findall(path.read_text(encoding="utf-8")):
        found[name] = default
    return found


def _validate(binary: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, "validate", "--config", str(config)], capture_output=True, text=True,
                          timeout=60, check=False, cwd=REPO_ROOT)


@pytest.mark.parametrize("config", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_config_passes_the_binarys_validate(config: Path) -> None:
    binary = require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    result = _validate(binary, config)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("config", JAEGER_CONFIGS, ids=lambda p: p.name)
def test_jaeger_config_passes_the_binarys_validate(config: Path) -> None:
    binary = require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    result = _validate(binary, config)
    assert result.returncode == 0, result.stderr


def test_validate_rejects_a_pipeline_naming_a_missing_component(tmp_path: Path) -> None:
    binary = require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    broken = tmp_path / "broken.yaml"
    text = (REPO_ROOT / "collector" / "config.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("exporters: [otlp_grpc/jaeger]", "exporters: [otlp_grpc/nowhere]"), encoding="utf-8")
    result = _validate(binary, broken)
    assert result.returncode != 0 and "otlp_grpc/nowhere" in result.stderr


@pytest.mark.parametrize("config", COLLECTOR_CONFIGS + JAEGER_CONFIGS, ids=lambda p: p.name)
def test_every_environment_reference_has_a_default(config: Path) -> None:
    """Each reference says `:-default`; an empty default only where empty means "none" (a salt, a token, a
    certificate file)."""
    references = re.findall(r"\$\{env:([A-Z0-9_]+)(:-[^}]*)?\}", config.read_text(encoding="utf-8"))
    assert references, f"{config} reads no environment variable"
    assert [name for name, default in references if not default] == []
    may_be_empty = {"HERITAGE_OTEL_QUERY_HASH_SALT", "HERITAGE_OTEL_ANALYZER_TOKEN",
                    *(f"HERITAGE_OTEL_{hop}_TLS_{part}_FILE" for hop in ("JAEGER", "GATEWAY") for part in ("CA", "CERT", "KEY"))}
    assert sorted({name for name, default in references if default == ":-"} - may_be_empty) == []


def test_stack_port_defaults_are_the_configs_defaults() -> None:
    defaults = {**env_defaults(COLLECTOR_CONFIGS[0]), **env_defaults(JAEGER_CONFIGS[0])}
    for field, (variable, with_host) in _ENV.items():
        assert variable in defaults, f"{variable} is not read by the configs"
        expected = f"127.0.0.1:{getattr(StackPorts(), field)}" if with_host else str(getattr(StackPorts(), field))
        assert defaults[variable] == expected, variable


def listening_ports(config: Path, prefix: str) -> dict[str, int]:
    """Default ports a component listens on: its own ``<prefix>*_ENDPOINT`` / ``*_PORT`` variables."""
    return {
        name: int(default.rsplit(":", 1)[-1])
        for name, default in env_defaults(config).items()
        if name.startswith(prefix) and name.endswith(("_ENDPOINT", "_PORT")) and "//" not in default
    }


def test_collector_and_jaeger_default_ports_do_not_collide() -> None:
    ports = [*listening_ports(COLLECTOR_CONFIGS[0], "HERITAGE_OTEL_COLLECTOR_").values(),
             *listening_ports(JAEGER_CONFIGS[0], "HERITAGE_OTEL_JAEGER_").values()]
    assert len(ports) == len(set(ports)) == 10


def test_the_collector_exports_to_jaegers_otlp_port() -> None:
    assert env_defaults(COLLECTOR_CONFIGS[0])["HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT"] == \
        env_defaults(JAEGER_CONFIGS[0])["HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT"]


def test_jaeger_does_not_trace_itself() -> None:
    import yaml

    for config in JAEGER_CONFIGS:
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        assert data["extensions"]["jaeger_query"]["enable_tracing"] is False


def test_alertmanager_config_passes_amtool(tmp_path: Path) -> None:
    """The example alertmanager.yml, and the copy the stack renders with another webhook, pass amtool check-config."""
    from heritage_otel.stack.alertmanager import ALERTMANAGER_CONFIG, render_config

    amtool = require_binary("/usr/bin/amtool", "bash scripts/deps/alertmanager.sh")
    rendered = render_config(REPO_ROOT / ALERTMANAGER_CONFIG, tmp_path / "am.yml", webhook_url="http://127.0.0.1:1/x",
                             timings={"group_wait": "1s"})
    for config in (REPO_ROOT / ALERTMANAGER_CONFIG, rendered):
        result = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "http://127.0.0.1:1/x" in rendered.read_text(encoding="utf-8")
