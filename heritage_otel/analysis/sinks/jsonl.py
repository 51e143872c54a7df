"""JSON Lines alert log (``alerts.jsonl``): one complete line per alert event, rotated by size.

Safe with several writer threads and processes: every write takes an
exclusive ``fcntl.flock`` on a side lock file (``<path>.lock``), checks the
size, rotates if needed (``alerts.jsonl`` -> ``alerts.jsonl.1`` -> ... up to
``backups``), and appends the line with a single ``os.write`` on an
``O_APPEND`` descriptor opened for that write, so a line is never split or
written to a file another process has just rotated away. POSIX only.

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
import os
from pathlib import Path
from typing import Any

from heritage_otel.analysis.alert import Alert
from heritage_otel.checks import check_int

__all__ = ["JsonlFileSink"]


class JsonlFileSink:
    """Append each alert as one JSON line to ``path``; rotate at ``max_bytes`` keeping ``backups`` files."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = 10 * 1024 * 1024, backups: int = 5) -> None:
        check_int("max_bytes", max_bytes, minimum=1024)
        check_int("backups", backups, minimum=0)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def _rotate(self) -> None:
        if self.backups == 0:
            os.truncate(self.path, 0)
            return
        for i in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def write_record(self, record: dict[str, Any]) -> None:
        """Append one JSON object as one line (rotating first if it would overflow)."""
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")
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
                written = os.write(fd, line)
                while written < len(line):  # regular files write fully; be safe anyway
                    written += os.write(fd, line[written:])
            finally:
                os.close(fd)
        finally:
            os.close(lock_fd)  # releases the flock

    def __call__(self, alert: Alert) -> None:
        self.write_record(alert.to_dict())
