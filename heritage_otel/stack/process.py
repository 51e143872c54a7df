"""Background processes with pid and log files: start detached, check, stop.

A process started here outlives the command that started it (its own
session), writes stdout and stderr to ``<name>.log`` and its pid to
``<name>.pid`` in the state folder. Before signalling a pid, :func:`is_running`
checks that the pid still runs the same binary, so a stale pid file never
makes us signal an unrelated process.

>>> import sys, tempfile
>>> from pathlib import Path
>>> state = Path(tempfile.mkdtemp())
>>> proc = start_process("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"], state)
>>> is_running("sleeper", state)
True
>>> stop_process("sleeper", state)
True
>>> is_running("sleeper", state)
False
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["log_path", "pid_path", "read_pid", "is_running", "start_process", "stop_process", "tail"]

#: Popen handles of processes started by this Python process, so they are reaped (no zombies).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def pid_path(name: str, state_dir: Path) -> Path:
    return state_dir / f"{name}.pid"


def log_path(name: str, state_dir: Path) -> Path:
    return state_dir / f"{name}.log"


def _cmdline_path(name: str, state_dir: Path) -> Path:
    return state_dir / f"{name}.cmd"


def read_pid(name: str, state_dir: Path) -> int | None:
    """The pid recorded for ``name``, or None (no file, or not a number)."""
    try:
        return int(pid_path(name, state_dir).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # The state letter follows the parenthesised command name; Z = zombie, X = dead.
    return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}


def _same_program(name: str, pid: int, state_dir: Path) -> bool:
    """True when ``pid`` runs the program we recorded for ``name`` (guards against pid reuse).

    A script started through its ``#!`` line shows the interpreter first and
    the script second in ``/proc/<pid>/cmdline``, so either position matches.
    """
    try:
        expected = _cmdline_path(name, state_dir).read_text(encoding="utf-8").split("\0")[0]
        actual = [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:2]]
    except OSError:
        return True  # no /proc (or no record): trust the pid file
    # Right after exec the kernel may not show the new command line yet (empty).
    return not actual[0] or expected in actual


def is_running(name: str, state_dir: Path) -> bool:
    """True when the process recorded for ``name`` is alive and still runs our program."""
    pid = read_pid(name, state_dir)
    return pid is not None and _alive(pid) and _same_program(name, pid, state_dir)


def start_process(
    name: str,
    argv: Sequence[str],
    state_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` detached, logging to ``<name>.log`` (appended) and recording its pid."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path(name, state_dir), "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(  # noqa: S603 - argv is built from our own paths
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    pid_path(name, state_dir).write_text(f"{proc.pid}\n", encoding="utf-8")
    _cmdline_path(name, state_dir).write_text("\0".join(argv), encoding="utf-8")
    return proc


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    child = _CHILDREN.get(pid)
    while time.monotonic() < deadline:
        if child is not None:
            try:
                child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            return True
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def stop_process(name: str, state_dir: Path, *, timeout_s: float = 15.0) -> bool:
    """Stop ``name`` (SIGTERM, then SIGKILL after ``timeout_s``); True if it was running.

    Removes the pid file either way.
    """
    pid = read_pid(name, state_dir)
    was_running = pid is not None and _alive(pid) and _same_program(name, pid, state_dir)
    if was_running and pid is not None:
        try:
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, timeout_s):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5.0)
        except ProcessLookupError:
            pass
    if pid is not None:
        _CHILDREN.pop(pid, None)
    for path in (pid_path(name, state_dir), _cmdline_path(name, state_dir)):
        path.unlink(missing_ok=True)
    return was_running


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ('' when absent)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
