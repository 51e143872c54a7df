"""Alert sinks failing, slow, hanging or down while the recommender serves queries and the metric
export thread raises alerts: queries keep their latency (bound in tests/faults/support.py), the export
thread never waits on a sink, shutdown is bounded, and every event not delivered is counted
(SinkWorker.failed / .dropped, AlertManager.stats())."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from heritage_otel.analysis import AlertManager
from heritage_otel.analysis.findings import AlertLevel, Finding
from heritage_otel.analysis.sinks import AlertmanagerSink, WebhookSink
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.testing.receiver import HANG, HttpReceiver
from tests.faults.support import assert_not_blocked, timed_calls
from tests.helpers import free_port

pytestmark = pytest.mark.timeout(120)

EVENTS = 120
QUEUE = 10
SLOW_S = 0.3
SINK_TIMEOUT_S = 1.0
MAX_PROCESS_S = 0.1  # one AlertManager.process() call on the export thread
#: calls allowed over MAX_PROCESS_S: a thread descheduled on a busy 2-core machine, not a wait on a sink
#: (a thread that waited on the sink would wait for each of the ~110 events past the queue's capacity)
SCHEDULER_OUTLIERS = 3


@pytest.fixture
def fault_server(request) -> Iterator[str]:
    """A loopback HTTP server that fails (503), is slow (SLOW_S then 200) or hangs (never answers);
    'down' is a closed port."""
    mode = request.param
    if mode == "down":
        yield f"http://127.0.0.1:{free_port()}"
        return
    behaviour = {"failing": {"status": 503}, "slow": {"delay_s": SLOW_S}, "hanging": {"status": HANG}}[mode]
    with HttpReceiver(**behaviour) as receiver:
        yield receiver.url


def finding(i: int) -> Finding:
    return Finding("query_latency_p95", "threshold", (("replica", f"r{i}"),), AlertLevel.CRITICAL,
                   2500.0 + i, 2000.0, f"p95 latency high on r{i}")


def make_sink(kind: str, url: str):
    if kind == "webhook":
        return WebhookSink(url, timeout_s=SINK_TIMEOUT_S, retries=1, backoff_s=0.05)
    return AlertmanagerSink(url, timeout_s=SINK_TIMEOUT_S, retries=1, backoff_s=0.05)


@pytest.mark.parametrize("fault_server", ["failing", "slow", "hanging", "down"], indirect=True)
@pytest.mark.parametrize("kind", ["webhook", "alertmanager"])
def test_alert_sink_fault_never_reaches_queries_or_the_export_thread(
        kind, fault_server, request, telemetry, instrumentor) -> None:
    mode = request.node.callspec.params["fault_server"]
    instrumentor.instrument()
    rec = HeritageRecommender(seed=7, cache_size=0)
    texts = [q.text for q in rec.corpus.queries]
    timed_calls(rec.recommend, texts, 10)
    healthy = timed_calls(rec.recommend, texts, 60)

    manager = AlertManager(cooldown_s=0, queue_size=QUEUE)
    worker = manager.add_sink(make_sink(kind, fault_server))
    process_s: list[float] = []

    def export_thread() -> None:  # what the AnalyzingMetricExporter does with each finding
        for i in range(EVENTS):
            start = time.perf_counter()
            manager.process(finding(i))
            process_s.append(time.perf_counter() - start)
            time.sleep(0.002)

    try:
        thread = threading.Thread(target=export_thread)
        thread.start()
        faulty = timed_calls(rec.recommend, texts, 150)
        thread.join(30)
        assert not thread.is_alive()
        assert_not_blocked(faulty, healthy, f"{kind} sink {mode}")
        slow_calls = sorted(t for t in process_s if t >= MAX_PROCESS_S)
        assert len(slow_calls) <= SCHEDULER_OUTLIERS, f"the export thread waited on a sink: {slow_calls}"

        if mode == "slow":
            assert manager.flush(QUEUE * (SLOW_S + 0.2) + 10)
        else:
            time.sleep(0.5)
        counted = manager.stats()  # (after shutdown the manager forgets its sink workers)
    finally:  # a failed assertion must not leave the sink's worker thread to later tests
        start = time.monotonic()
        manager.shutdown(timeout_s=3)
    assert time.monotonic() - start < 3 + SINK_TIMEOUT_S + 1, "shutdown is bounded"

    assert counted["fired"] == EVENTS
    assert worker.dropped > 0, "the bounded queue overflowed and counted it"
    if mode == "slow":
        assert worker.delivered > 0 and worker.failed == 0
        assert worker.delivered + worker.dropped == EVENTS
    else:
        assert worker.delivered == 0
        assert worker.failed > 0
        # each event was either dropped at the queue, failed, or abandoned in the queue at shutdown
        assert worker.failed + worker.dropped <= EVENTS
    assert counted["sink_dropped"] == worker.dropped
    assert counted["sink_failed"] <= worker.failed
