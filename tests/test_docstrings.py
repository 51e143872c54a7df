"""Every runnable example in the package's docstrings keeps running (one test per module)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import heritage_otel
from heritage_otel.telemetry import current

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(heritage_otel.__path__, prefix="heritage_otel.")
    if ".static" not in info.name
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, tmp_path, monkeypatch) -> None:
    """The module's doctests pass (run in an empty folder, no pipeline left behind)."""
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    finally:
        active = current()
        if active is not None:
            active.shutdown()
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
