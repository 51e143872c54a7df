"""Probable cause from the Analyzer's windows: errors, fallbacks, latency, quality, traffic, per scope."""

from __future__ import annotations

import numpy as np

from heritage_otel import semconv
from heritage_otel.analysis import Analyzer
from heritage_otel.analysis.cause import probable_cause
from heritage_otel.analysis.samples import KIND_SUM, IntervalSample, SeriesKey

SVC = ((semconv.SERVICE_NAME, "rec"),)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _key(metric: str, attributes: dict | None = None, instance: str | None = None) -> SeriesKey:
    resource = SVC if instance is None else ((semconv.SERVICE_INSTANCE_ID, instance), *SVC)
    return SeriesKey(metric, SeriesKey.of(metric, attributes).attributes, tuple(sorted(resource)))


def _feed(analyzer: Analyzer, rows: dict[SeriesKey, list[float]]) -> None:
    n = len(next(iter(rows.values())))
    for t in range(n):
        keys = list(rows)
        analyzer.ingest_values(keys, np.array([rows[k][t] for k in keys]), float(t + 1))


def test_errors_and_fallbacks_name_component_error_type_and_strategy_with_traces() -> None:
    """A strategy's errors are mapped to the component that fails (its failed calls); shares are of queries;
    the exemplar traces of the error series are the cause's traces."""
    analyzer = Analyzer(interval_seconds=1.0)
    queries = _key(semconv.METRIC_QUERIES)
    errors = _key(semconv.METRIC_ERRORS, {semconv.COMPONENT: "primary_simrank", semconv.ERROR_TYPE: "HighSeverityError"})
    fallbacks = _key(semconv.METRIC_FALLBACKS, {semconv.FALLBACK_STRATEGY: "fallback_horn",
                                                semconv.FALLBACK_DEGRADED: "true"})
    ok = _key(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: "simrank", semconv.SUCCESS: "true"})
    _feed(analyzer, {queries: [100.0] * 19, errors: [0.0] * 15 + [76.0] * 4, fallbacks: [0.0] * 15 + [76.0] * 4,
                     ok: [0.001] * 19})
    analyzer.ingest_values([queries, fallbacks, ok], np.array([100.0, 76.0, 0.001]), 20.0)
    failed = IntervalSample.from_histogram(
        _key(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: "simrank", semconv.SUCCESS: "false"}),
        start_ns=19 * 10**9, end_ns=20 * 10**9, bounds=(0.01,), bucket_counts=(76, 0), total=0.1, minimum=0.001,
        maximum=0.002, unit="s")
    analyzer.ingest([failed])
    analyzer.ingest([IntervalSample(errors, KIND_SUM, 19 * 10**9, 20 * 10**9, 76.0, 76.0,
                                    exemplar_trace_ids=(TRACE,), exemplar_span_ids=("00f067aa0ba902b7",),
                                    exemplar_values=(1.0,))])
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"fallbacks", "errors"})
    assert (cause.kind, cause.component, cause.error_type, cause.fallback_strategy) == (
        "errors", "simrank", "HighSeverityError", "fallback_horn")
    assert cause.summary == "simrank raising HighSeverityError in 76 % of queries; fallback_horn serving them"
    assert cause.trace_ids == (TRACE,)


def test_latency_names_the_component_that_slowed_on_the_replica() -> None:
    """With a latency signal, the component whose p95 rose past its effect size; per replica when asked."""
    analyzer = Analyzer(interval_seconds=1.0, resource_label_keys=(semconv.SERVICE_NAME, semconv.SERVICE_INSTANCE_ID))
    slow = _key("component_latency_p95", {semconv.COMPONENT: "embedding"}, instance="r1")
    steady = _key("component_latency_p95", {semconv.COMPONENT: "simrank"}, instance="r1")
    other = _key("component_latency_p95", {semconv.COMPONENT: "simrank"}, instance="r0")
    _feed(analyzer, {slow: [2.0] * 15 + [62.0] * 5, steady: [5.0] * 15 + [8.0] * 5, other: [5.0] * 15 + [90.0] * 5})
    cause = probable_cause(analyzer, service="rec", instance="r1", since=15.5, signals={"component_latency"})
    assert (cause.kind, cause.component, cause.instance) == ("latency", "embedding", "r1")
    assert cause.summary == "replica r1: latency up in embedding (p95 2 -> 62 ms)"
    assert probable_cause(analyzer, service="rec", instance="r1", since=15.5, signals={"errors"}).kind == "unknown"


