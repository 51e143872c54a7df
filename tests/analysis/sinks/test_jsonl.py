"""JsonlFileSink: complete lines under concurrent threads and processes, rotation by size."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

from heritage_otel.analysis.sinks import JsonlFileSink

from .conftest import make_alert


def _write_many(path: str, writer: str, n: int, max_bytes: int, backups: int) -> None:
    sink = JsonlFileSink(path, max_bytes=max_bytes, backups=backups)
    for i in range(n):
        sink.write_record({"writer": writer, "i": i, "pad": "x" * 200})


def _all_lines(path: Path) -> list[dict]:
    lines = []
    for f in sorted(path.parent.glob(path.name + "*")):
        if f.suffix == ".lock":
            continue
        text = f.read_text()
        assert text.endswith("\n") or text == ""
        lines.extend(json.loads(line) for line in text.splitlines())
    return lines


def test_alert_event_is_one_json_line(tmp_path) -> None:
    """Each call appends exactly one parseable line with the alert's fields."""
    path = tmp_path / "alerts.jsonl"
    sink = JsonlFileSink(path)
    sink(make_alert())
    sink(make_alert(state="resolved"))
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["state"] for r in records] == ["firing", "resolved"]
    assert records[0]["jaeger_links"][0].endswith(records[0]["exemplar_trace_ids"][0])
    assert records[1]["resolved_at"].startswith("2023-11-14T22:15:20")


def test_threads_and_processes_write_whole_lines_across_rotation(tmp_path) -> None:
    """4 processes x 100 lines + 4 threads x 100 lines, rotating at 64 KiB: every line intact, none lost."""
    path = tmp_path / "alerts.jsonl"
    max_bytes, backups = 64 * 1024, 50
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(path), f"p{i}", 100, max_bytes, backups)) for i in range(4)]
    threads = [threading.Thread(target=_write_many, args=(str(path), f"t{i}", 100, max_bytes, backups))
               for i in range(4)]
    for w in (*procs, *threads):
        w.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = _all_lines(path)
    assert len(lines) == 800
    for writer in [f"p{i}" for i in range(4)] + [f"t{i}" for i in range(4)]:
        assert sorted(r["i"] for r in lines if r["writer"] == writer) == list(range(100))
    rotated = [f for f in tmp_path.iterdir() if f.name.startswith("alerts.jsonl.") and f.suffix != ".lock"]
    assert len(rotated) >= 2
    assert all(f.stat().st_size <= max_bytes for f in tmp_path.glob("alerts.jsonl*"))


def test_rotation_keeps_only_backups(tmp_path) -> None:
    """With backups=2 only alerts.jsonl, .1 and .2 remain, and the newest lines are in alerts.jsonl."""
    path = tmp_path / "alerts.jsonl"
    _write_many(str(path), "w", 100, 2048, 2)
    names = sorted(f.name for f in tmp_path.iterdir() if not f.name.endswith(".lock"))
    assert names == ["alerts.jsonl", "alerts.jsonl.1", "alerts.jsonl.2"]
    last = [json.loads(line) for line in path.read_text().splitlines()]
    assert last[-1]["i"] == 99
