"""Incidents: grouping per service, replica versus fleet, one notification per incident event, on every sink."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from heritage_otel import semconv
from heritage_otel.analysis import AlertManager, Analyzer
from heritage_otel.analysis.alerts import Alert
from heritage_otel.analysis.findings import AlertLevel, Finding
from heritage_otel.analysis.incidents import IncidentTracker
from heritage_otel.analysis.samples import SeriesKey
from heritage_otel.analysis.sinks import JsonlFileSink

RESOURCE_KEYS = (semconv.SERVICE_NAME, semconv.SERVICE_INSTANCE_ID)


def _alert(metric: str, level=AlertLevel.WARNING, service="rec", instance=None, t=10.0) -> Alert:
    labels = {semconv.SERVICE_NAME: service}
    if instance is not None:
        labels[semconv.SERVICE_INSTANCE_ID] = instance
    return Alert(f"{metric}-{instance}", level, metric, "mad", labels, 1.0, 0.5, f"{metric} up", t, t,
                 exemplar_trace_ids=(f"{hash(metric) & 0xFFFF:032x}",), exemplar_span_ids=("00f067aa0ba902b7",))


def _replicas(n: int) -> Analyzer:
    """An Analyzer that has fresh data from n replicas of service 'rec'."""
    analyzer = Analyzer(interval_seconds=1.0, resource_label_keys=RESOURCE_KEYS)
    keys = [SeriesKey("query_count", (), ((semconv.SERVICE_INSTANCE_ID, f"r{i}"), (semconv.SERVICE_NAME, "rec")))
            for i in range(n)]
    analyzer.ingest_values(keys, np.full(n, 50.0), 10.0)
    return analyzer


def test_signals_of_one_service_are_one_incident_other_services_their_own() -> None:
    """Latency, fallbacks and quality of one service join one incident; another service opens its own."""
    tracker = IncidentTracker()
    first = tracker.update([_alert("query_latency_p95")], 10)
    joined = tracker.update([_alert("query_latency_p95"), _alert("fallback_rate"), _alert("ndcg_at_10")], 11)
    other = tracker.update([_alert("query_latency_p95"), _alert("fallback_rate"), _alert("ndcg_at_10"),
                            _alert("error_rate", service="search")], 12)
    assert [n.event for n in first] == ["fired"]
    assert joined == []  # members joined within the cooldown: no new notification
    assert [(n.event, n.labels[semconv.SERVICE_NAME]) for n in other] == [("fired", "search")]
    (incident,) = [i for i in tracker.open() if i.service == "rec"]
    assert incident.id == first[0].incident
    assert sorted(a.metric for a in incident.members.values()) == ["fallback_rate", "ndcg_at_10", "query_latency_p95"]


def test_one_bad_replica_is_a_replica_incident() -> None:
    """One replica of three bad (with the fleet's signal too): one replica incident naming that instance."""
    tracker = IncidentTracker(analyzer=_replicas(3))
    (note,) = tracker.update([_alert("query_latency_p95", instance="r1"), _alert("query_latency_p95")], 10)
    assert note.scope == "replica"
    assert note.labels[semconv.SERVICE_INSTANCE_ID] == "r1"
    assert len(note.members) == 2 and len(tracker.open()) == 1


def test_most_replicas_bad_is_a_fleet_incident() -> None:
    """Two replicas of three bad: one fleet incident, no replica incident."""
    tracker = IncidentTracker(analyzer=_replicas(3))
    (note,) = tracker.update([_alert("query_latency_p95", instance="r0"), _alert("query_latency_p95", instance="r2")],
                             10)
    assert note.scope == "fleet"
    assert semconv.SERVICE_INSTANCE_ID not in note.labels


def test_escalation_updates_and_resolution_carry_the_stable_id() -> None:
    """Severity up: 'updated' at once; last member gone: 'resolved'; every notification has the same id."""
    tracker = IncidentTracker(cooldown_s=900)
    fired = tracker.update([_alert("error_rate")], 10)
    updated = tracker.update([_alert("error_rate", AlertLevel.CRITICAL)], 11)
    resolved = tracker.update([], 12)
    notes = fired + updated + resolved
    assert [(n.event, n.state, n.level.name) for n in notes] == [
        ("fired", "firing", "WARNING"), ("updated", "firing", "CRITICAL"), ("resolved", "resolved", "CRITICAL")]
    assert len({n.incident for n in notes}) == 1 and all(n.id == n.incident for n in notes)
    assert resolved[0].members[0]["state"] == "resolved"
    assert tracker.open() == [] and tracker.recent()[0].id == notes[0].incident


def test_open_incident_repeats_once_per_cooldown() -> None:
    """An incident still open after the cooldown is notified again ('repeated'), once per cooldown."""
    tracker = IncidentTracker(cooldown_s=60)
    tracker.update([_alert("error_rate")], 0)
    assert tracker.update([_alert("error_rate")], 30) == []
    assert [n.event for n in tracker.update([_alert("error_rate")], 61)] == ["repeated"]
    assert tracker.update([_alert("error_rate")], 90) == []


def test_every_jsonl_line_is_one_incident_notification(tmp_path) -> None:
    """Through the AlertManager and the JSONL sink: one line per notification, with state and incident."""
    path = tmp_path / "alerts.jsonl"
    now = [1000.0]
    manager = AlertManager(clock=lambda: now[0])
    manager.add_sink(JsonlFileSink(path))
    labels = ((semconv.SERVICE_NAME, "rec"),)
    for metric in ("error_rate", "fallback_rate", "query_latency_p95"):  # one bad interval, three signals
        manager.process(Finding(metric, "threshold", labels, AlertLevel.WARNING, 1.0, 0.5, f"{metric} high"))
    for metric in ("error_rate", "fallback_rate", "query_latency_p95"):
        now[0] += 1
        manager.resolve((metric, "threshold", labels))
    assert manager.shutdown(5.0)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["state"], line["event"]) for line in lines] == [("firing", "fired"), ("resolved", "resolved")]
    assert len({line["incident"] for line in lines}) == 1
    assert sorted(m["metric"] for m in lines[-1]["members"]) == ["error_rate", "fallback_rate", "query_latency_p95"]
    assert len(manager.history()) == 6  # the raw alerts are kept for the Alerts page


