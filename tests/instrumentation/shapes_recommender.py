"""A second recommender shape, as a new user writes one (for tests/instrumentation/test_recommender_shapes.py).

Nothing here follows the reference recommender's conventions: the entry
point is ``Finder.search(text, k)``, engines return numpy arrays or
``(id, score)`` tuples, the merge step takes a dict of numpy arrays, the
results are objects (or pairs, or a generator, or a coroutine), the chain
is the finder's own ``first_that_works(*attempts)``, and ``evaluate`` is an
offline evaluation over a whole dataset, not a per-query scorer.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

CATALOG = [f"book {i} about {w}" for i, w in
           enumerate(["rivers", "castles", "kings", "ships", "maps", "coins", "bells", "roads", "temples", "gardens"] * 3)]


@dataclass(frozen=True)
class Hit:
    """One result, as an object (not a mapping)."""

    book_id: str
    relevance: float


@dataclass(frozen=True)
class Doc:
    """One result with the common ``id`` / ``score`` attribute names."""

    id: str
    score: float


class TitleMatcher:
    def match(self, text: str, n: int = 10) -> list[tuple[str, float]]:
        words = set(text.split())
        scored = [(f"b{i}", float(len(words & set(t.split())))) for i, t in enumerate(CATALOG)]
        return sorted([s for s in scored if s[1] > 0], key=lambda s: (-s[1], s[0]))[:n]


class VectorEngine:
    def lookup(self, text: str, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        scores = np.array([1.0 / (1 + abs(len(t) - len(text))) for t in CATALOG])
        top = np.argsort(-scores, kind="stable")[:n]
        return top, scores[top]  # (indices, scores): two arrays


class BrokenEngine:
    def lookup(self, text: str, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        msg = "index offline"
        raise RuntimeError(msg)


class Blender:
    def combine(self, by_engine: dict[str, np.ndarray]) -> np.ndarray:
        out = np.zeros(len(CATALOG))
        for scores in by_engine.values():
            out[: len(scores)] += scores
        return out


class Finder:
    """``search(text, k)`` -> list of :class:`Hit`, behind its own chain (vectors, else titles)."""

    def __init__(self, broken: bool = False) -> None:
        self.titles = TitleMatcher()
        self.vectors = VectorEngine()
        self.broken = BrokenEngine()
        self.blender = Blender()
        self.use_broken = broken
        self.evaluations = 0

    def first_that_works(self, *attempts):  # the finder's own chain: not (strategies, *args) -> (result, name)
        errors = []
        for attempt in attempts:
            try:
                return attempt()
            except Exception as exc:  # noqa: BLE001 - a fallback chain tries the next strategy
                errors.append(exc)
        raise errors[-1]

    def _vector_hits(self, text: str, k: int) -> list[Hit]:
        if self.use_broken:
            self.broken.lookup(text, k)
        idx, scores = self.vectors.lookup(text, k)
        blended = self.blender.combine({"vectors": scores})
        return [Hit(f"b{i}", float(s)) for i, s in zip(idx, blended[: len(idx)], strict=False)]

    def _title_hits(self, text: str, k: int) -> list[Hit]:
        return [Hit(b, s) for b, s in self.titles.match(text, k)]

    def search(self, text: str, k: int = 5) -> list[Hit]:
        return self.first_that_works(lambda: self._vector_hits(text, k), lambda: self._title_hits(text, k))

    def search_pairs(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        return [(h.book_id, h.relevance) for h in self.search(text, k)]

    def search_docs(self, text: str, k: int = 5) -> list[Doc]:
        return [Doc(h.book_id, h.relevance) for h in self.search(text, k)]

    async def asearch(self, text: str, k: int = 5) -> list[Hit]:
        await asyncio.sleep(0.005)
        return self.search(text, k)

    def stream(self, text: str, k: int = 5) -> Iterator[Hit]:
        yield from self.search(text, k)

    def evaluate(self, dataset):  # an offline evaluation, never meant to run per query
        self.evaluations += 1
        return {"mrr": 0.5}


def top_titles(text: str, n: int = 3) -> list[tuple[str, float]]:
    """A component that is a module-level function."""
    return TitleMatcher().match(text, n)


def search_titles(text: str, k: int = 3) -> list[Hit]:
    """An entry point that is a module-level function."""
    return [Hit(b, s) for b, s in top_titles(text, k)]


class Remote:
    async def fetch(self, text: str, n: int = 3) -> list[tuple[str, float]]:
        await asyncio.sleep(0.005)
        if text == "offline":
            msg = "remote index offline"
            raise ConnectionError(msg)
        return [("r1", 0.9), ("r2", 0.8)][:n]


class AsyncFinder:
    """An async recommender whose remote component is async too."""

    async def find(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        try:
            remote = await Remote().fetch(text, k)
        except ConnectionError:
            remote = []
        return remote + top_titles(text, k)


POOL = ThreadPoolExecutor(2)


class ParallelFinder:
    """Runs its engines in a thread pool; ``search_retrying`` searches again, relaxed, when nothing matched."""

    def search(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        # copy_context().run carries the caller's context (OpenTelemetry's and the instrumentor's) to the thread
        titles = POOL.submit(contextvars.copy_context().run, TitleMatcher().match, text, k)
        vectors = POOL.submit(contextvars.copy_context().run, VectorEngine().lookup, text, k)
        idx, scores = vectors.result()
        return titles.result() + [(f"b{i}", float(s)) for i, s in zip(idx, scores, strict=False)]

    def search_retrying(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        hits = TitleMatcher().match(text, k)
        if not hits and text != "rivers":
            return self.search_retrying("rivers", k)
        return hits


class Engines:
    """Engines as a static method and a class method."""

    @staticmethod
    def keyword(text: str, n: int = 3) -> list[tuple[str, float]]:
        return TitleMatcher().match(text, n)

    @classmethod
    def search(cls, text: str, k: int = 2) -> list[tuple[str, float]]:
        return cls.keyword(text, k)


class TunedFinder(Finder):
    """Inherits ``search``."""
