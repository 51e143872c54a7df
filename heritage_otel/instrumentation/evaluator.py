"""The quality evaluator ``HERITAGE_OTEL_RECOMMENDER_EVALUATOR`` names, imported on its first call.

Apart from :mod:`.targets` (what is instrumented) so that the name resolution of :mod:`._resolve`, which
reads the target grammar of ``targets``, is imported here without a circle.

>>> evaluator_from_env({}) is None
True
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from heritage_otel.instrumentation._resolve import resolve_target
from heritage_otel.instrumentation.targets import ENV_EVALUATOR, parse_target

__all__ = ["evaluator_from_env"]

_logger = logging.getLogger(__name__)


class _Evaluator:
    """An evaluator named by a target, imported on its first call (the recommender's module is loaded by then)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._function: object = None

    def __call__(self, instance: object, query: object, results: object) -> object:
        if self._function is None:
            self._function = self._resolve()
        return self._function(instance, query, results)  # type: ignore[operator]  # the resolved callable

    def _resolve(self) -> object:
        """The named callable; one that cannot be found is logged once and scores nothing from then on."""
        try:
            owner, name = resolve_target(self.target)
            function = getattr(owner, name)
        except Exception:  # noqa: BLE001 - a bad evaluator never breaks the recommender
            _logger.exception("heritage recommender instrumentation: %s = %r cannot be used; no quality scores",
                              ENV_EVALUATOR, self.target)
            return _no_scores
        return function

    def __repr__(self) -> str:
        return f"<evaluator {self.target}>"


def _no_scores(instance: object, query: object, results: object) -> None:
    return None


def evaluator_from_env(environ: Mapping[str, str] | None = None) -> _Evaluator | None:
    """The evaluator ``HERITAGE_OTEL_RECOMMENDER_EVALUATOR`` names, or None (unset, or malformed: logged).

    ``module:Class.method`` is the recommender's own method (called with the
    recommender as ``self``), ``module:function`` any function taking
    ``(recommender, query, results)``; either returns quality scores.

    >>> evaluator_from_env({"HERITAGE_OTEL_RECOMMENDER_EVALUATOR": "shop.search:Search.quality"})
    <evaluator shop.search:Search.quality>
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_EVALUATOR, "").strip()
    if not value:
        return None
    try:
        parse_target(value)
    except ValueError as exc:
        _logger.error("heritage recommender instrumentation: %s: %s; skipped", ENV_EVALUATOR, exc)
        return None
    return _Evaluator(value)