def test_fleet_aggregate_alone_does_not_open_an_incident_when_there_are_replicas() -> None:
    """A late replica export lands in the next fleet interval: the fleet's signal alone opens nothing; it joins
    the incident its replicas open."""
    tracker = IncidentTracker(analyzer=_replicas(3))
    assert tracker.update([_alert("query_latency_p95")], 10) == []
    (note,) = tracker.update([_alert("query_latency_p95"), _alert("query_latency_p95", instance="r2")], 11)
    assert note.scope == "replica" and len(note.members) == 2


def _service_key(metric: str, service: str = "rec", attributes: dict | None = None) -> SeriesKey:
    return SeriesKey(metric, SeriesKey.of(metric, attributes).attributes, ((semconv.SERVICE_NAME, service),))


def test_a_member_that_explains_more_updates_the_cause_once() -> None:
    """Traffic falls first (closed-loop callers); the slower component's member joins an interval later: the same
    incident, one 'updated' notification whose cause names the component with traffic as an effect; nothing more
    while the members stay the same."""
    analyzer = Analyzer(interval_seconds=1.0)
    qps, vector = _service_key("throughput_qps"), _service_key("component_latency_p95", attributes={
        semconv.COMPONENT: "vector"})
    for t in range(1, 16):
        analyzer.ingest_values([qps, vector], np.array([47.0, 1.0]), float(t))
    analyzer.ingest_values([qps], np.array([17.0]), 16.0)  # the component's data of this interval is late
    tracker = IncidentTracker(cooldown_s=900, analyzer=analyzer, lead_s=1.0)
    traffic = _alert("throughput_qps", t=16.0)
    (fired,) = tracker.update([traffic], 16.0)
    assert fired.event == "fired" and fired.cause["kind"] == "traffic"
    for t in (17.0, 18.0):
        analyzer.ingest_values([qps, vector], np.array([17.0, 62.0]), t)
    slow = _alert("component_latency_p95", t=18.0)
    (updated,) = tracker.update([traffic, slow], 18.0)
    assert (updated.event, updated.incident) == ("updated", fired.incident)
    assert (updated.cause["kind"], updated.cause["component"]) == ("latency", "vector")
    assert "traffic down" in updated.cause["summary"] and updated.cause["summary"].endswith("as an effect")
    analyzer.ingest_values([qps, vector], np.array([17.0, 62.0]), 19.0)
    assert tracker.update([traffic, slow], 19.0) == []


