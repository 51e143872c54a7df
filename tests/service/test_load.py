"""Bounded load: well-formed traffic and a stream of every #12 attack at once, against a real ``analyzer serve``.

Stated bounds (generous: the machine is shared and noisy; the point is that
nothing hangs and nothing grows without bound): every well-formed request is
answered 200 within ``GOOD_REQUEST_BOUND_S``, and the service's resident
memory stays under ``RSS_CEILING_MB`` throughout.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable

import requests

from tests.service.attacks import (
    AUTH,
    LIMIT,
    PROTOBUF_AUTH,
    analyzer_serve,
    both_framings,
    chunked_minus_one,
    exponential_histogram_million_buckets,
    far_future_gauge,
    good_metrics,
    histograms_sharing_bounds,
    huge_query_log,
    many_attributes,
    raw_exchange,
    request_head,
)

GOOD_REQUEST_BOUND_S = 10.0
RSS_CEILING_MB = 400.0
ATTACK_SECONDS = 20.0
GOOD_CLIENTS = 3
ATTACKERS = 3


def _attacks(port: int, url: str) -> list[Callable[[], object]]:
    def post(body: bytes, path: str = "/v1/metrics", **extra: str) -> object:
        return requests.post(url + path, data=body, headers={**PROTOBUF_AUTH, **extra}, timeout=30)

    def idle_connections() -> None:
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(30)]
        time.sleep(1.0)
        for s in socks:
            s.close()

    def slow_body() -> bytes:
        head = request_head("POST", "/v1/metrics", {**PROTOBUF_AUTH, "Content-Length": "50"})
        return raw_exchange(port, head, trickle=[b"x"] * 3, trickle_every_s=1.0, read_s=8)

    expo, shared, attrs, logs, future = (exponential_histogram_million_buckets(), histograms_sharing_bounds(5, 10_000),
                                         many_attributes(60_000), huge_query_log(600_000), far_future_gauge())
    bomb = gzip.compress(b"\0" * (LIMIT * 8))
    return [
        lambda: raw_exchange(port, chunked_minus_one("/v1/metrics")),
        lambda: raw_exchange(port, chunked_minus_one("/v1/nowhere")),
        lambda: post(expo),
        lambda: post(shared),
        lambda: post(attrs),
        lambda: post(logs, "/v1/logs"),
        lambda: post(future),
        lambda: post(bomb, **{"Content-Encoding": "gzip"}),
        lambda: post(b"\0" * (LIMIT + 10)),
        lambda: raw_exchange(port, both_framings()),
        idle_connections,
        slow_body,
    ]


def test_good_traffic_is_answered_within_bounds_while_every_attack_streams_in() -> None:
    with analyzer_serve("--header-timeout-s", "2", "--request-timeout-s", "3") as served:
        stop = threading.Event()
        good: list[tuple[int, float]] = []
        failures: list[str] = []
        peak_rss = [served.rss_mb()]
        attacks = _attacks(served.port, served.url)
        attack_count = [0]

        def good_client(i: int) -> None:
            with requests.Session() as session:
                n = 0
                while not stop.is_set() and n < 2000:
                    n += 1
                    started = time.monotonic()
                    try:
                        if n % 2:
                            resp = session.post(served.url + "/v1/metrics", headers=PROTOBUF_AUTH, timeout=30,
                                                data=good_metrics(f"good-{i}", n).SerializeToString())
                        else:
                            resp = session.get(served.url + "/api/health", headers=AUTH, timeout=30)
                        good.append((resp.status_code, time.monotonic() - started))
                    except requests.RequestException as exc:
                        failures.append(f"{type(exc).__name__}: {exc}")
                    time.sleep(0.05)

        def attacker(i: int) -> None:
            k = i
            while not stop.is_set() and k < 10_000:
                try:
                    attacks[k % len(attacks)]()
                except (OSError, requests.RequestException):
                    pass  # the service may cut an attack off: that is the point
                attack_count[0] += 1
                k += ATTACKERS

        def monitor() -> None:
            while not stop.is_set():
                peak_rss[0] = max(peak_rss[0], served.rss_mb())
                time.sleep(0.25)

        threads = [threading.Thread(target=good_client, args=(i,)) for i in range(GOOD_CLIENTS)]
        threads += [threading.Thread(target=attacker, args=(i,)) for i in range(ATTACKERS)]
        threads.append(threading.Thread(target=monitor))
        for t in threads:
            t.start()
        time.sleep(ATTACK_SECONDS)
        stop.set()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)

        assert not failures, failures[:5]
        assert len(good) > 50, "the good clients got through"
        assert attack_count[0] >= len(attacks), "every kind of attack was sent at least once"
        assert all(status == 200 for status, _ in good), sorted({s for s, _ in good})
        slowest = max(latency for _, latency in good)
        assert slowest < GOOD_REQUEST_BOUND_S, slowest
        assert peak_rss[0] < RSS_CEILING_MB, peak_rss[0]
        assert served.alive()
        dropped = served.stats()["limits"]["dropped"]
        assert dropped["histogram_buckets"] and dropped["attributes_per_point"] and dropped["timestamps"]
        print(f"good requests: {len(good)}, slowest {slowest:.2f} s; attacks sent: {attack_count[0]}; "
              f"peak RSS {peak_rss[0]:.0f} MB; drops: {dropped}")
