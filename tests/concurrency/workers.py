"""Work run by the concurrency tests, in threads of this process or in spawned processes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from heritage_otel.analysis.alerts import Alert
from heritage_otel.analysis.findings import AlertLevel

N_THREADS = 16
QUERIES_PER_THREAD = 12
ALERTS_PER_THREAD = 25
#: Spans of one recommend() whose chain answers at the first attempt:
#: root, chain, attempt, 3 components, ensemble.
SPANS_FIRST_ATTEMPT = 7


def make_alert(worker: str, i: int) -> Alert:
    level = (AlertLevel.INFO, AlertLevel.WARNING, AlertLevel.CRITICAL)[i % 3]
    return Alert(f"{worker}-{i}", level, "query_latency_p95", "zscore", {"worker": worker, "i": str(i)},
                 float(i), 1.0, f"alert {i} from {worker} " + "x" * (i % 7) * 40, time.time(), time.time())


def query_texts(rec: Any) -> list[str]:
    return [q.text for q in rec.corpus.queries]


def run_process(index: int, out_dir: str, alerts_path: str, threads: int, queries: int, alerts: int) -> None:
    """One process: its own pipeline writing OTLP JSON to a shared file, the instrumented recommender on
    ``threads`` threads, and a JsonlFileSink on the alerts file every process shares."""
    from heritage_otel import configure
    from heritage_otel.analysis import AlertManager
    from heritage_otel.analysis.sinks import JsonlFileSink
    from heritage_otel.examples.recommender import HeritageRecommender
    from heritage_otel.instrumentation import RecommenderInstrumentor

    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    out = Path(out_dir)
    reader = InMemoryMetricReader()
    tel = configure(service_name=f"proc-{index}", otlp_json_path=out / "spans.jsonl", span_store_size=0,
                    metric_readers=[reader])
    RecommenderInstrumentor().instrument()
    rec = HeritageRecommender(seed=7, cache_size=0)
    texts = query_texts(rec)
    manager = AlertManager()
    worker = manager.add_sink(JsonlFileSink(alerts_path, max_bytes=16 * 1024, backups=200))
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            barrier.wait(30)
            for q in range(queries):
                rec.recommend(texts[(t * queries + q) % len(texts)], 5)
            for a in range(alerts):
                assert worker.submit(make_alert(f"p{index}t{t}", a))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent through the exit code
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(120)
    ok = not errors and not any(t.is_alive() for t in pool)
    ok = manager.flush(60) and ok
    manager.shutdown(30)
    ok = tel.force_flush(30_000) and ok
    queries_counted, durations_counted = metric_counts(reader)
    tel.shutdown()
    (out / f"done-{index}").write_text(f"{int(ok)} {worker.delivered} {worker.failed} {worker.dropped} "
                                       f"{queries_counted} {durations_counted}\n")


def metric_counts(reader: Any) -> tuple[int, int]:
    """(sum of heritage.queries, values recorded in heritage.query.duration) seen by ``reader``."""
    from heritage_otel import semconv

    queries = durations = 0
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    if metric.name == semconv.METRIC_QUERIES:
                        queries += int(point.value)
                    elif metric.name == semconv.METRIC_QUERY_DURATION:
                        durations += int(point.count)
    return queries, durations
