"""The local pipeline: start, check and stop the Collector and Jaeger (or the whole fleet) as background processes.

State (pid files, logs, the ports in use, the Collector's persistent queue,
Badger data) lives in one state folder, so ``heritage-otel stack status`` and
``stack down`` work from another shell than ``stack up``.

>>> import tempfile
>>> from pathlib import Path
>>> stack = Stack(Path(tempfile.mkdtemp()))
>>> [status.running for status in stack.status()]
[False, False]
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from heritage_otel.stack import process
from heritage_otel.stack.components import ComponentSpec, stack_components
from heritage_otel.stack.fleet import FleetSettings, fleet_components
from heritage_otel.stack.health import check_http, wait_healthy
from heritage_otel.stack.paths import default_state_dir, find_repo_root
from heritage_otel.stack.ports import HOST, StackPorts

__all__ = ["ComponentStatus", "Stack", "StackError"]

_logger = logging.getLogger(__name__)
_STATE_FILE = "stack.json"


class StackError(RuntimeError):
    """A component could not be built or started; the message says which and why."""


@dataclass(frozen=True)
class ComponentStatus:
    """What ``stack status`` shows for one component."""

    name: str
    pid: int | None
    running: bool
    healthy: bool
    ports: Mapping[str, int]
    health_url: str
    log: Path

    def as_json(self) -> dict[str, object]:
        """What ``stack status --json`` prints for this component."""
        return {"name": self.name, "pid": self.pid, "healthy": self.healthy,
                "ports": {label: f"{HOST}:{port}" for label, port in self.ports.items()}}


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


class Stack:
    """The Collector and Jaeger of one state folder.

    ``ports`` defaults to the ports recorded by the last ``up`` in this state
    folder, else the configs' defaults. ``extra_env`` adds environment
    variables read by the configs (for example
    ``HERITAGE_OTEL_SAMPLING_PERCENTAGE``). ``fleet`` runs the fleet picture
    instead (:mod:`heritage_otel.stack.fleet`); a state folder remembers which.
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        ports: StackPorts | None = None,
        jaeger_storage: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        repo: Path | None = None,
        fleet: FleetSettings | None = None,
    ) -> None:
        self.state_dir = (state_dir or default_state_dir()).resolve()
        saved = self._load_state()
        self.ports = ports or StackPorts.from_dict(saved.get("ports", {}))
        self.fleet = fleet or (FleetSettings.from_dict(saved["fleet"]) if saved.get("fleet") else None)
        self.jaeger_storage = jaeger_storage or saved.get("jaeger_storage", "memory")
        self.extra_env = dict(extra_env or {})
        self._repo = repo

    # --- state ------------------------------------------------------------
    def _load_state(self) -> dict:
        try:
            return json.loads((self.state_dir / _STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state = {"ports": self.ports.as_dict(), "jaeger_storage": self.jaeger_storage,
                 "fleet": self.fleet.as_dict() if self.fleet else None}
        (self.state_dir / _STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    @property
    def repo(self) -> Path:
        if self._repo is None:
            self._repo = find_repo_root()
        return self._repo

    def components(self) -> list[ComponentSpec]:
        """The components in start order (Jaeger, then the Collector; or the fleet's)."""
        if self.fleet is not None:
            return fleet_components(self.repo, self.state_dir, self.fleet, extra_env=self.extra_env)
        return stack_components(
            self.repo, self.state_dir, self.ports, jaeger_storage=self.jaeger_storage, extra_env=self.extra_env
        )

    def component(self, name: str) -> ComponentSpec:
        for spec in self.components():
            if spec.name == name:
                return spec
        msg = f"component = {name!r} is not valid; expected one of {[s.name for s in self.components()]}"
        raise ValueError(msg)

    # --- building ---------------------------------------------------------
    def ensure_built(self, echo: Callable[[str], None] = print, *, rebuild: bool = False) -> None:
        """Build each missing binary with its script (or every one when ``rebuild``; the scripts cache)."""
        for spec in self.components():
            if spec.build_script is None or (spec.binary.is_file() and not rebuild):
                continue
            echo(f"building {spec.binary.name} with {spec.build_script.relative_to(self.repo)} "
                 "(the first build takes several minutes) ...")
            result = subprocess.run(["bash", str(spec.build_script)], cwd=self.repo, check=False)  # noqa: S603, S607 - our own build script, no shell
            if result.returncode != 0 or not spec.binary.is_file():
                msg = f"building {spec.name} failed (exit {result.returncode}); see build/{spec.binary.name}.log"
                raise StackError(msg)

    # --- lifecycle --------------------------------------------------------
    def start(self, name: str, *, timeout_s: float = 60.0) -> None:
        """Start one component (if not running) and wait until its health endpoint answers."""
        spec = self.component(name)
        if process.is_running(spec.name, self.state_dir):
            return
        if not spec.binary.is_file():
            how = f"build it with: bash {spec.build_script}" if spec.build_script else "install it"
            msg = f"{spec.name}: binary {spec.binary} is missing; {how}"
            raise StackError(msg)
        busy = {label: port for label, port in spec.ports.items() if _port_in_use(port)}
        if busy:
            msg = (f"{spec.name}: ports already in use on {HOST}: {busy}; stop what uses them or choose other "
                   "ports (stack up --free-ports, or the HERITAGE_OTEL_* port variables)")
            raise StackError(msg)
        self._save_state()
        proc = process.start_process(spec.name, spec.argv, self.state_dir, env=spec.env, cwd=self.repo)
        if not wait_healthy(spec.health_url, timeout_s=timeout_s, still_running=lambda: proc.poll() is None):
            log = process.log_path(spec.name, self.state_dir)
            process.stop_process(spec.name, self.state_dir)
            msg = (f"{spec.name} did not become healthy at {spec.health_url} within {timeout_s:.0f}s; "
                   f"last lines of {log}:\n{process.tail(log)}")
            raise StackError(msg)

    def stop(self, name: str, *, timeout_s: float = 15.0) -> bool:
        """Stop one component; True when it was running."""
        return process.stop_process(name, self.state_dir, timeout_s=timeout_s)

    def up(self, *, timeout_s: float = 60.0) -> None:
        """Start every component in order; on failure stop what this call started and raise StackError."""
        started = []
        try:
            for spec in self.components():
                was_running = process.is_running(spec.name, self.state_dir)
                self.start(spec.name, timeout_s=timeout_s)
                if not was_running:
                    started.append(spec.name)
        except BaseException:
            for name in reversed(started):
                self.stop(name)
            raise

    def down(self, *, timeout_s: float = 15.0) -> dict[str, bool]:
        """Stop every component, senders first (a Collector flushes to what it exports to); name -> was running."""
        return {spec.name: self.stop(spec.name, timeout_s=timeout_s) for spec in reversed(self.components())}

    def status(self) -> list[ComponentStatus]:
        """Each component's pid, liveness, health, ports and log file."""
        result = []
        for spec in self.components():
            running = process.is_running(spec.name, self.state_dir)
            result.append(ComponentStatus(
                name=spec.name,
                pid=process.read_pid(spec.name, self.state_dir) if running else None,
                running=running,
                healthy=running and check_http(spec.health_url),
                ports=spec.ports,
                health_url=spec.health_url,
                log=process.log_path(spec.name, self.state_dir),
            ))
        return result

    def __enter__(self) -> Stack:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
