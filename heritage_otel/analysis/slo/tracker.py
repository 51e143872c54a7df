"""Error budgets and burn rates of a set of objectives, and the burn-rate findings that become incidents.

The :class:`~heritage_otel.analysis.Analyzer` hands each ingested export to
:meth:`SloTracker.ingest` (its ``slos`` attribute); the
:class:`~heritage_otel.analysis.alerts.AlertManager` asks
:meth:`SloTracker.findings` at each evaluation and treats them as it treats
every other finding (alerts, incidents, sinks), past the anomaly policy: a
burn-rate condition is its own persistence rule.

Per objective and service it keeps two rings of good/total counts
(:class:`~heritage_otel.analysis.slo.ring.SlotRing`), one for the fleet
aggregate (exports without ``service.instance.id``) and one for the sum of
the replicas, each at two resolutions: fine slots (a tenth of the shortest
burn window) over the longest burn window, for burn rates, and coarse slots
(1/672 of the time window: one hour of 28 days) over the whole time window,
for the budget. The fleet's counts are used when it has any in the time
window, else the replicas'. Memory per objective: about 2 x 2 x (8,640 +
673) numbers at the defaults, whatever the traffic.

Burn rate over a window = (bad / total in the window) / (1 - target): 1
spends the budget exactly over the time window. A condition holds when the
burn rate is at least its factor over its long *and* its short window; the
each condition holding is a finding (``page`` -> CRITICAL, ``ticket`` ->
WARNING) with the labels ``slo``, ``burn_window`` and ``service.name``, so
each window's alert fires and resolves on its own (the 1h page stops within
minutes of recovery, the 3d ticket hours later) and all of them join the
service's incident.

>>> from heritage_otel.analysis.slo.spec import parse_documents
>>> from heritage_otel.analysis.samples import IntervalSample, SeriesKey, KIND_SUM
>>> [objective] = parse_documents([{"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "availability"},
...     "spec": {"service": "rec", "budgetingMethod": "Occurrences", "objectives": [{"target": 0.99}],
...              "timeWindow": [{"duration": "28d", "isRolling": True}],
...              "indicator": {"metadata": {"name": "ok"}, "spec": {"ratioMetric": {
...                  "bad": {"metricSource": {"type": "HeritageOtel",
...                          "spec": {"metric": "heritage.queries", "attributes": {"heritage.success": False}}}},
...                  "total": {"metricSource": {"type": "HeritageOtel", "spec": {"metric": "heritage.queries"}}}}}}}}])
>>> tracker = SloTracker([objective])
>>> res = (("service.name", "rec"),)
>>> def queries(t, ok, failed):
...     return [IntervalSample(SeriesKey("heritage.queries", (("heritage.success", "true"),), res), KIND_SUM,
...                            (t - 60) * 10**9, t * 10**9, ok, ok),
...             IntervalSample(SeriesKey("heritage.queries", (("heritage.success", "false"),), res), KIND_SUM,
...                            (t - 60) * 10**9, t * 10**9, failed, failed)]
>>> for minute in range(1, 61):
...     tracker.ingest(queries(minute * 60, 80, 20), {})
>>> [(f.level.name, dict(f.labels)["burn_window"], round(f.value, 1)) for f in tracker.findings(3600.0)]
[('CRITICAL', '1h', 20.0), ('CRITICAL', '6h', 20.0), ('WARNING', '3d', 20.0)]
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from heritage_otel import semconv
from heritage_otel.analysis.findings import AlertLevel, Finding
from heritage_otel.analysis.samples import KIND_HISTOGRAM, IntervalSample, Labels, SeriesKey
from heritage_otel.analysis.slo.counting import events, matches
from heritage_otel.analysis.slo.ring import SlotRing
from heritage_otel.analysis.slo.spec import SHORT_WINDOW_DIVISOR, BurnRule, Objective, parse_duration

__all__ = ["BURN_RATE_DETECTOR", "BURN_WINDOWS", "SloTracker", "STATE_FORMAT"]

_log = logging.getLogger(__name__)

#: The detector name of burn-rate findings and alerts.
BURN_RATE_DETECTOR: Final = "burn_rate"
#: The windows whose burn rate is reported (unscaled).
BURN_WINDOWS: Final = ("5m", "30m", "1h", "6h", "3d")
#: Version of :meth:`SloTracker.state`.
STATE_FORMAT: Final = 1
_FINE_PER_SHORT: Final = 10
_COARSE_SLOTS: Final = 672
_SOURCES: Final = ("fleet", "replicas")
_LEVEL: Final = {"page": AlertLevel.CRITICAL, "ticket": AlertLevel.WARNING}
_MAX_EXEMPLARS: Final = 5
_Exemplar = tuple[str, str, float]


@dataclass
class _Rings:
    fine: SlotRing
    coarse: SlotRing


@dataclass
class _Track:
    objective: Objective
    rings: dict[str, _Rings]
    since: dict[str, float] = field(default_factory=dict)
    exemplars: tuple[_Exemplar, ...] = ()


def _resource_value(resource: Labels, key: str) -> str | None:
    return next((v for k, v in resource if k == key), None)


def _bad_exemplars(objective: Objective, samples: Iterable[IntervalSample]) -> list[_Exemplar]:
    """Exemplars of the interval's bad events: failed queries, slow queries, low scores."""
    out: list[_Exemplar] = []
    for s in samples:
        triples = zip(s.exemplar_trace_ids, s.exemplar_span_ids, s.exemplar_values, strict=False)
        src = objective.threshold_source
        if src is not None and src.metric is not None and s.kind == KIND_HISTOGRAM and matches(s, src):
            assert objective.op is not None and objective.value is not None  # noqa: S101 - narrows the type; the loader guarantees it
            upper = objective.op in ("lt", "lte")
            out.extend(e for e in triples if (e[2] > objective.value) == upper)
        elif objective.bad is not None and matches(s, objective.bad) or (objective.good is not None and objective.total is not None and matches(s, objective.total)
              and not matches(s, objective.good)):
            out.extend(triples)
    return out


