"""The runnable examples in the analysis docstrings (and the facade's) keep running."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "heritage_otel.analysis.samples",
    "heritage_otel.analysis.detectors",
    "heritage_otel.analysis.drift",
    "heritage_otel.analysis.thresholds",
    "heritage_otel.analysis.indicators",
    "heritage_otel.analysis.config",
    "heritage_otel.analysis.windows",
    "heritage_otel.analysis.findings",
    "heritage_otel.analysis.analyzer",
    "heritage_otel.analysis.alerts",
    "heritage_otel.analysis.health",
    "heritage_otel.analysis.exporter",
    "heritage_otel.analysis.sinks.worker",
    "heritage_otel.analysis.sinks.jsonl",
    "heritage_otel.monitoring",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, tmp_path, monkeypatch) -> None:
    """Every example in the module's docstrings passes."""
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
