"""OpenSLO v1 documents read into :class:`Objective` objects, every field checked.

Kinds understood: ``SLO`` (inline ``indicator`` or ``indicatorRef``), ``SLI``,
``AlertPolicy`` (inline in an SLO's ``alertPolicies`` or referenced by
``alertPolicyRef``) and ``AlertCondition`` (inline in a policy's
``conditions`` or referenced by ``conditionRef``). Anything else (another
kind, an unknown field, a field this implementation does not support, a
bad value) is a :class:`ValueError` naming the document and the field.

Metric sources are ``type: HeritageOtel`` with a ``spec`` of ``metric`` (an
OpenTelemetry metric name, with optional exact-match ``attributes``) or
``indicator`` (one of the Analyzer's per-interval indicators):

* ``ratioMetric`` ``good`` (or ``bad``) and ``total``: counts of a counter's
  increments, or of a histogram's observations, per interval;
* ``thresholdMetric`` on a histogram ``metric`` with ``Occurrences``: an
  observation is good when ``op`` ``value`` holds (in the instrument's unit),
  counted from the buckets (see :mod:`heritage_otel.analysis.slo.counting`);
* ``thresholdMetric`` on an ``indicator`` with ``Timeslices``: an export
  interval is good when the indicator's value holds ``op`` ``value``.

Burn-rate alerting: an ``AlertCondition`` ``{kind: burnrate, op: gte,
threshold: F, lookbackWindow: W}`` fires when the burn rate is at least ``F``
over ``W`` *and* over ``W / 12`` (the SRE Workbook's short window). Without
``alertPolicies`` an objective gets :data:`DEFAULT_BURN_RULES`.

``time_scale`` multiplies every duration (the time window, lookback windows,
``alertAfter``): 1 in production; tests and demos use e.g. ``1/300`` so a
5-minute window lasts one second.

>>> doc = {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "availability"},
...        "spec": {"service": "recommender", "budgetingMethod": "Occurrences",
...                 "timeWindow": [{"duration": "28d", "isRolling": True}],
...                 "objectives": [{"target": 0.995}],
...                 "indicator": {"metadata": {"name": "answered"}, "spec": {"ratioMetric": {
...                     "good": {"metricSource": {"type": "HeritageOtel",
...                              "spec": {"metric": "heritage.queries", "attributes": {"heritage.success": True}}}},
...                     "total": {"metricSource": {"type": "HeritageOtel", "spec": {"metric": "heritage.queries"}}}}}}}}
>>> [o] = parse_documents([doc])
>>> o.name, o.target, o.window_s / 86400, [(r.severity, r.factor, r.long_s, r.short_s) for r in o.rules][:1]
('availability', 0.995, 28.0, [('page', 14.4, 3600.0, 300.0)])
>>> parse_documents([{**doc, "spec": {**doc["spec"], "colour": "red"}}])
Traceback (most recent call last):
...
ValueError: SLO 'availability': spec.colour is not a known field; valid: alertPolicies, budgetingMethod, description, indicator, indicatorRef, objectives, service, timeWindow
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from heritage_otel.indicators import INDICATOR_NAMES

__all__ = [
    "API_VERSION",
    "BurnRule",
    "DEFAULT_BURN_RULES",
    "KINDS",
    "Objective",
    "SHORT_WINDOW_DIVISOR",
    "Source",
    "parse_documents",
    "parse_duration",
]

API_VERSION: Final = "openslo/v1"
KINDS: Final = ("SLO", "SLI", "AlertPolicy", "AlertCondition")
SOURCE_TYPE: Final = "HeritageOtel"
#: The short window of a burn-rate condition is its lookback window divided by this (SRE Workbook).
SHORT_WINDOW_DIVISOR: Final = 12
SEVERITIES: Final = {"page", "ticket"}
OPS: Final = ("lt", "lte", "gt", "gte")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION: Final = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_NAME: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Source:
    """One metric source: an OpenTelemetry ``metric`` (with attributes to match) or an ``indicator``."""

    metric: str | None = None
    indicator: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BurnRule:
    """One burn-rate condition: ``severity`` when the burn rate is >= ``factor`` over both windows."""

    name: str
    severity: str
    factor: float
    long_s: float
    short_s: float
    alert_after_s: float = 0.0
    #: The long window as written (``1h``, ``6h``, ``3d``), unscaled: the ``burn_window`` label.
    window: str = ""


@dataclass(frozen=True)
class Objective:
    """One objective of one SLO, ready to be tracked."""

    name: str
    service: str
    target: float
    window_s: float
    budgeting: str
    good: Source | None = None
    bad: Source | None = None
    total: Source | None = None
    threshold_source: Source | None = None
    op: str | None = None
    value: float | None = None
    rules: tuple[BurnRule, ...] = ()
    display_name: str = ""
    description: str = ""
    fingerprint: str = field(default="", compare=False)

    @property
    def budget(self) -> float:
        """The share of events that may be bad: ``1 - target``."""
        return 1.0 - self.target


def parse_duration(text: Any, where: str) -> float:
    """Seconds of an OpenSLO duration (``5m``, ``1h``, ``28d``, ``1w``).

    >>> parse_duration("6h", "x"), parse_duration("30s", "x")
    (21600.0, 30.0)
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        msg = f"{where} = {text!r} is not a duration; expected a number and a unit among s, m, h, d, w (e.g. 28d)"
        raise ValueError(msg)
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        msg = f"{where} = {text!r} is not valid; expected a duration above zero"
        raise ValueError(msg)
    return seconds


