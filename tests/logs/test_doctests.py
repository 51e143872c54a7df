"""The runnable examples in the heritage_otel.logs docstrings run and pass."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "heritage_otel.logs.hashing",
    "heritage_otel.logs.json_formatter",
    "heritage_otel.logs.bridge",
    "heritage_otel.logs.query_logger",
    "heritage_otel.logs.system_logger",
    "heritage_otel.logs.performance_logger",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    """Every example in the module's docstrings passes (and there is at least one)."""
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
