"""AnalyzingMetricExporter: real SDK pipeline, DELTA temporality, downstream pass-through, never raising,
and the end-to-end path from a planted latency spike to an alert with an exemplar trace, then resolution."""

from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, TraceBasedExemplarFilter, UpDownCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heritage_otel import semconv
from heritage_otel.analysis import AlertLevel, AlertManager, Analyzer, AnalyzingMetricExporter
from heritage_otel.instruments import instruments_for


class _RecordingExporter(MetricExporter):
    """A downstream exporter that keeps what it receives (identity and content)."""

    def __init__(self, temporality=None, fail: bool = False) -> None:
        super().__init__(preferred_temporality=temporality)
        self.received = []
        self.fail = fail

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
        if self.fail:
            raise RuntimeError("downstream is down")
        self.received.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        pass


def _provider(exporter, interval_ms=60_000, exemplars=False, resource=None):
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=interval_ms)
    kwargs = {"exemplar_filter": TraceBasedExemplarFilter()} if exemplars else {}
    return MeterProvider(metric_readers=[reader], resource=resource or Resource.create({"service.name": "test"}),
                         **kwargs)


def test_prefers_delta_except_for_up_down_counters() -> None:
    """Without a downstream exporter counters and histograms are DELTA; up-down counters CUMULATIVE, so the
    Analyzer sees their level after every export, not its change (the SDK's ``delta`` preference)."""
    exporter = AnalyzingMetricExporter(Analyzer())
    assert exporter._preferred_temporality[Counter] == AggregationTemporality.DELTA
    assert exporter._preferred_temporality[UpDownCounter] == AggregationTemporality.CUMULATIVE
    assert exporter._preferred_temporality[Histogram] == AggregationTemporality.DELTA
    provider = _provider(exporter)
    in_flight = provider.get_meter("t").create_up_down_counter("queue.length")
    in_flight.add(40)
    provider.force_flush()
    in_flight.add(2)
    provider.force_flush()
    (sample,) = exporter.last_samples
    assert sample.value == 42.0
    provider.shutdown()


def test_one_sample_per_series_per_interval() -> None:
    """Two exports give two interval deltas per series, not running totals."""
    exporter = AnalyzingMetricExporter(Analyzer())
    provider = _provider(exporter)
    inst = instruments_for(provider)
    inst.queries.add(5)
    inst.query_duration.record(0.2)
    provider.force_flush()
    first = {s.series.metric: s for s in exporter.last_samples}
    inst.queries.add(2)
    provider.force_flush()
    second = {s.series.metric: s for s in exporter.last_samples}
    provider.shutdown()
    assert first[semconv.METRIC_QUERIES].count == 5
    assert first[semconv.METRIC_QUERY_DURATION].count == 1
    assert second[semconv.METRIC_QUERIES].count == 2
    assert semconv.METRIC_QUERY_DURATION not in second  # nothing recorded in the second interval
    assert dict(first[semconv.METRIC_QUERIES].series.resource)["service.name"] == "test"


