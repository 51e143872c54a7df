"""Probable cause of an incident: what is over-represented now compared with the baseline, and the traces.

Reads the Analyzer's windows of one scope (a service, or one replica of it)
and splits each series at the incident's start into a baseline (before) and
the incident window (since). Evidence, strongest first:

1. **errors**: ``heritage.errors`` per component and ``error.type``, as a
   share of the scope's queries; a pair is evidence when its share rose by at
   least ``min_share`` (default 5 % of queries) over the baseline;
2. **fallbacks**: degraded ``heritage.fallbacks`` per strategy, the same way
   (the strategy serving the queries the failing component could not);
3. **latency** (when a latency or traffic signal is in the incident, or
   errors or fallbacks were found): the component whose
   ``component_latency_p95`` rose the most past its table effect size;
4. **quality** (a quality signal, no errors or latency): the quality
   indicator that fell, a shift in the query mix or the content;
5. **traffic** (a throughput signal): how far ``throughput_qps`` fell or rose; the cause only when
   nothing above moved, else listed after the cause as its effect.

The summary reads like "simrank raising HighSeverityError in 76 % of
queries; fallback_horn serving them; latency up in embedding", and the
cause carries the exemplar trace ids of the series that show it.

**Exemplars the Collector keeps.** The agent Collector's tail sampler
(``collector/config.yaml``, policy ``kept``) keeps a trace with an ERROR span
(``errors``), with a fallback (``fallbacks``: ``heritage.fallback.degraded``
true or a ``heritage.fallback.used`` event) or at least
``HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS`` long (``slow``, 500 ms by
default), and only a share of the rest. The cause therefore picks, when it has
any, exemplars of traces the sampler keeps (:func:`kept_traces`): those of the
``heritage.errors`` series of HIGH or CRITICAL severity (or none given: any
exception that is not a ``HeritageError`` is HIGH), whose spans have status
ERROR; those of failed component calls when their errors are such, or when a
fallback answered them; those of degraded ``heritage.fallbacks``; and those of
a duration histogram or latency indicator at or above the threshold. A latency
cause names only its calls above the threshold when there are some, slowest
first. Only when no exemplar of the cause is known to be kept are the others
given (one may still be in the sampler's baseline share).

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
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from heritage_otel import environment_variables as env_vars
from heritage_otel import semconv
from heritage_otel.checks import is_true
from heritage_otel.analysis.samples import SeriesKey
from heritage_otel.indicators import lookup

__all__ = ["Cause", "probable_cause", "kept_traces", "slow_threshold_ms", "MIN_SHARE", "STRENGTH", "SeriesIndex"]

#: The smallest rise in the share of queries (errors, fallbacks) that counts as evidence.
MIN_SHARE: Final = 0.05
_LATENCY_SIGNALS: Final = frozenset({"query_latency", "component_latency", "operation_latency"})
_QUALITY_SIGNALS: Final = frozenset({"ndcg_at_10", "precision_at_5", "diversity", "results", "empty_results"})
_MAX_TRACES: Final = 5
#: Raw duration histograms, recorded in seconds (``heritage_otel.instruments``); latency indicators are in ms.
_DURATION_METRICS: Final = (semconv.METRIC_COMPONENT_DURATION, semconv.METRIC_QUERY_DURATION,
                             semconv.METRIC_OPERATION_DURATION)
_LATENCY_INDICATORS: Final = ("component_latency_p95", "component_latency_p50", "query_latency_p50",
                              "query_latency_p95", "query_latency_p99", "query_latency_mean")
#: ``heritage.error.severity_name`` values whose spans get status ERROR (``heritage_otel.errors.record_error``).
_ERROR_STATUS_SEVERITIES: Final = frozenset({"high", "critical"})


def slow_threshold_ms(environ: Any = None) -> float:
    """The Collector's tail-sampling latency threshold: ``HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS`` (its
    ``slow`` policy's ``threshold_ms``), else the config's default, 500 ms.

    >>> slow_threshold_ms({}), slow_threshold_ms({"HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS": "250"})
    (500.0, 250.0)
    """
    name = env_vars.HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS
    default = float(env_vars.REGISTRY[name].default)
    try:
        value = float(env_vars.get(name, os.environ if environ is None else environ) or default)
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


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


class SeriesIndex:
    """The Analyzer's series by ``service.name`` and ``service.instance.id``, kept up to date incrementally.

    Each new series is looked at once (the Analyzer's rows only grow; a list that shrank or changed is
    indexed again from scratch), so grouping alerts and finding a cause read the series of one scope, never
    every series of every service.

    >>> from heritage_otel.analysis import Analyzer
    >>> analyzer = Analyzer(interval_seconds=1)
    >>> analyzer.ingest_values([SeriesKey("query_count", (), ((semconv.SERVICE_NAME, "rec"),))], [5.0], 1.0)
    >>> index = SeriesIndex(analyzer)
    >>> index.refresh()
    >>> [k.metric for k in index.keys("rec")], index.keys("other")
    (['query_count'], [])
    """

    def __init__(self, analyzer: Any) -> None:
        self.analyzer = analyzer
        self._seen = 0
        self._last: Any = None
        self._by: dict[str | None, dict[str | None, list[SeriesKey]]] = {}

    def refresh(self) -> None:
        """Index the series created since the last refresh."""
        keys = self.analyzer.series()
        start = self._seen
        if start > len(keys) or (start and keys[start - 1] is not self._last):
            self._by, start = {}, 0
        for key in keys[start:]:
            if isinstance(key, SeriesKey):
                res = dict(key.resource)
                self._by.setdefault(res.get(semconv.SERVICE_NAME), {}).setdefault(
                    res.get(semconv.SERVICE_INSTANCE_ID), []).append(key)
        self._seen, self._last = len(keys), (keys[-1] if keys else None)

    def instances(self, service: str | None) -> dict[str | None, list[SeriesKey]]:
        """The series of one service by instance (``None``: its fleet aggregates, or a service without replicas)."""
        return self._by.get(service, {})

    def keys(self, service: str | None, instance: str | None = None, *, every: bool = False) -> list[SeriesKey]:
        """The series of one service: one instance's, the service-level ones (``instance`` None), or ``every``."""
        by = self.instances(service)
        if every:
            return [k for keys in by.values() for k in keys]
        return list(by.get(instance, ()))


