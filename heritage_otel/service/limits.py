"""What one request may make the Analyzer service hold: the checks, and the counters of what they dropped.

The limit *values* are settings of :class:`~heritage_otel.service.config.ServiceConfig`;
this module applies them to decoded OTLP data and counts every drop under a
name from :data:`DROP_COUNTERS` (all of them are served by ``/api/stats``
under ``limits.dropped``, zeros included, so an operator sees what exists).

>>> counters = DropCounters()
>>> kvs = bounded_attributes({"a": "x" * 10, "b": 1}, max_count=8, max_value_length=4, counters=counters)
>>> kvs, counters.snapshot()["attribute_values_truncated"]
({'a': 'xxxx', 'b': 1}, 1)
>>> bounded_attributes({"a": 1, "b": 2}, max_count=1, max_value_length=4, counters=counters) is None
True
>>> plausible_time_ns(2**64 - 1, now_ns=10**18, max_future_s=300, max_age_s=3600)
False
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final


__all__ = [
    "DROP_COUNTERS", "DropCounters", "bounded_attributes", "plausible_time_ns", "cut_resource_attributes",
]

#: Every drop counter, with what it counts (the runbook's "limits" table says the same).
DROP_COUNTERS: Final = {
    "body_too_large": "requests refused (413) because the body on the wire was over max_request_bytes",
    "decompressed_too_large": "requests refused (413) because the body grew past max_request_bytes when decompressed",
    "too_many_items": "requests refused (413) because they held more than max_request_items messages or JSON values",
    "request_timeouts": "requests refused (503, Retry-After) because the body did not arrive within request_timeout_s",
    "header_timeouts": "connections closed because a request's headers did not arrive within header_timeout_s",
    "write_timeouts": "connections closed because the client left our answers unread for write_timeout_s",
    "idle_evicted": "idle connections closed to make room for a new one (max_connections or max_connections_per_client)",
    "connections_refused": "connections closed at once because max_connections (or the client's share) were busy",
    "busiest_client_evicted": "connections of the address holding the most closed to admit another address at max_connections",
    "busy_refused": "requests refused (503) because max_concurrent_requests were in progress",
    "client_busy_refused": "requests refused (503) because their client address had max_requests_per_client in progress",
    "headers_too_large": "requests refused (431) because their request line and headers exceeded max_header_bytes",
    "grpc_refused": "HTTP/2 (OTLP/gRPC) connections told that this port speaks OTLP/HTTP, and closed",
    "buffered_bytes_refused": "requests refused (503) because bodies held by all requests reached max_buffered_bytes",
    "hosts_refused": "requests refused (400) because their Host header is not one this service answers to",
    "malformed_http": "requests refused (400) by the HTTP parser: bad framing (a chunk size of -1, ...), headers too large",
    "framing_refused": "requests refused (400) with both Content-Length and Transfer-Encoding (smuggling)",
    "attributes_per_point": "data points / log records dropped for carrying more than max_attributes_per_point",
    "attribute_values_truncated": "attribute values cut to max_attribute_value_length characters",
    "histogram_buckets": "histogram points dropped for more than max_histogram_buckets buckets",
    "bucket_layouts": "histogram points dropped because max_bucket_layouts distinct bound sets are held",
    "series": "points of new series dropped because max_series series are held",
    "series_per_service": "points of new series dropped because their service holds max_series_per_service",
    "series_per_replica": "points of new series dropped because their replica holds max_series_per_replica",
    "timestamps": "points and query records dropped for a time outside [now - max_age_s, now + max_future_s]",
    "query_store_evictions": "stored query records evicted early to keep the store under query_store_bytes",
    "series_evicted": "series idle for series_idle_s forgotten to admit a new one (not a drop of data)",
    "points_per_series_per_request": "points dropped beyond max_points_per_series_per_request in one request",
    "series_key_bytes": "points dropped because their metric name and attributes exceed max_series_key_bytes",
    "delta_duplicates": "DELTA points dropped because their series already counted that (start, end) window",
    "cumulative_ambiguous": "CUMULATIVE points dropped: two sources of one series share a start time (no instance id)",
    "bucket_cells": "histogram series kept without drift windows because max_bucket_cells buckets are held",
    "component_bytes": "component intervals dropped because max_component_bytes are held within the window",
}


class DropCounters:
    """Thread-safe counts of what the limits dropped, one per name of :data:`DROP_COUNTERS`."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys(DROP_COUNTERS, 0)
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        """Count ``n`` drops under ``name`` (a key of :data:`DROP_COUNTERS`)."""
        if name not in self._counts:
            msg = f"unknown drop counter {name!r}; expected one of {', '.join(DROP_COUNTERS)}"
            raise KeyError(msg)
        with self._lock:
            self._counts[name] += n

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._counts)


def _cut(value: Any, max_len: int) -> tuple[Any, bool]:
    if isinstance(value, str):
        return (value[:max_len], True) if len(value) > max_len else (value, False)
    if isinstance(value, list):
        cut = len(value) > max_len
        items = [_cut(v, max_len) for v in value[:max_len]]
        return [v for v, _ in items], cut or any(c for _, c in items)
    return value, False


def bounded_attributes(
    attributes: Mapping[str, Any], *, max_count: int, max_value_length: int, counters: DropCounters,
) -> dict[str, Any] | None:
    """``attributes`` with long values cut (counted), or None when there are more than ``max_count`` (counted).

    Strings are cut to ``max_value_length`` characters, arrays to that many
    elements (and their strings likewise), keys too; the caller drops the record on None.
    """
    if len(attributes) > max_count:
        counters.add("attributes_per_point")
        return None
    out: dict[str, Any] = {}
    truncated = 0
    for key, value in attributes.items():
        new_key, key_cut = _cut(key, max_value_length)
        new_value, value_cut = _cut(value, max_value_length)
        truncated += key_cut or value_cut
        out[new_key] = new_value
    if truncated:
        counters.add("attribute_values_truncated", truncated)
    return out


def cut_resource_attributes(resources: Iterable[Any], *, max_value_length: int, counters: DropCounters) -> int:
    """Cut (in place) every string attribute of each resource (and its key) to ``max_value_length``; how many.

    Done on the decoded request before anything reads it, so a 1 MiB
    ``service.name`` is never kept, even by a request without data points
    (``resources``: ``request.resource_metrics`` or ``request.resource_logs``).

    >>> from opentelemetry.proto.metrics.v1.metrics_pb2 import ResourceMetrics
    >>> rm = ResourceMetrics(); kv = rm.resource.attributes.add(); kv.key = "service.name"
    >>> kv.value.string_value = "s" * 100
    >>> cut_resource_attributes([rm], max_value_length=16, counters=DropCounters()), len(kv.value.string_value)
    (1, 16)
    """
    cut = 0
    for item in resources:
        for kv in item.resource.attributes:
            if len(kv.key) > max_value_length:
                kv.key = kv.key[:max_value_length]
                cut += 1
            if kv.value.WhichOneof("value") == "string_value" and len(kv.value.string_value) > max_value_length:
                kv.value.string_value = kv.value.string_value[:max_value_length]
                cut += 1
    if cut:
        counters.add("attribute_values_truncated", cut)
    return cut


def plausible_time_ns(time_ns: int, *, now_ns: int, max_future_s: float, max_age_s: float) -> bool:
    """Whether a timestamp lies in ``[now - max_age_s, now + max_future_s]`` (a clock that is merely skewed)."""
    return now_ns - max_age_s * 1e9 <= time_ns <= now_ns + max_future_s * 1e9
