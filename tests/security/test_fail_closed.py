"""Fail closed (#12): unusable tokens and insane settings refuse to start; secrets are masked in every message;
exception messages are hidden unless query capture is on; the smaller validation fixes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from heritage_otel.cli.analyzer import analyzer
from heritage_otel.errors import ValidationError, record_error
from heritage_otel.fallback import FallbackChain
from heritage_otel.handler import ErrorHandler
from heritage_otel.logs import QueryLogger
from heritage_otel.secrets import MASK, is_secret_key, mask_secrets, mask_text
from heritage_otel.service import AnalyzerServer, ServiceConfig
from heritage_otel.service.config import ENV_TOKEN
from heritage_otel.settings import ConfigurationError, resolve_settings
from heritage_otel.validation import InputValidator, OutputValidator
from tests.helpers import free_port
from tests.service.attacks import CLI

SECRET = "hunter2-5ecret-77"
QUERY = "roman coins near hadrians wall"


def _serve(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``analyzer serve`` in process with arguments that must fail before it listens."""
    result = CliRunner().invoke(analyzer, ["serve", "--port", "0", *args], env=env or {}, catch_exceptions=False)
    return result.exit_code, result.output


# --- tokens ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["   ", "", "tök\u00e9n", "has space", "ctrl\x01char"])
def test_an_unusable_token_from_the_environment_refuses_to_start(value: str) -> None:
    """HERITAGE_OTEL_ANALYZER_TOKEN blank, non-ASCII or with spaces: exit 2 naming the variable, value not shown."""
    code, out = _serve(env={ENV_TOKEN: value})
    assert code == 2, out
    assert ENV_TOKEN in out and "not a usable token" in out
    if value.strip():
        assert value not in out


@pytest.mark.parametrize("value", ["   ", "tök\u00e9n"])
def test_an_unusable_token_argument_refuses_to_start(value: str) -> None:
    code, out = _serve("--token", value)
    assert code == 2 and "--token is not a usable token" in out


def test_a_token_on_the_command_line_is_warned_about(caplog) -> None:
    """--token is readable by every user in /proc/<pid>/cmdline: a warning names the alternatives (not the token)."""
    code, _ = _serve("--token", SECRET, "--max-connections", "0")  # fails after the token is read
    assert code == 2
    assert "--token-file" in caplog.text and ENV_TOKEN in caplog.text
    assert SECRET not in caplog.text


