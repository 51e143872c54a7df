"""`heritage-otel demo` on a shortened run: the issue's 'Done when' for the main job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from heritage_otel.cli.demo import demo
from heritage_otel.demo.report import exported_trace_ids

@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One shortened demo run (1440 queries, 30 per tick, about 10 s), shared by the tests below."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(demo, ["--seed", "7", "--queries", "1440", "--output-dir", str(out), "--quiet"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = json.loads((out / "summary.json").read_text())
    events = [json.loads(line) for line in (out / "alerts.jsonl").read_text().splitlines() if line.strip()]
    return {"out": out, "summary": summary, "events": events, "traces": exported_trace_ids(out / "spans.otlp.jsonl")}


def test_health_goes_healthy_then_degraded_or_critical_then_healthy(run) -> None:
    """The status at the end of each phase: healthy -> degraded|critical -> healthy."""
    phases = run["summary"]["phases"]
    statuses = [p["health"]["status"] for p in phases]
    why = {p["name"]: p["health"]["issues"] for p in phases if p["name"] != "incident"}
    assert [p["name"] for p in phases] == ["baseline", "incident", "recovery"]
    assert statuses[0] == "healthy" and statuses[1] in {"degraded", "critical"} and statuses[2] == "healthy", why


def test_one_incident_for_the_incident_phase_none_in_baseline_or_recovery(run) -> None:
    """The incident phase opens one incident (its fallbacks, errors, latency and quality signals together);
    baseline and recovery send no firing notification; recovery resolves it."""
    fired = {p["name"]: p["alerts_fired"] for p in run["summary"]["phases"]}
    assert fired == {"baseline": 0, "incident": 1, "recovery": 0}, run["summary"]["alerts"]
    (incident,) = run["summary"]["alerts"]
    assert incident["resolved_in"] == "recovery"
    assert "simrank" in incident["cause"] and "HighSeverityError" in incident["cause"]
    assert incident["exemplar_trace_ids"] and set(incident["exemplar_trace_ids"]) <= run["traces"]
    assert {"fallback_rate", "component_error_rate", "ndcg_at_10", "precision_at_5"} & {
        m["metric"] for m in incident["members"]}


def test_every_alerts_line_is_one_notification_of_that_incident(run) -> None:
    """alerts.jsonl: one line per notification, each with state and the incident's stable id, fired first and
    resolved last."""
    events = run["events"]
    assert all(e["state"] in ("firing", "resolved") for e in events)
    assert {e["incident"] for e in events} == {run["summary"]["alerts"][0]["id"]}
    assert events[0]["event"] == "fired" and events[-1]["event"] == "resolved"


def test_no_alert_is_left_active(run) -> None:
    """Everything raised during the run is resolved by its end."""
    assert [a for a in run["summary"]["alerts"] if a["resolved_in"] is None] == []


def test_output_folder_holds_spans_alerts_and_summary(run) -> None:
    """Every query is an exported trace; quality drops in the incident; the component table is complete."""
    summary = run["summary"]
    assert len(run["traces"]) == sum(p["queries"] for p in summary["phases"]) == 1440
    ndcg = [p["quality"]["ndcg_at_10"] for p in summary["phases"]]
    assert ndcg[1] < ndcg[0] and ndcg[1] < ndcg[2]
    components = {c["component"]: c for c in summary["components"]}
    assert set(components) == {"simrank", "horn_index", "embedding"}
    assert components["simrank"]["failures"] > 0 and components["horn_index"]["failures"] == 0
    assert len(summary["slowest_traces"]) == 3
    assert summary["slowest_traces"][0]["spans"][0]["name"] == "heritage.recommend"


def test_invalid_queries_fail_fast() -> None:
    """Too few queries is a usage error naming the minimum."""
    result = CliRunner().invoke(demo, ["--queries", "10", "--quiet", "--output-dir", "unused"])
    assert result.exit_code == 2 and "480" in result.output
    assert not Path("unused").exists()


def test_disabled_sdk_is_reported(tmp_path, monkeypatch) -> None:
    """With OTEL_SDK_DISABLED=true the demo says why it cannot run, instead of failing obscurely."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    result = CliRunner().invoke(demo, ["--quiet", "--output-dir", str(tmp_path)])
    assert result.exit_code == 1 and "OTEL_SDK_DISABLED" in result.output


def test_reachability_check_of_the_otlp_endpoint() -> None:
    """A listening loopback port is reachable, a closed one is not (the demo then warns before running)."""
    import socket

    from heritage_otel.cli.demo import _reachable
    from tests.helpers import free_port

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert _reachable(f"http://127.0.0.1:{server.getsockname()[1]}")
    assert not _reachable(f"http://127.0.0.1:{free_port()}")
