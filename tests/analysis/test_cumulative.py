"""CumulativeTracker: the initial-value policies, resets, replayed points, the staleness sweep, and that the
in-process exporter and the service's receiver now agree on the same cumulative input."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

from heritage_otel.analysis.cumulative import CumulativeTracker
from heritage_otel.analysis.exporter import DELTA_TEMPORALITY, to_samples
from heritage_otel.analysis.samples import KIND_GAUGE
from heritage_otel.service.convert import MetricConverter
from tests.service.payloads import CUMULATIVE, add_sum, metrics_request

S = 10**9
T0 = 1_000 * S


class _Clock:
    def __init__(self, now_ns: int = T0) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


def _first(policy: str, start_ns: int, time_ns: int = T0 + 5 * S):
    tracker = CumulativeTracker(policy, clock=_Clock())  # type: ignore[arg-type]  # a stand-in clock
    return tracker.sum("s", start_ns, time_ns, 7.0)


@pytest.mark.parametrize(("policy", "start_ns", "counted"), [
    ("keep", T0 - 100 * S, True),
    ("drop", T0 + S, False),
    ("auto", T0 + S, True),             # started after the tracker: all of it happened while we listened
    ("auto", T0 - S, False),            # started before: part of it may have been counted elsewhere
    ("auto", 0, False),                 # no start time
    ("auto", T0 + 5 * S, False),        # start == time
])
def test_initial_value_policy_decides_the_first_point(policy, start_ns, counted) -> None:
    """keep counts the first point whole, drop never, auto only when it started after the tracker."""
    step = _first(policy, start_ns)
    assert (step is not None) == counted
    if counted:
        assert (step.value, step.reset) == (7.0, True)


def test_auto_counts_series_started_within_since() -> None:
    """``since_ns`` moves the moment auto compares with (the service passes its retention)."""
    tracker = CumulativeTracker("auto", since_ns=T0 - 60 * S, clock=_Clock())
    assert tracker.sum("s", T0 - 30 * S, T0 + S, 7.0).value == 7.0
    assert tracker.sum("t", T0 - 90 * S, T0 + S, 7.0) is None


def test_increments_resets_and_bucket_changes() -> None:
    """Later points give differences; a new start time, a decrease or bounds with none in common start over."""
    tracker = CumulativeTracker("keep", clock=_Clock())
    assert tracker.sum("s", T0, T0 + S, 5.0).value == 5.0
    step = tracker.sum("s", T0, T0 + 2 * S, 9.0)
    assert (step.start_ns, step.value, step.reset) == (T0 + S, 4.0, False)
    assert tracker.sum("s", T0, T0 + 3 * S, 4.0).value == 4.0  # smaller: a reset
    tracker.histogram("h", T0, T0 + S, (1.0,), (1, 2), 3.0)
    step = tracker.histogram("h", T0, T0 + 2 * S, (1.0,), (4, 2), 5.0)
    assert (step.counts, step.total) == ((3, 0), 2.0)
    step = tracker.histogram("h", T0, T0 + 3 * S, (5.0, 6.0), (4, 2, 1), 6.0)
    assert (step.counts, step.bounds, step.reset) == ((4, 2, 1), (5.0, 6.0), True)


def test_exponential_rescale_is_merged_to_the_shared_bounds_not_a_reset() -> None:
    """When the SDK halves the scale (every other bound goes), both points are summed into the shared bounds."""
    tracker = CumulativeTracker("keep", clock=_Clock())
    fine = tuple(2.0 ** (i / 2) for i in range(5))  # scale 1: 1, 1.41, 2, 2.83, 4
    coarse = tuple(2.0 ** i for i in range(3))  # scale 0: 1, 2, 4
    tracker.histogram("h", T0, T0 + S, fine, (0, 1, 1, 1, 1, 0), 9.0)
    step = tracker.histogram("h", T0, T0 + 2 * S, coarse, (0, 3, 3, 0), 20.0)
    assert (step.bounds, step.counts, step.total, step.reset) == (coarse, (0, 1, 1, 0), 11.0, False)
    step = tracker.histogram("h", T0, T0 + 3 * S, coarse, (0, 3, 4, 0), 23.0)
    assert (step.counts, step.reset) == ((0, 0, 1, 0), False)


def test_strict_start_drops_a_second_source_instead_of_counting_it_as_a_restart() -> None:
    """With strict_start, a smaller value under the same start time is another process: dropped and counted."""
    tracker = CumulativeTracker("keep", clock=_Clock(), strict_start=True)
    assert tracker.sum("s", T0, T0 + S, 100.0).value == 100.0
    assert tracker.sum("s", T0, T0 + 2 * S, 50.0) is None  # the second source
    assert tracker.sum("s", T0, T0 + 3 * S, 110.0).value == 10.0
    assert tracker.ambiguous == 1


def test_max_entries_forgets_the_least_recently_updated_series() -> None:
    """The state stays under max_entries: the series updated longest ago goes first."""
    tracker = CumulativeTracker("keep", clock=_Clock(), max_entries=2)
    tracker.sum("a", T0, T0 + S, 1.0)
    tracker.sum("b", T0, T0 + S, 1.0)
    tracker.sum("a", T0, T0 + 2 * S, 2.0)
    tracker.sum("c", T0, T0 + S, 1.0)
    assert len(tracker) == 2
    assert tracker.sum("a", T0, T0 + 3 * S, 3.0).reset is False  # kept
    assert tracker.sum("b", T0, T0 + 2 * S, 2.0).reset is True  # forgotten: a first point again


def test_replayed_or_out_of_order_points_are_not_counted_twice() -> None:
    """A point not newer than the last one of its series is ignored, and does not move the baseline."""
    tracker = CumulativeTracker("keep", clock=_Clock())
    total = 0.0
    for t, value in ((3, 30.0), (1, 10.0), (2, 20.0), (3, 30.0), (4, 45.0)):
        step = tracker.sum("s", T0, T0 + t * S, value)
        total += step.value if step is not None else 0.0
    assert total == 45.0


def test_staleness_sweep_forgets_idle_series() -> None:
    """Series idle for max_staleness_s are forgotten; the sweep runs by itself as points arrive."""
    clock = _Clock()
    tracker = CumulativeTracker("keep", max_staleness_s=60, clock=clock)
    tracker.sum("idle", T0, T0 + S, 1.0)
    tracker.sum("busy", T0, T0 + S, 1.0)
    for minute in range(1, 4):
        clock.now_ns = T0 + minute * 60 * S
        tracker.sum("busy", T0, clock.now_ns, float(minute + 1))
    assert len(tracker) == 1
    assert tracker.sweep(T0 + 10_000 * S) == 1 and len(tracker) == 0


def test_never_sweeps_without_staleness() -> None:
    """max_staleness_s=None keeps every series (the caller bounds them)."""
    tracker = CumulativeTracker("keep", max_staleness_s=None, clock=_Clock())
    tracker.sum("s", T0, T0 + S, 1.0)
    assert tracker.sweep(T0 + 10**6 * S) == 0 and len(tracker) == 1


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"initial_value": "first"}, "initial_value = 'first' is not valid; valid values: auto, keep, drop"),
    ({"max_staleness_s": 0}, "max_staleness_s = 0 is not valid; expected seconds > 0"),
])
def test_bad_configuration_names_setting_and_valid_values(kwargs, named) -> None:
    """A bad policy or staleness fails at construction, naming the setting, the value and what is valid."""
    with pytest.raises(ValueError, match="is not valid") as info:
        CumulativeTracker(**kwargs)
    assert named in str(info.value)


def test_up_down_counter_is_a_gauge_in_process_and_in_the_service() -> None:
    """A cumulative up-down counter going 10 -> 7 is the level 7 in both paths (the exporter said sum 7)."""
    reader = InMemoryMetricReader(preferred_temporality=dict.fromkeys(DELTA_TEMPORALITY,
                                                                      AggregationTemporality.CUMULATIVE))
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "t"}))
    gauge = provider.get_meter("t").create_up_down_counter("queue.depth")
    tracker = CumulativeTracker("keep")
    gauge.add(10)
    to_samples(reader.get_metrics_data(), tracker)
    gauge.add(-3)
    [in_process] = to_samples(reader.get_metrics_data(), tracker)
    provider.shutdown()

    conv = MetricConverter(10, clock=_Clock())
    for value, t in ((10, T0 + S), (7, T0 + 2 * S)):
        req, sm = metrics_request()
        add_sum(sm, "queue.depth", value, temporality=CUMULATIVE, monotonic=False, start_ns=T0, time_ns=t)
        [service] = [s for b in conv.convert(req).batches for s in b]
    assert (in_process.kind, in_process.gauge_value) == (service.kind, service.gauge_value) == (KIND_GAUGE, 7.0)


def test_service_counts_a_replayed_series_that_started_within_its_memory() -> None:
    """After an outage the Collector replays cumulative points, some twice or out of order; the receiver of a
    (re)started service counts every increment once (tests/faults/test_analyzer_down.py replays it through the real Collector)."""
    conv = MetricConverter(10, clock=_Clock(), memory_s=3600)
    start = T0 - 120 * S  # the replica started two minutes before the service
    counted = 0.0
    for t, value in ((-90, 30.0), (-30, 90.0), (-60, 60.0), (-30, 90.0), (10, 100.0)):
        req, sm = metrics_request()
        add_sum(sm, "heritage.queries", value, temporality=CUMULATIVE, start_ns=start, time_ns=T0 + t * S)
        counted += sum(s.count for b in conv.convert(req).batches for s in b)
    assert counted == 100.0
