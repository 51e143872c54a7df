"""QueryLogger: span event, correlated OTel log record and JSON line per query; no raw text by default."""

from __future__ import annotations

import json
import logging
import os

import pytest
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber

from heritage_otel import semconv
from heritage_otel.logs import QueryLogger, hash_query_text
from tests.logs.conftest import hex_ids, read_json_lines

QUERY = "letters of Thomas Cromwell about the dissolution"
RESULTS = [{"doc_id": f"d{i}", "score": 1.0 - i / 20} for i in range(12)]


def _log_in_span(logger: QueryLogger, **overrides):
    args = {
        "query_id": "q-1",
        "query_text": QUERY,
        "results": RESULTS,
        "latency_ms": 87.5,
        "components_used": ["simrank", "embedding"],
    }
    args.update(overrides)
    with trace.get_tracer("test").start_as_current_span("heritage.recommend") as span:
        logger.log_query(**args)
    return span


def _everything_exported(telemetry, log_dir=None) -> str:
    """Every exported event, log record and file line as one text blob."""
    parts = []
    for span in telemetry.spans():
        parts.append(repr(dict(span.attributes or {})))
        parts.extend(repr((e.name, dict(e.attributes or {}))) for e in span.events)
    for record in telemetry.logs():
        parts.append(repr((record.log_record.body, dict(record.log_record.attributes or {}))))
    if log_dir is not None:
        for path in log_dir.iterdir():
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def test_span_event_has_query_attributes(telemetry):
    """The current span gets one heritage.query event with the query's facts."""
    _log_in_span(QueryLogger())
    (event,) = telemetry.span("heritage.recommend").events
    assert event.name == semconv.EVENT_QUERY
    attrs = event.attributes
    assert attrs[semconv.QUERY_ID] == "q-1"
    assert attrs[semconv.QUERY_HASH] == hash_query_text(QUERY)
    assert attrs[semconv.QUERY_LENGTH] == len(QUERY)
    assert attrs[semconv.RESULT_COUNT] == 12
    assert attrs[semconv.RESULT_EMPTY] is False
    assert attrs[semconv.RESULT_IDS] == tuple(f"d{i}" for i in range(10))  # first 10 only
    assert attrs[semconv.LATENCY_MS] == 87.5
    assert attrs[semconv.COMPONENTS_USED] == ("simrank", "embedding")
    assert attrs[semconv.SUCCESS] is True
    assert semconv.QUERY_TEXT not in attrs and semconv.ERROR_TYPE not in attrs


def test_log_record_is_correlated(telemetry):
    """One INFO log record, with the active span's trace and span id and the same attributes."""
    span = _log_in_span(QueryLogger())
    (exported,) = telemetry.logs()
    record = exported.log_record
    context = span.get_span_context()
    assert (record.trace_id, record.span_id) == (context.trace_id, context.span_id)
    assert record.severity_number == SeverityNumber.INFO
    assert record.body == "query processed"
    assert record.event_name == semconv.EVENT_QUERY
    assert record.attributes[semconv.QUERY_ID] == "q-1"
    assert exported.instrumentation_scope.name == "heritage_otel.queries"


def test_failed_query_is_an_error_record(telemetry):
    """An error makes the record ERROR with error.type and exception.* attributes."""
    _log_in_span(QueryLogger(capture_query_text=True), results=[], success=False,
                 error=TimeoutError("simrank took too long"))
    record = telemetry.logs()[0].log_record
    assert record.severity_number == SeverityNumber.ERROR
    assert record.body == "query failed"
    assert record.attributes[semconv.ERROR_TYPE] == "TimeoutError"
    assert record.attributes[semconv.EXCEPTION_MESSAGE] == "simrank took too long"
    assert record.attributes[semconv.EXCEPTION_TYPE] == "TimeoutError"
    event = telemetry.span("heritage.recommend").events[0]
    assert event.attributes[semconv.SUCCESS] is False
    assert event.attributes[semconv.RESULT_EMPTY] is True


def test_error_string_is_accepted(telemetry):
    """A plain error message works too (error.type _OTHER)."""
    _log_in_span(QueryLogger(capture_query_text=True), success=False, error="backend unavailable")
    attrs = telemetry.logs()[0].log_record.attributes
    assert attrs[semconv.ERROR_TYPE] == "_OTHER"
    assert attrs[semconv.EXCEPTION_MESSAGE] == "backend unavailable"


