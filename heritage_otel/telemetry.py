"""``configure()``: one call that builds the OpenTelemetry SDK pipeline.

Arguments win over ``OTEL_*`` environment variables, which win over
defaults (see :mod:`heritage_otel.settings`). With no OTLP endpoint the
*embedded default* applies: nothing connects anywhere, finished spans are
kept in a bounded in-process :class:`~heritage_otel.exporters.SpanStore`,
and, if asked, written to a local OTLP-JSON file.

>>> import heritage_otel
>>> telemetry = heritage_otel.configure(service_name="doc-example")
>>> from opentelemetry import trace
>>> with trace.get_tracer("doc").start_as_current_span("work"):
...     pass
>>> [span.name for span in telemetry.span_store.spans()]
['work']
>>> telemetry.shutdown(); telemetry.shutdown()  # idempotent

Calling ``configure()`` again shuts the previous pipeline down (its batch
threads stop) and points the global providers at the new one: providers
never stack. While a test capture holds the global providers (the
``telemetry`` fixture, :func:`heritage_otel.testing.capture_telemetry`),
``configure()`` still checks its settings but builds nothing: it returns the
capture's pipeline, so what the code under test records is captured, and
its ``shutdown()`` only flushes.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from opentelemetry._logs import LoggerProvider as APILoggerProvider
from opentelemetry._logs import NoOpLoggerProvider
from opentelemetry.metrics import MeterProvider as APIMeterProvider
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    ExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import NoOpTracerProvider
from opentelemetry.trace import TracerProvider as APITracerProvider

from heritage_otel import semconv
from heritage_otel._internal import delegating
from heritage_otel.exporters.otlp_json import OtlpJsonFileSpanExporter
from heritage_otel.exporters.span_store import SpanStore
from heritage_otel.settings import ConfigurationError, Settings, resolve_settings

__all__ = ["BATCH_SPAN_DEFAULTS", "Telemetry", "batch_span_processor", "configure", "current", "resource_for"]

_logger = logging.getLogger(__name__)
_lock = threading.RLock()
_active: Telemetry | None = None
_held: Telemetry | None = None  # a test capture's pipeline, which configure() does not replace


class Telemetry:
    """Owns one SDK pipeline: tracer, meter and logger providers and their exporters.

    ``force_flush()`` and ``shutdown()`` may be called any number of times.
    When the SDK is disabled (``OTEL_SDK_DISABLED=true``) the providers are the
    API's no-op ones and every method still works.
    """

    def __init__(
        self,
        settings: Settings,
        resource: Resource,
        tracer_provider: APITracerProvider,
        meter_provider: APIMeterProvider,
        logger_provider: APILoggerProvider,
        span_store: SpanStore | None,
    ) -> None:
        self.settings = settings
        self.resource = resource
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.logger_provider = logger_provider
        self.span_store = span_store
        self._shutdown = False
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when telemetry is disabled (no-op providers)."""
        return not self.settings.disabled

    @property
    def is_shutdown(self) -> bool:
        return self._shutdown

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything buffered; True when every provider flushed in time."""
        if self._shutdown or not self.enabled:
            return True
        ok = True
        providers: tuple[Any, ...] = (self.tracer_provider, self.logger_provider, self.meter_provider)  # SDK ones
        for provider in providers:
            try:
                ok = bool(provider.force_flush(timeout_millis)) and ok
            except Exception:  # noqa: BLE001 - flushing never raises into the app
                _logger.exception("force_flush failed for %s", type(provider).__name__)
                ok = False
        return ok

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Flush and stop every provider (and their threads); idempotent."""
        global _active
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        with _lock:
            if _active is self:
                _active = None
                delegating.switch(None, None, None)
        if not self.enabled:
            return
        providers: tuple[Any, ...] = (self.tracer_provider, self.logger_provider, self.meter_provider)  # SDK ones
        for provider in providers:
            try:
                if isinstance(provider, MeterProvider):
                    provider.shutdown(timeout_millis=timeout_millis)
                else:
                    provider.shutdown()
            except Exception:  # noqa: BLE001 - telemetry never breaks the caller
                _logger.exception("shutdown failed for %s", type(provider).__name__)

    def __enter__(self) -> Telemetry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "shutdown" if self._shutdown else ("disabled" if not self.enabled else "active")
        target = self.settings.endpoint or "embedded"
        return f"<Telemetry {self.settings.service_name!r} {state} -> {target}>"


