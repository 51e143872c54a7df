"""Disk full (/dev/full) and an unwritable directory (a path whose parent is a file: root ignores
chmod) under the JSON-lines files: alerts.jsonl, the query log file and the OTLP-JSON span file. The
recommender keeps serving within the bound of tests/faults/support.py, no exception reaches it, and
the loss is counted or reported (a warning; the alerts file keeps unwritten lines for a retry) while the OpenTelemetry signals
themselves keep flowing."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from heritage_otel import configure, semconv
from heritage_otel.analysis import AlertManager
from heritage_otel.analysis.findings import AlertLevel, Finding
from heritage_otel.analysis.sinks import JsonlFileSink
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.logs import QueryLogger
from tests.helpers import in_ci
from tests.faults.support import assert_not_blocked, healthy_baseline, timed_calls

pytestmark = pytest.mark.timeout(120)


def full_disk(path: Path) -> Path:
    """``path`` made a symlink to /dev/full: every write fails with ENOSPC."""
    if not os.path.exists("/dev/full"):
        msg = "/dev/full is not available on this system"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    path.symlink_to("/dev/full")
    return path


def unwritable(tmp_path: Path, name: str) -> Path:
    """A path whose directory has become a regular file (ENOTDIR on open, whoever the user is)."""
    directory = tmp_path / "logs"
    directory.mkdir()
    target = directory / name
    return target


def break_directory(target: Path) -> None:
    directory = target.parent
    for child in directory.iterdir():
        child.unlink()
    directory.rmdir()
    directory.write_text("not a directory any more\n")


def finding(i: int) -> Finding:
    return Finding("error_rate", "threshold", (("replica", f"r{i}"),), AlertLevel.WARNING, 0.02, 0.01, "errors")


@pytest.mark.parametrize("fault", ["disk_full", "directory_gone"])
def test_alerts_jsonl_write_failures_are_counted_and_never_block(fault, tmp_path, telemetry, instrumentor) -> None:
    instrumentor.instrument()
    rec = HeritageRecommender(seed=7, cache_size=0)
    texts = [q.text for q in rec.corpus.queries]
    healthy = timed_calls(rec.recommend, texts, 60)

    if fault == "disk_full":
        path = full_disk(tmp_path / "alerts.jsonl")
        sink = JsonlFileSink(path)
    else:
        path = unwritable(tmp_path, "alerts.jsonl")
        sink = JsonlFileSink(path)
        sink.write_record({"ok": True})  # healthy at first
        break_directory(path)
    manager = AlertManager(cooldown_s=0)
    worker = manager.add_sink(sink)
    for i in range(50):
        manager.process(finding(i))
    faulty = timed_calls(rec.recommend, texts, 100)
    assert manager.flush(30)
    assert_not_blocked(faulty, healthy, f"alerts.jsonl {fault}")
    # the sink keeps every line that could not be written, in order, for a retry (never a torn line)
    assert (worker.delivered, worker.failed, worker.dropped) == (50, 0, 0)
    assert (sink.pending, sink.dropped) == (50, 0)
    assert sink.write_failures >= 50
    manager.shutdown(5)


def test_jsonl_sink_under_a_file_fails_fast_at_construction(tmp_path) -> None:
    """Bad configuration fails at start-up, naming the path (not at the first alert)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(OSError) as info:
        JsonlFileSink(blocker / "alerts.jsonl")
    assert "blocker" in str(info.value)


@pytest.mark.parametrize("fault", ["disk_full", "directory_gone"])
def test_query_log_file_failure_keeps_queries_and_their_otel_records(fault, tmp_path, telemetry, caplog) -> None:
    caplog.set_level(logging.WARNING)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    if fault == "disk_full":
        full_disk(log_dir / "queries.log")
        logger = QueryLogger(log_dir=log_dir)
    else:
        logger = QueryLogger(log_dir=log_dir)
        logger.log_query("q-0", "first", [], 1.0, ["simrank"])  # opens the file while healthy
        logger.close()
        break_directory(log_dir / "queries.log")
    for i in range(1, 41):
        logger.log_query(f"q-{i}", f"query {i}", [{"doc_id": "d1", "score": 1.0}], 2.0, ["simrank"])
    records = [r for r in telemetry.logs() if r.log_record.attributes.get(semconv.QUERY_ID, "").startswith("q-")]
    assert len({r.log_record.attributes[semconv.QUERY_ID] for r in records}) >= 40, "OTel records still flow"
    warnings = [r for r in caplog.records if "cannot write log file" in r.getMessage()]
    assert len(warnings) == 1, "the failure is reported once, not per line"
    assert logger._emitter.file.active is False  # noqa: SLF001 - file copy disabled, visible to operators


def test_otlp_json_span_file_on_a_full_disk_drops_the_file_copy_only(tmp_path, caplog, instrumentor) -> None:
    caplog.set_level(logging.ERROR)
    path = full_disk(tmp_path / "spans.jsonl")
    rec = HeritageRecommender(seed=7, cache_size=0)
    texts = [q.text for q in rec.corpus.queries]
    healthy = healthy_baseline(rec, texts, instrumentor)

    tel = configure(service_name="disk-full", otlp_json_path=path, span_store_size=10_000)
    instrumentor.instrument()
    try:
        faulty = timed_calls(rec.recommend, texts, 100)
        tel.force_flush(10_000)
        stored = [s for s in tel.span_store.spans() if s.name == semconv.SPAN_RECOMMEND]
    finally:
        instrumentor.uninstrument()
        tel.shutdown()
    assert_not_blocked(faulty, healthy, "OTLP-JSON file on a full disk")
    assert len(stored) == 100, "the in-process span store still has every trace"
    assert any("could not write" in r.getMessage() for r in caplog.records), "the failed export is reported"
