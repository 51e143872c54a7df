"""Background processes with pid and log files."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from heritage_otel.stack.process import is_running, log_path, pid_path, read_pid, start_process, stop_process

SLEEPER = [sys.executable, "-c", "import sys, time; print('rea' + 'dy', flush=True); time.sleep(60)"]


def test_start_records_pid_and_logs_output(tmp_path: Path) -> None:
    proc = start_process("sleeper", SLEEPER, tmp_path)
    try:
        assert read_pid("sleeper", tmp_path) == proc.pid
        deadline = time.monotonic() + 10
        while "ready" not in log_path("sleeper", tmp_path).read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "ready" in log_path("sleeper", tmp_path).read_text()
        assert is_running("sleeper", tmp_path)
    finally:
        stop_process("sleeper", tmp_path)


def test_stop_terminates_and_removes_the_pid_file(tmp_path: Path) -> None:
    proc = start_process("sleeper", SLEEPER, tmp_path)
    assert stop_process("sleeper", tmp_path) is True
    assert proc.poll() is not None
    assert not pid_path("sleeper", tmp_path).exists()
    assert stop_process("sleeper", tmp_path) is False


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path: Path) -> None:
    stubborn = [sys.executable, "-c",
                ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ar' + 'med', flush=True); "
                 "time.sleep(60)")]
    proc = start_process("stubborn", stubborn, tmp_path)
    deadline = time.monotonic() + 10
    while "armed" not in log_path("stubborn", tmp_path).read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stop_process("stubborn", tmp_path, timeout_s=0.5) is True
    assert proc.poll() == -9


def test_a_stale_pid_of_another_program_is_never_signalled(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])  # noqa: S607 - a process that is not ours
    try:
        start_process("sleeper", SLEEPER, tmp_path)
        stop_process("sleeper", tmp_path)
        # The pid file now names an unrelated process (as after pid reuse).
        pid_path("sleeper", tmp_path).write_text(f"{other.pid}\n")
        (tmp_path / "sleeper.cmd").write_text("\0".join(SLEEPER))
        assert is_running("sleeper", tmp_path) is False
        assert stop_process("sleeper", tmp_path) is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_log_is_appended_across_restarts(tmp_path: Path) -> None:
    for _ in range(2):
        start_process("sleeper", SLEEPER, tmp_path)
        stop_process("sleeper", tmp_path)
    assert log_path("sleeper", tmp_path).read_text().count("=== ") == 2


def test_a_script_run_through_its_shebang_line_is_stopped(tmp_path: Path) -> None:
    """/proc shows such a process as '<interpreter> <script>': it is still ours, and stop must stop it."""
    script = tmp_path / "serve"
    script.write_text(f"#!{sys.executable}\nimport time\nprint('up', flush=True)\ntime.sleep(60)\n")
    script.chmod(0o755)
    proc = start_process("script", [str(script)], tmp_path)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[0] != sys.executable.encode():
        time.sleep(0.05)
    assert is_running("script", tmp_path)
    assert stop_process("script", tmp_path) is True
    assert proc.poll() is not None