def _table(rows: Sequence[tuple[str, str, float, str]]) -> tuple[BurnRule, ...]:
    return tuple(BurnRule(window, sev, factor, parse_duration(window, "table"),
                          parse_duration(window, "table") / SHORT_WINDOW_DIVISOR, window=window)
                 for window, sev, factor, _ in rows)


#: The SRE Workbook's multiwindow, multi-burn-rate table: (long window, severity, burn rate, share of the
#: 30-day budget spent when it fires). Short window = long / 12.
WORKBOOK_TABLE: Final = (
    ("1h", "page", 14.4, "2%"),
    ("6h", "page", 6.0, "5%"),
    ("3d", "ticket", 1.0, "10%"),
)
DEFAULT_BURN_RULES: Final = _table(WORKBOOK_TABLE)


class _Doc:
    """Checks of one document, with its name in every message."""

    def __init__(self, kind: str, name: str) -> None:
        self.where = f"{kind} {name!r}"

    def fail(self, path: str, problem: str) -> ValueError:
        return ValueError(f"{self.where}: {path} {problem}")

    def mapping(self, value: Any, path: str, required: Iterable[str], optional: Iterable[str] = ()) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"= {value!r} is not valid; expected a mapping")
        required, optional = set(required), set(optional)
        for key in value:
            if key not in required | optional:
                raise self.fail(f"{path}.{key}", f"is not a known field; valid: {', '.join(sorted(required | optional))}")
        for key in sorted(required):
            if key not in value:
                raise self.fail(f"{path}.{key}", "is required")
        return value

    def number(self, value: Any, path: str, lo: float, hi: float, *, open_lo: bool = False, open_hi: bool = False) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (value > lo if open_lo else value >= lo) and (value < hi if open_hi else value <= hi)
        if not ok:
            rng = f"{'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
            raise self.fail(path, f"= {value!r} is not valid; expected a number in {rng}")
        return float(value)

    def choice(self, value: Any, path: str, valid: Iterable[str]) -> str:
        valid = tuple(valid)
        if value not in valid:
            raise self.fail(path, f"= {value!r} is not valid; expected one of {', '.join(valid)}")
        return str(value)

    def flag(self, value: Any, path: str, required: bool) -> None:
        if value is not required:
            raise self.fail(path, f"= {value!r} is not supported; only {str(required).lower()} is")

    def unsupported(self, spec: Mapping[str, Any], path: str, fields: Mapping[str, str]) -> None:
        for key, why in fields.items():
            if key in spec:
                raise self.fail(f"{path}.{key}", f"is not supported: {why}")


