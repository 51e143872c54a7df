"""The demo's end-of-run report: rich tables on the console and ``summary.json`` in the output folder.

:func:`summarize` turns a :class:`~heritage_otel.demo.scenario.DemoResult`
into a JSON-ready dict (also checking that every alert's exemplar trace ids
are among the exported spans); :func:`print_report` prints it.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> with open(os.path.join(folder, "spans.jsonl"), "w") as f:
...     _ = f.write("")
>>> exported_trace_ids(os.path.join(folder, "spans.jsonl"))
set()
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from heritage_otel import semconv
from heritage_otel.demo.scenario import DemoResult

_TREE_ATTRIBUTES = (
    semconv.COMPONENT,
    semconv.FALLBACK_STRATEGY,
    semconv.FALLBACK_OUTCOME,
    semconv.FALLBACK_STRATEGY_USED,
    semconv.RESULT_COUNT,
    semconv.ERROR_TYPE,
)
_STATUS_STYLE = {"healthy": "green", "degraded": "yellow", "critical": "red"}
_LEVEL_STYLE = {"CRITICAL": "red", "WARNING": "yellow", "INFO": "cyan"}


def exported_trace_ids(path: str | Path) -> set[str]:
    """Trace ids (hex) of every span in an OTLP JSON lines file."""
    found: set[str] = set()
    p = Path(path)
    if not p.exists():
        return found
    with p.open(encoding="utf-8") as stream:
        for line in stream:
            if not line.strip():
                continue
            for rs in json.loads(line).get("resourceSpans", ()):
                for ss in rs.get("scopeSpans", ()):
                    found.update(span["traceId"] for span in ss.get("spans", ()))
    return found


def _finite(value: float) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _tree(spans: list[Any]) -> list[dict[str, Any]]:
    """Depth-first rows (depth, name, duration_ms, selected attributes) of one trace."""
    by_parent: dict[int | None, list[Any]] = {}
    ids = {s.context.span_id for s in spans}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in ids else None
        by_parent.setdefault(parent, []).append(span)
    rows: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(by_parent.get(parent, []), key=lambda s: s.start_time or 0):
            attrs = {k: span.attributes[k] for k in _TREE_ATTRIBUTES if span.attributes and k in span.attributes}
            rows.append({"depth": depth, "name": span.name,
                         "duration_ms": ((span.end_time or 0) - (span.start_time or 0)) / 1e6,
                         "status": span.status.status_code.name, "attributes": attrs})
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return rows


def summarize(result: DemoResult) -> dict[str, Any]:
    """The JSON summary of a run."""
    exported = exported_trace_ids(result.files["spans"])
    alerts = []
    for row in result.alerts:
        row = dict(row)
        row["exemplars_exported"] = all(t in exported for t in row["exemplar_trace_ids"])
        row["value"], row["threshold"] = _finite(row["value"]), _finite(row["threshold"])
        alerts.append(row)
    config = result.config
    return {
        "config": {"seed": config.seed, "queries": config.queries, "queries_per_tick": config.per_tick,
                   "duration_s": config.duration_s, "otlp_endpoint": config.otlp_endpoint,
                   "top_k": config.top_k, "output_dir": str(config.output_dir)},
        "startup_s": result.startup_s,
        "seconds": result.seconds,
        "phases": [
            {"name": p.name, "description": p.description, "queries": p.queries, "failed_queries": p.failed_queries,
             "seconds": p.seconds, "health": p.health.to_dict() if p.health else None, "worst_score": p.worst_score,
             "quality": {k: _finite(v) for k, v in p.quality.items()},
             "alerts_fired": len(p.alerts_fired), "alerts_resolved": len(p.alerts_resolved),
             "notifications": p.notifications}
            for p in result.phases
        ],
        "alerts": alerts,
        "components": [{k: _finite(v) if isinstance(v, float) else v for k, v in c.items()} for c in result.components],
        "slowest_traces": [
            {"trace_id": format(spans[0].context.trace_id, "032x"), "duration_ms": seconds * 1000.0, "spans": _tree(spans)}
            for seconds, spans in result.slowest if spans
        ],
        "exported_traces": len(exported),
        "files": result.files,
    }


def write_summary(summary: dict[str, Any], path: str | Path) -> None:
    """Write the summary as indented JSON."""
    Path(path).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


def _num(value: Any, fmt: str = "{:.3f}") -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) else fmt.format(value)


def print_report(summary: dict[str, Any], console: Console) -> None:
    """Print the health, alert, component, quality and slowest-trace tables."""
    health = Table(title="Health per phase (at the end of each phase)")
    for col in ("phase", "queries", "failed", "seconds", "score", "status", "worst score", "incidents fired", "resolved"):
        health.add_column(col, justify="left" if col in ("phase", "status") else "right")
    for p in summary["phases"]:
        status = p["health"]["status"] if p["health"] else "-"
        health.add_row(p["name"], str(p["queries"]), str(p["failed_queries"]), _num(p["seconds"], "{:.2f}"),
                       _num(p["health"]["score"] if p["health"] else None, "{:.0f}"),
                       f"[{_STATUS_STYLE.get(status, '')}]{status}[/]", _num(p["worst_score"], "{:.0f}"),
                       str(p["alerts_fired"]), str(p["alerts_resolved"]))
    console.print(health)

    alerts = Table(title=f"Incidents ({len(summary['alerts'])})")
    for col in ("level", "signals", "probable cause", "fired -> resolved", "exemplar trace id"):
        alerts.add_column(col, no_wrap=col in ("level", "exemplar trace id"))
    for a in summary["alerts"]:
        signals = ", ".join(dict.fromkeys(f"{m['metric'].removeprefix('heritage.')} ({m['detector']})"
                                          for m in a.get("members", ())))
        resolved = a["resolved_in"] or "[red]active[/]"
        exemplars = a["exemplar_trace_ids"]
        shown = exemplars[0] + (f" +{len(exemplars) - 1}" if len(exemplars) > 1 else "") if exemplars else "-"
        alerts.add_row(f"[{_LEVEL_STYLE.get(a['level'], '')}]{a['level']}[/]", escape(signals or a["metric"]),
                       escape(a.get("cause") or "-"), f"{a['fired_in'] or '-'} -> {resolved}", shown)
    console.print(alerts)

    components = Table(title="Components (whole run)")
    for col in ("component", "calls", "failures", "success rate", "mean ms", "p95 ms"):
        components.add_column(col, justify="left" if col == "component" else "right")
    for c in summary["components"]:
        components.add_row(c["component"], str(c["calls"]), str(c["failures"]), _num(c["success_rate"], "{:.1%}"),
                           _num(c["mean_ms"], "{:.2f}"), _num(c["p95_ms"], "{:.2f}"))
    console.print(components)

    quality = Table(title="Quality and latency per phase")
    for col in ("phase", "NDCG@10", "P@5", "diversity", "latency mean ms", "latency p95 ms"):
        quality.add_column(col, justify="left" if col == "phase" else "right")
    for p in summary["phases"]:
        q = p["quality"]
        quality.add_row(p["name"], _num(q.get("ndcg_at_10")), _num(q.get("precision_at_5")), _num(q.get("diversity")),
                        _num(q.get("latency_mean_ms"), "{:.2f}"), _num(q.get("latency_p95_ms"), "{:.2f}"))
    console.print(quality)

    console.print("[bold]The three slowest traces[/]")
    for trace in summary["slowest_traces"]:
        console.print(f"trace {trace['trace_id']}  {trace['duration_ms']:.2f} ms")
        for row in trace["spans"]:
            attrs = " ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in row["attributes"].items())
            line = f"{'  ' * (row['depth'] + 1)}{row['name']}  {row['duration_ms']:.2f} ms  {attrs}"
            console.print(Text(line, style="red" if row["status"] == "ERROR" else ""))
    console.print(f"Wrote {summary['files']['alerts']}, {summary['files']['spans']} "
                  f"({summary['exported_traces']} traces) and {summary['files']['summary']}")
