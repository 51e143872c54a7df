"""What an alert sink is: the protocol every sink follows, checked when a sink is added.

A sink is a callable taking one :class:`~heritage_otel.analysis.alert.Alert`
(:class:`AlertSink`). Its :class:`~heritage_otel.analysis.sinks.SinkWorker`
also uses three optional capabilities when the sink has them:

=======================  ==========================================================================
protocol                 members, and when the worker calls them
=======================  ==========================================================================
:class:`PeriodicSink`    ``tick()`` every ``tick_interval_s`` seconds (> 0), e.g. to re-send alerts
:class:`StoppableSink`   ``stop()`` at shutdown: abandon slow work (a retry loop) now
:class:`ClosableSink`    ``close()`` on the worker thread after the last alert (release files, sessions)
=======================  ==========================================================================

:func:`check_sink` (run by ``AlertManager.add_sink``) refuses an object that is not callable or that has one
of these members in a form the worker cannot use, naming it.

>>> class Printer:
...     def __call__(self, alert): print(alert)
...     def close(self): pass
>>> check_sink(Printer()) is None, isinstance(Printer(), ClosableSink), isinstance(Printer(), PeriodicSink)
(True, True, False)
>>> class Broken:
...     def __call__(self, alert): pass
...     tick_interval_s = 30
>>> check_sink(Broken())
Traceback (most recent call last):
...
ValueError: sink Broken: tick_interval_s is set but tick = None is not a method; a periodic sink needs both
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from heritage_otel.analysis.alert import Alert
from heritage_otel.checks import check_number

__all__ = ["AlertSink", "ClosableSink", "PeriodicSink", "StoppableSink", "check_sink"]


@runtime_checkable
class AlertSink(Protocol):
    """Receives one alert event (fired, escalated, repeated or resolved). May raise: the worker logs it."""

    def __call__(self, alert: Alert) -> Any: ...


@runtime_checkable
class PeriodicSink(Protocol):
    """A sink with periodic work."""

    tick_interval_s: float

    def tick(self) -> Any: ...


@runtime_checkable
class StoppableSink(Protocol):
    """A sink that can abandon slow work when asked to (at shutdown)."""

    def stop(self) -> Any: ...


@runtime_checkable
class ClosableSink(Protocol):
    """A sink holding resources, released after its last alert."""

    def close(self) -> Any: ...


def _name(sink: Any) -> str:
    return getattr(sink, "__name__", type(sink).__name__)


def check_sink(sink: Any) -> None:
    """Raise ``ValueError`` (naming the sink and the member) unless ``sink`` follows the protocols above."""
    if not isinstance(sink, AlertSink):
        msg = (f"sink {sink!r} is not valid; expected a callable taking an Alert "
               "(see heritage_otel.analysis.sinks.protocol)")
        raise ValueError(msg)
    for member in ("tick", "stop", "close"):
        value = getattr(sink, member, None)
        if value is not None and not callable(value):
            msg = f"sink {_name(sink)}: {member} = {value!r} is not valid; expected a method"
            raise ValueError(msg)
    interval = getattr(sink, "tick_interval_s", None)
    tick = getattr(sink, "tick", None)
    if interval is not None and tick is None:
        msg = f"sink {_name(sink)}: tick_interval_s is set but tick = None is not a method; a periodic sink needs both"
        raise ValueError(msg)
    if tick is not None and interval is not None:
        check_number(f"sink {_name(sink)}: tick_interval_s", interval, minimum=0, exclusive_minimum=True,
                     unit="seconds")