def test_a_token_file_is_read_and_guards_the_api(tmp_path: Path) -> None:
    """--token-file: the first line is the token (not on the command line); the API then requires it."""
    token_file = tmp_path / "analyzer.token"
    token_file.write_text(SECRET + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != ENV_TOKEN}
    proc = subprocess.Popen([*CLI, "analyzer", "serve", "--port", str(port), "--token-file", str(token_file),
                             "--log-level", "ERROR"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert requests.get(url + "/api/health", timeout=10).status_code == 401
        assert requests.get(url + "/api/health", headers={"Authorization": f"Bearer {SECRET}"},
                            timeout=10).status_code == 200
        assert SECRET not in " ".join(proc.args)
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize(("args", "expected"), [
    (("--token-file", "/nonexistent/analyzer.token"), "--token-file = '/nonexistent/analyzer.token' is not valid"),
    (("--token", "abc", "--token-file", "/etc/hostname"), "--token and --token-file are both given"),
])
def test_a_bad_token_file_refuses_to_start(args: tuple[str, ...], expected: str) -> None:
    code, out = _serve(*args)
    assert code == 2 and expected in " ".join(out.split()), out


def test_service_config_refuses_a_blank_token() -> None:
    with pytest.raises(ValueError, match="token is not a usable token"):
        ServiceConfig(token="  ")


# --- settings checked for sanity at start-up ---------------------------------------------------------
@pytest.mark.parametrize(("args", "named"), [
    (["--interval-seconds", "1e-300"], "interval_seconds"),
    (["--retention-minutes", "1000000", "--interval-seconds", "0.01"], "retention_minutes"),
    (["--retention-minutes", "10000", "--interval-seconds", "0.01"], "points per series"),
    (["--cooldown-seconds", "inf"], "--cooldown-seconds"),
    (["--cooldown-seconds", "nan"], "--cooldown-seconds"),
    (["--alertmanager-url", "garbage"], "--alertmanager-url"),
    (["--alertmanager-url", "http://127.0.0.1:99999"], "--alertmanager-url"),
    (["--jaeger-url", "http://127.0.0.1:0/"], "jaeger_url"),
    (["--max-request-bytes", "10"], "max_request_bytes"),
    (["--max-histogram-buckets", "0"], "max_histogram_buckets"),
    (["--header-timeout-s", "inf"], "header_timeout_s"),
    (["--refresh-seconds", "0"], "refresh_seconds"),
])
def test_insane_settings_refuse_to_start_naming_the_setting(args: list[str], named: str) -> None:
    code, out = _serve(*args)
    assert code == 2, out
    assert named in out and "is not valid" in out


@pytest.mark.parametrize(("text", "named"), [
    ("drift_window_points: 100000000\n", "drift_window_points"),
    ("window_points: 1000000000\n", "window_points"),
])
def test_insane_config_file_values_refuse_to_start(tmp_path: Path, text: str, named: str) -> None:
    config = tmp_path / "analyzer.yaml"
    config.write_text(text, encoding="utf-8")
    code, out = _serve("--config", str(config))
    assert code == 2 and named in out


def test_alerts_file_must_be_writable_and_not_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("", encoding="utf-8")
    link = tmp_path / "alerts.jsonl"
    link.symlink_to(target)
    code, out = _serve("--alerts-file", str(link))
    assert code == 2 and "symlink" in out
    code, out = _serve("--alerts-file", str(tmp_path / "missing" / "alerts.jsonl"))
    assert code == 2 and "folder does not exist" in out
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, out = _serve("--alerts-file", str(locked / "alerts.jsonl"))
        assert code == 2 and "not writable" in out


def test_otel_metric_export_interval_past_a_day_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="OTEL_METRIC_EXPORT_INTERVAL"):
        resolve_settings(environ={"OTEL_METRIC_EXPORT_INTERVAL": "99999999999999999999999"})


# --- secrets masked --------------------------------------------------------------------------------
def test_settings_errors_never_show_otlp_headers_or_endpoint_credentials() -> None:
    with pytest.raises(ConfigurationError) as bad_headers:
        resolve_settings(environ={"OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{SECRET},oops"})
    assert SECRET not in str(bad_headers.value)
    with pytest.raises(ConfigurationError) as bad_endpoint:
        resolve_settings(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": f"ftp://admin:{SECRET}@collector:4318"})
    assert SECRET not in str(bad_endpoint.value) and "OTEL_EXPORTER_OTLP_ENDPOINT" in str(bad_endpoint.value)


@pytest.mark.parametrize("key", ["webhook_url", "passphrase", "bearer", "jwt", "session_id", "access_token",
                                 "OTEL_EXPORTER_OTLP_HEADERS", "apiKey", "refresh-token"])
def test_secret_key_names_are_masked(key: str) -> None:
    assert is_secret_key(key)
    assert mask_secrets({key: SECRET}) == {key: MASK}


#: Secrets start with "zq9" (in none of the forms below) so a hit means the secret leaked, not the form's text.
_secret_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~", min_size=3,
                       max_size=40).map(lambda tail: "zq9" + tail)


@settings(max_examples=200, deadline=None)
@given(secret=_secret_text, form=st.sampled_from([
    "https://user:{s}@collector.example:4318/v1",
    "https://hooks.example/services/x?access_token={s}&page=2",
    "POST http://h/?passphrase={s} failed",
    "authorization=Bearer%20{s}",
    "Authorization: Bearer {s}",
    "jwt={s}",
    "session_id: {s}",
    "webhook_url={s}",
    "x-api-key={s},other=1",
    "token=\"{s}\"",
]))
def test_mask_text_hides_secrets_in_every_form(secret: str, form: str) -> None:
    """Whatever the secret looks like, it does not survive masking in any of the listed forms."""
    masked = mask_text(form.format(s=secret))
    assert secret not in masked
    assert MASK in masked


def test_api_config_never_returns_jaeger_credentials() -> None:
    config = ServiceConfig(port=0, jaeger_url=f"http://admin:{SECRET}@127.0.0.1:16686/?token={SECRET}")
    with AnalyzerServer(config) as server:
        body = requests.get(server.url + "/api/config", timeout=10).text
    assert SECRET not in body
    assert "127.0.0.1:16686" in body


# --- exception messages hidden unless query capture is on ------------------------------------------
def _exception_text(telemetry, span_name: str) -> str:
    span = telemetry.span(span_name)
    parts = [str(span.status.description)]
    for event in span.events:
        parts.extend(str(v) for v in event.attributes.values())
    return "\n".join(parts)


def test_exception_messages_holding_the_query_are_hidden_by_default(telemetry, monkeypatch) -> None:
    """raise KeyError(query): exception.message, the stack trace and the status carry a digest, not the query."""
    monkeypatch.delenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", raising=False)
    tracer = telemetry.tracer_provider.get_tracer("t")
    with tracer.start_as_current_span("work") as span:
        try:
            raise KeyError(QUERY)
        except KeyError as exc:
            record_error(span, exc, component="simrank")
    text = _exception_text(telemetry, "work")
    assert QUERY not in text
    assert "KeyError" in text and "<hidden sha256:" in text


def test_exception_messages_are_kept_when_query_capture_is_on(telemetry, monkeypatch) -> None:
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "true")
    tracer = telemetry.tracer_provider.get_tracer("t")
    with tracer.start_as_current_span("work") as span:
        record_error(span, KeyError(QUERY), component="simrank")
    assert QUERY in _exception_text(telemetry, "work")


