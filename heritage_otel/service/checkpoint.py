"""Checkpoint and restore of the Analyzer service's learned state, so a restart does not forget.

What is saved: the Analyzer (windows, baselines, drift references, rule
rows), the AlertManager (active alerts, dedup and cooldown, history,
incidents), the receiver's per-series state (cumulative-to-delta, series
table), the fleet aggregator, the component table, the recent query log, and
the firing alerts a sink keeps alive (``checkpoint_state``/``restore_state``,
e.g. the Alertmanager sink's re-sends). What is not: configuration, sinks'
settings and threads (the new process brings its own), the previous
process's request counters.

File format (``analyzer.ckpt`` in the checkpoint folder), written atomically
(a temporary file, fsync, rename, fsync of the folder):

* line 1: a JSON header ``{"format": 1, "written_at": ..., "package": ...,
  "config": <fingerprint>}``;
* then a pickle (cloudpickle, so closures held as state survive too) of each
  part's attributes. Objects shared between parts are stored as references
  and resolved to the new process's objects; locks are recreated empty.

A checkpoint is restored only when its ``format`` is known, it was written by
the same package version with the same Analyzer settings, and it is younger
than ``max_age_s`` (default: the Analyzer's retention). Anything else is
ignored with one log line, and the service starts fresh; restoring never
raises. The file is read only when it belongs to this user and nobody else can
write it (a pickle runs code when loaded: the folder must be as trusted as
the program).

>>> import tempfile
>>> from pathlib import Path
>>> from heritage_otel.service.core import AnalyzerService
>>> folder = Path(tempfile.mkdtemp())
>>> service = AnalyzerService(start_background=False)
>>> Checkpointer(service, folder).save() == folder / CHECKPOINT_FILE
True
>>> fresh = AnalyzerService(start_background=False)
>>> Checkpointer(fresh, folder).restore()
True
>>> service.close(); fresh.close()
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import pickle
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import cloudpickle

from heritage_otel.version import __version__

__all__ = ["CHECKPOINT_FILE", "FORMAT_VERSION", "Checkpointer"]

_log = logging.getLogger(__name__)

#: 2: a component table entry holds its interval's min and max latency, and the table counts uses.
FORMAT_VERSION: Final = 2
CHECKPOINT_FILE: Final = "analyzer.ckpt"
#: AnalyzerService attributes whose objects' state is checkpointed.
_PARTS: Final = ("analyzer", "alerts", "converter", "fleet", "components", "queries")
#: Attributes that stay those of the running process (settings, sinks, threads, clocks).
_LIVE: Final = frozenset({"config", "clock", "_clock", "_lock", "_workers", "queue_size", "jaeger_url", "cooldown_s"})
_LOCK_TYPES: Final = (type(threading.Lock()), type(threading.RLock()))
_SINKS: Final = "__sinks__"


class _Pickler(cloudpickle.Pickler):
    """cloudpickle (closures such as a policy's callbacks are state too), with shared parts by reference."""

    def __init__(self, file: io.BytesIO, shared: dict[int, str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._shared = shared

    def persistent_id(self, obj: Any) -> str | None:
        return self._shared.get(id(obj))

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return (threading.RLock if "RLock" in type(obj).__name__ else threading.Lock), ()
        if isinstance(obj, (threading.Thread, threading.Event)):
            msg = f"a {type(obj).__name__} is not part of a checkpoint"
            raise pickle.PicklingError(msg)
        return super().reducer_override(obj)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: dict[str, Any]) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> Any:
        return self._shared[pid]


def _fingerprint(service: Any) -> str:
    """What must not have changed between the writer and the reader: the Analyzer's and receiver's settings."""
    analyzer_config = getattr(service.analyzer, "config", None)
    text = repr((analyzer_config, service.config.max_series, service.config.fleet_aggregates))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Checkpointer:
    """Save ``service``'s state to ``directory`` every ``interval_s`` and at :meth:`close`; restore it at start.

    ``max_age_s`` (default: the Analyzer's retention) is the oldest checkpoint
    still worth restoring. Never raises from :meth:`save` (failures are logged
    and counted in :attr:`failures`) nor from :meth:`restore`.
    """

    def __init__(
        self,
        service: Any,
        directory: Path,
        *,
        interval_s: float = 60.0,
        max_age_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(interval_s, bool) or not isinstance(interval_s, (int, float)) or interval_s <= 0:
            msg = f"checkpoint interval_s = {interval_s!r} is not valid; expected seconds > 0 (default 60)"
            raise ValueError(msg)
        retention = float(service.analyzer.config.retention_s)
        if max_age_s is not None and (isinstance(max_age_s, bool) or not isinstance(max_age_s, (int, float))
                                      or max_age_s <= 0):
            msg = f"checkpoint max_age_s = {max_age_s!r} is not valid; expected seconds > 0 (default: the retention)"
            raise ValueError(msg)
        self.service = service
        self.directory = Path(directory)
        self.path = self.directory / CHECKPOINT_FILE
        self.interval_s = float(interval_s)
        self.max_age_s = float(max_age_s) if max_age_s is not None else retention
        self.clock = clock
        self.saves = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._save_lock = threading.Lock()

    # --- which objects ----------------------------------------------------------------------------------------------
    def _parts(self) -> dict[str, Any]:
        return {name: getattr(self.service, name) for name in _PARTS if getattr(self.service, name, None) is not None}

    def _shared(self, parts: dict[str, Any]) -> dict[int, str]:
        shared = {id(obj): f"part:{name}" for name, obj in parts.items()}
        shared[id(self.service)] = "service"
        return shared

    @contextlib.contextmanager
    def _frozen(self, parts: dict[str, Any]) -> Iterator[None]:
        """Hold the service's lock, then each part's own lock, alerts first (the order the service's threads use:
        ingest takes the service's then the Analyzer's; alert updates take the alerts' then the Analyzer's)."""
        with contextlib.ExitStack() as stack:
            stack.enter_context(self.service._lock)
            for name in sorted(parts, key=lambda n: n != "alerts"):
                lock = getattr(parts[name], "_lock", None)
                if isinstance(lock, _LOCK_TYPES):
                    stack.enter_context(lock)
            yield

    @staticmethod
    def _state(obj: Any) -> dict[str, Any]:
        return {k: v for k, v in vars(obj).items() if k not in _LIVE}

    # --- save -----------------------------------------------------------------------------------------------------
    def save(self) -> Path | None:
        """Write the checkpoint atomically; the path, or None when it failed (logged)."""
        with self._save_lock:
            try:
                parts = self._parts()
                buffer = io.BytesIO()
                with self._frozen(parts):  # one consistent moment: no ingest, evaluation or alert update runs
                    states = {n: self._state(o) for n, o in parts.items()}
                    _Pickler(buffer, self._shared(parts)).dump({_SINKS: self._sink_states(), **states})
                header = {"format": FORMAT_VERSION, "written_at": self.clock(), "package": __version__,
                          "config": _fingerprint(self.service), "parts": sorted(parts)}
                self.directory.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(f".tmp{os.getpid()}")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(json.dumps(header).encode() + b"\n")
                    handle.write(buffer.getbuffer())
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
                dir_fd = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            except Exception:  # noqa: BLE001 - a failed checkpoint must not stop the service
                self.failures += 1
                _log.exception("checkpoint to %s failed; the service goes on", self.path)
                return None
            self.saves += 1
            return self.path

    # --- restore ----------------------------------------------------------------------------------------------------
    def _refuse(self, reason: str) -> bool:
        _log.warning("checkpoint %s not restored: %s; starting fresh", self.path, reason)
        return False

    def restore(self) -> bool:
        """Load the checkpoint into the service when it is valid and recent enough; True when restored."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            _log.info("no checkpoint at %s; starting fresh", self.path)
            return False
        except OSError as exc:
            return self._refuse(f"cannot read it ({exc})")
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return self._refuse("it is not owned by this user or others may write it")
        try:
            with open(self.path, "rb") as handle:
                header = json.loads(handle.readline())
                payload = handle.read()
        except (OSError, ValueError) as exc:
            return self._refuse(f"unreadable header ({exc})")
        if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
            found = header.get("format") if isinstance(header, dict) else header
            return self._refuse(f"format {found!r} is unknown (this version reads format {FORMAT_VERSION})")
        if header.get("package") != __version__:
            return self._refuse(f"written by heritage-otel {header.get('package')}, this is {__version__}")
        if header.get("config") != _fingerprint(self.service):
            return self._refuse("the Analyzer settings changed since it was written")
        age = self.clock() - float(header.get("written_at", 0.0))
        if not 0 <= age <= self.max_age_s:
            return self._refuse(f"it is {age:.0f} s old (restored up to {self.max_age_s:.0f} s)")
        parts = self._parts()
        live = {f"part:{name}": obj for name, obj in parts.items()}
        live["service"] = self.service
        try:
            states = _Unpickler(io.BytesIO(payload), live).load()
        except Exception as exc:  # noqa: BLE001 - a damaged file means a fresh start, never a crash
            return self._refuse(f"damaged ({type(exc).__name__}: {exc})")
        sinks = states.pop(_SINKS, {}) if isinstance(states, dict) else {}
        if not isinstance(states, dict) or set(states) != set(parts):
            return self._refuse(f"it holds other parts than this service's {sorted(parts)}")
        with self._frozen(parts):
            for name, state in states.items():
                vars(parts[name]).update(state)
        self._restore_sinks(sinks)
        _log.info("checkpoint %s restored (%.0f s old)", self.path, age)
        return True

    def _sink_states(self) -> dict[str, Any]:
        """State of the sinks that keep firing alerts alive (the Alertmanager sink's re-sends), by sink name."""
        return {worker.name: worker.handler.checkpoint_state() for worker in self.service.alerts.workers
                if hasattr(worker.handler, "checkpoint_state")}

    def _restore_sinks(self, states: dict[str, Any]) -> None:
        for worker in self.service.alerts.workers:
            if worker.name in states and hasattr(worker.handler, "restore_state"):
                try:
                    worker.handler.restore_state(states[worker.name])
                except Exception:  # noqa: BLE001 - a sink never breaks the service
                    _log.exception("sink %s could not restore its state", worker.name)

    # --- lifecycle --------------------------------------------------------------------------------------------------
    def start(self) -> Checkpointer:
        """Save every ``interval_s`` on a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="heritage-analyzer-checkpoint", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.save()

    def close(self) -> None:
        """Stop the periodic saves and save once more (call after the server stopped receiving)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.save()
