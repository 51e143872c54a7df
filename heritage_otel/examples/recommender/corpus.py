"""A deterministic corpus of heritage documents, generated from a seed.

Every document has a title, a text, a period, a region, a type and links to
other documents (mostly to documents sharing a facet, as a curated archive
would link them). Facet frequencies are skewed (a few popular periods,
regions and types, a long tail), which is what makes a shift in the query
mix visible.

Two judged query sets come with it: ``queries`` (the usual mix, drawn from
the popular facets) and ``drift_queries`` (the long tail, phrased
differently). Each query's graded judgements (0..3) count the facets a
document shares with the query, so quality is measurable.

>>> corpus = build_corpus(seed=7, n_docs=1000)
>>> len(corpus.documents), corpus.documents[0].doc_id
(1000, 'HD-00000')
>>> build_corpus(seed=7, n_docs=1000).documents[5] == corpus.documents[5]
True
>>> q = corpus.queries[0]
>>> max(q.judgements.values())
3
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from types import MappingProxyType
from collections.abc import Mapping

import numpy as np

#: facet -> words a document about it uses (the first word is the facet's own name).
PERIODS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "chola": ("chola", "rajaraja", "bronze", "dravidian", "vimana", "thanjavur", "rajendra"),
    "mughal": ("mughal", "akbar", "shahjahan", "marble", "pietra", "dura", "persianate"),
    "colonial": ("colonial", "company", "railway", "indo", "saracenic", "victorian", "survey"),
    "gupta": ("gupta", "sanskrit", "classical", "udayagiri", "chandragupta", "golden", "kalidasa"),
    "vijayanagara": ("vijayanagara", "hampi", "krishnadevaraya", "tungabhadra", "mandapa", "raya", "bazaar"),
    "maurya": ("maurya", "ashoka", "edict", "pillar", "brahmi", "stupa", "pataliputra"),
    "maratha": ("maratha", "shivaji", "peshwa", "hill", "bastion", "deccan", "ghat"),
    "ahom": ("ahom", "brahmaputra", "buranji", "sivasagar", "rang", "ghar", "tai"),
    "hoysala": ("hoysala", "belur", "halebidu", "soapstone", "lathe", "stellate", "vishnuvardhana"),
    "pallava": ("pallava", "mamallapuram", "rathas", "monolithic", "narasimhavarman", "shore", "kanchi"),
})
REGIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "tamil": ("tamil", "madurai", "kaveri", "coromandel", "nadu", "srirangam"),
    "rajasthan": ("rajasthan", "jaipur", "desert", "rajput", "mewar", "haveli"),
    "bengal": ("bengal", "calcutta", "terracotta", "delta", "hooghly", "bishnupur"),
    "karnataka": ("karnataka", "mysore", "kannada", "malnad", "bijapur", "kodagu"),
    "gujarat": ("gujarat", "patan", "saurashtra", "stepwell", "kutch", "ahmedabad"),
    "kerala": ("kerala", "malabar", "kochi", "backwater", "spice", "travancore"),
    "assam": ("assam", "kamrup", "majuli", "tea", "guwahati", "bihu"),
    "odisha": ("odisha", "puri", "konark", "kalinga", "bhubaneswar", "chilika"),
})
TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "temple": ("temple", "shrine", "gopuram", "sanctum", "deity", "pilgrimage", "worship"),
    "fort": ("fort", "fortress", "rampart", "citadel", "siege", "garrison", "moat"),
    "manuscript": ("manuscript", "palm", "leaf", "folio", "scribe", "colophon", "script"),
    "inscription": ("inscription", "epigraph", "copper", "plate", "grant", "charter", "engraved"),
    "painting": ("painting", "miniature", "mural", "pigment", "fresco", "portrait", "canvas"),
    "textile": ("textile", "weave", "silk", "loom", "brocade", "dye", "cotton"),
    "palace": ("palace", "durbar", "courtyard", "royal", "pavilion", "zenana", "throne"),
    "monastery": ("monastery", "vihara", "monk", "chaitya", "cave", "buddhist", "relic"),
})
GENERIC: tuple[str, ...] = (
    "heritage", "history", "archive", "conservation", "restoration", "architecture", "dynasty",
    "ancient", "culture", "tradition", "artisan", "craft", "museum", "excavation", "survey",
    "record", "ornament", "carving", "facade", "legacy", "collection", "site", "ruins", "ritual",
)
STOPWORDS: frozenset[str] = frozenset({"of", "the", "and", "in", "a", "at", "on", "from", "to", "with", "near"})

_TITLE_FORMS = ("{Type} of {Place}", "The {Place} {Type}", "{Period} {Type} at {Place}", "{Type} near {Place}")


@dataclass(frozen=True)
class Document:
    """One heritage document."""

    doc_id: str
    title: str
    text: str
    period: str
    region: str
    type: str
    links: tuple[str, ...]


@dataclass(frozen=True)
class JudgedQuery:
    """A query with graded relevance judgements (doc_id -> 1..3; unlisted documents are 0)."""

    query_id: str
    text: str
    period: str
    region: str
    type: str
    judgements: Mapping[str, int] = field(repr=False, compare=False)

    @cached_property
    def ideal(self) -> tuple[int, ...]:
        """The ten best grades, best first (the ideal ranking for NDCG@10)."""
        return tuple(sorted(self.judgements.values(), reverse=True)[:10])


@dataclass(frozen=True, eq=False)
class Corpus:
    """Documents plus judged query sets; ``index_of`` maps doc_id to position."""

    seed: int
    documents: tuple[Document, ...]
    queries: tuple[JudgedQuery, ...]
    drift_queries: tuple[JudgedQuery, ...]
    index_of: Mapping[str, int] = field(repr=False)

    def judgements_for(self, text: str) -> Mapping[str, int] | None:
        """Judgements of a known query text (case and spacing ignored), else None."""
        query = self.query_for(text)
        return None if query is None else query.judgements

    def query_for(self, text: str) -> JudgedQuery | None:
        """The judged query with this text (case and spacing ignored), else None."""
        return _judgement_lookup(self).get(normalize_query(text))


def normalize_query(text: str) -> str:
    """Lower-case, single-spaced form of a query (cache and judgement key)."""
    return " ".join(text.lower().split())


def tokenize(text: str) -> list[str]:
    """Lower-case alphanumeric tokens without stop words."""
    out = []
    for raw in text.lower().replace("-", " ").split():
        token = "".join(ch for ch in raw if ch.isalnum())
        if token and token not in STOPWORDS:
            out.append(token)
    return out


def _zipf_weights(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _make_documents(rng: np.random.Generator, n_docs: int) -> list[dict]:
    periods, regions, types = list(PERIODS), list(REGIONS), list(TYPES)
    p_idx = rng.choice(len(periods), size=n_docs, p=_zipf_weights(len(periods), 1.1))
    r_idx = rng.choice(len(regions), size=n_docs, p=_zipf_weights(len(regions), 0.9))
    t_idx = rng.choice(len(types), size=n_docs, p=_zipf_weights(len(types), 0.8))
    docs = []
    for i in range(n_docs):
        period, region, dtype = periods[p_idx[i]], regions[r_idx[i]], types[t_idx[i]]
        words: list[str] = []
        words += list(rng.choice(PERIODS[period], size=int(rng.integers(3, 7))))
        words += list(rng.choice(REGIONS[region], size=int(rng.integers(3, 6))))
        words += list(rng.choice(TYPES[dtype], size=int(rng.integers(4, 8))))
        words += list(rng.choice(GENERIC, size=int(rng.integers(8, 16))))
        if rng.random() < 0.25:  # cross-reference noise: a word of another facet
            other = periods[int(rng.integers(len(periods)))]
            words += list(rng.choice(PERIODS[other], size=2))
        rng.shuffle(words)
        place = str(rng.choice(REGIONS[region][1:])).title()
        form = _TITLE_FORMS[int(rng.integers(len(_TITLE_FORMS)))]
        title = form.format(Type=str(rng.choice(TYPES[dtype][:3])).title(), Place=place, Period=period.title())
        docs.append({"title": title, "text": " ".join(words), "period": period, "region": region, "type": dtype})
    return docs


def _make_links(rng: np.random.Generator, docs: list[dict], out_degree: int) -> list[tuple[int, ...]]:
    by_facet: dict[tuple[str, str], np.ndarray] = {}
    for key in ("period", "region", "type"):
        values = np.array([d[key] for d in docs])
        for value in np.unique(values):
            by_facet[(key, str(value))] = np.flatnonzero(values == value)
    n = len(docs)
    links = []
    for i, doc in enumerate(docs):
        chosen: set[int] = set()
        for _ in range(out_degree):
            roll = rng.random()
            if roll < 0.45:
                pool = by_facet[("period", doc["period"])]
            elif roll < 0.75:
                pool = by_facet[("type", doc["type"])]
            elif roll < 0.9:
                pool = by_facet[("region", doc["region"])]
            else:
                pool = None
            j = int(rng.integers(n)) if pool is None else int(pool[rng.integers(len(pool))])
            if j != i:
                chosen.add(j)
        links.append(tuple(sorted(chosen)))
    return links


def _grade(doc: Document, period: str, region: str, dtype: str) -> int:
    return int(doc.period == period) + int(doc.region == region) + int(doc.type == dtype)


def _make_queries(
    rng: np.random.Generator, documents: tuple[Document, ...], *, tail: bool, count: int, prefix: str
) -> tuple[JudgedQuery, ...]:
    periods, regions, types = list(PERIODS), list(REGIONS), list(TYPES)
    # the usual mix asks about the popular half of each facet; the drifted mix about the tail
    def pick(values: list[str]) -> str:
        half = max(1, len(values) // 2)
        pool = values[half:] if tail else values[:half]
        return pool[int(rng.integers(len(pool)))]

    queries: list[JudgedQuery] = []
    seen: set[str] = set()
    attempts = 0
    while len(queries) < count and attempts < count * 50:
        attempts += 1
        period, region, dtype = pick(periods), pick(regions), pick(types)
        if tail:  # long, synonym-heavy phrasing
            words = [str(rng.choice(PERIODS[period][1:])), str(rng.choice(TYPES[dtype][1:])),
                     str(rng.choice(REGIONS[region][1:])), str(rng.choice(GENERIC)), str(rng.choice(GENERIC))]
        else:  # short, facet-name phrasing
            words = [period, str(rng.choice(TYPES[dtype][:2])), region]
        text = " ".join(words)
        if text in seen:
            continue
        seen.add(text)
        judgements = {d.doc_id: g for d in documents if (g := _grade(d, period, region, dtype)) > 0}
        if not any(g == 3 for g in judgements.values()):
            continue  # keep queries whose ideal answer exists
        queries.append(JudgedQuery(f"{prefix}{len(queries):03d}", text, period, region, dtype,
                                   MappingProxyType(judgements)))
    return tuple(queries)


@lru_cache(maxsize=8)
def build_corpus(seed: int = 7, n_docs: int = 1200, out_degree: int = 6, n_queries: int = 60) -> Corpus:
    """Generate (once per argument set, then cached) the corpus for ``seed``."""
    if n_docs < 10:
        msg = f"n_docs={n_docs!r} is too small; use at least 10 documents"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    raw = _make_documents(rng, n_docs)
    links = _make_links(rng, raw, out_degree)
    ids = [f"HD-{i:05d}" for i in range(n_docs)]
    documents = tuple(
        Document(ids[i], d["title"], d["text"], d["period"], d["region"], d["type"], tuple(ids[j] for j in links[i]))
        for i, d in enumerate(raw)
    )
    queries = _make_queries(rng, documents, tail=False, count=n_queries, prefix="q")
    drift = _make_queries(rng, documents, tail=True, count=n_queries, prefix="d")
    index_of = MappingProxyType({doc_id: i for i, doc_id in enumerate(ids)})
    return Corpus(seed, documents, queries, drift, index_of)


@lru_cache(maxsize=8)
def _judgement_lookup(corpus: Corpus) -> dict[str, JudgedQuery]:
    return {normalize_query(q.text): q for q in (*corpus.queries, *corpus.drift_queries)}
