"""AnalyzerService's public methods for an in-process feeder (the monitoring facade): queries and evaluations."""

from __future__ import annotations

import threading
import time

from heritage_otel.service import AnalyzerService, ServiceConfig


def test_add_queries_keeps_the_feeders_records_for_the_query_log() -> None:
    service = AnalyzerService(ServiceConfig(), start_background=False)
    try:
        now = time.time()
        service.add_queries([{"query_id": "q1", "time_s": now, "results": 3, "latency_ms": 12.5},
                             {"query_id": "q2", "time_s": now + 1, "results": 0, "latency_ms": 30.0}])
        assert [(q["query_id"], q["results"]) for q in service.recent_queries()] == [("q2", 0), ("q1", 3)]
    finally:
        service.close()


def test_note_evaluation_counts_every_call_from_many_threads() -> None:
    """The counter is updated under the service's lock: 8 threads x 2000 calls are 16000, none lost."""
    service = AnalyzerService(ServiceConfig(), start_background=False)
    try:
        def feed() -> None:
            for i in range(2000):
                service.note_evaluation(float(i))

        threads = [threading.Thread(target=feed) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert service.stats()["metric_requests"] == 16000
        assert service.health()["last_evaluation"] == 1999.0
    finally:
        service.close()
