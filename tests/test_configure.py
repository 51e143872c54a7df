"""configure(): settings precedence, embedded default, lifecycle, bad values, globals."""

from __future__ import annotations

import json
import threading

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import heritage_otel
from heritage_otel import ConfigurationError, configure
from heritage_otel.instruments import instruments_for


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in (
        "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SDK_DISABLED",
        "OTEL_METRIC_EXPORT_INTERVAL", "HERITAGE_OTEL_OTLP_JSON_PATH",
        *(f"OTEL_{s}_EXPORTER" for s in ("TRACES", "METRICS", "LOGS")),
        *(f"OTEL_EXPORTER_OTLP_{s}_{k}" for s in ("TRACES", "METRICS", "LOGS") for k in ("ENDPOINT", "PROTOCOL")),
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pipeline():
    made = []

    def make(**kwargs):
        telemetry = configure(**kwargs)
        made.append(telemetry)
        return telemetry

    yield make
    for telemetry in made:
        telemetry.shutdown()


def _threads(prefix: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive())


def test_resource_has_service_name_version_and_instance(pipeline):
    """The Resource carries service.name, service.version and service.instance.id."""
    attrs = pipeline(service_name="rec", service_version="1.2.3").resource.attributes
    assert attrs["service.name"] == "rec" and attrs["service.version"] == "1.2.3"
    assert len(attrs["service.instance.id"]) >= 8


def test_environment_is_honoured(pipeline, monkeypatch):
    """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES apply when no argument is given."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,service.version=9")
    attrs = pipeline().resource.attributes
    assert attrs["service.name"] == "from-env"
    assert attrs["deployment.environment"] == "staging" and attrs["service.version"] == "9"


def test_arguments_win_over_environment(pipeline, monkeypatch):
    """An argument beats the environment variable for the same setting."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    telemetry = pipeline(service_name="from-arg", sampler="always_on")
    assert telemetry.resource.attributes["service.name"] == "from-arg"
    assert telemetry.settings.sampler == "always_on"


def test_embedded_default_keeps_spans_in_process(pipeline):
    """With no endpoint, spans land in the bounded in-process store and nothing connects."""
    telemetry = pipeline(span_store_size=3)
    assert telemetry.settings.embedded
    tracer = trace.get_tracer("t")
    for i in range(5):
        tracer.start_span(f"s{i}").end()
    assert [s.name for s in telemetry.span_store.spans()] == ["s2", "s3", "s4"]
    assert telemetry.span_store.dropped == 2


def test_embedded_default_writes_otlp_json(pipeline, tmp_path):
    """otlp_json_path writes OTLP JSON lines with hex ids and the resource."""
    path = tmp_path / "spans.jsonl"
    telemetry = pipeline(otlp_json_path=path, service_name="json-svc")
    with trace.get_tracer("t").start_as_current_span("root") as root:
        trace.get_tracer("t").start_span("child").end()
    telemetry.force_flush()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    spans = [s for line in lines for rs in line["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert {s["name"] for s in spans} == {"root", "child"}
    assert {s["traceId"] for s in spans} == {format(root.get_span_context().trace_id, "032x")}
    resource = lines[0]["resourceSpans"][0]["resource"]["attributes"]
    assert {"key": "service.name", "value": {"stringValue": "json-svc"}} in resource


def test_sampler_ratio_from_environment(pipeline, monkeypatch):
    """OTEL_TRACES_SAMPLER/_ARG choose the sampler: ratio 0 records nothing."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    telemetry = pipeline()
    trace.get_tracer("t").start_span("dropped").end()
    assert telemetry.span_store.spans() == ()


def test_sdk_disabled_gives_no_op_providers(pipeline, monkeypatch):
    """OTEL_SDK_DISABLED=true: everything still works, nothing is recorded."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    telemetry = pipeline()
    assert not telemetry.enabled and telemetry.span_store is None
    with trace.get_tracer("t").start_as_current_span("x") as span:
        assert not span.is_recording()
    instruments_for().queries.add(1)
    assert telemetry.force_flush() is True
    telemetry.shutdown()


def test_force_flush_and_shutdown_are_idempotent(pipeline):
    """Both may be called repeatedly, before and after each other."""
    telemetry = pipeline()
    assert telemetry.force_flush() and telemetry.force_flush()
    telemetry.shutdown()
    telemetry.shutdown()
    assert telemetry.is_shutdown and telemetry.force_flush() is True


def test_configure_twice_replaces_the_pipeline(pipeline):
    """The second configure() shuts the first down; globals reach only the new one."""
    first_exporter, second_exporter = InMemorySpanExporter(), InMemorySpanExporter()
    first = pipeline(span_exporters=[first_exporter], simple_processors=True)
    tracer = trace.get_tracer("taken-before-reconfigure")
    second = pipeline(span_exporters=[second_exporter], simple_processors=True)
    tracer.start_span("after").end()
    assert first.is_shutdown and not second.is_shutdown
    assert [s.name for s in second_exporter.get_finished_spans()] == ["after"]
    assert first_exporter.get_finished_spans() == ()
    assert heritage_otel.current() is second


def test_configure_repeatedly_leaks_no_threads(pipeline):
    """Ten configure() calls leave at most one pipeline's batch threads alive."""
    exporter = InMemorySpanExporter()
    pipeline(span_exporters=[exporter])
    baseline = threading.active_count()
    for _ in range(10):
        pipeline(span_exporters=[InMemorySpanExporter()])
    assert threading.active_count() <= baseline


def test_instruments_follow_reconfiguration(pipeline):
    """Instruments created once keep recording into whichever pipeline is active."""
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    counter = instruments_for(metrics.get_meter_provider()).queries
    first_reader, second_reader = InMemoryMetricReader(), InMemoryMetricReader()
    pipeline(metric_readers=[first_reader])
    counter.add(1)
    pipeline(metric_readers=[second_reader])
    counter.add(5)
    points = [
        p.value
        for rm in second_reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "heritage.queries"
        for p in m.data.data_points
    ]
    assert points == [5]


def test_shutdown_of_active_pipeline_returns_globals_to_no_op(pipeline):
    """After shutdown, global tracers produce non-recording spans."""
    pipeline().shutdown()
    with trace.get_tracer("t").start_as_current_span("x") as span:
        assert not span.is_recording()


@pytest.mark.parametrize(
    ("kwargs", "setting", "valid"),
    [
        ({"protocol": "http/xml"}, "protocol", "'grpc', 'http/protobuf'"),
        ({"endpoint": "localhost:4317"}, "endpoint", "http:// or https:// URL"),
        ({"endpoint": "http://127.0.0.1:99999"}, "endpoint", "http:// or https:// URL"),
        ({"metric_export_interval_millis": -5}, "metric_export_interval_millis", "integer >= 1"),
        ({"sampler": "sometimes"}, "sampler", "traceidratio"),
        ({"sampler": "traceidratio", "sampler_arg": 1.5}, "sampler_arg", "between 0.0 and 1.0"),
        ({"span_store_size": -1}, "span_store_size", "integer >= 0"),
    ],
)
def test_bad_arguments_fail_at_start_up(kwargs, setting, valid):
    """A bad value names the setting, the value and what is valid."""
    with pytest.raises(ConfigurationError) as caught:
        configure(**kwargs)
    message = str(caught.value)
    assert message.startswith(setting) and valid in message
    assert repr(next(iter(kwargs.values())))[:8] in message or "sampler_arg" in setting


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector:21"),
        ("OTEL_SDK_DISABLED", "maybe"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "-1"),
        ("OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign"),
    ],
)
def test_bad_environment_fails_at_start_up(monkeypatch, variable, value):
    """A bad OTEL_* variable fails fast, naming the variable and the value."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=f"^{variable} = {value!r}"):
        configure()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_otlp_endpoint_builds_exporters_without_connecting(pipeline, protocol, monkeypatch):
    """With an endpoint, OTLP exporters are built for the protocol; an unreachable one never raises."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")  # seconds; keeps the failing retries short
    telemetry = pipeline(endpoint="http://127.0.0.1:9", protocol=protocol, metric_export_interval_millis=60_000)
    with trace.get_tracer("t").start_as_current_span("x"):
        pass
    assert not telemetry.settings.embedded and telemetry.settings.protocol == protocol
    telemetry.force_flush(timeout_millis=500)  # may be False (nothing listens); must not raise


