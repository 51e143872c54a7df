"""The resource budget: the documented ceiling is the one the code computes, and it stays under 1 GiB."""

from __future__ import annotations

import re
from pathlib import Path

from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.service.budget import CEILING_ROWS, ceiling
from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.core import AnalyzerService

_DOC = Path(__file__).parents[2] / "docs" / "fleet-mode.md"


def _service_analyzer_config() -> AnalyzerConfig:
    service = AnalyzerService(ServiceConfig(), start_background=False)
    try:
        return service.analyzer.config
    finally:
        service.close()


def test_the_documented_table_is_the_computed_ceiling_at_the_defaults_and_at_most_1_gib():
    """docs/fleet-mode.md lists each structure with its bound and worst case as ceiling() computes them."""
    rows = ceiling(ServiceConfig(), _service_analyzer_config())
    text = _doc_table()
    for name, how in CEILING_ROWS.items():
        assert f"| `{name}` | {how} | {rows[name] / 2**20:.1f} |" in text, name
    total = sum(rows.values())
    assert f"| **total** | | **{total / 2**20:.1f}** |" in text
    assert total <= 1 << 30


def test_every_budget_setting_is_in_the_ceiling():
    """Raising a budget setting raises the ceiling (no setting is left out of the sum)."""
    base = sum(ceiling(ServiceConfig(), AnalyzerConfig()).values())
    for name in ("max_series", "max_series_key_bytes", "max_bucket_cells", "max_histogram_buckets",
                 "max_delta_windows", "max_bucket_layouts", "max_services", "max_component_bytes",
                 "query_store_bytes", "max_buffered_bytes", "max_concurrent_ingest", "max_request_items"):
        bigger = ServiceConfig(**{name: 2 * getattr(ServiceConfig(), name)})
        assert sum(ceiling(bigger, AnalyzerConfig()).values()) > base, name


def _doc_table() -> str:
    text = _DOC.read_text(encoding="utf-8")
    start = text.index("| Structure | Bound | Worst case at the defaults (MiB) |")
    return text[start:text.index("\n\n", start)]


def test_the_table_has_one_row_per_structure():
    """No row in the docs table that the code does not bound, none missing."""
    names = re.findall(r"^\| `(\w+)` \|", _doc_table(), flags=re.M)
    assert names == list(CEILING_ROWS)
