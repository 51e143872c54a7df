"""docs/testing.md: its example test module runs, as written, in a foreign suite with no conftest."""

from __future__ import annotations

import re
from pathlib import Path

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_the_documented_test_module_passes(pytester) -> None:
    """The first python block of docs/testing.md is a passing test module."""
    (example,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[:1]
    pytester.makepyfile(test_docs_example=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
