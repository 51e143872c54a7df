"""One bounded queue and one worker thread per sink, so no sink can block the others.

:meth:`SinkWorker.submit` never blocks: when the queue is full the event is
dropped and counted. The worker calls the handler for each event; an
exception is logged and counted, never propagated. A handler object may
follow the optional protocols of :mod:`heritage_otel.analysis.sinks.protocol`:
``tick()`` every ``tick_interval_s`` (e.g. to re-send firing alerts),
``stop()`` (asked to abandon slow work at shutdown) and ``close()`` (called
on the worker thread after the last event).

>>> got = []
>>> w = SinkWorker(got.append, "list", queue_size=10)
>>> w.submit("a"), w.flush(5.0), got
(True, True, ['a'])
>>> w.close(5.0), w.thread_alive
(True, False)
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from heritage_otel.analysis.sinks.protocol import ClosableSink, PeriodicSink, StoppableSink

__all__ = ["SinkWorker"]

_log = logging.getLogger(__name__)
_STOP = object()


class SinkWorker:
    """Deliver events to ``handler`` on a daemon thread through a queue of ``queue_size`` events."""

    def __init__(self, handler: Callable[[Any], Any], name: str, queue_size: int = 1000) -> None:
        self.handler = handler
        self.name = name
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stopping = threading.Event()
        self._tick_s = handler.tick_interval_s if isinstance(handler, PeriodicSink) else None
        self._thread = threading.Thread(target=self._run, name=f"heritage-otel-sink-{name}", daemon=True)
        self._thread.start()

    @property
    def thread_alive(self) -> bool:
        """True while the worker thread runs."""
        return self._thread.is_alive()

    def submit(self, event: Any) -> bool:
        """Queue one event; False (and counted in ``dropped``) when full or stopping."""
        if self._stopping.is_set():
            self.dropped += 1
            return False
        try:
            self._queue.put_nowait(event)
            return True
        except queue.Full:
            self.dropped += 1
            _log.warning("alert sink %s is not keeping up; event dropped (%d so far)", self.name, self.dropped)
            return False

    def _call(self, fn: Callable[..., Any], *args: Any) -> bool:
        try:
            fn(*args)
            return True
        except Exception:  # noqa: BLE001 - a sink must never break alerting
            _log.exception("alert sink %s failed", self.name)
            return False

    def _run(self) -> None:
        tick = self.handler.tick if isinstance(self.handler, PeriodicSink) else None
        next_tick = time.monotonic() + self._tick_s if tick and self._tick_s else None
        while True:
            timeout = None if next_tick is None else max(0.0, next_tick - time.monotonic())
            try:
                event = self._queue.get(timeout=timeout)
            except queue.Empty:
                event = None
            if event is _STOP:
                self._queue.task_done()
                break
            if event is not None:
                if self._call(self.handler, event):
                    self.delivered += 1
                else:
                    self.failed += 1
                self._queue.task_done()
            if next_tick is not None and time.monotonic() >= next_tick and not self._stopping.is_set():
                self._call(tick)  # type: ignore[misc]  # tick is the PeriodicSink's method, checked at add_sink
                next_tick = time.monotonic() + float(self._tick_s)  # type: ignore[arg-type]  # not None for a PeriodicSink
        if isinstance(self.handler, ClosableSink):
            self._call(self.handler.close)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until the queue is empty and the last event handled (True) or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.005)
        return self._queue.unfinished_tasks == 0

    def request_stop(self) -> None:
        """Stop accepting events and ask the handler to abandon slow work (its ``stop()``)."""
        self._stopping.set()
        if isinstance(self.handler, StoppableSink):
            self._call(self.handler.stop)

    def close(self, timeout_s: float = 10.0) -> bool:
        """Deliver what is queued, end the thread; True when it ended within ``timeout_s``."""
        self.request_stop()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._queue.put(_STOP, timeout=max(0.01, deadline - time.monotonic()))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    break
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            _log.warning("alert sink %s did not stop within %.1f s", self.name, timeout_s)
            return False
        return True
