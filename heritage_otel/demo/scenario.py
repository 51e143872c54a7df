"""The demo scenario: the instrumented reference recommender through baseline, incident and recovery.

Telemetry stays in process: one ``configure()`` pipeline whose metric
readers are the analysis reader (an :class:`AnalyzingMetricExporter` in a
``PeriodicExportingMetricReader`` the scenario flushes once per *tick*, so
one tick is one analysis interval) and a cumulative in-memory reader for
the end-of-run tables. The Analyzer's findings pass the default alert
policy (:mod:`heritage_otel.analysis.policy`) and are grouped into incidents
(:mod:`heritage_otel.analysis.incidents`), as anywhere else; the alerts file
holds one notification per incident event. Spans go to an OTLP JSON file (and to a Collector when an
OTLP endpoint is set), and the slowest traces are kept whole.

Phases (ticks are analysis intervals; ``queries`` are spread evenly over them):

=========  =====  =============================================================
phase      ticks  faults
=========  =====  =============================================================
baseline   24     none: the usual query mix
incident   10     ``simrank`` raises (fallbacks), ``embedding`` +8 ms, drifted mix
recovery   14     all faults cleared
=========  =====  =============================================================

>>> config = DemoConfig(queries=480)
>>> config.per_tick, sum(p.ticks for p in PHASES)
(10, 48)
"""

from __future__ import annotations

import gc
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader

from heritage_otel.analysis import AlertManager, Analyzer, AnalyzerConfig, AnalyzingMetricExporter, compute_health
from heritage_otel.analysis.alerts import Alert
from heritage_otel.analysis.detectors import DEFAULT_DETECTOR
from heritage_otel.analysis.health import HealthReport
from heritage_otel.analysis.sinks.jsonl import JsonlFileSink
from heritage_otel.demo.slowest import SlowestTraces
from heritage_otel.demo.totals import MetricTotals
from heritage_otel.errors import HeritageError
from heritage_otel.examples.recommender import FaultInjector, HeritageRecommender, QueryMix
from heritage_otel.instrumentation import RecommenderInstrumentor

__all__ = ["DEMO_ANALYZER", "PHASES", "REMOTE_TICK_S", "DemoConfig", "DemoResult", "Phase", "PhaseResult", "TelemetryDisabledError",
           "run_demo", "tick_seconds"]


def _baseline(faults: FaultInjector) -> None:
    faults.clear()


def _incident(faults: FaultInjector) -> None:
    faults.fail("simrank")
    faults.slow("embedding", 0.008)
    faults.drift(True)


class TelemetryDisabledError(RuntimeError):
    """The SDK is disabled, so there is nothing to analyse."""


@dataclass(frozen=True)
class Phase:
    """A named run of ticks, with the faults switched on at its start."""

    name: str
    ticks: int
    apply: Callable[[FaultInjector], None]
    description: str


PHASES: tuple[Phase, ...] = (
    Phase("baseline", 24, _baseline, "usual query mix, no fault"),
    Phase("incident", 10, _incident, "simrank fails, embedding +8 ms, query mix drifts"),
    Phase("recovery", 14, _baseline, "faults cleared"),
)

#: Analyzer settings: the defaults, except what is sized for a run of 48 ticks: the default (adaptive)
#: detector learns for 16 ticks instead of 150, drift is judged against the first 16 baseline ticks over a
#: 4-tick window, with at least 40 observations a side (= 4 ticks x the 10 queries per tick of the smallest
#: run). The tick length is set at run time.
DEMO_ANALYZER = AnalyzerConfig(
    interval_seconds=1.0,
    window_points=64,
    anomaly_detectors=({"name": DEFAULT_DETECTOR, "warmup": 16},),
    drift_baseline_points=16,
    drift_window_points=4,
    drift_min_count=40,
)

#: Tick length when exporting to an OTLP endpoint and no duration is given: metrics leave once per tick,
#: so a remote Analyzer (``heritage-otel analyzer serve --interval-seconds 2``) judges one export per interval,
#: 48 intervals in all, and the Collector's batch processor (1 s) never merges two ticks into one export.
REMOTE_TICK_S = 2.0

#: Shortest tick. Queries arrive evenly spread over a tick, so a burst of load on a shared machine must
#: last the alert policy's for_intervals ticks (2) to raise an alert.
MIN_TICK_S = 0.2
_MIN_PER_TICK = 10
#: Bound on the final flush and shutdown (an unreachable OTLP endpoint must not hold the demo).
_FINAL_FLUSH_MS = 10_000
#: The in-process span store keeps the latest spans only; the file has them all.
_SPAN_STORE_SIZE = 2000