class _Keys(list):
    """The Analyzer's list of series, counting the keys looked at by iterating over all of it."""

    def __init__(self, keys, owner) -> None:
        super().__init__(keys)
        self.owner = owner

    def __iter__(self):
        self.owner.scanned += len(self)
        return super().__iter__()


class _CountingAnalyzer(Analyzer):
    """The real Analyzer, counting the series whose points are read and the keys scanned in its series list."""

    reads = 0
    scanned = 0

    def points(self, series, since=-np.inf):
        self.reads += 1
        return super().points(series, since)

    def series(self):
        return _Keys(super().series(), self)


def test_grouping_reads_the_series_of_the_changed_services_only() -> None:
    """1,000 services with an open incident each, then one new service's alert: the update reads that service's
    series, not every service's (incidents in O(changes), not O(series))."""
    analyzer = _CountingAnalyzer(interval_seconds=1.0, resource_label_keys=RESOURCE_KEYS)
    services = [f"junk-{i}" for i in range(1000)]
    metrics = ("error_rate", "throughput_qps", "query_count")
    keys = [_service_key(m, s) for s in [*services, "rec"] for m in metrics]
    for t in range(1, 6):
        analyzer.ingest_values(keys, np.full(len(keys), 1.0), float(t))
    tracker = IncidentTracker(analyzer=analyzer)
    junk = [_alert("error_rate", service=s, t=1.0) for s in services]
    assert len(tracker.update(junk, 1.0)) == 1000
    tracker.update(junk, 10.0)  # the junk incidents' causes are no longer looked at again
    analyzer.reads = analyzer.scanned = 0
    junk = [replace(a, current_value=2.0, last_seen=11.0) for a in junk]  # the AlertManager's next evaluation
    (note,) = tracker.update([*junk, _alert("error_rate", service="rec", level=AlertLevel.CRITICAL, t=11.0)], 11.0)
    assert (note.event, note.labels[semconv.SERVICE_NAME]) == ("fired", "rec")
    assert 0 < analyzer.reads <= 4 * len(metrics)
    assert analyzer.scanned < len(metrics)  # no pass over every service's series (3,003 of them)


def test_resolved_members_and_resolved_incidents_are_bounded(monkeypatch) -> None:
    """All incidents together list at most MAX_PAST resolved members, and MAX_CLOSED resolved incidents are kept."""
    from heritage_otel.analysis import incidents

    monkeypatch.setattr(incidents, "MAX_PAST", 5)
    monkeypatch.setattr(incidents, "MAX_CLOSED", 2)
    tracker = IncidentTracker()
    t = 10.0
    for i in range(8):  # one service whose members come and go: each one that leaves is remembered, up to 5
        tracker.update([_alert(f"m{i}", t=t)], now=t)
        t += 1
    assert sum(len(i.past) for i in tracker.open()) == 5
    for s in range(4):  # incidents of other services open and resolve
        tracker.update([_alert("x", service=f"s{s}", t=t)], now=t)
        tracker.update([], now=t + 1)
        t += 2
    assert len(tracker.recent(100)) == 2
    assert tracker._past_held == sum(len(i.past) for i in [*tracker.open(), *tracker.recent(100)]) <= 5
