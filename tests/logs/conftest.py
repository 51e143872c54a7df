"""Fixtures for the logging tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_query_text_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Start every test from the defaults: no opt-in, no salt, no log directory; run in a fresh directory
    (without an SDK the loggers write the seed's ./logs)."""
    for name in ("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "HERITAGE_OTEL_QUERY_HASH_SALT", "HERITAGE_OTEL_LOG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSON-lines file, parsed (each must be one JSON object)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def hex_ids(span: Any) -> tuple[str, str]:
    """(trace_id, span_id) of a span as the hex strings the JSON lines carry."""
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"