@dataclass(frozen=True)
class DemoConfig:
    """What to run: seed, total queries, wall-clock pacing, output folder, optional OTLP endpoint."""

    seed: int = 7
    queries: int = 2400
    duration_s: float | None = None
    output_dir: Path = Path("out/demo")
    otlp_endpoint: str | None = None
    top_k: int = 10
    cache_size: int = 16
    service_name: str | None = None  # None: OTEL_SERVICE_NAME, else "heritage-demo"

    def __post_init__(self) -> None:
        ticks = sum(p.ticks for p in PHASES)
        if isinstance(self.queries, bool) or not isinstance(self.queries, int) or self.queries < ticks * _MIN_PER_TICK:
            msg = f"queries={self.queries!r} is not valid; expected an integer >= {ticks * _MIN_PER_TICK} ({_MIN_PER_TICK} per tick)"
            raise ValueError(msg)
        if self.duration_s is not None and not (isinstance(self.duration_s, (int, float)) and self.duration_s > 0):
            msg = f"duration={self.duration_s!r} is not valid; expected a number of seconds > 0, or none (as fast as possible)"
            raise ValueError(msg)
        object.__setattr__(self, "output_dir", Path(self.output_dir))

    @property
    def per_tick(self) -> int:
        """Queries per tick."""
        return self.queries // sum(p.ticks for p in PHASES)


@dataclass
class PhaseResult:
    """What one phase did and how the system looked at its end."""

    name: str
    description: str
    queries: int = 0
    failed_queries: int = 0
    seconds: float = 0.0
    health: HealthReport | None = None
    worst_score: float = 100.0
    quality: dict[str, float] = field(default_factory=dict)
    #: incident ids fired and resolved in the phase, and every notification it sent
    alerts_fired: list[str] = field(default_factory=list)
    alerts_resolved: list[str] = field(default_factory=list)
    notifications: int = 0


@dataclass
class DemoResult:
    """Everything the report needs."""

    config: DemoConfig
    phases: list[PhaseResult]
    alerts: list[dict[str, Any]]  # one row per incident
    components: list[dict[str, Any]]
    slowest: list[tuple[float, list[Any]]]
    startup_s: float
    seconds: float
    files: dict[str, str]


TickCallback = Callable[[Phase, int, HealthReport], None]


