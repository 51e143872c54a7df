"""Budgets, burn rates and burn-rate findings; alerts and incidents through the AlertManager."""

from __future__ import annotations

import json

import pytest

from heritage_otel.analysis import AlertManager, Analyzer
from heritage_otel.analysis.sinks.alertmanager import to_alertmanager
from heritage_otel.analysis.slo import SloTracker, parse_documents
from tests.analysis.slo.helpers import REPLICA, RESOURCE, availability, queries


def _tracker(**spec) -> SloTracker:
    return SloTracker(parse_documents([availability(**spec)]))


def _feed(tracker: SloTracker, minutes, ok: float, failed: float, resource=RESOURCE) -> None:
    for m in minutes:
        tracker.ingest(queries(m * 60, ok, failed, resource), {})


def test_burn_rate_is_the_bad_share_over_the_budget() -> None:
    tracker = _tracker()
    _feed(tracker, range(1, 61), 98, 2)
    [row] = tracker.status(3600.0)
    assert row["burn_rates"]["1h"] == pytest.approx(2.0) and row["sli"] == pytest.approx(0.98)
    assert row["budget_remaining"] == pytest.approx(-1.0)


def test_a_fast_burn_pages_and_a_slow_burn_tickets() -> None:
    fast, slow = _tracker(), _tracker()
    _feed(fast, range(1, 61), 80, 20)
    _feed(slow, range(1, 61), 97, 3)
    assert [(f.level.name, dict(f.labels)["burn_window"]) for f in fast.findings(3600.0)] == [
        ("CRITICAL", "1h"), ("CRITICAL", "6h"), ("WARNING", "3d")]
    assert [(f.level.name, dict(f.labels)["burn_window"]) for f in slow.findings(3600.0)] == [("WARNING", "3d")]


def test_within_budget_nothing_is_found() -> None:
    tracker = _tracker()
    _feed(tracker, range(1, 61), 999, 1)
    assert tracker.findings(3600.0) == []


def test_each_window_resolves_on_its_own_after_recovery() -> None:
    """After a fast burn, the 1h page (5m short window) stops first, the 6h page (30m) next, the ticket last."""
    tracker = _tracker()
    _feed(tracker, range(1, 61), 80, 20)
    _feed(tracker, range(61, 71), 100, 0)
    assert [dict(f.labels)["burn_window"] for f in tracker.findings(70 * 60.0)] == ["6h", "3d"]
    _feed(tracker, range(71, 101), 100, 0)
    assert [dict(f.labels)["burn_window"] for f in tracker.findings(100 * 60.0)] == ["3d"]


def test_the_long_window_alone_does_not_page() -> None:
    """A burst that ended: the 1h and 6h windows still burn at 16.7x, the 5m and 30m ones no more: no page
    (the ticket's 6h short window still holds it)."""
    tracker = _tracker()
    _feed(tracker, range(1, 11), 0, 100)
    _feed(tracker, range(11, 61), 100, 0)
    assert [f.level.name for f in tracker.findings(3600.0)] == ["WARNING"]


def test_the_fleet_aggregate_is_not_counted_twice_with_its_replicas() -> None:
    tracker = _tracker()
    _feed(tracker, range(1, 11), 90, 10, REPLICA)
    _feed(tracker, range(1, 11), 90, 10, RESOURCE)
    [row] = tracker.status(600.0)
    assert row["total"] == 1000.0


def test_alert_after_delays_the_finding() -> None:
    policy = {"kind": "AlertPolicy", "metadata": {"name": "p"}, "spec": {"conditions": [{
        "metadata": {"name": "c"}, "spec": {"severity": "page", "condition": {
            "kind": "burnrate", "threshold": 2, "lookbackWindow": "1h", "alertAfter": "10m"}}}]}}
    tracker = _tracker(alertPolicies=[policy])
    _feed(tracker, range(1, 61), 90, 10)
    assert tracker.findings(3600.0) == []
    _feed(tracker, range(61, 72), 90, 10)
    assert [f.level.name for f in tracker.findings(4300.0)] == ["CRITICAL"]


def test_state_is_json_and_a_changed_document_starts_afresh() -> None:
    tracker = _tracker()
    _feed(tracker, range(1, 11), 90, 10)
    state = json.loads(json.dumps(tracker.state()))
    same = _tracker()
    assert same.restore(state) == ["availability"] and same.status(600.0)[0]["total"] == 1000.0
    changed = _tracker(objectives=[{"target": 0.9}])
    assert changed.restore(state) == [] and changed.status(600.0)[0]["total"] == 0.0


def test_burn_rate_alerts_open_and_resolve_an_incident_with_slo_labels() -> None:
    analyzer = Analyzer(interval_seconds=60)
    analyzer.slos = _tracker()
    manager = AlertManager(apply_policy=False)
    for m in range(1, 61):
        analyzer.ingest(queries(m * 60, 80, 20))
    [note] = manager.observe(analyzer.evaluate(3600.0), now=3600.0)
    assert (note.event, note.level.name, note.labels["slo"], note.labels["burn_window"]) == (
        "fired", "CRITICAL", "availability", "1h")
    assert sorted(m["labels"]["burn_window"] for m in note.members if m["detector"] == "burn_rate") == ["1h", "3d", "6h"]
    labels = to_alertmanager(note, 4000.0)["labels"]
    assert (labels["slo"], labels["burn_window"], labels["severity"]) == ("availability", "1h", "critical")
    for m in range(61, 430):  # past the 6h short window of the ticket
        analyzer.ingest(queries(m * 60, 100, 0))
    notes = manager.observe(analyzer.evaluate(430 * 60.0), now=430 * 60.0)
    assert [(n.event, n.labels["slo"]) for n in notes] == [("resolved", "availability")]
    manager.shutdown()


def test_a_burn_rate_finding_carries_the_traces_of_failed_queries() -> None:
    from dataclasses import replace

    tracker = _tracker()
    for m in range(1, 61):
        ok, failed = queries(m * 60, 80, 20)
        failed = replace(failed, exemplar_trace_ids=(f"{m:032x}",), exemplar_span_ids=("b7ad6b7169203331",),
                         exemplar_values=(1.0,))
        ok = replace(ok, exemplar_trace_ids=("f" * 32,), exemplar_span_ids=("b7ad6b7169203331",), exemplar_values=(1.0,))
        tracker.ingest([ok, failed], {})
    page = tracker.findings(3600.0)[0]
    assert [e[0] for e in page.exemplars] == [f"{60:032x}"]