def test_the_error_handler_docstring_example_does_not_leak_the_query(telemetry, monkeypatch) -> None:
    monkeypatch.delenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", raising=False)
    handler = ErrorHandler(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)

    @handler.handle_errors("recommender", fallback_value=[])
    def get_recommendations(query: str) -> list[str]:
        raise KeyError(query)

    assert get_recommendations(QUERY) == []
    assert QUERY not in _exception_text(telemetry, "recommender")


def test_a_re_raised_critical_error_does_not_leak_the_query_in_the_status(telemetry, monkeypatch) -> None:
    from heritage_otel.errors import CriticalError

    monkeypatch.delenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", raising=False)
    handler = ErrorHandler(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)

    @handler.handle_errors("recommender", fallback_value=[])
    def get_recommendations(query: str) -> list[str]:
        raise CriticalError(query)

    with pytest.raises(CriticalError):
        get_recommendations(QUERY)
    span = telemetry.span("recommender")
    assert span.status.status_code.name == "ERROR"
    assert QUERY not in _exception_text(telemetry, "recommender")


def test_the_query_log_hides_the_error_message(telemetry) -> None:
    QueryLogger(capture_query_text=False).log_query("q1", QUERY, results=[], latency_ms=3.0, components_used=[], success=False,
                                                    error=KeyError(QUERY))
    attributes = telemetry.logs()[0].log_record.attributes
    assert all(QUERY not in str(v) for v in attributes.values())
    assert attributes["error.type"] == "KeyError"


# --- the smaller validation fixes --------------------------------------------------------------------
def test_a_score_of_ten_to_the_four_hundred_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        OutputValidator().validate_recommendations([{"doc_id": "d1", "score": 10**400}])


def test_a_query_of_zero_width_spaces_is_blank() -> None:
    with pytest.raises(ValidationError):
        InputValidator().validate_query_text("\u200b\u200b\ufeff\u200d")


def test_a_nested_mutable_fallback_value_is_not_shared_between_calls() -> None:
    handler = ErrorHandler()

    @handler.handle_errors("c", fallback_value={"items": []})
    def broken() -> dict:
        raise ValueError("x")

    first = broken()
    first["items"].append(1)
    assert broken() == {"items": []}


def test_an_async_strategys_own_timeout_error_is_an_ordinary_failure(telemetry) -> None:
    async def own_timeout() -> list[str]:
        raise TimeoutError("backend said timeout")

    async def fine() -> list[str]:
        return ["ok"]

    chain = FallbackChain("c", tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    chain.add_strategy("primary", own_timeout, priority=2)
    chain.add_strategy("backup", fine, priority=1)
    result, used = asyncio.run(chain.execute_async())
    assert (result, used) == (["ok"], "backup")
    outcome = telemetry.span("heritage.fallback.attempt", **{"heritage.fallback.strategy": "primary"})
    assert outcome.attributes["heritage.fallback.outcome"] == "error"
    assert "did not answer within None" not in str(outcome.events)
