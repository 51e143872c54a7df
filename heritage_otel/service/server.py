"""The HTTP server: OTLP/HTTP receiver, JSON API and dashboard on one port.

Built on the standard library's :class:`~http.server.ThreadingHTTPServer`
(one thread per connection, HTTP/1.1 keep-alive), so the service needs no
web framework. Every request is answered, whatever it carries: a handler
error becomes a 500 with a ``google.rpc.Status`` body and the server goes on
serving. A bearer token (when configured) protects the receiver and the API;
the dashboard's static files are public (they hold no data) and the page asks
for the token. The token is compared in constant time and never logged.

>>> server = AnalyzerServer(ServiceConfig(port=0), start_background=False)
>>> server.url.startswith("http://127.0.0.1:")
True
>>> server.close()
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

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

from heritage_otel.analysis import AlertManager, Analyzer, AnalyzerConfig
from heritage_otel.service import api
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.core import AnalyzerService
from heritage_otel.service.payload import PROTOBUF, PayloadError, decode, encode_message, media_type, status_body

__all__ = ["AnalyzerServer"]

_log = logging.getLogger(__name__)
_DRAIN_FACTOR: Final = 4
_CHUNK: Final = 1 << 16
_STATIC: Final = "static"
#: The dashboard loads only its own files and talks only to this server.
_CSP: Final = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    block_on_close = False
    service: AnalyzerService
    static: dict[str, bytes]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "heritage-otel-analyzer"
    sys_version = ""
    timeout = 30  # seconds a client may stall mid-request

    # --- plumbing ---------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        _log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, separators=(",", ":"), default=_jsonable, allow_nan=False).encode("utf-8")
        self._send(status, body, "application/json")

    def _authorized(self) -> bool:
        token = self.server.service.config.token
        if not token:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, supplied = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), token.encode())

    def _read_body(self, limit: int) -> bytes:
        """The request body, at most ``limit`` bytes; raises PayloadError (411/413/400)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise PayloadError(411, "Content-Length (or chunked Transfer-Encoding) is required")
        try:
            length = int(length_header)
        except ValueError:
            raise PayloadError(400, f"Content-Length {length_header[:40]!r} is not a number") from None
        if length < 0:
            raise PayloadError(400, "Content-Length is negative")
        if length > limit:
            self._drain(length, limit)
            raise PayloadError(413, f"the body ({length} bytes) exceeds the limit of {limit} bytes")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise PayloadError(400, f"the body ended after {len(body)} of {length} bytes")
        return body

    def _drain(self, length: int, limit: int) -> None:
        """Read and discard an oversized body so the 413 reaches the client; close if it is huge."""
        if length > _DRAIN_FACTOR * limit:
            self.close_connection = True
            return
        left = length
        while left > 0:
            chunk = self.rfile.read(min(_CHUNK, left))
            if not chunk:
                self.close_connection = True
                return
            left -= len(chunk)

    def _read_chunked(self, limit: int) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise PayloadError(400, "malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            if len(out) + size > limit:
                self.close_connection = True
                raise PayloadError(413, f"the body exceeds the limit of {limit} bytes")
            out += self.rfile.read(size)
            self.rfile.readline(1024)

    # --- dispatch -----------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._guard(self._post)

    def do_GET(self) -> None:  # noqa: N802
        self._guard(self._get)

    def do_HEAD(self) -> None:  # noqa: N802
        self._guard(self._get)

    def _guard(self, handler: Any) -> None:
        try:
            handler()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception:  # noqa: BLE001 - one bad request never stops the server
            _log.exception("request %s %s failed", self.command, urlsplit(self.path).path)
            self.close_connection = True
            try:
                self._send(500, status_body(500, "internal error; see the Analyzer's log", PROTOBUF), PROTOBUF)
            except Exception:  # noqa: BLE001
                pass

    def _post(self) -> None:
        path = urlsplit(self.path).path
        if path not in ("/v1/metrics", "/v1/logs"):
            self._otlp_error(404, f"no OTLP endpoint at {path}; use /v1/metrics or /v1/logs", PROTOBUF, drain=True)
            return
        kind = media_type(self.headers.get("Content-Type")) or PROTOBUF
        if not self._authorized():
            self._otlp_error(401, "missing or wrong bearer token", kind, drain=True,
                             headers={"WWW-Authenticate": 'Bearer realm="heritage-otel-analyzer"'})
            return
        service = self.server.service
        limit = service.config.max_request_bytes
        try:
            body = self._read_body(limit)
            if path == "/v1/metrics":
                request = decode(body, self.headers.get("Content-Type"), self.headers.get("Content-Encoding"),
                                 ExportMetricsServiceRequest, max_bytes=limit)
                result = service.ingest_metrics(request)
                response = ExportMetricsServiceResponse()
                if result.rejected:
                    response.partial_success.CopyFrom(ExportMetricsPartialSuccess(
                        rejected_data_points=result.rejected, error_message=result.message()))
            else:
                logs = decode(body, self.headers.get("Content-Type"), self.headers.get("Content-Encoding"),
                              ExportLogsServiceRequest, max_bytes=limit)
                _seen, rejected, message = service.ingest_logs(logs)
                response = ExportLogsServiceResponse()
                if rejected:
                    response.partial_success.CopyFrom(ExportLogsPartialSuccess(
                        rejected_log_records=rejected, error_message=message))
        except PayloadError as exc:
            self._otlp_error(exc.status, exc.message, kind, field=exc.field)
            return
        self._send(200, encode_message(response, kind), kind)

    def _otlp_error(
        self, status: int, message: str, kind: str, *, field: str | None = None, drain: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        if drain:
            try:
                self._read_body(self.server.service.config.max_request_bytes)
            except PayloadError:
                self.close_connection = True
        self._send(status, status_body(status, message, kind, field), kind, headers)

    def _get(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/healthz":
            self._json(200, {"status": "ok"})
            return
        if path in ("/", "/index.html"):
            path = "/index.html"
        if path.startswith("/api/"):
            if not self._authorized():
                self._send(401, b'{"error":"missing or wrong bearer token"}', "application/json",
                           {"WWW-Authenticate": 'Bearer realm="heritage-otel-analyzer"'})
                return
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            status, payload = api.route(self.server.service, path, query)
            self._json(status, payload)
            return
        name = path.lstrip("/").removeprefix("static/")
        body = self.server.static.get(name)
        if body is None:
            self._json(404, {"error": f"not found: {path}"})
            return
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "text/javascript"):
            ctype += "; charset=utf-8"
        self._send(200, body, ctype, {"Content-Security-Policy": _CSP, "Referrer-Policy": "no-referrer"})

    def do_PUT(self) -> None:  # noqa: N802
        self._method_not_allowed()

    def do_DELETE(self) -> None:  # noqa: N802
        self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        self.close_connection = True
        self._json(405, {"error": f"method {self.command} not allowed"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


class AnalyzerServer:
    """The Analyzer service on a loopback (by default) port; ``close()`` stops everything.

    ``serve_forever()`` blocks (the CLI); ``start()`` serves on a thread (tests, embedding).
    """

    def __init__(
        self,
        config: ServiceConfig | None = None,
        *,
        analyzer_config: AnalyzerConfig | None = None,
        alert_manager: AlertManager | None = None,
        analyzer: Analyzer | None = None,
        start_background: bool = True,
    ) -> None:
        self.config = config or ServiceConfig()
        self.service = AnalyzerService(self.config, analyzer_config=analyzer_config, alert_manager=alert_manager,
                                       analyzer=analyzer, start_background=start_background)
        try:
            self.httpd = _Server((self.config.host, self.config.port), _Handler)
        except OSError as exc:
            self.service.close()
            msg = f"cannot listen on {self.config.host}:{self.config.port}: {exc}"
            raise OSError(msg) from exc
        self.httpd.service = self.service
        self.httpd.static = _static_files()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> AnalyzerServer:
        """Serve on a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="heritage-analyzer-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.5)

    def close(self) -> None:
        """Stop serving, close the socket, stop the evaluator and the alert sinks."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
        self.httpd.server_close()
        self.service.close()

    def __enter__(self) -> AnalyzerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
