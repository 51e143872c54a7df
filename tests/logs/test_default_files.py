"""Where the three loggers write when nobody names a directory: the seed's ./logs without an SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

_SEED_STEP2 = textwrap.dedent("""
    from heritage_otel.logs import QueryLogger, SystemLogger, PerformanceLogger
    {before}
    query_logger = QueryLogger()
    system_logger = SystemLogger()
    perf_logger = PerformanceLogger()

    with perf_logger.time_operation("simrank_ranking"):
        pass
    query_logger.log_query(query_id="q_1", query_text="temple architecture", results=[{{"doc_id": "d1"}}],
                           latency_ms=12.5, components_used=["simrank"])
    system_logger.log_component_start("simrank")
    print(query_logger.log_file)
""")


def _run(tmp_path: Path, before: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERITAGE_OTEL_", "OTEL_"))}
    return subprocess.run([sys.executable, "-c", _SEED_STEP2.format(before=before)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=True)


def test_without_configure_the_seed_files_appear_under_logs(tmp_path: Path) -> None:
    """A fresh process with no configure() and no HERITAGE_OTEL_LOG_DIR writes logs/*.log as JSON lines."""
    out = _run(tmp_path)
    assert out.stdout.strip() == str(Path("logs") / "queries.log")
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names == ["performance.log", "queries.log", "system.log"]
    (query,) = [json.loads(x) for x in (tmp_path / "logs" / "queries.log").read_text().splitlines()]
    assert query["query_id"] == "q_1" and query["latency_ms"] == 12.5 and query["level"] == "INFO"
    assert "temple architecture" not in (tmp_path / "logs" / "queries.log").read_text()  # hashed by default
    perf = [json.loads(x) for x in (tmp_path / "logs" / "performance.log").read_text().splitlines()]
    assert [p["operation"] for p in perf] == ["simrank_ranking"]
    assert (tmp_path / "logs" / "system.log").read_text().count("\n") == 1


def test_with_configure_records_go_through_the_sdk_and_no_file_is_written(tmp_path: Path) -> None:
    """After configure() the loggers emit OTel log records only (no directory named: no files)."""
    out = _run(tmp_path, before="import heritage_otel; heritage_otel.configure(service_name='x')")
    assert out.stdout.strip() == "None"
    assert not (tmp_path / "logs").exists()


def test_with_configure_and_a_directory_both(tmp_path: Path, telemetry) -> None:
    """With an SDK configured and log_dir named, the record reaches the SDK and the file."""
    from heritage_otel.logs import QueryLogger

    logger = QueryLogger(log_dir=tmp_path / "named")
    logger.log_query("q_2", None, [], 3.0, ["horn_index"])
    assert [r.log_record.attributes["heritage.query.id"] for r in telemetry.logs()] == ["q_2"]
    assert json.loads((tmp_path / "named" / "queries.log").read_text())["query_id"] == "q_2"
