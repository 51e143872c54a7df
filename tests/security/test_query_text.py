"""Query text is never exported raw unless the user opts in: SDK side (every span attribute, span event,
exception, log record and JSON-lines file) and Collector side (log records through the agent config)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heritage_otel import semconv
from heritage_otel.errors import ValidationError
from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.logs import QueryLogger
from heritage_otel.hashing import hash_query_text
from heritage_otel.validation import InputValidator

#: A word no corpus document contains, so any occurrence in telemetry is the query leaking.
MARKER = "zqxwvyk"


def queries(rec: HeritageRecommender, n: int = 12) -> list[str]:
    return [f"{rec.corpus.queries[i].text} {MARKER}{i}" for i in range(n)]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif value is not None:
        yield str(value)


def exported_strings(telemetry) -> list[str]:
    """Every string the in-memory exporters received: span names, attributes, status, events, logs."""
    out: list[str] = []
    for span in telemetry.spans():
        out.append(span.name)
        out += _strings(dict(span.attributes or {}))
        out += _strings(span.status.description)
        for event in span.events:
            out.append(event.name)
            out += _strings(dict(event.attributes or {}))
    for log in telemetry.logs():
        record = log.log_record
        out += _strings(record.body)
        out += _strings(dict(record.attributes or {}))
    return out


def drive(rec: HeritageRecommender, texts: list[str], tmp_path: Path, *, capture: bool | None) -> None:
    """The paths that see query text: served queries, a failing component (fallbacks), a failing
    chain, a validation failure, and the query logger with a log file."""
    for text in texts[:4]:
        rec.recommend(text, 5)
    rec.faults.fail("simrank")
    for text in texts[4:8]:
        rec.recommend(text, 5)
    rec.faults.fail("horn_index")
    rec.faults.fail("embedding")
    with pytest.raises(Exception):  # noqa: B017 - FallbackExhaustedError: every strategy fails
        rec.recommend(texts[8], 5)
    rec.faults.clear()
    with pytest.raises(ValidationError):
        rec.recommend(texts[9] + " " * 1000, 5)  # over-long
    with pytest.raises(ValidationError):
        InputValidator(capture_query_text=capture).validate_query_text(texts[10] + "x" * 1000)
    logger = QueryLogger(log_dir=tmp_path, capture_query_text=capture)
    logger.log_query("q-1", texts[11], [{"doc_id": "d1", "score": 1.0}], 3.0, ["simrank"])
    logger.close()


def test_no_raw_query_text_in_any_exported_signal_by_default(telemetry, instrumentor, tmp_path,
                                                              monkeypatch) -> None:
    monkeypatch.delenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", raising=False)
    instrumentor.instrument()
    rec = HeritageRecommender(seed=7)
    texts = queries(rec)
    drive(rec, texts, tmp_path, capture=None)

    strings = exported_strings(telemetry)
    assert len(telemetry.spans()) > 40 and telemetry.logs(), "the workload produced telemetry to scan"
    leaks = [s for s in strings if MARKER in s]
    assert leaks == [], f"raw query text exported: {leaks[:5]}"
    file_text = (tmp_path / "queries.log").read_text(encoding="utf-8")
    assert MARKER not in file_text
    # the query is still identifiable, as a digest
    roots = telemetry.find_spans(semconv.SPAN_RECOMMEND)
    assert all(str(s.attributes[semconv.QUERY_HASH]).startswith("sha256:") for s in roots)
    assert all(semconv.QUERY_TEXT not in s.attributes for s in roots)


def test_raw_query_text_is_exported_only_when_opted_in(telemetry, instrumentor, tmp_path) -> None:
    """The same scan finds the text once capture is asked for: the scan above can fail."""
    instrumentor.instrument(capture_query_text=True)
    rec = HeritageRecommender(seed=7)
    texts = queries(rec)
    drive(rec, texts, tmp_path, capture=True)
    strings = exported_strings(telemetry)
    assert any(texts[0] == s for s in strings)
    assert MARKER in (tmp_path / "queries.log").read_text(encoding="utf-8")


def test_collector_agent_hashes_query_text_in_log_records(tmp_path) -> None:
    """An application that opted in sends raw text; the agent config's transform/query_text forwards
    only its digest, the SDK's (log records, as printed by the debug exporter). Spans and span events
    through to Jaeger are covered by tests/e2e/test_pipeline.py."""
    from heritage_otel import configure
    from heritage_otel.stack import Stack, StackPorts
    from heritage_otel.stack.process import log_path
    from tests.helpers import BIN_DIR, REPO_ROOT, free_port, require_binary

    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    from opentelemetry._logs import SeverityNumber

    stack = Stack(tmp_path / "state", ports=StackPorts.free(), repo=REPO_ROOT, extra_env={
        "HERITAGE_OTEL_COLLECTOR_DEBUG_VERBOSITY": "detailed",
        "HERITAGE_OTEL_COLLECTOR_DEBUG_EXPORTER": "debug",
        "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT": "100ms",
        "HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    })
    raw = f"chola temple {MARKER} private"
    stack.start("collector", timeout_s=60)  # Jaeger is not needed: only the logs pipeline is read
    try:
        tel = configure(service_name="security-collector", endpoint=stack.ports.otlp_http_endpoint,
                        set_global=False)
        logger = tel.logger_provider.get_logger("security")
        logger.emit(severity_number=SeverityNumber.INFO, body="query served",
                    attributes={semconv.QUERY_TEXT: raw, semconv.INPUT_VALUE: raw, "marker.id": "sec-1"})
        assert tel.force_flush(10_000)
        tel.shutdown()
        log = log_path("collector", stack.state_dir)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "sec-1" not in log.read_text(errors="replace"):
            time.sleep(0.2)
        text = log.read_text(errors="replace")
    finally:
        stack.stop("collector")
    assert "sec-1" in text, f"the log record never reached the debug exporter:\n{text[-3000:]}"
    assert MARKER not in text
    assert hash_query_text(raw) in text  # the Collector's digest is the SDK's
