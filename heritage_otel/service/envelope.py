"""The envelope of every request: caps on requests in progress, header size, Host, framing, the token, answers.

What the Analyzer's HTTP application checks before a request reaches the
OTLP receiver (:mod:`heritage_otel.service.receiver`) or the API and
dashboard (:mod:`heritage_otel.service.routes`), and how it answers a
refusal: a ``google.rpc.Status`` in the request's encoding on an OTLP path
(``/v1/...``), ``{"error": ...}`` elsewhere, the refused body drained (bounded)
so the client reads the answer. Connections are bounded below it, by
:mod:`heritage_otel.service.protocol`.

>>> host_name("[::1]:4328"), host_name("Analyzer.internal:4328"), host_name("localhost")
('::1', 'analyzer.internal', 'localhost')
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.datastructures import Headers
from starlette.responses import Response

from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.limits import DropCounters
from heritage_otel.service.payload import status_body

__all__ = ["Envelope", "Refused", "ClientGone", "BodyReader", "host_name", "HEALTH_PATHS", "REALM",
           "Scope", "Receive", "Send"]

#: An oversized or refused body up to this many times the limit is read and discarded so the client
#: sees the answer; a larger one closes the connection instead.
_DRAIN_FACTOR: Final = 4
#: Answered even when every request slot is taken (cheap, bounded, and what orchestrators probe).
HEALTH_PATHS: Final = frozenset({"/healthz", "/api/health"})
REALM: Final = {"WWW-Authenticate": 'Bearer realm="heritage-otel-analyzer"'}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


class Refused(Exception):
    """A request answered with an error before (or instead of) its body being used."""

    def __init__(self, status: int, message: str, *, counter: str | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.counter, self.field = status, message, counter, field
        self.headers = headers or {}
        self.close = close


class ClientGone(Exception):
    """The client disconnected mid-request."""


class BodyReader:
    """The ASGI ``receive`` of one request, remembering whether the body has all been read."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.done = False

    async def __call__(self) -> dict[str, Any]:
        if self.done:
            msg = "the body was already read"
            raise RuntimeError(msg)
        message = await self._receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            self.done = True
        return message


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:4328`` -> ``::1``), lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


class Envelope:
    """The checks and answers shared by every route; counts requests in progress (event loop only, no lock)."""

    def __init__(self, config: ServiceConfig, drops: DropCounters) -> None:
        self.config = config
        self.drops = drops
        self._hosts = config.host_names()
        self._token = config.token.encode("ascii") if config.token else None
        self._in_flight = 0  # requests being handled
        self._per_client: Counter[str] = Counter()  # requests being handled, per client address

    def admit(self, client: str) -> bool:
        """Count one more request in progress (of ``client``) unless a cap is reached.

        Fair share: an address with nothing in progress is admitted past
        ``max_concurrent_requests`` into a reserve of as many again, so a few
        busy addresses cannot lock out another replica (or an operator).
        """
        cap = self.config.max_concurrent_requests
        if self._per_client[client] >= self.config.max_requests_per_client:
            return False
        if self._in_flight >= (2 * cap if self._per_client[client] == 0 else cap):
            return False
        self._in_flight += 1
        self._per_client[client] += 1
        return True

    def release(self, client: str) -> None:
        """One request of ``client`` is done."""
        self._in_flight -= 1
        self._per_client[client] -= 1
        if self._per_client[client] <= 0:
            del self._per_client[client]

    def busy(self, client: str) -> Refused:
        """The 503 for a request :meth:`admit` refused: the address's share, or the whole service, is taken."""
        if self._per_client[client] < self.config.max_requests_per_client:
            return Refused(503, "too many requests in progress; retry later", counter="busy_refused",
                           headers={"Retry-After": "1"}, close=True)
        return Refused(503, "this client address has too many requests in progress; retry later",
                       counter="client_busy_refused", headers={"Retry-After": "1"}, close=True)

    def check(self, scope: Scope, headers: Headers) -> None:
        """Refuse a head over max_header_bytes (431), a foreign Host (400), both framings (400)."""
        head = len(scope["raw_path"] or b"") + len(scope["query_string"]) + sum(
            len(name) + len(value) + 4 for name, value in scope["headers"])
        if head > self.config.max_header_bytes:
            raise Refused(431, f"the request line and headers exceed max_header_bytes ({self.config.max_header_bytes})",
                          counter="headers_too_large", close=True)
        if host_name(headers.get("host", "")) not in self._hosts:
            raise Refused(400, "the Host header does not name this service (see allowed_hosts)",
                          counter="hosts_refused")
        names = {name for name, _ in scope["headers"]}
        if b"content-length" in names and b"transfer-encoding" in names:
            raise Refused(400, "a request may not carry both Content-Length and Transfer-Encoding",
                          counter="framing_refused", close=True)

    def authorized(self, headers: Headers) -> bool:
        """The bearer token matches (constant time, raw bytes), or none is configured."""
        if self._token is None:
            return True
        raw = headers.get("authorization", "").encode("latin-1")
        scheme, _, supplied = raw.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(supplied.strip(), self._token)

    # --- answers ---------------------------------------------------------------------------------
    @staticmethod
    async def respond(send: Send, status: int, body: bytes, content_type: str,
                      headers: dict[str, str] | None = None, *, close: bool = False) -> None:
        """Send one complete answer (never cached, never sniffed; ``close`` ends the connection after it)."""
        out = {"content-type": content_type, "cache-control": "no-store", "x-content-type-options": "nosniff",
               **(headers or {})}
        if close:
            out["connection"] = "close"
        response = Response(body, status_code=status, headers=out)  # Starlette sets Content-Length
        await response({"type": "http"}, _no_receive, send)

    async def send_json(self, send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """Send ``payload`` as compact JSON (non-finite floats as null)."""
        body = json.dumps(payload, separators=(",", ":"), default=_jsonable, allow_nan=False).encode("utf-8")
        await self.respond(send, status, body, "application/json", headers)

    async def refuse(self, scope: Scope, receive: BodyReader, send: Send, exc: Refused, kind: str,
                     deadline: float) -> None:
        """Answer a refusal (counted): a google.rpc.Status on an OTLP path, ``{"error": ...}`` elsewhere."""
        if exc.counter:
            self.drops.add(exc.counter)
        drained = not exc.close and await self.discard_body(scope, receive, deadline)
        if scope["path"].startswith("/v1/"):  # an OTLP path (known or not): a google.rpc.Status body
            body, ctype = status_body(exc.status, exc.message, kind, exc.field), kind
        else:
            body, ctype = json.dumps({"error": exc.message}).encode(), "application/json"
        await self.respond(send, exc.status, body, ctype, exc.headers, close=not drained)

    async def discard_body(self, scope: Scope, receive: BodyReader, deadline: float) -> bool:
        """Read and drop a refused request's body (bounded) so the client sees the answer; True when it all came."""
        if receive.done:
            return True
        headers = Headers(scope=scope)
        if scope["method"] not in ("POST", "PUT", "PATCH") and "content-length" not in headers \
                and "transfer-encoding" not in headers:
            return True
        allowance = _DRAIN_FACTOR * self.config.max_request_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > allowance):
            return False
        seen = 0
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return False
                    seen += len(message.get("body", b""))
                    if seen > allowance:
                        return False
                    if not message.get("more_body"):
                        return True
        except TimeoutError:
            return False
