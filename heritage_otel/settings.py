"""Telemetry settings: argument, then ``OTEL_*`` environment variable, then default.

Every value is checked once, at start-up. A bad value raises
:class:`ConfigurationError` naming the setting, the value and what is valid,
so a typo in a deployment fails loudly instead of silently dropping data.

>>> s = resolve_settings(service_name="recommender", environ={})
>>> s.service_name, s.endpoint, s.protocol
('recommender', None, 'http/protobuf')
>>> resolve_settings(protocol="http/xml", environ={})
Traceback (most recent call last):
...
heritage_otel.settings.ConfigurationError: protocol (argument) = 'http/xml' is not valid; valid values: 'grpc', 'http/protobuf'
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_RESOURCE_ATTRIBUTES,
    OTEL_SDK_DISABLED,
    OTEL_SERVICE_NAME,
    OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG,
)

from heritage_otel import environment_variables as env_vars
from heritage_otel.checks import env_flag
from heritage_otel.secrets import MASK, is_secret_key, mask_text

__all__ = ["ConfigurationError", "Settings", "SignalSettings", "resolve_settings", "DEFAULT_SERVICE_NAME"]

DEFAULT_SERVICE_NAME = "heritage-recommender"
#: Where spans are also written as OTLP JSON lines (``configure()``, and ``opentelemetry-instrument`` runs).
ENV_OTLP_JSON_PATH = env_vars.HERITAGE_OTEL_OTLP_JSON_PATH
PROTOCOLS = ("grpc", "http/protobuf")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
#: The three signals, as they appear in ``OTEL_{SIGNAL}_EXPORTER`` and ``OTEL_EXPORTER_OTLP_{SIGNAL}_*``.
SIGNALS = ("traces", "metrics", "logs")
#: Values of ``OTEL_{TRACES,METRICS,LOGS}_EXPORTER`` (comma separated; ``none`` alone turns the signal off).
EXPORTERS = ("otlp", "console", "none")


class ConfigurationError(ValueError):
    """A setting has a value that cannot work; raised at start-up."""


_SIGNAL_PATH = re.compile(r"/v1/(traces|metrics|logs)/?$")
_logger = logging.getLogger(__name__)


def _bad(setting: str, value: Any, valid: str) -> ConfigurationError:
    shown = MASK if is_secret_key(setting) else mask_text(repr(value))
    return ConfigurationError(f"{setting} = {shown} is not valid; {valid}")


@dataclass(frozen=True)
class SignalSettings:
    """Where one signal goes: its exporters, and for ``otlp`` the URL and protocol (None: not exported)."""

    exporters: tuple[str, ...] = ("otlp",)
    endpoint: str | None = None
    protocol: str = "http/protobuf"


@dataclass(frozen=True)
class Settings:
    """The resolved, validated telemetry settings."""

    service_name: str
    service_version: str
    service_instance_id: str
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    endpoint: str | None = None
    protocol: str = "http/protobuf"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold secrets
    sampler: str = "parentbased_always_on"
    sampler_arg: float = 1.0
    disabled: bool = False
    metric_export_interval_millis: int = 60_000
    span_store_size: int = 10_000
    otlp_json_path: str | None = None
    signals: Mapping[str, SignalSettings] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.signals:  # built directly: every signal follows the general endpoint and protocol
            signals = {s: _signal_settings(s, self.endpoint, True, self.protocol, {}) for s in SIGNALS}
            object.__setattr__(self, "signals", signals)

    @property
    def embedded(self) -> bool:
        """True when nothing is exported over the network (no signal has an OTLP endpoint)."""
        return all(signal.endpoint is None for signal in self.signals.values())


def _parse_key_values(setting: str, raw: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _bad(setting, raw, "expected comma-separated key=value pairs, e.g. 'deployment.environment=prod'")
        result[unquote(key.strip())] = unquote(value.strip())
    return result


def _check_endpoint(setting: str, endpoint: str) -> str:
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise _bad(setting, endpoint, "expected an http:// or https:// URL with a host, e.g. 'http://127.0.0.1:4318'")
    return endpoint.rstrip("/")


def _check_protocol(setting: str, raw: Any) -> str:
    chosen = str(raw).strip().lower()
    if chosen not in PROTOCOLS:
        raise _bad(setting, raw, "valid values: " + ", ".join(repr(p) for p in PROTOCOLS))
    return chosen


def _signal_settings(
    signal: str, endpoint: str | None, endpoint_from_argument: bool, protocol: str, environ: Mapping[str, str]
) -> SignalSettings:
    """``OTEL_{SIGNAL}_EXPORTER`` and ``OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT``/``_PROTOCOL`` over the general ones.

    As in the OpenTelemetry SDK, a signal's own endpoint is used as given
    (no ``/v1/{signal}`` appended) and wins over ``OTEL_EXPORTER_OTLP_ENDPOINT``;
    an ``endpoint=`` argument wins over both.
    """
    upper = signal.upper()
    exporter_var = f"OTEL_{upper}_EXPORTER"
    raw = environ.get(exporter_var, "").strip().lower()
    exporters = tuple(dict.fromkeys(e.strip() for e in raw.split(",") if e.strip())) if raw else ("otlp",)
    if not exporters or any(e not in EXPORTERS for e in exporters) or ("none" in exporters and len(exporters) > 1):
        raise _bad(exporter_var, environ.get(exporter_var), "valid values: 'otlp', 'console' (comma separated), or 'none'")
    protocol_var = f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL"
    raw_protocol = environ.get(protocol_var, "").strip()
    chosen = _check_protocol(protocol_var, raw_protocol) if raw_protocol else protocol
    endpoint_var = f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT"
    own = environ.get(endpoint_var, "").strip()
    if own and not endpoint_from_argument:
        checked = _check_endpoint(endpoint_var, own)
        url: str | None = checked
        if chosen != "grpc" and urlsplit(checked).path in ("", "/"):
            _logger.warning("%s = %s has no path; it is used as given (nothing is appended), so %s go to '/': "
                            "the Collector and the Analyzer receive at /v1/%s (e.g. '%s/v1/%s')",
                            endpoint_var, mask_text(repr(own)), signal, signal, mask_text(checked), signal)
    elif endpoint is None:
        url = None
    else:
        url = endpoint if chosen == "grpc" else f"{endpoint}/v1/{signal}"
    if "none" in exporters:
        return SignalSettings((), None, chosen)
    return SignalSettings(exporters, url, chosen)


def _pick(arg: Any, arg_name: str, env_name: str, environ: Mapping[str, str]) -> tuple[Any, str]:
    """The argument if given, else the environment value; and the setting to blame."""
    if arg is not None:
        return arg, f"{arg_name} (argument)"
    raw = environ.get(env_name)
    if raw is not None and raw.strip() != "":
        return raw.strip(), env_name
    return None, env_name


def _int_setting(
    arg: Any, arg_name: str, env_name: str, environ: Mapping[str, str], default: int, minimum: int,
    maximum: int | None = None,
) -> int:
    value, name = _pick(arg, arg_name, env_name, environ)
    if value is None:
        return default
    try:
        number = int(value)
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
    except (TypeError, ValueError):
        raise _bad(name, value, f"expected an integer >= {minimum}") from None
    if number < minimum:
        raise _bad(name, value, f"expected an integer >= {minimum}")
    if maximum is not None and number > maximum:
        raise _bad(name, value, f"expected an integer >= {minimum} and <= {maximum}")
    return number


def resolve_settings(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    service_instance_id: str | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    sampler: str | None = None,
    sampler_arg: float | None = None,
    disabled: bool | None = None,
    metric_export_interval_millis: int | None = None,
    span_store_size: int | None = None,
    otlp_json_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting (argument > environment > default) and validate it."""
    env = os.environ if environ is None else environ

    attrs: dict[str, str] = {}
    raw_attrs = env.get(OTEL_RESOURCE_ATTRIBUTES)
    if raw_attrs:
        attrs.update(_parse_key_values(OTEL_RESOURCE_ATTRIBUTES, raw_attrs))
    if resource_attributes:
        attrs.update({str(k): str(v) for k, v in resource_attributes.items()})

    name = service_name or env.get(OTEL_SERVICE_NAME, "").strip() or attrs.get("service.name") or DEFAULT_SERVICE_NAME
    version = service_version or attrs.get("service.version") or "unknown"
    instance = service_instance_id or attrs.get("service.instance.id") or str(uuid.uuid4())

    raw_endpoint, endpoint_name = _pick(endpoint, "endpoint", OTEL_EXPORTER_OTLP_ENDPOINT, env)
    checked_endpoint = _check_endpoint(endpoint_name, str(raw_endpoint)) if raw_endpoint else None

    raw_protocol, protocol_name = _pick(protocol, "protocol", OTEL_EXPORTER_OTLP_PROTOCOL, env)
    chosen_protocol = "http/protobuf" if raw_protocol is None else _check_protocol(protocol_name, raw_protocol)
    if checked_endpoint and chosen_protocol != "grpc" and _SIGNAL_PATH.search(urlsplit(checked_endpoint).path):
        raise _bad(endpoint_name, raw_endpoint,
                   "expected the base URL, e.g. 'http://127.0.0.1:4318': /v1/traces, /v1/metrics and /v1/logs are "
                   "appended to it per signal; a full URL for one signal goes in OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT")
    signals = {signal: _signal_settings(signal, checked_endpoint, endpoint is not None, chosen_protocol, env)
               for signal in SIGNALS}

    header_map: dict[str, str] = {}
    raw_headers = env.get(OTEL_EXPORTER_OTLP_HEADERS)
    if raw_headers:
        header_map.update(_parse_key_values(OTEL_EXPORTER_OTLP_HEADERS, raw_headers))
    if headers:
        header_map.update(headers)

    raw_sampler, sampler_name = _pick(sampler, "sampler", OTEL_TRACES_SAMPLER, env)
    chosen_sampler = "parentbased_always_on" if raw_sampler is None else str(raw_sampler).strip().lower()
    if chosen_sampler not in SAMPLERS:
        raise _bad(sampler_name, raw_sampler, "valid values: " + ", ".join(SAMPLERS))
    raw_ratio, ratio_name = _pick(sampler_arg, "sampler_arg", OTEL_TRACES_SAMPLER_ARG, env)
    ratio = 1.0
    if raw_ratio is not None:
        try:
            ratio = float(raw_ratio)
        except (TypeError, ValueError):
            raise _bad(ratio_name, raw_ratio, "expected a number between 0.0 and 1.0") from None
        if not 0.0 <= ratio <= 1.0:
            raise _bad(ratio_name, raw_ratio, "expected a number between 0.0 and 1.0")
        if "ratio" not in chosen_sampler:
            _logger.warning("%s = %r is ignored by the sampler %r (it samples every trace or none); a ratio needs "
                            "OTEL_TRACES_SAMPLER=parentbased_traceidratio (or traceidratio)",
                            ratio_name, raw_ratio, chosen_sampler)

    if disabled is None:
        disabled = env_flag(OTEL_SDK_DISABLED, env, error=ConfigurationError)

    interval = _int_setting(metric_export_interval_millis, "metric_export_interval_millis", OTEL_METRIC_EXPORT_INTERVAL, env, 60_000, 1,
                            86_400_000)
    if metric_export_interval_millis is None and interval < 1_000:
        _logger.warning("OTEL_METRIC_EXPORT_INTERVAL = %d is in milliseconds: metrics are exported every %d ms "
                        "(for %d seconds: %d)", interval, interval, interval, interval * 1_000)
    store = _int_setting(span_store_size, "span_store_size", env_vars.HERITAGE_OTEL_SPAN_STORE_SIZE, env, 10_000, 0,
                         100_000_000)

    json_path, _ = _pick(otlp_json_path, "otlp_json_path", ENV_OTLP_JSON_PATH, env)

    return Settings(
        service_name=name,
        service_version=version,
        service_instance_id=instance,
        resource_attributes=attrs,
        endpoint=checked_endpoint,
        protocol=chosen_protocol,
        headers=header_map,
        sampler=chosen_sampler,
        sampler_arg=ratio,
        disabled=bool(disabled),
        metric_export_interval_millis=interval,
        span_store_size=store,
        otlp_json_path=os.fspath(json_path) if json_path else None,
        signals=signals,
    )
