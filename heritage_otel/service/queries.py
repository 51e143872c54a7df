"""The recent-query store: query-log records arriving as OTLP logs, the newest ``size`` kept, in ``max_bytes``.

A record is a query log when its event name (the OTLP ``event_name`` field,
or the ``event.name`` attribute of older SDKs) is ``heritage.query`` and it
carries a query id. Query text is never stored (only the hash the logger
sent, if any). The receiver's limits apply (see
:mod:`heritage_otel.service.limits`): a record with too many attributes or a
time outside the plausible window is rejected, long values are cut, and the
store evicts its oldest records to stay within ``max_bytes``.

>>> store = RecentQueryStore(size=2)
>>> for i in range(3):
...     store.add(QueryRecord(query_id=f"q{i}", time_s=float(i), results=5, latency_ms=12.0))
>>> [q.query_id for q in store.recent()]
['q2', 'q1']
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from heritage_otel import semconv
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.convert import attributes_of
from heritage_otel.service.limits import DropCounters, bounded_attributes, plausible_time_ns

__all__ = ["QueryRecord", "RecentQueryStore", "query_records"]

_EVENT_NAME_ATTRIBUTE = "event.name"
_RESOURCE_KEYS: Final = frozenset({semconv.SERVICE_NAME, semconv.SERVICE_INSTANCE_ID, semconv.HOST_NAME,
                                    semconv.PROCESS_PID})
#: Bytes a record costs beyond its strings (object, tuple, floats), an estimate for the byte budget.
_RECORD_OVERHEAD: Final = 400


@dataclass(frozen=True)
class QueryRecord:
    """One logged query, as the API serves it."""

    query_id: str
    time_s: float
    results: int | None = None
    latency_ms: float | None = None
    components: tuple[str, ...] = ()
    success: bool | None = None
    trace_id: str | None = None
    span_id: str | None = None
    service: str | None = None
    instance: str | None = None
    query_hash: str | None = None
    error_type: str | None = None
    host: str | None = None  # the instance's host.name and process.pid, when its resource says
    pid: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["components"] = list(self.components)
        return out

    def size_bytes(self) -> int:
        """An estimate of the memory this record holds (its strings plus a fixed overhead)."""
        strings = 0
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                strings += len(value)
            elif isinstance(value, tuple):
                strings += sum(len(v) + 50 for v in value)
        return _RECORD_OVERHEAD + strings


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _int(value: Any) -> int | None:
    f = _float(value)
    return int(f) if f is not None else None


def _components(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)[:32]
    if isinstance(value, str) and value:
        return tuple(v.strip() for v in value.split(",") if v.strip())[:32]
    return ()


def _record(log: Any, when: int, attrs: Mapping[str, Any], resource: Mapping[str, Any]) -> QueryRecord:
    success = attrs.get(semconv.SUCCESS)
    return QueryRecord(
        query_id=str(attrs[semconv.QUERY_ID])[:200],
        time_s=when / 1e9,
        results=_int(attrs.get(semconv.RESULT_COUNT)),
        latency_ms=_float(attrs.get(semconv.LATENCY_MS)),
        components=_components(attrs.get(semconv.COMPONENTS_USED)),
        success=success if isinstance(success, bool) else None,
        trace_id=log.trace_id.hex() if any(log.trace_id) else None,
        span_id=log.span_id.hex() if any(log.span_id) else None,
        service=str(resource.get(semconv.SERVICE_NAME, "")) or None,
        instance=str(resource.get(semconv.SERVICE_INSTANCE_ID, "")) or None,
        query_hash=str(attrs[semconv.QUERY_HASH]) if attrs.get(semconv.QUERY_HASH) else None,
        error_type=str(attrs[semconv.ERROR_TYPE]) if attrs.get(semconv.ERROR_TYPE) else None,
        host=str(resource.get(semconv.HOST_NAME, "")) or None,
        pid=_int(resource.get(semconv.PROCESS_PID)),
    )


def query_records(
    request: ExportLogsServiceRequest, *, limits: ServiceConfig | None = None, drops: DropCounters | None = None,
    now_ns: int | None = None,
) -> tuple[list[QueryRecord], int, int]:
    """Query records in a logs request; also the number of log records seen and of query logs rejected
    (no query id, too many attributes, or a time outside the plausible window; the last two counted in ``drops``)."""
    cfg = limits or ServiceConfig()
    drops = drops or DropCounters()
    now_ns = time.time_ns() if now_ns is None else now_ns
    found: list[QueryRecord] = []
    seen = rejected = 0

    def bounded(kvs: Any) -> dict[str, Any] | None:
        if len(kvs) > cfg.max_attributes_per_point:  # before decoding all of them
            drops.add("attributes_per_point")
            return None
        return bounded_attributes(attributes_of(kvs), max_count=cfg.max_attributes_per_point,
                                  max_value_length=cfg.max_attribute_value_length, counters=drops)

    for rl in request.resource_logs:
        resource = {k: str(v)[: cfg.max_attribute_value_length]
                    for k, v in attributes_of(kv for kv in rl.resource.attributes if kv.key in _RESOURCE_KEYS).items()}
        for sl in rl.scope_logs:
            for log in sl.log_records:
                seen += 1
                attrs = bounded(log.attributes)
                name = log.event_name or (attrs or {}).get(_EVENT_NAME_ATTRIBUTE)
                if name != semconv.EVENT_QUERY and (attrs is not None or log.event_name):
                    continue
                when = log.time_unix_nano or log.observed_time_unix_nano or now_ns
                if attrs is not None and not plausible_time_ns(
                        when, now_ns=now_ns, max_future_s=cfg.max_future_s, max_age_s=cfg.max_age_s):
                    drops.add("timestamps")
                    attrs = None
                if attrs is None or not attrs.get(semconv.QUERY_ID):
                    rejected += 1
                    continue
                found.append(_record(log, when, attrs, resource))
    return found, seen, rejected


class RecentQueryStore:
    """The newest ``size`` query records within ``max_bytes`` (estimated; oldest evicted). Thread-safe.

    Evictions forced by the byte budget (before ``size`` is reached) are counted in ``drops``
    under ``query_store_evictions``.
    """

    def __init__(self, size: int = 1000, max_bytes: int = 8 << 20, drops: DropCounters | None = None) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.drops = drops or DropCounters()
        self._items: deque[tuple[QueryRecord, int]] = deque()
        self._lock = threading.Lock()
        self.total = 0
        self.bytes = 0

    def add(self, record: QueryRecord) -> None:
        cost = record.size_bytes()
        evicted_for_bytes = 0
        with self._lock:
            self._items.append((record, cost))
            self.bytes += cost
            self.total += 1
            while len(self._items) > self.size or (self.bytes > self.max_bytes and self._items):
                if len(self._items) <= self.size:
                    evicted_for_bytes += 1
                _, old = self._items.popleft()
                self.bytes -= old
        if evicted_for_bytes:
            self.drops.add("query_store_evictions", evicted_for_bytes)

    def extend(self, records: Iterable[QueryRecord]) -> None:
        for r in records:
            self.add(r)

    def recent(self, limit: int | None = None) -> list[QueryRecord]:
        """Newest first (by arrival), at most ``limit``."""
        with self._lock:
            items = [record for record, _ in self._items]
        items.reverse()
        return items if limit is None else items[:limit]

    def __len__(self) -> int:
        return len(self._items)
