"""`heritage-otel stack up --fleet`: the real gateway, sampling and shard Collectors, Analyzer shards,
Alertmanager peers and Jaeger on free loopback ports; metrics routed by service; `status --json`; `down`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from heritage_otel.analysis.slo.files import EXAMPLE_FILE
from heritage_otel.stack import Stack
from heritage_otel.stack.alertmanager import ALERTMANAGER_BINARY
from tests.helpers import BIN_DIR, REPO_ROOT, require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

CLI = str(Path(sys.executable).with_name("heritage-otel"))
COMPONENTS = ["jaeger", "alertmanager-1", "alertmanager-2", "analyzer-1", "analyzer-2", "shard-collector-1",
              "shard-collector-2", "sampling-1", "sampling-2", "gateway"]
SERVICES = [f"fleet-svc-{i:02d}" for i in range(16)]


def run(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "stack", *args, "--state-dir", str(state)], capture_output=True, text=True,
                          timeout=180, cwd=REPO_ROOT, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}, check=False)


def export_queries(endpoint: str, service: str, replicas: int = 2, count: int = 5) -> None:
    """Each replica of ``service`` sends one OTLP/HTTP metrics request (a counter) to the gateway."""
    for replica in range(replicas):
        provider = MeterProvider(
            resource=Resource.create({"service.name": service, "service.instance.id": f"{service}-{replica}"}),
            metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics",
                                                                             timeout=10),
                                                          export_interval_millis=3_600_000)])
        provider.get_meter("tests.stack.fleet").create_counter("heritage.queries").add(count)
        provider.shutdown()


def alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie (in a container nobody may reap our orphans)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}
    except OSError:
        return False


def shard_stats(url: str) -> dict:
    return requests.get(f"{url}/api/stats", timeout=5).json()


def test_fleet_up_routes_by_service_status_json_and_down(tmp_path: Path) -> None:
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    require_binary(ALERTMANAGER_BINARY, "bash scripts/deps/alertmanager.sh")
    state = tmp_path / "state"
    pids: list[int] = []
    try:
        up = run("up", "--fleet", "--free-ports", state=state)
        assert up.returncode == 0, up.stdout + up.stderr
        fleet = Stack(state).fleet
        assert fleet is not None
        gateway = fleet.url("gateway", "otlp-http")
        assert f"OTEL_EXPORTER_OTLP_ENDPOINT={gateway}" in up.stdout

        status = run("status", "--json", state=state)
        assert status.returncode == 0, status.stdout + status.stderr
        items = json.loads(status.stdout)
        assert [item["name"] for item in items] == COMPONENTS
        for item in items:
            shard = item["name"].startswith("analyzer-")
            assert set(item) == {"name", "pid", "healthy", "ports", *(["settings"] if shard else [])}
            assert item["healthy"] and item["pid"] > 0
            assert item["ports"] == {label: f"127.0.0.1:{port}" for label, port in fleet.ports[item["name"]].items()}
        pids = [item["pid"] for item in items]
        # Jaeger keeps traces on disk in the fleet.
        assert (state / "jaeger-badger").is_dir()

        for service in SERVICES:
            export_queries(gateway, service)
        shards = [fleet.url(f"analyzer-{i}", "http") for i in (1, 2)]
        deadline = time.monotonic() + 60
        while sum(shard_stats(url)["data_points_accepted"] for url in shards) < 2 * len(SERVICES):
            assert time.monotonic() < deadline, [shard_stats(url) for url in shards]
            time.sleep(0.5)
        owned = [set(shard_stats(url)["services"]) for url in shards]
        # Every service in exactly one shard (both replicas of a service meet there), and both shards used.
        assert owned[0] | owned[1] == set(SERVICES) and not owned[0] & owned[1], owned
        assert owned[0] and owned[1], owned
        counts = [shard_stats(url)["data_points_accepted"] for url in shards]
        assert counts == [2 * len(owned[0]), 2 * len(owned[1])], counts  # nothing lost, nothing twice
    finally:
        down = run("down", state=state)
    assert down.returncode == 0, down.stdout + down.stderr
    assert all(f"{name}: stopped" in down.stdout for name in COMPONENTS), down.stdout
    assert not any(alive(pid) for pid in pids)
    after = json.loads(run("status", "--json", state=state).stdout)
    assert not any(item["healthy"] or item["pid"] for item in after)


def test_up_refuses_to_mix_the_fleet_and_the_single_stack_in_one_state_folder(tmp_path: Path) -> None:
    """A state folder running the fleet (here: its gateway, a stand-in process) is not reused by a plain `up`."""
    from heritage_otel.stack.fleet import FleetSettings
    from heritage_otel.stack.process import start_process, stop_process

    state = tmp_path / "state"
    Stack(state, fleet=FleetSettings.free(), repo=REPO_ROOT)._save_state()
    start_process("gateway", [sys.executable, "-c", "import time; time.sleep(60)"], state)
    try:
        result = run("up", state=state)
        assert result.returncode != 0
        assert "already runs the fleet stack (gateway)" in result.stderr
        assert "heritage-otel stack down" in result.stderr
    finally:
        stop_process("gateway", state)


def test_a_bad_alert_webhook_fails_at_start_naming_it(tmp_path: Path) -> None:
    result = run("up", "--fleet", "--free-ports", "--alert-webhook", "ftp://example", state=tmp_path / "state")
    assert result.returncode != 0
    assert "alert_webhook = 'ftp://example' is not valid; expected an http:// or https:// URL" in result.stderr
    assert not (tmp_path / "state" / "gateway.pid").exists()


def test_fleet_shards_interval_and_config_from_the_command(tmp_path: Path) -> None:
    """`up --fleet --shards 3 --interval-seconds 5 --analyzer-config FILE`: three shards, each running with that
    interval and that file's settings (their /api/config), recorded in the state folder and shown by
    `status --json`; a second `up` keeps them."""
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    require_binary(ALERTMANAGER_BINARY, "bash scripts/deps/alertmanager.sh")
    state = tmp_path / "state"
    config = tmp_path / "analyzer.yaml"
    config.write_text("retention_minutes: 30\nthresholds:\n  error_rate: {max: 0.02, critical: 0.2}\n")
    try:
        up = run("up", "--fleet", "--free-ports", "--shards", "3", "--interval-seconds", "5",
                 "--analyzer-config", str(config), state=state)
        assert up.returncode == 0, up.stdout + up.stderr
        fleet = Stack(state).fleet
        assert fleet is not None and fleet.shard_names == ("analyzer-1", "analyzer-2", "analyzer-3")
        expected = {"shards": 3, "interval_seconds": 5.0, "analyzer_config": str(config.resolve()), "slos": []}
        saved = json.loads((state / "stack.json").read_text())["fleet"]
        assert {k: saved[k] for k in expected} == expected
        items = json.loads(run("status", "--json", state=state).stdout)
        shards = [item for item in items if item["name"].startswith("analyzer-")]
        assert [item["name"] for item in shards] == list(fleet.shard_names)
        assert all(item["settings"] == expected and item["healthy"] for item in shards), shards
        for name in fleet.shard_names:
            served = requests.get(fleet.url(name, "http") + "/api/config", timeout=10).json()
            assert (served["interval_seconds"], served["retention_minutes"]) == (5.0, 30.0)
            assert served["thresholds"]["error_rate"] == {"max": 0.02, "critical": 0.2}
        again = run("up", "--fleet", state=state)
        assert again.returncode == 0, again.stdout + again.stderr
        assert Stack(state).fleet == fleet
    finally:
        down = run("down", state=state)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "analyzer-3: stopped" in down.stdout and "shard-collector-3: stopped" in down.stdout


def test_fleet_slos_from_the_command_reach_every_shard(tmp_path: Path) -> None:
    """`up --fleet --slo FILE --slo FOLDER`: every shard tracks the objectives of the file and the folder (its
    /api/slos), the paths are recorded in the state folder and shown by `status --json`."""
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    require_binary(ALERTMANAGER_BINARY, "bash scripts/deps/alertmanager.sh")
    state, folder = tmp_path / "state", tmp_path / "slos"
    folder.mkdir()
    availability = next(d for d in yaml.safe_load_all(EXAMPLE_FILE.read_text()) if d["metadata"]["name"] == "availability")
    availability["metadata"]["name"] = "fleet-availability"
    (folder / "extra.yaml").write_text(yaml.safe_dump(availability))
    try:
        up = run("up", "--fleet", "--free-ports", "--interval-seconds", "5", "--slo", str(EXAMPLE_FILE),
                 "--slo", str(folder), state=state)
        assert up.returncode == 0, up.stdout + up.stderr
        fleet = Stack(state).fleet
        assert fleet is not None
        expected = [str(EXAMPLE_FILE.resolve()), str(folder.resolve())]
        assert json.loads((state / "stack.json").read_text())["fleet"]["slos"] == expected
        items = json.loads(run("status", "--json", state=state).stdout)
        shards = [item for item in items if item["name"].startswith("analyzer-")]
        assert [item["settings"]["slos"] for item in shards] == [expected] * fleet.shards, shards
        for name in fleet.shard_names:
            served = requests.get(fleet.url(name, "http") + "/api/slos", timeout=10).json()
            assert sorted(row["name"] for row in served["slos"]) == [
                "availability", "fallback-rate", "fleet-availability", "latency", "quality"], (name, served)
    finally:
        down = run("down", state=state)
    assert down.returncode == 0, down.stdout + down.stderr


def test_a_bad_slo_file_fails_at_start_naming_the_file_and_the_field(tmp_path: Path) -> None:
    """An unknown field in an `--slo` document stops `up --fleet` with exit 2 before anything starts."""
    bad = tmp_path / "slos.yaml"
    doc = next(yaml.safe_load_all(EXAMPLE_FILE.read_text()))
    doc["metadata"]["name"] = "broken"
    doc["spec"]["budgetingMetod"] = doc["spec"].pop("budgetingMethod")
    bad.write_text(yaml.safe_dump(doc))
    result = run("up", "--fleet", "--free-ports", "--slo", str(EXAMPLE_FILE), "--slo", str(bad),
                 state=tmp_path / "state")
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert f"--slo: {bad}: SLO 'broken': spec.budgetingMetod is not a known field" in message, message
    assert not (tmp_path / "state" / "gateway.pid").exists()
    assert not (tmp_path / "state" / "analyzer-1.pid").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--shards", "0"), "--shards 0 is not valid; expected an integer from 1 to 8"),
    (("--interval-seconds", "-1"), "--interval-seconds -1.0 is not valid; expected a number of seconds > 0"),
    (("--analyzer-config", "{config}"), "--analyzer-config {config}: unknown setting(s) intervall"),
    (("--analyzer-config", "{missing}"), "{missing}: not a readable YAML file"),
])
def test_bad_fleet_settings_fail_at_start_naming_the_flag_and_what_is_valid(tmp_path: Path, args, message) -> None:
    """A bad --shards, --interval-seconds or --analyzer-config stops `up` before anything starts."""
    config, missing = tmp_path / "analyzer.yaml", tmp_path / "missing.yaml"
    config.write_text("intervall: 5\n")
    args = tuple(a.format(config=config, missing=missing) for a in args)
    result = run("up", "--fleet", "--free-ports", *args, state=tmp_path / "state")
    assert result.returncode != 0
    assert message.format(config=config, missing=missing) in " ".join(result.stderr.split()), result.stderr
    assert not (tmp_path / "state" / "gateway.pid").exists()


def test_fleet_settings_without_fleet_are_refused(tmp_path: Path) -> None:
    result = run("up", "--shards", "3", state=tmp_path / "state")
    assert result.returncode != 0
    assert "--shards: valid with --fleet only" in result.stderr
    result = run("up", "--slo", str(EXAMPLE_FILE), state=tmp_path / "state")
    assert result.returncode == 2 and "--slo: valid with --fleet only" in result.stderr
