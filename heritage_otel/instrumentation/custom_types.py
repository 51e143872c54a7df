"""Typed aliases for the callables :class:`RecommenderInstrumentor` accepts.

- ``RequestHook(span, instance, query, top_k)`` runs after the
  ``heritage.recommend`` span starts, before the recommender is called;
- ``ResponseHook(span, instance, results)`` runs after a successful call,
  before the span ends;
- ``Evaluator(instance, query, results)`` returns quality scores
  (``ndcg_at_10``, ``precision_at_5``, ``diversity``, any subset) or None;
- ``DocumentReader(item)`` returns ``(document id, score)`` of one result
  item (either may be None), or None to skip it.

Hooks, evaluators and document readers never break the recommender: their exceptions are
logged and dropped. Check ``span.is_recording()`` before heavy attribute work.

>>> def tag_query(span, instance, query, top_k) -> None:
...     span.set_attribute("app.top_k", top_k)
>>> hook: RequestHook = tag_query  # what RecommenderInstrumentor().instrument(request_hook=...) takes
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.trace import Span

from heritage_otel.results import DocumentReader

RequestHook = Callable[[Span, Any, str, int], None]
ResponseHook = Callable[[Span, Any, Sequence[Mapping[str, Any]]], None]
Evaluator = Callable[[Any, str, Sequence[Mapping[str, Any]]], "Mapping[str, float] | None"]

__all__ = ["DocumentReader", "Evaluator", "RequestHook", "ResponseHook"]
