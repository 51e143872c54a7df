"""The budgets' counts saved as JSON and restored at start, so a restart keeps the 28-day windows.

``slos.json`` (in the service's ``--checkpoint-dir``) holds
:meth:`SloTracker.state <heritage_otel.analysis.slo.tracker.SloTracker.state>`:
plain numbers, nothing that runs code when read. It is written atomically to
the private folder (:mod:`heritage_otel.private_files`: a new temporary file
that follows no link, fsync, rename) every ``interval_s`` and at :meth:`SloStateFile.close`.
At start, the counts of each objective whose document is unchanged (same
fingerprint) are restored, whatever their age: a ring drops what fell out of
its window on its own. It is separate from the Analyzer's checkpoint, whose
age limit (the Analyzer's retention, an hour) is far shorter than a budget window.

>>> import tempfile, pathlib
>>> from heritage_otel.analysis.slo import SloTracker, parse_documents
>>> from heritage_otel.analysis.slo.files import EXAMPLE_FILE, load_objectives
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> store = SloStateFile(SloTracker(load_objectives([EXAMPLE_FILE])), folder)
>>> store.save() == folder / STATE_FILE, store.restore()
(True, ['availability', 'latency', 'quality', 'fallback-rate'])
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Final

from heritage_otel.analysis.slo.tracker import SloTracker
from heritage_otel.private_files import read_private, write_private

__all__ = ["STATE_FILE", "SloStateFile"]

STATE_FILE: Final = "slos.json"
_FOLDER: Final = "the SLO state folder"
#: The largest state read (about 0.15 MB per objective).
_MAX_BYTES: Final = 256 << 20
_log = logging.getLogger(__name__)


class SloStateFile:
    """Saves ``tracker``'s counts to ``folder/slos.json`` every ``interval_s`` (after :meth:`start`)."""

    def __init__(self, tracker: SloTracker, folder: str | os.PathLike[str], interval_s: float = 60.0) -> None:
        self.tracker = tracker
        self.folder = Path(folder)
        self.path = self.folder / STATE_FILE
        self.interval_s = float(interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def save(self) -> Path | None:
        """Write the state now; None (and one log line) when it cannot be written."""
        try:
            with self.lock:
                text = json.dumps(self.tracker.state(), separators=(",", ":"))
            write_private(self.folder, STATE_FILE, lambda handle: handle.write(text.encode()), what=_FOLDER)
            return self.path
        except (OSError, ValueError) as exc:
            _log.warning("SLO state not saved to %s: %s", self.path, exc)
            return None

    def restore(self) -> list[str]:
        """Restore the saved counts; returns the objectives restored (none when there is no usable file)."""
        try:
            data = read_private(self.folder, STATE_FILE, max_bytes=_MAX_BYTES, what=_FOLDER)
            if data is None:
                return []
            state = json.loads(data)
        except (OSError, ValueError) as exc:
            _log.warning("SLO state in %s not restored: %s", self.path, exc)
            return []
        with self.lock:
            restored = self.tracker.restore(state)
        _log.info("SLO budgets restored from %s: %s", self.path, ", ".join(restored) or "none")
        return restored

    def start(self) -> SloStateFile:
        """Save every ``interval_s`` on a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="heritage-slo-state", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.save()

    def close(self) -> None:
        """Stop the thread and save once more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.save()