def test_an_exporter_that_raises_does_not_reach_the_caller(pipeline):
    """A broken span exporter is contained by the SDK; application code continues."""

    class Exploding(InMemorySpanExporter):
        def export(self, spans):
            raise RuntimeError("exporter bug")

    telemetry = pipeline(span_exporters=[Exploding()], simple_processors=True)
    with trace.get_tracer("t").start_as_current_span("x"):
        pass
    assert telemetry.span_store.spans()[0].name == "x"
    assert SpanExportResult.SUCCESS  # the caller got here: nothing propagated


def test_metrics_straight_to_the_analyzer_with_per_signal_variables(pipeline, monkeypatch):
    """OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (used as given) sends metrics to a real Analyzer service;
    OTEL_TRACES_EXPORTER=none and OTEL_LOGS_EXPORTER=none send nothing else there."""
    import requests

    from heritage_otel import semconv
    from heritage_otel.instruments import instruments_for, record_query
    from tests.service.payloads import running_server

    with running_server() as server:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"{server.url}/v1/metrics")
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
        telemetry = pipeline(service_name="direct-to-analyzer", metric_export_interval_millis=60_000)
        signals = telemetry.settings.signals
        assert signals["metrics"].endpoint == f"{server.url}/v1/metrics"
        assert signals["traces"].exporters == () and signals["logs"].exporters == ()
        assert not telemetry.settings.embedded
        for _ in range(7):
            record_query(instruments_for(), 0.05, num_results=3)
        assert telemetry.force_flush(10_000)
        found = requests.get(server.url + "/api/series", params={"metric": semconv.METRIC_QUERIES}, timeout=5).json()
        assert found["series"], found


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
         {"traces": "http://127.0.0.1:4318/v1/traces", "metrics": "http://127.0.0.1:4318/v1/metrics"}),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
         {"traces": "http://127.0.0.1:4317", "logs": "http://127.0.0.1:4317"}),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
          "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:14318/custom/traces"},
         {"traces": "http://127.0.0.1:14318/custom/traces", "logs": "http://127.0.0.1:4318/v1/logs"}),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
         {"traces": "http://127.0.0.1:4317", "metrics": None}),
    ],
)
def test_per_signal_endpoints_resolve_as_the_sdk_does(env, expected):
    """A signal's own endpoint is used as given and wins over the general one (+ /v1/{signal} for HTTP)."""
    from heritage_otel.settings import resolve_settings

    settings = resolve_settings(environ=env)
    assert {k: settings.signals[k].endpoint for k in expected} == expected


