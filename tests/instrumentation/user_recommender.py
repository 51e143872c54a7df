"""A user's own recommender, shaped differently from the reference one (for the targets test)."""

from __future__ import annotations


class KeywordScorer:
    def score(self, text: str) -> list[tuple[str, float]]:
        words = text.split()
        return [(f"doc-{w}", float(len(w))) for w in words]


class Shop:
    def __init__(self) -> None:
        self.scorer = KeywordScorer()

    def search(self, text: str, limit: int = 3) -> list[dict]:
        hits = sorted(self.scorer.score(text), key=lambda h: -h[1])[:limit]
        return [{"doc_id": d, "score": s} for d, s in hits]
