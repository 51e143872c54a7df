"""OpenSLO documents and interval samples for the SLO unit tests."""

from __future__ import annotations

import copy
from typing import Any

from heritage_otel.analysis.samples import KIND_SUM, IntervalSample, SeriesKey

RESOURCE = (("service.name", "rec"),)
REPLICA = (("service.instance.id", "a"), ("service.name", "rec"))


def source(metric: str, **attributes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"metric": metric}
    if attributes:
        spec["attributes"] = {k.replace("_", "."): v for k, v in attributes.items()}
    return {"metricSource": {"type": "HeritageOtel", "spec": spec}}


def availability(**spec_changes: Any) -> dict[str, Any]:
    doc = {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "availability"},
           "spec": {"service": "rec", "budgetingMethod": "Occurrences", "objectives": [{"target": 0.99}],
                    "timeWindow": [{"duration": "28d", "isRolling": True}],
                    "indicator": {"metadata": {"name": "ok"}, "spec": {"ratioMetric": {
                        "bad": source("heritage.queries", heritage_success=False),
                        "total": source("heritage.queries")}}}}}
    doc = copy.deepcopy(doc)
    doc["spec"].update(spec_changes)
    return doc


def queries(t: float, ok: float, failed: float, resource: tuple = RESOURCE, seconds: float = 60.0) -> list[IntervalSample]:
    start, end = int((t - seconds) * 1e9), int(t * 1e9)
    return [IntervalSample(SeriesKey("heritage.queries", (("heritage.success", "true"),), resource), KIND_SUM,
                           start, end, ok, ok),
            IntervalSample(SeriesKey("heritage.queries", (("heritage.success", "false"),), resource), KIND_SUM,
                           start, end, failed, failed)]