def test_json_line_written_and_correlated(telemetry, tmp_path):
    """queries.log gets one parseable line whose ids match the active span."""
    logger = QueryLogger(log_dir=tmp_path)
    span = _log_in_span(logger)
    logger.close()
    (line,) = read_json_lines(tmp_path / "queries.log")
    assert (line["trace_id"], line["span_id"]) == hex_ids(span)
    assert line["logger"] == "heritage_otel.queries"
    assert line["level"] == "INFO"
    assert line["query_id"] == "q-1"
    assert line["query_hash"] == hash_query_text(QUERY)
    assert line["num_results"] == 12 and line["latency_ms"] == 87.5
    assert line["components_used"] == ["simrank", "embedding"]
    assert "query_text" not in line


def test_log_dir_from_environment(telemetry, tmp_path, monkeypatch):
    """HERITAGE_OTEL_LOG_DIR is used when no directory is given; lines append."""
    monkeypatch.setenv("HERITAGE_OTEL_LOG_DIR", str(tmp_path / "nested" / "logs"))
    logger = QueryLogger()
    _log_in_span(logger, query_id="a")
    _log_in_span(logger, query_id="b")
    logger.close()
    assert [line["query_id"] for line in read_json_lines(tmp_path / "nested" / "logs" / "queries.log")] == ["a", "b"]


def test_no_file_without_log_dir(telemetry, tmp_path, monkeypatch):
    """Without a directory nothing is written anywhere."""
    monkeypatch.chdir(tmp_path)
    logger = QueryLogger()
    _log_in_span(logger)
    assert logger.log_file is None
    assert list(tmp_path.iterdir()) == []


def test_raw_text_absent_everywhere_by_default(telemetry, tmp_path):
    """Not in the event, the log record or the file: only the digest."""
    _log_in_span(QueryLogger(log_dir=tmp_path))
    exported = _everything_exported(telemetry, tmp_path)
    assert "Cromwell" not in exported and "dissolution" not in exported
    assert hash_query_text(QUERY) in exported


@pytest.mark.parametrize("opt_in", ["argument", "environment"])
def test_raw_text_present_when_opted_in(telemetry, tmp_path, monkeypatch, opt_in):
    """Opting in (argument or environment) exports the text beside its digest."""
    if opt_in == "environment":
        monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "true")
        logger = QueryLogger(log_dir=tmp_path)
    else:
        logger = QueryLogger(log_dir=tmp_path, capture_query_text=True)
    _log_in_span(logger)
    logger.close()
    assert telemetry.span("heritage.recommend").events[0].attributes[semconv.QUERY_TEXT] == QUERY
    assert telemetry.logs()[0].log_record.attributes[semconv.QUERY_TEXT] == QUERY
    (line,) = read_json_lines(tmp_path / "queries.log")
    assert line["query_text"] == QUERY and line["query_hash"] == hash_query_text(QUERY)


def test_salt_changes_exported_digest(telemetry, monkeypatch):
    """The salt from HERITAGE_OTEL_QUERY_HASH_SALT is applied to the exported digest."""
    monkeypatch.setenv("HERITAGE_OTEL_QUERY_HASH_SALT", "s3cr3t")
    _log_in_span(QueryLogger())
    digest = telemetry.logs()[0].log_record.attributes[semconv.QUERY_HASH]
    assert digest == hash_query_text(QUERY, salt="s3cr3t") != hash_query_text(QUERY, salt="")
    assert "s3cr3t" not in _everything_exported(telemetry)


def test_read_only_directory_does_not_raise(telemetry, tmp_path, caplog):
    """A directory that cannot be written never raises; the OTel record still goes out."""
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        logger = QueryLogger(log_dir=read_only)
        with caplog.at_level(logging.WARNING, logger="heritage_otel.logs._emit"):
            _log_in_span(logger, query_id="a")
            _log_in_span(logger, query_id="b")
    finally:
        read_only.chmod(0o700)
    assert [r.log_record.attributes[semconv.QUERY_ID] for r in telemetry.logs()] == ["a", "b"]
    if os.geteuid() != 0:  # root writes anyway; the unwritable-path test below covers root
        assert len([r for r in caplog.records if "cannot write log file" in r.getMessage()]) == 1