class SloTracker:
    """Budgets, burn rates and burn-rate findings of ``objectives`` (see the module docstring).

    ``time_scale`` (the one the objectives were parsed with) scales the reported windows
    (:data:`BURN_WINDOWS`). Thread-safety: called under the Analyzer's and the AlertManager's locks.
    """

    def __init__(self, objectives: Sequence[Objective], *, time_scale: float = 1.0) -> None:
        self.objectives = tuple(objectives)
        self.time_scale = float(time_scale)
        self.windows = {w: parse_duration(w, "window") * self.time_scale for w in BURN_WINDOWS}
        self._tracks: dict[str, _Track] = {}
        for o in self.objectives:
            shortest = min([r.short_s for r in o.rules] + [min(self.windows.values())])
            longest = max([r.long_s for r in o.rules] + [max(self.windows.values())])
            fine_s = shortest / _FINE_PER_SHORT
            coarse_s = o.window_s / _COARSE_SLOTS
            rings = {src: _Rings(SlotRing(fine_s, math.ceil(longest / fine_s) + 1),
                                 SlotRing(coarse_s, _COARSE_SLOTS + 1)) for src in _SOURCES}
            self._tracks[o.name] = _Track(o, rings)
        self.errors = 0
        self._lock = threading.RLock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # --- input -------------------------------------------------------------------
    def ingest(self, samples: Iterable[IntervalSample], indicators: Mapping[SeriesKey, float]) -> None:
        """Count one export's events for every objective of its service(s). Never raises."""
        with self._lock:
            self._ingest(samples, indicators)

    def _ingest(self, samples: Iterable[IntervalSample], indicators: Mapping[SeriesKey, float]) -> None:
        try:
            by_resource: dict[Labels, list[IntervalSample]] = defaultdict(list)
            for s in samples:
                by_resource[s.series.resource].append(s)
            for resource, group in by_resource.items():
                service = _resource_value(resource, semconv.SERVICE_NAME)
                source = "fleet" if _resource_value(resource, semconv.SERVICE_INSTANCE_ID) is None else "replicas"
                t = max(s.end_ns for s in group) / 1e9
                mine = {k: v for k, v in indicators.items() if k.resource == resource}
                for track in self._tracks.values():
                    if track.objective.service != service:
                        continue
                    good, total = events(track.objective, group, mine)
                    if total <= 0:
                        continue
                    rings = track.rings[source]
                    rings.fine.add(t, good, total)
                    rings.coarse.add(t, good, total)
                    if good < total:
                        found = _bad_exemplars(track.objective, group)
                        if found:
                            track.exemplars = tuple(found[:_MAX_EXEMPLARS])
        except Exception:  # noqa: BLE001 - telemetry must not break the export path
            self.errors += 1
            _log.exception("SLO accounting failed for one export; its events are not counted")

    # --- reading -----------------------------------------------------------------
    def _rings(self, track: _Track, now: float) -> _Rings:
        fleet = track.rings["fleet"]
        return fleet if fleet.coarse.sums(now, track.objective.window_s)[1] > 0 else track.rings["replicas"]

    @staticmethod
    def _burn(objective: Objective, ring: SlotRing, now: float, window_s: float) -> float:
        good, total = ring.sums(now, window_s)
        if total <= 0:
            return math.nan
        return (1.0 - good / total) / objective.budget

    def status(self, now: float) -> list[dict[str, Any]]:
        """Per objective: target, events, budget remaining, burn rate per window, time until exhaustion."""
        with self._lock:
            return self._status(now)

    def _status(self, now: float) -> list[dict[str, Any]]:
        out = []
        for track in self._tracks.values():
            o = track.objective
            rings = self._rings(track, now)
            good, total = rings.coarse.sums(now, o.window_s)
            spent = (1.0 - good / total) / o.budget if total > 0 else 0.0
            remaining = 1.0 - spent
            burn = {w: self._burn(o, rings.fine, now, s) for w, s in self.windows.items()}
            rate = burn["1h"]
            exhaustion = (max(remaining, 0.0) * o.window_s / rate / self.time_scale
                          if math.isfinite(rate) and rate > 0 else None)
            holding = self._holding(track, now, record=False)
            firing = holding[0] if holding else None
            out.append({
                "name": o.name, "display_name": o.display_name or o.name, "description": o.description,
                "service": o.service, "target": o.target, "budgeting": o.budgeting,
                "window_s": o.window_s / self.time_scale, "good": good, "total": total,
                "sli": good / total if total > 0 else None, "budget_remaining": remaining if total > 0 else None,
                "burn_rates": {w: (None if math.isnan(v) else v) for w, v in burn.items()},
                "time_to_exhaustion_s": exhaustion,
                "rules": [{"name": r.name, "window": r.window, "severity": r.severity, "factor": r.factor,
                           "long_s": r.long_s / self.time_scale, "short_s": r.short_s / self.time_scale}
                          for r in o.rules],
                "alert": None if firing is None else {"severity": firing[0].severity, "burn_window": firing[0].window,
                                                      "burn_rate": firing[1]},
            })
        return out

    def _holding(self, track: _Track, now: float, record: bool = True) -> list[tuple[BurnRule, float, float]]:
        """The rules holding now (for their alertAfter), most severe first, with their long and short burn rates
        (``record``: note when each rule started to hold, for alertAfter; False for a read-only look)."""
        o = track.objective
        ring = self._rings(track, now).fine
        found = []
        for rule in o.rules:
            long_burn = self._burn(o, ring, now, rule.long_s)
            short_burn = self._burn(o, ring, now, rule.short_s)
            if not (long_burn >= rule.factor and short_burn >= rule.factor):
                if record:
                    track.since.pop(rule.name, None)
                continue
            started = track.since.setdefault(rule.name, now) if record else track.since.get(rule.name, now)
            if now - started >= rule.alert_after_s:
                found.append((rule, long_burn, short_burn))
        found.sort(key=lambda h: (h[0].severity == "page", h[0].factor), reverse=True)
        return found

    def findings(self, now: float) -> list[Finding]:
        """One finding per burn-rate rule holding now, most severe first. Never raises."""
        with self._lock:
            return self._findings(now)

    def _findings(self, now: float) -> list[Finding]:
        try:
            return [self._finding(track, holding, now) for track in self._tracks.values()
                    for holding in self._holding(track, now)]
        except Exception:  # noqa: BLE001 - alerting must never break the export path
            self.errors += 1
            _log.exception("SLO burn-rate evaluation failed")
            return []

    def _finding(self, track: _Track, holding: tuple[BurnRule, float, float], now: float) -> Finding:
        rule, long_burn, short_burn = holding
        o = track.objective
        good, total = self._rings(track, now).coarse.sums(now, o.window_s)
        remaining = 1.0 - (1.0 - good / total) / o.budget if total > 0 else 1.0
        short_name = _short_name(rule)
        message = (f"SLO {o.name} of {o.service} (target {o.target:.4g}): error budget burning {long_burn:.3g}x over "
                   f"{rule.window} and {short_burn:.3g}x over {short_name} ({rule.severity} at {rule.factor:g}x); "
                   f"{max(remaining, 0.0):.1%} of the budget left")
        labels = tuple(sorted({"burn_window": rule.window, semconv.SERVICE_NAME: o.service, "slo": o.name}.items()))
        series = SeriesKey(f"slo:{o.name}", (), ((semconv.SERVICE_NAME, o.service),))
        return Finding(series.metric, BURN_RATE_DETECTOR, labels, _LEVEL[rule.severity], long_burn, rule.factor,
                       message, track.exemplars, series=series)

    # --- persistence ---------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Plain data (JSON-ready): per objective its fingerprint and rings."""
        with self._lock:
            return self._state()

    def _state(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "objectives": {
            name: {"fingerprint": t.objective.fingerprint,
                   "rings": {src: {"fine": r.fine.state(), "coarse": r.coarse.state()} for src, r in t.rings.items()}}
            for name, t in self._tracks.items()}}

    def restore(self, state: Mapping[str, Any]) -> list[str]:
        """Take the counts of a :meth:`state` for the objectives whose document did not change; returns their names."""
        with self._lock:
            return self._restore(state)

    def _restore(self, state: Mapping[str, Any]) -> list[str]:
        restored: list[str] = []
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            return restored
        saved = state.get("objectives")
        if not isinstance(saved, Mapping):
            return restored
        for name, track in self._tracks.items():
            item = saved.get(name)
            if not isinstance(item, Mapping) or item.get("fingerprint") != track.objective.fingerprint:
                continue
            rings = item.get("rings")
            if not isinstance(rings, Mapping):
                continue
            ok = True
            for src, r in track.rings.items():
                part = rings.get(src)
                ok = (isinstance(part, Mapping) and r.fine.restore(part.get("fine", {}))
                      and r.coarse.restore(part.get("coarse", {}))) and ok
            if ok:
                restored.append(name)
        return restored


def _short_name(rule: BurnRule) -> str:
    """The short window as text: ``5m`` for ``1h`` (unscaled)."""
    seconds = parse_duration(rule.window, "window") / SHORT_WINDOW_DIVISOR
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
