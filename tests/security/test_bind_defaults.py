"""Every server binds 127.0.0.1 by default: the Collector and Jaeger configs (every listening
endpoint's default), the Analyzer service, the stack's ports and docker-compose's published ports."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from heritage_otel.service import AnalyzerServer, ServiceConfig
from heritage_otel.stack import StackPorts
from heritage_otel.stack.ports import HOST
from tests.helpers import REPO_ROOT

CONFIGS = sorted([*REPO_ROOT.glob("collector/*.yaml"), *REPO_ROOT.glob("jaeger/*.yaml")])
CONFIGS = [p for p in CONFIGS if p.name != "builder-config.yaml"]
_ENV_DEFAULT = re.compile(r"\$\{env:([A-Z0-9_]+):-([^}]*)\}")
_ENV_NO_DEFAULT = re.compile(r"\$\{env:([A-Z0-9_]+)\}")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def with_defaults(text: str) -> str:
    """The config as the binary reads it with no HERITAGE_OTEL_* variable set."""
    return _ENV_DEFAULT.sub(lambda m: m.group(2), text)


def listening_endpoints(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(yaml path, value) of every ``endpoint`` of a receiver/extension and every telemetry ``host``."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and (key == "host" or (key == "endpoint" and not here.startswith("exporters."))):
                yield here, value
            else:
                yield from listening_endpoints(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from listening_endpoints(item, f"{path}[{i}]")


def host_of(value: str) -> str:
    value = value.split("://", 1)[-1]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 or value.startswith("[") else value


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_listening_endpoint_in_the_stack_configs_defaults_to_loopback(config: Path) -> None:
    raw = config.read_text(encoding="utf-8")
    assert not _ENV_NO_DEFAULT.search(raw), "every ${env:...} needs a default"
    parsed = yaml.safe_load(with_defaults(raw))
    endpoints = list(listening_endpoints(parsed))
    assert endpoints, f"no listening endpoint found in {config}"
    exposed = [(where, value) for where, value in endpoints if host_of(value) not in LOOPBACK]
    assert exposed == [], f"{config.name} listens beyond loopback by default: {exposed}"


def test_the_config_scan_catches_a_wildcard_bind() -> None:
    """The scan above is not vacuous: a 0.0.0.0 receiver is reported."""
    config = {"receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}}}},
              "exporters": {"otlp": {"endpoint": "collector.example:4317"}}}
    found = [(w, v) for w, v in listening_endpoints(config) if host_of(v) not in LOOPBACK]
    assert found == [("receivers.otlp.protocols.grpc.endpoint", "0.0.0.0:4317")]


def test_stack_ports_and_urls_are_loopback() -> None:
    ports = StackPorts()
    assert HOST == "127.0.0.1"
    assert all(value.startswith("127.0.0.1:") or value.isdigit() for value in ports.env().values())
    assert ports.jaeger_url.startswith("http://127.0.0.1:")
    assert ports.otlp_http_endpoint.startswith("http://127.0.0.1:")


def test_analyzer_service_binds_loopback_by_default() -> None:
    assert ServiceConfig().host == "127.0.0.1"
    server = AnalyzerServer(ServiceConfig(port=0), start_background=False)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        # nothing answers on another interface of this machine
        others = {addr for *_, (addr, *_rest) in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
        for addr in others - {"127.0.0.1"}:
            with socket.socket() as sock:
                sock.settimeout(1)
                assert sock.connect_ex((addr, server.port)) != 0, f"reachable on {addr}"
    finally:
        server.close()


def test_analyzer_cli_host_option_defaults_to_loopback() -> None:
    from heritage_otel.cli.main import cli

    result = CliRunner().invoke(cli, ["analyzer", "serve", "--help"])
    assert result.exit_code == 0, result.output
    assert re.search(r"--host TEXT.*\[default:\s*127\.0\.0\.1\]", " ".join(result.output.split()))


def test_docker_compose_publishes_ports_on_loopback_only() -> None:
    compose = REPO_ROOT / "docker-compose.yml"
    if not compose.is_file():
        pytest.fail("docker-compose.yml is missing (issue 5 ships it)")
    services = yaml.safe_load(compose.read_text(encoding="utf-8"))["services"]
    published = [(name, str(p)) for name, svc in services.items() for p in svc.get("ports", [])]
    assert published, "docker-compose.yml publishes no port"
    wide = [(name, p) for name, p in published if not p.startswith("127.0.0.1:")]
    assert wide == [], f"ports published on every interface: {wide}"
