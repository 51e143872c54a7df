"""AlertManager: dedup, cooldown, escalation, resolution, filters, and sink isolation (injectable clock)."""

from __future__ import annotations

import threading
import time

import pytest

from heritage_otel.analysis.alerts import AlertManager
from heritage_otel.analysis.findings import AlertLevel, Evaluation, Finding
from heritage_otel.analysis.samples import SeriesKey

SERIES = SeriesKey.of("error_rate")


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def finding(level=AlertLevel.WARNING, metric="error_rate", value=0.02, labels=()) -> Finding:
    return Finding(metric, "threshold", labels, level, value, 0.005, f"{metric} high", series=SERIES)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def manager(clock):
    m = AlertManager(cooldown_s=900, clock=clock)
    yield m
    assert m.shutdown(5.0)


def test_repeated_findings_are_deduplicated_while_active(manager, clock) -> None:
    """One alert per (metric, detector, labels); later findings update it silently."""
    first = manager.process(finding(value=0.02))
    clock.t += 60
    assert manager.process(finding(value=0.03)) is None
    (active,) = manager.get_active_alerts()
    assert active.id == first.id
    assert active.current_value == 0.03
    assert active.last_seen == clock.t and active.first_seen == clock.t - 60


def test_different_labels_are_different_alerts(manager) -> None:
    """Labels are part of the dedup key."""
    manager.process(finding(labels=(("service.name", "a"),)))
    manager.process(finding(labels=(("service.name", "b"),)))
    assert len(manager.get_active_alerts()) == 2


def test_escalation_notifies_at_once(manager, clock) -> None:
    """A higher level escalates the active alert immediately, within the cooldown."""
    manager.process(finding(AlertLevel.WARNING))
    clock.t += 30
    escalated = manager.process(finding(AlertLevel.CRITICAL))
    assert escalated is not None and escalated.level is AlertLevel.CRITICAL
    assert escalated.event == "escalated"
    assert manager.stats()["escalated"] == 1


def test_active_alert_is_repeated_once_per_cooldown(manager, clock) -> None:
    """While active, the alert is re-sent after the cooldown, not before."""
    manager.process(finding())
    clock.t += 899
    assert manager.process(finding()) is None
    clock.t += 1
    repeated = manager.process(finding())
    assert repeated is not None and repeated.event == "repeated"


def test_refire_within_cooldown_is_suppressed_after_it(manager, clock) -> None:
    """Resolved then firing again: suppressed within 15 minutes of the last firing, new alert after."""
    first = manager.process(finding())
    clock.t += 60
    manager.resolve(first.key)
    clock.t += 240
    assert manager.process(finding()) is None
    assert manager.stats()["suppressed"] == 1
    clock.t += 601  # 901 s after the first firing
    again = manager.process(finding())
    assert again is not None and again.id != first.id


def test_refire_at_higher_level_is_not_suppressed(manager, clock) -> None:
    """The cooldown only suppresses the same or a lower level."""
    first = manager.process(finding(AlertLevel.WARNING))
    manager.resolve(first.key)
    clock.t += 10
    assert manager.process(finding(AlertLevel.CRITICAL)) is not None


def test_observe_resolves_only_what_was_judged_clear(manager, clock) -> None:
    """An evaluation without the finding resolves the alert only if the detector judged that series."""
    manager.observe(Evaluation(clock.t, (finding(),), lambda d, s: True))
    clock.t += 60
    manager.observe(Evaluation(clock.t, (), lambda d, s: False))  # no data: stays active
    assert len(manager.get_active_alerts()) == 1
    sent = manager.observe(Evaluation(clock.t, (), lambda d, s: d == "threshold" and s == SERIES))
    assert [a.state for a in sent] == ["resolved"]
    assert manager.get_active_alerts() == []
    assert [a.state for a in manager.history()] == ["firing", "resolved"]
    assert sent[0].resolved_at == clock.t


