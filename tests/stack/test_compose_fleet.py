"""docker-compose.yml profile `fleet` cannot run here (no Docker engine); it must name the configs the native fleet runs."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import yaml

from heritage_otel.stack.alertmanager import ALERTMANAGER_BINARY, ALERTMANAGER_CONFIG
from heritage_otel.stack.fleet import FleetSettings, fleet_components
from tests.helpers import REPO_ROOT, require_binary

COMPOSE = REPO_ROOT / "docker-compose.yml"


def _fleet_services() -> dict[str, dict]:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return {name: spec for name, spec in services.items() if "fleet" in spec.get("profiles", [])}


def _native() -> dict[str, Path]:
    """Native fleet component -> the repository config it runs (the Alertmanager runs a rendered copy)."""
    with tempfile.TemporaryDirectory() as state:
        specs = fleet_components(REPO_ROOT, Path(state), FleetSettings())
    return {spec.name: (REPO_ROOT / ALERTMANAGER_CONFIG if spec.name.startswith("alertmanager") else spec.config)
            for spec in specs}


def _mounted(service: dict) -> list[Path]:
    return [(COMPOSE.parent / v.split(":")[0]).resolve() for v in service.get("volumes", []) if v.startswith(".")]


def test_the_fleet_profile_has_one_service_per_native_component() -> None:
    assert set(_fleet_services()) == {f"fleet-{name}" for name in _native()}


def test_each_fleet_service_mounts_the_config_its_native_component_runs() -> None:
    services = _fleet_services()
    for name, config in _native().items():
        service = services[f"fleet-{name}"]
        if name.startswith("analyzer"):
            assert "heritage-otel analyzer serve" in service["command"][-1]
            assert service["command"][-1].count("--alertmanager-url") == 2  # every peer
            continue
        assert config.resolve() in _mounted(service), (name, config)


def test_the_gateway_routes_to_the_fleet_services_and_publishes_only_loopback() -> None:
    services = _fleet_services()
    env = services["fleet-gateway"]["environment"]
    assert re.findall(r"fleet-[a-z-]+\d", env["HERITAGE_OTEL_GATEWAY_ANALYZER_SHARDS"]) == \
        ["fleet-shard-collector-1", "fleet-shard-collector-2"]
    assert re.findall(r"fleet-[a-z-]+\d", env["HERITAGE_OTEL_GATEWAY_BACKENDS"]) == ["fleet-sampling-1", "fleet-sampling-2"]
    for i in (1, 2):
        shard_env = services[f"fleet-shard-collector-{i}"]["environment"]
        assert shard_env["HERITAGE_OTEL_ANALYZER_ENDPOINT"] == f"http://fleet-analyzer-{i}:4328"
    for service in services.values():
        assert all(str(p).startswith("127.0.0.1:") for p in service.get("ports", []))


def test_the_alertmanager_image_matches_the_native_version() -> None:
    binary = require_binary(ALERTMANAGER_BINARY, "bash scripts/deps/alertmanager.sh")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    native = re.search(r"version (\d+\.\d+\.\d+)", version.stdout + version.stderr).group(1)
    for i in (1, 2):
        assert _fleet_services()[f"fleet-alertmanager-{i}"]["image"] == f"prom/alertmanager:v{native}"


def test_the_fleet_shards_read_the_same_settings_file_as_stack_up_analyzer_config() -> None:
    """Each shard mounts $HERITAGE_OTEL_ANALYZER_CONFIG (default analyzer/analyzer.yaml) and passes it to
    `analyzer serve --config`, with $HERITAGE_OTEL_FLEET_INTERVAL_SECONDS; the default file loads as a config."""
    from heritage_otel.analysis import AnalyzerConfig
    from heritage_otel.cli.analyzer import _load_config

    for name in FleetSettings().shard_names:
        service = _fleet_services()[f"fleet-{name}"]
        mounts = {v.rsplit(":", 2)[1]: v.rsplit(":", 2)[0] for v in service["volumes"]}
        assert mounts["/etc/heritage-otel/analyzer.yaml"] == "${HERITAGE_OTEL_ANALYZER_CONFIG:-./analyzer/analyzer.yaml}"
        command = service["command"][-1]
        assert "--config /etc/heritage-otel/analyzer.yaml" in command
        assert "--interval-seconds ${HERITAGE_OTEL_FLEET_INTERVAL_SECONDS:-60}" in command
    assert AnalyzerConfig(**_load_config(REPO_ROOT / "analyzer" / "analyzer.yaml")) == AnalyzerConfig()
