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
        demo = runner.invoke(cli, ["demo", "--queries", "480", "--duration", "10", "--otlp-endpoint", endpoint, "--quiet",
                                   "--output-dir", str(out)], env=env)
        assert demo.exit_code == 0, demo.output

        local = read_otlp_json_file(out / "spans.otlp.jsonl")  # what the demo finished, in process
        [service] = {s for t in local for s in t.services}
        failing = {t.trace_id for t in local if t.has_error}
        assert len(local) == 480 and failing

        def jaeger_json(*args: str) -> list[dict]:
            result = runner.invoke(cli, ["traces", "--service", service, "--limit", "1000", "--json", *args], env=env)
            assert result.exit_code in (0, 1), result.output  # 1: nothing matched (yet)
            return json.loads(result.stdout)

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


def _readme_section_2_commands() -> list[str]:
    """The command lines of README section 2's first shell block, as a reader copies them."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### 2. ", 1)[1].split("\n### ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.timeout(600)
def test_readme_section_2_shows_the_incident_on_the_analyzer_service(tmp_path: Path) -> None:
    """README section 2 as written (only the default ports moved to free ones): the Analyzer service, fed by the
    demo through the real Collector, opens the demo's incident, and `traces` finds the demo's error traces."""
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    import os
    import shlex
    import subprocess
    import sys

    import requests

    commands = _readme_section_2_commands()
    assert [c.split()[1:3] for c in commands][:4] == [["stack", "up"], ["analyzer", "serve"], ["demo", "--otlp-endpoint"],
                                                      ["traces", "--service"]]
    analyzer_port = free_port()
    moved = {"4328": str(analyzer_port)}  # the stack's ports are added once `stack up --free-ports` chose them
    env = {**os.environ, "HERITAGE_OTEL_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200",
           "HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{analyzer_port}"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)  # the README's .venv/bin/...

    def shell(line: str) -> list[str]:
        for default, free in moved.items():
            line = line.replace(f":{default}", f":{free}")
        args = shlex.split(line)
        if args[1:3] == ["analyzer", "serve"]:
            args.insert(-1 if args[-1] == "&" else len(args), f"--port={analyzer_port}")
        if args[1:3] == ["stack", "up"]:
            args.append("--free-ports")
        return [a for a in args if a != "&"]

    server = None
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    try:
        for line in commands:
            args = shell(line)
            if line.endswith("&"):
                with open(tmp_path / "analyzer.log", "w") as log:
                    server = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=log)
                continue
            if args[1:3] == ["stack", "down"]:
                break
            results[" ".join(args[1:3])] = done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True,
                                                                  text=True, timeout=400, check=False)
            if args[1:3] == ["stack", "up"]:
                assert done.returncode == 0, done.stdout + done.stderr
                stack_ports = Stack(tmp_path / "state").ports
                moved.update({"4318": str(stack_ports.collector_otlp_http), "16686": str(stack_ports.jaeger_query_http)})
        assert results["demo --otlp-endpoint"].returncode == 0, results["demo --otlp-endpoint"].stderr
        traces = results["traces --service"]
        assert traces.returncode == 0 and traces.stdout.count("\ntrace ") + traces.stdout.startswith("trace ") == 2
        body = requests.get(f"http://127.0.0.1:{analyzer_port}/api/incidents", params={"state": "all"}, timeout=10).json()
        demo_incidents = [i for i in body["incidents"] if i["service"] == "heritage-demo"]
        assert demo_incidents, (body, (tmp_path / "analyzer.log").read_text()[-3000:])
        assert any(i["cause"] for i in demo_incidents), demo_incidents
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        subprocess.run([".venv/bin/heritage-otel", "stack", "down"], cwd=tmp_path, env=env, capture_output=True,
                       timeout=60, check=False)
        Stack(tmp_path / "state").down()