def test_filters_by_level_and_metric(manager) -> None:
    """get_active_alerts and history filter by level (enum or name) and metric."""
    manager.process(finding(AlertLevel.WARNING, metric="error_rate"))
    manager.process(finding(AlertLevel.CRITICAL, metric="query_latency_p95"))
    assert [a.metric for a in manager.get_active_alerts(level=AlertLevel.CRITICAL)] == ["query_latency_p95"]
    assert [a.metric for a in manager.get_active_alerts(level="warning")] == ["error_rate"]
    assert [a.level for a in manager.history(metric="query_latency_p95")] == [AlertLevel.CRITICAL]


def test_seed_compatible_fields(manager) -> None:
    """alert.metric_name, alert.level.name, current_value, threshold, message, timestamp as in the seed."""
    alert = manager.process(finding())
    assert alert.metric_name == "error_rate"
    assert alert.level.name == "WARNING"
    assert (alert.current_value, alert.threshold, alert.message) == (0.02, 0.005, "error_rate high")
    assert alert.timestamp.timestamp() == alert.last_seen


def test_raising_and_hanging_handlers_do_not_block_others(clock) -> None:
    """A handler that raises or hangs never blocks process() or the other handlers; overflow is counted."""
    release = threading.Event()
    got = []
    manager = AlertManager(clock=clock)
    manager.add_sink(lambda a: (_ for _ in ()).throw(RuntimeError("broken handler")), "raises")
    hanging = manager.add_sink(lambda a: release.wait(10), "hangs", queue_size=2)
    manager.add_sink(got.append, "good")
    started = time.monotonic()
    for i in range(6):  # six services: six incidents, six notifications
        manager.process(finding(metric=f"m{i}", labels=(("service.name", f"s{i}"),)))
    assert time.monotonic() - started < 2.0  # a blocking handler would take 10 s
    deadline = time.monotonic() + 5
    while len(got) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(got) == 6
    assert hanging.dropped >= 3  # queue of 2 plus one in progress
    raising = manager.workers[0]
    assert raising.flush(5.0) and raising.failed == 6
    release.set()
    assert manager.shutdown(5.0)
    assert not any(w.thread_alive for w in (raising, hanging))


def test_shutdown_leaves_no_thread(clock) -> None:
    """After shutdown no sink thread is left running."""
    manager = AlertManager(clock=clock)
    manager.add_sink(lambda a: None)
    manager.process(finding())
    assert manager.shutdown(5.0)
    assert not [t for t in threading.enumerate() if t.name.startswith("heritage-otel-sink-")]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"cooldown_s": -1}, "cooldown_s = -1"), ({"jaeger_url": "localhost:16686"}, "jaeger_url = 'localhost:16686'"),
     ({"queue_size": 0}, "queue_size = 0")],
)
def test_bad_settings_fail_fast(kwargs, needle) -> None:
    """Bad settings raise ValueError naming the setting and value."""
    with pytest.raises(ValueError, match=needle):
        AlertManager(**kwargs)


def test_active_alerts_are_capped_and_a_higher_level_replaces_the_oldest_lower_one(clock) -> None:
    """At max_active a new alert of the same level is not raised (counted in capped); a higher level replaces
    the oldest active alert of the lowest level; the cooldown remembers at most max_active keys."""
    manager = AlertManager(cooldown_s=900, clock=clock, max_active=3)
    try:
        for i in range(3):
            assert manager.process(finding(labels=(("route", f"r{i}"),))) is not None
        assert manager.process(finding(labels=(("route", "r3"),))) is None
        assert manager.stats()["capped"] == 1 and len(manager.get_active_alerts()) == 3
        clock.t += 1
        critical = manager.process(finding(AlertLevel.CRITICAL, labels=(("route", "real"),)))
        assert critical is not None
        active = {a.labels.get("route") for a in manager.get_active_alerts()}
        assert active == {"r1", "r2", "real"}  # r0, the oldest WARNING, was resolved to make room
        assert len(manager._last_fired) <= 3
    finally:
        assert manager.shutdown(5.0)
