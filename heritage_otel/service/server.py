"""The HTTP server: OTLP/HTTP receiver, JSON API and dashboard on one port, on uvicorn with the h11 parser.

The rooms, one module each: the connections (:mod:`~heritage_otel.service.protocol`:
uvicorn's h11 protocol with read and write deadlines, connection caps with a
share per client address, an answer to gRPC); the envelope of every request
(:mod:`~heritage_otel.service.envelope`: requests in progress in total and per
address, header size, ``Host``, framing, the bearer token, how a refusal is
answered); the OTLP receiver (:mod:`~heritage_otel.service.receiver`: bodies
streamed under the size, element and buffered-bytes limits, decoded and
ingested on worker threads); the API and the dashboard
(:mod:`~heritage_otel.service.routes`). This module wires them into one ASGI
application (:class:`AnalyzerApp`) and runs its lifecycle on uvicorn
(:class:`AnalyzerServer`: listen, start, close; docs/fleet-mode.md says why
uvicorn and h11). ``/healthz`` and ``/api/health`` are answered whatever is in
progress; every request is answered, whatever it carries: a handler error
becomes a 500 with a ``google.rpc.Status`` body and the server goes on serving.

>>> server = AnalyzerServer(ServiceConfig(port=0), start_background=False)
>>> server.url.startswith("http://127.0.0.1:")
True
>>> server.close()
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
import time
from typing import Final

import uvicorn
from starlette.datastructures import Headers

from heritage_otel.analysis import AlertManager, Analyzer, AnalyzerConfig
from heritage_otel.analysis.components import ComponentTable
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.core import AnalyzerService
from heritage_otel.service.envelope import HEALTH_PATHS, BodyReader, ClientGone, Envelope, Receive, Refused, Scope, Send
from heritage_otel.service.payload import PROTOBUF, media_type, status_body
from heritage_otel.service.protocol import ConnectionLimits, LimitedH11Protocol
from heritage_otel.service.receiver import OtlpReceiver
from heritage_otel.service.routes import Routes

__all__ = ["AnalyzerServer", "AnalyzerApp"]

_log = logging.getLogger(__name__)
_START_TIMEOUT_S: Final = 10.0


class AnalyzerApp:
    """The ASGI application: the envelope's checks, then the OTLP receiver (POST) or the routes (GET, HEAD)."""

    def __init__(self, service: AnalyzerService, static: dict[str, bytes] | None = None) -> None:
        self.service = service
        self.config = service.config
        self.envelope = Envelope(service.config, service.drops)
        self.receiver = OtlpReceiver(service, self.envelope)
        self.routes = Routes(service, self.envelope, static)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        envelope = self.envelope
        deadline = asyncio.get_running_loop().time() + self.config.request_timeout_s
        headers = Headers(scope=scope)
        kind = media_type(headers.get("content-type")) or PROTOBUF
        reader = BodyReader(receive)
        health = scope["path"] in HEALTH_PATHS and scope["method"] in ("GET", "HEAD")
        client = scope["client"][0] if scope.get("client") else ""
        # a refused request is not counted: its (small) answer may wait on a client that does not read
        counted = not health and envelope.admit(client)
        try:
            if not health and not counted:
                raise envelope.busy(client)
            envelope.check(scope, headers)
            if scope["method"] == "POST":
                await self.receiver.post(scope, reader, send, headers, kind, deadline)
            elif scope["method"] in ("GET", "HEAD"):
                await self.routes.get(scope, send, headers)
            else:
                raise Refused(405, f"method {scope['method']} not allowed")
        except Refused as exc:
            await envelope.refuse(scope, reader, send, exc, kind, deadline)
        except ClientGone:
            return
        except Exception:  # noqa: BLE001 - one bad request never stops the server
            _log.exception("request %s %s failed", scope.get("method"), scope.get("path"))
            await envelope.respond(send, 500, status_body(500, "internal error; see the Analyzer's log", PROTOBUF),
                                   PROTOBUF, close=True)
        finally:
            if counted:
                envelope.release(client)


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
        limits = ConnectionLimits(cfg.header_timeout_s, cfg.max_connections, self.service.drops,
                                  write_timeout_s=cfg.write_timeout_s,
                                  max_connections_per_client=cfg.max_connections_per_client)
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