def test_quality_and_traffic() -> None:
    """Quality down without errors or latency is a shift in what is asked; throughput down is traffic."""
    analyzer = Analyzer(interval_seconds=1.0)
    ndcg, qps = _key("ndcg_at_10"), _key("throughput_qps")
    _feed(analyzer, {ndcg: [0.8] * 15 + [0.5] * 5, qps: [40.0] * 15 + [8.0] * 5})
    quality = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"ndcg_at_10"})
    traffic = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"throughput"})
    assert (quality.kind, quality.summary.split(" (")[0]) == ("quality", "ndcg_at_10 down")
    assert (traffic.kind, traffic.summary) == ("traffic", "traffic down 80 % (40 -> 8 queries/s)")


def test_traffic_change_with_a_slower_component_is_an_effect_of_that_component() -> None:
    """Callers that wait for each answer send fewer queries to a slower service: with only the throughput
    signal in the incident, the cause is the component whose p95 rose (with the slowest spans' traces), and
    the traffic drop is listed after it as an effect."""
    analyzer = Analyzer(interval_seconds=1.0)
    qps, vector, other = (_key("throughput_qps"), _key("component_latency_p95", {semconv.COMPONENT: "vector"}),
                          _key("component_latency_p95", {semconv.COMPONENT: "ranker"}))
    _feed(analyzer, {qps: [47.0] * 15 + [17.2] * 5, vector: [1.0] * 15 + [62.0] * 5, other: [4.0] * 20})
    slow_trace, fast_trace = "a" * 32, "b" * 32
    duration = _key(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: "vector", semconv.SUCCESS: "true"})
    analyzer.ingest([IntervalSample.from_histogram(
        duration, start_ns=20 * 10**9, end_ns=21 * 10**9, bounds=(0.01, 0.1), bucket_counts=(3, 14, 0), total=0.9,
        unit="s", exemplars=((fast_trace, "00f067aa0ba902b7", 0.001), (slow_trace, "00f067aa0ba902b8", 0.063)))])
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"throughput"})
    assert (cause.kind, cause.component) == ("latency", "vector")
    assert cause.summary == ("latency up in vector (p95 1 -> 62 ms); "
                             "traffic down 63 % (47 -> 17.2 queries/s) as an effect")
    assert cause.trace_ids[0] == slow_trace
    assert [(e["kind"], e.get("role")) for e in cause.evidence] == [("latency", None), ("traffic", "effect")]


def test_traffic_up_with_nothing_else_moving_is_the_cause() -> None:
    """Traffic that rose while no component, error or fallback moved: traffic is the cause, either way."""
    analyzer = Analyzer(interval_seconds=1.0)
    qps, vector = _key("throughput_qps"), _key("component_latency_p95", {semconv.COMPONENT: "vector"})
    _feed(analyzer, {qps: [20.0] * 15 + [50.0] * 5, vector: [1.0] * 20})
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"throughput"})
    assert (cause.kind, cause.component, cause.summary) == ("traffic", None, "traffic up 150 % (20 -> 50 queries/s)")


def test_errors_explain_a_traffic_change() -> None:
    """A failing component with the traffic change: the errors are the cause, the traffic an effect."""
    analyzer = Analyzer(interval_seconds=1.0)
    queries, qps = _key(semconv.METRIC_QUERIES), _key("throughput_qps")
    errors = _key(semconv.METRIC_ERRORS, {semconv.COMPONENT: "simrank", semconv.ERROR_TYPE: "TimeoutError"})
    _feed(analyzer, {queries: [100.0] * 20, qps: [100.0] * 15 + [60.0] * 5, errors: [0.0] * 15 + [50.0] * 5})
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"throughput"})
    assert (cause.kind, cause.component) == ("errors", "simrank")
    assert cause.summary.endswith("; traffic down 40 % (100 -> 60 queries/s) as an effect")


def test_a_failing_and_a_slower_component_are_both_named() -> None:
    """Two faults at once (simrank failing, embedding slower) with only the errors signal in the incident: the
    cause is the errors, and the slower component is named after them."""
    analyzer = Analyzer(interval_seconds=1.0)
    queries = _key(semconv.METRIC_QUERIES)
    errors = _key(semconv.METRIC_ERRORS, {semconv.COMPONENT: "simrank", semconv.ERROR_TYPE: "HighSeverityError"})
    embedding = _key("component_latency_p95", {semconv.COMPONENT: "embedding"})
    _feed(analyzer, {queries: [100.0] * 20, errors: [0.0] * 15 + [60.0] * 5, embedding: [1.0] * 15 + [65.0] * 5})
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"errors"})
    assert (cause.kind, cause.component) == ("errors", "simrank")
    assert cause.summary == ("simrank raising HighSeverityError in 60 % of queries; "
                             "latency up in embedding (p95 1 -> 65 ms)")