class _Scope:
    """The series of one scope, split at ``since`` into baseline and incident sums."""

    def __init__(self, analyzer: Any, service: str | None, instance: str | None, since: float,
                 index: SeriesIndex | None = None) -> None:
        self.analyzer = analyzer
        self.since = since
        if index is None:
            index = SeriesIndex(analyzer)
            index.refresh()
        scoped = index.keys(service, instance)
        if not scoped and instance is None:  # no fleet aggregates: every replica of the service
            scoped = index.keys(service, every=True)
        if service is not None and instance is None and None in index.instances(None):
            scoped = scoped + index.keys(None)  # series without a service.name belong to every service
        self.keys = scoped
        self._by_metric: dict[str, list[SeriesKey]] = {}
        for key in scoped:
            self._by_metric.setdefault(key.metric, []).append(key)

    def split(self, key: SeriesKey) -> tuple[np.ndarray, np.ndarray]:
        every = self.analyzer.recent_values(key, -math.inf)
        recent = self.analyzer.recent_values(key, self.since)
        base = every[: every.size - recent.size]
        return base[np.isfinite(base)], recent[np.isfinite(recent)]

    def of(self, metric: str) -> list[SeriesKey]:
        return self._by_metric.get(metric, [])

    def totals(self, metric: str) -> tuple[float, float]:
        base = now = 0.0
        for key in self.of(metric):
            b, r = self.split(key)
            base += float(b.sum())
            now += float(r.sum())
        return base, now

    def exemplars(self, key: SeriesKey) -> tuple[tuple[str, float], ...]:
        """(trace id, value) of the exemplars of the series' latest interval."""
        exemplars = self.analyzer.exemplars(key) if hasattr(self.analyzer, "exemplars") else ()
        return tuple((e[0], float(e[2]) if len(e) > 2 else math.nan) for e in exemplars if e and e[0])

    def traces(self, key: SeriesKey) -> tuple[str, ...]:
        """Trace ids of the exemplars of the series' latest interval."""
        return tuple(t for t, _ in self.exemplars(key))


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


def _slow_spans(scope: _Scope, component: str) -> tuple[str, ...]:
    """Trace ids of the slowest exemplars of one component's successful calls (its duration histograms)."""
    found: list[tuple[float, str]] = []
    for key in scope.of(semconv.METRIC_COMPONENT_DURATION):
        if _attr(key, semconv.COMPONENT) != component or not is_true(_attr(key, semconv.SUCCESS) or "true"):
            continue
        found.extend((v if math.isfinite(v) else 0.0, t) for t, v in scope.exemplars(key))
    found.sort(key=lambda x: -x[0])
    return tuple(t for _, t in found)


