"""The recent-query store: query-log records arriving as OTLP logs, the newest ``size`` kept.

A record is a query log when its event name (the OTLP ``event_name`` field,
or the ``event.name`` attribute of older SDKs) is ``heritage.query`` and it
carries a query id. Query text is never stored (only the hash the logger
sent, if any).

>>> store = RecentQueryStore(size=2)
>>> for i in range(3):
...     store.add(QueryRecord(query_id=f"q{i}", time_s=float(i), results=5, latency_ms=12.0))
>>> [q.query_id for q in store.recent()]
['q2', 'q1']
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from heritage_otel import semconv
from heritage_otel.service.convert import attributes_of

__all__ = ["QueryRecord", "RecentQueryStore", "query_records"]

_EVENT_NAME_ATTRIBUTE = "event.name"


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

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["components"] = list(self.components)
        return out


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


def _record(log: Any, attrs: Mapping[str, Any], resource: Mapping[str, Any]) -> QueryRecord:
    when = log.time_unix_nano or log.observed_time_unix_nano
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
    )


def query_records(request: ExportLogsServiceRequest) -> tuple[list[QueryRecord], int, int]:
    """Query records in a logs request; also the number of log records seen and of malformed query logs."""
    found: list[QueryRecord] = []
    seen = malformed = 0
    for rl in request.resource_logs:
        resource = attributes_of(rl.resource.attributes)
        for sl in rl.scope_logs:
            for log in sl.log_records:
                seen += 1
                attrs = attributes_of(log.attributes)
                name = log.event_name or attrs.get(_EVENT_NAME_ATTRIBUTE)
                if name != semconv.EVENT_QUERY:
                    continue
                if not attrs.get(semconv.QUERY_ID):
                    malformed += 1
                    continue
                found.append(_record(log, attrs, resource))
    return found, seen, malformed


class RecentQueryStore:
    """The newest ``size`` query records (a bounded deque). Thread-safe."""

    def __init__(self, size: int = 1000) -> None:
        self._items: deque[QueryRecord] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.total = 0

    def add(self, record: QueryRecord) -> None:
        with self._lock:
            self._items.append(record)
            self.total += 1

    def extend(self, records: Iterable[QueryRecord]) -> None:
        for r in records:
            self.add(r)

    def recent(self, limit: int | None = None) -> list[QueryRecord]:
        """Newest first (by arrival), at most ``limit``."""
        with self._lock:
            items = list(self._items)
        items.reverse()
        return items if limit is None else items[:limit]

    def __len__(self) -> int:
        return len(self._items)
