"""The ``/api/slos`` payload: each objective's budget, burn rates, time until exhaustion and incidents.

Read from the :class:`~heritage_otel.analysis.slo.SloTracker` the Analyzer
feeds (``analyzer serve --slo FILE``); the incidents listed are those (open
or recently resolved) with a burn-rate member of the objective, newest first.

>>> from heritage_otel.service.core import AnalyzerService
>>> service = AnalyzerService(start_background=False)
>>> slo_payload(service)
{'slos': [], 'count': 0, 'at_risk': 0}
>>> service.close()
"""

from __future__ import annotations

from typing import Any

from heritage_otel.analysis.slo.tracker import BURN_RATE_DETECTOR

__all__ = ["slo_payload"]

_MAX_INCIDENTS = 10


def slo_payload(service: Any) -> dict[str, Any]:
    """``{"slos": [...], "count": n, "at_risk": n}``; an objective is at risk while a burn-rate alert holds
    or less than a quarter of its budget is left."""
    tracker = getattr(service.analyzer, "slos", None)
    if tracker is None:
        return {"slos": [], "count": 0, "at_risk": 0}
    rows = tracker.status(service.clock())
    spent_by: dict[str, list[dict[str, Any]]] = {}
    for incident in service.incidents("all", 200):
        for name in {m["labels"].get("slo") for m in incident["members"] if m["detector"] == BURN_RATE_DETECTOR}:
            spent_by.setdefault(name, []).append(
                {"id": incident["id"], "state": incident["state"], "level": incident["level"],
                 "first_seen": incident["first_seen"], "last_seen": incident["last_seen"]})
    for row in rows:
        row["incidents"] = sorted(spent_by.get(row["name"], []), key=lambda i: -i["first_seen"])[:_MAX_INCIDENTS]
        remaining = row["budget_remaining"]
        row["at_risk"] = row["alert"] is not None or (remaining is not None and remaining < 0.25)
    return {"slos": rows, "count": len(rows), "at_risk": sum(1 for r in rows if r["at_risk"])}
