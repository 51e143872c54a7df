"""Alerts from findings: policy, dedup, cooldown, escalation, resolution, incidents, delivery to sinks.

An Analyzer evaluation first passes the :class:`~heritage_otel.analysis.policy.AlertPolicy`
(persistence, effect size, direction, minimum sample count, cold start,
inhibition, hysteresis: one finding per firing signal). Then
:class:`AlertManager` keeps one alert per key ``(metric, detector, labels)``:

* a finding for a key without an active alert **fires** a new alert, unless
  the same key fired at the same or a higher level less than ``cooldown_s``
  ago (default 15 minutes): then it is suppressed (the seed's dedup);
* further findings for an active alert update its value, last-seen time and
  exemplars silently; a **higher level escalates** it at once; while it stays
  active it is re-sent once per cooldown period;
* an active alert whose detector judged its series again and found nothing
  **resolves** (``state='resolved'``, ``resolved_at`` set).

These alerts are kept (:meth:`AlertManager.get_active_alerts`,
:meth:`AlertManager.history`), and grouped into incidents by an
:class:`~heritage_otel.analysis.incidents.IncidentTracker`. Notifications are
per incident: each fired, updated, repeated or resolved incident (an
:class:`Alert` whose ``incident`` is its stable id, with its members and
probable cause) goes to each handler and sink through its own bounded queue
and worker thread (:class:`~heritage_otel.analysis.sinks.SinkWorker`): a
handler that raises or hangs never blocks :meth:`AlertManager.observe` or the
other sinks.

>>> from heritage_otel.analysis.findings import Finding, AlertLevel
>>> now = [1000.0]
>>> manager = AlertManager(cooldown_s=900, clock=lambda: now[0], jaeger_url="http://127.0.0.1:16686")
>>> f = Finding("error_rate", "threshold", (), AlertLevel.WARNING, 0.02, 0.005, "error_rate high",
...             exemplars=(("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 1.0),))
>>> alert = manager.process(f)
>>> alert.level.name, alert.state, alert.jaeger_links
('WARNING', 'firing', ('http://127.0.0.1:16686/trace/0af7651916cd43dd8448eb211c80319c',))
>>> manager.process(f) is None   # deduplicated: already active
True
>>> [(n.event, n.incident is not None, len(n.members)) for n in manager.incident_history()]
[('fired', True, 1)]
>>> manager.resolve(f.key).state
'resolved'
>>> [n.event for n in manager.incident_history()]
['fired', 'resolved']
>>> manager.shutdown()
True
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from heritage_otel.analysis.alert import STATE_FIRING, STATE_RESOLVED, Alert, AlertKey
from heritage_otel.analysis.findings import AlertLevel, Evaluation, Finding
from heritage_otel.analysis.incidents import MAX_CLOSED, Incident, IncidentTracker
from heritage_otel.analysis.policy import AlertPolicy, PolicySettings
from heritage_otel.analysis.samples import SeriesKey
from heritage_otel.analysis.sinks.protocol import AlertSink, check_sink
from heritage_otel.analysis.sinks.worker import SinkWorker
from heritage_otel.analysis.slo.tracker import BURN_RATE_DETECTOR
from heritage_otel.checks import check_int, check_number, invalid
from heritage_otel.secrets import mask_text, public_url

__all__ = ["Alert", "AlertLevel", "AlertManager", "STATE_FIRING", "STATE_RESOLVED", "DEFAULT_COOLDOWN_S",
           "DEFAULT_HISTORY_SIZE", "DEFAULT_INCIDENT_HISTORY_SIZE", "DEFAULT_MAX_ACTIVE", "ALERT_BYTES", "MEMBER_BYTES"]

_log = logging.getLogger(__name__)

DEFAULT_COOLDOWN_S: Final = 15 * 60.0
#: Alert events kept (:meth:`AlertManager.history`).
DEFAULT_HISTORY_SIZE: Final = 1000
#: Incident notifications kept (:meth:`AlertManager.incident_history`); each lists up to 50 members.
DEFAULT_INCIDENT_HISTORY_SIZE: Final = 50
#: Active alerts held at once (also the number of keys remembered for the cooldown); see ``max_active``.
DEFAULT_MAX_ACTIVE: Final = 2000
#: Bytes of one Alert besides its labels' characters (a 160-character message, five exemplars and links; measured).
ALERT_BYTES: Final = 5_500
#: Bytes of one incident member dict (its own labels dict) besides the labels' characters (measured).
MEMBER_BYTES: Final = 3_000


@dataclass
class _Track:
    alert: Alert
    series: SeriesKey | None
    notified_at: float


@dataclass
class _Stats:
    fired: int = 0
    escalated: int = 0
    repeated: int = 0
    resolved: int = 0
    suppressed: int = 0
    capped: int = 0


class AlertManager:
    """Turns findings into alerts and hands them to handlers and sinks.

    ``cooldown_s`` dedup/repeat period (default 900 s); ``clock`` returns
    seconds (injectable for tests); ``jaeger_url`` (e.g.
    ``http://127.0.0.1:16686``) adds a link per exemplar trace;
    ``history_size`` bounds :meth:`history`, ``incident_history_size``
    :meth:`incident_history`; ``max_active``
    bounds the active alerts: when it is reached, a new alert replaces the
    oldest active one of a lower level, or is not raised (counted in
    ``capped``), and the cooldown remembers at most that many keys (the
    oldest forgotten first); ``queue_size`` bounds each sink's
    queue (events beyond it are dropped and counted); ``apply_policy``
    (default True) passes each Analyzer evaluation through the
    :class:`~heritage_otel.analysis.policy.AlertPolicy` of its Analyzer's
    ``alert_policy`` (False: every finding is an alert, as detectors see it).
    """

    def __init__(
        self,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        *,
        clock: Callable[[], float] = time.time,
        jaeger_url: str | None = None,
        history_size: int = DEFAULT_HISTORY_SIZE,
        incident_history_size: int = DEFAULT_INCIDENT_HISTORY_SIZE,
        max_active: int = DEFAULT_MAX_ACTIVE,
        queue_size: int = 1000,
        handlers: Iterable[Callable[[Alert], Any]] = (),
        apply_policy: bool = True,
    ) -> None:
        cooldown_s = check_number("cooldown_s", cooldown_s, minimum=0, unit="a number of seconds", what="default 900")
        check_int("history_size", history_size, minimum=1)
        check_int("queue_size", queue_size, minimum=1)
        check_int("max_active", max_active, minimum=1)
        check_int("incident_history_size", incident_history_size, minimum=1)
        if jaeger_url is not None and not str(jaeger_url).startswith(("http://", "https://")):
            raise invalid("jaeger_url", mask_text(str(jaeger_url)),
                          "an http(s) URL such as 'http://127.0.0.1:16686'")
        self.cooldown_s = float(cooldown_s)
        self.clock = clock
        self.jaeger_url = jaeger_url.rstrip("/") if jaeger_url else None
        self.queue_size = queue_size
        self.max_active = max_active
        self._active: dict[AlertKey, _Track] = {}
        self._last_fired: dict[AlertKey, tuple[float, AlertLevel]] = {}
        self._history: deque[Alert] = deque(maxlen=history_size)
        self._workers: list[SinkWorker] = []
        self._lock = threading.RLock()
        self._stats = _Stats()
        self.apply_policy = bool(apply_policy)
        self._policy: AlertPolicy | None = None
        self.incidents = IncidentTracker(self.cooldown_s)
        self._notifications: deque[Alert] = deque(maxlen=incident_history_size)
        self._active_view: tuple[Alert, ...] = ()  # read by the API without waiting for an evaluation
        for handler in handlers:
            self.add_sink(handler)

    # --- sinks --------------------------------------------------------------
    def add_sink(self, sink: AlertSink, name: str | None = None, queue_size: int | None = None) -> SinkWorker:
        """Deliver every alert event to ``sink`` (a plain callable, or an object following the protocols of
        :mod:`heritage_otel.analysis.sinks.protocol`, checked here) on its own worker thread and bounded queue."""
        check_sink(sink)
        if queue_size is not None:
            check_int("queue_size", queue_size, minimum=1)
        label = name or getattr(sink, "__name__", type(sink).__name__)
        worker = SinkWorker(sink, label, queue_size or self.queue_size)
        with self._lock:
            self._workers.append(worker)
        return worker

    @property
    def workers(self) -> tuple[SinkWorker, ...]:
        """The sink workers (for their delivered/failed/dropped counters)."""
        return tuple(self._workers)

    def _notify(self, alert: Alert) -> None:
        self._notifications.append(alert)
        for worker in self._workers:
            worker.submit(alert)

    def _sync_incidents(self, now: float) -> list[Alert]:
        """Regroup the active alerts into incidents; send and return the incident notifications."""
        sent = []
        for note in self.incidents.update([t.alert for t in self._active.values()], now):
            note = replace(note, jaeger_links=self._links(note.exemplar_trace_ids))
            self._notify(note)
            sent.append(note)
        self._active_view = tuple(t.alert for t in self._active.values())
        return sent

    # --- findings -> alerts ----------------------------------------------
    def _links(self, trace_ids: tuple[str, ...]) -> tuple[str, ...]:
        if not self.jaeger_url:
            return ()
        return tuple(f"{public_url(self.jaeger_url)}/trace/{t}" for t in trace_ids)

    def process(self, finding: Finding, now: float | None = None) -> Alert | None:
        """Apply one finding (no policy); returns the alert if it was fired, escalated or repeated, else None.

        The incidents are regrouped at once, so a fired alert is notified (as its incident).
        """
        now = self.clock() if now is None else now
        with self._lock:
            alert = self._process(finding, now)
            if alert is not None:
                self._sync_incidents(now)
            else:
                self._active_view = tuple(t.alert for t in self._active.values())
            return alert

    def _process(self, finding: Finding, now: float) -> Alert | None:
        key = finding.key
        trace_ids = tuple(e[0] for e in finding.exemplars)
        span_ids = tuple(e[1] for e in finding.exemplars)
        track = self._active.get(key)
        if track is not None:
            old = track.alert
            escalate = finding.level > old.level
            changes: dict[str, Any] = {"current_value": finding.value, "last_seen": now, "message": finding.message,
                                       "threshold": finding.threshold}
            if trace_ids:
                changes.update(exemplar_trace_ids=trace_ids, exemplar_span_ids=span_ids,
                               jaeger_links=self._links(trace_ids))
            if escalate:
                changes.update(level=finding.level, event="escalated")
                self._stats.escalated += 1
            elif now - track.notified_at >= self.cooldown_s:
                changes.update(event="repeated")
                self._stats.repeated += 1
            else:
                track.alert = replace(old, **changes)
                return None
            track.alert = replace(old, **changes)
            track.notified_at = now
            self._remember(key, now, track.alert.level)
            self._history.append(track.alert)
            return track.alert
        previous = self._last_fired.get(key)
        if previous is not None and now - previous[0] < self.cooldown_s and finding.level <= previous[1]:
            self._stats.suppressed += 1
            return None
        if len(self._active) >= self.max_active and not self._make_room(finding.level, now):
            self._stats.capped += 1
            return None
        alert = Alert(
            id=uuid.uuid4().hex[:16], level=finding.level, metric=finding.metric, detector=finding.detector,
            labels=dict(finding.labels), current_value=finding.value, threshold=finding.threshold,
            message=finding.message, first_seen=now, last_seen=now, exemplar_trace_ids=trace_ids,
            exemplar_span_ids=span_ids, jaeger_links=self._links(trace_ids),
        )
        self._active[key] = _Track(alert, finding.series, now)
        self._remember(key, now, finding.level)
        self._stats.fired += 1
        self._history.append(alert)
        return alert

    def _remember(self, key: AlertKey, now: float, level: AlertLevel) -> None:
        """Note when ``key`` last fired (for the cooldown); at most ``max_active`` keys, the oldest forgotten."""
        self._last_fired.pop(key, None)
        self._last_fired[key] = (now, level)
        while len(self._last_fired) > self.max_active:
            del self._last_fired[next(iter(self._last_fired))]

    def _make_room(self, level: AlertLevel, now: float) -> bool:
        """At ``max_active``: resolve the oldest active alert of the lowest level if it is below ``level``."""
        lowest = min(self._active.items(), key=lambda kv: (int(kv[1].alert.level), kv[1].alert.last_seen))
        if lowest[1].alert.level >= level:
            return False
        self._resolve(lowest[0], now)
        return True

    def resolve(self, key: AlertKey | str, now: float | None = None) -> Alert | None:
        """Resolve the active alert with this key (or id); returns it resolved, or None if not active."""
        now = self.clock() if now is None else now
        with self._lock:
            alert = self._resolve(key, now)
            if alert is not None:
                self._sync_incidents(now)
            return alert

    def _resolve(self, key: AlertKey | str, now: float) -> Alert | None:
        if isinstance(key, str):
            key = next((k for k, t in self._active.items() if t.alert.id == key), ("", "", ()))
        track = self._active.pop(key, None)
        if track is None:
            return None
        alert = replace(track.alert, state=STATE_RESOLVED, resolved_at=now, event="resolved")
        self._stats.resolved += 1
        self._history.append(alert)
        return alert

    def _policy_for(self, evaluation: Evaluation) -> AlertPolicy | None:
        analyzer = evaluation.analyzer
        if not self.apply_policy or analyzer is None:
            return None
        fresh = self._policy is None or self._policy.analyzer is not analyzer
        if fresh:
            self._policy = AlertPolicy(analyzer)
        if fresh or self.incidents.start_of is None:
            # also after a checkpoint restore: the policy comes back as data, the function reading it does not
            cfg = analyzer.config
            lead = (PolicySettings.resolve("", self._policy.policy).for_intervals + 0.5) * cfg.interval_seconds
            self.incidents.analyzer = analyzer
            self.incidents.lead_s = lead
            policy = self._policy
            self.incidents.start_of = lambda alert: policy.started(alert.metric, alert.labels)
        return self._policy

    def observe(self, evaluation: Evaluation, now: float | None = None) -> list[Alert]:
        """Apply one Analyzer evaluation: policy, fire/escalate/repeat, resolve alerts judged clear, incidents.

        Returns the incident notifications sent to the sinks in this call. Never raises.
        """
        try:
            now = self.clock() if now is None else now
            with self._lock:
                policy = self._policy_for(evaluation)
                slos = getattr(evaluation.analyzer, "slos", None)
                if policy is not None:
                    evaluation = policy.apply(evaluation)
                # burn-rate findings (heritage_otel.analysis.slo) pass no anomaly policy: their windows are theirs
                burning = tuple(slos.findings(evaluation.time_s)) if slos is not None else ()
                seen = set()
                for finding in (*evaluation.findings, *burning):
                    if finding.key in seen:
                        continue  # one finding per key per pass
                    seen.add(finding.key)
                    self._process(finding, now)
                for key, track in list(self._active.items()):
                    if key in seen or track.series is None:
                        continue
                    if key[1] == BURN_RATE_DETECTOR or evaluation.judged(key[1], track.series):
                        self._resolve(key, now)
                return self._sync_incidents(now)
        except Exception:  # noqa: BLE001 - alerting must never break the export path
            _log.exception("alert evaluation failed; findings dropped")
            return []

    # --- reading --------------------------------------------------------------
    @staticmethod
    def _filter(alerts: Iterable[Alert], level: AlertLevel | str | None, metric: str | None) -> list[Alert]:
        if isinstance(level, str):
            level = AlertLevel[level.upper()]
        return [a for a in alerts if (level is None or a.level == level) and (metric is None or a.metric == metric)]

    def get_active_alerts(self, level: AlertLevel | str | None = None, metric: str | None = None) -> list[Alert]:
        """Active (firing) alerts, optionally only one level and/or metric, oldest first (as of the last
        evaluation: reading does not wait for one in progress)."""
        view = self._active_view
        if not view and self._active:  # state restored from outside (a checkpoint) since the last evaluation
            with self._lock:
                view = self._active_view = tuple(t.alert for t in self._active.values())
        return self._filter(view, level, metric)

    def history(self, level: AlertLevel | str | None = None, metric: str | None = None) -> list[Alert]:
        """Every alert event kept (fired, escalated, repeated, resolved), oldest first."""
        with self._lock:
            return self._filter(list(self._history), level, metric)

    def incident_history(self) -> list[Alert]:
        """Every incident notification sent (fired, updated, repeated, resolved), oldest first."""
        with self._lock:
            return list(self._notifications)

    def active_incidents(self) -> list[Incident]:
        """The open :class:`~heritage_otel.analysis.incidents.Incident` objects, most severe first (as of the
        last evaluation)."""
        return self.incidents.open()

    def stats(self) -> dict[str, int]:
        """Counters: fired, escalated, repeated, resolved, suppressed, and per-sink dropped/failed."""
        with self._lock:
            out = {"fired": self._stats.fired, "escalated": self._stats.escalated, "repeated": self._stats.repeated,
                   "resolved": self._stats.resolved, "suppressed": self._stats.suppressed,
                   "capped": self._stats.capped, "active": len(self._active),
                   "incidents_open": len(self.incidents.open()), "notifications": len(self._notifications)}
            out["sink_dropped"] = sum(w.dropped for w in self._workers)
            out["sink_failed"] = sum(w.failed for w in self._workers)
            return out

    def nbytes(self) -> int:
        """Approximate bytes of the alert and incident state (what the resource budget's ``alerts`` and
        ``incidents`` rows bound): :data:`ALERT_BYTES` per alert plus its labels' characters, and so on."""
        def size(alert: Alert) -> int:
            return ALERT_BYTES + sum(len(str(k)) + len(str(v)) for k, v in alert.labels.items())

        with self._lock:
            held = sum(size(t.alert) + 500 for t in self._active.values()) + sum(size(a) for a in self._history)
            held += sum(size(n) + MEMBER_BYTES * len(n.members) for n in self._notifications)
            held += 300 * len(self._last_fired)
            incidents = [*self.incidents.open(), *self.incidents.recent(MAX_CLOSED)]
            held += sum(1_000 + len(i.past) * (ALERT_BYTES + MEMBER_BYTES) for i in incidents)
            return held

    # --- lifecycle ------------------------------------------------------------
    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every sink queue is empty (True) or the timeout passes (False)."""
        deadline = time.monotonic() + timeout_s
        return all(w.flush(max(0.0, deadline - time.monotonic())) for w in list(self._workers))

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Deliver what is queued, stop every sink worker; True when all threads ended in time."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            workers, self._workers = list(self._workers), []
        for w in workers:
            w.request_stop()
        return all([w.close(max(0.0, deadline - time.monotonic())) for w in workers])  # noqa: C419 - close every worker, no short-circuit
