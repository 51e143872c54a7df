"""What :class:`RecommenderInstrumentor` wraps: ``module:Class.method`` (or ``module:function``) targets.

``RecommenderTargets()`` names the reference recommender
(:mod:`heritage_otel.examples.recommender`). For your own recommender, pass a
:class:`RecommenderTargets` naming your entry point to
``instrument(targets=...)``: the targets you do not name are none (the
reference recommender's components, ensemble, chain and cache are not
kept). Or set the environment variables below when using
``opentelemetry-instrument``; with ``HERITAGE_OTEL_RECOMMENDER_ENTRY`` set,
the same rule applies. A malformed variable is logged and skipped there
(the valid targets are still instrumented, and instrumentors loaded after
this one still run); :meth:`RecommenderTargets.from_env` with
``strict=True`` raises instead.

=====================================  ============================================================
variable                               value
=====================================  ============================================================
``HERITAGE_OTEL_RECOMMENDER_ENTRY``    ``module:Class.method`` of ``recommend(query, top_k)`` (comma separated: several)
``HERITAGE_OTEL_RECOMMENDER_COMPONENTS`` ``name=module:Class.method`` pairs, comma separated
``HERITAGE_OTEL_RECOMMENDER_ENSEMBLE``  ``module:Class.method`` of the merge step (empty: none)
``HERITAGE_OTEL_RECOMMENDER_CHAIN``     ``module:Class.method`` of the chain runner (empty: none)
``HERITAGE_OTEL_RECOMMENDER_CACHE``     ``module:Class.method`` of the cache look-up (empty: none)
``HERITAGE_OTEL_RECOMMENDER_EVALUATOR`` ``module:Class.method`` or ``module:function`` called
                                       ``(recommender, query, results)`` for quality scores
=====================================  ============================================================

A chain runner takes ``(strategies, *args, **kwargs)``, where ``strategies``
is a sequence of ``(name, callable, priority)``, and returns
``(result, name of the strategy used)``; the instrumentor runs it as a
:class:`heritage_otel.fallback.FallbackChain`. A cache look-up returns None
on a miss.

>>> t = RecommenderTargets.from_env({"HERITAGE_OTEL_RECOMMENDER_ENTRY": "app.rec:Rec.search",
...                                  "HERITAGE_OTEL_RECOMMENDER_COMPONENTS": "bm25=app.bm25:Index.score",
...                                  "HERITAGE_OTEL_RECOMMENDER_CHAIN": ""})
>>> t.entry_point, dict(t.components), t.ensemble, t.chain, t.cache
('app.rec:Rec.search', {'bm25': 'app.bm25:Index.score'}, None, None, None)
>>> RecommenderTargets(entry_point="app.rec:Rec.search").components
mappingproxy({})
>>> RecommenderTargets(entry_point=["app.rec:Rec.search", "app.rec:Rec.similar"]).entry_points
('app.rec:Rec.search', 'app.rec:Rec.similar')
>>> parse_target("app.rec:Rec.search"), parse_target("app.bm25:top_documents")
(('app.rec', 'Rec', 'search'), ('app.bm25', None, 'top_documents'))
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from heritage_otel import environment_variables as env_vars

ENV_ENTRY: Final = env_vars.HERITAGE_OTEL_RECOMMENDER_ENTRY
ENV_COMPONENTS: Final = env_vars.HERITAGE_OTEL_RECOMMENDER_COMPONENTS
ENV_ENSEMBLE: Final = env_vars.HERITAGE_OTEL_RECOMMENDER_ENSEMBLE
ENV_CHAIN: Final = env_vars.HERITAGE_OTEL_RECOMMENDER_CHAIN
ENV_CACHE: Final = env_vars.HERITAGE_OTEL_RECOMMENDER_CACHE
ENV_EVALUATOR: Final = env_vars.HERITAGE_OTEL_RECOMMENDER_EVALUATOR

_logger = logging.getLogger(__name__)
_REFERENCE: Final = "heritage_otel.examples.recommender"
_REFERENCE_ENTRY: Final = f"{_REFERENCE}.recommender:HeritageRecommender.recommend"
_TARGET = re.compile(r"^([A-Za-z_][\w.]*):(?:([A-Za-z_]\w*)\.)?([A-Za-z_]\w*)$")


def parse_target(target: str) -> tuple[str, str | None, str]:
    """Split ``module:Class.method`` into (module, class, method), ``module:function`` into (module, None,
    function); ValueError when malformed."""
    match = _TARGET.match(target.strip()) if isinstance(target, str) else None
    if match is None:
        msg = (f"instrumentation target {target!r} is not valid; expected 'module:Class.method' or "
               "'module:function', e.g. 'app.rec:Rec.recommend'")
        raise ValueError(msg)
    return match.group(1), match.group(2), match.group(3)


def target_of(value: object) -> str:
    """A target string as given, or the ``module:Class.method`` / ``module:function`` of a function or method.

    >>> import json
    >>> target_of(json.JSONDecoder.decode), target_of(json.dumps), target_of("app.rec:Rec.search")
    ('json.decoder:JSONDecoder.decode', 'json:dumps', 'app.rec:Rec.search')
    """
    if isinstance(value, str):
        return value
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if callable(value) and isinstance(module, str) and isinstance(qualname, str):
        target = f"{module}:{qualname}"
        if _TARGET.match(target):
            return target
        msg = (f"instrumentation target {value!r} ({target}) is not valid; expected a module-level function or "
               "a method of a module-level class")
        raise ValueError(msg)
    return value  # type: ignore[return-value]  # parse_target names what is wrong with it


def _reference_components() -> dict[str, str]:
    return {
        "simrank": f"{_REFERENCE}.simrank:SimRankRanker.rank",
        "horn_index": f"{_REFERENCE}.horn_index:HornIndex.rank",
        "embedding": f"{_REFERENCE}.embedding:EmbeddingRanker.rank",
    }


def _reference_defaults() -> dict[str, object]:
    """The reference recommender's targets other than its entry point."""
    return {
        "components": _reference_components(),
        "ensemble": f"{_REFERENCE}.ensemble:Ensemble.merge",
        "chain": f"{_REFERENCE}.recommender:HeritageRecommender.run_chain",
        "cache": f"{_REFERENCE}.cache:ResultCache.get",
    }


