"""AnalyzingMetricExporter: an OpenTelemetry metric exporter that feeds the Analyzer.

Put it in a ``PeriodicExportingMetricReader``; every export becomes one
:class:`~heritage_otel.analysis.samples.IntervalSample` per series, goes to
the :class:`~heritage_otel.analysis.analyzer.Analyzer`, is evaluated, and the
findings go to the :class:`~heritage_otel.analysis.alerts.AlertManager`
(which delivers alerts off this thread).

Temporality: without a downstream exporter it asks for DELTA for every
instrument kind (one interval per export) but the up-down counters, which
it asks CUMULATIVE and reads as gauges (their level), as the SDK's
``delta`` temporality preference does. With a ``downstream`` exporter
(e.g. OTLP) it adopts the downstream's preferred temporality and
aggregation and hands it the very same ``MetricsData`` object, so the
downstream receives exactly what it would have received on its own;
cumulative points are turned into interval deltas internally for analysis.

It never raises: failures are logged and reported as
``MetricExportResult.FAILURE``. Its own work runs under
``suppress_instrumentation`` so exporting creates no telemetry.

>>> from opentelemetry.sdk.metrics import MeterProvider
>>> from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
>>> from heritage_otel.analysis import Analyzer, AlertManager
>>> manager = AlertManager()
>>> exporter = AnalyzingMetricExporter(Analyzer(interval_seconds=60), manager)
>>> provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(exporter, 60_000)])
>>> provider.get_meter("demo").create_counter("heritage.queries").add(3)
>>> provider.force_flush()
True
>>> [s.count for s in exporter.last_samples]
[3.0]
>>> provider.shutdown(); manager.shutdown()
True
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData

from heritage_otel.analysis.alerts import AlertManager
from heritage_otel.analysis.analyzer import Analyzer
from heritage_otel.analysis.cumulative import CumulativeTracker
from heritage_otel.analysis.findings import Evaluation
from heritage_otel.analysis.samples import KIND_GAUGE, KIND_SUM, IntervalSample, SeriesKey

__all__ = ["AnalyzingMetricExporter", "DELTA_TEMPORALITY", "to_samples"]

_log = logging.getLogger(__name__)

try:  # the synchronous Gauge exists in recent SDKs only
    from opentelemetry.sdk.metrics import _Gauge as _SyncGauge
except ImportError:  # pragma: no cover
    _SyncGauge = None

_KINDS: list[type] = [Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge]
if _SyncGauge is not None:
    _KINDS.append(_SyncGauge)
#: DELTA for every instrument kind but the up-down counters, whose level is what matters: CUMULATIVE for those
#: (the SDK's ``delta`` temporality preference), so they arrive as gauges (see :func:`to_samples`).
DELTA_TEMPORALITY: dict[type, AggregationTemporality] = {
    k: AggregationTemporality.CUMULATIVE if k in (UpDownCounter, ObservableUpDownCounter) else AggregationTemporality.DELTA
    for k in _KINDS}


def _exemplars(points_exemplars: Sequence[Any]) -> list[tuple[str, str, float]]:
    out = []
    for ex in points_exemplars or ():
        trace_id = getattr(ex, "trace_id", None)
        span_id = getattr(ex, "span_id", None)
        if trace_id:
            out.append((format(trace_id, "032x"), format(span_id or 0, "016x"), float(ex.value)))
    return out


def _histogram_sample(key: SeriesKey, p: Any, unit: str, cumulative: CumulativeTracker | None) -> IntervalSample | None:
    counts, total = tuple(p.bucket_counts), float(p.sum)
    lo, hi = float(p.min), float(p.max)
    start = p.start_time_unix_nano
    if cumulative is not None:
        step = cumulative.histogram(key, start or 0, p.time_unix_nano, p.explicit_bounds, counts, total)
        if step is None:
            return None
        counts, total, start = step.counts, step.total, step.start_ns
        if not step.reset:
            lo = hi = math.nan  # min/max are over the whole cumulative period, not this increment
    if sum(counts) == 0:
        return None
    return IntervalSample.from_histogram(
        key, start_ns=start, end_ns=p.time_unix_nano, bounds=tuple(p.explicit_bounds), bucket_counts=counts,
        total=total, minimum=lo, maximum=hi, unit=unit, exemplars=_exemplars(p.exemplars))


def _gauge_sample(key: SeriesKey, p: Any, unit: str) -> IntervalSample:
    start = p.start_time_unix_nano or p.time_unix_nano - 1
    return IntervalSample(key, KIND_GAUGE, start, p.time_unix_nano, 1.0, float(p.value), unit=unit,
                          gauge_value=float(p.value))


def _sum_sample(key: SeriesKey, p: Any, data: Sum, unit: str, cumulative: CumulativeTracker) -> IntervalSample | None:
    if data.aggregation_temporality != AggregationTemporality.CUMULATIVE:
        value, start = float(p.value), p.start_time_unix_nano
    elif not data.is_monotonic:  # a cumulative up-down counter: its level is what matters
        return _gauge_sample(key, p, unit)
    else:
        step = cumulative.sum(key, p.start_time_unix_nano or 0, p.time_unix_nano, float(p.value))
        if step is None:
            return None
        value, start = step.value, step.start_ns
    ex = _exemplars(p.exemplars)
    return IntervalSample(
        key, KIND_SUM, start, p.time_unix_nano, value, value, unit=unit,
        exemplar_trace_ids=tuple(e[0] for e in ex), exemplar_span_ids=tuple(e[1] for e in ex),
        exemplar_values=tuple(e[2] for e in ex), monotonic=bool(data.is_monotonic))


def to_samples(metrics_data: MetricsData, cumulative: CumulativeTracker | None = None) -> list[IntervalSample]:
    """One interval sample per series in ``metrics_data`` (exponential histograms are skipped).

    CUMULATIVE sums and histograms become increments through ``cumulative``
    (by default a new tracker with ``initial_value="keep"``: one batch alone
    counts every point whole); a cumulative up-down counter becomes a gauge
    with its current level, as in the Analyzer service's receiver.
    """
    samples: list[IntervalSample] = []
    cumulative = cumulative if cumulative is not None else CumulativeTracker("keep", max_staleness_s=None)
    for rm in metrics_data.resource_metrics:
        resource = dict(rm.resource.attributes) if rm.resource is not None else {}
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                data = metric.data
                unit = metric.unit or ""
                for p in data.data_points:
                    key = SeriesKey.of(metric.name, p.attributes, resource)
                    sample: IntervalSample | None = None
                    if isinstance(data, HistogramData):
                        is_cumulative = data.aggregation_temporality == AggregationTemporality.CUMULATIVE
                        sample = _histogram_sample(key, p, unit, cumulative if is_cumulative else None)
                    elif isinstance(data, Sum):
                        sample = _sum_sample(key, p, data, unit, cumulative)
                    elif isinstance(data, Gauge):
                        sample = _gauge_sample(key, p, unit)
                    if sample is not None:
                        samples.append(sample)
    return samples


class AnalyzingMetricExporter(MetricExporter):
    """Metric exporter that analyses what it receives (see the module docstring).

    ``analyzer`` default ``Analyzer()``; ``alert_manager`` optional (findings
    are then only available from :attr:`last_evaluation`); ``downstream`` an
    optional exporter that receives every batch unchanged; ``on_evaluation``
    an optional callback run after each evaluation (exceptions are logged).
    """

    def __init__(
        self,
        analyzer: Analyzer | None = None,
        alert_manager: AlertManager | None = None,
        downstream: MetricExporter | None = None,
        *,
        evaluate: bool = True,
        on_evaluation: Callable[[Evaluation], Any] | None = None,
    ) -> None:
        if downstream is not None and not isinstance(downstream, MetricExporter):
            msg = f"downstream = {downstream!r} is not valid; expected an opentelemetry MetricExporter"
            raise ValueError(msg)
        temporality = getattr(downstream, "_preferred_temporality", None) if downstream else DELTA_TEMPORALITY
        aggregation = getattr(downstream, "_preferred_aggregation", None) if downstream else None
        super().__init__(preferred_temporality=temporality or None, preferred_aggregation=aggregation)
        self.analyzer = analyzer if analyzer is not None else Analyzer()
        self.alert_manager = alert_manager
        self.downstream = downstream
        self.evaluate = evaluate
        self.on_evaluation = on_evaluation
        self.last_samples: list[IntervalSample] = []
        self.last_evaluation: Evaluation | None = None
        self.exports = 0
        self.failures = 0
        self.last_duration_s = 0.0
        # Every cumulative point comes from the provider this exporter was built into, so a first
        # point holds only what this process did: counted whole. A series that stops being exported
        # is forgotten after the Analyzer's retention.
        self._cumulative = CumulativeTracker("keep", max_staleness_s=self.analyzer.config.retention_s)
        self._lock = threading.Lock()
        self._shutdown = False

    def _analyze(self, metrics_data: MetricsData) -> None:
        samples = to_samples(metrics_data, self._cumulative)
        self.last_samples = samples
        self.analyzer.ingest(samples)
        if not self.evaluate:
            return
        evaluation = self.analyzer.evaluate()
        self.last_evaluation = evaluation
        if self.alert_manager is not None:
            self.alert_manager.observe(evaluation)
        if self.on_evaluation is not None:
            try:
                self.on_evaluation(evaluation)
            except Exception:  # noqa: BLE001 - telemetry never breaks the caller
                _log.exception("on_evaluation callback failed")

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        """Analyse one batch, then pass the same batch to the downstream exporter (if any)."""
        if self._shutdown:
            return MetricExportResult.FAILURE
        result = MetricExportResult.SUCCESS
        with suppress_instrumentation():
            started = time.perf_counter()
            try:
                with self._lock:
                    self._analyze(metrics_data)
            except Exception:  # noqa: BLE001 - an exporter never raises
                self.failures += 1
                result = MetricExportResult.FAILURE
                _log.exception("metric analysis failed; this batch was not analysed")
            self.last_duration_s = time.perf_counter() - started
            self.exports += 1
            if self.downstream is not None:
                try:
                    result = self.downstream.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
                except Exception:  # noqa: BLE001 - telemetry never breaks the caller
                    _log.exception("downstream metric exporter failed")
                    result = MetricExportResult.FAILURE
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Flush the downstream exporter and the alert sinks' queues."""
        ok = True
        with suppress_instrumentation():
            try:
                if self.downstream is not None:
                    ok = bool(self.downstream.force_flush(timeout_millis=timeout_millis))
                if self.alert_manager is not None:
                    ok = self.alert_manager.flush(timeout_millis / 1000.0) and ok
            except Exception:  # noqa: BLE001 - telemetry never breaks the caller
                _log.exception("force_flush failed")
                return False
        return ok

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Shut the downstream exporter down; the AlertManager belongs to its creator and stays up."""
        if self._shutdown:
            return
        self._shutdown = True
        if self.downstream is not None:
            with suppress_instrumentation():
                try:
                    self.downstream.shutdown(timeout_millis=timeout_millis, **kwargs)
                except Exception:  # noqa: BLE001 - telemetry never breaks the caller
                    _log.exception("downstream metric exporter shutdown failed")
