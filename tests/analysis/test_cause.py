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


# --- exemplars the Collector's tail sampler keeps (collector/config.yaml: errors, fallbacks, slow) ---------------

def _ids(*names: str) -> tuple[str, ...]:
    """Distinct 32-hex trace ids, one per name (the name's letters repeated)."""
    return tuple((name * 32)[:32] for name in names)


def _span(i: int) -> str:
    return f"{i:016x}"


def _histogram(key: SeriesKey, at: int, exemplars: list[tuple[str, float]], bounds=(0.01, 0.1, 0.5, 1.0),
               counts=(0, 0, 0, 0, 0)) -> IntervalSample:
    counts = counts if sum(counts) else (0, len(exemplars), 0, 0, 0)
    return IntervalSample.from_histogram(
        key, start_ns=(at - 1) * 10**9, end_ns=at * 10**9, bounds=bounds, bucket_counts=counts,
        total=sum(v for _, v in exemplars), unit="s",
        exemplars=tuple((t, _span(i), v) for i, (t, v) in enumerate(exemplars)))


def _counter(key: SeriesKey, at: int, count: float, traces: tuple[str, ...]) -> IntervalSample:
    return IntervalSample(key, KIND_SUM, (at - 1) * 10**9, at * 10**9, count, count,
                          exemplar_trace_ids=traces, exemplar_span_ids=tuple(_span(i) for i in range(len(traces))),
                          exemplar_values=(1.0,) * len(traces))


def _failing_simrank(severity: str | None, *, fallbacks: bool, fast_ok: str) -> Analyzer:
    """simrank failing in the last 5 of 20 intervals (its errors of ``severity``; degraded fallbacks too when
    ``fallbacks``); in the last interval the failed calls carry exemplars F1 F2, the error counter E1, the
    fallback counter B1, simrank's successful (fast) calls ``fast_ok``."""
    analyzer = Analyzer(interval_seconds=1.0)
    queries = _key(semconv.METRIC_QUERIES)
    attrs = {semconv.COMPONENT: "primary_simrank", semconv.ERROR_TYPE: "RankerError"}
    errors = _key(semconv.METRIC_ERRORS, attrs | ({semconv.ERROR_SEVERITY_NAME: severity} if severity else {}))
    degraded = _key(semconv.METRIC_FALLBACKS, {semconv.FALLBACK_STRATEGY: "fallback_horn",
                                               semconv.FALLBACK_DEGRADED: "true"})
    rows = {queries: [100.0] * 19, errors: [0.0] * 15 + [70.0] * 4}
    if fallbacks:
        rows[degraded] = [0.0] * 15 + [70.0] * 4
    _feed(analyzer, rows)
    f1, f2, e1, b1 = _ids("1", "2", "e", "b")
    failed = _key(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: "simrank", semconv.SUCCESS: "false"})
    ok = _key(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: "simrank", semconv.SUCCESS: "true"})
    batch = [_counter(queries, 20, 100.0, ()), _counter(errors, 20, 70.0, (e1,)),
             _histogram(failed, 20, [(f1, 0.004), (f2, 0.002)]), _histogram(ok, 20, [(fast_ok, 0.003)])]
    if fallbacks:
        batch.append(_counter(degraded, 20, 70.0, (b1,)))
    analyzer.ingest(batch)
    return analyzer


def test_an_error_cause_picks_the_failed_calls_and_errors_whose_spans_have_status_error() -> None:
    """HIGH-severity errors (status ERROR: kept by the `errors` policy): the failed calls' traces, slowest
    exemplar first, then the error counter's; never simrank's successful calls."""
    fast_ok = _ids("0")[0]
    analyzer = _failing_simrank("high", fallbacks=False, fast_ok=fast_ok)
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"errors"}, slow_ms=500)
    assert (cause.kind, cause.component) == ("errors", "simrank")
    assert cause.trace_ids == _ids("1", "2", "e")
    assert fast_ok not in cause.trace_ids
    # no severity given: any exception that is not a HeritageError is HIGH, so the same traces
    unnamed = probable_cause(_failing_simrank(None, fallbacks=False, fast_ok=fast_ok), service="rec",
                             instance=None, since=15.5, signals={"errors"}, slow_ms=500)
    assert unnamed.trace_ids == _ids("1", "2", "e")


