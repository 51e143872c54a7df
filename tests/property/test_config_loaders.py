"""Property-based tests of the configuration loaders: OTEL_* environment (settings), AnalyzerConfig from a
dict, the Analyzer service's YAML --config file, ServiceConfig, the instrumentor's target variables.
Each input either loads to exactly what it says or fails with a message naming the setting."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.cli.main import cli
from heritage_otel.instrumentation.targets import RecommenderTargets
from heritage_otel.service import ServiceConfig
from heritage_otel.settings import PROTOCOLS, SAMPLERS, ConfigurationError, resolve_settings

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])
junk = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
ENV_VALUES = {
    "OTEL_SERVICE_NAME": st.one_of(junk, st.just("recommender")),
    "OTEL_EXPORTER_OTLP_ENDPOINT": st.one_of(junk, st.sampled_from(
        ["http://127.0.0.1:4318", "https://collector:4318/", "ftp://x", "http://", "http://h:99999", "127.0.0.1:4317"])),
    "OTEL_EXPORTER_OTLP_PROTOCOL": st.one_of(junk, st.sampled_from([*PROTOCOLS, "HTTP/PROTOBUF", "http/json"])),
    "OTEL_TRACES_SAMPLER": st.one_of(junk, st.sampled_from([*SAMPLERS, "ALWAYS_ON", "jaeger_remote"])),
    "OTEL_TRACES_SAMPLER_ARG": st.one_of(junk, st.floats(allow_nan=True).map(str), st.sampled_from(["0.1", "1", "2"])),
    "OTEL_SDK_DISABLED": st.one_of(junk, st.sampled_from(["true", "FALSE", "1", "no", "maybe"])),
    "OTEL_METRIC_EXPORT_INTERVAL": st.one_of(junk, st.integers(-5, 10**6).map(str)),
    "HERITAGE_OTEL_SPAN_STORE_SIZE": st.one_of(junk, st.integers(-5, 10**6).map(str)),
    "OTEL_RESOURCE_ATTRIBUTES": st.one_of(junk, st.sampled_from(["a=b,c=d", "deployment.environment=prod", "=x", "k"])),
    "OTEL_EXPORTER_OTLP_HEADERS": st.one_of(junk, st.sampled_from(["authorization=Bearer%20x", "k=v,k2=v2", "novalue"])),
}
environments = st.fixed_dictionaries({}, optional=ENV_VALUES)


@SETTINGS
@given(environments)
def test_settings_from_any_environment_load_or_name_the_variable(env: dict[str, str]) -> None:
    try:
        s = resolve_settings(environ=env)
    except ConfigurationError as exc:
        message = str(exc)
        assert any(name in message for name in env), f"message names no variable: {message}"
        assert "not valid" in message
        return
    # what loaded is what the environment said (or the default when unset/blank)
    assert s.protocol in PROTOCOLS and s.sampler in SAMPLERS and 0.0 <= s.sampler_arg <= 1.0
    if env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip():
        assert s.protocol == env["OTEL_EXPORTER_OTLP_PROTOCOL"].strip().lower()
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip():
        assert s.endpoint == env["OTEL_EXPORTER_OTLP_ENDPOINT"].strip().rstrip("/")
    else:
        assert s.endpoint is None
    if env.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip():
        assert s.metric_export_interval_millis == int(env["OTEL_METRIC_EXPORT_INTERVAL"]) >= 1
    if env.get("HERITAGE_OTEL_SPAN_STORE_SIZE", "").strip():
        assert s.span_store_size == int(env["HERITAGE_OTEL_SPAN_STORE_SIZE"]) >= 0
    assert s.service_name.strip()


numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6), st.booleans(),
                    st.text(max_size=4), st.none())
analyzer_fields = st.fixed_dictionaries({}, optional={
    "retention_minutes": numbers, "interval_seconds": numbers, "sensitivity": numbers, "min_samples": numbers,
    "psi_warning": numbers, "psi_critical": numbers, "ks_alpha": numbers, "max_series": numbers,
    "window_points": numbers, "critical_factor": numbers,
    "anomaly_detectors": st.one_of(st.lists(st.sampled_from(["zscore", "mad", "iforest"]), max_size=3).map(tuple),
                                   st.text(max_size=5)),
    "thresholds": st.dictionaries(st.sampled_from(["error_rate", "query_latency_p95", "ndcg_at_10", "bogus"]),
                                  st.dictionaries(st.sampled_from(["max", "min", "warning", "critical", "x"]),
                                                  numbers, max_size=3), max_size=2),
})


@SETTINGS
@given(analyzer_fields)
def test_analyzer_config_from_any_dict_loads_exactly_or_names_the_field(fields: dict[str, Any]) -> None:
    try:
        cfg = AnalyzerConfig(**fields)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(name in message for name in fields) or "threshold" in message.lower(), message
        return
    for name, value in fields.items():
        got = getattr(cfg, name)
        if isinstance(value, float) and math.isnan(value):
            raise AssertionError(f"{name}=nan accepted")
        if name != "thresholds":
            assert got == value


def _loadable_yaml(text: str) -> bool:
    try:
        yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return True


def _serve_with_config(tmp_path_factory: Any, text: str) -> Any:
    path: Path = tmp_path_factory.mktemp("cfg") / "analyzer.yaml"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["analyzer", "serve", "--config", str(path), "--port", "70000"])


@SETTINGS
@given(st.one_of(analyzer_fields.map(lambda d: yaml.safe_dump({k: list(v) if isinstance(v, tuple) else v
                                                                  for k, v in d.items()})),
                 st.text(max_size=60).filter(_loadable_yaml),
                 st.sampled_from(["- a\n- b\n", "sensitivity: [1, 2]\n", "bogus: 1\n", "42\n", ""])))
def test_analyzer_serve_config_file_errors_are_clear_and_nothing_starts(tmp_path_factory, text: str) -> None:
    """``analyzer serve --config`` on any well-formed YAML: a clear usage error (exit 2) naming the
    problem, or, with a loadable file, the next check (the impossible --port 70000) fails; never a
    traceback, never a running server."""
    result = _serve_with_config(tmp_path_factory, text)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Error" in result.output and "Analyzer listening" not in result.output


@pytest.mark.parametrize("text", ["'", "a: [1, 2", "{unclosed: 1", "a:\n\t- b"])
def test_analyzer_serve_config_file_with_broken_yaml_is_a_usage_error(tmp_path_factory, text: str) -> None:
    result = _serve_with_config(tmp_path_factory, text)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    assert "--config" in result.output


service_fields = st.fixed_dictionaries({}, optional={
    "host": st.one_of(st.just("127.0.0.1"), st.text(max_size=5), st.integers()),
    "port": numbers, "max_series": numbers, "max_request_bytes": numbers, "refresh_seconds": numbers,
    "token": st.one_of(st.none(), st.text(max_size=8)),
    "jaeger_url": st.one_of(st.none(), st.sampled_from(["http://127.0.0.1:16686", "jaeger:16686", ""]), junk),
})


@SETTINGS
@given(service_fields)
def test_service_config_loads_exactly_or_names_the_field(fields: dict[str, Any]) -> None:
    try:
        cfg = ServiceConfig(**fields)
    except ValueError as exc:
        message = str(exc)
        assert any(name in message for name in fields), message
        token = fields.get("token")
        if token and not any(token in repr(v) for k, v in fields.items() if k != "token"):  # not another's value
            assert token not in message or len(token) < 3
        return
    for name, value in fields.items():
        assert getattr(cfg, name) == value
    assert cfg.token is None or cfg.token.strip()


target = st.one_of(st.sampled_from(["app.rec:Rec.search", "a:B.c", "x.y.z:K.m"]), junk)
target_env = st.fixed_dictionaries({}, optional={
    "HERITAGE_OTEL_RECOMMENDER_ENTRY": target,
    "HERITAGE_OTEL_RECOMMENDER_COMPONENTS": st.one_of(
        st.lists(st.tuples(st.sampled_from(["bm25", "", "x y"]), target), max_size=3).map(
            lambda pairs: ",".join(f"{n}={t}" for n, t in pairs)), junk),
    "HERITAGE_OTEL_RECOMMENDER_CHAIN": st.one_of(target, st.just("")),
    "HERITAGE_OTEL_RECOMMENDER_CACHE": st.one_of(target, st.just("")),
})


@SETTINGS
@given(target_env)
def test_instrumentor_targets_from_any_environment_load_or_name_the_problem(env: dict[str, str]) -> None:
    try:
        targets = RecommenderTargets.from_env(env)
    except ValueError as exc:
        message = str(exc)
        assert "not valid" in message and ("module:Class.method" in message or "component name" in message), message
        return
    if env.get("HERITAGE_OTEL_RECOMMENDER_ENTRY", "").strip():
        assert targets.entry_point == env["HERITAGE_OTEL_RECOMMENDER_ENTRY"].strip()
    if "HERITAGE_OTEL_RECOMMENDER_CHAIN" in env:
        assert targets.chain == (env["HERITAGE_OTEL_RECOMMENDER_CHAIN"].strip() or None)
    assert dataclasses.is_dataclass(targets)
