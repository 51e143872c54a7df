"""Settings resolution: precedence, validation, and property-based bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heritage_otel.settings import PROTOCOLS, SAMPLERS, ConfigurationError, resolve_settings

ENV_SETTINGS = [
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_SDK_DISABLED",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "HERITAGE_OTEL_SPAN_STORE_SIZE",
]


def test_defaults():
    """With nothing set: embedded, http/protobuf, always-on parent-based sampling."""
    s = resolve_settings(environ={})
    assert (s.endpoint, s.protocol, s.sampler, s.sampler_arg, s.disabled) == (
        None, "http/protobuf", "parentbased_always_on", 1.0, False
    )
    assert s.service_name == "heritage-recommender" and s.embedded


def test_service_name_precedence():
    """Argument > OTEL_SERVICE_NAME > service.name in OTEL_RESOURCE_ATTRIBUTES > default."""
    env = {"OTEL_SERVICE_NAME": "env", "OTEL_RESOURCE_ATTRIBUTES": "service.name=attr"}
    assert resolve_settings(service_name="arg", environ=env).service_name == "arg"
    assert resolve_settings(environ=env).service_name == "env"
    assert resolve_settings(environ={"OTEL_RESOURCE_ATTRIBUTES": "service.name=attr"}).service_name == "attr"


def test_resource_attributes_are_percent_decoded():
    """OTEL_RESOURCE_ATTRIBUTES values are W3C-baggage style, percent-encoded."""
    s = resolve_settings(environ={"OTEL_RESOURCE_ATTRIBUTES": "team=search%20ranking,tier=gold"})
    assert s.resource_attributes == {"team": "search ranking", "tier": "gold"}


def test_headers_from_environment_are_kept_out_of_repr():
    """OTLP headers (often secrets) are parsed but never shown in the settings' repr."""
    s = resolve_settings(environ={"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20s3cret"})
    assert s.headers == {"authorization": "Bearer s3cret"}
    assert "s3cret" not in repr(s)


def test_endpoint_trailing_slash_is_normalised():
    """A trailing slash does not produce '//v1/traces'."""
    assert resolve_settings(endpoint="http://127.0.0.1:4318/", environ={}).endpoint == "http://127.0.0.1:4318"


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(ENV_SETTINGS),
    value=st.text(min_size=0, max_size=40),
)
def test_any_environment_value_resolves_or_names_the_variable(name, value):
    """Whatever string an OTEL_* variable holds, the result is settings or a ConfigurationError naming it."""
    try:
        resolve_settings(environ={name: value})
    except ConfigurationError as error:
        assert str(error).startswith(f"{name} = "), str(error)
        assert "valid" in str(error)


@settings(max_examples=100, deadline=None)
@given(protocol=st.text(max_size=20).filter(lambda p: p.strip().lower() not in PROTOCOLS))
def test_unknown_protocols_list_the_valid_ones(protocol):
    """Any unknown protocol argument is rejected and the valid ones are listed."""
    with pytest.raises(ConfigurationError, match="valid values: 'grpc', 'http/protobuf'"):
        resolve_settings(protocol=protocol, environ={})


@settings(max_examples=100, deadline=None)
@given(sampler=st.sampled_from(SAMPLERS), ratio=st.floats(min_value=0.0, max_value=1.0))
def test_every_valid_sampler_and_ratio_resolves(sampler, ratio):
    """All six standard samplers with any ratio in [0, 1] are accepted."""
    s = resolve_settings(sampler=sampler, sampler_arg=ratio, environ={})
    assert (s.sampler, s.sampler_arg) == (sampler, ratio)


@settings(max_examples=100, deadline=None)
@given(interval=st.integers(max_value=0))
def test_non_positive_intervals_are_rejected(interval):
    """An export interval below 1 ms names the argument and the valid range."""
    with pytest.raises(ConfigurationError, match=r"^metric_export_interval_millis \(argument\) = .* integer >= 1"):
        resolve_settings(metric_export_interval_millis=interval, environ={})


@pytest.mark.parametrize("signal", ["traces", "metrics", "logs"])
def test_a_signal_path_in_the_general_endpoint_fails_naming_where_it_belongs(signal):
    """OTEL_EXPORTER_OTLP_ENDPOINT=.../v1/traces would send to .../v1/traces/v1/traces: refused at start-up."""
    with pytest.raises(ConfigurationError) as error:
        resolve_settings(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:4318/v1/{signal}"})
    message = str(error.value)
    assert message.startswith(f"OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:4318/v1/{signal}' is not valid")
    assert "OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT" in message
    grpc = resolve_settings(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
                                     "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert grpc.signals[signal].endpoint == "http://127.0.0.1:4317"


def test_a_signal_endpoint_without_a_path_warns_that_it_is_used_as_given(caplog):
    """OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://host:4328 posts to '/': a warning names the URL it likely meant."""
    settings_ = resolve_settings(environ={"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:4328"})
    assert settings_.signals["metrics"].endpoint == "http://127.0.0.1:4328"  # as given, as the SDK does
    assert "'http://127.0.0.1:4328/v1/metrics'" in caplog.text and "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" in caplog.text


def test_a_ratio_without_a_ratio_sampler_warns_that_it_is_ignored(caplog):
    """OTEL_TRACES_SAMPLER_ARG=0.1 alone keeps every trace (the default sampler has no ratio): said at start-up."""
    resolve_settings(environ={"OTEL_TRACES_SAMPLER_ARG": "0.1"})
    assert "OTEL_TRACES_SAMPLER_ARG = '0.1' is ignored by the sampler 'parentbased_always_on'" in caplog.text
    caplog.clear()
    resolve_settings(environ={"OTEL_TRACES_SAMPLER_ARG": "0.1", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio"})
    assert "ignored" not in caplog.text


def test_a_metric_interval_in_seconds_by_mistake_warns(caplog):
    """OTEL_METRIC_EXPORT_INTERVAL is in milliseconds: 5 means every 5 ms, which the warning spells out."""
    assert resolve_settings(environ={"OTEL_METRIC_EXPORT_INTERVAL": "5"}).metric_export_interval_millis == 5
    assert "every 5 ms (for 5 seconds: 5000)" in caplog.text
    caplog.clear()
    resolve_settings(environ={"OTEL_METRIC_EXPORT_INTERVAL": "5000"}, metric_export_interval_millis=None)
    resolve_settings(environ={}, metric_export_interval_millis=50)  # the argument says millis in its name
    assert "milliseconds" not in caplog.text