def test_low_severity_errors_answered_by_a_fallback_pick_the_fallback_traces_not_the_error_counters() -> None:
    """A MEDIUM error has no ERROR status, so its counter's exemplar may be dropped by tail sampling; the failed
    calls a fallback answered and the degraded fallbacks' exemplars are kept (the `fallbacks` policy)."""
    analyzer = _failing_simrank("medium", fallbacks=True, fast_ok=_ids("0")[0])
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"errors", "fallbacks"},
                           slow_ms=500)
    assert (cause.kind, cause.fallback_strategy) == ("errors", "fallback_horn")
    assert cause.trace_ids == _ids("1", "2", "b")
    assert _ids("e")[0] not in cause.trace_ids


def test_without_any_kept_exemplar_the_cause_still_names_its_own() -> None:
    """MEDIUM errors and no fallback: no exemplar is known to be kept; the cause's own are given."""
    analyzer = _failing_simrank("medium", fallbacks=False, fast_ok=_ids("0")[0])
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"errors"}, slow_ms=500)
    assert cause.trace_ids == _ids("1", "2", "e")


def test_a_fallback_cause_picks_the_degraded_fallbacks_exemplars() -> None:
    """Only degraded fallbacks rose: their exemplars, not those of the primary strategy's series."""
    analyzer = Analyzer(interval_seconds=1.0)
    queries = _key(semconv.METRIC_QUERIES)
    degraded = _key(semconv.METRIC_FALLBACKS, {semconv.FALLBACK_STRATEGY: "fallback_horn",
                                               semconv.FALLBACK_DEGRADED: "true"})
    primary = _key(semconv.METRIC_FALLBACKS, {semconv.FALLBACK_STRATEGY: "primary_simrank",
                                              semconv.FALLBACK_DEGRADED: "false"})
    _feed(analyzer, {queries: [100.0] * 19, degraded: [0.0] * 15 + [40.0] * 4, primary: [100.0] * 15 + [60.0] * 4})
    analyzer.ingest([_counter(queries, 20, 100.0, ()), _counter(degraded, 20, 40.0, _ids("b", "c")),
                     _counter(primary, 20, 60.0, _ids("p"))])
    cause = probable_cause(analyzer, service="rec", instance=None, since=15.5, signals={"fallbacks"}, slow_ms=500)
    assert (cause.kind, cause.fallback_strategy) == ("fallbacks", "fallback_horn")
    assert cause.trace_ids == _ids("b", "c")


def _slow_embedding() -> Analyzer:
    """embedding's p95 rises from 2 to 700 ms; in the last interval its successful calls carry exemplars
    S1 (0.9 s), S2 (0.6 s), Q (0.05 s), and one whole query of 0.8 s carries W."""
    analyzer = Analyzer(interval_seconds=1.0)
    p95 = _key("component_latency_p95", {semconv.COMPONENT: "embedding"})
    _feed(analyzer, {p95: [2.0] * 15 + [700.0] * 4})
    calls = _key(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: "embedding", semconv.SUCCESS: "true"})
    query = _key(semconv.METRIC_QUERY_DURATION, {semconv.SUCCESS: "true"})
    s1, s2, q, w = _ids("5", "6", "f", "9")
    analyzer.ingest([
        _histogram(calls, 20, [(q, 0.05), (s2, 0.6), (s1, 0.9)], counts=(0, 18, 0, 2, 0)),
        _histogram(query, 20, [(w, 0.8)], counts=(0, 0, 0, 1, 0)),
    ])
    return analyzer


def test_a_latency_cause_picks_only_calls_above_the_collectors_slow_threshold() -> None:
    """The slow calls at or above the threshold (kept by the `slow` policy), slowest first, then the slow whole
    queries; the fast call's trace (tail sampling keeps it only by chance) is left out."""
    cause = probable_cause(_slow_embedding(), service="rec", instance=None, since=15.5,
                           signals={"component_latency"}, slow_ms=500)
    assert (cause.kind, cause.component) == ("latency", "embedding")
    assert cause.trace_ids == _ids("5", "6", "9")


def test_the_slow_threshold_is_the_collectors_setting(monkeypatch) -> None:
    """HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS (the Collector's `slow` policy) moves the cut; above every
    exemplar, the slowest calls are given as before (none is known to be kept)."""
    monkeypatch.setenv("HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS", "700")
    cause = probable_cause(_slow_embedding(), service="rec", instance=None, since=15.5, signals={"component_latency"})
    assert cause.trace_ids == _ids("5", "9")
    monkeypatch.setenv("HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS", "5000")
    cause = probable_cause(_slow_embedding(), service="rec", instance=None, since=15.5, signals={"component_latency"})
    assert cause.trace_ids[:3] == _ids("5", "6", "f")