def _slow_queries(scope: _Scope, slow_ms: float) -> tuple[str, ...]:
    """Trace ids of the query exemplars at or above ``slow_ms`` (whole queries: kept by the ``slow`` policy),
    slowest first."""
    found = [(v, t) for key in scope.of(semconv.METRIC_QUERY_DURATION) for t, v in scope.exemplars(key)
             if v * 1000.0 >= slow_ms]
    found.sort(key=lambda x: -x[0])
    return tuple(t for _, t in found)


def _error_status(key: SeriesKey) -> bool:
    """An error series whose spans have status ERROR: severity HIGH or CRITICAL, or none given (HIGH)."""
    severity = _attr(key, semconv.ERROR_SEVERITY_NAME)
    return severity is None or severity.lower() in _ERROR_STATUS_SEVERITIES


def kept_traces(analyzer: Any, *, service: str | None, instance: str | None, since: float,
                slow_ms: float | None = None, index: SeriesIndex | None = None) -> dict[str, str]:
    """The exemplar traces of one scope that the Collector's tail sampler keeps, with the policy that keeps
    each (``errors``, ``fallbacks``, ``slow``; the first that applies, in the sampler's order).

    Failed component calls count as ``errors`` when the scope's errors of that component that rose since
    ``since`` are all of HIGH or CRITICAL severity (or name none), and as ``fallbacks`` when degraded
    fallbacks rose since ``since`` (a chain answered the failed call with a fallback).
    ``slow_ms`` defaults to :func:`slow_threshold_ms`.
    """
    scope = _Scope(analyzer, service, instance, since, index)
    return _kept(scope, slow_threshold_ms() if slow_ms is None else slow_ms)


def _rose(scope: _Scope, key: SeriesKey) -> bool:
    b, r = scope.split(key)
    return bool(r.size) and float(r.mean()) > (float(b.mean()) if b.size else 0.0)


def _kept(scope: _Scope, slow_ms: float) -> dict[str, str]:
    kept: dict[str, str] = {}

    def add(ids: Collection[str], policy: str) -> None:
        for t in ids:
            kept.setdefault(t, policy)

    errors_by_component: dict[str, list[SeriesKey]] = {}
    for key in scope.of(semconv.METRIC_ERRORS):
        if _error_status(key):
            add(scope.traces(key), "errors")
        if _rose(scope, key):
            errors_by_component.setdefault(_attr(key, semconv.COMPONENT) or "", []).append(key)
    fallbacks = [k for k in scope.of(semconv.METRIC_FALLBACKS) if _degraded(k)]
    fell_back = any(_rose(scope, k) for k in fallbacks)
    for key in scope.of(semconv.METRIC_COMPONENT_DURATION):
        success = _attr(key, semconv.SUCCESS)
        if success is None or is_true(success):
            continue
        component = _attr(key, semconv.COMPONENT) or ""
        named = [k for name, keys in errors_by_component.items() if component and component in name for k in keys]
        if named and all(_error_status(k) for k in named):
            add(scope.traces(key), "errors")
    for key in fallbacks:
        add(scope.traces(key), "fallbacks")
    if fell_back:
        for key in scope.of(semconv.METRIC_COMPONENT_DURATION):
            if not is_true(_attr(key, semconv.SUCCESS) or "true"):
                add(scope.traces(key), "fallbacks")
    for metric in _DURATION_METRICS:
        for key in scope.of(metric):
            add([t for t, v in scope.exemplars(key) if v * 1000.0 >= slow_ms], "slow")
    for metric in _LATENCY_INDICATORS:
        for key in scope.of(metric):
            add([t for t, v in scope.exemplars(key) if v >= slow_ms], "slow")
    return kept


def _prefer_kept(ids: Collection[str], kept: Collection[str]) -> tuple[str, ...]:
    """``ids`` (in order, once each) limited to the kept ones when there are some."""
    unique = tuple(dict.fromkeys(t for t in ids if t))
    chosen = tuple(t for t in unique if t in kept)
    return chosen or unique


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
    if best is None:
        return None
    return (*best[:4], _slow_spans(scope, best[1]) + best[4])


