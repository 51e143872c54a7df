"""heritage_otel.service.statefile: locks and events are written as their kind, never lost on an object read anew."""

from __future__ import annotations

import threading

from heritage_otel.service.limits import DropCounters
from heritage_otel.service.statefile import decode, encode


def test_an_object_read_anew_gets_a_lock_of_its_own() -> None:
    """An object the reading process did not have yet (an alert policy made before the checkpoint) gets a new lock,
    so its methods that take the lock work after a restore."""
    counters = DropCounters()
    counters.add("too_many_items")
    text, arrays = encode({"counters": counters})
    restored = decode(text, arrays)["counters"]
    assert isinstance(restored._lock, type(threading.Lock()))  # noqa: SLF001 - the lock is what is under test
    assert restored._lock is not counters._lock  # noqa: SLF001 - the lock is what is under test
    restored.add("too_many_items")  # takes the lock
    assert restored.snapshot()["too_many_items"] == 2


def test_a_sync_node_of_an_unknown_kind_is_refused() -> None:
    from heritage_otel.service.statefile import StateError

    try:
        decode('{"$": "sync", "k": "Semaphore"}', [])
    except StateError:
        return
    raise AssertionError("an unknown sync kind was accepted")
