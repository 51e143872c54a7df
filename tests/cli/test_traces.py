"""`heritage-otel traces`: from a real Jaeger, and from the embedded default's OTLP JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from heritage_otel import configure
from heritage_otel.cli.main import cli
from heritage_otel.stack import Stack
from tests.helpers import free_port
from tests.traces.conftest import SentTraces, jaeger_stack, send_sample_traces, sent  # noqa: F401 - fixtures


@pytest.fixture
def spans_file(tmp_path: Path) -> tuple[Path, SentTraces]:
    """An OTLP JSON file written by configure(otlp_json_path=...), the embedded default."""
    path = tmp_path / "spans.otlp.jsonl"
    telemetry = configure(service_name="file-test", otlp_json_path=path, simple_processors=True)
    try:
        sent = send_sample_traces(telemetry.tracer_provider, "file-test")
        telemetry.force_flush()
    finally:
        telemetry.shutdown()
    return path, sent


def invoke(*args: str):
    return CliRunner().invoke(cli, ["traces", *args], env={"COLUMNS": "200"})


def test_file_prints_every_trace_as_a_tree(spans_file) -> None:
    path, sent = spans_file
    result = invoke("--file", str(path))
    assert result.exit_code == 0, result.output
    assert f"trace {sent.failing}  file-test  2 spans" in result.output
    assert f"trace {sent.slow}  file-test  1 spans" in result.output
    assert "└── sample.step" in result.output and "ERROR: boom" in result.output
    assert "• exception" in result.output


def test_file_filters(spans_file) -> None:
    path, sent = spans_file
    errors = invoke("--file", str(path), "--error-only", "--json")
    assert [t["trace_id"] for t in json.loads(errors.output)] == [sent.failing]
    slow = invoke("--file", str(path), "--min-duration", "200ms", "--json")
    assert [t["trace_id"] for t in json.loads(slow.output)] == [sent.slow]
    one = invoke("--file", str(path), "--trace-id", sent.failing)
    assert one.output.startswith(f"trace {sent.failing}") and sent.slow not in one.output
    by_operation = invoke("--file", str(path), "--operation", "sample.slow", "--json")
    assert [t["trace_id"] for t in json.loads(by_operation.output)] == [sent.slow]
    # the slow trace is the older one: the operation filter applies before the limit
    limited = invoke("--file", str(path), "--operation", "sample.slow", "--limit", "1", "--json")
    assert [t["trace_id"] for t in json.loads(limited.output)] == [sent.slow]


def test_file_shows_old_traces_unless_a_lookback_is_given(tmp_path: Path, spans_file) -> None:
    path, sent = spans_file
    # The same spans, as if written two days ago.
    old = tmp_path / "old.jsonl"
    two_days_ns = 2 * 86_400 * 10**9
    lines = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        for resource_spans in data["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    for key in ("startTimeUnixNano", "endTimeUnixNano"):
                        span[key] = str(int(span[key]) - two_days_ns)
        lines.append(json.dumps(data))
    old.write_text("\n".join(lines) + "\n")
    everything = json.loads(invoke("--file", str(old), "--json").output)
    assert {t["trace_id"] for t in everything} == {sent.failing, sent.slow}
    recent = invoke("--file", str(old), "--lookback", "1d")
    assert recent.exit_code == 1 and "no traces found" in recent.output


def test_unknown_trace_id_exits_1(spans_file) -> None:
    path, _ = spans_file
    result = invoke("--file", str(path), "--trace-id", "f" * 32)
    assert result.exit_code == 1 and "no traces found" in result.output


def test_nothing_matched_exits_1_also_with_json(spans_file) -> None:
    """`--json` prints an empty array for nothing matched, and the exit status still says so."""
    path, _ = spans_file
    result = CliRunner().invoke(cli, ["traces", "--file", str(path), "--service", "nobody", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout) == []


def test_bad_duration_is_a_usage_error(spans_file) -> None:
    path, _ = spans_file
    result = invoke("--file", str(path), "--lookback", "yesterday")
    assert result.exit_code == 2 and "duration = 'yesterday' is not valid" in result.output


def test_unreachable_jaeger_is_an_error_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke("--service", "x", "--jaeger-url", url)
    assert result.exit_code == 1 and f"could not reach Jaeger at {url}" in result.output


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_jaeger_search_and_trace_id(jaeger_stack: Stack, sent: SentTraces) -> None:
    url = jaeger_stack.ports.jaeger_url
    result = invoke("--service", sent.service, "--jaeger-url", url)
    assert result.exit_code == 0, result.output
    assert f"trace {sent.failing}" in result.output and f"trace {sent.slow}" in result.output
    assert "sample.request  " in result.output and "ERROR: boom" in result.output
    errors = json.loads(invoke("--service", sent.service, "--jaeger-url", url, "--error-only", "--json").output)
    assert [t["trace_id"] for t in errors] == [sent.failing]
    slow = json.loads(invoke("--service", sent.service, "--jaeger-url", url, "--min-duration", "0.2s", "--json").output)
    assert [t["trace_id"] for t in slow] == [sent.slow]
    one = invoke("--trace-id", sent.slow, "--jaeger-url", url)
    assert one.exit_code == 0 and one.output.startswith(f"trace {sent.slow}")


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_search_without_service_lists_the_services(jaeger_stack: Stack, sent: SentTraces) -> None:
    result = CliRunner().invoke(cli, ["traces"], env={"HERITAGE_OTEL_JAEGER_URL": jaeger_stack.ports.jaeger_url})
    assert result.exit_code == 2 and "--service is required" in result.output and sent.service in result.output


def test_a_typo_in_service_or_operation_names_what_exists(spans_file) -> None:
    """A search that finds nothing because a name is unknown says so, with the close matches."""
    path, _ = spans_file
    result = invoke("--file", str(path), "--service", "file-tset")
    assert result.exit_code == 1
    assert "no service 'file-tset'; services: file-test (did you mean 'file-test'?)" in result.output
    result = invoke("--file", str(path), "--service", "file-test", "--operation", "sample.slwo")
    assert result.exit_code == 1 and "service 'file-test' has no operation 'sample.slwo'" in result.output and "'sample.slow'" in result.output


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_typo_in_the_service_names_jaegers_services(jaeger_stack: Stack, sent: SentTraces) -> None:
    """Against Jaeger: an unknown service or operation is named, with Jaeger's own names."""
    url = jaeger_stack.ports.jaeger_url
    result = invoke("--service", sent.service + "x", "--jaeger-url", url)
    assert result.exit_code == 1 and f"no service '{sent.service}x'" in result.output
    assert f"did you mean '{sent.service}'" in result.output
    result = invoke("--service", sent.service, "--operation", "sample.requst", "--jaeger-url", url)
    assert result.exit_code == 1 and "no operation 'sample.requst'" in result.output and "'sample.request'" in result.output
