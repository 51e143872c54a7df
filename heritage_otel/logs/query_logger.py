"""QueryLogger: one trace-correlated record per recommendation query.

:meth:`QueryLogger.log_query` adds a ``heritage.query`` event to the current
span, emits one OpenTelemetry log record (logger ``heritage_otel.queries``,
INFO, or ERROR for a failed query) with the same attributes, and, with a log
directory, appends a JSON line to ``queries.log``.

The query text is exported as its digest (``heritage.query.hash``) and
length; the raw text (``heritage.query.text``) only when capture is enabled
(``capture_query_text=True`` or ``HERITAGE_OTEL_CAPTURE_QUERY_TEXT=true``).

>>> from heritage_otel.testing import capture_telemetry
>>> from opentelemetry import trace
>>> with capture_telemetry() as captured:
...     with trace.get_tracer("doc").start_as_current_span("recommend"):
...         QueryLogger().log_query("q1", "roman coins", [{"doc_id": "d7", "score": 0.8}], 42.0, ["simrank"])
...     record = captured.logs()[0].log_record
>>> record.body, record.attributes["heritage.query.id"], record.attributes["heritage.result.count"]
('query processed', 'q1', 1)
>>> "heritage.query.text" in record.attributes
False
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry._logs import LoggerProvider, SeverityNumber

from heritage_otel import semconv
from heritage_otel.errors import exception_message_for_export
from heritage_otel.logs._emit import Emitter
from heritage_otel.hashing import capture_query_text_enabled, hash_query_text
from heritage_otel.results import ID_NAMES, DocumentReader, document_ids, result_count

__all__ = ["QueryLogger"]

_logger = logging.getLogger(__name__)

#: Name of the OpenTelemetry logger (instrumentation scope) and of the file logger field.
LOGGER_NAME = f"{semconv.INSTRUMENTATION_SCOPE}.queries"
FILE_NAME = "queries.log"


def _result_ids(results: Any, id_names: tuple[str, ...], limit: int, reader: DocumentReader | None) -> list[str]:
    """The ids of the first ``limit`` results, read as :func:`heritage_otel.results.documents` reads them."""
    if reader is None and type(results) is list and results and type(results[0]) is dict:
        key = id_names[0]  # the common case, a list of dicts with ids, in one pass
        try:
            ids = [str(item[key]) for item in results[:limit]]
        except Exception:  # noqa: BLE001 - another shape: read item by item below
            pass
        else:
            if "None" not in ids:  # an id of None is no id: the reading below skips it
                return ids
    return document_ids(results, limit, reader, id_names)


class QueryLogger:
    """Logs recommendation queries as span events, OTel log records and (optionally) JSON lines.

    ``log_dir`` (default: ``HERITAGE_OTEL_LOG_DIR``; else ``./logs`` while no
    OpenTelemetry SDK is configured, as the seed did; else no file) is where
    ``queries.log`` goes. A result's document id is read as the instrumentor
    reads it (:mod:`heritage_otel.results`): its ``id_field`` key or
    attribute first (then ``doc_id``, ``id``, ``document_id``), the first item
    of an ``(id, score)`` pair, a bare id, or what ``document_reader(item)``
    returns; the first ``max_result_ids`` ids are recorded. ``logger_provider``
    defaults to the global one.
    """

    def __init__(
        self,
        *,
        log_dir: str | os.PathLike[str] | None = None,
        capture_query_text: bool | None = None,
        id_field: str = "doc_id",
        max_result_ids: int = 10,
        logger_provider: LoggerProvider | None = None,
        document_reader: DocumentReader | None = None,
    ) -> None:
        if not isinstance(max_result_ids, int) or isinstance(max_result_ids, bool) or max_result_ids < 0:
            msg = f"max_result_ids = {max_result_ids!r} is not valid; expected an integer >= 0"
            raise ValueError(msg)
        self.capture_query_text = capture_query_text
        self.id_field = id_field
        self._id_names = tuple(dict.fromkeys((id_field, *ID_NAMES)))
        self.document_reader = document_reader
        self.max_result_ids = max_result_ids
        self._emitter = Emitter(LOGGER_NAME, FILE_NAME, log_dir, logger_provider)

    @property
    def log_file(self) -> os.PathLike[str] | None:
        """Path of ``queries.log``, or None when no log directory is configured."""
        return self._emitter.file_path

    def log_query(
        self,
        query_id: str,
        query_text: str | None,
        results: Sequence[Any] | None,
        latency_ms: float,
        components_used: Iterable[str],
        success: bool = True,
        error: BaseException | str | None = None,
        *,
        query_hash: str | None = None,
    ) -> None:
        """Record one query. Never raises (a failure is logged once and dropped).

        ``query_hash``: the digest of ``query_text`` when the caller already
        computed it with :func:`~heritage_otel.logs.hash_query_text`.
        """
        try:
            self._log_query(query_id, query_text, results, latency_ms, components_used, success, error, query_hash)
        except Exception:  # noqa: BLE001 - logging never raises into the caller
            _logger.warning("QueryLogger could not log query %r; dropped", query_id, exc_info=True)

    def _log_query(
        self,
        query_id: str,
        query_text: str | None,
        results: Sequence[Any] | None,
        latency_ms: float,
        components_used: Iterable[str],
        success: bool,
        error: BaseException | str | None,
        query_hash: str | None,
    ) -> None:
        text = query_text if query_text is None or type(query_text) is str else str(query_text)
        capture = self.capture_query_text if self.capture_query_text is not None else capture_query_text_enabled()
        if query_hash is None and text is not None:
            query_hash = hash_query_text(text)
        raw_text = text if capture else None
        count = 0 if results is None else result_count(results)  # None: not known without consuming them
        ids = _result_ids(results, self._id_names, self.max_result_ids, self.document_reader)
        components = tuple(map(str, components_used)) if components_used else ()
        latency = float(latency_ms)
        succeeded = error is None and bool(success)
        # attribute values as OpenTelemetry takes them (no None, homogeneous tuples): used as they are
        attributes: dict[str, Any] = {
            semconv.QUERY_ID: query_id if type(query_id) is str else str(query_id),
            semconv.RESULT_IDS: tuple(ids),
            semconv.LATENCY_MS: latency,
            semconv.COMPONENTS_USED: components,
            semconv.SUCCESS: succeeded,
        }
        if query_hash is not None:
            attributes[semconv.QUERY_HASH] = query_hash
        if text is not None:
            attributes[semconv.QUERY_LENGTH] = len(text)
            if raw_text is not None:
                attributes[semconv.QUERY_TEXT] = raw_text
        if count is not None:
            attributes[semconv.RESULT_COUNT] = count
            attributes[semconv.RESULT_EMPTY] = count == 0
        error_type = error_message = None
        if error is not None:
            error_type = type(error).__qualname__ if isinstance(error, BaseException) else "_OTHER"
            error_message = exception_message_for_export(error, capture)
            attributes[semconv.ERROR_TYPE] = error_type
            attributes[semconv.EXCEPTION_MESSAGE] = error_message
            if isinstance(error, BaseException):
                attributes[semconv.EXCEPTION_TYPE] = error_type
        file_fields = None if not self._emitter.writes_file else {
            "query_id": str(query_id),
            "query_hash": query_hash,
            "query_text": raw_text,
            "query_length": len(text) if text is not None else None,
            "num_results": count,
            "result_ids": ids,
            "latency_ms": latency,
            "components_used": list(components),
            "success": succeeded,
            "error_type": error_type,
            "error": error_message,
        }
        self._emitter.emit(
            event_name=semconv.EVENT_QUERY,
            message="query processed" if succeeded else "query failed",
            severity=SeverityNumber.INFO if succeeded else SeverityNumber.ERROR,
            attributes=attributes,
            file_fields=file_fields,
            # the SDK would export the raw message and trace: only when query capture is on
            exception=error if isinstance(error, BaseException) and capture else None,
            typed=True,
        )

    def close(self) -> None:
        """Close ``queries.log`` (it is reopened on the next query)."""
        self._emitter.close()
