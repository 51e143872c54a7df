"""uvicorn's h11 protocol with the two connection limits uvicorn lacks: a header deadline and a connection cap.

uvicorn already bounds the idle time between keep-alive requests
(``timeout_keep_alive``) and the size of a request line plus headers (h11's
``max_incomplete_event_size``). It does not bound how long a client may take
to send its headers, nor how many connections may be open (its
``limit_concurrency`` counts idle connections as load and answers 503 to
everyone once enough of them are open, so the application caps requests in
progress instead), so a slow-loris client could hold sockets for ever. This subclass closes a
connection whose request headers have not all arrived ``header_timeout_s``
after its first byte (or after it opened), and closes new connections at
once while ``max_connections`` are open; both are counted, and so are the
requests h11 refuses as malformed (uvicorn answers those 400 itself).

>>> from heritage_otel.service.limits import DropCounters
>>> limits = ConnectionLimits(header_timeout_s=10.0, max_connections=256, counters=DropCounters())
>>> limits.max_connections
256
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from heritage_otel.service.limits import DropCounters

__all__ = ["ConnectionLimits", "LimitedH11Protocol"]


@dataclass(frozen=True)
class ConnectionLimits:
    """The per-server values :class:`LimitedH11Protocol` enforces, and where it counts what it closed."""

    header_timeout_s: float
    max_connections: int
    counters: DropCounters


class LimitedH11Protocol(H11Protocol):
    """An :class:`~uvicorn.protocols.http.h11_impl.H11Protocol` with a header deadline and a connection cap."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # asyncio.Transport, as the event loop passes it
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections:
            self._limits.counters.add("connections_refused")
            transport.close()
            return
        self._arm()

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self._limits.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self._between_requests() and not self.transport.is_closing():
            self._limits.counters.add("header_timeouts")
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._between_requests():
            self._arm()  # a new request is arriving: its headers have header_timeout_s from here
        super().data_received(data)
        if not self._between_requests():
            self._disarm()  # its headers are complete; the app's request deadline takes over

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()  # idle now: uvicorn's keep-alive timeout applies until the next byte

    def send_400_response(self, msg: str) -> None:
        """h11 refused the request (bad framing such as a chunk size of -1, headers over the size limit)."""
        self._limits.counters.add("malformed_http")
        super().send_400_response(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
