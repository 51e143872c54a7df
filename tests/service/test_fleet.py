"""Fleet aggregation: replicas merged per service and interval; late samples counted."""

from __future__ import annotations

from heritage_otel.analysis.samples import KIND_GAUGE, KIND_SUM, IntervalSample, SeriesKey
from heritage_otel.service.fleet import FleetAggregator

S = 10**9
_CLOCK = lambda: 20.0  # noqa: E731 - the samples below are stamped around t = 0..100 s


def _sum(instance: str | None, n: float, end_s: float) -> IntervalSample:
    res = {"service.name": "rec"} | ({"service.instance.id": instance} if instance else {})
    return IntervalSample(SeriesKey.of("q", {}, res), KIND_SUM, int((end_s - 10) * S), int(end_s * S), n, n)


def _gauge(instance: str, v: float, end_s: float) -> IntervalSample:
    res = {"service.name": "rec", "service.instance.id": instance}
    return IntervalSample(SeriesKey.of("g", {}, res), KIND_GAUGE, 0, int(end_s * S), 1, v, gauge_value=v)


def test_a_bucket_closes_as_soon_as_every_active_replica_contributed():
    """Both replicas reported for [10, 20): the merged sample is emitted at once, stamped at the newest sample."""
    agg = FleetAggregator(interval_seconds=10, max_series=100, clock=_CLOCK)
    agg.add([_sum("a", 2, 15), _sum("b", 3, 18)])
    [[s]] = agg.flush(now_s=18.5)
    assert (s.count, s.start_ns, s.end_ns, s.series.resource) == (5, 8 * S, 18 * S, (("service.name", "rec"),))
    assert s.rate_per_s == 0.5


def test_an_incomplete_bucket_waits_for_the_grace_period():
    """With replica b active but silent for [20, 30), that bucket closes only once 30 + grace has passed."""
    agg = FleetAggregator(interval_seconds=10, max_series=100, clock=_CLOCK)
    agg.add([_sum("a", 1, 15), _sum("b", 1, 16)])
    agg.flush(now_s=17)
    agg.add([_sum("a", 4, 25)])
    assert agg.flush(now_s=35) == []
    [[s]] = agg.flush(now_s=40)
    assert s.count == 4


def test_late_samples_move_to_the_next_interval_and_are_counted():
    """A sample for an already closed interval is counted in late_samples and merged into the next one."""
    agg = FleetAggregator(interval_seconds=10, max_series=100, clock=_CLOCK)
    agg.add([_sum("a", 2, 15), _sum("b", 1, 15)])
    agg.flush(now_s=16)
    agg.add([_sum("b", 3, 17), _sum("a", 5, 25)])
    assert agg.late_samples == 1
    assert agg.flush(now_s=26) == []  # b's own export for [20, 30) is still awaited
    agg.add([_sum("b", 1, 27)])
    [[s]] = agg.flush(now_s=27.5)
    assert s.count == 9


def test_gauges_are_averaged_and_instance_less_resources_ignored():
    """Gauges take the replicas' mean; a resource without service.instance.id is not aggregated."""
    agg = FleetAggregator(interval_seconds=10, max_series=100, clock=_CLOCK)
    agg.add([_gauge("a", 2.0, 15), _gauge("b", 4.0, 15), _sum(None, 7, 15)])
    [[s]] = agg.flush(now_s=100)
    assert (s.kind, s.gauge_value) == (KIND_GAUGE, 3.0)


def test_open_keys_are_capped():
    """Beyond max_series open (series, interval) accumulators, samples are dropped and counted."""
    agg = FleetAggregator(interval_seconds=10, max_series=1, clock=_CLOCK)
    agg.add([_sum("a", 1, 15), _gauge("a", 1.0, 15)])
    assert agg.dropped_samples == 1


def test_a_sample_stamped_far_in_the_future_cannot_make_later_samples_late():
    """A point at time_unix_nano = 2**64 - 1 is dropped (counted); the next interval closes normally."""
    agg = FleetAggregator(interval_seconds=10, max_series=100, clock=_CLOCK)
    poison = IntervalSample(SeriesKey.of("q", {}, {"service.name": "rec", "service.instance.id": "a"}),
                            KIND_SUM, 0, 2**64 - 1, 1, 1)
    agg.add([poison])
    assert agg.implausible_samples == 1
    assert agg.flush(now_s=20) == []
    agg.add([_sum("a", 2, 15), _sum("b", 3, 18)])
    [[s]] = agg.flush(now_s=18.5)
    assert (s.count, agg.late_samples) == (5, 0)
