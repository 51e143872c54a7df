"""Every slow or silent socket attack at once against a real ``analyzer serve`` at its default limits, while a
health probe and a well-behaved exporter (each from its own address) must keep being answered.

The attackers: clients that pipeline GETs and never read their answers, hundreds of idle connections, bodies
at one byte per second, and request heads trickled byte by byte, each from its own loopback address
(127.0.0.0/8 is all loopback on Linux), as a fleet's peers would be.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.service.attacks import AUTH, PROTOBUF_AUTH, Served, analyzer_serve, good_metrics, request_head

PROBE_SECONDS = 15.0
PROBE_BOUND_S = 2.0


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with analyzer_serve(max_request_bytes=None) as srv:
        yield srv


def _connect(port: int, source: str, rcvbuf: int | None = None) -> socket.socket | None:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    try:
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    return sock


def _request(port: int, source: str, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), time.monotonic() - started
    except OSError as exc:
        return 0, str(exc).encode(), time.monotonic() - started
    finally:
        conn.close()


def _attack(port: int, stop: threading.Event, socks: list[socket.socket]) -> None:
    pipelined = request_head("GET", "/dashboard.js", {}) * 300
    for _ in range(64):  # non-readers
        sock = _connect(port, "127.0.0.1", rcvbuf=4096)
        if sock is not None:
            try:
                sock.sendall(pipelined)
            except OSError:
                pass
            socks.append(sock)
    for _ in range(300):  # idle
        sock = _connect(port, "127.0.0.4")
        if sock is not None:
            socks.append(sock)
    slow = []
    for _ in range(100):  # bodies at a byte a second
        sock = _connect(port, "127.0.0.5")
        if sock is not None:
            try:
                sock.sendall(request_head("POST", "/v1/metrics", {**PROTOBUF_AUTH, "Content-Length": "100000"}))
            except OSError:
                continue
            slow.append(sock)
    trickled = []
    head = request_head("GET", "/api/health", AUTH)
    for _ in range(50):  # heads a byte at a time
        sock = _connect(port, "127.0.0.6")
        if sock is not None:
            trickled.append(sock)
    socks.extend(slow + trickled)
    position = 0
    while not stop.wait(0.5):
        for sock in slow:
            try:
                sock.send(b"x")
            except OSError:
                pass
        for sock in trickled:
            try:
                sock.send(head[position % len(head) : position % len(head) + 1])
            except OSError:
                pass
        position += 1


def test_health_and_a_good_exporter_are_answered_through_every_socket_attack(served: Served) -> None:
    stop = threading.Event()
    socks: list[socket.socket] = []
    attacker = threading.Thread(target=_attack, args=(served.port, stop, socks), daemon=True)
    attacker.start()
    health: list[tuple[int, float]] = []
    exports: list[tuple[int, float]] = []
    try:
        time.sleep(3.0)  # the attack is in place
        body = good_metrics("well-behaved").SerializeToString()
        until = time.monotonic() + PROBE_SECONDS
        while time.monotonic() < until:
            status, _, took = _request(served.port, "127.0.0.2", "GET", "/healthz")
            health.append((status, took))
            status, _, took = _request(served.port, "127.0.0.3", "POST", "/v1/metrics", body, PROTOBUF_AUTH)
            exports.append((status, took))
            time.sleep(0.2)
    finally:
        stop.set()
        attacker.join(30)
        for sock in socks:
            sock.close()
    assert health and all(s == 200 and t < PROBE_BOUND_S for s, t in health), health
    assert exports and all(s == 200 and t < PROBE_BOUND_S for s, t in exports), exports
    status, raw, _ = _request(served.port, "127.0.0.3", "GET", "/api/stats", headers=AUTH)
    dropped = json.loads(raw)["limits"]["dropped"]
    closed = dropped["idle_evicted"] + dropped["write_timeouts"] + dropped["header_timeouts"]
    assert dropped["idle_evicted"] > 0 and closed >= 300, dropped  # the attackers paid, counted
    print("socket attack counters:", {k: v for k, v in dropped.items() if v},
          f"health p100 {max(t for _, t in health):.3f} s, export p100 {max(t for _, t in exports):.3f} s")


def test_decode_bombs_from_one_address_do_not_stall_exports_from_another(served: Served) -> None:
    """Four threads send 20 KB gzip bodies that inflate to 20 MB of empty messages or of ``[]`` (each refused
    after counting); meanwhile a replica's exports from another address are answered 200 within the bound."""
    import gzip

    bombs = [gzip.compress(b"\x0a\x00" * 10_000_000, 9),
             gzip.compress(b'{"resourceMetrics":[],"x":[' + b"[]," * 6_900_000 + b"[]]}", 9)]
    stop = threading.Event()
    answers: list[int] = []

    def bomb(i: int) -> None:
        kind = "application/x-protobuf" if i % 2 == 0 else "application/json"
        while not stop.is_set():
            status, _, _ = _request(served.port, "127.0.0.7", "POST", "/v1/metrics", bombs[i % 2],
                                    {**AUTH, "Content-Type": kind, "Content-Encoding": "gzip"})
            answers.append(status)

    threads = [threading.Thread(target=bomb, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    exports: list[tuple[int, float]] = []
    try:
        time.sleep(1.0)
        body = good_metrics("replica-beside-bombs").SerializeToString()
        until = time.monotonic() + 10.0
        while time.monotonic() < until:
            status, _, took = _request(served.port, "127.0.0.8", "POST", "/v1/metrics", body, PROTOBUF_AUTH)
            exports.append((status, took))
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert answers and set(answers) <= {413, 503}, set(answers)
    assert exports and all(s == 200 for s, _ in exports), exports  # none lost
    took = sorted(t for _, t in exports)
    assert took[len(took) // 2] < 1.0 and took[-1] < 5.0, took  # a shared 2-core machine: median, and a cap
    print("bombs answered:", len(answers), f"exports: p100 {max(t for _, t in exports):.3f} s")