def _sampler(settings: Settings) -> sampling.Sampler:
    ratio = settings.sampler_arg
    samplers: dict[str, Callable[[], sampling.Sampler]] = {
        "always_on": lambda: sampling.ALWAYS_ON,
        "always_off": lambda: sampling.ALWAYS_OFF,
        "traceidratio": lambda: sampling.TraceIdRatioBased(ratio),
        "parentbased_always_on": lambda: sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": lambda: sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": lambda: sampling.ParentBased(sampling.TraceIdRatioBased(ratio)),
    }
    return samplers[settings.sampler]()


def _otlp_exporter(signal: str, url: str, protocol: str, headers: dict[str, str]) -> Any:
    """The OTLP exporter of one signal for ``url`` (used as given) and ``protocol``."""
    if protocol == "grpc":
        try:  # the grpc extra
            if signal == "traces":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
            elif signal == "metrics":
                from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcExporter  # type: ignore[assignment]  # one class per signal
            else:
                from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter  # type: ignore[assignment]  # one class per signal
        except ImportError:
            msg = ("OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc' needs the grpc extra (pip install 'heritage-otel[grpc]'); "
                   "valid without it: 'http/protobuf'")
            raise ConfigurationError(msg) from None
        return GrpcExporter(endpoint=url, insecure=url.startswith("http://"), headers=headers)
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
    elif signal == "metrics":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter  # type: ignore[assignment]  # one class per signal
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter  # type: ignore[assignment]  # one class per signal
    return HttpExporter(endpoint=url, headers=headers)


def _console_exporter(signal: str) -> Any:
    if signal == "traces":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if signal == "metrics":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter

    return ConsoleLogRecordExporter()


def _signal_exporters(settings: Settings, signal: str) -> list[Any]:
    """The exporters ``OTEL_{SIGNAL}_EXPORTER`` asks for (``otlp`` only when the signal has an endpoint)."""
    chosen = settings.signals[signal]
    exporters: list[Any] = []
    for name in chosen.exporters:
        if name == "console":
            exporters.append(_console_exporter(signal))
        elif name == "otlp" and chosen.endpoint is not None:
            exporters.append(_otlp_exporter(signal, chosen.endpoint, chosen.protocol, dict(settings.headers)))
    return exporters


#: The BatchSpanProcessor settings ``configure()`` uses where the ``OTEL_BSP_*`` variable is unset (the SDK's own
#: defaults: queue 2048, delay 5000 ms, batch 512, lose spans from about 10,000 spans/s on a quiet 2-core host, and
#: from 6,800/s on a loaded one: a 2048-span queue fills in a tenth of a second whenever the export thread waits
#: for the GIL). With these, no span was lost at any rate one process reached (docs/performance.md, section 2).
BATCH_SPAN_DEFAULTS: Final = {
    "OTEL_BSP_MAX_QUEUE_SIZE": 16384,  # about 25 MB of spans at most; absorbs 0.8 s of 20,000 spans/s
    "OTEL_BSP_SCHEDULE_DELAY": 500,  # ms: exports start before the queue fills, and spans reach Jaeger sooner
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": 2048,  # fewer, larger OTLP requests per span
}


def batch_span_processor(exporter: SpanExporter, *, meter_provider: APIMeterProvider | None = None) -> BatchSpanProcessor:
    """The BatchSpanProcessor of ``configure()``: :data:`BATCH_SPAN_DEFAULTS` unless ``OTEL_BSP_*`` say otherwise
    (``OTEL_BSP_EXPORT_TIMEOUT`` and the others the SDK reads itself).

    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    >>> batch_span_processor(InMemorySpanExporter())._batch_processor._max_queue_size
    16384
    """
    chosen = {name: None if os.environ.get(name, "").strip() else value for name, value in BATCH_SPAN_DEFAULTS.items()}
    return BatchSpanProcessor(
        exporter,
        max_queue_size=chosen["OTEL_BSP_MAX_QUEUE_SIZE"],
        schedule_delay_millis=chosen["OTEL_BSP_SCHEDULE_DELAY"],
        max_export_batch_size=chosen["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"],
        meter_provider=meter_provider,
    )


