"""The docstring examples of heritage_otel.traces and heritage_otel.stack run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "heritage_otel.traces",
    "heritage_otel.traces.durations",
    "heritage_otel.traces.jaeger",
    "heritage_otel.traces.model",
    "heritage_otel.traces.otlp_json",
    "heritage_otel.traces.query",
    "heritage_otel.traces.render",
    "heritage_otel.stack",
    "heritage_otel.stack.components",
    "heritage_otel.stack.health",
    "heritage_otel.stack.paths",
    "heritage_otel.stack.ports",
    "heritage_otel.stack.process",
    "heritage_otel.stack.stack",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0