def _incident_rows(notifications: list[Alert], phase_of: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """One row per incident: its first notification, highest level, members, cause and resolution."""
    rows: dict[str, dict[str, Any]] = {}
    for note in notifications:
        row = rows.get(note.id)
        if row is None:
            row = rows[note.id] = {
                "id": note.id, "incident": note.incident, "level": note.level.name, "metric": note.metric,
                "detector": note.detector, "labels": dict(note.labels), "value": note.current_value,
                "threshold": note.threshold, "message": note.message, "scope": note.scope,
                "exemplar_trace_ids": list(note.exemplar_trace_ids), "jaeger_links": list(note.jaeger_links),
                "fired_in": phase_of.get((note.id, "fired")), "resolved_in": None, "state": note.state,
                "notifications": 0,
            }
        row["notifications"] += 1
        if note.level > type(note.level)[row["level"]]:
            row["level"] = note.level.name
        if note.exemplar_trace_ids and not row["exemplar_trace_ids"]:
            row["exemplar_trace_ids"] = list(note.exemplar_trace_ids)
        row["members"] = [{"metric": m["metric"], "detector": m["detector"], "level": m["level"]}
                          for m in note.members]
        if note.cause:
            row["cause"] = note.cause.get("summary")
        row["state"] = note.state
        if note.state == "resolved":
            row["resolved_in"] = phase_of.get((note.id, "resolved"))
    return list(rows.values())


def tick_seconds(config: DemoConfig) -> float:
    """Seconds per tick: ``duration_s`` spread over the ticks; else :data:`REMOTE_TICK_S` when exporting to an
    OTLP endpoint, as fast as possible otherwise (never under :data:`MIN_TICK_S`).

    >>> tick_seconds(DemoConfig(queries=480)), tick_seconds(DemoConfig(queries=480, otlp_endpoint="http://c:4318"))
    (0.2, 2.0)
    """
    ticks = sum(p.ticks for p in PHASES)
    if config.duration_s:
        return max(config.duration_s / ticks, MIN_TICK_S)
    return REMOTE_TICK_S if config.otlp_endpoint else MIN_TICK_S


def _warm_up(rec: HeritageRecommender) -> None:
    """Run every judged query once without telemetry, so first-call costs stay out of the baseline."""
    with suppress_instrumentation():
        for query in (*rec.corpus.queries, *rec.corpus.drift_queries):
            rec.recommend(query.text, 10)
    rec.cache.clear()
    gc.collect()
    gc.freeze()  # the corpus, indexes and SimRank matrix are long-lived: keep them out of GC passes


def run_demo(config: DemoConfig, on_tick: TickCallback | None = None) -> DemoResult:
    """Run the scenario; telemetry is shut down and every file written when it returns."""
    from heritage_otel.telemetry import configure

    started = time.perf_counter()
    out = config.output_dir
    out.mkdir(parents=True, exist_ok=True)
    files = {"alerts": out / "alerts.jsonl", "spans": out / "spans.otlp.jsonl", "summary": out / "summary.json"}
    for path in files.values():
        path.unlink(missing_ok=True)
    for stale in out.glob("alerts.jsonl.*"):
        stale.unlink()

    tick_s = tick_seconds(config)
    analyzer = Analyzer(DEMO_ANALYZER, interval_seconds=tick_s)
    alerts = AlertManager(history_size=100_000, incident_history_size=100_000)
    alerts.add_sink(JsonlFileSink(files["alerts"]))
    analysis_reader = PeriodicExportingMetricReader(AnalyzingMetricExporter(analyzer, alerts),
                                                    export_interval_millis=math.inf)
    totals_reader = InMemoryMetricReader()
    telemetry = configure(
        service_name=config.service_name or os.environ.get("OTEL_SERVICE_NAME", "").strip() or "heritage-demo",
        endpoint=config.otlp_endpoint,
        metric_readers=[analysis_reader, totals_reader],
        otlp_json_path=files["spans"],
        span_store_size=_SPAN_STORE_SIZE,
        # exported metrics leave once per tick: a remote Analyzer judges the run's intervals, not one a minute
        metric_export_interval_millis=max(1_000, round(tick_s * 1_000)) if config.otlp_endpoint else None,
    )
    if not telemetry.enabled:
        telemetry.shutdown()
        alerts.shutdown()
        msg = "telemetry is disabled (OTEL_SDK_DISABLED=true); the demo needs the SDK: unset OTEL_SDK_DISABLED"
        raise TelemetryDisabledError(msg)
    local_only = not telemetry.settings.endpoint
    slowest = SlowestTraces(3)
    telemetry.tracer_provider.add_span_processor(slowest)  # type: ignore[attr-defined]  # the SDK TracerProvider configure() built
    instrumentor = RecommenderInstrumentor()
    owns_instrumentation = not instrumentor.is_instrumented_by_opentelemetry
    if owns_instrumentation:
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            logger_provider=telemetry.logger_provider,
        )
    totals = MetricTotals(totals_reader)
    phase_of: dict[tuple[str, str], str] = {}
    results: list[PhaseResult] = []
    seen_history = 0
    try:
        rec = HeritageRecommender(seed=config.seed, cache_size=config.cache_size)
        mix = QueryMix(rec.corpus, rec.faults, seed=config.seed)
        _warm_up(rec)
        startup_s = time.perf_counter() - started
        gap_s = tick_s / config.per_tick  # queries arrive evenly over the tick, as traffic does
        for phase in PHASES:
            result = PhaseResult(phase.name, phase.description)
            phase.apply(rec.faults)
            phase_start = time.perf_counter()
            totals.phase_quality()  # what came before this phase
            for tick in range(phase.ticks):
                tick_start = time.perf_counter()
                for i in range(config.per_tick):
                    time.sleep(max(0.0, tick_start + i * gap_s - time.perf_counter()))
                    query = mix.next()
                    try:
                        rec.recommend(query.text, config.top_k)
                    except HeritageError:
                        result.failed_queries += 1
                    result.queries += 1
                if local_only:
                    # local exports run between ticks, so their CPU time does not land inside queries
                    # (with an OTLP endpoint the batch processor keeps its own schedule: never wait on the network)
                    telemetry.tracer_provider.force_flush()  # type: ignore[attr-defined]  # the SDK TracerProvider configure() built
                analysis_reader.force_flush()
                history = alerts.incident_history()
                for note in history[seen_history:]:
                    phase_of.setdefault((note.id, note.event), phase.name)
                    result.notifications += 1
                    if note.event == "fired":
                        result.alerts_fired.append(note.id)
                    elif note.event == "resolved":
                        result.alerts_resolved.append(note.id)
                seen_history = len(history)
                health = compute_health(alerts.get_active_alerts(), analyzer.latest_indicators(), analyzer.rules)
                result.health = health
                result.worst_score = min(result.worst_score, health.score)
                if on_tick is not None:
                    on_tick(phase, tick, health)
                time.sleep(max(0.0, tick_start + tick_s - time.perf_counter()))
            result.seconds = time.perf_counter() - phase_start
            result.quality = totals.phase_quality()
            results.append(result)
        components = totals.components()
        alert_rows = _incident_rows(alerts.incident_history(), phase_of)
    finally:
        gc.unfreeze()
        if owns_instrumentation:
            instrumentor.uninstrument()
        if local_only:
            telemetry.force_flush(timeout_millis=_FINAL_FLUSH_MS)
        telemetry.shutdown(timeout_millis=_FINAL_FLUSH_MS)  # flushes what is left (retried while the endpoint is down)
        alerts.flush()
        alerts.shutdown()
    return DemoResult(
        config=config, phases=results, alerts=alert_rows, components=components,
        slowest=slowest.slowest(), startup_s=startup_s, seconds=time.perf_counter() - started,
        files={name: str(path) for name, path in files.items()},
    )
