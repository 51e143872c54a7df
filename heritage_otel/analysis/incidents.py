"""Incidents: the active alerts of one service grouped into one thing to tell a person about.

The :class:`~heritage_otel.analysis.alerts.AlertManager` keeps one alert per
signal (after the :mod:`~heritage_otel.analysis.policy`); the
:class:`IncidentTracker` groups them:

- all active alerts of one ``service.name`` in the same window are one
  incident (latency up, fallbacks up and quality down of one service are one
  story); a new alert of that service while its incident is open joins it;
- **replica versus fleet**: an incident whose per-replica members are on one
  replica (or a minority of the replicas sending data) is a ``replica``
  incident naming that instance, with the fleet's signals as further members;
  most replicas bad make it a ``fleet`` incident; never both. The fleet
  aggregate of a service with replicas joins an incident but does not open
  or hold one (a replica's export that arrives late lands in the next fleet
  interval, so the aggregate flaps where its replicas do not);
- its **severity** is the highest member's; it carries its members, first
  and last seen times, exemplar trace ids and its probable cause
  (:func:`~heritage_otel.analysis.cause.probable_cause`).

Each change is one notification, an :class:`~heritage_otel.analysis.alerts.Alert`
whose ``id`` and ``incident`` are the stable incident id: ``fired`` when it
opens, ``updated`` when its severity rises or (at most once per cooldown)
its members change, ``repeated`` once per cooldown while it lasts,
``resolved`` when its last member resolved.

>>> from heritage_otel.analysis.alert import Alert
>>> from heritage_otel.analysis.findings import AlertLevel
>>> tracker = IncidentTracker(cooldown_s=900)
>>> a = Alert("a1", AlertLevel.WARNING, "fallback_rate", "mad", {"service.name": "rec"}, 0.7, 0.1, "up", 10, 10)
>>> [(n.event, n.state, n.level.name) for n in tracker.update([a], now=10)]
[('fired', 'firing', 'WARNING')]
>>> b = Alert("b1", AlertLevel.CRITICAL, "error_rate", "threshold", {"service.name": "rec"}, 0.2, 0.05, "up", 11, 11)
>>> [(n.event, n.level.name, len(n.members)) for n in tracker.update([a, b], now=11)]
[('updated', 'CRITICAL', 2)]
>>> [(n.event, n.state) for n in tracker.update([], now=12)]
[('resolved', 'resolved')]
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from heritage_otel import semconv
from heritage_otel.analysis.alert import STATE_FIRING, STATE_RESOLVED, Alert
from heritage_otel.analysis.cause import STRENGTH, Cause, SeriesIndex, probable_cause
from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.analysis.policy import THRESHOLD_DETECTOR, signal_of
from heritage_otel.analysis.slo.tracker import BURN_RATE_DETECTOR

__all__ = ["Incident", "IncidentTracker", "SCOPES", "MAX_MEMBERS", "MAX_CLOSED", "MAX_PAST"]

#: Incident scopes: one replica, most of a fleet, or a service without replicas.
SCOPES = ("replica", "fleet", "service")
_MAX_TRACES = 5
#: Members listed in one notification (the most severe); an incident may have more.
MAX_MEMBERS = 50
#: Resolved incidents kept (:meth:`IncidentTracker.recent`).
MAX_CLOSED = 100
#: Resolved members remembered by all incidents together (open and kept); beyond, one that resolves is not listed.
MAX_PAST = 1000
#: For this many intervals after it opened, an incident whose cause is only a traffic change (or unknown) looks
#: again each evaluation: the data of a slower component may arrive an interval after the traffic's.
_WEAK_CAUSE_INTERVALS = 5
AlertKey = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass
class Incident:
    """One open (or just resolved) incident."""

    id: str
    service: str | None
    first_seen: float
    last_seen: float
    level: AlertLevel = AlertLevel.WARNING
    members: dict[AlertKey, Alert] = field(default_factory=dict)
    past: dict[AlertKey, Alert] = field(default_factory=dict)
    scope: str = "service"
    instances: tuple[str, ...] = ()
    cause: Cause | None = None
    notified_at: float = -math.inf
    members_notified_at: float = -math.inf
    signals_notified: frozenset[str] = frozenset()
    cause_notified: tuple[Any, ...] = ()
    _dicts: dict[AlertKey, tuple[Alert, dict[str, Any]]] = field(default_factory=dict, repr=False)

    def member_dicts(self, limit: int, alerts: list[Alert] | None = None) -> tuple[dict[str, Any], ...]:
        """The members (or ``alerts``) as dicts (built once per alert version), most severe first, at most ``limit``."""
        out = []
        for alert in sorted(self.all_members() if alerts is None else alerts, key=lambda a: (-int(a.level), a.first_seen))[:limit]:
            cached = self._dicts.get(alert.key)
            if cached is None or cached[0] is not alert:
                cached = self._dicts[alert.key] = (alert, _member_dict(alert))
            out.append(cached[1])
        return tuple(out)

    def all_members(self) -> list[Alert]:
        """Active members first, then those that resolved while the incident lasted."""
        return [*self.members.values(), *(a for k, a in self.past.items() if k not in self.members)]


def _service(alert: Alert) -> str | None:
    return alert.labels.get(semconv.SERVICE_NAME)


def _instance(alert: Alert) -> str | None:
    return alert.labels.get(semconv.SERVICE_INSTANCE_ID)


def _primary(alerts: Iterable[Alert]) -> Alert:
    return min(alerts, key=lambda a: (-int(a.level), a.detector != THRESHOLD_DETECTOR, a.first_seen, a.metric))


def _member_dict(alert: Alert) -> dict[str, Any]:
    d = alert.to_dict()
    return {k: d[k] for k in ("id", "metric", "detector", "level", "state", "labels", "current_value", "threshold",
                              "message", "first_seen", "last_seen", "exemplar_trace_ids")} | {
        "signal": signal_of(alert.metric)}


def _identity(cause: Cause | None) -> tuple[Any, ...]:
    return () if cause is None else (cause.kind, cause.component, cause.instance, cause.fallback_strategy)


class IncidentTracker:
    """Groups active alerts into incidents and says what to notify (see the module docstring).

    ``cooldown_s``: the repeat period of an open incident and the least time
    between two member-change updates; ``analyzer`` (optional) supplies
    the replicas known per service and the data of the probable cause;
    ``start_of`` (optional) maps an alert to the time its condition began
    (the policy's streak start), else its first-seen time minus ``lead_s``.
    """

    def __init__(self, cooldown_s: float = 900.0, *, analyzer: Any = None, lead_s: float = 0.0,
                 start_of: Callable[[Alert], float] | None = None) -> None:
        self.cooldown_s = float(cooldown_s)
        self.analyzer = analyzer
        self.lead_s = float(lead_s)
        self.start_of = start_of
        self._open: dict[str | None, Incident] = {}
        self._closed: list[Incident] = []
        self._past_held = 0  # resolved members held by the open and the kept incidents (at most MAX_PAST)
        self._index: SeriesIndex | None = None
        self._open_view: tuple[Incident, ...] = ()

    # --- reading ----------------------------------------------------------------
    def open(self) -> list[Incident]:
        """Open incidents, most severe first (as of the last :meth:`update`: reading never waits for one)."""
        if not self._open_view and self._open:  # state restored from outside (a checkpoint) since then
            self._publish()
        return list(self._open_view)

    def _publish(self) -> None:
        self._open_view = tuple(sorted(self._open.values(), key=lambda i: (-int(i.level), i.first_seen)))

    def recent(self, limit: int = 100) -> list[Incident]:
        """Resolved incidents, newest first (at most ``limit``)."""
        return list(reversed(self._closed[-limit:]))

    # --- updating ---------------------------------------------------------------
    def update(self, active: Iterable[Alert], now: float) -> list[Alert]:
        """Apply the current set of active alerts; returns the notifications to send, in order.

        The work is in the services whose alerts changed (and the open incidents whose cause is still weak):
        an incident whose members are the same alert objects as last time is left as it is, and the series
        read are those of the incident's service (a :class:`~heritage_otel.analysis.cause.SeriesIndex`).
        """
        by_service: dict[str | None, list[Alert]] = {}
        for alert in active:
            by_service.setdefault(_service(alert), []).append(alert)
        if self.analyzer is not None:
            if self._index is None or self._index.analyzer is not self.analyzer:
                self._index = SeriesIndex(self.analyzer)
            self._index.refresh()
        for service, alerts in list(by_service.items()):
            # the fleet aggregate of a service with replicas only joins: its replicas' signals open and hold it
            # (a burn-rate alert is the service's own, not an aggregate's: it opens and holds an incident)
            if (not any(_instance(a) is not None or a.detector == BURN_RATE_DETECTOR for a in alerts)
                    and len(self._known_instances(service)) > 1):
                del by_service[service]
        out: list[Alert] = []
        for service, alerts in by_service.items():
            incident = self._open.get(service)
            if incident is None:
                incident = self._open[service] = Incident(uuid.uuid4().hex[:16], service, now, now)
                self._refresh(incident, alerts, now)
                out.append(self._notify(incident, "fired", now))
                incident.members_notified_at = now
                incident.signals_notified = self._signals(incident)
                incident.cause_notified = _identity(incident.cause)
                continue
            before = incident.level
            if not self._refresh(incident, alerts, now):
                if now - incident.notified_at >= self.cooldown_s:
                    out.append(self._notify(incident, "repeated", now))
                continue
            signals = self._signals(incident)
            if incident.level > before or self._explains_more(incident):
                out.append(self._notify(incident, "updated", now))
                incident.signals_notified = signals
                incident.cause_notified = _identity(incident.cause)
            elif signals - incident.signals_notified and now - incident.members_notified_at >= self.cooldown_s:
                out.append(self._notify(incident, "updated", now))
                incident.members_notified_at = now
                incident.signals_notified = signals
            elif now - incident.notified_at >= self.cooldown_s:
                out.append(self._notify(incident, "repeated", now))
        for service in [s for s in self._open if s not in by_service]:
            incident = self._open.pop(service)
            resolved = {key: replace(alert, state=STATE_RESOLVED, resolved_at=now)
                        for key, alert in incident.members.items()}
            for key, alert in resolved.items():
                self._remember_past(incident, key, alert)
            listed = [*resolved.values(), *(a for k, a in incident.past.items() if k not in resolved)]
            incident.members = {}
            incident.last_seen = now
            out.append(self._notify(incident, "resolved", now, listed))  # all of them, remembered or not
            incident._dicts.clear()  # built again if a reader asks for the members of a resolved incident
            self._closed.append(incident)
            for dropped in self._closed[:-MAX_CLOSED]:
                self._past_held -= len(dropped.past)
            del self._closed[:-MAX_CLOSED]
        self._publish()
        return out

    @staticmethod
    def _explains_more(incident: Incident) -> bool:
        """The cause now names more than the one last notified (a component where it said traffic): one update."""
        cause, notified = incident.cause, incident.cause_notified
        if cause is None or _identity(cause) == notified:
            return False
        return not notified or STRENGTH.get(cause.kind, 0) > STRENGTH.get(notified[0], 0) or (
            notified[1] is None and cause.component is not None)

    @staticmethod
    def _signals(incident: Incident) -> frozenset[str]:
        return frozenset(signal_of(a.metric) for a in incident.members.values())

    def _refresh(self, incident: Incident, alerts: list[Alert], now: float) -> bool:
        """Bring the incident up to date with its service's active alerts; False when nothing changed (the same
        alert objects, and a cause that is already more than a traffic change)."""
        current = {a.key: a for a in alerts}
        same = (len(current) == len(incident.members)
                and all(incident.members.get(k) is a for k, a in current.items()))
        weak = (self.analyzer is not None and now - incident.first_seen <= _WEAK_CAUSE_INTERVALS *
                self.analyzer.config.interval_seconds and
                (incident.cause is None or STRENGTH.get(incident.cause.kind, 0) <= STRENGTH["traffic"]))
        if same and not weak:
            incident.last_seen = now
            return False
        joined = any(k not in incident.members and k not in incident.past for k in current)
        changed = joined or incident.cause is None or weak  # a member that left changes no cause
        for key, alert in incident.members.items():
            if key not in current:
                self._remember_past(incident, key, replace(alert, state=STATE_RESOLVED, resolved_at=now))
        incident.members = current
        if len(incident._dicts) > len(current) + len(incident.past):  # cached dicts of alerts no longer listed
            keep = current.keys() | incident.past.keys()
            incident._dicts = {k: v for k, v in incident._dicts.items() if k in keep}
        incident.level = max(incident.level, max(a.level for a in alerts))
        incident.last_seen = now
        incident.scope, incident.instances = self._scope(incident.service, alerts)
        if self.analyzer is not None and changed:  # the cause reads the series of the incident's scope
            try:
                start = min(self._start(a) for a in incident.all_members())
                instance = incident.instances[0] if incident.scope == "replica" and len(incident.instances) == 1 else None
                cause = probable_cause(self.analyzer, service=incident.service, instance=instance, since=start,
                                       signals=self._signals(incident), index=self._index)
                old = incident.cause  # a weaker cause of the same scope never replaces a stronger one
                if old is None or old.instance != cause.instance or STRENGTH.get(cause.kind, 0) >= STRENGTH.get(
                        old.kind, 0):
                    incident.cause = cause
            except Exception:  # noqa: BLE001 - a cause we cannot compute must not stop the notification
                incident.cause = None
        return True

    def _remember_past(self, incident: Incident, key: AlertKey, alert: Alert) -> None:
        """Keep a resolved member in ``incident.past`` while all incidents together hold under :data:`MAX_PAST`."""
        if key in incident.past:
            incident.past[key] = alert
        elif self._past_held < MAX_PAST:
            incident.past[key] = alert
            self._past_held += 1

    def _start(self, alert: Alert) -> float:
        if self.start_of is not None:
            start = self.start_of(alert)
            if math.isfinite(start):
                return start
        return alert.first_seen - self.lead_s

    def _known_instances(self, service: str | None) -> set[str]:
        """The replicas of ``service`` that sent data recently (read from the index: that service's series only)."""
        if self.analyzer is None or self._index is None:
            return set()
        cfg = self.analyzer.config
        since = self.analyzer.last_time - cfg.stale_after_intervals * cfg.interval_seconds
        return {inst for inst, keys in self._index.instances(service).items()
                if inst is not None and any(self.analyzer.recent_values(k, since).size for k in keys)}

    def _scope(self, service: str | None, alerts: list[Alert]) -> tuple[str, tuple[str, ...]]:
        bad = sorted({i for a in alerts if (i := _instance(a)) is not None})
        if not bad:
            has_replicas = len(self._known_instances(service)) > 1
            return ("fleet" if has_replicas else "service"), ()
        known = self._known_instances(service) | set(bad)
        if len(known) <= 1:
            return "service", tuple(bad)
        if len(bad) * 2 > len(known):
            return "fleet", tuple(bad)
        return "replica", tuple(bad)

    # --- notifications ----------------------------------------------------------
    def _notify(self, incident: Incident, event: str, now: float, listed: list[Alert] | None = None) -> Alert:
        incident.notified_at = now
        members = incident.all_members() if listed is None else listed
        primary = _primary(incident.members.values() if incident.members else members)
        resolved = event == "resolved"
        labels: dict[str, str] = {}
        if incident.service is not None:
            labels[semconv.SERVICE_NAME] = incident.service
        if incident.scope == "replica" and len(incident.instances) == 1:
            labels[semconv.SERVICE_INSTANCE_ID] = incident.instances[0]
        burning = [a for a in incident.all_members() if a.detector == BURN_RATE_DETECTOR]
        if burning:  # the Alertmanager labels of an SLO incident: slo and burn_window of its first burn (stable)
            labels.update({k: min(burning, key=lambda a: a.first_seen).labels[k] for k in ("slo", "burn_window")})
        cause = incident.cause  # its component stays out of the labels: they name the incident for its whole life
        pairs: list[tuple[str, str]] = []
        if cause is not None:
            span_of = {t: s for a in members for t, s in zip(a.exemplar_trace_ids, a.exemplar_span_ids, strict=False)}
            pairs.extend((t, span_of.get(t, "")) for t in cause.trace_ids)
        for a in sorted(members, key=lambda a: -int(a.level)):
            pairs.extend(zip(a.exemplar_trace_ids, a.exemplar_span_ids, strict=False))
        seen: dict[str, str] = {}
        for t, s in pairs:
            if t and t not in seen:
                seen[t] = s
        trace_ids = tuple(seen)[:_MAX_TRACES]
        others = sorted({signal_of(a.metric) for a in members} - {signal_of(primary.metric)})
        where = incident.service or "the service"
        if incident.scope == "replica":
            where += f", replica {', '.join(incident.instances)}"
        elif incident.scope == "fleet":
            where += ", fleet"
        message = primary.message + (f"; also {', '.join(others)}" if others else "") + f" [incident in {where}]"
        if cause is not None:
            message += f". Probable cause: {cause.summary}"
        return Alert(
            id=incident.id, level=incident.level, metric=primary.metric, detector=primary.detector, labels=labels,
            current_value=primary.current_value, threshold=primary.threshold, message=message,
            first_seen=incident.first_seen, last_seen=incident.last_seen, exemplar_trace_ids=trace_ids,
            exemplar_span_ids=tuple(seen[t] for t in trace_ids),
            state=STATE_RESOLVED if resolved else STATE_FIRING, resolved_at=now if resolved else None, event=event,
            incident=incident.id, members=incident.member_dicts(MAX_MEMBERS, members),
            cause=cause.to_dict() if cause is not None else None, scope=incident.scope,
        )
