"""The HTTP server: OTLP/HTTP receiver, JSON API and dashboard on one port, on uvicorn with the h11 parser.

An ASGI application (:class:`AnalyzerApp`, using Starlette's header and
response types) served by uvicorn's strict, maintained HTTP/1.1 stack
(docs/fleet-mode.md says why). Every limit comes from
:class:`~heritage_otel.service.config.ServiceConfig`: the body is streamed
and refused (413) once it passes ``max_request_bytes`` on the wire or after
gzip, a request whose body has not arrived within ``request_timeout_s`` gets
408, decoding and ingesting run at most ``max_concurrent_ingest`` at a time,
requests must name this service in ``Host``, and a request carrying both
``Content-Length`` and ``Transfer-Encoding`` is refused (no smuggling).
Connections are bounded by :mod:`heritage_otel.service.protocol`. Every
request is answered, whatever it carries: a handler error becomes a 500 with
a ``google.rpc.Status`` body and the server goes on serving. The bearer token
(when configured) protects the receiver and the API, compared in constant
time on the raw header bytes and never logged; the dashboard's static files
are public (they hold no data) and the page asks for the token.

>>> server = AnalyzerServer(ServiceConfig(port=0), start_background=False)
>>> server.url.startswith("http://127.0.0.1:")
True
>>> server.close()
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import math
import mimetypes
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any, Final
from urllib.parse import parse_qs

import anyio.to_thread
import uvicorn
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from starlette.datastructures import Headers
from starlette.responses import Response

from heritage_otel.analysis import AlertManager, Analyzer, AnalyzerConfig
from heritage_otel.analysis.components import ComponentTable
from heritage_otel.service import api
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.core import AnalyzerService
from heritage_otel.service.payload import (
    PROTOBUF,
    GzipStream,
    PayloadError,
    decode,
    encode_message,
    media_type,
    status_body,
)
from heritage_otel.service.protocol import ConnectionLimits, LimitedH11Protocol

__all__ = ["AnalyzerServer"]

_log = logging.getLogger(__name__)
#: An oversized or refused body up to this many times the limit is read and discarded so the client
#: sees the answer; a larger one closes the connection instead.
_DRAIN_FACTOR: Final = 4
_STATIC: Final = "static"
_OTLP_PATHS: Final = {"/v1/metrics": ExportMetricsServiceRequest, "/v1/logs": ExportLogsServiceRequest}
_REALM: Final = {"WWW-Authenticate": 'Bearer realm="heritage-otel-analyzer"'}
#: The dashboard loads only its own files and talks only to this server.
_CSP: Final = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
_START_TIMEOUT_S: Final = 10.0

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _static_files() -> dict[str, bytes]:
    """Every file under ``static/`` (read once; a handful of small files)."""
    out: dict[str, bytes] = {}
    root = resources.files("heritage_otel.service").joinpath(_STATIC)

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
            elif child.is_file():
                out[name] = child.read_bytes()

    walk(root, "")
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


class _Refused(Exception):
    """A request answered with an error before (or instead of) its body being used."""

    def __init__(self, status: int, message: str, *, counter: str | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.counter, self.field = status, message, counter, field
        self.headers = headers or {}
        self.close = close


class _ClientGone(Exception):
    """The client disconnected mid-request."""


class _Receiver:
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


def _host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:4328`` -> ``::1``), lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class AnalyzerApp:
    """The ASGI application: routes, Host and token checks, streamed bodies with limits."""

    def __init__(self, service: AnalyzerService, static: dict[str, bytes] | None = None) -> None:
        self.service = service
        self.config = service.config
        self.static = _static_files() if static is None else static
        self._hosts = self.config.host_names()
        self._token = self.config.token.encode("ascii") if self.config.token else None
        self._ingest_slots: asyncio.Semaphore | None = None
        self._in_flight = 0  # requests being handled (event-loop only, no lock needed)
        self._buffered = 0  # body bytes held by all requests (wire + decompressed; event-loop only)

    # --- ASGI entry -----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        deadline = asyncio.get_running_loop().time() + self.config.request_timeout_s
        headers = Headers(scope=scope)
        kind = media_type(headers.get("content-type")) or PROTOBUF
        reader = _Receiver(receive)
        self._in_flight += 1
        try:
            if self._in_flight > self.config.max_concurrent_requests:
                raise _Refused(503, "too many requests in progress; retry later", counter="busy_refused",
                               headers={"Retry-After": "1"}, close=True)
            self._check_envelope(scope, headers)
            if scope["method"] == "POST":
                await self._post(scope, reader, send, headers, kind, deadline)
            elif scope["method"] in ("GET", "HEAD"):
                await self._get(scope, send, headers)
            else:
                raise _Refused(405, f"method {scope['method']} not allowed")
        except _Refused as exc:
            await self._refuse(scope, reader, send, exc, kind, deadline)
        except _ClientGone:
            return
        except Exception:  # noqa: BLE001 - one bad request never stops the server
            _log.exception("request %s %s failed", scope.get("method"), scope.get("path"))
            await self._respond(send, 500, status_body(500, "internal error; see the Analyzer's log", PROTOBUF),
                                PROTOBUF, close=True)
        finally:
            self._in_flight -= 1

    def _check_envelope(self, scope: Scope, headers: Headers) -> None:
        if _host_name(headers.get("host", "")) not in self._hosts:
            raise _Refused(400, "the Host header does not name this service (see allowed_hosts)",
                           counter="hosts_refused")
        names = {name for name, _ in scope["headers"]}
        if b"content-length" in names and b"transfer-encoding" in names:
            raise _Refused(400, "a request may not carry both Content-Length and Transfer-Encoding",
                           counter="framing_refused", close=True)

    def _authorized(self, headers: Headers) -> bool:
        if self._token is None:
            return True
        raw = headers.get("authorization", "").encode("latin-1")
        scheme, _, supplied = raw.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(supplied.strip(), self._token)

    # --- responses ------------------------------------------------------------------------------
    @staticmethod
    async def _respond(send: Send, status: int, body: bytes, content_type: str,
                       headers: dict[str, str] | None = None, *, close: bool = False) -> None:
        out = {"content-type": content_type, "cache-control": "no-store", "x-content-type-options": "nosniff",
               **(headers or {})}
        if close:
            out["connection"] = "close"
        response = Response(body, status_code=status, headers=out)
        await response({"type": "http"}, _no_receive, send)

    async def _json(self, send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":"), default=_jsonable, allow_nan=False).encode("utf-8")
        await self._respond(send, status, body, "application/json", headers)

    async def _refuse(self, scope: Scope, receive: _Receiver, send: Send, exc: _Refused, kind: str,
                      deadline: float) -> None:
        if exc.counter:
            self.service.drops.add(exc.counter)
        drained = not exc.close and exc.status != 408 and await self._discard_body(scope, receive, deadline)
        if scope["path"] in _OTLP_PATHS and scope["method"] == "POST":
            body, ctype = status_body(exc.status, exc.message, kind, exc.field), kind
        else:
            body, ctype = json.dumps({"error": exc.message}).encode(), "application/json"
        await self._respond(send, exc.status, body, ctype, exc.headers, close=not drained)

    async def _discard_body(self, scope: Scope, receive: _Receiver, deadline: float) -> bool:
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

    # --- OTLP receiver --------------------------------------------------------------------------
    async def _post(self, scope: Scope, receive: Receive, send: Send, headers: Headers, kind: str,
                    deadline: float) -> None:
        path = scope["path"]
        if path not in _OTLP_PATHS:
            raise _Refused(404, f"no OTLP endpoint at {path[:200]}; use /v1/metrics or /v1/logs")
        if not self._authorized(headers):
            raise _Refused(401, "missing or wrong bearer token", headers=_REALM)
        if "content-length" not in headers and "transfer-encoding" not in headers:
            raise _Refused(411, "Content-Length (or chunked Transfer-Encoding) is required")
        content_type = headers.get("content-type")
        if media_type(content_type) is None and content_type:
            raise _Refused(415, f"unsupported Content-Type {content_type[:100]!r}; expected {PROTOBUF} or application/json")
        encoding = (headers.get("content-encoding") or "identity").strip().lower()
        if encoding not in ("gzip", "identity"):
            raise _Refused(415, f"unsupported Content-Encoding {encoding[:100]!r}; expected gzip or none")
        held = [0]
        try:
            body = await self._read_body(receive, headers, encoding == "gzip", deadline, held)
            if self._ingest_slots is None:
                self._ingest_slots = asyncio.Semaphore(self.config.max_concurrent_ingest)
            try:
                async with asyncio.timeout_at(deadline):
                    await self._ingest_slots.acquire()
            except TimeoutError:
                raise _Refused(503, "the Analyzer is busy; retry later", headers={"Retry-After": "5"}) from None
            try:
                status, payload = await anyio.to_thread.run_sync(self._ingest, path, body, content_type, kind)
            finally:
                self._ingest_slots.release()
        finally:
            self._buffered -= held[0]
            self.service.buffered_bytes = self._buffered
        await self._respond(send, status, payload, kind)

    def _hold(self, n: int, held: list[int]) -> None:
        """Count ``n`` more body bytes held; 503 when all requests together would hold over max_buffered_bytes."""
        if self._buffered + n > self.config.max_buffered_bytes:
            raise _Refused(503, "the Analyzer holds too many request bodies; retry later",
                           counter="buffered_bytes_refused", headers={"Retry-After": "1"}, close=True)
        self._buffered += n
        held[0] += n
        self.service.buffered_bytes = self._buffered

    async def _read_body(
        self, receive: Receive, headers: Headers, gzipped: bool, deadline: float, held: list[int],
    ) -> bytes:
        """The (decompressed) body, streamed: 413 past the limit on the wire or after gzip, 408 past the deadline."""
        limit = self.config.max_request_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _Refused(413, f"the body ({declared} bytes) exceeds the limit of {limit} bytes",
                           counter="body_too_large")
        inflater = GzipStream(limit) if gzipped else None
        parts: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _ClientGone
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > limit:
                        raise _Refused(413, f"the body exceeds the limit of {limit} bytes", counter="body_too_large")
                    parts.append(inflater.feed(chunk) if inflater is not None else chunk)
                    self._hold(len(chunk) + (len(parts[-1]) if inflater is not None else 0), held)
                    if not message.get("more_body"):
                        break
            if inflater is not None:
                parts.append(inflater.finish())
        except TimeoutError:
            raise _Refused(408, f"the body did not arrive within {self.config.request_timeout_s:g} s",
                           counter="request_timeouts") from None
        except PayloadError as exc:
            counter = "decompressed_too_large" if exc.status == 413 else None
            raise _Refused(exc.status, exc.message, counter=counter, field=exc.field) from None
        return b"".join(parts)

    def _ingest(self, path: str, body: bytes, content_type: str | None, kind: str) -> tuple[int, bytes]:
        """Decode and ingest one OTLP body (on a worker thread); (status, encoded response)."""
        service = self.service
        limit = self.config.max_request_bytes
        try:
            if path == "/v1/metrics":
                request = decode(body, content_type, None, ExportMetricsServiceRequest, max_bytes=limit)
                result = service.ingest_metrics(request)
                if result.malformed and not result.accepted:  # nothing usable, and the sender's fault
                    message = f"every data point was refused: {result.message()}"
                    return 400, status_body(400, message, kind, "resource_metrics")
                response: Any = ExportMetricsServiceResponse()
                if result.rejected:
                    response.partial_success.CopyFrom(ExportMetricsPartialSuccess(
                        rejected_data_points=result.rejected, error_message=result.message()))
            else:
                logs = decode(body, content_type, None, ExportLogsServiceRequest, max_bytes=limit)
                _seen, rejected, message = service.ingest_logs(logs)
                response = ExportLogsServiceResponse()
                if rejected:
                    response.partial_success.CopyFrom(ExportLogsPartialSuccess(
                        rejected_log_records=rejected, error_message=message))
        except PayloadError as exc:
            return exc.status, status_body(exc.status, exc.message, kind, exc.field)
        return 200, encode_message(response, kind)

    # --- API and dashboard ----------------------------------------------------------------------
    async def _get(self, scope: Scope, send: Send, headers: Headers) -> None:
        path = scope["path"]
        if path == "/healthz":
            await self._json(send, 200, {"status": "ok"})
            return
        if path.startswith("/api/"):
            if not self._authorized(headers):
                raise _Refused(401, "missing or wrong bearer token", headers=_REALM)
            query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode("latin-1")).items()}
            status, payload = await anyio.to_thread.run_sync(api.route, self.service, path, query)
            await self._json(send, status, payload)
            return
        name = "index.html" if path in ("/", "/index.html") else path.lstrip("/").removeprefix("static/")
        body = self.static.get(name)
        if body is None:
            raise _Refused(404, f"not found: {path[:200]}")
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "text/javascript"):
            ctype += "; charset=utf-8"
        await self._respond(send, 200, body, ctype, {"Content-Security-Policy": _CSP, "Referrer-Policy": "no-referrer"})


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections (no Nagle/delayed-ACK stall
    # between a response's header and body writes on keep-alive connections)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class AnalyzerServer:
    """The Analyzer service on a loopback (by default) port; ``close()`` stops everything.

    ``serve_forever()`` blocks; ``start()`` serves on a thread (the CLI, tests, embedding).
    """

    def __init__(
        self,
        config: ServiceConfig | None = None,
        *,
        analyzer_config: AnalyzerConfig | None = None,
        alert_manager: AlertManager | None = None,
        analyzer: Analyzer | None = None,
        components: ComponentTable | None = None,
        start_background: bool = True,
    ) -> None:
        self.config = config or ServiceConfig()
        self.service = AnalyzerService(self.config, analyzer_config=analyzer_config, alert_manager=alert_manager,
                                       analyzer=analyzer, components=components, start_background=start_background)
        cfg = self.config
        try:
            self._socket = _listen(cfg.host, cfg.port, backlog=min(cfg.max_connections, 1024))
        except OSError as exc:
            self.service.close()
            msg = f"cannot listen on {cfg.host}:{cfg.port}: {exc}"
            raise OSError(msg) from exc
        self.app = AnalyzerApp(self.service)
        limits = ConnectionLimits(cfg.header_timeout_s, cfg.max_connections, self.service.drops)
        self._uvicorn = uvicorn.Server(uvicorn.Config(
            self.app,
            http=functools.partial(LimitedH11Protocol, limits=limits),  # type: ignore[arg-type]  # uvicorn accepts a protocol factory
            loop="asyncio", ws="none", lifespan="off", log_config=None, access_log=False,
            server_header=False, proxy_headers=False,
            # not uvicorn's limit_concurrency: it counts idle connections too (AnalyzerApp counts requests)
            timeout_keep_alive=cfg.keep_alive_timeout_s,  # type: ignore[arg-type]  # used as a float
            h11_max_incomplete_event_size=cfg.max_header_bytes,
            timeout_graceful_shutdown=2,
        ))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host.strip('[]')}]"
        return f"http://{host}:{self.port}"

    def start(self) -> AnalyzerServer:
        """Serve on a daemon thread; returns self once the server accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, name="heritage-analyzer-http", daemon=True)
        self._thread.start()
        until = time.monotonic() + _START_TIMEOUT_S
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > until:
                self.close()
                msg = f"the Analyzer's HTTP server did not start on {self.url}; see the log"
                raise OSError(msg)
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Serve until :meth:`close` (blocks)."""
        self._uvicorn.run(sockets=[self._socket])

    def close(self) -> None:
        """Stop serving, close the socket, stop the evaluator and the alert sinks."""
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._socket.close()
        self.service.close()

    def __enter__(self) -> AnalyzerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
