"""Shared fixtures for the sink tests: a sample alert and a local HTTP server with scripted behaviour."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from heritage_otel.analysis.alerts import Alert
from heritage_otel.analysis.findings import AlertLevel


def make_alert(level=AlertLevel.CRITICAL, state="firing", alert_id="a1b2c3d4e5f60718", metric="query_latency_p95"):
    return Alert(
        id=alert_id, level=level, metric=metric, detector="threshold", labels={"service.name": "recommender"},
        current_value=3500.0, threshold=3000.0, message=f"{metric} = 3500 is above the critical level 3000",
        first_seen=1_700_000_000.0, last_seen=1_700_000_060.0,
        exemplar_trace_ids=("0af7651916cd43dd8448eb211c80319c",), exemplar_span_ids=("b7ad6b7169203331",),
        jaeger_links=("http://127.0.0.1:16686/trace/0af7651916cd43dd8448eb211c80319c",), state=state,
        resolved_at=1_700_000_120.0 if state == "resolved" else None,
    )


@pytest.fixture
def alert():
    return make_alert()


class ScriptedServer:
    """127.0.0.1 HTTP server answering each POST with the next scripted status ('hang' sleeps)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append((dict(self.headers), json.loads(body)))
                action = outer.script.pop(0) if outer.script else 200
                if action == "hang":
                    outer.release.wait(30)
                    return
                self.send_response(action)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook/SECRETPATH"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def http_server():
    servers = []

    def start(*script):
        server = ScriptedServer(script)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.close()
