"""Probable cause of an incident: what is over-represented now compared with the baseline, and the traces.

Reads the Analyzer's windows of one scope (a service, or one replica of it)
and splits each series at the incident's start into a baseline (before) and
the incident window (since). Evidence, strongest first:

1. **errors**: ``heritage.errors`` per component and ``error.type``, as a
   share of the scope's queries; a pair is evidence when its share rose by at
   least ``min_share`` (default 5 % of queries) over the baseline;
2. **fallbacks**: degraded ``heritage.fallbacks`` per strategy, the same way
   (the strategy serving the queries the failing component could not);
3. **latency** (when a latency signal is in the incident): the component
   whose ``component_latency_p95`` rose the most past its table effect size;
4. **quality** (a quality signal, no errors or latency): the quality
   indicator that fell, a shift in the query mix or the content;
5. **traffic** (a throughput signal): how far ``throughput_qps`` fell.

The summary reads like "simrank raising HighSeverityError in 76 % of
queries; fallback_horn serving them; latency up in embedding", and the
cause carries the exemplar trace ids of the series that show it.

>>> from heritage_otel.analysis import Analyzer
>>> from heritage_otel.analysis.samples import SeriesKey
>>> analyzer = Analyzer(interval_seconds=1)
>>> q, e = SeriesKey.of("heritage.queries"), SeriesKey.of("heritage.errors",
...     {"heritage.component": "simrank", "error.type": "HighSeverityError"})
>>> for t in range(1, 21):
...     analyzer.ingest_values([q, e], [100.0, 0.0 if t <= 15 else 80.0], float(t))
>>> cause = probable_cause(analyzer, service=None, instance=None, since=16.0, signals={"errors"})
>>> cause.kind, cause.component, cause.summary
('errors', 'simrank', 'simrank raising HighSeverityError in 80 % of queries')
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from heritage_otel import semconv
from heritage_otel.checks import is_true
from heritage_otel.analysis.samples import SeriesKey
from heritage_otel.indicators import lookup

__all__ = ["Cause", "probable_cause", "MIN_SHARE"]

#: The smallest rise in the share of queries (errors, fallbacks) that counts as evidence.
MIN_SHARE: Final = 0.05
_LATENCY_SIGNALS: Final = frozenset({"query_latency", "component_latency", "operation_latency"})
_QUALITY_SIGNALS: Final = frozenset({"ndcg_at_10", "precision_at_5", "diversity", "results", "empty_results"})
_MAX_TRACES: Final = 5


@dataclass(frozen=True)
class Cause:
    """What is most likely to blame, why (``summary``, ``evidence``), and the traces that show it."""

    kind: str
    summary: str
    component: str | None = None
    error_type: str | None = None
    fallback_strategy: str | None = None
    instance: str | None = None
    evidence: tuple[dict[str, Any], ...] = ()
    trace_ids: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"kind": self.kind, "summary": self.summary, "component": self.component,
                "error_type": self.error_type, "fallback_strategy": self.fallback_strategy,
                "instance": self.instance, "evidence": [dict(e) for e in self.evidence],
                "trace_ids": list(self.trace_ids)}


def _in_scope(key: SeriesKey, service: str | None, instance: str | None) -> bool:
    res = dict(key.resource)
    if service is not None and res.get(semconv.SERVICE_NAME, service) != service:
        return False
    if instance is not None:
        return res.get(semconv.SERVICE_INSTANCE_ID) == instance
    return semconv.SERVICE_INSTANCE_ID not in res


class _Scope:
    """The series of one scope, split at ``since`` into baseline and incident sums."""

    def __init__(self, analyzer: Any, service: str | None, instance: str | None, since: float) -> None:
        self.analyzer = analyzer
        self.since = since
        keys = [k for k in analyzer.series() if isinstance(k, SeriesKey)]
        scoped = [k for k in keys if _in_scope(k, service, instance)]
        if not scoped and instance is None:  # no fleet aggregates: every replica of the service
            scoped = [k for k in keys if _in_scope(k, service, None) or
                      dict(k.resource).get(semconv.SERVICE_NAME, service) == service]
        self.keys = scoped
        self._exemplars = {s.series: s.exemplars for s in analyzer.snapshot()} if hasattr(analyzer, "snapshot") else {}

    def split(self, key: SeriesKey) -> tuple[np.ndarray, np.ndarray]:
        every = self.analyzer.recent_values(key, -math.inf)
        recent = self.analyzer.recent_values(key, self.since)
        base = every[: every.size - recent.size]
        return base[np.isfinite(base)], recent[np.isfinite(recent)]

    def of(self, metric: str) -> list[SeriesKey]:
        return [k for k in self.keys if k.metric == metric]

    def totals(self, metric: str) -> tuple[float, float]:
        base = now = 0.0
        for key in self.of(metric):
            b, r = self.split(key)
            base += float(b.sum())
            now += float(r.sum())
        return base, now

    def traces(self, key: SeriesKey) -> tuple[str, ...]:
        """Trace ids of the exemplars of the series' latest interval."""
        return tuple(e[0] for e in self._exemplars.get(key, ()) if e and e[0])


