"""Property-based tests of the command-line arguments (click CliRunner): any bad value gets a usage
error naming the option and exit status 2 - never a traceback - and nothing is started or written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from heritage_otel.cli.main import cli
from heritage_otel.traces.durations import parse_duration_ns

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=20)


def _usage_error(result, option: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert option in result.output, result.output


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def _is_duration(value: str) -> bool:
    try:
        parse_duration_ns(value)
    except ValueError:
        return False
    return True


@SETTINGS
@given(value=st.one_of(text, st.integers(max_value=0).map(str)))
def test_traces_limit_rejects_anything_but_a_positive_integer(value: str) -> None:
    assume(not (_is_int(value) and int(value) >= 1))
    _usage_error(CliRunner().invoke(cli, ["traces", "--limit", value, "--file", "/nonexistent"]), "--limit")


@SETTINGS
@given(value=text, option=st.sampled_from(["--lookback", "--min-duration"]))
def test_traces_durations_reject_anything_unparseable(tmp_path_factory, value: str, option: str) -> None:
    assume(not _is_duration(value))
    spans = tmp_path_factory.mktemp("t") / "spans.jsonl"
    spans.write_text("", encoding="utf-8")
    _usage_error(CliRunner().invoke(cli, ["traces", "--file", str(spans), option, value]), option)


@SETTINGS
@given(name=text)
def test_traces_file_that_does_not_exist_is_a_usage_error(tmp_path_factory, name: str) -> None:
    missing = tmp_path_factory.mktemp("m") / "missing" / name.replace("/", "_")
    _usage_error(CliRunner().invoke(cli, ["traces", "--file", str(missing)]), "--file")


@SETTINGS
@given(value=st.one_of(text, st.integers(max_value=0).map(str)),
       option=st.sampled_from(["--queries", "--seed", "--duration"]))
def test_demo_rejects_bad_numbers_before_running(tmp_path_factory, value: str, option: str) -> None:
    out = tmp_path_factory.mktemp("demo") / "out"
    if option == "--seed":
        assume(not _is_int(value))
    elif option == "--duration":
        try:
            assume(not float(value) > 0)
        except ValueError:
            pass
    else:
        assume(not (_is_int(value) and int(value) > 0))
    result = CliRunner().invoke(cli, ["demo", option, value, "--output-dir", str(out), "--quiet"])
    assert result.exit_code == 2, (option, value, result.exit_code, result.output[-500:], result.exception)
    assert isinstance(result.exception, SystemExit)
    assert not out.exists() or not any(out.iterdir()), "a rejected run wrote output"


@SETTINGS
@given(value=st.one_of(text, st.integers().map(str)),
       option=st.sampled_from(["--port", "--max-series", "--max-request-bytes", "--refresh-seconds",
                               "--sensitivity", "--interval-seconds", "--retention-minutes", "--jaeger-url",
                               "--cooldown-seconds"]))
def test_analyzer_serve_rejects_bad_values_and_starts_nothing(value: str, option: str) -> None:
    # a good value of one option is made to fail on another, so no argument list can start a server
    if option == "--port":
        assume(not (_is_int(value) and 0 <= int(value) <= 65535))
    args = ["analyzer", "serve", option, value]
    if option != "--port":
        args += ["--port", "70000"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, (option, value, result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Analyzer listening" not in result.output


@SETTINGS
@given(value=text)
def test_stack_jaeger_storage_choice_is_enforced(tmp_path: Path, value: str) -> None:
    assume(value not in ("memory", "badger"))
    result = CliRunner().invoke(cli, ["stack", "up", "--jaeger-storage", value])
    _usage_error(result, "--jaeger-storage")
