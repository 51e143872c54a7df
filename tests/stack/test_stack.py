"""Stack: the real Collector and Jaeger started, checked and stopped on free loopback ports."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import requests

from heritage_otel.stack import Stack, StackError, StackPorts
from heritage_otel.stack.process import read_pid
from tests.helpers import BIN_DIR, REPO_ROOT, require_binary


@pytest.fixture
def binaries() -> None:
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_up_status_down(tmp_path: Path, binaries: None) -> None:
    stack = Stack(tmp_path, ports=StackPorts.free(), repo=REPO_ROOT)
    try:
        stack.up(timeout_s=60)
        statuses = {s.name: s for s in stack.status()}
        assert set(statuses) == {"jaeger", "collector"}
        assert all(s.running and s.healthy and s.pid for s in statuses.values())
        assert statuses["collector"].ports["otlp-http"] == stack.ports.collector_otlp_http
        # Jaeger's query API answers on the chosen port.
        assert requests.get(f"{stack.ports.jaeger_url}/api/services", timeout=5).status_code == 200
        # Another Stack on the same state folder (another shell) sees the same components and ports.
        again = Stack(tmp_path, repo=REPO_ROOT)
        assert again.ports == stack.ports
        assert [s.healthy for s in again.status()] == [True, True]
        assert again.down() == {"collector": True, "jaeger": True}
        assert [s.running for s in stack.status()] == [False, False]
        assert read_pid("collector", tmp_path) is None
    finally:
        stack.down()


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_busy_port_fails_up_and_leaves_nothing_running(tmp_path: Path, binaries: None) -> None:
    ports = StackPorts.free()
    stack = Stack(tmp_path, ports=ports, repo=REPO_ROOT)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.collector_otlp_grpc))
        squatter.listen()
        try:
            with pytest.raises(StackError, match=rf"collector: ports already in use .*'otlp-grpc': {ports.collector_otlp_grpc}"):
                stack.up(timeout_s=60)
            assert [s.running for s in stack.status()] == [False, False]
        finally:
            stack.down()


@pytest.mark.timeout(60)
def test_collector_that_never_gets_healthy_is_reported_with_its_log(tmp_path: Path, binaries: None) -> None:
    repo = tmp_path / "repo"
    for part in ("collector", "jaeger"):
        shutil.copytree(REPO_ROOT / part, repo / part, ignore=shutil.ignore_patterns("go.*"))
    (repo / "bin").mkdir()
    for binary in ("otelcol-heritage", "jaeger"):
        (repo / "bin" / binary).symlink_to(BIN_DIR / binary)
    config = repo / "collector" / "config.yaml"
    config.write_text(config.read_text().replace("exporters: [otlp_grpc/jaeger]", "exporters: [otlp_grpc/nowhere]"))
    stack = Stack(tmp_path / "state", ports=StackPorts.free(), repo=repo)
    try:
        with pytest.raises(StackError, match=r"(?s)collector did not become healthy.*otlp_grpc/nowhere"):
            stack.start("collector", timeout_s=30)
        assert [s.running for s in stack.status()] == [False, False]
    finally:
        stack.down()


def test_missing_binary_names_the_build_script(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for part in ("collector", "jaeger"):
        shutil.copytree(REPO_ROOT / part, repo / part, ignore=shutil.ignore_patterns("go.*"))
    stack = Stack(tmp_path / "state", ports=StackPorts.free(), repo=repo)
    with pytest.raises(StackError, match=r"jaeger: binary .*bin/jaeger is missing; build it with: bash .*scripts/deps/jaeger\.sh"):
        stack.up()


def test_a_failing_build_script_is_reported(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for part in ("collector", "jaeger"):
        shutil.copytree(REPO_ROOT / part, repo / part, ignore=shutil.ignore_patterns("go.*"))
    (repo / "scripts" / "deps").mkdir(parents=True)
    for script in ("collector.sh", "jaeger.sh"):
        (repo / "scripts" / "deps" / script).write_text("echo 'no Go here' >&2; exit 3\n")
    messages: list[str] = []
    with pytest.raises(StackError, match=r"building jaeger failed \(exit 3\)"):
        Stack(tmp_path / "state", repo=repo).ensure_built(echo=messages.append)
    assert messages and "first build takes several minutes" in messages[0]


def test_unknown_jaeger_storage_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"jaeger_storage = 'cassandra' is not valid; expected one of \['badger', 'memory'\]"):
        Stack(tmp_path, jaeger_storage="cassandra", repo=REPO_ROOT).components()
