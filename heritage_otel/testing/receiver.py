"""A loopback HTTP receiver for tests: a webhook endpoint that records what it is sent.

Point an alert sink (``WebhookSink``, ``AlertmanagerSink``, or your own
handler) at :attr:`HttpReceiver.url` and assert on the requests it got. It
can also misbehave on purpose, to test retries and timeouts: answer with
scripted statuses, answer slowly, or hang until it is closed.

>>> import json, urllib.request
>>> with HttpReceiver() as hook:
...     body = json.dumps({"status": "firing"}).encode()
...     request = urllib.request.Request(hook.url + "/alerts", data=body, method="POST",
...                                      headers={"Content-Type": "application/json"})
...     urllib.request.urlopen(request, timeout=5).status
...     [(r.method, r.path, r.json()) for r in hook.requests]
200
[('POST', '/alerts', {'status': 'firing'})]

What it does not handle: it listens on 127.0.0.1 only, over plain HTTP (no
TLS); it records POST and PUT requests (other methods get 405 and are not
recorded); bodies are kept in memory, whole, so keep test traffic small.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

__all__ = ["HANG", "HttpReceiver", "ReceivedRequest"]

#: A scripted response that never answers (until the receiver is closed).
HANG: Final = "hang"
_HANG_LIMIT_S: Final = 60.0


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the receiver got: method, path (with query), headers and raw body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpReceiver:
    """An HTTP server on a free 127.0.0.1 port, in a background thread (see the module docstring).

    ``responses`` is a script: each request takes the next entry, an HTTP
    status or :data:`HANG`; when it runs out, ``status`` answers (default
    200; :data:`HANG` for an endpoint that never answers). ``delay_s``
    delays every answer (a slow endpoint). Use it as a context manager, or
    call :meth:`close`. Thread-safe.
    """

    def __init__(
        self, responses: Iterable[int | str] = (), *, status: int | str = 200, delay_s: float = 0.0,
    ) -> None:
        script = list(responses)
        for entry in [*script, status]:
            if entry != HANG and not (isinstance(entry, int) and 100 <= entry <= 599):
                msg = f"response {entry!r} is not valid; expected an HTTP status 100-599 or {HANG!r}"
                raise ValueError(msg)
        self._script = script
        self._status = status
        self._delay_s = float(delay_s)
        self._requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._closed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="heritage-http-receiver", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (append any path: every path is accepted)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> tuple[ReceivedRequest, ...]:
        """Every request recorded so far, oldest first (a snapshot)."""
        with self._lock:
            return tuple(self._requests)

    def bodies(self) -> list[Any]:
        """The JSON bodies of every request so far."""
        return [r.json() for r in self.requests]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> bool:
        """Wait until at least ``count`` requests arrived; False on timeout."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= count, timeout_s)

    def close(self) -> None:
        """Release hanging requests and stop the server (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> HttpReceiver:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        self.close()

    def _next_response(self, request: ReceivedRequest) -> int | str:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()
            return self._script.pop(0) if self._script else self._status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action = receiver._next_response(
                    ReceivedRequest(self.command, self.path, dict(self.headers.items()), body))
                if action == HANG:
                    receiver._closed.wait(_HANG_LIMIT_S)
                    self.close_connection = True
                    return
                if receiver._delay_s:
                    time.sleep(receiver._delay_s)
                self._answer(int(action), b"{}")

            def _answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = _record  # noqa: N815 - http.server's method names

            def do_GET(self) -> None:  # noqa: N802 - http.server's method names
                self._answer(405, b"")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's parameter name
                pass

        return Handler
