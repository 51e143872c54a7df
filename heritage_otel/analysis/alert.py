"""One alert and its states, apart from the manager that makes them (so the sinks, the incidents and
the manager can all import it without a circle, as the SDK keeps its point types apart).

>>> from heritage_otel.analysis.findings import AlertLevel
>>> a = Alert("a1", AlertLevel.WARNING, "error_rate", "threshold", {"service": "x"}, 0.02, 0.005,
...           "error_rate high", first_seen=0.0, last_seen=60.0)
>>> a.state == STATE_FIRING, a.active, a.key
(True, True, ('error_rate', 'threshold', (('service', 'x'),)))
>>> a.to_dict()["last_seen"]
'1970-01-01T00:01:00+00:00'
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.analysis.samples import Labels

__all__ = ["Alert", "AlertKey", "STATE_FIRING", "STATE_RESOLVED"]

STATE_FIRING: Final = "firing"
STATE_RESOLVED: Final = "resolved"
AlertKey = tuple[str, str, Labels]


@dataclass(frozen=True)
class Alert:
    """One alert (frozen; the manager replaces it as it changes).

    Seed-compatible aliases: :attr:`metric_name`, :attr:`timestamp`.
    """

    id: str
    level: AlertLevel
    metric: str
    detector: str
    labels: Mapping[str, str]
    current_value: float
    threshold: float
    message: str
    first_seen: float
    last_seen: float
    exemplar_trace_ids: tuple[str, ...] = ()
    exemplar_span_ids: tuple[str, ...] = ()
    jaeger_links: tuple[str, ...] = ()
    state: str = STATE_FIRING
    resolved_at: float | None = None
    event: str = "fired"
    incident: str | None = None
    members: tuple[Mapping[str, Any], ...] = ()
    cause: Mapping[str, Any] | None = None
    scope: str | None = None

    def __hash__(self) -> int:
        return hash((self.id, self.state, self.last_seen, self.level))

    @property
    def key(self) -> AlertKey:
        """Dedup key: (metric, detector, sorted labels)."""
        return (self.metric, self.detector, tuple(sorted(self.labels.items())))

    @property
    def metric_name(self) -> str:
        """The seed's name for :attr:`metric`."""
        return self.metric

    @property
    def timestamp(self) -> _dt.datetime:
        """Last-seen time as an aware UTC datetime (the seed's ``timestamp``)."""
        return _dt.datetime.fromtimestamp(self.last_seen, tz=_dt.UTC)

    @property
    def active(self) -> bool:
        """True while firing."""
        return self.state == STATE_FIRING

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (times as RFC 3339 strings, NaN as None)."""

        def num(v: float) -> float | None:
            return None if v is None or not math.isfinite(v) else v

        def iso(t: float | None) -> str | None:
            return None if t is None else _dt.datetime.fromtimestamp(t, tz=_dt.UTC).isoformat()

        return {
            "id": self.id, "level": self.level.name, "state": self.state, "event": self.event,
            "metric": self.metric, "detector": self.detector, "labels": dict(self.labels),
            "current_value": num(self.current_value), "threshold": num(self.threshold), "message": self.message,
            "first_seen": iso(self.first_seen), "last_seen": iso(self.last_seen), "resolved_at": iso(self.resolved_at),
            "exemplar_trace_ids": list(self.exemplar_trace_ids), "exemplar_span_ids": list(self.exemplar_span_ids),
            "jaeger_links": list(self.jaeger_links),
            "incident": self.incident if self.incident is not None else self.id,
            "scope": self.scope, "members": [dict(m) for m in self.members],
            "cause": dict(self.cause) if self.cause is not None else None,
        }
