"""The seed's raw-value metric store: bounded, compact points per name beside their OpenTelemetry instruments.

>>> store = MetricsStore(retention_minutes=60, reservoir_size=100, clock=lambda: 1000.0)
>>> for v in (120.0, 80.0, 100.0):
...     store.record_metric("rerank_ms", v)
>>> store.get_stats("rerank_ms")["median"], store.get_recent_values("rerank_ms")
(100.0, [120.0, 80.0, 100.0])
>>> store.increment("cache_evictions", 2); store.get_counter("cache_evictions")
2.0
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from heritage_otel import semconv
from heritage_otel._internal.points import PointSeries
from heritage_otel.instruments import instruments_for
from heritage_otel.monitoring.config import SEED_METRICS
from heritage_otel.version import __version__

__all__ = ["MetricsStore"]

_log = logging.getLogger(__name__)

_HISTOGRAM, _COUNTER, _GAUGE = "histogram", "counter", "gauge"


class MetricsStore:
    """The seed's metric store: raw points per name (bounded, compact) and their OpenTelemetry instruments.

    ``record_metric`` (a histogram), ``increment`` (a counter) and
    ``set_gauge`` (a gauge) each keep the raw point for ``get_recent_values``,
    ``get_stats`` and ``get_rate``, and record the instrument of that name
    through the global MeterProvider (so the Analyzer judges it and a
    threshold rule may name it). The seed's own names (``query_latency`` in
    ms, ``num_results``, ``ndcg_at_10``, ...) record heritage-otel's
    instruments instead (``heritage.query.duration`` in seconds, ...).
    """

    def __init__(self, retention_minutes: float = 60, reservoir_size: int = 10_000, clock: Any = time.time,
                 meter_providers: Sequence[Any] = ()) -> None:
        self.retention_s = float(retention_minutes) * 60
        self.reservoir_size = int(reservoir_size)
        self._clock = clock
        self._points: dict[str, PointSeries] = {}
        self._kinds: dict[str, str] = {}
        self._totals: dict[str, float] = {}
        self._gauges: dict[str, float] = {}
        self._instruments: dict[str, tuple[Any, ...]] = {}
        self._meters = [p.get_meter(semconv.INSTRUMENTATION_SCOPE, __version__) for p in meter_providers]
        self._seed_sets = [instruments_for(p) for p in meter_providers]
        self._lock = threading.Lock()

    # --- recording ---------------------------------------------------------
    def _keep(self, name: str, value: float, timestamp: float | None, kind: str) -> bool:
        with self._lock:
            known = self._kinds.setdefault(name, kind)
            if known != kind:
                _log.warning("metric %r is a %s; recording it as a %s is ignored", name, known, kind)
                return False
            series = self._points.get(name)
            if series is None:
                series = self._points[name] = PointSeries(self.reservoir_size)
            series.append(self._clock() if timestamp is None else timestamp, value)
            if kind == _COUNTER:
                self._totals[name] = self._totals.get(name, 0.0) + value
            elif kind == _GAUGE:
                self._gauges[name] = value
            return True

    def _instrument(self, name: str, kind: str) -> tuple[Any, ...]:
        found = self._instruments.get(name)
        if found is None:
            if kind == _HISTOGRAM:
                found = tuple(m.create_histogram(name, explicit_bucket_boundaries_advisory=None) for m in self._meters)
            elif kind == _COUNTER:
                found = tuple(m.create_counter(name) for m in self._meters)
            else:
                found = tuple(m.create_gauge(name) for m in self._meters)
            self._instruments[name] = found
        return found

    def _record(self, name: str, value: float, timestamp: float | None, kind: str,
                attributes: Mapping[str, Any] | None) -> None:
        try:
            value = float(value)
            if not math.isfinite(value) or not self._keep(name, value, timestamp, kind):
                return
            if name in SEED_METRICS and kind == _HISTOGRAM:
                _, field, factor = SEED_METRICS[name]
                for seed in self._seed_sets:
                    getattr(seed, field).record(value * factor, attributes)
                return
            for instrument in self._instrument(name, kind):
                if kind == _HISTOGRAM:
                    instrument.record(value, attributes)
                elif kind == _COUNTER:
                    instrument.add(value, attributes)
                else:
                    instrument.set(value, attributes)
        except Exception:  # noqa: BLE001 - monitoring never breaks the caller
            _log.exception("recording metric %r failed; dropped", name)

    def record_metric(self, name: str, value: float, timestamp: float | None = None,
                      attributes: Mapping[str, Any] | None = None) -> None:
        """Record one value of ``name`` (a histogram); non-finite values are ignored. Never raises."""
        self._record(name, value, timestamp, _HISTOGRAM, attributes)

    def increment(self, name: str, value: float = 1.0, timestamp: float | None = None,
                  attributes: Mapping[str, Any] | None = None) -> None:
        """Add ``value`` (>= 0) to counter ``name``. Never raises."""
        if not value >= 0:
            _log.warning("increment(%r, %r): a counter only grows; ignored", name, value)
            return
        self._record(name, value, timestamp, _COUNTER, attributes)

    def set_gauge(self, name: str, value: float, timestamp: float | None = None,
                  attributes: Mapping[str, Any] | None = None) -> None:
        """Set gauge ``name`` to ``value``. Never raises."""
        self._record(name, value, timestamp, _GAUGE, attributes)

    def keep_raw(self, name: str, value: float, timestamp: float | None) -> None:
        """Keep only the raw point of ``name`` (a histogram): for callers that record its instrument themselves."""
        if math.isfinite(value):
            self._keep(name, value, timestamp, _HISTOGRAM)

    # --- reading -------------------------------------------------------------
    def names(self) -> list[str]:
        """Metric names with at least one point."""
        with self._lock:
            return [n for n, v in self._points.items() if len(v)]

    def get_counter(self, name: str) -> float:
        """Total of counter ``name`` since the start (0.0 if never incremented)."""
        with self._lock:
            return self._totals.get(name, 0.0)

    def get_gauge(self, name: str) -> float | None:
        """Latest value of gauge ``name``, or None."""
        with self._lock:
            return self._gauges.get(name)

    def counters(self) -> dict[str, float]:
        """Every counter's total."""
        with self._lock:
            return dict(self._totals)

    def gauges(self) -> dict[str, float]:
        """Every gauge's latest value."""
        with self._lock:
            return dict(self._gauges)

    def _values(self, name: str, minutes: float) -> np.ndarray:
        since = self._clock() - min(float(minutes) * 60, self.retention_s)
        with self._lock:
            series = self._points.get(name)
            return series.values(since) if series is not None else np.empty(0)

    def get_recent_values(self, name: str, minutes: float = 60) -> list[float]:
        """Values of the last ``minutes`` (within the retention), oldest first."""
        return [float(v) for v in self._values(name, minutes)]

    def get_rate(self, name: str, minutes: float = 1.0) -> float:
        """Per second over the last ``minutes``: the counter's increments, or the number of values recorded."""
        values = self._values(name, minutes)
        seconds = min(float(minutes) * 60, self.retention_s)
        with self._lock:
            counted = self._kinds.get(name) == _COUNTER
        return float(values.sum() if counted else values.size) / seconds

    def get_stats(self, name: str, minutes: float | None = None) -> dict[str, float]:
        """mean, median, std, min, max, count, p50, p95, p99 over the retention (or ``minutes``); {} if no data."""
        values = self._values(name, self.retention_s / 60 if minutes is None else minutes)
        if values.size == 0:
            return {}
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {"mean": float(values.mean()), "median": float(p50), "std": float(values.std()),
                "min": float(values.min()), "max": float(values.max()), "count": int(values.size),
                "p50": float(p50), "p95": float(p95), "p99": float(p99)}

    def nbytes(self) -> int:
        """Bytes held by the stored points."""
        with self._lock:
            return sum(series.nbytes for series in self._points.values())

    def cleanup(self) -> None:
        """Drop values older than the retention."""
        since = self._clock() - self.retention_s
        with self._lock:
            for series in self._points.values():
                series.drop_before(since)
