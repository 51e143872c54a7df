"""A replica of the recommender as far as telemetry goes: real SDK providers exporting OTLP/HTTP to the Analyzer.

Each :class:`Replica` has its own resource (``service.name``, ``service.instance.id``),
a MeterProvider with the OTLP/HTTP metric exporter (default CUMULATIVE
temporality, as most SDKs send), a LoggerProvider with the OTLP/HTTP log
exporter fed by :class:`heritage_otel.logs.QueryLogger`, and a TracerProvider
recording spans in memory so the query logs and exemplars carry real trace ids.
"""

from __future__ import annotations

import os
import random
import socket

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heritage_otel import semconv
from heritage_otel.instruments import instruments_for
from heritage_otel.logs import QueryLogger

COMPONENTS = ("simrank", "horn_index", "embedding")


class Replica:
    """One replica's telemetry pipeline, exporting to ``analyzer_url`` every ``export_ms``."""

    def __init__(self, analyzer_url: str, instance: str, service: str = "recommender", export_ms: int = 200,
                 seed: int = 0, trace_endpoint: str | None = None) -> None:
        self.instance = instance
        # host.name and process.pid as heritage_otel.configure() sets them
        resource = Resource.create({semconv.SERVICE_NAME: service, semconv.SERVICE_INSTANCE_ID: instance,
                                    semconv.HOST_NAME: socket.gethostname(), semconv.PROCESS_PID: os.getpid()})
        self.metric_reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{analyzer_url}/v1/metrics", timeout=10), export_interval_millis=export_ms)
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader], resource=resource)
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(
            SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{analyzer_url}/v1/logs", timeout=10)))
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        if trace_endpoint is not None:  # e.g. the Collector, which forwards to Jaeger
            self.tracer_provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{trace_endpoint}/v1/traces", timeout=10),
                                   schedule_delay_millis=200))
        self.tracer = self.tracer_provider.get_tracer("tests.replica")
        self.instruments = instruments_for(self.meter_provider)
        self.query_logger = QueryLogger(logger_provider=self.logger_provider)
        self.rng = random.Random(seed)
        self.served = 0

    def serve(self, n: int, latency_s: float, *, failing_component: str | None = None, log_queries: bool = False) -> None:
        """Record ``n`` queries of about ``latency_s`` seconds each (inside real spans)."""
        inst = self.instruments
        for _ in range(n):
            self.served += 1
            with self.tracer.start_as_current_span(semconv.SPAN_RECOMMEND):
                latency = latency_s * self.rng.uniform(0.9, 1.1)
                inst.query_duration.record(latency)
                inst.queries.add(1)
                inst.results.record(10)
                inst.ndcg_at_10.record(self.rng.uniform(0.7, 0.8))
                for component in COMPONENTS:
                    inst.component_duration.record(latency / 3, {semconv.COMPONENT: component})
                    if component == failing_component:
                        inst.errors.add(1, {semconv.COMPONENT: component, semconv.ERROR_SEVERITY_NAME: "HIGH"})
                if log_queries:
                    self.query_logger.log_query(
                        f"{self.instance}-q{self.served}", "heritage query text", [{"doc_id": i} for i in range(10)],
                        latency * 1000.0, list(COMPONENTS))

    def trace_ids(self) -> set[str]:
        """Trace ids of every finished span (hex)."""
        return {format(s.context.trace_id, "032x") for s in self.spans.get_finished_spans()}

    def flush(self) -> None:
        self.meter_provider.force_flush(10_000)
        self.logger_provider.force_flush(10_000)
        self.tracer_provider.force_flush(10_000)

    def shutdown(self) -> None:
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()
        self.tracer_provider.shutdown()
