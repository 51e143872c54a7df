"""What :class:`RecommenderInstrumentor` wraps: ``module:Class.method`` targets.

The defaults name the reference recommender
(:mod:`heritage_otel.examples.recommender`). For your own recommender, pass a
:class:`RecommenderTargets` to ``instrument(targets=...)``, or set the
environment variables below when using ``opentelemetry-instrument``:

=====================================  ============================================================
variable                               value
=====================================  ============================================================
``HERITAGE_OTEL_RECOMMENDER_ENTRY``    ``module:Class.method`` of ``recommend(query, top_k)``
``HERITAGE_OTEL_RECOMMENDER_COMPONENTS`` ``name=module:Class.method`` pairs, comma separated
``HERITAGE_OTEL_RECOMMENDER_ENSEMBLE``  ``module:Class.method`` of the merge step (empty: none)
``HERITAGE_OTEL_RECOMMENDER_CHAIN``     ``module:Class.method`` of the chain runner (empty: none)
``HERITAGE_OTEL_RECOMMENDER_CACHE``     ``module:Class.method`` of the cache look-up (empty: none)
=====================================  ============================================================

A chain runner takes ``(strategies, *args, **kwargs)``, where ``strategies``
is a sequence of ``(name, callable, priority)``, and returns
``(result, name of the strategy used)``; the instrumentor runs it as a
:class:`heritage_otel.fallback.FallbackChain`. A cache look-up returns None
on a miss.

>>> t = RecommenderTargets.from_env({"HERITAGE_OTEL_RECOMMENDER_ENTRY": "app.rec:Rec.search",
...                                  "HERITAGE_OTEL_RECOMMENDER_COMPONENTS": "bm25=app.bm25:Index.score",
...                                  "HERITAGE_OTEL_RECOMMENDER_CHAIN": ""})
>>> t.entry_point, dict(t.components), t.chain
('app.rec:Rec.search', {'bm25': 'app.bm25:Index.score'}, None)
>>> parse_target("app.rec:Rec.search")
('app.rec', 'Rec', 'search')
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

ENV_ENTRY: Final = "HERITAGE_OTEL_RECOMMENDER_ENTRY"
ENV_COMPONENTS: Final = "HERITAGE_OTEL_RECOMMENDER_COMPONENTS"
ENV_ENSEMBLE: Final = "HERITAGE_OTEL_RECOMMENDER_ENSEMBLE"
ENV_CHAIN: Final = "HERITAGE_OTEL_RECOMMENDER_CHAIN"
ENV_CACHE: Final = "HERITAGE_OTEL_RECOMMENDER_CACHE"

_REFERENCE: Final = "heritage_otel.examples.recommender"
_TARGET = re.compile(r"^([A-Za-z_][\w.]*):([A-Za-z_]\w*)\.([A-Za-z_]\w*)$")


def parse_target(target: str) -> tuple[str, str, str]:
    """Split ``module:Class.method`` into (module, class, method); ValueError when malformed."""
    match = _TARGET.match(target.strip()) if isinstance(target, str) else None
    if match is None:
        msg = f"instrumentation target {target!r} is not valid; expected 'module:Class.method', e.g. 'app.rec:Rec.recommend'"
        raise ValueError(msg)
    return match.group(1), match.group(2), match.group(3)


def _reference_components() -> Mapping[str, str]:
    return MappingProxyType({
        "simrank": f"{_REFERENCE}.simrank:SimRankRanker.rank",
        "horn_index": f"{_REFERENCE}.horn_index:HornIndex.rank",
        "embedding": f"{_REFERENCE}.embedding:EmbeddingRanker.rank",
    })


@dataclass(frozen=True)
class RecommenderTargets:
    """The methods to wrap. ``components`` maps a component name to its target."""

    entry_point: str = f"{_REFERENCE}.recommender:HeritageRecommender.recommend"
    components: Mapping[str, str] = field(default_factory=_reference_components)
    ensemble: str | None = f"{_REFERENCE}.ensemble:Ensemble.merge"
    chain: str | None = f"{_REFERENCE}.recommender:HeritageRecommender.run_chain"
    cache: str | None = f"{_REFERENCE}.cache:ResultCache.get"
    chain_name: str = "ranking_chain"

    def __post_init__(self) -> None:
        parse_target(self.entry_point)
        for name, target in self.components.items():
            if not isinstance(name, str) or not name:
                msg = f"component name {name!r} is not valid; expected a non-empty string"
                raise ValueError(msg)
            parse_target(target)
        for target in (self.ensemble, self.chain, self.cache):
            if target is not None:
                parse_target(target)
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RecommenderTargets:
        """The reference recommender's targets, overridden by the ``HERITAGE_OTEL_RECOMMENDER_*`` variables."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        if env.get(ENV_ENTRY, "").strip():
            kwargs["entry_point"] = env[ENV_ENTRY].strip()
        if ENV_COMPONENTS in env:
            components = {}
            for pair in filter(None, (p.strip() for p in env[ENV_COMPONENTS].split(","))):
                name, sep, target = pair.partition("=")
                if not sep:
                    msg = f"{ENV_COMPONENTS} entry {pair!r} is not valid; expected name=module:Class.method"
                    raise ValueError(msg)
                components[name.strip()] = target.strip()
            kwargs["components"] = components
        for var, key in ((ENV_ENSEMBLE, "ensemble"), (ENV_CHAIN, "chain"), (ENV_CACHE, "cache")):
            if var in env:
                kwargs[key] = env[var].strip() or None
        return cls(**kwargs)  # type: ignore[arg-type]
