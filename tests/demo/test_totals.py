"""MetricTotals: a phase's quality is what the cumulative histograms gained during it."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from heritage_otel import semconv
from heritage_otel.demo.totals import MetricTotals


def test_phase_quality_is_the_increment_since_the_previous_call() -> None:
    """Two phases with different scores and latencies each report their own means, over attributes."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("t")
    ndcg = meter.create_histogram(semconv.METRIC_NDCG_AT_10)
    latency = meter.create_histogram(semconv.METRIC_QUERY_DURATION, unit="s")
    totals = MetricTotals(reader)
    for value in (0.8, 0.9):
        ndcg.record(value, {"shard": "a"})
    latency.record(0.2)
    first = totals.phase_quality()
    for value in (0.1, 0.3):
        ndcg.record(value, {"shard": "b" if value < 0.2 else "a"})
    latency.record(0.4)
    latency.record(0.6)
    second = totals.phase_quality()
    provider.shutdown()
    assert first["ndcg_at_10"] == pytest.approx(0.85) and first["latency_mean_ms"] == pytest.approx(200.0)
    assert second["ndcg_at_10"] == pytest.approx(0.2) and second["latency_mean_ms"] == pytest.approx(500.0)
    assert totals.phase_quality() == {}
