"""The Analyzer: bounded windows per series and every detector, evaluated across all series at once.

Feed it :class:`~heritage_otel.analysis.samples.IntervalSample` objects (the
:class:`~heritage_otel.analysis.exporter.AnalyzingMetricExporter` does, once
per metric export) and call :meth:`Analyzer.evaluate`:

* every series keeps its last ``points`` interval values (p95 for duration
  histograms, the mean for other histograms, the delta for counters) in one
  2-D ring buffer; the key indicators (``query_latency_p95`` in ms,
  ``error_rate``, ...; see :mod:`~heritage_otel.analysis.indicators`) are
  series too;
* **threshold** rules (the seed's format) judge the latest indicator values;
* the **anomaly detectors** of the registry
  (:data:`~heritage_otel.analysis.detectors.DETECTORS`; ``adaptive`` by
  default, chosen per metric with ``metric_detectors``) judge each series'
  latest value: windowed ones (``zscore``, ``mad``) against the rest of its
  window once ``min_samples`` points exist, streaming ones (``adaptive``)
  against per-series state the Analyzer keeps, fed each new point once;
* **psi** and **ks** compare each histogram series' bucket counts over the
  last ``drift_window_points`` intervals with a reference: the first
  ``drift_baseline_points`` intervals, or one set with :meth:`set_reference`.

Each detector runs as a handful of numpy operations over the whole matrix,
not a Python loop per series (``benchmarks/bench_analysis.py``).

>>> from heritage_otel.analysis.samples import IntervalSample, SeriesKey
>>> analyzer = Analyzer(interval_seconds=10, thresholds={"query_latency_p95": {"max": 2000, "critical": 3000}})
>>> def latency(t, seconds):
...     return IntervalSample.from_histogram(SeriesKey.of("heritage.query.duration"), start_ns=(t - 10) * 10**9,
...         end_ns=t * 10**9, bounds=(0.5, 1.0, 2.5, 5.0), bucket_counts=(0, 0, 100, 0, 0), total=100 * seconds,
...         minimum=seconds, maximum=seconds, unit="s")
>>> analyzer.ingest([latency(10, 2.2)])
>>> [(f.metric, f.detector, f.level.name) for f in analyzer.evaluate().findings]
[('query_latency_p95', 'threshold', 'WARNING')]
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heritage_otel.analysis.config import AnalyzerConfig
from heritage_otel.analysis.detectors import Detector
from heritage_otel.analysis.detectors.rows import DetectorRows
from heritage_otel.analysis.drift import ks_counts, ks_drifted, psi_counts, psi_drifted
from heritage_otel.analysis.findings import (
    AlertLevel,
    Evaluation,
    Finding,
    anomaly_finding,
    ks_finding,
    psi_finding,
)
from heritage_otel.analysis.indicators import INDICATORS, compute_indicators
from heritage_otel.analysis.samples import KIND_HISTOGRAM, IntervalSample, Labels, SeriesKey
from heritage_otel.analysis.thresholds import LEVEL_CRITICAL, ThresholdRules
from heritage_otel.analysis.windows import BucketWindows, SeriesWindows

__all__ = ["Analyzer", "SeriesSnapshot"]

_log = logging.getLogger(__name__)
_Exemplars = tuple[tuple[str, str, float], ...]


@dataclass(frozen=True)
class SeriesSnapshot:
    """The latest point of one series: value (NaN before any), time in seconds (-inf before any), and the
    exemplars (trace id, span id, value) of that interval."""

    series: SeriesKey
    value: float
    time: float
    exemplars: _Exemplars = ()

    @property
    def indicator(self) -> bool:
        """True for a key indicator (``query_latency_p95``, ``error_rate``, ...), false for a raw metric."""
        return self.series.metric in INDICATORS


def _fmt(value: float) -> str:
    return f"{value:.4g}"


class Analyzer:
    """Windows, detectors and findings for many series.

    ``Analyzer(config)`` or ``Analyzer(**fields)`` with any
    :class:`~heritage_otel.analysis.config.AnalyzerConfig` field, e.g.
    ``Analyzer(retention_minutes=60, interval_seconds=15, sensitivity=3.0)``.
    Thread-safe: ingest and evaluate may be called from different threads.
    """

    def __init__(self, config: AnalyzerConfig | None = None, **fields: Any) -> None:
        if config is None:
            config = AnalyzerConfig(**fields)
        elif fields:
            config = replace(config, **fields)
        self.config = config
        self.rules = ThresholdRules(config.thresholds)
        self._metric_rules = any(rule.name not in INDICATORS for rule in self.rules.rules)
        self._windows = SeriesWindows(config.points, config.max_series, idle_s=config.series_idle_s)
        self._buckets: dict[tuple[float, ...], BucketWindows] = {}
        self._bucket_of: dict[SeriesKey, BucketWindows] = {}
        self._rule_of_row = np.full(0, -1, dtype=np.intp)
        self._pending_refs: list[tuple[str, Labels, NDArray[np.float64], bool]] = []
        self._anomaly = DetectorRows(config)
        self._lock = threading.RLock()
        self._last_time = -math.inf
        self.samples_ingested = 0
        #: A :class:`~heritage_otel.analysis.slo.SloTracker` fed every export (None: no objectives).
        self.slos: Any = None
        #: Series whose window was reused for a new series after ``series_idle_s`` without a point.
        self.evicted_series = 0
        #: Histogram series kept without drift windows because ``max_bucket_cells`` buckets were held.
        self.drift_refused = 0
        self._bucket_cells = 0

    # --- ingest -----------------------------------------------------------
    def ingest(self, samples: Iterable[IntervalSample]) -> None:
        """Add one export's samples (and the indicators derived from them) to the windows."""
        batch = list(samples)
        if not batch:
            return
        with self._lock:
            latest: dict[SeriesKey, IntervalSample] = {s.series: s for s in batch}
            keys = list(latest)
            values = np.array([latest[k].value for k in keys], dtype=float)
            times = np.array([latest[k].end_ns / 1e9 for k in keys], dtype=float)
            exemplars = [self._exemplars_of(latest[k]) for k in keys]
            t_end = float(times.max())
            rows = self._windows.rows_for(keys, now=t_end)
            self._forget_evicted()
            if self._metric_rules:  # a rule names a recorded metric, not only an indicator
                self._set_rules(rows, keys)
            self._windows.append(rows, values, times, exemplars)

            indicators = compute_indicators(batch)
            if indicators:
                ikeys = list(indicators)
                rows = self._windows.rows_for(ikeys, now=t_end)
                self._forget_evicted()
                self._set_rules(rows, ikeys)
                self._windows.append(
                    rows, np.array([indicators[k].value for k in ikeys]), t_end, [indicators[k].exemplars for k in ikeys]
                )
            self._ingest_buckets([s for s in latest.values() if s.kind == KIND_HISTOGRAM and s.bounds])
            if self.slos is not None:
                self.slos.ingest(batch, {k: v.value for k, v in indicators.items()})
            self._last_time = max(self._last_time, t_end)
            self.samples_ingested += len(batch)

    def ingest_values(self, keys: Sequence[SeriesKey], values: NDArray[np.float64], t: float) -> None:
        """Append one value per series at time ``t`` (seconds) without samples: for tests, benchmarks, replays."""
        with self._lock:
            rows = self._windows.rows_for(list(keys), now=float(t))
            self._forget_evicted()
            self._set_rules(rows, keys)
            self._windows.append(rows, np.asarray(values, dtype=float), t)
            self._last_time = max(self._last_time, float(t))

    def ingest_buckets(self, keys: Sequence[SeriesKey], bounds: Sequence[float], counts: NDArray[np.float64], t: float) -> None:
        """Append one interval of bucket counts per series (shape ``(len(keys), len(bounds) + 1)``)."""
        with self._lock:
            group = self._group(tuple(float(b) for b in bounds))
            rows = group.rows_for(list(keys))
            for k in keys:
                self._bucket_of[k] = group
            group.append(rows, counts, t)
            self._last_time = max(self._last_time, float(t))

    def forget(self, keys: Iterable[SeriesKey]) -> int:
        """Drop these series' windows, drift rows and detector state (their rows are reused); returns how many."""
        with self._lock:
            n = 0
            for key in keys:
                row = self._windows.release(key)
                if row is not None:
                    self._reset_row(row)
                    n += 1
                self._forget_buckets(key)
            return n

    def _forget_evicted(self) -> None:
        for key, row in self._windows.evicted:
            self._reset_row(row)
            self._forget_buckets(key)  # type: ignore[arg-type]  # the key of a live row is a SeriesKey (typed Hashable | None there)
            self.evicted_series += 1
        self._windows.evicted.clear()

    def _reset_row(self, row: int) -> None:
        if row < len(self._rule_of_row):
            self._rule_of_row[row] = -1
        self._anomaly.reset(row)

    def _forget_buckets(self, key: SeriesKey) -> None:
        group = self._bucket_of.pop(key, None)
        if group is not None and group.release(key) is not None:
            self._bucket_cells -= group.buckets

    @staticmethod
    def _exemplars_of(sample: IntervalSample) -> _Exemplars:
        triples = zip(sample.exemplar_trace_ids, sample.exemplar_span_ids, sample.exemplar_values, strict=False)
        return tuple(sorted(triples, key=lambda e: -e[2])[:5])

    def _set_rules(self, rows: NDArray[np.intp], keys: Sequence[SeriesKey]) -> None:
        n = len(self._windows)
        if len(self._rule_of_row) < n:
            grown = np.full(max(n, 2 * len(self._rule_of_row), 64), -1, dtype=np.intp)
            grown[: len(self._rule_of_row)] = self._rule_of_row
            self._rule_of_row = grown
        for row, key in zip(rows.tolist(), keys, strict=True):
            if row >= 0 and self._rule_of_row[row] < 0:
                rule = self.rules.index.get(key.metric)
                if rule is not None:
                    self._rule_of_row[row] = rule

    def _group(self, bounds: tuple[float, ...]) -> BucketWindows:
        group = self._buckets.get(bounds)
        if group is None:
            cfg = self.config
            group = BucketWindows(bounds, cfg.drift_window_points, cfg.drift_baseline_points, cfg.max_series,
                                  idle_s=cfg.series_idle_s)
            self._buckets[bounds] = group
        return group

    def _ingest_buckets(self, samples: list[IntervalSample]) -> None:
        by_bounds: dict[tuple[float, ...], list[IntervalSample]] = {}
        for s in samples:
            by_bounds.setdefault(s.bounds, []).append(s)
        for bounds, group_samples in by_bounds.items():
            group = self._group(bounds)
            t = max(s.end_ns for s in group_samples) / 1e9
            kept = []
            for s in group_samples:  # within the bucket budget: a new series takes its buckets' cells
                key = s.series
                if key in group.index:
                    kept.append(s)
                    continue
                old = self._bucket_of.get(key)
                if old is not None and old is not group:  # its layout changed (an exponential rescale)
                    self._forget_buckets(key)
                if self._bucket_cells + group.buckets > self.config.max_bucket_cells and not self._evict_buckets(t):
                    self.drift_refused += 1
                    continue
                self._bucket_cells += group.buckets
                kept.append(s)
            if not kept:
                continue
            keys = [s.series for s in kept]
            new = [k for k in keys if k not in group.index]
            rows = group.rows_for(keys, now=t)
            self._forget_group_evicted(group)
            for k, row in zip(keys, rows.tolist(), strict=True):
                if row >= 0:
                    self._bucket_of[k] = group
                elif k in new:
                    self._bucket_cells -= group.buckets
            group.append(rows, np.array([s.bucket_counts for s in kept], dtype=float), t)
            if new and self._pending_refs:
                for key in new:
                    self._apply_pending(key, group)

    def _forget_group_evicted(self, group: BucketWindows) -> None:
        for key, _row in group.evicted:
            self._bucket_of.pop(key, None)  # type: ignore[call-overload]  # the key of a live row is a SeriesKey (typed Hashable | None there)
            self._bucket_cells -= group.buckets
        group.evicted.clear()

    def _evict_buckets(self, now: float) -> bool:
        """Free the drift rows of one idle histogram series (any layout); True when some were freed."""
        for group in self._buckets.values():
            if group.count and group.evict_idle(now):
                self._forget_group_evicted(group)
                return True
        return False

    # --- drift references -----------------------------------------------
    def set_reference(
        self, metric: str, data: Sequence[float] | NDArray[np.float64], attributes: Mapping[str, Any] | None = None,
        *, bucketed: bool = False,
    ) -> int:
        """Fix the drift reference of every histogram series of ``metric`` (matching ``attributes``).

        ``data`` is raw values (binned with each series' bucket bounds, upper
        bound inclusive as in OpenTelemetry) or, with ``bucketed=True``, bucket
        counts. Applies to series seen later too. Returns the number of series
        updated now.
        """
        labels = SeriesKey.of(metric, attributes).attributes
        arr = np.asarray(data, dtype=float).ravel()
        with self._lock:
            self._pending_refs.append((metric, labels, arr, bucketed))
            updated = 0
            for key, group in self._bucket_of.items():
                if self._matches(key, metric, labels):
                    self._fix(group, key, arr, bucketed)
                    updated += 1
            return updated

    @staticmethod
    def _matches(key: SeriesKey, metric: str, labels: Labels) -> bool:
        return key.metric == metric and set(labels) <= set(key.attributes)

    @staticmethod
    def _fix(group: BucketWindows, key: SeriesKey, arr: NDArray[np.float64], bucketed: bool) -> None:
        if bucketed:
            counts = arr
        else:
            finite = arr[np.isfinite(arr)]
            idx = np.searchsorted(np.asarray(group.bounds), finite, side="left")
            counts = np.bincount(idx, minlength=group.buckets).astype(float)
        group.set_reference(group.index[key], counts)

    def _apply_pending(self, key: SeriesKey, group: BucketWindows) -> None:
        for metric, labels, arr, bucketed in self._pending_refs:
            if self._matches(key, metric, labels):
                try:
                    self._fix(group, key, arr, bucketed)
                except ValueError:
                    _log.warning("drift reference for %s does not fit its %d buckets; ignored", metric, group.buckets)

    # --- evaluate ---------------------------------------------------------
    def evaluate(self, now: float | None = None) -> Evaluation:
        """Run every detector over every series; ``now`` (seconds) defaults to the latest data time."""
        with self._lock:
            now = self._last_time if now is None else float(now)
            findings: list[Finding] = []
            judged: dict[str, NDArray[np.bool_]] = {}
            n = len(self._windows)
            if n:
                self._evaluate_windows(now, n, findings, judged)
            drift_judged: dict[int, tuple[NDArray[np.bool_], NDArray[np.bool_]]] = {}
            for group in self._buckets.values():
                if len(group):
                    drift_judged[id(group)] = self._evaluate_drift(group, now, findings)
            index = self._windows.index
            bucket_of = dict(self._bucket_of)

            def was_judged(detector: str, series: SeriesKey) -> bool:
                if detector in ("psi", "ks"):
                    group = bucket_of.get(series)
                    if group is None or id(group) not in drift_judged:
                        return False
                    row = group.index[series]
                    arr = drift_judged[id(group)][0 if detector == "psi" else 1]
                    return bool(row < len(arr) and arr[row])
                row = index.get(series)
                arr = judged.get(detector)
                return bool(row is not None and arr is not None and row < len(arr) and arr[row])

            return Evaluation(now, tuple(findings), was_judged, self)

    def _evaluate_windows(self, now: float, n: int, findings: list[Finding], judged: dict[str, NDArray[np.bool_]]) -> None:
        cfg = self.config
        w = self._windows
        values = w.values[:n]
        times = w.times[:n]
        rows = np.arange(n)
        slots = w.latest_slots()
        latest = values[rows, slots]
        fresh = (times[rows, slots] >= now - cfg.stale_after_intervals * cfg.interval_seconds) & np.isfinite(latest)

        rule_idx = np.full(n, -1, dtype=np.intp)  # rows created after the last rule lookup have no rule
        known = min(n, len(self._rule_of_row))
        rule_idx[:known] = self._rule_of_row[:known]
        has_rule = (rule_idx >= 0) & fresh
        judged["threshold"] = has_rule
        if has_rule.any():
            hit_rows = np.flatnonzero(has_rule)
            levels, crossed = self.rules.evaluate(rule_idx[hit_rows], latest[hit_rows])
            for i in np.flatnonzero(levels):
                row = int(hit_rows[i])
                rule = self.rules.rules[int(rule_idx[row])]
                findings.append(self._threshold_finding(row, rule, float(latest[row]), float(crossed[i]), int(levels[i])))

        valid = times >= now - cfg.retention_s
        valid[rows, slots] = False
        valid &= np.isfinite(values)
        latest_t = times[rows, slots]
        for det, members in self._anomaly.members(self._windows.keys, n):
            rows_d = np.flatnonzero(members & fresh)
            judged.setdefault(det.name, np.zeros(n, dtype=bool))
            if not len(rows_d):
                continue
            if det.window:
                whole = len(rows_d) == n
                out = det.score_rows(latest[rows_d], {}, values if whole else values[rows_d],
                                     valid if whole else valid[rows_d])
            else:  # streaming: feed each series' new point once
                rows_d, out = self._anomaly.step(det, rows_d, latest, latest_t)
            judged[det.name][rows_d[out.judged]] |= True
            for i in np.flatnonzero(out.flagged).tolist():
                row = int(rows_d[i])
                findings.append(self._anomaly_finding(row, det, float(latest[row]), float(out.scores[i]),
                                                      float(out.centers[i]), float(out.scales[i])))

    def _labels(self, key: SeriesKey) -> Labels:
        return tuple(sorted(key.labels(self.config.resource_label_keys).items()))

    def _threshold_finding(self, row: int, rule: Any, value: float, crossed: float, level: int) -> Finding:
        key: SeriesKey = self._windows.keys[row]  # type: ignore[assignment]  # the windows' keys are SeriesKey (typed as Hashable there)
        alert_level = AlertLevel.CRITICAL if level == LEVEL_CRITICAL else AlertLevel.WARNING
        side = "above" if rule.upper else "below"
        which = "critical" if level == LEVEL_CRITICAL else "warning"
        message = (f"{key.metric} = {_fmt(value)} is {side} the {which} level {_fmt(crossed)} "
                   f"(rule: {rule.describe()})")
        return Finding(key.metric, "threshold", self._labels(key), alert_level, value, crossed, message,
                       self._windows.exemplars[row], math.nan, key)

    def _anomaly_finding(self, row: int, det: Detector, value: float, score: float, center: float, scale: float) -> Finding:
        key: SeriesKey = self._windows.keys[row]  # type: ignore[assignment]  # the windows' keys are SeriesKey (typed as Hashable there)
        return anomaly_finding(key.metric, det.name, self._labels(key), value, score, center, scale,
                               sensitivity=det.sensitivity, critical_factor=self.config.critical_factor,
                               exemplars=self._windows.exemplars[row], series=key, score_name=det.score_name)

    def _evaluate_drift(
        self, group: BucketWindows, now: float, findings: list[Finding]
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        cfg = self.config
        n = len(group)
        current = group.current(now - cfg.retention_s)
        reference = group.reference[:n]
        latest_t = group.times[np.arange(n), (group.head[:n] - 1) % group.points]
        ready = (group.reference_ready() & (reference.sum(axis=1) >= cfg.drift_min_count)
                 & (current.sum(axis=1) >= cfg.drift_min_count)
                 & (latest_t >= now - cfg.stale_after_intervals * cfg.interval_seconds))
        if not ready.any():
            return ready, ready
        rows = np.flatnonzero(ready)
        psi_values = np.asarray(psi_counts(reference[rows], current[rows]))
        ks_result = ks_counts(reference[rows], current[rows])
        d = np.asarray(ks_result.statistic)
        p = np.asarray(ks_result.pvalue)
        psi_hit = psi_drifted(psi_values, cfg.psi_warning)
        ks_hit = ks_drifted(d, p, cfg.ks_alpha, cfg.ks_min_statistic)
        for i in np.flatnonzero(psi_hit).tolist():
            key: SeriesKey = group.keys[int(rows[i])]  # type: ignore[assignment]  # the windows' keys are SeriesKey (typed as Hashable there)
            findings.append(psi_finding(key.metric, self._labels(key), float(psi_values[i]), warning=cfg.psi_warning,
                                        critical=cfg.psi_critical, exemplars=self._row_exemplars(key), series=key))
        for i in np.flatnonzero(ks_hit).tolist():
            key = group.keys[int(rows[i])]  # type: ignore[assignment]  # the windows' keys are SeriesKey (typed as Hashable there)
            findings.append(ks_finding(key.metric, self._labels(key), float(d[i]), float(p[i]), alpha=cfg.ks_alpha,
                                       min_statistic=cfg.ks_min_statistic, approximate=True,
                                       exemplars=self._row_exemplars(key), series=key))
        # PSI and KS judge the same rows (both need a ready reference and current window)
        return ready, ready

    def _row_exemplars(self, key: SeriesKey) -> _Exemplars:
        row = self._windows.index.get(key)
        return self._windows.exemplars[row] if row is not None else ()

    # --- reading ----------------------------------------------------------
    @property
    def last_time(self) -> float:
        """Time (seconds) of the newest data ingested; -inf before any."""
        return self._last_time

    def series(self) -> list[SeriesKey]:
        """Every series with a window (metrics and indicators)."""
        with self._lock:
            return [k for k in self._windows.keys if k is not None]  # type: ignore[misc]  # the windows' keys are SeriesKey or None (a freed row), typed as Hashable there

    def snapshot(self, metric: str | None = None) -> list[SeriesSnapshot]:
        """The latest point of every series (or of one ``metric``'s), with its exemplars, in creation order."""
        with self._lock:
            n = len(self._windows)
            rows = np.arange(n)
            slots = self._windows.latest_slots()
            values = self._windows.values[rows, slots].tolist()
            times = self._windows.times[rows, slots].tolist()
            keys = list(self._windows.keys)
            exemplars = list(self._windows.exemplars[:n])
        return [SeriesSnapshot(k, v, t, e) for k, v, t, e in zip(keys, values, times, exemplars, strict=True)
                if isinstance(k, SeriesKey) and (metric is None or k.metric == metric)]

    def exemplars(self, series: SeriesKey) -> _Exemplars:
        """The exemplars (trace id, span id, ...) of one series' latest interval; empty for an unknown series."""
        with self._lock:
            return tuple(self._row_exemplars(series))

    def points(self, series: SeriesKey, since: float = -math.inf) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """One series' (times, values) at or after ``since`` (seconds), oldest first, finite values only;
        empty arrays for an unknown series."""
        with self._lock:
            row = self._windows.index.get(series)
            if row is None:
                return np.empty(0), np.empty(0)
            return self._windows.recent_points(row, since)

    def recent_values(self, series: SeriesKey, since: float) -> NDArray[np.float64]:
        """One series' values at or after ``since`` (seconds), oldest first."""
        return self.points(series, since)[1]

    def latest_indicators(self, max_age_s: float | None = None) -> dict[str, float]:
        """Latest value of each indicator without attributes (the last resource wins), fresh ones only
        (newer than ``max_age_s`` before the newest data; default ``stale_after_intervals`` intervals)."""
        cfg = self.config
        age = cfg.stale_after_intervals * cfg.interval_seconds if max_age_s is None else max_age_s
        with self._lock:
            horizon = self._last_time - age
        return {s.series.metric: s.value for s in self.snapshot()
                if s.indicator and not s.series.attributes and s.time >= horizon}

    def stats(self) -> dict[str, int]:
        """Counters: series, dropped and evicted series (over ``max_series``), samples ingested, bytes held,
        bucket cells held for drift and histogram series refused a drift window (over ``max_bucket_cells``)."""
        with self._lock:
            dropped = self._windows.dropped + sum(g.dropped for g in self._buckets.values())
            bucket_bytes = sum(g.nbytes() for g in self._buckets.values())
            nbytes = self._windows.nbytes() + bucket_bytes
            return {"series": self._windows.count, "histogram_series": sum(g.count for g in self._buckets.values()),
                    "dropped_series": dropped, "samples_ingested": self.samples_ingested, "bytes": nbytes,
                    "evicted_series": self.evicted_series, "bucket_cells": self._bucket_cells, "bucket_bytes": bucket_bytes,
                    "bucket_layouts": len(self._buckets), "drift_refused": self.drift_refused}

