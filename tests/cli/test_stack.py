"""`heritage-otel stack up|status|down` with the real Collector and Jaeger."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from heritage_otel.cli.main import cli
from heritage_otel.stack import Stack
from tests.helpers import BIN_DIR, REPO_ROOT, require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_up_status_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    monkeypatch.chdir(REPO_ROOT)
    state = tmp_path / "state"
    runner = CliRunner()
    env = {"COLUMNS": "200", "HERITAGE_OTEL_STATE_DIR": str(state)}
    try:
        up = runner.invoke(cli, ["stack", "up", "--free-ports"], env=env)
        assert up.exit_code == 0, up.output
        ports = Stack(state).ports
        assert f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{ports.collector_otlp_http}" in up.output
        assert (state / "collector.pid").is_file() and (state / "jaeger.log").is_file()

        status = runner.invoke(cli, ["stack", "status"], env=env)
        assert status.exit_code == 0, status.output
        for name in ("jaeger", "collector"):
            [row] = [line for line in status.output.splitlines() if f"│ {name} " in line]
            assert "running" in row and "healthy" in row
        assert f"query-http 127.0.0.1:{ports.jaeger_query_http}" in status.output
        assert f"otlp-grpc 127.0.0.1:{ports.collector_otlp_grpc}" in status.output

        # `traces` finds Jaeger through the state folder (no --jaeger-url): it answers, with nothing yet.
        empty = runner.invoke(cli, ["traces", "--service", "nobody"], env=env)
        assert empty.exit_code == 1 and "no traces found" in empty.output

        # A second `up` keeps the running components (and their ports).
        again = runner.invoke(cli, ["stack", "up", "--free-ports"], env=env)
        assert again.exit_code == 0 and "already running" in again.output
        assert Stack(state).ports == ports

        down = runner.invoke(cli, ["stack", "down"], env=env)
        assert down.output.splitlines() == ["collector: stopped", "jaeger: stopped"]
        after = runner.invoke(cli, ["stack", "status"], env=env)
        assert after.exit_code == 1 and "stopped" in after.output
    finally:
        Stack(state).down()


def test_up_reports_a_failure_as_an_error_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not a checkout: no configs to run
    monkeypatch.delenv("HERITAGE_OTEL_HOME", raising=False)
    monkeypatch.setattr("heritage_otel.stack.paths.__file__", str(tmp_path / "x.py"))
    result = CliRunner().invoke(cli, ["stack", "up", "--state-dir", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert "no heritage-otel checkout found" in result.output
