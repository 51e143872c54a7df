"""The component table: one definition of a component's calls, failures and latency for every dashboard."""

from __future__ import annotations

from heritage_otel import semconv
from heritage_otel.analysis.components import ComponentTable
from heritage_otel.analysis.samples import KIND_SUM, IntervalSample, SeriesKey

_S = 10**9
_BOUNDS = (0.005, 0.01, 0.025, 0.05)


def _timed(name: str, t: int, latencies_s: list[float]) -> IntervalSample:
    counts = [0] * (len(_BOUNDS) + 1)
    for v in latencies_s:
        counts[sum(v > b for b in _BOUNDS)] += 1
    return IntervalSample.from_histogram(
        SeriesKey.of(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: name}), start_ns=(t - 10) * _S,
        end_ns=t * _S, bounds=_BOUNDS, bucket_counts=tuple(counts), total=sum(latencies_s),
        minimum=min(latencies_s), maximum=max(latencies_s), unit="s")


def _sum(metric: str, name: str, t: int, n: float) -> IntervalSample:
    return IntervalSample(SeriesKey.of(metric, {semconv.COMPONENT: name}), KIND_SUM, (t - 10) * _S, t * _S, n, n)


def _row(table: ComponentTable, name: str, now: float = 100.0) -> dict:
    return {r["component"]: r for r in table.rows(now)}[name]


def test_a_call_reported_with_and_without_a_duration_counts_once_per_interval() -> None:
    """In one interval, 10 measured calls and 10 uses are 10 calls; uses alone in another interval add."""
    table = ComponentTable(window_s=3600)
    table.add([_timed("simrank", 10, [0.012] * 10), _sum(semconv.METRIC_COMPONENT_USES, "simrank", 10, 10)])
    table.add([_sum(semconv.METRIC_COMPONENT_USES, "simrank", 20, 7)])
    row = _row(table, "simrank")
    assert (row["calls"], row["timed_calls"], row["failures"], row["status"]) == (17, 10, 0, "ok")
    assert row["latency_mean_ms"] == 12.0


def test_latency_is_unknown_without_a_measured_call_and_p95_stays_within_the_observed_range() -> None:
    """Uses alone give latencies None (not 0); a constant 12 ms has p95 12 ms, not its bucket's upper part."""
    table = ComponentTable(window_s=3600)
    table.add([_sum(semconv.METRIC_COMPONENT_USES, "horn_index", 10, 5), _timed("simrank", 10, [0.012] * 20)])
    horn = _row(table, "horn_index")
    assert (horn["calls"], horn["latency_mean_ms"], horn["latency_p95_ms"]) == (5, None, None)
    assert _row(table, "simrank")["latency_p95_ms"] == 12.0


def test_failures_without_known_calls_and_the_window() -> None:
    """Failures of a component whose calls nobody counted make it failing; data older than the window is gone."""
    table = ComponentTable(window_s=60)
    table.add([_sum(semconv.METRIC_ERRORS, "primary_simrank", 10, 3)])
    row = _row(table, "primary_simrank", now=50)
    assert (row["calls"], row["failures"], row["success_rate"], row["status"]) == (0, 3, None, "failing")
    assert table.rows(now_s=200) == [
        {"component": "primary_simrank", "calls": 0, "timed_calls": 0, "failures": 0, "success_rate": None,
         "latency_mean_ms": None, "latency_p95_ms": None, "status": "idle"}]


def test_the_number_of_components_is_bounded() -> None:
    """At most 256 components, whichever metric names them first."""
    table = ComponentTable()
    table.add([_sum(semconv.METRIC_COMPONENT_USES, f"c{i}", 10, 1) for i in range(300)])
    table.add([_sum(semconv.METRIC_ERRORS, "late", 10, 1), _timed("c1", 10, [0.01])])
    names = {r["component"] for r in table.rows(100)}
    assert len(names) == 256 and "late" not in names and _row(table, "c1")["timed_calls"] == 1


def test_intervals_stay_within_max_bytes_old_ones_first() -> None:
    """Over max_bytes, intervals older than the window are dropped first, then new ones are refused (counted)."""
    table = ComponentTable(window_s=60, max_bytes=10 * 240)
    for t in range(10, 110, 10):  # ten intervals of 5 buckets: 200 + 40 bytes each
        table.add([_timed("simrank", t, [0.012])])
    assert (table.bytes, table.dropped) == (2400, 0)
    table.add([_timed("simrank", 200, [0.012])])  # everything before 140 is out of the window: pruned
    assert (table.bytes, table.dropped) == (240, 0)
    for t in range(201, 211):
        table.add([_timed("simrank", t, [0.012])])
    assert (table.bytes, table.dropped) == (2400, 1)
    assert _row(table, "simrank", now=211)["timed_calls"] == 10


def test_p95_sums_intervals_whose_bounds_moved_into_the_bounds_they_share() -> None:
    """Exponential layouts that differ between intervals (a halved scale) are merged, not left out of the p95."""
    table = ComponentTable(window_s=3600)
    fine = IntervalSample.from_histogram(
        SeriesKey.of(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: "c"}), start_ns=0, end_ns=10 * _S,
        bounds=(0.01, 0.02, 0.04), bucket_counts=(0, 1, 0, 0), total=0.015, unit="s")
    coarse = IntervalSample.from_histogram(
        SeriesKey.of(semconv.METRIC_COMPONENT_DURATION, {semconv.COMPONENT: "c"}), start_ns=10 * _S, end_ns=20 * _S,
        bounds=(0.01, 0.04), bucket_counts=(0, 0, 99, 0), total=99 * 0.05, unit="s")
    table.add([fine, coarse])
    row = _row(table, "c", now=30)
    assert row["timed_calls"] == 100
    assert row["latency_p95_ms"] >= 40.0  # the 99 slow calls count: p95 lies in the (0.04, inf) bucket, not at 20
