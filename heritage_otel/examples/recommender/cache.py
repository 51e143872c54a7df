"""A bounded, thread-safe LRU cache for recommendation results.

>>> cache = ResultCache(maxsize=2)
>>> cache.put(("a", 10), [1]); cache.put(("b", 10), [2]); cache.put(("c", 10), [3])
>>> cache.get(("a", 10)) is None, cache.get(("c", 10))
(True, [3])
>>> cache.hits, cache.misses
(1, 1)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class ResultCache:
    """Least-recently-used cache of at most ``maxsize`` entries (0 disables it)."""

    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 0:
            msg = f"cache maxsize={maxsize!r} is invalid; valid: an integer >= 0 (0 disables the cache)"
            raise ValueError(msg)
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        """The cached value for ``key`` (now most recently used), or None."""
        with self._lock:
            try:
                value = self._data[key]
            except KeyError:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value``; the least recently used entry goes when the cache is full."""
        if self.maxsize == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry (the hit and miss counts stay)."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
