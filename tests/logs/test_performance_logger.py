"""PerformanceLogger: a span per operation, the duration histogram, rolling percentiles."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.trace import StatusCode

from heritage_otel import semconv
from heritage_otel.logs import PerformanceLogger
from tests.logs.conftest import hex_ids, read_json_lines


class FakeClock:
    """A clock whose successive start/stop readings give the durations (ms) asked for."""

    def __init__(self, durations_ms):
        readings = []
        now = 100.0
        for duration in durations_ms:
            readings += [now, now + duration / 1000.0]
            now += 1.0
        self._readings = iter(readings)

    def __call__(self) -> float:
        return next(self._readings)


def _run(perf: PerformanceLogger, name: str, times: int) -> None:
    for _ in range(times):
        with perf.time_operation(name):
            pass


def test_operation_is_a_span_named_after_it(telemetry):
    """The block runs in a child span named after the operation, with its attributes."""
    perf = PerformanceLogger()
    with trace.get_tracer("test").start_as_current_span("request") as parent:
        with perf.time_operation("simrank_ranking", candidates=250) as span:
            assert trace.get_current_span() is span
    op = telemetry.span("simrank_ranking")
    assert op.parent.span_id == parent.get_span_context().span_id
    assert op.attributes[semconv.OPERATION_NAME] == "simrank_ranking"
    assert op.attributes["candidates"] == 250
    assert op.status.status_code == StatusCode.UNSET


def test_duration_histogram_matches_last_duration(telemetry):
    """heritage.operation.duration records the duration in seconds, by operation."""
    perf = PerformanceLogger(clock=FakeClock([12.0, 30.0]))
    _run(perf, "embed", 2)
    points = telemetry.metric_points(semconv.METRIC_OPERATION_DURATION, **{semconv.OPERATION_NAME: "embed"})
    assert len(points) == 1
    assert points[0].count == 2
    assert points[0].sum == pytest.approx(0.042)
    assert perf.get_last_duration("embed") == pytest.approx(30.0)
    assert perf.get_last_duration() == pytest.approx(30.0)


def test_event_and_log_record_on_the_operation_span(telemetry, tmp_path):
    """The performance event is on the operation's span; the record and the line carry its ids."""
    perf = PerformanceLogger(log_dir=tmp_path, clock=FakeClock([5.0]))
    with perf.time_operation("rerank") as span:
        expected_ids = hex_ids(span)
    perf.close()
    (event,) = telemetry.span("rerank").events
    assert event.name == semconv.EVENT_PERFORMANCE
    assert event.attributes[semconv.OPERATION_DURATION_S] == pytest.approx(0.005)
    assert event.attributes[semconv.OPERATION_SLOW] is False
    (exported,) = telemetry.logs()
    record = exported.log_record
    assert (f"{record.trace_id:032x}", f"{record.span_id:016x}") == expected_ids
    assert record.severity_number == SeverityNumber.INFO
    assert exported.instrumentation_scope.name == "heritage_otel.performance"
    (line,) = read_json_lines(tmp_path / "performance.log")
    assert (line["trace_id"], line["span_id"]) == expected_ids
    assert line["operation"] == "rerank" and line["duration_ms"] == pytest.approx(5.0)


def test_exception_recorded_and_reraised(telemetry):
    """A failing block: ERROR span with an exception event, error.type on the histogram, re-raised."""
    perf = PerformanceLogger()
    with pytest.raises(ZeroDivisionError):
        with perf.time_operation("normalise"):
            1 / 0  # noqa: B018 - raises on purpose
    span = telemetry.span("normalise")
    assert span.status.status_code == StatusCode.ERROR
    assert [e.name for e in span.events].count("exception") == 1
    assert span.attributes[semconv.ERROR_TYPE] == "ZeroDivisionError"
    points = telemetry.metric_points(semconv.METRIC_OPERATION_DURATION, **{semconv.ERROR_TYPE: "ZeroDivisionError"})
    assert [p.count for p in points] == [1]
    record = telemetry.logs()[0].log_record
    assert record.severity_number == SeverityNumber.ERROR
    assert record.attributes[semconv.SUCCESS] is False
    assert perf.get_percentiles("normalise")  # a failed run still counts in the window


def test_slow_operation_is_a_warning(telemetry):
    """Above slow_threshold_ms the record is WARN and marked slow."""
    perf = PerformanceLogger(slow_threshold_ms=100, clock=FakeClock([50.0, 150.0]))
    _run(perf, "simrank", 2)
    fast, slow = (r.log_record for r in telemetry.logs())
    assert (fast.severity_number, fast.attributes[semconv.OPERATION_SLOW]) == (SeverityNumber.INFO, False)
    assert (slow.severity_number, slow.attributes[semconv.OPERATION_SLOW]) == (SeverityNumber.WARN, True)


