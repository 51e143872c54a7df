"""Prometheus recording and alerting rules for the same objectives (Sloth's structure), for teams that run
Prometheus behind the Collector's ``prometheus`` exporter.

Metric names are those the exporter produces for our instruments by default
(``UnderscoreEscapingWithSuffixes``): dots become underscores, the unit
becomes a suffix (``s`` -> ``_seconds``; ``{query}`` and other annotations
are dropped), counters end in ``_total``, histograms give ``_bucket``
(label ``le``) and ``_count``; attributes become labels the same way
(``heritage.success`` -> ``heritage_success``) and ``service.name``
becomes ``job``.

Per objective:

* a recording group: the error ratio ``slo:sli_error:ratio_rate<W>`` over
  every window the alerts read and over the time window, labelled ``slo``
  and ``service``; and ``slo:objective:ratio``, ``slo:error_budget:ratio``,
  ``slo:period_error_budget_remaining:ratio``;
* an alerting group: one ``HeritageSLOBurnRate`` alert per burn-rate rule
  (the table's, or the objective's AlertPolicy), firing when the error
  ratio is above ``factor x budget`` over the long and the short window,
  labelled ``slo``, ``service``, ``burn_window`` and ``severity``
  (``critical`` for page, ``warning`` for ticket, as the Analyzer's).

A threshold on a histogram needs ``value`` to be one of the instrument's
bucket bounds (Prometheus cannot interpolate classic buckets); an objective
on an Analyzer indicator (``Timeslices``) has no Prometheus counterpart and
is left out, with a comment saying so.

>>> from heritage_otel.analysis.slo.files import EXAMPLE_FILE, load_objectives
>>> rules = prometheus_rules(load_objectives([EXAMPLE_FILE]))
>>> [g["name"] for g in rules["groups"]][:2]
['heritage-slo-availability-sli-recordings', 'heritage-slo-availability-alerts']
>>> rules["groups"][0]["rules"][0]["expr"]
'sum(rate(heritage_queries_total{job="recommender",heritage_success="false"}[5m])) / sum(rate(heritage_queries_total{job="recommender"}[5m]))'
>>> rules["skipped"]
['quality: an objective on the Analyzer indicator ndcg_at_10 (Timeslices) has no Prometheus counterpart']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from heritage_otel import semconv
from heritage_otel.analysis.slo.spec import SHORT_WINDOW_DIVISOR, Objective, Source, parse_duration
from heritage_otel.indicators import lookup
from heritage_otel.instruments import DURATION_BUCKETS_S, RESULT_COUNT_BUCKETS, UNIT_INTERVAL_BUCKETS

__all__ = ["prometheus_rules", "prometheus_name"]

#: Our histogram instruments and their bucket bounds (every other instrument is a counter).
HISTOGRAM_BUCKETS: Final = {
    semconv.METRIC_QUERY_DURATION: DURATION_BUCKETS_S,
    semconv.METRIC_COMPONENT_DURATION: DURATION_BUCKETS_S,
    semconv.METRIC_OPERATION_DURATION: DURATION_BUCKETS_S,
    semconv.METRIC_RESULTS: RESULT_COUNT_BUCKETS,
    semconv.METRIC_NDCG_AT_10: UNIT_INTERVAL_BUCKETS,
    semconv.METRIC_PRECISION_AT_5: UNIT_INTERVAL_BUCKETS,
    semconv.METRIC_DIVERSITY: UNIT_INTERVAL_BUCKETS,
}
_UNIT_SUFFIX: Final = {"s": "seconds", "ms": "milliseconds", "By": "bytes"}
_SEVERITY: Final = {"page": "critical", "ticket": "warning"}
_INVALID: Final = re.compile(r"[^a-zA-Z0-9_]")


def _clean(name: str) -> str:
    return _INVALID.sub("_", name)


def prometheus_name(metric: str) -> str:
    """The exporter's name for one of our metrics (without ``_bucket``/``_count`` for a histogram).

    >>> prometheus_name("heritage.query.duration"), prometheus_name("heritage.queries")
    ('heritage_query_duration_seconds', 'heritage_queries_total')
    """
    row = lookup(metric)
    unit = row.unit if row is not None else ""
    name = _clean(metric)
    suffix = _UNIT_SUFFIX.get(unit, "" if unit.startswith("{") or unit in ("", "1") else _clean(unit))
    if suffix and not name.endswith(suffix):
        name += "_" + suffix
    return name if metric in HISTOGRAM_BUCKETS else name + "_total"


def _num(value: float) -> str:
    return repr(round(float(value), 12))


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _bound(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _selector(service: str, source: Source, extra: str = "") -> str:
    labels = [f'job="{service}"'] + [f'{_clean(k)}="{v}"' for k, v in source.attributes] + ([extra] if extra else [])
    return "{" + ",".join(labels) + "}"


def _rate(name: str, selector: str, window: str) -> str:
    return f"sum(rate({name}{selector}[{window}]))"


def _error_ratio(o: Objective, window: str) -> str:
    src = o.threshold_source
    if src is not None:
        assert src.metric is not None and o.value is not None  # noqa: S101 - narrows the type; the loader guarantees it
        name = prometheus_name(src.metric)
        under = _rate(f"{name}_bucket", _selector(o.service, src, f'le="{_bound(o.value)}"'), window)
        count = _rate(f"{name}_count", _selector(o.service, src), window)
        return f"1 - {under} / {count}" if o.op in ("lt", "lte") else f"{under} / {count}"
    assert o.total is not None and o.total.metric is not None  # noqa: S101 - narrows the type; the loader guarantees it
    total = _rate(prometheus_name(o.total.metric), _selector(o.service, o.total), window)
    if o.bad is not None and o.bad.metric is not None:
        return f"{_rate(prometheus_name(o.bad.metric), _selector(o.service, o.bad), window)} / {total}"
    assert o.good is not None and o.good.metric is not None  # noqa: S101 - narrows the type; the loader guarantees it
    good = _rate(prometheus_name(o.good.metric), _selector(o.service, o.good), window)
    return f"1 - {good} / {total}"


def _problem(o: Objective) -> str | None:
    src = o.threshold_source
    if src is not None and src.indicator is not None:
        return f"an objective on the Analyzer indicator {src.indicator} (Timeslices) has no Prometheus counterpart"
    if src is not None and src.metric is not None:
        bounds = HISTOGRAM_BUCKETS.get(src.metric)
        if bounds is None:
            return f"{src.metric} is not one of our histograms"
        if o.value not in bounds:
            return f"value {o.value:g} is not a bucket bound of {src.metric} ({', '.join(map(_bound, bounds))})"
    return None


def _groups(o: Objective) -> list[dict[str, Any]]:
    windows: dict[float, str] = {}
    for rule in o.rules:
        long_s = parse_duration(rule.window, "lookbackWindow")
        windows[long_s] = _duration(long_s)
        windows[long_s / SHORT_WINDOW_DIVISOR] = _duration(long_s / SHORT_WINDOW_DIVISOR)
    period_s = round(o.window_s)  # unscaled: rules are for production (time_scale 1)
    period = _duration(period_s)
    labels = {"slo": o.name, "service": o.service}
    recordings = [{"record": f"slo:sli_error:ratio_rate{w}", "expr": _error_ratio(o, w), "labels": dict(labels)}
                  for _, w in sorted(windows.items())]
    recordings.append({"record": f"slo:sli_error:ratio_rate{period}", "expr": _error_ratio(o, period),
                       "labels": dict(labels)})
    sel = f'{{slo="{o.name}",service="{o.service}"}}'
    recordings += [
        {"record": "slo:objective:ratio", "expr": f"vector({_num(o.target)})", "labels": dict(labels)},
        {"record": "slo:error_budget:ratio", "expr": f"vector({_num(1 - o.target)})", "labels": dict(labels)},
        {"record": "slo:period_error_budget_remaining:ratio",
         "expr": f"1 - slo:sli_error:ratio_rate{period}{sel} / on(slo, service) slo:error_budget:ratio{sel}",
         "labels": dict(labels)},
    ]
    alerts = []
    for rule in o.rules:
        long_s = parse_duration(rule.window, "lookbackWindow")
        long_w, short_w = _duration(long_s), _duration(long_s / SHORT_WINDOW_DIVISOR)
        limit = f"({_num(rule.factor)} * {_num(1 - o.target)})"
        alerts.append({
            "alert": "HeritageSLOBurnRate",
            "expr": (f"slo:sli_error:ratio_rate{long_w}{sel} > {limit}\n"
                     f"and on(slo, service)\nslo:sli_error:ratio_rate{short_w}{sel} > {limit}"),
            "labels": {**labels, "burn_window": rule.window, "severity": _SEVERITY[rule.severity],
                       "slo_severity": rule.severity},
            "annotations": {"summary": f"SLO {o.name} of {o.service}: error budget burning at {rule.factor:g}x or "
                                       f"more over {long_w} and {short_w}"},
        })
    return [{"name": f"heritage-slo-{o.name}-sli-recordings", "rules": recordings},
            {"name": f"heritage-slo-{o.name}-alerts", "rules": alerts}]


def prometheus_rules(objectives: Sequence[Objective]) -> dict[str, Any]:
    """``{"groups": [...], "skipped": [...]}``: the rule file's groups, and why some objectives have none."""
    groups: list[dict[str, Any]] = []
    skipped = []
    for o in objectives:
        problem = _problem(o)
        if problem is not None:
            skipped.append(f"{o.name}: {problem}")
            continue
        groups.extend(_groups(o))
    return {"groups": groups, "skipped": skipped}
