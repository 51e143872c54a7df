"""The sink protocol: our sinks follow it, AlertManager.add_sink checks it, the worker uses its capabilities."""

from __future__ import annotations

import threading

import pytest

from heritage_otel.analysis import AlertManager
from heritage_otel.analysis.sinks import (
    AlertmanagerSink,
    AlertSink,
    JsonlFileSink,
    OtelLogSink,
    PeriodicSink,
    StoppableSink,
    WebhookSink,
)


def test_our_sinks_follow_the_protocol(tmp_path) -> None:
    """Each shipped sink is an AlertSink with the capabilities its worker relies on."""
    am = AlertmanagerSink("http://127.0.0.1:9", resend_interval_s=30)
    hook = WebhookSink("http://127.0.0.1:9/hook")
    jsonl = JsonlFileSink(tmp_path / "alerts.jsonl")
    logs = OtelLogSink()
    assert all(isinstance(s, AlertSink) for s in (am, hook, jsonl, logs))
    assert isinstance(am, PeriodicSink) and isinstance(am, StoppableSink) and isinstance(hook, StoppableSink)
    assert not isinstance(hook, PeriodicSink)


class _NotCallable:
    pass


class _TickWithoutInterval:
    tick_interval_s = 5.0

    def __call__(self, alert) -> None:
        pass


class _BadInterval:
    tick_interval_s = -1

    def __call__(self, alert) -> None:
        pass

    def tick(self) -> None:
        pass


class _CloseNotAMethod:
    close = "yes"

    def __call__(self, alert) -> None:
        pass


@pytest.mark.parametrize(("sink", "message"), [
    (_NotCallable(), "expected a callable taking an Alert"),
    (_TickWithoutInterval(), "tick_interval_s is set but tick = None is not a method"),
    (_BadInterval(), "tick_interval_s = -1 is not valid; expected seconds > 0"),
    (_CloseNotAMethod(), "close = 'yes' is not valid; expected a method"),
])
def test_add_sink_refuses_what_breaks_the_protocol(sink, message) -> None:
    """A sink that the worker could not use fails when added, naming the member; no thread is started."""
    manager = AlertManager()
    with pytest.raises(ValueError, match=message):
        manager.add_sink(sink)
    assert manager.workers == ()
    manager.shutdown()


def test_worker_uses_tick_stop_and_close() -> None:
    """A periodic, stoppable, closable sink gets tick() on schedule, then stop() and close() at shutdown."""
    calls: list[str] = []
    ticked = threading.Event()

    class Full:
        tick_interval_s = 0.05

        def __call__(self, alert) -> None:
            calls.append("alert")

        def tick(self) -> None:
            calls.append("tick")
            ticked.set()

        def stop(self) -> None:
            calls.append("stop")

        def close(self) -> None:
            calls.append("close")

    manager = AlertManager()
    manager.add_sink(Full())
    assert ticked.wait(5)
    assert manager.shutdown(5)
    assert calls[-2:] == ["stop", "close"] and "tick" in calls