class _Unset:
    """Marks a target the caller did not name."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()


@dataclass(frozen=True)
class RecommenderTargets:
    """The methods to wrap. ``components`` maps a component name to its target.

    With the default (reference) entry point, targets not named are the
    reference recommender's; with any other entry point (or None: no entry
    point wrapped) they are none.
    """

    # each target: "module:Class.method", "module:function", or the object; entry_point may list several
    entry_point: str | Sequence[str] | None = _REFERENCE_ENTRY
    components: Mapping[str, str] = field(default=_UNSET)  # type: ignore[assignment]  # a sentinel: __post_init__ puts the real default
    ensemble: str | None = field(default=_UNSET)  # type: ignore[assignment]  # a sentinel: __post_init__ puts the real default
    chain: str | None = field(default=_UNSET)  # type: ignore[assignment]  # a sentinel: __post_init__ puts the real default
    cache: str | None = field(default=_UNSET)  # type: ignore[assignment]  # a sentinel: __post_init__ puts the real default
    chain_name: str = "ranking_chain"

    def __post_init__(self) -> None:
        if isinstance(self.entry_point, (list, tuple)):  # several entry points: each call of any is one query
            entries = tuple(dict.fromkeys(target_of(t) for t in self.entry_point))
            object.__setattr__(self, "entry_point", entries[0] if len(entries) == 1 else (entries or None))
        for key in ("ensemble", "chain", "cache") if isinstance(self.entry_point, tuple) else (
                "entry_point", "ensemble", "chain", "cache"):
            value = getattr(self, key)
            if value is not None and value is not _UNSET:
                object.__setattr__(self, key, target_of(value))
        if isinstance(self.components, Mapping):
            object.__setattr__(self, "components", {name: target_of(t) for name, t in self.components.items()})
        for entry in self.entry_points:
            parse_target(entry)
        defaults = _reference_defaults() if self.entry_point == _REFERENCE_ENTRY else {
            "components": {}, "ensemble": None, "chain": None, "cache": None}
        for key, default in defaults.items():
            if getattr(self, key) is _UNSET:
                object.__setattr__(self, key, default)
        if not isinstance(self.components, Mapping):
            msg = f"components = {self.components!r} is not valid; expected a dict of name -> 'module:Class.method'"
            raise ValueError(msg)
        for name, target in self.components.items():
            if not isinstance(name, str) or not name:
                msg = f"component name {name!r} is not valid; expected a non-empty string"
                raise ValueError(msg)
            parse_target(target)
        for target in (self.ensemble, self.chain, self.cache):
            if target is not None:
                parse_target(target)
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))

    @property
    def entry_points(self) -> tuple[str, ...]:
        """The entry points, as a tuple (empty: none)."""
        if self.entry_point is None:
            return ()
        return self.entry_point if isinstance(self.entry_point, tuple) else (self.entry_point,)  # type: ignore[return-value]  # entry points are strings after __post_init__

    @property
    def is_reference(self) -> bool:
        """True when the entry point is the reference recommender's (its ``evaluate`` scores quality)."""
        return self.entry_point == _REFERENCE_ENTRY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, strict: bool = True) -> RecommenderTargets:
        """The targets the ``HERITAGE_OTEL_RECOMMENDER_*`` variables name (the reference ones without ENTRY).

        ``strict=False`` (what ``opentelemetry-instrument`` uses) logs each
        malformed variable or entry, naming it and what is valid, and keeps the
        valid ones instead of raising.
        """
        env = os.environ if environ is None else environ

        def bad(msg: str) -> None:
            if strict:
                raise ValueError(msg)
            _logger.error("heritage recommender instrumentation: %s; skipped", msg)

        def valid(var: str, value: str) -> bool:
            try:
                parse_target(value)
            except ValueError as exc:
                bad(f"{var}: {exc}")
                return False
            return True

        kwargs: dict[str, object] = {}
        entry = env.get(ENV_ENTRY, "").strip()
        if entry:  # a user's entry point was meant: never fall back to the reference recommender's targets
            entries = [e for e in filter(None, (e.strip() for e in entry.split(","))) if valid(ENV_ENTRY, e)]
            kwargs["entry_point"] = tuple(entries) or None
        if ENV_COMPONENTS in env:
            components = {}
            for pair in filter(None, (p.strip() for p in env[ENV_COMPONENTS].split(","))):
                name, sep, target = pair.partition("=")
                if not sep or not name.strip():
                    bad(f"{ENV_COMPONENTS} entry {pair!r} is not valid; expected name=module:Class.method")
                elif valid(f"{ENV_COMPONENTS} entry {name.strip()!r}", target.strip()):
                    components[name.strip()] = target.strip()
            kwargs["components"] = components
        for var, key in ((ENV_ENSEMBLE, "ensemble"), (ENV_CHAIN, "chain"), (ENV_CACHE, "cache")):
            if var in env:
                value = env[var].strip()
                if not value or valid(var, value):
                    kwargs[key] = value or None
        return cls(**kwargs)  # type: ignore[arg-type]  # kwargs hold only the fields read above