def test_downstream_receives_exactly_what_it_would_have() -> None:
    """The downstream gets the same MetricsData object, in its own (cumulative) temporality."""
    cumulative = {Counter: AggregationTemporality.CUMULATIVE, Histogram: AggregationTemporality.CUMULATIVE}
    downstream = _RecordingExporter(cumulative)
    exporter = AnalyzingMetricExporter(Analyzer(), downstream=downstream)
    assert exporter._preferred_temporality == downstream._preferred_temporality
    provider = _provider(exporter)
    inst = instruments_for(provider)
    inst.queries.add(5)
    provider.force_flush()
    inst.queries.add(2)
    provider.force_flush()
    analysed = exporter.last_samples[0].count
    provider.shutdown()
    sums = [m.data for rm in downstream.received[1].resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    assert sums[0].aggregation_temporality == AggregationTemporality.CUMULATIVE
    assert sums[0].data_points[0].value == 7  # downstream sees the running total
    assert analysed == 2  # the analysis sees the interval delta


def test_never_raises_when_analysis_or_downstream_fails() -> None:
    """A failing analyzer or downstream yields FAILURE, never an exception into the SDK."""

    class Broken(Analyzer):
        def ingest(self, samples):
            raise RuntimeError("boom")

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instruments_for(provider).queries.add(1)
    data = reader.get_metrics_data()
    assert AnalyzingMetricExporter(Broken()).export(data) is MetricExportResult.FAILURE
    failing = AnalyzingMetricExporter(Analyzer(), downstream=_RecordingExporter(fail=True))
    assert failing.export(data) is MetricExportResult.FAILURE
    assert AnalyzingMetricExporter(Analyzer()).export(data) is MetricExportResult.SUCCESS


def _wait_for(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_latency_spike_becomes_critical_alert_with_exemplar_trace_then_resolves() -> None:
    """Real instruments -> PeriodicExportingMetricReader (50 ms) -> exporter -> Analyzer -> AlertManager."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = tracer_provider.get_tracer("test")

    received = []
    manager = AlertManager(cooldown_s=900, jaeger_url="http://127.0.0.1:16686")
    manager.add_sink(received.append)
    analyzer = Analyzer(interval_seconds=0.05, window_points=60, stale_after_intervals=1e6,
                        anomaly_detectors=("zscore", "mad"))
    exporter = AnalyzingMetricExporter(analyzer, manager)
    provider = _provider(exporter, interval_ms=50, exemplars=True)
    inst = instruments_for(provider)

    def serve(latency_s: float, n: int = 20) -> None:
        for _ in range(n):
            with tracer.start_as_current_span(semconv.SPAN_RECOMMEND):
                inst.query_duration.record(latency_s)
                inst.queries.add(1)

    try:
        for i in range(12):  # baseline: healthy latency, enough intervals for the anomaly baseline
            serve(0.05 + 0.005 * (i % 3))
            provider.force_flush()
        # (the 50 ms timer may split a phase: throughput can legitimately look anomalous, latency cannot)
        assert not manager.get_active_alerts(metric="query_latency_p95")
        assert not manager.get_active_alerts(metric=semconv.METRIC_QUERY_DURATION)

        # a spike that lasts (the policy's for_intervals = 2): p95 3500 ms > critical 3000 ms; four phases, since
        # the 50 ms timer may split one into two exports, one with fewer samples than the policy's min_count
        for _ in range(4):
            serve(3.5)
            provider.force_flush()
        assert _wait_for(lambda: any(a.metric == "query_latency_p95" for a in received))
        alert = manager.get_active_alerts(metric="query_latency_p95")[0]
        assert alert.level is AlertLevel.CRITICAL
        assert alert.detector == "threshold"
        assert alert.current_value == pytest.approx(3500.0)
        span_trace_ids = {format(s.context.trace_id, "032x") for s in spans.get_finished_spans()}
        assert alert.exemplar_trace_ids
        assert set(alert.exemplar_trace_ids) <= span_trace_ids
        assert alert.jaeger_links[0] == f"http://127.0.0.1:16686/trace/{alert.exemplar_trace_ids[0]}"
        # the raw histogram's z-score/MAD findings are the same signal, inhibited by the threshold
        assert manager.get_active_alerts(metric=semconv.METRIC_QUERY_DURATION) == []
        (note,) = [n for n in received if n.event == "fired" and "query_latency_p95" in [m["metric"] for m in n.members]]
        assert note.incident == note.id and note.state == "firing"
        assert [m["metric"] for m in note.members] == ["query_latency_p95"]
        assert set(note.exemplar_trace_ids) <= span_trace_ids

        def incident_resolved() -> bool:
            return any(n.event == "resolved" and n.incident == note.incident for n in received)

        # recovery: healthy traffic until the incident resolves (bounded). A throughput finding a split phase
        # adds to the same incident (related signals of one service) needs its own healthy intervals.
        for _ in range(40):
            serve(0.05)
            provider.force_flush()
            manager.flush(5.0)
            if not manager.get_active_alerts(metric="query_latency_p95") and incident_resolved():
                break
        assert not manager.get_active_alerts(metric="query_latency_p95")
        resolved = [a for a in manager.history(metric="query_latency_p95") if a.state == "resolved"]
        assert resolved and resolved[0].id == alert.id
        assert incident_resolved()
        events = [(n.event, n.incident, [m["metric"] for m in n.members]) for n in received]
        ours = [e for e in events if e[1] == note.incident]
        assert (ours[0][0], ours[-1][0]) == ("fired", "resolved"), events
        assert {e[0] for e in ours[1:-1]} <= {"updated"}, events  # only a throughput member joining
        assert {m for e in ours for m in e[2]} <= {"query_latency_p95", "throughput_qps"}, events
        # any other incident can only be the throughput a split phase shows (see the baseline's comment)
        assert {m for e in events if e[1] != note.incident for m in e[2]} <= {"throughput_qps"}, events
    finally:
        provider.shutdown()
        tracer_provider.shutdown()
        assert manager.shutdown(5.0)


def test_export_runs_with_instrumentation_suppressed() -> None:
    """The downstream export (and the analysis) run under suppress_instrumentation."""
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled

    seen = []

    class Probe(_RecordingExporter):
        def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
            seen.append(is_instrumentation_enabled())
            return super().export(metrics_data, timeout_millis, **kwargs)

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instruments_for(provider).queries.add(1)
    assert is_instrumentation_enabled()
    AnalyzingMetricExporter(Analyzer(), downstream=Probe()).export(reader.get_metrics_data())
    assert seen == [False]
    assert is_instrumentation_enabled()
