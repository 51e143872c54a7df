"""The README walkthrough, as a new user runs it: `stack up`, the demo with `--otlp-endpoint`, `traces`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from heritage_otel.cli.main import cli
from heritage_otel.stack import Stack
from heritage_otel.traces import read_otlp_json_file
from tests.e2e.conftest import FAST_SAMPLING_ENV
from tests.helpers import BIN_DIR, REPO_ROOT, free_port, require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_stack_up_demo_traces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    monkeypatch.chdir(REPO_ROOT)
    state, out = tmp_path / "state", tmp_path / "demo"
    env = {"HERITAGE_OTEL_STATE_DIR": str(state), "COLUMNS": "200",
           "HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{free_port()}", **FAST_SAMPLING_ENV}
    runner = CliRunner()
    try:
        up = runner.invoke(cli, ["stack", "up", "--free-ports"], env=env)
        assert up.exit_code == 0, up.output
        endpoint = Stack(state).ports.otlp_http_endpoint
        demo = runner.invoke(cli, ["demo", "--queries", "480", "--otlp-endpoint", endpoint, "--quiet",
                                   "--output-dir", str(out)], env=env)
        assert demo.exit_code == 0, demo.output

        local = read_otlp_json_file(out / "spans.otlp.jsonl")  # what the demo finished, in process
        [service] = {s for t in local for s in t.services}
        failing = {t.trace_id for t in local if t.has_error}
        assert len(local) == 480 and failing

        def jaeger_json(*args: str) -> list[dict]:
            result = runner.invoke(cli, ["traces", "--service", service, "--limit", "1000", "--json", *args], env=env)
            assert result.exit_code == 0, result.output
            return json.loads(result.output)

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not failing <= {t["trace_id"] for t in jaeger_json("--error-only")}:
            time.sleep(1)
        in_jaeger = {t["trace_id"] for t in jaeger_json("--error-only")}
        assert failing <= in_jaeger, f"{len(failing - in_jaeger)} failing demo traces are not in Jaeger"
        assert in_jaeger == failing

        trees = runner.invoke(cli, ["traces", "--service", service, "--error-only", "--limit", "3"], env=env)
        assert trees.exit_code == 0 and trees.output.count("\ntrace ") == 2
        assert "heritage.recommend" in trees.output and "└── " in trees.output and "ERROR" in trees.output
    finally:
        runner.invoke(cli, ["stack", "down"], env=env)
        Stack(state).down()
