"""Run totals read from a cumulative in-memory metric reader: quality per phase, components at the end.

A phase's quality is what the histograms gained during it: each call of
:meth:`MetricTotals.phase_quality` turns the reader's running totals into
increments since the previous call with the same
:class:`~heritage_otel.analysis.cumulative.CumulativeTracker` the Analyzer
uses, so the demo and the Analyzer count the same way.

>>> from opentelemetry.sdk.metrics.export import InMemoryMetricReader
>>> MetricTotals(InMemoryMetricReader()).phase_quality()
{}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from heritage_otel import semconv
from heritage_otel.analysis.cumulative import CumulativeTracker
from heritage_otel.analysis.samples import bucket_quantiles

_PHASE_METRICS = {
    semconv.METRIC_NDCG_AT_10: "ndcg_at_10",
    semconv.METRIC_PRECISION_AT_5: "precision_at_5",
    semconv.METRIC_DIVERSITY: "diversity",
    semconv.METRIC_QUERY_DURATION: "latency",
}


def _p95_ms(bounds: tuple[float, ...], counts: np.ndarray) -> float:
    if counts.sum() <= 0:
        return float("nan")
    (p95,) = bucket_quantiles(bounds, counts, (0.95,))
    return float(p95) * 1000.0


class MetricTotals:
    """Reads histogram totals from ``reader`` (CUMULATIVE temporality)."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self.reader = reader
        # the reader is the demo's own: every first point holds only this run, so it counts whole
        self._tracker = CumulativeTracker("keep", max_staleness_s=None)

    def _points(self) -> list[tuple[str, Any]]:
        data = self.reader.get_metrics_data()
        out: list[tuple[str, Any]] = []
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.extend((metric.name, p) for p in metric.data.data_points)
        return out

    def phase_quality(self) -> dict[str, float]:
        """Means since the previous call (the whole run at the first): quality scores, and query latency
        mean/p95 in ms, merged over attributes."""
        merged: dict[str, tuple[float, np.ndarray, tuple[float, ...]]] = {}
        for name, point in self._points():
            key = _PHASE_METRICS.get(name)
            if key is None or not isinstance(point, HistogramDataPoint):
                continue
            step = self._tracker.histogram(
                (name, frozenset((point.attributes or {}).items())), point.start_time_unix_nano,
                point.time_unix_nano, point.explicit_bounds, point.bucket_counts, point.sum)
            if step is None:
                continue
            counts = np.asarray(step.counts, dtype=float)
            total, buckets, bounds = merged.get(key, (0.0, np.zeros_like(counts), tuple(point.explicit_bounds)))
            merged[key] = (total + step.total, buckets + counts, bounds)
        out: dict[str, float] = {}
        for key, (total, buckets, bounds) in merged.items():
            n = buckets.sum()
            if n <= 0:
                continue
            if key == "latency":
                out["latency_mean_ms"] = total / n * 1000.0
                out["latency_p95_ms"] = _p95_ms(bounds, buckets)
            else:
                out[key] = total / n
        return out

    def components(self) -> list[dict[str, Any]]:
        """Per component: calls, failures, success rate, mean and p95 latency (ms), over the whole run."""
        groups: dict[str, list[Any]] = defaultdict(list)
        for name, point in self._points():
            if name == semconv.METRIC_COMPONENT_DURATION and isinstance(point, HistogramDataPoint):
                groups[str(point.attributes.get(semconv.COMPONENT, "?"))].append(point)
        rows = []
        for component, points in sorted(groups.items()):
            calls = sum(p.count for p in points)
            failures = sum(p.count for p in points if _failed(p.attributes))
            counts = np.sum([np.asarray(p.bucket_counts, dtype=float) for p in points], axis=0)
            rows.append({
                "component": component,
                "calls": int(calls),
                "failures": int(failures),
                "success_rate": (calls - failures) / calls if calls else float("nan"),
                "mean_ms": sum(p.sum for p in points) / calls * 1000.0 if calls else float("nan"),
                "p95_ms": _p95_ms(tuple(points[0].explicit_bounds), counts),
            })
        return rows


def _failed(attributes: Mapping[str, Any] | None) -> bool:
    return bool(attributes) and attributes.get(semconv.SUCCESS) is False