def _attr(key: SeriesKey, name: str) -> str | None:
    return dict(key.attributes).get(name)


def _shares(scope: _Scope, metric: str, by: tuple[str, ...], queries: tuple[float, float],
            keep: Any = None) -> list[tuple[float, float, tuple[str | None, ...], tuple[str, ...]]]:
    """Per attribute group: (rise in share of queries, share now, group values, trace ids), largest rise first."""
    groups: dict[tuple[str | None, ...], list[float]] = {}
    traces: dict[tuple[str | None, ...], tuple[str, ...]] = {}
    for key in scope.of(metric):
        if keep is not None and not keep(key):
            continue
        group = tuple(_attr(key, a) for a in by)
        b, r = scope.split(key)
        sums = groups.setdefault(group, [0.0, 0.0])
        sums[0] += float(b.sum())
        sums[1] += float(r.sum())
        if r.size and r.sum() > 0:
            traces[group] = traces.get(group, ()) + scope.traces(key)
    base_q, now_q = queries
    out = []
    for group, (b, r) in groups.items():
        share_now = r / now_q if now_q > 0 else 0.0
        share_base = b / base_q if base_q > 0 else 0.0
        rise = share_now - share_base
        if rise >= MIN_SHARE:
            out.append((rise, share_now, group, traces.get(group, ())))
    out.sort(key=lambda x: -x[0])
    return out


def _degraded(key: SeriesKey) -> bool:
    flag = _attr(key, semconv.FALLBACK_DEGRADED)
    if flag is not None:
        return is_true(flag)
    try:
        return float(_attr(key, semconv.FALLBACK_PRIORITY) or 0) > 0
    except ValueError:
        return False


def _failing_components(scope: _Scope) -> list[tuple[str, tuple[str, ...]]]:
    """Components with failed calls (``heritage.component.duration`` with ``heritage.success`` false) in the
    incident window on more intervals than before it, most failing intervals first, with their exemplar traces
    (the failed calls' traces: counters carry no exemplars through every pipeline, histograms do)."""
    found = []
    for key in scope.of(semconv.METRIC_COMPONENT_DURATION):
        success = _attr(key, semconv.SUCCESS)
        if success is None or is_true(success):
            continue
        b, r = scope.split(key)
        if r.size and r.size >= b.size:  # failing mostly since the incident began
            found.append((r.size, _attr(key, semconv.COMPONENT) or "?", scope.traces(key)))
    found.sort(key=lambda x: -x[0])
    return [(name, traces) for _, name, traces in found]


def _component_name(scope: _Scope, recorded: str | None) -> str | None:
    """The component an error names: the recorded one when it is a component; else the failing component
    whose name it contains (a fallback strategy such as ``primary_simrank`` records its own name)."""
    components = {_attr(k, semconv.COMPONENT) for k in scope.of(semconv.METRIC_COMPONENT_DURATION)}
    if recorded is None or recorded in components:
        return recorded
    failing = [c for c, _ in _failing_components(scope) if c and c in recorded]
    named = failing or sorted(c for c in components if c and c in recorded)
    return named[0] if len(named) == 1 or failing else recorded


def _slowest(scope: _Scope) -> tuple[float, str, float, float, tuple[str, ...]] | None:
    row = lookup("component_latency_p95")
    best = None
    for key in scope.of("component_latency_p95"):
        b, r = scope.split(key)
        if b.size == 0 or r.size == 0:
            continue
        base, now = float(np.median(b)), float(np.median(r))
        required = max(row.min_absolute_effect, row.min_relative_effect * abs(base)) if row else 0.0
        rise = now - base
        if rise > 0 and rise >= required and (best is None or rise > best[0]):
            best = (rise, _attr(key, semconv.COMPONENT) or "?", base, now, scope.traces(key))
    return best