def test_unwritable_path_warns_once_and_stops(telemetry, tmp_path, caplog):
    """A log directory that cannot exist (a file is in the way) warns once, then file logging stops."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    logger = QueryLogger(log_dir=blocker / "logs")
    with caplog.at_level(logging.WARNING, logger="heritage_otel.logs._emit"):
        for query_id in ("a", "b", "c"):
            _log_in_span(logger, query_id=query_id)
    warnings = [r for r in caplog.records if "cannot write log file" in r.getMessage()]
    assert len(warnings) == 1
    assert len(telemetry.logs()) == 3
    assert len(telemetry.span_exporter.get_finished_spans()) == 3


def test_bad_arguments_never_raise(telemetry, caplog):
    """Garbage in the call is logged as a warning, never raised."""
    with caplog.at_level(logging.WARNING, logger="heritage_otel.logs.query_logger"):
        QueryLogger().log_query("q", "text", object(), "not a number", None)
    assert "could not log query" in caplog.text


def test_works_without_configure_or_span(tmp_path, caplog):
    """No SDK configured and no active span: no warning (log_query swallows failures, so a silent failure
    would show as one), and the JSON line is still written, without trace ids."""
    assert not trace.get_current_span().get_span_context().is_valid
    logger = QueryLogger(log_dir=tmp_path)
    with caplog.at_level(logging.DEBUG, logger="heritage_otel"):
        logger.log_query("q", QUERY, RESULTS, 1.0, ["simrank"])
    logger.close()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    [line] = read_json_lines(tmp_path / "queries.log")
    assert (line["query_id"], line["num_results"], line["components_used"]) == ("q", 12, ["simrank"])
    assert "trace_id" not in line and QUERY not in json.dumps(line)


def test_file_lines_are_strict_json_with_odd_values(telemetry, tmp_path):
    """Non-finite latency and non-mapping results still give one strict JSON line."""
    logger = QueryLogger(log_dir=tmp_path)
    logger.log_query("q", QUERY, ["d1", "d2"], float("inf"), ("bm25",))
    logger.close()
    text = (tmp_path / "queries.log").read_text(encoding="utf-8")
    line = json.loads(text, parse_constant=lambda c: pytest.fail(c))
    assert line["latency_ms"] == "Infinity" and line["num_results"] == 2 and line["result_ids"] == ["d1", "d2"]


class _Hit:
    def __init__(self, book_id: str, relevance: float) -> None:
        self.book_id, self.relevance = book_id, relevance


def test_result_ids_are_read_as_the_instrumentor_reads_documents(telemetry):
    """``id`` keys, (id, score) pairs, bare ids, {id: score} and, through document_reader, any object."""
    QueryLogger().log_query("a", QUERY, [{"id": "x1", "score": 1.0}, ("x2", 0.5), "x3"], 1.0, ())
    QueryLogger().log_query("b", QUERY, {"y1": 0.9, "y2": 0.1}, 1.0, ())
    reader = QueryLogger(document_reader=lambda hit: (hit.book_id, hit.relevance))
    reader.log_query("c", QUERY, [_Hit("z1", 0.3)], 1.0, ())
    QueryLogger(id_field="book").log_query("d", QUERY, [{"book": "w1", "id": "ignored"}], 1.0, ())
    ids = {r.log_record.attributes[semconv.QUERY_ID]: r.log_record.attributes[semconv.RESULT_IDS]
           for r in telemetry.logs()}
    assert ids == {"a": ("x1", "x2", "x3"), "b": ("y1", "y2"), "c": ("z1",), "d": ("w1",)}


def test_bad_configuration_fails_fast(tmp_path):
    """A bad constructor value is refused, naming the setting."""
    with pytest.raises(ValueError, match="max_result_ids"):
        QueryLogger(max_result_ids=-1)
    with pytest.raises(ValueError, match="log_dir"):
        QueryLogger(log_dir=42)  # type: ignore[arg-type]  # a bad value on purpose


def test_result_ids_from_pairs_and_objects(telemetry):
    """Results as (doc_id, score) pairs or objects with a doc_id also give their ids."""
    from types import SimpleNamespace

    logger = QueryLogger(max_result_ids=3)
    logger.log_query("q", QUERY, [("d1", 0.9), ("d2", 0.8)], 1.0, ["bm25"])
    logger.log_query("q", QUERY, [SimpleNamespace(doc_id="d9", score=0.1), 7], 1.0, ["bm25"])
    first, second = (r.log_record.attributes[semconv.RESULT_IDS] for r in telemetry.logs())
    assert first == ("d1", "d2")
    assert second == ("d9", "7")  # a bare id, as the span's retrieval documents read it


def test_bridge_on_root_does_not_duplicate_records(telemetry):
    """Query records go straight to the Logs API, so a stdlib bridge adds no second copy."""
    from heritage_otel.logs import install_logging_bridge, remove_logging_bridge

    handler = install_logging_bridge(level=logging.DEBUG)
    try:
        _log_in_span(QueryLogger())
    finally:
        remove_logging_bridge(handler)
    assert [r.log_record.body for r in telemetry.logs()] == ["query processed"]