class _HashedOnce(Resource):
    """A Resource whose hash is computed once: the SDK's hashes its attributes as JSON on every call, and the OTLP
    encoder hashes the resource of every span it encodes (18 % of the encoding time of a small span)."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


_EXEMPLAR_FILTERS: Final[dict[str, Callable[[], ExemplarFilter]]] = {"trace_based": TraceBasedExemplarFilter, "always_on": AlwaysOnExemplarFilter,
                             "always_off": AlwaysOffExemplarFilter}


def _exemplar_filter() -> Any:
    """``OTEL_METRICS_EXEMPLAR_FILTER`` (default ``trace_based``: exemplars only from recorded traces)."""
    name = "OTEL_METRICS_EXEMPLAR_FILTER"
    value = os.environ.get(name, "").strip() or "trace_based"
    if value.lower() not in _EXEMPLAR_FILTERS:
        msg = f"{name} = {value!r} is not valid; valid: {', '.join(map(repr, _EXEMPLAR_FILTERS))}"
        raise ConfigurationError(msg)
    return _EXEMPLAR_FILTERS[value.lower()]()


def resource_for(settings: Settings) -> Resource:
    """The SDK Resource of resolved settings (service name, version, instance id, resource attributes)."""
    attributes: dict[str, Any] = dict(settings.resource_attributes)
    attributes[semconv.SERVICE_NAME] = settings.service_name
    attributes[semconv.SERVICE_VERSION] = settings.service_version
    attributes[semconv.SERVICE_INSTANCE_ID] = settings.service_instance_id
    # where the instance runs, so an incident on a replica names a host and a process, not only a UUID
    attributes.setdefault(semconv.HOST_NAME, socket.gethostname())
    attributes.setdefault(semconv.PROCESS_PID, os.getpid())
    # Resource() rather than Resource.create(): the settings already merged the
    # environment, and create() would let OTEL_SERVICE_NAME override arguments.
    return _HashedOnce(Resource.get_empty().merge(Resource(attributes)))


def configure(
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
    span_exporters: Sequence[SpanExporter] = (),
    metric_readers: Sequence[MetricReader] = (),
    log_exporters: Sequence[LogRecordExporter] = (),
    simple_processors: bool = False,
    metric_export_interval_millis: int | None = None,
    span_store_size: int | None = None,
    otlp_json_path: str | os.PathLike[str] | None = None,
    set_global: bool = True,
) -> Telemetry:
    """Build the SDK pipeline and return its :class:`Telemetry` handle.

    ``span_exporters``, ``metric_readers`` and ``log_exporters`` are added
    beside the ones the settings ask for: per signal, ``OTEL_{SIGNAL}_EXPORTER``
    (``otlp``, ``console``, ``none``) and, for ``otlp``, the signal's endpoint
    (``OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT``, used as given, else
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/{signal}``; none: embedded default).
    ``simple_processors=True`` exports spans and logs synchronously (tests).
    ``span_store_size=0`` turns the in-process span store off.
    With ``set_global`` (the default) the OpenTelemetry global providers
    reach this pipeline, and a previous ``configure()`` pipeline is shut down.
    Raises :class:`~heritage_otel.settings.ConfigurationError` for bad values.
    """
    settings = resolve_settings(
        service_name=service_name,
        service_version=service_version,
        service_instance_id=service_instance_id,
        resource_attributes=resource_attributes,
        endpoint=endpoint,
        protocol=protocol,
        headers=headers,
        sampler=sampler,
        sampler_arg=sampler_arg,
        disabled=disabled,
        metric_export_interval_millis=metric_export_interval_millis,
        span_store_size=span_store_size,
        otlp_json_path=otlp_json_path,
    )
    resource = resource_for(settings)
    held = _held
    if set_global and held is not None and not held.is_shutdown:
        _logger.info("configure(): a telemetry capture holds the global providers; returning its pipeline")
        return _CapturedTelemetry(settings, held)

    if settings.disabled:
        telemetry = Telemetry(
            settings, resource, NoOpTracerProvider(), NoOpMeterProvider(), NoOpLoggerProvider(), None
        )
        return _activate(telemetry, set_global)

    json_exporter = OtlpJsonFileSpanExporter(settings.otlp_json_path) if settings.otlp_json_path else None

    span_store = SpanStore(settings.span_store_size) if settings.span_store_size > 0 else None
    tracer_provider = TracerProvider(resource=resource, sampler=_sampler(settings), shutdown_on_exit=False)
    if span_store is not None:
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_store))
    exporters: list[SpanExporter] = list(span_exporters)
    if json_exporter is not None:
        exporters.append(json_exporter)
    exporters += _signal_exporters(settings, "traces")
    for exporter in exporters:
        processor = SimpleSpanProcessor(exporter) if simple_processors else batch_span_processor(exporter)
        tracer_provider.add_span_processor(processor)

    readers: list[MetricReader] = list(metric_readers)
    readers += [PeriodicExportingMetricReader(exporter, export_interval_millis=settings.metric_export_interval_millis)
                for exporter in _signal_exporters(settings, "metrics")]
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=readers,
        exemplar_filter=_exemplar_filter(),
        shutdown_on_exit=False,
    )

    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    log_targets: list[LogRecordExporter] = list(log_exporters)
    log_targets += _signal_exporters(settings, "logs")
    for log_exporter in log_targets:
        log_processor = (
            SimpleLogRecordProcessor(log_exporter) if simple_processors else BatchLogRecordProcessor(log_exporter)
        )
        logger_provider.add_log_record_processor(log_processor)

    telemetry = Telemetry(settings, resource, tracer_provider, meter_provider, logger_provider, span_store)
    return _activate(telemetry, set_global)


def _activate(telemetry: Telemetry, set_global: bool) -> Telemetry:
    global _active
    if not set_global:
        return telemetry
    with _lock:
        previous = _active
        if not delegating.install_globals():
            _logger.warning(
                "a global TracerProvider was already set by someone else; heritage-otel's pipeline "
                "is reachable through Telemetry.tracer_provider/meter_provider/logger_provider only"
            )
        delegating.switch(telemetry.tracer_provider, telemetry.meter_provider, telemetry.logger_provider)
        _active = telemetry
    if previous is not None:
        previous.shutdown()
    return telemetry


class _CapturedTelemetry(Telemetry):
    """What ``configure()`` returns while a test capture holds the globals: the capture's providers under the
    caller's settings. ``shutdown()`` flushes them and leaves them running (the capture shuts them down)."""

    def __init__(self, settings: Settings, capture: Telemetry) -> None:
        super().__init__(settings, capture.resource, capture.tracer_provider, capture.meter_provider,
                         capture.logger_provider, capture.span_store)
        self._capture = capture

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        self._capture.force_flush(timeout_millis)


    @property
    def enabled(self) -> bool:
        return self._capture.enabled

    @property
    def is_shutdown(self) -> bool:
        return self._shutdown or self._capture.is_shutdown


def hold_globals(telemetry: Telemetry | None) -> None:
    """Make ``telemetry`` (a test capture's pipeline) the one ``configure()`` returns instead of replacing it;
    None: no capture holds them. Used by :mod:`heritage_otel.testing`."""
    global _held
    with _lock:
        _held = telemetry


def release_globals(telemetry: Telemetry) -> None:
    """Release the globals if ``telemetry`` holds them."""
    global _held
    with _lock:
        if _held is telemetry:
            _held = None


def current() -> Telemetry | None:
    """The pipeline the global providers reach now, if ``configure()`` built one."""
    return _active


@atexit.register
def _shutdown_at_exit() -> None:
    active = _active
    if active is not None:
        active.shutdown(timeout_millis=5_000)
