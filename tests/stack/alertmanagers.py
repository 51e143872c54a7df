"""Test helpers: a webhook receiver that records Alertmanager notifications, and a real two-peer cluster.

The cluster runs ``/usr/bin/prometheus-alertmanager`` (Debian package) twice on
free loopback ports, gossiping with each other, with the repository's
``alertmanager/alertmanager.yml`` (webhook URL and timings replaced for speed).
What it does not handle: TLS, more than one receiver.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from heritage_otel.stack.alertmanager import ALERTMANAGER_BINARY, ALERTMANAGER_CONFIG, alertmanager_peers, render_config
from heritage_otel.stack.components import ComponentSpec
from heritage_otel.stack.health import wait_healthy
from heritage_otel.stack.ports import free_ports
from heritage_otel.stack.process import log_path, start_process, stop_process, tail
from heritage_otel.testing import HttpReceiver
from tests.helpers import REPO_ROOT, require_binary

#: Fast route timings for tests (the example config waits 5s / 1m / 4h).
FAST_TIMINGS = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
PEER_TIMEOUT_S = 2.0


class WebhookReceiver:
    """Records every notification POSTed to it (the Alertmanager webhook JSON), on 127.0.0.1; answers 200."""

    def __init__(self) -> None:
        self._server = HttpReceiver()
        self.url = self._server.url + "/hook"

    def received(self, status: str | None = None, **group_labels: str) -> list[dict]:
        """Notifications so far, optionally only those with this status and these group labels."""
        items = self._server.bodies()
        return [n for n in items if (status is None or n["status"] == status)
                and all(n["groupLabels"].get(k) == v for k, v in group_labels.items())]

    def close(self) -> None:
        self._server.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    """A :class:`WebhookReceiver` for the whole test module (import it into the module to use it)."""
    hook = WebhookReceiver()
    yield hook
    hook.close()


@dataclass
class AlertmanagerCluster:
    """Two (or more) running peers: their specs, base URLs and state folder."""

    peers: list[ComponentSpec]
    state_dir: Path
    urls: list[str] = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{tail(log_path(p.name, self.state_dir), 30)}" for p in self.peers)

    def members(self, index: int) -> int:
        status = requests.get(f"{self.urls[index]}/api/v2/status", timeout=5).json()
        return len(status["cluster"].get("peers") or []) if status["cluster"]["status"] == "ready" else 0

    def active(self, index: int) -> list[dict]:
        return requests.get(f"{self.urls[index]}/api/v2/alerts", timeout=5).json()


@contextmanager
def alertmanager_cluster(state_dir: Path, webhook_url: str, peers: int = 2) -> Iterator[AlertmanagerCluster]:
    """Start ``peers`` gossiping Alertmanagers and wait until each sees all the others."""
    require_binary(ALERTMANAGER_BINARY, "bash scripts/deps/alertmanager.sh")
    config = render_config(REPO_ROOT / ALERTMANAGER_CONFIG, state_dir / "alertmanager.yml",
                           webhook_url=webhook_url, timings=FAST_TIMINGS)
    ports = free_ports(2 * peers)
    specs = alertmanager_peers(REPO_ROOT, state_dir, list(zip(ports[::2], ports[1::2], strict=True)), config=config,
                               peer_timeout=f"{PEER_TIMEOUT_S:g}s")
    cluster = AlertmanagerCluster(specs, state_dir, [f"http://127.0.0.1:{s.ports['web']}" for s in specs])
    try:
        for spec in specs:
            proc = start_process(spec.name, spec.argv, state_dir, cwd=REPO_ROOT)
            assert wait_healthy(spec.health_url, timeout_s=30, still_running=lambda p=proc: p.poll() is None), \
                cluster.logs()
        deadline = time.monotonic() + 30
        while not all(cluster.members(i) == peers for i in range(peers)):
            assert time.monotonic() < deadline, f"the peers did not form a cluster\n{cluster.logs()}"
            time.sleep(0.2)
        yield cluster
    finally:
        for spec in specs:
            stop_process(spec.name, state_dir, timeout_s=5)
