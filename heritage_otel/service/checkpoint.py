"""Checkpoint and restore of the Analyzer service's learned state, so a restart does not forget.

What is saved: the Analyzer (windows, baselines, drift references, rule
rows), the AlertManager (active alerts, dedup and cooldown, history,
incidents), the receiver's per-series state (cumulative-to-delta, series
table), the fleet aggregator, the component table, the recent query log, and
the firing alerts a sink keeps alive (``checkpoint_state``/``restore_state``,
e.g. the Alertmanager sink's re-sends). What is not: configuration, sinks'
settings and threads (the new process brings its own), the previous
process's request counters.

File format (``analyzer.ckpt`` in the checkpoint folder): data only, never
code. A numpy ``.npz`` archive (read with ``allow_pickle=False``) holding

* ``header.json``: ``{"format": 3, "written_at": ..., "package": ...,
  "config": <fingerprint>, "parts": [...]}``;
* ``state.json``: every part's attributes in the closed schema of
  :mod:`heritage_otel.service.statefile` (containers, numbers, strings, and
  objects of this package's classes by name), whose numeric arrays are the
  archive's ``a0.npy``, ``a1.npy``, ... Attributes holding code, locks or threads, and
  the settings (which the fingerprint covers), are not written; a restore
  keeps the running process's values for them and updates its objects in place.

It is written to a private temporary file (``O_CREAT | O_EXCL | O_NOFOLLOW``,
mode 0600) in the checkpoint folder, fsynced and renamed over the checkpoint,
all relative to the folder opened once: the folder must be this user's and
writable by nobody else (created 0700 when missing), or nothing is written or
read. A checkpoint is restored only from a regular file of this user that
nobody else can write (opened with ``O_NOFOLLOW``), when its ``format`` is
known, it was written by the same package version with the same settings,
and it is younger than ``max_age_s`` (default: the Analyzer's retention).
Anything else, including the pickle checkpoints of earlier versions (never
loaded: a pickle can run code), is ignored with one log line saying why, and
the service starts fresh; restoring never raises.

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
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np

from heritage_otel.private_files import read_private, write_private
from heritage_otel.service.statefile import encode_parts, restore_parts
from heritage_otel.version import __version__

__all__ = ["CHECKPOINT_FILE", "FORMAT_VERSION", "Checkpointer"]

_log = logging.getLogger(__name__)

#: 3: data only (an npz of JSON and numeric arrays); 1 and 2 were pickles and are never loaded.
FORMAT_VERSION: Final = 3
CHECKPOINT_FILE: Final = "analyzer.ckpt"
#: AnalyzerService attributes whose objects' state is checkpointed.
_PARTS: Final = ("analyzer", "alerts", "converter", "fleet", "components", "queries")
#: Attributes that stay those of the running process (settings, sinks, threads, clocks), at any depth.
#: ``slos`` (the Analyzer's SLO tracker) is persisted on its own (``slos.json``, analysis/slo/persist.py).
_LIVE: Final = frozenset({"config", "limits", "clock", "_clock", "_workers", "queue_size", "jaeger_url",
                          "cooldown_s", "slos"})
_LOCK_TYPES: Final = (type(threading.Lock()), type(threading.RLock()))
_SINKS: Final = "__sinks__"
#: The largest checkpoint read (it holds the budgeted state, under 1 GiB at the defaults).
_MAX_BYTES: Final = 1 << 30
_CHUNK: Final = 1 << 20
#: How the checkpoint folder is named in errors.
_FOLDER: Final = "the checkpoint folder"


def _fingerprint(service: Any) -> str:
    """What must not have changed between the writer and the reader: the Analyzer's settings and every limit."""
    analyzer_config = getattr(service.analyzer, "config", None)
    text = repr((analyzer_config, service.config.limits(), service.config.max_series, service.config.fleet_aggregates))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _archive(handle: Any, header: dict[str, Any], text: str, arrays: list[Any]) -> None:
    """The npz: ``header.json``, ``state.json`` (written in chunks: no second copy of the text as bytes) and the
    arrays ``a0.npy``, ``a1.npy``, ..."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr("header.json", json.dumps(header))
        with archive.open("state.json", "w", force_zip64=True) as member:
            for start in range(0, len(text), _CHUNK):
                member.write(text[start:start + _CHUNK].encode())
        for i, array in enumerate(arrays):
            with archive.open(f"a{i}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


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
                live = {id(obj): f"part:{name}" for name, obj in parts.items()}
                live[id(self.service)] = "service"
                with self._frozen(parts):  # one consistent moment: no ingest, evaluation or alert update runs
                    text, arrays = encode_parts(parts, {_SINKS: self._sink_states()}, live=live, skip=_LIVE)
                header = {"format": FORMAT_VERSION, "written_at": self.clock(), "package": __version__,
                          "config": _fingerprint(self.service), "parts": sorted(parts)}
                self._write(header, text, arrays)
            except Exception:  # noqa: BLE001 - a failed checkpoint must not stop the service
                self.failures += 1
                _log.exception("checkpoint to %s failed; the service goes on", self.path)
                return None
            self.saves += 1
            return self.path

    def _write(self, header: dict[str, Any], text: str, arrays: list[Any]) -> None:
        write_private(self.directory, CHECKPOINT_FILE, lambda handle: _archive(handle, header, text, arrays),
                      what=_FOLDER)

    # --- restore ----------------------------------------------------------------------------------------------------
    def _refuse(self, reason: str) -> bool:
        _log.warning("checkpoint %s not restored: %s; starting fresh", self.path, reason)
        return False

    def _read(self) -> bytes | None:
        """The checkpoint's bytes, read through the private folder without following links; None when absent."""
        return read_private(self.directory, CHECKPOINT_FILE, max_bytes=_MAX_BYTES, what=_FOLDER)

    def restore(self) -> bool:
        """Load the checkpoint into the service when it is valid and recent enough; True when restored."""
        try:
            data = self._read()
        except FileNotFoundError:
            data = None
        except (OSError, ValueError) as exc:
            return self._refuse(f"cannot read it ({exc})")
        if data is None:
            _log.info("no checkpoint at %s; starting fresh", self.path)
            return False
        if data.startswith(b"{"):
            return self._refuse("it is a pickle checkpoint of an earlier version (format 1 or 2), which is never "
                                "loaded because a pickle can run code; delete it (the service re-learns)")
        try:
            archive = np.load(io.BytesIO(data), allow_pickle=False)
            header = json.loads(archive["header.json"])
        except Exception as exc:  # noqa: BLE001 - a damaged file means a fresh start, never a crash
            return self._refuse(f"unreadable header ({type(exc).__name__}: {exc})")
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
            text = archive["state.json"]
            arrays = [archive[f"a{i}"] for i in range(len(archive.files) - 2)]
            with self._frozen(parts):
                extra = restore_parts(parts, text, arrays, live=live)
        except Exception as exc:  # noqa: BLE001 - a damaged file (any shape) means a fresh start, never a crash
            return self._refuse(f"damaged ({type(exc).__name__}: {str(exc)[:200]})")
        sinks = extra.get(_SINKS, {}) if isinstance(extra, dict) else {}
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