def _header(doc: Any, index: int) -> tuple[str, str, _Doc]:
    where = f"document {index + 1}"
    if not isinstance(doc, Mapping):
        msg = f"{where}: expected a mapping with apiVersion, kind, metadata, spec; got {type(doc).__name__}"
        raise ValueError(msg)
    kind = doc.get("kind")
    if kind not in KINDS:
        msg = f"{where}: kind = {kind!r} is not valid; expected one of {', '.join(KINDS)}"
        raise ValueError(msg)
    name = doc.get("metadata", {}).get("name") if isinstance(doc.get("metadata"), Mapping) else None
    checker = _Doc(kind, name if isinstance(name, str) else where)
    checker.mapping(doc, "document", ("apiVersion", "kind", "metadata", "spec"))
    if doc["apiVersion"] != API_VERSION:
        raise checker.fail("apiVersion", f"= {doc['apiVersion']!r} is not valid; expected {API_VERSION!r}")
    _metadata(checker, doc["metadata"], "metadata")
    return kind, name, checker


def _metadata(checker: _Doc, meta: Any, path: str) -> str:
    meta = checker.mapping(meta, path, ("name",), ("displayName", "labels", "annotations"))
    name = meta["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise checker.fail(f"{path}.name", f"= {name!r} is not valid; expected a DNS label (lowercase letters, "
                                           "digits and '-', at most 63 characters)")
    return name


def _source(checker: _Doc, value: Any, path: str) -> Source:
    holder = checker.mapping(value, path, ("metricSource",))
    src = checker.mapping(holder["metricSource"], f"{path}.metricSource", ("type", "spec"), ("metricSourceRef",))
    checker.unsupported(src, f"{path}.metricSource", {"metricSourceRef": "give type and spec inline"})
    checker.choice(src["type"], f"{path}.metricSource.type", (SOURCE_TYPE,))
    spec_path = f"{path}.metricSource.spec"
    spec = checker.mapping(src["spec"], spec_path, (), ("metric", "indicator", "attributes"))
    if ("metric" in spec) == ("indicator" in spec):
        raise checker.fail(spec_path, "needs exactly one of metric (an OpenTelemetry metric name) or indicator")
    if "indicator" in spec:
        if "attributes" in spec:
            raise checker.fail(f"{spec_path}.attributes", "is not supported with an indicator (it is per service)")
        checker.choice(spec["indicator"], f"{spec_path}.indicator", sorted(INDICATOR_NAMES))
        return Source(indicator=spec["indicator"])
    metric = spec["metric"]
    if not isinstance(metric, str) or not metric:
        raise checker.fail(f"{spec_path}.metric", f"= {metric!r} is not valid; expected a metric name")
    attrs = spec.get("attributes", {})
    if not isinstance(attrs, Mapping) or not all(isinstance(k, str) for k in attrs):
        raise checker.fail(f"{spec_path}.attributes", f"= {attrs!r} is not valid; expected a mapping of name: value")
    return Source(metric=metric, attributes=tuple(sorted((k, str(v).lower()) for k, v in attrs.items())))


def _indicator(checker: _Doc, spec: Any, path: str) -> dict[str, Any]:
    spec = checker.mapping(spec, path, (), ("description", "thresholdMetric", "ratioMetric"))
    if ("thresholdMetric" in spec) == ("ratioMetric" in spec):
        raise checker.fail(path, "needs exactly one of thresholdMetric or ratioMetric")
    if "thresholdMetric" in spec:
        return {"threshold_source": _source(checker, spec["thresholdMetric"], f"{path}.thresholdMetric")}
    ratio = checker.mapping(spec["ratioMetric"], f"{path}.ratioMetric", ("total",), ("good", "bad", "counter"))
    if ("good" in ratio) == ("bad" in ratio):
        raise checker.fail(f"{path}.ratioMetric", "needs exactly one of good or bad")
    if "counter" in ratio:
        checker.flag(ratio["counter"], f"{path}.ratioMetric.counter", True)
    out: dict[str, Any] = {"total": _source(checker, ratio["total"], f"{path}.ratioMetric.total")}
    for key in ("good", "bad"):
        if key in ratio:
            out[key] = _source(checker, ratio[key], f"{path}.ratioMetric.{key}")
    for key in ("good", "bad", "total"):
        if key in out and out[key].indicator is not None:
            raise checker.fail(f"{path}.ratioMetric.{key}", "must name a metric, not an indicator")
    return out


def _condition(checker: _Doc, doc: Any, path: str, conditions: Mapping[str, Any], time_scale: float) -> BurnRule:
    if isinstance(doc, Mapping) and "conditionRef" in doc:
        checker.mapping(doc, path, ("conditionRef",))
        ref = doc["conditionRef"]
        if ref not in conditions:
            raise checker.fail(f"{path}.conditionRef", f"= {ref!r} names no AlertCondition document")
        return _condition(_Doc("AlertCondition", ref), conditions[ref], "document", {}, time_scale)
    doc = checker.mapping(doc, path, ("metadata", "spec"), ("kind", "apiVersion"))
    if "kind" in doc:
        checker.choice(doc["kind"], f"{path}.kind", ("AlertCondition",))
    name = _metadata(checker, doc["metadata"], f"{path}.metadata")
    spec = checker.mapping(doc["spec"], f"{path}.spec", ("severity", "condition"), ("description",))
    severity = checker.choice(spec["severity"], f"{path}.spec.severity", sorted(SEVERITIES))
    cond = checker.mapping(spec["condition"], f"{path}.spec.condition", ("kind", "threshold", "lookbackWindow"),
                           ("op", "alertAfter"))
    checker.choice(cond["kind"], f"{path}.spec.condition.kind", ("burnrate",))
    checker.choice(cond.get("op", "gte"), f"{path}.spec.condition.op", ("gte",))
    factor = checker.number(cond["threshold"], f"{path}.spec.condition.threshold", 0, 1e6, open_lo=True)
    long_s = parse_duration(cond["lookbackWindow"], f"{checker.where}: {path}.spec.condition.lookbackWindow")
    after = (parse_duration(cond["alertAfter"], f"{checker.where}: {path}.spec.condition.alertAfter")
             if "alertAfter" in cond else 0.0)
    return BurnRule(name, severity, factor, long_s * time_scale, long_s * time_scale / SHORT_WINDOW_DIVISOR,
                    after * time_scale, window=cond["lookbackWindow"])


def _policy(checker: _Doc, doc: Any, path: str, policies: Mapping[str, Any], conditions: Mapping[str, Any],
            time_scale: float) -> list[BurnRule]:
    if isinstance(doc, Mapping) and "alertPolicyRef" in doc:
        checker.mapping(doc, path, ("alertPolicyRef",))
        ref = doc["alertPolicyRef"]
        if ref not in policies:
            raise checker.fail(f"{path}.alertPolicyRef", f"= {ref!r} names no AlertPolicy document")
        return _policy(_Doc("AlertPolicy", ref), policies[ref], "document", {}, conditions, time_scale)
    doc = checker.mapping(doc, path, ("metadata", "spec"), ("kind", "apiVersion"))
    if "kind" in doc:
        checker.choice(doc["kind"], f"{path}.kind", ("AlertPolicy",))
    _metadata(checker, doc["metadata"], f"{path}.metadata")
    spec = checker.mapping(doc["spec"], f"{path}.spec", ("conditions",),
                           ("description", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching",
                            "notificationTargets"))
    checker.unsupported(spec, f"{path}.spec", {
        "notificationTargets": "burn-rate incidents go to the Analyzer's alert sinks (--alerts-file, "
                               "--alertmanager-url)"})
    for key, required in (("alertWhenNoData", False), ("alertWhenResolved", True), ("alertWhenBreaching", True)):
        if key in spec:
            checker.flag(spec[key], f"{path}.spec.{key}", required)
    conds = spec["conditions"]
    if not isinstance(conds, list) or not conds:
        raise checker.fail(f"{path}.spec.conditions", "must be a non-empty list of AlertConditions")
    return [_condition(checker, c, f"{path}.spec.conditions[{i}]", conditions, time_scale) for i, c in enumerate(conds)]


def _objectives(checker: _Doc, name: str, spec: Mapping[str, Any], indicator: dict[str, Any], rules: tuple[BurnRule, ...],
                window_s: float, fingerprint: str) -> list[Objective]:
    budgeting = checker.choice(spec["budgetingMethod"], "spec.budgetingMethod", ("Occurrences", "Timeslices"))
    items = spec["objectives"]
    if not isinstance(items, list) or not items:
        raise checker.fail("spec.objectives", "must be a non-empty list")
    source = indicator.get("threshold_source")
    if source is not None and (source.indicator is not None) != (budgeting == "Timeslices"):
        raise checker.fail("spec.budgetingMethod", f"= {budgeting!r} does not fit the indicator: a thresholdMetric "
                           "on an indicator needs Timeslices, one on a histogram metric Occurrences")
    if source is None and budgeting != "Occurrences":
        raise checker.fail("spec.budgetingMethod", f"= {budgeting!r} is not supported with a ratioMetric; use Occurrences")
    out = []
    for i, item in enumerate(items):
        path = f"spec.objectives[{i}]"
        obj = checker.mapping(item, path, (), ("displayName", "op", "value", "target", "targetPercent",
                                               "timeSliceTarget", "timeSliceWindow", "indicator", "indicatorRef",
                                               "compositeWeight"))
        checker.unsupported(obj, path, {
            "timeSliceTarget": "a slice is one export interval, good when the indicator holds op and value",
            "timeSliceWindow": "a slice is one export interval of the replicas",
            "indicator": "give the indicator on the SLO", "indicatorRef": "give the indicator on the SLO",
            "compositeWeight": "composite SLOs are not supported"})
        if ("target" in obj) == ("targetPercent" in obj):
            raise checker.fail(path, "needs exactly one of target (0..1) or targetPercent (0..100)")
        target = (checker.number(obj["target"], f"{path}.target", 0, 1, open_lo=True, open_hi=True) if "target" in obj
                  else checker.number(obj["targetPercent"], f"{path}.targetPercent", 0, 100, open_lo=True,
                                      open_hi=True) / 100.0)
        op = value = None
        if source is not None:
            for key in ("op", "value"):
                if key not in obj:
                    raise checker.fail(f"{path}.{key}", "is required with a thresholdMetric")
            op = checker.choice(obj["op"], f"{path}.op", OPS)
            value = checker.number(obj["value"], f"{path}.value", -1e300, 1e300)
        else:
            checker.unsupported(obj, path, {"op": "only a thresholdMetric has op", "value": "only a thresholdMetric "
                                            "has value"})
        display = obj.get("displayName", "")
        suffix = "" if len(items) == 1 else f"-{i + 1}"
        out.append(Objective(
            name=name + suffix, service=spec["service"], target=target, window_s=window_s, budgeting=budgeting,
            good=indicator.get("good"), bad=indicator.get("bad"), total=indicator.get("total"),
            threshold_source=source, op=op, value=value, rules=rules, display_name=str(display),
            description=str(spec.get("description", "")), fingerprint=f"{fingerprint}:{i}"))
    return out


def _slo(checker: _Doc, name: str, spec: Any, slis: Mapping[str, Any], policies: Mapping[str, Any],
         conditions: Mapping[str, Any], time_scale: float, fingerprint: str) -> list[Objective]:
    spec = checker.mapping(spec, "spec", ("service", "timeWindow", "budgetingMethod", "objectives"),
                           ("description", "indicator", "indicatorRef", "alertPolicies"))
    if not isinstance(spec["service"], str) or not spec["service"]:
        raise checker.fail("spec.service", f"= {spec['service']!r} is not valid; expected the service.name")
    if ("indicator" in spec) == ("indicatorRef" in spec):
        raise checker.fail("spec", "needs exactly one of indicator or indicatorRef")
    if "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        if ref not in slis:
            raise checker.fail("spec.indicatorRef", f"= {ref!r} names no SLI document")
        indicator = _indicator(_Doc("SLI", ref), slis[ref], "spec")
    else:
        inline = checker.mapping(spec["indicator"], "spec.indicator", ("metadata", "spec"), ("kind", "apiVersion"))
        _metadata(checker, inline["metadata"], "spec.indicator.metadata")
        indicator = _indicator(checker, inline["spec"], "spec.indicator.spec")
    windows = spec["timeWindow"]
    if not isinstance(windows, list) or len(windows) != 1:
        raise checker.fail("spec.timeWindow", "must be a list of exactly one rolling window")
    win = checker.mapping(windows[0], "spec.timeWindow[0]", ("duration",), ("isRolling", "calendar"))
    checker.unsupported(win, "spec.timeWindow[0]", {"calendar": "only rolling windows are tracked"})
    if "isRolling" in win:
        checker.flag(win["isRolling"], "spec.timeWindow[0].isRolling", True)
    window_s = parse_duration(win["duration"], f"{checker.where}: spec.timeWindow[0].duration") * time_scale
    rules: list[BurnRule] = []
    policies_doc = spec.get("alertPolicies")
    if policies_doc is None:
        rules = [BurnRule(r.name, r.severity, r.factor, r.long_s * time_scale, r.short_s * time_scale,
                          window=r.window) for r in DEFAULT_BURN_RULES]
    elif not isinstance(policies_doc, list) or not policies_doc:
        raise checker.fail("spec.alertPolicies", "must be a non-empty list (leave it out for the default table)")
    else:
        for i, p in enumerate(policies_doc):
            rules.extend(_policy(checker, p, f"spec.alertPolicies[{i}]", policies, conditions, time_scale))
    longest = max(r.long_s for r in rules)
    if longest > window_s:
        raise checker.fail("spec.alertPolicies", f"has a lookback window ({longest / time_scale:g} s) longer than the "
                           f"SLO's time window ({window_s / time_scale:g} s)")
    return _objectives(checker, name, spec, indicator, tuple(rules), window_s, fingerprint)


def parse_documents(documents: Iterable[Any], *, time_scale: float = 1.0) -> list[Objective]:
    """The objectives of a set of OpenSLO v1 documents (SLIs, policies and conditions they reference included).

    Raises :class:`ValueError` naming the document and field for anything not valid or not supported.
    """
    if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)) or not 0 < time_scale <= 1:
        msg = f"time_scale = {time_scale!r} is not valid; expected a number in (0, 1] (1 in production)"
        raise ValueError(msg)
    docs = list(documents)
    by_kind: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
    headers = []
    for i, doc in enumerate(docs):
        kind, name, checker = _header(doc, i)
        if name in by_kind[kind]:
            raise checker.fail("metadata.name", "is used by two documents of this kind")
        by_kind[kind][name] = doc["spec"] if kind == "SLI" else doc
        headers.append((kind, name, checker, doc))
    for name, spec in by_kind["SLI"].items():
        _indicator(_Doc("SLI", name), spec, "spec")  # checked even when no SLO uses it
    objectives: list[Objective] = []
    for kind, name, checker, doc in headers:
        if kind == "SLO":
            fingerprint = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]
            objectives.extend(_slo(checker, name, doc["spec"], by_kind["SLI"], by_kind["AlertPolicy"],
                                   by_kind["AlertCondition"], float(time_scale), fingerprint))
        elif kind == "AlertPolicy":
            _policy(checker, {k: v for k, v in doc.items() if k != "apiVersion"}, "document", {},
                    by_kind["AlertCondition"], float(time_scale))
        elif kind == "AlertCondition":
            _condition(checker, {k: v for k, v in doc.items() if k != "apiVersion"}, "document", {}, float(time_scale))
    names = [o.name for o in objectives]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        msg = f"SLO {dup!r}: two objectives share this name; give each SLO its own metadata.name"
        raise ValueError(msg)
    return objectives