def _moved(scope: _Scope, metric: str) -> tuple[float, float, float, tuple[str, ...]] | None:
    """(relative change, baseline median, incident median, traces) of ``metric``'s series without attributes
    that moved the most, either way."""
    most = None
    for key in scope.of(metric):
        if key.attributes:
            continue
        b, r = scope.split(key)
        if b.size == 0 or r.size == 0:
            continue
        base, now = float(np.median(b)), float(np.median(r))
        change = (now - base) / abs(base) if base else 0.0
        if change and (most is None or abs(change) > abs(most[0])):
            most = (change, base, now, scope.traces(key))
    return most


def _fell(scope: _Scope, metrics: Collection[str]) -> tuple[str, float, float, tuple[str, ...]] | None:
    worst = None
    for metric in metrics:
        moved = _moved(scope, metric)
        if moved is not None and moved[0] < 0 and (worst is None or moved[0] < worst[0]):
            worst = (moved[0], metric, *moved[1:])
    return None if worst is None else worst[1:]  # type: ignore[return-value]  # the tail of the tuple is the declared result


def _traffic(scope: _Scope) -> tuple[str, dict[str, Any]] | None:
    """How ``throughput_qps`` moved: ("traffic down 63 % (47 -> 17.2 queries/s)", evidence), or None."""
    moved = _moved(scope, "throughput_qps")
    if moved is None:
        return None
    change, base, now, _ = moved
    text = f"traffic {'down' if change < 0 else 'up'} {abs(change):.0%} ({base:.3g} -> {now:.3g} queries/s)"
    return text.replace("%", " %"), {"kind": "traffic", "baseline_qps": base, "now_qps": now, "change": change}


#: How much of an incident each kind of cause explains: a later, stronger cause replaces a weaker one.
STRENGTH: Final = {"unknown": 0, "traffic": 1, "quality": 2, "latency": 3, "fallbacks": 4, "errors": 5}


def probable_cause(
    analyzer: Any, *, service: str | None, instance: str | None, since: float, signals: Collection[str],
    index: SeriesIndex | None = None, slow_ms: float | None = None,
) -> Cause:
    """The probable cause of an incident of ``service`` (one replica when ``instance``) that began at ``since``.

    ``signals`` are the incident's member signals (see :func:`heritage_otel.analysis.policy.signal_of`);
    ``index`` (optional) is a :class:`SeriesIndex` of ``analyzer`` already refreshed (else one is built).
    A change in traffic is a cause only when nothing else moved: a slower or failing component, or a
    fallback, explains it (callers that wait for each answer send fewer queries to a slower service), and
    it is listed after the cause as an effect. The trace ids are exemplars the Collector keeps when the
    cause has any (see the module's docstring; ``slow_ms`` defaults to :func:`slow_threshold_ms`).
    """
    scope = _Scope(analyzer, service, instance, since, index)
    slow_ms = slow_threshold_ms() if slow_ms is None else slow_ms
    queries = scope.totals(semconv.METRIC_QUERIES)
    if queries == (0.0, 0.0):
        queries = scope.totals("query_count")
    parts: list[str] = []
    evidence: list[dict[str, Any]] = []
    traces: list[str] = []
    component = error_type = strategy = None
    kind = "unknown"
    signals = set(signals)
    traffic = _traffic(scope) if "throughput" in signals else None
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
    # a slower component can make the traffic change, and can be a second fault next to failing calls
    if signals & _LATENCY_SIGNALS or traffic is not None or parts:
        slow = _slowest(scope)
        if slow is not None:
            _, slow_component, base, now, ids = slow
            ids = ids + (_slow_queries(scope, slow_ms) if not parts else ())
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
    if traffic is not None:
        text, moved = traffic
        if parts:
            parts.append(f"{text} as an effect" if kind != "quality" else f"also {text}")
            evidence.append(moved | {"role": "effect"})
        else:
            kind = "traffic"
            parts.append(text)
            evidence.append(moved | {"role": "cause"})
    if not parts:
        parts.append("no component, error or fallback stands out against the baseline")
    summary = "; ".join(parts)
    if instance is not None:
        summary = f"replica {instance}: {summary}"
    unique = _prefer_kept(traces, _kept(scope, slow_ms))[:_MAX_TRACES]
    return Cause(kind, summary, component, error_type, strategy, instance, tuple(evidence), unique)
