"""4 processes x 4 threads drive the instrumented recommender and one shared alerts.jsonl (rotating)
at once: exact span and metric counts per process (spans in the shared OTLP JSON file), right parents,
every line parseable, every alert line present once, no deadlock."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from pathlib import Path

import pytest

from heritage_otel import semconv
from heritage_otel.traces.otlp_json import spans_from_otlp_json
from tests.concurrency.workers import SPANS_FIRST_ATTEMPT, run_process

pytestmark = pytest.mark.timeout(240)

PROCESSES = 4
THREADS = 4
QUERIES = 10
ALERTS = 40


def test_four_processes_share_span_and_alert_files_without_loss_or_torn_lines(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    alerts_path = tmp_path / "alerts.jsonl"
    procs = [ctx.Process(target=run_process, args=(i, str(tmp_path), str(alerts_path), THREADS, QUERIES, ALERTS))
             for i in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(180)
    stuck = [p.pid for p in procs if p.is_alive()]
    for proc in procs:
        if proc.is_alive():
            proc.kill()
    assert not stuck, f"processes did not finish (deadlock?): {stuck}"
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    for i in range(PROCESSES):
        ok, delivered, failed, dropped, queries, durations = (tmp_path / f"done-{i}").read_text().split()
        assert (ok, int(delivered), int(failed), int(dropped)) == ("1", THREADS * ALERTS, 0, 0)
        # each process's own metrics count exactly its queries
        assert (int(queries), int(durations)) == (THREADS * QUERIES, THREADS * QUERIES)

    # --- spans: every line parses; exact counts per process; parents inside the trace
    spans = []
    for n, line in enumerate((tmp_path / "spans.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        try:
            spans += spans_from_otlp_json(json.loads(line))
        except ValueError as exc:
            pytest.fail(f"spans.jsonl line {n} is torn or not JSON: {exc}: {line[:120]!r}")
    per_service = Counter(s.service_name for s in spans)
    assert per_service == {f"proc-{i}": THREADS * QUERIES * SPANS_FIRST_ATTEMPT for i in range(PROCESSES)}
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    assert len(by_id) == len(spans), "a span was written twice"
    roots = [s for s in spans if s.name == semconv.SPAN_RECOMMEND]
    assert len(roots) == PROCESSES * THREADS * QUERIES
    for span in spans:
        if span.parent_span_id:
            assert (span.trace_id, span.parent_span_id) in by_id, f"orphan {span.name}"

    # --- alerts: every line of every rotated file parses; each alert exactly once
    files = [f for f in tmp_path.glob("alerts.jsonl*") if not f.name.endswith(".lock")]
    assert len(files) > 2, "rotation happened while processes were writing"
    ids = []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            ids.append(json.loads(line)["id"])
    assert len(ids) == len(set(ids)) == PROCESSES * THREADS * ALERTS
