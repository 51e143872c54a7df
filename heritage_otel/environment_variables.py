"""Every ``HERITAGE_OTEL_*`` environment variable heritage-otel reads, declared once.

Like the OpenTelemetry SDK's ``environment_variables`` module, each name is
a constant here; unlike it, each is also registered with its type, default
and meaning (:data:`REGISTRY`), from which the command line's help
(``heritage-otel env``) and the table of docs/configuration.md are generated
(``tests/test_environment_variables.py`` checks the doc is current).

Read them with :func:`get`, which also accepts a variable's old names: the
alert sinks' ``HERITAGE_ALERT_*`` and ``HERITAGE_ALERTMANAGER_URL`` still
work, with a ``DeprecationWarning`` naming the new variable.

>>> get(HERITAGE_OTEL_LOG_DIR, {"HERITAGE_OTEL_LOG_DIR": " logs "})
'logs'
>>> get(HERITAGE_OTEL_LOG_DIR, {"HERITAGE_OTEL_LOG_DIR": ""}) is None
True
>>> REGISTRY[HERITAGE_OTEL_ALERTMANAGER_URL].deprecated_names
('HERITAGE_ALERTMANAGER_URL',)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["REGISTRY", "EnvironmentVariable", "get", "markdown_table"]


@dataclass(frozen=True)
class EnvironmentVariable:
    """One environment variable: its name, value type, default, meaning, where it applies, and old names.

    ``binary`` variables are read by the Collector or Jaeger (``${env:NAME:-default}`` in their YAML
    configs), the others by this package.
    """

    name: str
    type: str
    default: str
    meaning: str
    area: str
    deprecated_names: tuple[str, ...] = ()
    secret: bool = False
    binary: bool = False


#: Every variable by name, in declaration order.
REGISTRY: dict[str, EnvironmentVariable] = {}


def _declare(
    name: str, type_: str, default: str, meaning: str, area: str, *, deprecated: tuple[str, ...] = (),
    secret: bool = False, binary: bool = False,
) -> str:
    REGISTRY[name] = EnvironmentVariable(name, type_, default, meaning, area, deprecated, secret, binary)
    return name


# --- SDK wiring: heritage_otel.configure() ---------------------------------------------------------
HERITAGE_OTEL_SPAN_STORE_SIZE: Final = _declare(
    "HERITAGE_OTEL_SPAN_STORE_SIZE", "int >= 0", "10000",
    "Finished spans kept in process for the CLI and the demo (`0` turns the store off)", "configure()")
HERITAGE_OTEL_OTLP_JSON_PATH: Final = _declare(
    "HERITAGE_OTEL_OTLP_JSON_PATH", "path", "none",
    "Also write spans to this file as OTLP JSON lines", "configure()")

# --- logs and query privacy --------------------------------------------------------------------------
HERITAGE_OTEL_CAPTURE_QUERY_TEXT: Final = _declare(
    "HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "bool", "false",
    "Export raw query text; off, a digest `sha256:<16 hex>` is exported instead", "logs")
HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES: Final = _declare(
    "HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES", "bool", "false",
    "Export exception messages (span events, status, logs) with secrets and the call's query text masked; "
    "off, a digest `<hidden sha256:<16 hex>>` is exported instead", "logs")
HERITAGE_OTEL_QUERY_HASH_SALT: Final = _declare(
    "HERITAGE_OTEL_QUERY_HASH_SALT", "str (secret)", "empty (plain SHA-256)",
    "Salt hashed before the query text (SHA-256); the Collector's `transform/query_text` reads it too, so "
    "set it for both", "logs", secret=True)
HERITAGE_OTEL_QUERY_LOG: Final = _declare(
    "HERITAGE_OTEL_QUERY_LOG", "`sampled`, `all` or `off`", "sampled",
    "Which instrumented queries get the `heritage.query` log record and span event: those whose trace is "
    "recorded plus every failed one (`sampled`), every one (`all`), none (`off`); the metrics count every query",
    "instrumentation")
HERITAGE_OTEL_LOG_DIR: Final = _declare(
    "HERITAGE_OTEL_LOG_DIR", "path", "`./logs` while `configure()` was never called (the seed's files); none after",
    "Folder of `queries.log`, `system.log` and `performance.log` (JSON lines)", "logs")

# --- auto-instrumentation targets ----------------------------------------------------------------------
HERITAGE_OTEL_RECOMMENDER_ENTRY: Final = _declare(
    "HERITAGE_OTEL_RECOMMENDER_ENTRY", "`module:Class.method` or `module:function`, comma separated for several",
    "the reference recommender's", "The `recommend(query, top_k)` method(s) to trace", "instrumentation")
HERITAGE_OTEL_RECOMMENDER_COMPONENTS: Final = _declare(
    "HERITAGE_OTEL_RECOMMENDER_COMPONENTS", "`name=module:Class.method` (or `name=module:function`), comma separated",
    "the reference recommender's", "The ranking components to trace", "instrumentation")
HERITAGE_OTEL_RECOMMENDER_ENSEMBLE: Final = _declare(
    "HERITAGE_OTEL_RECOMMENDER_ENSEMBLE", "`module:Class.method`", "the reference recommender's",
    "The merge step (empty: none)", "instrumentation")
HERITAGE_OTEL_RECOMMENDER_CHAIN: Final = _declare(
    "HERITAGE_OTEL_RECOMMENDER_CHAIN", "`module:Class.method`", "the reference recommender's",
    "The fallback chain runner (empty: none)", "instrumentation")
HERITAGE_OTEL_RECOMMENDER_CACHE: Final = _declare(
    "HERITAGE_OTEL_RECOMMENDER_CACHE", "`module:Class.method`", "the reference recommender's",
    "The cache look-up (empty: none)", "instrumentation")
HERITAGE_OTEL_RECOMMENDER_EVALUATOR: Final = _declare(
    "HERITAGE_OTEL_RECOMMENDER_EVALUATOR", "`module:Class.method` or `module:function`",
    "the reference recommender's `evaluate`; none for yours",
    "Quality scores per query, called `(recommender, query, results)`: a method of the recommender's class "
    "or a function", "instrumentation")

# --- alert sinks -------------------------------------------------------------------------------------------
HERITAGE_OTEL_ALERT_WEBHOOK_URL: Final = _declare(
    "HERITAGE_OTEL_ALERT_WEBHOOK_URL", "http(s) URL (secret)", "none",
    "Where `WebhookSink` posts alerts when no `url` is given", "alert sinks",
    deprecated=("HERITAGE_ALERT_WEBHOOK_URL",), secret=True)
HERITAGE_OTEL_ALERT_WEBHOOK_TOKEN: Final = _declare(
    "HERITAGE_OTEL_ALERT_WEBHOOK_TOKEN", "str (secret)", "none",
    "Bearer token `WebhookSink` sends when no `token` is given", "alert sinks",
    deprecated=("HERITAGE_ALERT_WEBHOOK_TOKEN",), secret=True)
HERITAGE_OTEL_ALERTMANAGER_URL: Final = _declare(
    "HERITAGE_OTEL_ALERTMANAGER_URL", "http(s) URL", "none",
    "Prometheus Alertmanager base URL of `AlertmanagerSink` when no `url` is given", "alert sinks",
    deprecated=("HERITAGE_ALERTMANAGER_URL",))

# --- programs: the Analyzer service, traces, stack ------------------------------------------------------------
HERITAGE_OTEL_ANALYZER_TOKEN: Final = _declare(
    "HERITAGE_OTEL_ANALYZER_TOKEN", "str (secret)", "none (no authentication)",
    "Bearer token the Analyzer service requires on every route; the Collector's `otlp_http/analyzer` "
    "exporter sends it", "analyzer service", secret=True)
HERITAGE_OTEL_JAEGER_URL: Final = _declare(
    "HERITAGE_OTEL_JAEGER_URL", "http(s) URL", "the stack's Jaeger, else `http://127.0.0.1:16686`",
    "Jaeger query/UI base URL for `heritage-otel traces` and the Analyzer's trace links", "cli")
HERITAGE_OTEL_STATE_DIR: Final = _declare(
    "HERITAGE_OTEL_STATE_DIR", "path", "`./.state/stack`",
    "Folder of the local stack's pid files, logs and queues", "cli")
HERITAGE_OTEL_HOME: Final = _declare(
    "HERITAGE_OTEL_HOME", "path", "the checkout this package runs from",
    "Repository with `collector/`, `jaeger/` and `bin/` for `heritage-otel stack`", "cli")


# --- read by the binaries: ${env:NAME:-default} in collector/*.yaml and jaeger/*.yaml --------------------------
# `heritage-otel stack up` sets the ports; tests/test_environment_variables.py checks every name and default
# against the YAML files.
def _binary(name: str, default: str, used_by: str, meaning: str) -> str:
    return _declare(name, "`${env}` in the YAML", default, meaning, used_by, binary=True)


def _tls(prefix: str, used_by: str, peer: str) -> tuple[str, str, str, str]:
    """The four TLS variables of one hop (``<prefix>TLS_INSECURE``, ``_CA_FILE``, ``_CERT_FILE``, ``_KEY_FILE``)."""
    return (
        _binary(f"{prefix}TLS_INSECURE", "true", used_by,
                f"Plaintext to {peer} while no CA file is given (ignored once `{prefix}TLS_CA_FILE` is set)"),
        _binary(f"{prefix}TLS_CA_FILE", "", used_by, f"CA the certificate of {peer} is verified against: TLS on"),
        _binary(f"{prefix}TLS_CERT_FILE", "", used_by, f"Client certificate sent to {peer} (mutual TLS)"),
        _binary(f"{prefix}TLS_KEY_FILE", "", used_by, "Key of the client certificate"),
    )


HERITAGE_OTEL_COLLECTOR_OTLP_GRPC_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_OTLP_GRPC_ENDPOINT", "127.0.0.1:4317", "agent, gateway", "OTLP/gRPC listener")
HERITAGE_OTEL_COLLECTOR_OTLP_HTTP_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_OTLP_HTTP_ENDPOINT", "127.0.0.1:4318", "agent, gateway", "OTLP/HTTP listener")
HERITAGE_OTEL_COLLECTOR_HEALTH_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_HEALTH_ENDPOINT", "127.0.0.1:13133", "agent, gateway", "`health_check` (`GET /`)")
HERITAGE_OTEL_COLLECTOR_METRICS_HOST: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_METRICS_HOST", "127.0.0.1", "agent, gateway",
    "The Collector's own metrics (Prometheus `/metrics`) (host)")
HERITAGE_OTEL_COLLECTOR_METRICS_PORT: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_METRICS_PORT", "8888", "agent, gateway",
    "The Collector's own metrics (Prometheus `/metrics`) (port)")
HERITAGE_OTEL_COLLECTOR_STORAGE_DIR: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_STORAGE_DIR", "./.state/stack/collector-queue", "agent",
    "Persistent sending queue (`file_storage`) of the Jaeger exporter")
HERITAGE_OTEL_COLLECTOR_MEMORY_LIMIT_MIB: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_MEMORY_LIMIT_MIB", "512", "agent, gateway",
    "`memory_limiter` (refuses data beyond it) (limit)")
HERITAGE_OTEL_COLLECTOR_MEMORY_SPIKE_MIB: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_MEMORY_SPIKE_MIB", "128", "agent, gateway",
    "`memory_limiter` (refuses data beyond it) (spike allowance)")
HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT", "1s", "agent, gateway", "`batch` flush period")
HERITAGE_OTEL_COLLECTOR_LOG_LEVEL: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_LOG_LEVEL", "info", "agent, gateway", "Collector log level")
HERITAGE_OTEL_COLLECTOR_DEBUG_VERBOSITY: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_DEBUG_VERBOSITY", "basic", "agent, gateway",
    "`debug` exporter (metrics, logs): `basic`, `normal`, `detailed`")
HERITAGE_OTEL_SAMPLING_PERCENTAGE: Final = _binary(
    "HERITAGE_OTEL_SAMPLING_PERCENTAGE", "10", "agent", "Probabilistic share of healthy traces kept")
HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS: Final = _binary(
    "HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS", "500", "agent", "Traces at least this long are kept")
HERITAGE_OTEL_SAMPLING_DECISION_WAIT: Final = _binary(
    "HERITAGE_OTEL_SAMPLING_DECISION_WAIT", "10s", "agent", "Longest wait for a trace's spans")
HERITAGE_OTEL_SAMPLING_DECISION_WAIT_AFTER_ROOT: Final = _binary(
    "HERITAGE_OTEL_SAMPLING_DECISION_WAIT_AFTER_ROOT", "2s", "agent", "Decide this long after the root span")
HERITAGE_OTEL_SAMPLING_EXPECTED_TRACES_PER_SEC: Final = _binary(
    "HERITAGE_OTEL_SAMPLING_EXPECTED_TRACES_PER_SEC", "100", "agent",
    "Traces per second one agent is sized for (tail sampling's `expected_new_traces_per_sec`)")
HERITAGE_OTEL_SAMPLING_NUM_TRACES: Final = _binary(
    "HERITAGE_OTEL_SAMPLING_NUM_TRACES", "5000", "agent",
    "Traces held while deciding, and each decision cache (5 decision waits of the expected traffic)")
HERITAGE_OTEL_SAMPLING_MAX_SPANS_PER_SEC: Final = _binary(
    "HERITAGE_OTEL_SAMPLING_MAX_SPANS_PER_SEC", "200", "agent",
    "Cap on the spans kept per second (25 % of 100 traces/s of 8 spans): errors 40 %, fallbacks 30 %, "
    "slow 20 %, baseline 10 %")
HERITAGE_OTEL_COLLECTOR_DEBUG_EXPORTER: Final = _binary(
    "HERITAGE_OTEL_COLLECTOR_DEBUG_EXPORTER", "nop", "agent, gateway",
    "Second exporter of the metrics and logs pipelines: `debug` prints what they forward, `nop` (off)")
HERITAGE_OTEL_JAEGER_TLS_INSECURE, HERITAGE_OTEL_JAEGER_TLS_CA_FILE, HERITAGE_OTEL_JAEGER_TLS_CERT_FILE, \
    HERITAGE_OTEL_JAEGER_TLS_KEY_FILE = _tls("HERITAGE_OTEL_JAEGER_", "agent", "Jaeger")
HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT", "127.0.0.1:14317", "agent, Jaeger",
    "Where the agent sends traces; Jaeger's OTLP/gRPC listener")
HERITAGE_OTEL_JAEGER_RETRY_MAX_ELAPSED: Final = _binary(
    "HERITAGE_OTEL_JAEGER_RETRY_MAX_ELAPSED", "0s", "agent", "Retry limit of the Jaeger exporter (`0s`: no limit)")
HERITAGE_OTEL_SPANMETRICS_FLUSH_INTERVAL: Final = _binary(
    "HERITAGE_OTEL_SPANMETRICS_FLUSH_INTERVAL", "15s", "agent", "`span_metrics` connector flush period")
HERITAGE_OTEL_ANALYZER_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_ANALYZER_ENDPOINT", "http://127.0.0.1:4328", "agent, gateway", "The Analyzer service (metrics)")
HERITAGE_OTEL_ENVIRONMENT: Final = _binary(
    "HERITAGE_OTEL_ENVIRONMENT", "local", "agent", "`deployment.environment.name` when absent")
HERITAGE_OTEL_GATEWAY_BACKENDS: Final = _binary(
    "HERITAGE_OTEL_GATEWAY_BACKENDS", "[127.0.0.1:5317, 127.0.0.1:5417]", "gateway",
    "The sampling Collectors behind the load-balancing exporter")
HERITAGE_OTEL_GATEWAY_ANALYZER_SHARDS: Final = _binary(
    "HERITAGE_OTEL_GATEWAY_ANALYZER_SHARDS", "[127.0.0.1:6317, 127.0.0.1:6417]", "gateway",
    "The shard Collectors in front of the Analyzer shards (metrics and logs routed by service)")
HERITAGE_OTEL_GATEWAY_TLS_INSECURE, HERITAGE_OTEL_GATEWAY_TLS_CA_FILE, HERITAGE_OTEL_GATEWAY_TLS_CERT_FILE, \
    HERITAGE_OTEL_GATEWAY_TLS_KEY_FILE = _tls("HERITAGE_OTEL_GATEWAY_", "gateway", "the sampling and shard Collectors")
HERITAGE_OTEL_JAEGER_OTLP_HTTP_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_JAEGER_OTLP_HTTP_ENDPOINT", "127.0.0.1:14318", "Jaeger", "OTLP/HTTP listener")
HERITAGE_OTEL_JAEGER_QUERY_HTTP_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_JAEGER_QUERY_HTTP_ENDPOINT", "127.0.0.1:16686", "Jaeger", "Query HTTP API (and UI page)")
HERITAGE_OTEL_JAEGER_QUERY_GRPC_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_JAEGER_QUERY_GRPC_ENDPOINT", "127.0.0.1:16685", "Jaeger", "Query gRPC API")
HERITAGE_OTEL_JAEGER_HEALTH_ENDPOINT: Final = _binary(
    "HERITAGE_OTEL_JAEGER_HEALTH_ENDPOINT", "127.0.0.1:13134", "Jaeger", "`healthcheckv2` (`GET /status`)")
HERITAGE_OTEL_JAEGER_METRICS_HOST: Final = _binary(
    "HERITAGE_OTEL_JAEGER_METRICS_HOST", "127.0.0.1", "Jaeger", "Jaeger's own metrics (host)")
HERITAGE_OTEL_JAEGER_METRICS_PORT: Final = _binary(
    "HERITAGE_OTEL_JAEGER_METRICS_PORT", "14269", "Jaeger", "Jaeger's own metrics (port)")
HERITAGE_OTEL_JAEGER_LOG_LEVEL: Final = _binary(
    "HERITAGE_OTEL_JAEGER_LOG_LEVEL", "info", "Jaeger", "Log level")
HERITAGE_OTEL_JAEGER_MAX_TRACES: Final = _binary(
    "HERITAGE_OTEL_JAEGER_MAX_TRACES", "100000", "Jaeger (memory)", "Memory store bound")
HERITAGE_OTEL_JAEGER_BADGER_DIR: Final = _binary(
    "HERITAGE_OTEL_JAEGER_BADGER_DIR", "./.state/stack/jaeger-badger", "Jaeger (Badger)",
    "Badger `keys/` and `values/`")
HERITAGE_OTEL_JAEGER_BADGER_TTL: Final = _binary(
    "HERITAGE_OTEL_JAEGER_BADGER_TTL", "72h", "Jaeger (Badger)", "Span retention")


def get(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of a declared variable (stripped; ``None`` when unset or empty), else of one of its old
    names (with a ``DeprecationWarning``)."""
    env = os.environ if environ is None else environ
    variable = REGISTRY[name]
    value = env.get(name, "").strip()
    if value:
        return value
    for old in variable.deprecated_names:
        value = env.get(old, "").strip()
        if value:
            warnings.warn(f"{old} is deprecated; set {name} instead", DeprecationWarning, stacklevel=2)
            return value
    return None


def markdown_table(binary: bool = False) -> str:
    """The Markdown table of docs/configuration.md: the package's variables, or (``binary=True``) the
    Collector's and Jaeger's."""
    if binary:
        rows = ["| Variable | Default | Used by | Meaning |", "| --- | --- | --- | --- |"]
        rows += [f"| `{v.name}` | `{v.default}` | {v.area} | {v.meaning} |" for v in REGISTRY.values() if v.binary]
        return "\n".join(rows) + "\n"
    rows = ["| Environment variable | Type | Default | Applies to | Meaning |", "| --- | --- | --- | --- | --- |"]
    for v in REGISTRY.values():
        if v.binary:
            continue
        old = ""
        if v.deprecated_names:
            old = " (deprecated old name: " + ", ".join(f"`{n}`" for n in v.deprecated_names) + ")"
        rows.append(f"| `{v.name}`{old} | {v.type} | {v.default} | {v.area} | {v.meaning} |")
    return "\n".join(rows) + "\n"
