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


def _fill_the_disk_then_free_it(path: str, limit: int, n: int, out) -> None:
    """In a child: a file size limit (as a full disk would) makes writes fail part-way; then it is lifted."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill, as ENOSPC would be
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    sink = JsonlFileSink(path, max_bytes=1 << 20, backups=0)
    results = [sink.write_record({"i": i, "pad": "x" * 100}) for i in range(n)]
    full = (sink.pending, sink.write_failures, Path(path).stat().st_size)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
    sink.tick()
    out.put((results, full, sink.pending, sink.dropped))


def test_a_full_disk_leaves_no_torn_line_and_the_lines_are_written_once_it_has_room(tmp_path) -> None:
    """Writes over a file size limit fail part-way: the partial line is removed, the lines wait, in order, and
    the retry writes them all once there is room: every event once, no torn line."""
    path = tmp_path / "alerts.jsonl"
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_fill_the_disk_then_free_it, args=(str(path), 1000, 30, out))
    child.start()
    results, (pending, failures, size), left, dropped = out.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    assert results[0] is True and results[-1] is False and pending > 0 and failures >= pending
    assert size <= 1000 and path.read_bytes().endswith(b"\n")  # only whole lines while full
    assert (left, dropped) == (0, 0)
    assert [r["i"] for r in _all_lines(path)] == list(range(30))


def test_pending_lines_are_bounded(tmp_path) -> None:
    """While the file cannot be written, at most max_pending lines wait; older ones are dropped and counted."""
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    sink = JsonlFileSink(blocked / "alerts.jsonl", max_pending=3)
    (blocked / "alerts.jsonl").mkdir()  # a directory where the file should be: every write fails
    for i in range(5):
        assert sink.write_record({"i": i}) is False
    assert (sink.pending, sink.dropped) == (3, 2)