def test_percentiles_match_numpy_on_known_data():
    """p50/p95/p99 equal numpy.percentile of the recorded durations."""
    durations = [float(x) for x in np.random.default_rng(7).gamma(2.0, 40.0, size=200)]
    perf = PerformanceLogger(clock=FakeClock(durations))
    _run(perf, "query", len(durations))
    expected = np.percentile(durations, [50, 95, 99])
    result = perf.get_percentiles("query")
    assert list(result) == ["p50", "p95", "p99"]
    assert [result["p50"], result["p95"], result["p99"]] == pytest.approx(list(expected), rel=1e-6)


def test_window_is_bounded_and_rolls():
    """Only the last window_size durations count."""
    durations = [float(v) for v in range(1, 21)]  # 1..20 ms
    perf = PerformanceLogger(window_size=5, clock=FakeClock(durations))
    _run(perf, "op", 20)
    expected = np.percentile([16.0, 17.0, 18.0, 19.0, 20.0], [50, 95, 99])
    result = perf.get_percentiles("op")
    assert [result["p50"], result["p95"], result["p99"]] == pytest.approx(list(expected))


def test_operations_are_kept_apart():
    """Each operation name has its own window and last duration."""
    clock = FakeClock([1.0, 100.0, 2.0])
    perf = PerformanceLogger(clock=clock)
    for name in ("a", "b", "a"):
        with perf.time_operation(name):
            pass
    assert perf.get_percentiles("a")["p50"] == pytest.approx(1.5)
    assert perf.get_percentiles("b")["p99"] == pytest.approx(100.0)
    assert perf.get_last_duration("a") == pytest.approx(2.0)
    assert perf.get_percentiles("unknown") == {}
    assert perf.get_last_duration("unknown") is None
    assert set(perf.get_all_percentiles()) == {"a", "b"}
    perf.reset()
    assert perf.get_all_percentiles() == {} and perf.get_last_duration() is None


def test_real_clock_measures_elapsed_time():
    """With the default clock the duration is at least the time slept."""
    import time

    perf = PerformanceLogger()
    with perf.time_operation("sleep"):
        time.sleep(0.02)
    assert perf.get_last_duration("sleep") >= 20.0


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [({"window_size": 0}, "window_size"), ({"window_size": True}, "window_size"),
     ({"slow_threshold_ms": -1}, "slow_threshold_ms"), ({"slow_threshold_ms": float("nan")}, "slow_threshold_ms")],
)
def test_bad_configuration_fails_fast(kwargs, setting):
    """Bad constructor values are refused, naming the setting."""
    with pytest.raises(ValueError, match=setting):
        PerformanceLogger(**kwargs)


@pytest.mark.parametrize("name", ["", None, 42])
def test_bad_operation_name_refused(name):
    """An operation needs a non-empty name."""
    with pytest.raises(ValueError, match="name"):
        with PerformanceLogger().time_operation(name):  # type: ignore[arg-type]  # a bad value on purpose
            pass


def test_broken_log_file_never_breaks_the_block(telemetry, tmp_path, caplog):
    """An unwritable performance.log does not touch the caller; the span and metric still happen."""
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    perf = PerformanceLogger(log_dir=blocker)
    with caplog.at_level(logging.WARNING):
        for _ in itertools.repeat(None, 3):
            with perf.time_operation("op"):
                pass
    assert len(telemetry.find_spans("op")) == 3
    assert telemetry.histogram_count(semconv.METRIC_OPERATION_DURATION) == 3
    assert len([r for r in caplog.records if "cannot write log file" in r.getMessage()]) == 1


def test_no_configure_still_times():
    """With no SDK configured the timing and percentiles still work."""
    perf = PerformanceLogger(clock=FakeClock([3.0]))
    _run(perf, "op", 1)
    assert perf.get_last_duration() == pytest.approx(3.0)


def test_concurrent_operations_are_all_counted(telemetry):
    """Threads timing the same operation lose no duration (window and histogram agree)."""
    from concurrent.futures import ThreadPoolExecutor

    perf = PerformanceLogger(window_size=10_000)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: _run(perf, "parallel", 25), range(8)))
    assert telemetry.histogram_count(semconv.METRIC_OPERATION_DURATION, **{semconv.OPERATION_NAME: "parallel"}) == 200
    assert len(telemetry.find_spans("parallel")) == 200
    assert perf.get_percentiles("parallel")["p99"] >= perf.get_percentiles("parallel")["p50"] >= 0.0