def _fell(scope: _Scope, metrics: Collection[str]) -> tuple[str, float, float, tuple[str, ...]] | None:
    worst = None
    for metric in metrics:
        for key in scope.of(metric):
            if key.attributes:
                continue
            b, r = scope.split(key)
            if b.size == 0 or r.size == 0:
                continue
            base, now = float(np.median(b)), float(np.median(r))
            drop = (base - now) / abs(base) if base else 0.0
            if drop > 0 and (worst is None or drop > worst[0]):
                worst = (drop, metric, base, now, scope.traces(key))
    return None if worst is None else worst[1:]  # type: ignore[return-value]  # the tail of the tuple is the declared result


def probable_cause(
    analyzer: Any, *, service: str | None, instance: str | None, since: float, signals: Collection[str],
) -> Cause:
    """The probable cause of an incident of ``service`` (one replica when ``instance``) that began at ``since``.

    ``signals`` are the incident's member signals (see :func:`heritage_otel.analysis.policy.signal_of`).
    """
    scope = _Scope(analyzer, service, instance, since)
    queries = scope.totals(semconv.METRIC_QUERIES)
    if queries == (0.0, 0.0):
        queries = scope.totals("query_count")
    parts: list[str] = []
    evidence: list[dict[str, Any]] = []
    traces: list[str] = []
    component = error_type = strategy = None
    kind = "unknown"
    errors = _shares(scope, semconv.METRIC_ERRORS, (semconv.COMPONENT, semconv.ERROR_TYPE), queries)
    if errors:
        rise, share, (recorded, error_type), ids = errors[0]
        component = _component_name(scope, recorded)
        kind = "errors"
        traces.extend(t for c, ids_ in _failing_components(scope) if c == component for t in ids_)
        parts.append(f"{component} raising {error_type} in {share:.0%} of queries".replace("%", " %"))
        evidence.append({"kind": "errors", "component": component, "recorded_as": recorded,
                         "error_type": error_type, "share": share, "rise": rise})
        traces.extend(ids)
    fallbacks = _shares(scope, semconv.METRIC_FALLBACKS, (semconv.FALLBACK_STRATEGY,), queries, _degraded)
    if fallbacks:
        rise, share, (strategy,), ids = fallbacks[0]
        kind = "errors" if errors else "fallbacks"
        parts.append(f"{strategy} serving them" if errors else
                     f"fallback {strategy} serving {share:.0%} of queries".replace("%", " %"))
        evidence.append({"kind": "fallbacks", "strategy": strategy, "share": share, "rise": rise})
        traces.extend(ids)
    signals = set(signals)
    if signals & _LATENCY_SIGNALS:
        slow = _slowest(scope)
        if slow is not None:
            _, slow_component, base, now, ids = slow
            kind = kind if parts else "latency"
            component = component or slow_component
            parts.append(f"latency up in {slow_component} (p95 {base:.0f} -> {now:.0f} ms)")
            evidence.append({"kind": "latency", "component": slow_component, "baseline_ms": base, "now_ms": now})
            traces.extend(ids)
    if not parts and signals & _QUALITY_SIGNALS:
        fell = _fell(scope, ["ndcg_at_10", "precision_at_5", "diversity", "results_per_query"])
        if fell is not None:
            metric, base, now, ids = fell
            kind = "quality"
            parts.append(f"{metric} down ({base:.3g} -> {now:.3g}) with no errors or latency change: "
                         "the query mix or the content shifted")
            evidence.append({"kind": "quality", "metric": metric, "baseline": base, "now": now})
            traces.extend(ids)
    if not parts and "throughput" in signals:
        fell = _fell(scope, ["throughput_qps"])
        if fell is not None:
            _, base, now, _ids = fell
            kind = "traffic"
            parts.append(f"traffic down {1 - now / base:.0%} ({base:.3g} -> {now:.3g} queries/s)".replace("%", " %"))
            evidence.append({"kind": "traffic", "baseline_qps": base, "now_qps": now})
    if not parts:
        parts.append("no component, error or fallback stands out against the baseline")
    summary = "; ".join(parts)
    if instance is not None:
        summary = f"replica {instance}: {summary}"
    unique = tuple(dict.fromkeys(t for t in traces if t))[:_MAX_TRACES]
    return Cause(kind, summary, component, error_type, strategy, instance, tuple(evidence), unique)
