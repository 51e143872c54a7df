"""Every runnable example in the package's docstrings keeps running (one test per module that has examples),
and every public module has at least one."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import heritage_otel
from heritage_otel.telemetry import current

ALL_MODULES = sorted(
    ["heritage_otel"] + [info.name for info in pkgutil.walk_packages(heritage_otel.__path__, prefix="heritage_otel.")
                         if ".static" not in info.name]
)


def examples_in(name: str) -> int:
    """How many runnable examples the docstrings of module ``name`` hold."""
    module = importlib.import_module(name)
    return sum(len(test.examples) for test in doctest.DocTestFinder().find(module))


def is_public(name: str) -> bool:
    """No part of the dotted name is private (``_internal``, ``_wrappers``, ...)."""
    return not any(part.startswith("_") for part in name.split("."))


MODULES = [name for name in ALL_MODULES if examples_in(name)]


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
    assert result.attempted > 0, f"{name} has no example to run"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_every_public_module_has_a_runnable_example() -> None:
    """A public module without an example is a gap in the documentation, not a passing doctest."""
    assert [name for name in ALL_MODULES if is_public(name) and name not in MODULES] == []
