"""16 threads drive the instrumented recommender (with a flaky component forcing fallbacks) and the
alert sinks at once: exact span and metric counts, right parent links, parseable JSONL, no deadlock."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from heritage_otel import semconv
from heritage_otel.analysis import AlertManager
from heritage_otel.analysis.sinks import JsonlFileSink, WebhookSink
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.testing import HttpReceiver
from tests.concurrency.workers import N_THREADS, QUERIES_PER_THREAD, make_alert, query_texts

pytestmark = pytest.mark.timeout(180)
ALERTS_PER_QUERY = 3


@pytest.fixture
def webhook_receiver() -> Iterator[HttpReceiver]:
    """A loopback webhook endpoint recording every JSON body it receives."""
    with HttpReceiver(status=204) as receiver:
        yield receiver


def test_sixteen_threads_exact_counts_parents_and_alert_lines(telemetry, instrumentor, tmp_path: Path,
                                                              webhook_receiver) -> None:
    instrumentor.instrument()
    rec = HeritageRecommender(seed=7, cache_size=0)
    rec.faults.fail("simrank", rate=0.5)  # about half the calls fall back to the horn index
    texts = query_texts(rec)
    manager = AlertManager()
    jsonl = JsonlFileSink(tmp_path / "alerts.jsonl", max_bytes=8 * 1024, backups=500)
    jsonl_worker = manager.add_sink(jsonl)
    webhook_worker = manager.add_sink(WebhookSink(webhook_receiver.url + "/hook", timeout_s=5, retries=0),
                                      queue_size=10_000)
    handled: list[str] = []
    lock = threading.Lock()

    def handler(alert) -> None:
        with lock:
            handled.append(alert.id)

    handler_worker = manager.add_sink(handler)
    barrier = threading.Barrier(N_THREADS)
    errors: list[BaseException] = []
    results: Counter[int] = Counter()

    def work(t: int) -> None:
        try:
            barrier.wait(30)
            for q in range(QUERIES_PER_THREAD):
                out = rec.recommend(texts[(t * QUERIES_PER_THREAD + q) % len(texts)], 5)
                results[len(out)] += 1
                for a in range(ALERTS_PER_QUERY):
                    for w in (jsonl_worker, handler_worker, webhook_worker):
                        assert w.submit(make_alert(f"t{t}", q * 10 + a))
        except BaseException as exc:  # noqa: BLE001 - the thread hands what it raised to the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,), name=f"driver-{t}") for t in range(N_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not [t.name for t in threads if t.is_alive()], "a driver thread is stuck (deadlock?)"
    assert errors == []
    assert manager.flush(60), "the sinks did not drain (deadlock?)"
    manager.shutdown(30)

    queries = N_THREADS * QUERIES_PER_THREAD
    alerts_sent = queries * ALERTS_PER_QUERY
    assert sum(results.values()) == queries

    # --- spans: one trace per query, every parent link inside its own trace and of the right kind
    roots = telemetry.find_spans(semconv.SPAN_RECOMMEND)
    assert len(roots) == queries
    assert len({r.context.trace_id for r in roots}) == queries
    by_id = {s.context.span_id: s for s in telemetry.spans()}
    expected_parent = {
        semconv.SPAN_FALLBACK_CHAIN: semconv.SPAN_RECOMMEND,
        semconv.SPAN_FALLBACK_ATTEMPT: semconv.SPAN_FALLBACK_CHAIN,
        semconv.SPAN_ENSEMBLE: semconv.SPAN_FALLBACK_ATTEMPT,
        "component": semconv.SPAN_FALLBACK_ATTEMPT,  # "rank simrank", ...: any span carrying heritage.component
    }
    for span in telemetry.spans():
        if span.name == semconv.SPAN_RECOMMEND:
            assert span.parent is None
            continue
        parent = by_id[span.parent.span_id]
        assert parent.context.trace_id == span.context.trace_id
        kind = "component" if semconv.COMPONENT in (span.attributes or {}) else span.name
        assert parent.name == expected_parent[kind], (span.name, parent.name)

    chains = telemetry.find_spans(semconv.SPAN_FALLBACK_CHAIN)
    used = Counter(c.attributes[semconv.FALLBACK_STRATEGY_USED] for c in chains)
    assert sum(used.values()) == queries
    assert used["primary_simrank"] > 0 and used["fallback_horn"] > 0, used
    # primary answered: root, chain, 1 attempt, 3 components, 1 ensemble = 7 spans.
    # fallback: root, chain, 2 attempts; the failed primary attempt holds horn_index, embedding and the
    # raising simrank (no ensemble); the fallback attempt holds horn_index and the ensemble = 9 spans.
    expected_spans = used["primary_simrank"] * 7 + used["fallback_horn"] * 9
    assert len(telemetry.spans()) == expected_spans

    # --- metrics agree exactly with the spans
    assert telemetry.metric_sum(semconv.METRIC_QUERIES) == queries
    assert telemetry.histogram_count(semconv.METRIC_QUERY_DURATION) == queries
    for strategy, count in used.items():
        assert telemetry.metric_sum(semconv.METRIC_FALLBACKS, **{semconv.FALLBACK_STRATEGY: strategy}) == count
    assert telemetry.histogram_count(semconv.METRIC_COMPONENT_DURATION, **{semconv.COMPONENT: "simrank"}) == queries
    assert telemetry.histogram_count(
        semconv.METRIC_COMPONENT_DURATION, **{semconv.COMPONENT: "horn_index"}) == queries + used["fallback_horn"]
    assert telemetry.metric_sum(semconv.METRIC_ERRORS) == used["fallback_horn"]
    assert len([log for log in telemetry.logs() if log.log_record.event_name == semconv.EVENT_QUERY]) == queries

    # --- every alert delivered once to each sink; every JSONL line (across rotations) parses
    assert jsonl_worker.delivered == handler_worker.delivered == webhook_worker.delivered == alerts_sent
    received = webhook_receiver.bodies()
    assert sorted(body["id"] for body in received) == sorted({body["id"] for body in received})
    assert len(received) == alerts_sent
    assert jsonl_worker.failed == jsonl_worker.dropped == 0
    assert len(handled) == len(set(handled)) == alerts_sent
    files = sorted(tmp_path.glob("alerts.jsonl*"))
    files = [f for f in files if not f.name.endswith(".lock")]
    assert len(files) > 2, "rotation happened while threads were writing"
    ids = [json.loads(line)["id"] for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(ids) == len(set(ids)) == alerts_sent
