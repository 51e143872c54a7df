"""The API and the dashboard: ``GET``/``HEAD`` of ``/healthz``, ``/api/...`` and the static files.

``/healthz`` is answered on the event loop; ``/api/health`` on two threads of
its own, so it answers while slow API calls hold the shared worker pool; the
other API routes (:func:`heritage_otel.service.api.route`) on worker threads.
The dashboard's files are public (they hold no data) and served with a strict
Content-Security-Policy.

>>> {"index.html", "dashboard.js", "dashboard.css"} <= set(static_files())
True
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from typing import Any, Final
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.datastructures import Headers

from heritage_otel.service import api
from heritage_otel.service.core import AnalyzerService
from heritage_otel.service.envelope import HEALTH_PATHS, REALM, Envelope, Refused, Scope, Send

__all__ = ["Routes", "static_files"]

_STATIC: Final = "static"
#: The dashboard loads only its own files and talks only to this server.
_CSP: Final = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def static_files() -> dict[str, bytes]:
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


class Routes:
    """Answers the GETs (and HEADs) for one :class:`AnalyzerService`."""

    def __init__(self, service: AnalyzerService, envelope: Envelope, static: dict[str, bytes] | None = None) -> None:
        self.service = service
        self.envelope = envelope
        self.static = static_files() if static is None else static
        self._health_threads: anyio.CapacityLimiter | None = None

    async def get(self, scope: Scope, send: Send, headers: Headers) -> None:
        """Answer one GET or HEAD (Refused for what is not found or not allowed)."""
        path = scope["path"]
        if path == "/healthz":
            await self.envelope.send_json(send, 200, {"status": "ok"})
            return
        if path.startswith("/v1/"):
            raise Refused(405, f"{scope['method']} is not allowed on {path[:200]}; OTLP/HTTP uses POST",
                          headers={"Allow": "POST"})
        if path.startswith("/api/"):
            if not self.envelope.authorized(headers):
                raise Refused(401, "missing or wrong bearer token", headers=REALM)
            query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode("latin-1")).items()}
            limiter = None
            if path in HEALTH_PATHS:  # its own threads: answered while slow API calls hold the shared pool
                if self._health_threads is None:
                    self._health_threads = anyio.CapacityLimiter(2)
                limiter = self._health_threads
            status, payload = await anyio.to_thread.run_sync(api.route, self.service, path, query, limiter=limiter)
            await self.envelope.send_json(send, status, payload)
            return
        name = "index.html" if path in ("/", "/index.html") else path.lstrip("/").removeprefix("static/")
        body = self.static.get(name)
        if body is None:
            raise Refused(404, f"not found: {path[:200]}")
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "text/javascript"):
            ctype += "; charset=utf-8"
        await self.envelope.respond(send, 200, body, ctype, {"Content-Security-Policy": _CSP, "Referrer-Policy": "no-referrer"})
