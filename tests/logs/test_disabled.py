"""With OTEL_SDK_DISABLED=true the loggers still work: no telemetry, files still written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from heritage_otel import configure
from heritage_otel.logs import PerformanceLogger, QueryLogger, SystemLogger
from tests.logs.conftest import read_json_lines


@pytest.fixture
def disabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    telemetry = configure()
    assert not telemetry.enabled
    try:
        yield
    finally:
        telemetry.shutdown()


def test_loggers_work_with_sdk_disabled(disabled, tmp_path):
    """Every logger call succeeds and the JSON lines (without trace ids) are still written."""
    QueryLogger(log_dir=tmp_path).log_query("q", "some text", [], 3.0, ["bm25"])
    SystemLogger(log_dir=tmp_path).log_component_start("bm25")
    perf = PerformanceLogger(log_dir=tmp_path)
    with perf.time_operation("op"):
        pass
    assert perf.get_last_duration("op") is not None
    for name in ("queries.log", "system.log", "performance.log"):
        (line,) = read_json_lines(tmp_path / name)
        assert "trace_id" not in line