@pytest.mark.parametrize(
    ("env", "needle"),
    [({"OTEL_METRICS_EXPORTER": "prometheus"}, "OTEL_METRICS_EXPORTER = 'prometheus' is not valid"),
     ({"OTEL_TRACES_EXPORTER": "none,otlp"}, "OTEL_TRACES_EXPORTER = 'none,otlp' is not valid"),
     ({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "127.0.0.1:4318"}, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = '127.0.0.1:4318'"),
     ({"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "thrift"}, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = 'thrift'")],
)
def test_bad_per_signal_values_fail_at_start_up(env, needle, monkeypatch):
    """configure() fails fast naming the variable, the value and what is valid."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError, match=needle):
        configure()


def test_console_exporter_per_signal(pipeline, monkeypatch, capfd):
    """OTEL_TRACES_EXPORTER=console prints finished spans (the embedded store keeps them too)."""
    from opentelemetry import trace

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    telemetry = pipeline(simple_processors=True)
    with trace.get_tracer("t").start_as_current_span("printed-span"):
        pass
    assert '"name": "printed-span"' in capfd.readouterr().out
    assert [s.name for s in telemetry.span_store.spans()] == ["printed-span"]


def _batch_settings(tel: heritage_otel.Telemetry) -> tuple[int, float, int]:
    (processor,) = [p for p in tel.tracer_provider._active_span_processor._span_processors  # noqa: SLF001 - the test reads the SDK pipeline configure() built
                    if type(p).__name__ == "BatchSpanProcessor"]
    batch = processor._batch_processor  # noqa: SLF001 - the SDK keeps its settings there
    return batch._max_queue_size, batch._schedule_delay, batch._max_export_batch_size  # noqa: SLF001 - the test reads the SDK pipeline configure() built


def test_the_batch_span_processor_takes_the_throughput_defaults_unless_otel_bsp_says_otherwise(monkeypatch) -> None:
    """Queue 16384, 0.5 s, batches of 2048 (docs/performance.md section 2); an OTEL_BSP_* variable set wins."""
    tel = configure(service_name="bsp", span_exporters=[InMemorySpanExporter()], span_store_size=0, set_global=False)
    assert _batch_settings(tel) == (16384, 0.5, 2048)
    tel.shutdown()
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "4096")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "1000")
    tel = configure(service_name="bsp", span_exporters=[InMemorySpanExporter()], span_store_size=0, set_global=False)
    assert _batch_settings(tel) == (4096, 1.0, 2048)
    tel.shutdown()


def test_the_resource_hashes_as_the_sdks_and_once() -> None:
    """configure()'s resource equals and hashes as the SDK's Resource of the same attributes, computed once."""
    from opentelemetry.sdk.resources import Resource

    tel = configure(service_name="hashed", span_store_size=0, set_global=False)
    plain = Resource(dict(tel.resource.attributes), tel.resource.schema_url)
    assert tel.resource == plain and hash(tel.resource) == hash(plain)
    assert {tel.resource: 1}[plain] == 1
    tel.shutdown()


def test_otel_metrics_exemplar_filter_is_honoured_and_checked(monkeypatch) -> None:
    """always_off: histograms carry no exemplar (one setting to drop them); a bad value fails naming it."""
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")
    reader = InMemoryMetricReader()
    tel = configure(service_name="ex", metric_readers=[reader], span_store_size=0, set_global=False)
    with tel.tracer_provider.get_tracer("t").start_as_current_span("sampled"):
        instruments_for(tel.meter_provider).query_duration.record(0.1)
    (point,) = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    assert point.count == 1 and not point.exemplars
    tel.shutdown()
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes")
    with pytest.raises(ConfigurationError, match="OTEL_METRICS_EXEMPLAR_FILTER = 'sometimes' is not valid"):
        configure(service_name="ex", set_global=False)
