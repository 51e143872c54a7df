"""``heritage-otel analyzer serve`` as a real process: serves, reads its config file, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from heritage_otel import semconv
from tests.helpers import free_port
from tests.service.payloads import PROTOBUF, add_sum, metrics_request, post

CLI = [sys.executable, "-c", "from heritage_otel.cli.main import main; main()"]


def _wait_up(url: str, proc: subprocess.Popen[str], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the Analyzer did not come up")


def test_serve_reads_config_requires_the_env_token_and_stops_on_sigterm(tmp_path: Path) -> None:
    """serve: thresholds from --config, token from HERITAGE_OTEL_ANALYZER_TOKEN, clean exit on SIGTERM."""
    config = tmp_path / "analyzer.yaml"
    config.write_text("interval_seconds: 5\nthresholds:\n  error_rate: {max: 0.02, critical: 0.1}\n", encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HERITAGE_OTEL_ANALYZER_TOKEN": "cli-token-123"}
    proc = subprocess.Popen([*CLI, "analyzer", "serve", "--port", str(port), "--config", str(config),
                             "--jaeger-url", "http://127.0.0.1:16686"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_up(url, proc)
        assert requests.get(url + "/api/config", timeout=5).status_code == 401
        auth = {"Authorization": "Bearer cli-token-123"}
        cfg = requests.get(url + "/api/config", headers=auth, timeout=5).json()
        assert cfg["thresholds"] == {"error_rate": {"max": 0.02, "critical": 0.1}}
        assert (cfg["interval_seconds"], cfg["jaeger_url"], cfg["auth"]) == (5.0, "http://127.0.0.1:16686", True)
        req, sm = metrics_request()
        add_sum(sm, semconv.METRIC_QUERIES, 3)
        assert post(url, "/v1/metrics", req.SerializeToString(), {**PROTOBUF, **auth}).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert f"Analyzer listening on {url}" in out and "Analyzer stopping" in out
    assert "cli-token-123" not in out


def test_serve_rejects_a_bad_setting_naming_it(tmp_path: Path) -> None:
    """A bad value in --config fails fast with exit code 2 and a message naming the setting."""
    config = tmp_path / "bad.yaml"
    config.write_text("sensitivity: -1\n", encoding="utf-8")
    done = subprocess.run([*CLI, "analyzer", "serve", "--port", str(free_port()), "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "sensitivity = -1" in done.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("sensitivty: 3\n", encoding="utf-8")
    done = subprocess.run([*CLI, "analyzer", "serve", "--port", str(free_port()), "--config", str(unknown)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown setting(s) sensitivty" in done.stderr


def test_serve_reports_a_port_in_use(tmp_path: Path) -> None:
    """A port already taken is a clear error, not a traceback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run([*CLI, "analyzer", "serve", "--port", str(port)], capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
