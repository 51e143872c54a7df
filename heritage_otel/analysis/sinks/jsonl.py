"""JSON Lines alert log (``alerts.jsonl``): one complete line per alert event, rotated by size.

Safe with several writer threads and processes: every write takes an
exclusive ``fcntl.flock`` on a side lock file (``<path>.lock``), checks the
size, rotates if needed (``alerts.jsonl`` -> ``alerts.jsonl.1`` -> ... up to
``backups``), and appends the line with a single ``os.write`` on an
``O_APPEND`` descriptor opened for that write, so a line is never split or
written to a file another process has just rotated away. POSIX only.

A write that fails (a full disk: ``ENOSPC``, a quota, a file size limit) is
undone: the file is cut back to its size before the write, so no torn line
is left, and the line stays pending, in order, to be written before the next
one and every ``retry_interval_s`` (the worker's tick) until it succeeds. At
most ``max_pending`` lines wait; beyond that the oldest are dropped and
counted in :attr:`JsonlFileSink.dropped`. Nothing raises out of a write.

>>> import tempfile, os, json
>>> from heritage_otel.analysis.alerts import Alert, AlertLevel
>>> d = tempfile.mkdtemp()
>>> sink = JsonlFileSink(os.path.join(d, "alerts.jsonl"))
>>> sink(Alert("a1", AlertLevel.WARNING, "error_rate", "threshold", {}, 0.02, 0.01, "high", 0.0, 0.0))
>>> json.loads(open(os.path.join(d, "alerts.jsonl")).read())["level"]
'WARNING'
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections import deque
from pathlib import Path
from typing import Any

from heritage_otel.analysis.alert import Alert
from heritage_otel.checks import check_int, check_number

__all__ = ["JsonlFileSink"]

_log = logging.getLogger(__name__)


class JsonlFileSink:
    """Append each alert as one JSON line to ``path``; rotate at ``max_bytes`` keeping ``backups`` files."""

    def __init__(
        self, path: str | os.PathLike[str], max_bytes: int = 10 * 1024 * 1024, backups: int = 5, *,
        max_pending: int = 10_000, retry_interval_s: float = 5.0,
    ) -> None:
        check_int("max_bytes", max_bytes, minimum=1024)
        check_int("backups", backups, minimum=0)
        check_int("max_pending", max_pending, minimum=1)
        check_number("retry_interval_s", retry_interval_s, minimum=0, exclusive_minimum=True, unit="seconds")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.backups = backups
        self.tick_interval_s = float(retry_interval_s)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._pending: deque[bytes] = deque()
        self._max_pending = max_pending
        self._mutex = threading.Lock()
        #: Writes that failed (each retried later), and lines dropped because max_pending were waiting.
        self.write_failures = 0
        self.dropped = 0

    def _rotate(self) -> None:
        if self.backups == 0:
            os.truncate(self.path, 0)
            return
        for i in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def write_record(self, record: dict[str, Any]) -> bool:
        """Append one JSON object as one line (rotating first if it would overflow), after any pending ones.

        True when every line is written; False when some wait for a retry (the disk is full).
        """
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")
        with self._mutex:
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(line)
        return self.flush_pending()

    def flush_pending(self) -> bool:
        """Write the lines that wait, oldest first; True when none is left."""
        with self._mutex:
            while self._pending:
                try:
                    self._append(self._pending[0])
                except OSError as exc:
                    self.write_failures += 1
                    if self.write_failures == 1 or len(self._pending) == 1:
                        _log.warning("alerts file %s not written (%s); %d line(s) kept for a retry", self.path,
                                     exc.strerror or exc, len(self._pending))
                    return False
                self._pending.popleft()
            return True

    @property
    def pending(self) -> int:
        """Lines waiting for a retry."""
        return len(self._pending)

    def tick(self) -> None:
        """Retry the pending lines (the sink worker calls this every ``retry_interval_s``)."""
        if self._pending:
            self.flush_pending()

    def close(self) -> None:
        """A last retry of the pending lines."""
        self.tick()

    def _append(self, line: bytes) -> None:
        lock_fd = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size and size + len(line) > self.max_bytes:
                self._rotate()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                before = os.fstat(fd).st_size  # under the flock: nobody else appends meanwhile
                try:
                    written = os.write(fd, line)
                    while written < len(line):  # a short write: the disk filled up in the middle of the line
                        written += os.write(fd, line[written:])
                except OSError:
                    os.ftruncate(fd, before)  # no torn line: the part written goes
                    raise
            finally:
                os.close(fd)
        finally:
            os.close(lock_fd)  # releases the flock

    def __call__(self, alert: Alert) -> None:
        self.write_record(alert.to_dict())
