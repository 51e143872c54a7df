"""uvicorn's h11 protocol with the connection limits uvicorn lacks: deadlines, caps, fair share, a gRPC answer.

uvicorn already bounds the idle time between keep-alive requests
(``timeout_keep_alive``) and the size of an *incomplete* request line plus
headers (h11's ``max_incomplete_event_size``; a complete head that arrives in
one write is checked by the application against ``max_header_bytes``). It has
no header deadline, no write deadline, no connection cap that leaves room for
new clients (its ``limit_concurrency`` counts idle connections as load and
answers 503 to everyone once enough of them are open), and no share per
client address. This subclass adds them:

- **read deadline**: a connection whose request headers have not all arrived
  ``header_timeout_s`` after its first byte (or after it opened) is closed;
  the body has the application's ``request_timeout_s``;
- **write deadline**: a connection whose answers the client does not read
  (the transport's buffer stays over its high-water mark, or a close waits on
  unsent bytes) for ``write_timeout_s`` is aborted, so a client that
  pipelines requests and never reads holds nothing for longer than that;
- **connection cap with room for newcomers**: when ``max_connections`` are
  open, or the new connection's address already holds
  ``max_connections_per_client``, the connection idle the longest (between
  requests, of that address when its share is the limit) is closed to make
  room; when none is idle and all ``max_connections`` are taken, the oldest
  connection of the address holding the most (more than the newcomer's) is
  closed: the heaviest client pays, not the newcomer (a health probe, another
  replica); only when none of these applies is the new one closed at once;
- **a clear answer to OTLP/gRPC**: an HTTP/2 client (the connection preface
  ``PRI * HTTP/2.0``) is answered over HTTP/2 (the ``h2`` library): each call
  gets ``grpc-status`` 12 (UNIMPLEMENTED, which OTLP exporters do not retry)
  with a message saying this port speaks OTLP/HTTP, then ``GOAWAY``; a
  parse error and a 30 s hang before.

Everything it closes is counted (``header_timeouts``, ``write_timeouts``,
``idle_evicted``, ``connections_refused``, ``grpc_refused``, and
``malformed_http`` for what h11 refuses).

>>> from heritage_otel.service.limits import DropCounters
>>> limits = ConnectionLimits(header_timeout_s=10.0, max_connections=256, counters=DropCounters())
>>> limits.max_connections
256
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from uvicorn.protocols.http.h11_impl import H11Protocol

from heritage_otel.service.limits import DropCounters

__all__ = ["ConnectionLimits", "LimitedH11Protocol", "GRPC_MESSAGE", "HTTP2_PREFACE", "GrpcRefusal"]

#: How an HTTP/2 (gRPC) connection begins.
HTTP2_PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#: What a gRPC client is told (its call's error message, and the GOAWAY's debug data).
GRPC_MESSAGE: Final = ("this port speaks OTLP/HTTP (HTTP/1.1: POST /v1/metrics, /v1/logs), not OTLP/gRPC; "
                       "use an otlphttp exporter with this endpoint")
_GRPC_UNIMPLEMENTED: Final = "12"
_HTTP_1_1_REQUIRED: Final = 0xD


class GrpcRefusal:
    """The HTTP/2 side of a connection that began with the HTTP/2 preface: every call refused with a reason.

    >>> refusal = GrpcRefusal()
    >>> out, done = refusal.receive(HTTP2_PREFACE + b"\\0\\0\\0\\x04\\0\\0\\0\\0\\0")
    >>> out[3] == 0x4, done  # our SETTINGS frame; no call yet
    (True, False)
    """

    def __init__(self) -> None:
        self._h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self._h2.initiate_connection()

    def receive(self, data: bytes) -> tuple[bytes, bool]:
        """Bytes to send back, and whether the connection is finished (a call was refused, or bad HTTP/2)."""
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._h2.close_connection(_HTTP_1_1_REQUIRED, GRPC_MESSAGE.encode())
            return self._h2.data_to_send(), True
        done = False
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self._h2.send_headers(event.stream_id, [
                    (":status", "200"), ("content-type", "application/grpc"),
                    ("grpc-status", _GRPC_UNIMPLEMENTED), ("grpc-message", quote(GRPC_MESSAGE, safe=" ,;:()/")),
                ], end_stream=True)
                done = True
        if done:
            self._h2.close_connection(0, GRPC_MESSAGE.encode())
        return self._h2.data_to_send(), done


@dataclass
class ConnectionLimits:
    """The per-server values :class:`LimitedH11Protocol` enforces, and where it counts what it closed.

    ``per_client`` counts the open connections of each client address (shared by all connections).
    """

    header_timeout_s: float
    max_connections: int
    counters: DropCounters
    write_timeout_s: float = 10.0
    max_connections_per_client: int = 128
    per_client: Counter[str] = field(default_factory=Counter)


class LimitedH11Protocol(H11Protocol):
    """An :class:`~uvicorn.protocols.http.h11_impl.H11Protocol` with deadlines, caps and a gRPC answer."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._header_deadline: asyncio.TimerHandle | None = None
        self._write_deadline: asyncio.TimerHandle | None = None
        self._peer = ""
        self._first = True
        self._lost = False
        self._grpc: GrpcRefusal | None = None
        self.last_active = 0.0

    # --- admission -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # asyncio.Transport, as the event loop passes it
        super().connection_made(transport)
        limits = self._limits
        self.last_active = self.loop.time()
        self._peer = self.client[0] if self.client else ""
        limits.per_client[self._peer] += 1
        if limits.per_client[self._peer] > limits.max_connections_per_client and not self._evict_idle(self._peer):
            self._refuse()
            return
        if len(self.connections) > limits.max_connections and not self._evict_idle(None) \
                and not self._evict_from_busiest():
            self._refuse()
            return
        self._arm()

    def _refuse(self) -> None:
        self._limits.counters.add("connections_refused")
        self.transport.abort()

    def _evict_idle(self, peer: str | None) -> bool:
        """Abort the connection idle the longest (of ``peer`` when given); False when none is idle."""
        oldest: LimitedH11Protocol | None = None
        for conn in self.connections:
            if conn is self or not isinstance(conn, LimitedH11Protocol) or conn._lost:
                continue
            if (peer is None or conn._peer == peer) and conn._between_requests() and (
                    oldest is None or conn.last_active < oldest.last_active):
                oldest = conn
        if oldest is None:
            return False
        self._limits.counters.add("idle_evicted")
        oldest.transport.abort()
        return True

    def _evict_from_busiest(self) -> bool:
        """Abort the oldest connection of the address holding the most (more than ours): the heaviest pays."""
        per_client = self._limits.per_client
        busiest = max(per_client, key=per_client.__getitem__, default=None)
        if busiest is None or busiest == self._peer or per_client[busiest] <= per_client[self._peer]:
            return False
        victims = [c for c in self.connections if isinstance(c, LimitedH11Protocol) and c._peer == busiest
                   and not c._lost and c is not self]
        if not victims:
            return False
        self._limits.counters.add("busiest_client_evicted")
        min(victims, key=lambda c: c.last_active).transport.abort()
        return True

    # --- read deadline ---------------------------------------------------------------------------
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
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self.last_active = self.loop.time()
        if self._first:
            self._first = False
            if data.startswith(b"PRI ") and HTTP2_PREFACE.startswith(data[: len(HTTP2_PREFACE)]):
                self._limits.counters.add("grpc_refused")
                self._grpc = GrpcRefusal()  # the header deadline armed at connect bounds this connection
        if self._grpc is not None:
            out, done = self._grpc.receive(data)
            self.transport.write(out)
            if done:
                self.transport.close()
                self._arm_write_deadline()
            return
        if self._between_requests():
            self._arm()  # a new request is arriving: its headers have header_timeout_s from here
        super().data_received(data)
        if not self._between_requests():
            self._disarm()  # its headers are complete; the app's request deadline takes over

    # --- write deadline --------------------------------------------------------------------------
    def _arm_write_deadline(self) -> None:
        if self._write_deadline is None and not self._lost:
            self._write_deadline = self.loop.call_later(self._limits.write_timeout_s, self._write_late)

    def _write_late(self) -> None:
        self._write_deadline = None
        if not self._lost:
            self._limits.counters.add("write_timeouts")
            self.transport.abort()

    def pause_writing(self) -> None:
        """The client is not reading what we send: it has write_timeout_s to catch up."""
        super().pause_writing()
        self._arm_write_deadline()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_deadline is not None and not self.transport.is_closing():
            self._write_deadline.cancel()
            self._write_deadline = None

    def on_response_complete(self) -> None:
        self.last_active = self.loop.time()
        super().on_response_complete()
        self._disarm()  # idle now: uvicorn's keep-alive timeout applies until the next byte
        if self.transport.is_closing():
            self._arm_write_deadline()  # a close waits for unsent bytes: bounded too

    def timeout_keep_alive_handler(self) -> None:
        super().timeout_keep_alive_handler()
        self._arm_write_deadline()

    def send_400_response(self, msg: str) -> None:
        """h11 refused the request (bad framing such as a chunk size of -1, headers over the size limit)."""
        self._limits.counters.add("malformed_http")
        super().send_400_response(msg)
        self._arm_write_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._lost:
            self._lost = True
            self._limits.per_client[self._peer] -= 1
            if self._limits.per_client[self._peer] <= 0:
                del self._limits.per_client[self._peer]
        self._disarm()
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None
        super().connection_lost(exc)
