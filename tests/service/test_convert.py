"""OTLP metric points -> interval samples: temporality, resets, histogram kinds, rejections, batching."""

from __future__ import annotations

import math
import time

import pytest

from heritage_otel import semconv
from heritage_otel.analysis.samples import KIND_GAUGE, KIND_HISTOGRAM, KIND_SUM
from heritage_otel.service.convert import MetricConverter
from tests.service.payloads import CUMULATIVE, add_histogram, add_sum, metrics_request, resource

T0 = (time.time_ns() // 10**9) * 10**9  # the converter "starts" now (points must lie near its clock)


@pytest.fixture(autouse=True)
def _converter_starts_now() -> None:
    """T0 is taken again for each test: payloads stamped with the real clock must lie within the converter's
    plausible time window around T0, also when this module runs minutes after it was collected."""
    global T0  # noqa: PLW0603 - the tests below read the module's T0
    T0 = (time.time_ns() // 10**9) * 10**9


def _converter(max_series: int = 100) -> MetricConverter:
    return MetricConverter(max_series, clock=lambda: T0)


def _samples(conv: MetricConverter, req) -> list:
    return [s for batch in conv.convert(req).batches for s in batch]


def test_cumulative_histogram_is_differenced_bucket_by_bucket():
    """Two cumulative histogram points become one interval of bucket differences (min/max unknown)."""
    conv = _converter()
    out = []
    for counts, total, t in (((1, 2, 0), 0.5, T0 + 10**9), ((3, 7, 1), 2.5, T0 + 2 * 10**9)):
        req, sm = metrics_request()
        add_histogram(sm, semconv.METRIC_QUERY_DURATION, (0.1, 1.0), counts, total, temporality=CUMULATIVE, time_ns=t)
        sm.metrics[0].histogram.data_points[0].start_time_unix_nano = T0 - 10**9  # started before us
        out.extend(_samples(conv, req))
    [s] = out  # the first point is only a baseline: its series started before the converter
    assert (s.kind, s.bucket_counts, s.sum, s.count) == (KIND_HISTOGRAM, (2, 5, 1), 2.0, 8.0)
    assert math.isnan(s.minimum) and s.start_ns == T0 + 10**9


def test_cumulative_reset_starts_over_from_the_new_start_time():
    """A cumulative sum that restarts (new start time, smaller value) yields its new value as the delta."""
    conv = _converter()
    values = []
    for value, start, t in ((5, T0 + 1, T0 + 10**9), (9, T0 + 1, T0 + 2 * 10**9), (2, T0 + 3 * 10**9, T0 + 4 * 10**9)):
        req, sm = metrics_request()
        add_sum(sm, semconv.METRIC_QUERIES, value, temporality=CUMULATIVE, start_ns=start, time_ns=t)
        values += [s.count for s in _samples(conv, req)]
    assert values == [5.0, 4.0, 2.0]


def test_non_monotonic_cumulative_sum_is_a_gauge():
    """An up-down counter (cumulative, non-monotonic) is analysed by its level."""
    req, sm = metrics_request()
    add_sum(sm, "queue.depth", 17, temporality=CUMULATIVE, monotonic=False)
    [s] = _samples(_converter(), req)
    assert (s.kind, s.gauge_value) == (KIND_GAUGE, 17.0)


def test_exponential_histogram_becomes_explicit_buckets():
    """Positive buckets of an exponential histogram map to bounds base**i; zero and negative counts go first."""
    req, sm = metrics_request()
    m = sm.metrics.add()
    m.name = "latency.exp"
    m.unit = "s"
    m.exponential_histogram.aggregation_temporality = 1
    p = m.exponential_histogram.data_points.add()
    p.time_unix_nano = T0
    p.start_time_unix_nano = T0 - 10**9
    p.scale = 0  # base 2
    p.positive.offset = 1  # buckets (2, 4], (4, 8]
    p.positive.bucket_counts.extend([3, 1])
    p.zero_count = 1
    p.count, p.sum = 5, 15.0
    [s] = _samples(_converter(), req)
    assert s.bounds == (2.0, 4.0, 8.0)
    assert s.bucket_counts == (1, 3, 1, 0)
    assert s.count == 5.0


def test_odd_points_are_rejected_and_counted():
    """Unspecified temporality, bucket counts not matching the bounds and summaries are rejected with reasons."""
    req, sm = metrics_request()
    add_sum(sm, semconv.METRIC_QUERIES, 1, temporality=0)
    add_histogram(sm, semconv.METRIC_QUERY_DURATION, (0.1, 1.0), (1, 2), 1.0)  # 2 counts for 2 bounds
    sm.metrics.add(name="s").summary.data_points.add()
    result = _converter().convert(req)
    assert (result.accepted, result.rejected) == (0, 3)
    message = result.message()
    assert "temporality unspecified" in message and "explicit_bounds" in message and "summary" in message


def test_points_without_recorded_value_are_skipped():
    """A point flagged NO_RECORDED_VALUE is neither a sample nor a rejection."""
    req, sm = metrics_request()
    add_sum(sm, semconv.METRIC_QUERIES, 1)
    sm.metrics[0].sum.data_points[0].flags = 1
    result = _converter().convert(req)
    assert (result.accepted, result.rejected, result.batches) == (0, 0, [])


def test_batches_are_one_per_replica_export_in_time_order():
    """Samples are grouped per (replica, time) so each export is ingested as one batch, oldest first."""
    req, sm = metrics_request(resource("svc", "b"))
    add_sum(sm, semconv.METRIC_QUERIES, 1, time_ns=T0 + 2 * 10**9)
    add_sum(sm, semconv.METRIC_ERRORS, 1, time_ns=T0 + 2 * 10**9)
    rm = req.resource_metrics.add()
    kv = rm.resource.attributes.add()
    kv.key, kv.value.string_value = semconv.SERVICE_NAME, "svc"
    add_sum(rm.scope_metrics.add(), semconv.METRIC_QUERIES, 1, time_ns=T0 + 10**9)
    batches = _converter().convert(req).batches
    assert [[s.series.metric for s in b] for b in batches] == [[semconv.METRIC_QUERIES],
                                                               [semconv.METRIC_QUERIES, semconv.METRIC_ERRORS]]
    assert batches[0][0].series.resource == ((semconv.SERVICE_NAME, "svc"),)


def test_series_cap_counts_dropped_points():
    """Beyond max_series, points of new series are rejected and counted; known series still pass."""
    conv = _converter(max_series=2)
    req, sm = metrics_request()
    for user in ("a", "b", "c", "a"):
        add_sum(sm, "m", 1, attributes={"user": user})
    result = conv.convert(req)
    assert (result.accepted, result.rejected, conv.series_count, conv.dropped_series_points) == (3, 1, 2, 1)


def test_delta_sum_keeps_its_interval():
    """A DELTA sum's start and end times are the sample's interval."""
    req, sm = metrics_request()
    add_sum(sm, "m", 4, start_ns=T0, time_ns=T0 + 5 * 10**9)
    [s] = _samples(_converter(), req)
    assert (s.kind, s.interval_s, s.rate_per_s) == (KIND_SUM, 5.0, 0.8)


def _exp_point(sm, *, scale: int, offset: int, counts, start_ns: int, time_ns: int, name: str = "latency.exp"):
    m = sm.metrics.add()
    m.name, m.unit = name, "s"
    m.exponential_histogram.aggregation_temporality = CUMULATIVE
    p = m.exponential_histogram.data_points.add()
    p.start_time_unix_nano, p.time_unix_nano = start_ns, time_ns
    p.scale, p.positive.offset = scale, offset
    p.positive.bucket_counts.extend(counts)
    p.count, p.sum = sum(counts), float(sum(counts))
    return p


def test_cumulative_exponential_rescale_is_counted_once_not_as_a_restart():
    """The SDK halves the scale as values spread: the increment is the true one (4 new values), not the total."""
    conv = _converter()
    start = T0 - 10**9  # started before the converter: the first point is a baseline
    req, sm = metrics_request()
    _exp_point(sm, scale=1, offset=0, counts=(2, 2, 2, 2), start_ns=start, time_ns=T0 + 10**9)
    assert _samples(conv, req) == []
    req, sm = metrics_request()  # scale 0: bucket i holds scale-1 buckets 2i, 2i+1; 4 more values, one far out
    _exp_point(sm, scale=0, offset=0, counts=(4, 4 + 3, 0, 1), start_ns=start, time_ns=T0 + 2 * 10**9)
    [s] = _samples(conv, req)
    assert (s.count, sum(s.bucket_counts)) == (4.0, 4)


def test_two_processes_without_instance_id_are_two_sources_not_restarts():
    """Two processes of one service with no service.instance.id: their cumulative totals add, never multiply."""
    conv = _converter()
    sent = 0
    for step in range(1, 4):
        for pid, start in (("101", T0 + 1), ("202", T0 + 2)):  # other resource attributes, other start times
            req, sm = metrics_request({semconv.SERVICE_NAME: "js", "process.pid": pid})
            value = 10 * step + int(pid[0])
            add_sum(sm, semconv.METRIC_QUERIES, value, temporality=CUMULATIVE, start_ns=start,
                    time_ns=T0 + step * 10**9 + int(pid[0]))
            sent = sent + value - (10 * (step - 1) + int(pid[0]) if step > 1 else 0)
            counted = sum(s.count for s in _samples(conv, req))
            sent -= counted
    assert sent == 0 and conv.series_count == 1  # one series, exact total


def test_indistinguishable_sources_are_dropped_and_counted_not_multiplied():
    """Same resource and same start time, values that go back and forth: the second source is dropped, counted."""
    conv = _converter()
    total = 0.0
    for i, value in enumerate((100, 50, 110, 55, 120)):
        req, sm = metrics_request({semconv.SERVICE_NAME: "tg"})
        add_sum(sm, semconv.METRIC_QUERIES, value, temporality=CUMULATIVE, start_ns=T0 + 1, time_ns=T0 + (i + 1) * 10**9)
        total += sum(s.count for s in _samples(conv, req))
    assert total == 120.0 and conv.drops.snapshot()["cumulative_ambiguous"] == 2


def test_a_retried_delta_export_is_counted_once():
    """The same DELTA window of the same series and source, sent again, is dropped and counted."""
    conv = _converter()
    counted = []
    for _ in range(3):
        req, sm = metrics_request()
        add_sum(sm, semconv.METRIC_QUERIES, 7, start_ns=T0, time_ns=T0 + 10**9)
        counted.append(sum(s.count for s in _samples(conv, req)))
    assert counted == [7.0, 0.0, 0.0] and conv.drops.snapshot()["delta_duplicates"] == 2


def test_points_of_one_series_per_request_are_bounded():
    """Beyond max_points_per_series_per_request, the points of that series in the request are dropped, counted."""
    from heritage_otel.service.config import ServiceConfig

    conv = MetricConverter(clock=lambda: T0, limits=ServiceConfig(max_points_per_series_per_request=5))
    req, sm = metrics_request()
    for i in range(20):
        add_sum(sm, semconv.METRIC_QUERIES, 1, start_ns=T0 + i, time_ns=T0 + i + 1)
    add_sum(sm, semconv.METRIC_ERRORS, 1, start_ns=T0, time_ns=T0 + 1)
    result = conv.convert(req)
    assert (result.accepted, result.rejected) == (6, 15)
    assert conv.drops.snapshot()["points_per_series_per_request"] == 15


def test_bucket_layouts_are_capped_per_service():
    """One service using up its layouts does not stop another service's histograms."""
    from heritage_otel.service.config import ServiceConfig

    conv = MetricConverter(clock=lambda: T0, limits=ServiceConfig(max_bucket_layouts=2))
    for i in range(5):
        req, sm = metrics_request(resource("noisy", "a"))
        add_histogram(sm, f"h{i}", (float(i + 1),), (1, 1), 1.0, time_ns=T0)
        conv.convert(req)
    req, sm = metrics_request(resource("quiet", "b"))
    add_histogram(sm, "h", (0.5,), (1, 1), 1.0, time_ns=T0)
    assert conv.convert(req).accepted == 1 and conv.drops.snapshot()["bucket_layouts"] == 3


def test_a_series_key_over_max_series_key_bytes_is_dropped():
    """Points whose name, attributes and resource exceed max_series_key_bytes are refused as malformed."""
    from heritage_otel.service.config import ServiceConfig

    conv = MetricConverter(clock=lambda: T0, limits=ServiceConfig(max_series_key_bytes=512))
    req, sm = metrics_request()
    add_sum(sm, "m", 1, attributes={"big": "x" * 500})
    add_sum(sm, "m", 1, attributes={"small": "x"})
    result = conv.convert(req)
    assert (result.accepted, result.malformed) == (1, 1) and conv.drops.snapshot()["series_key_bytes"] == 1


def test_an_idle_series_is_evicted_for_a_new_one_and_reported():
    """A full table evicts the series idle for series_idle_s; the new series is admitted; evictions are listed."""
    from heritage_otel.service.config import ServiceConfig

    now = [T0]
    conv = MetricConverter(clock=lambda: now[0], limits=ServiceConfig(max_series=1, series_idle_s=60))
    req, sm = metrics_request(resource("junk", "j"))
    add_sum(sm, "m", 1, start_ns=T0 - 1, time_ns=T0)
    assert conv.convert(req).accepted == 1
    now[0] = T0 + 61 * 10**9
    req, sm = metrics_request(resource("real", "r"))
    add_sum(sm, "m", 1, start_ns=now[0] - 1, time_ns=now[0])
    assert conv.convert(req).accepted == 1
    [evicted] = conv.drain_evicted()
    assert dict(evicted.resource)[semconv.SERVICE_NAME] == "junk" and conv.drops.snapshot()["series_evicted"] == 1


def test_a_service_at_its_layout_cap_forgets_a_layout_idle_for_series_idle_s():
    """Exponential bounds move over time: a layout unused for series_idle_s makes room for a new one."""
    from heritage_otel.service.config import ServiceConfig

    now = [T0]
    conv = MetricConverter(clock=lambda: now[0], limits=ServiceConfig(max_bucket_layouts=1, series_idle_s=60))

    def send(bound: float) -> int:
        req, sm = metrics_request(resource("svc", "a"))
        add_histogram(sm, "h", (bound,), (1, 1), 1.0, time_ns=now[0])
        return conv.convert(req).accepted

    assert (send(1.0), send(2.0)) == (1, 0)  # the first layout is in use
    now[0] += 61 * 10**9
    assert (send(2.0), send(1.0)) == (1, 0)  # the idle one went; now the new one is in use
