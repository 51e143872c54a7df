"""Every silenced linter finding says which rule and why: ``# noqa: CODE - reason`` and
``# type: ignore[code]  # reason`` (ruff's PGH rules require the codes; this test requires the reason)."""

from __future__ import annotations

import io
import re
import tokenize

from tests.helpers import REPO_ROOT

FOLDERS = ("heritage_otel", "tests", "benchmarks", "scripts")
#: Kept byte for byte: the seed-compatibility test (its one ignore passes a bad value on purpose).
KEPT = ("tests/test_monitoring.py",)
NOQA = re.compile(r"#\s*noqa\b(?P<rest>.*)")
NOQA_WITH_REASON = re.compile(r"^:\s*[A-Z]+[0-9]+(\s*,\s*[A-Z]+[0-9]+)*\s+-\s+\S")
TYPE_IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<rest>.*)")
TYPE_IGNORE_WITH_REASON = re.compile(r"^\[[a-z-]+(\s*,\s*[a-z-]+)*\]\s+#\s*\S")


def pragmas_without_reason(source: str) -> list[tuple[int, str]]:
    """(line, comment) of each noqa / type: ignore comment that names no code or gives no reason."""
    bad = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        noqa, ignore = NOQA.search(token.string), TYPE_IGNORE.search(token.string)
        if noqa and not NOQA_WITH_REASON.match(noqa["rest"]):
            bad.append((token.start[0], token.string))
        if ignore and not TYPE_IGNORE_WITH_REASON.match(ignore["rest"]):
            bad.append((token.start[0], token.string))
    return bad


def test_every_noqa_and_type_ignore_names_its_code_and_reason() -> None:
    offenders = [f"{path.relative_to(REPO_ROOT)}:{line}: {comment}"
                 for folder in FOLDERS for path in sorted((REPO_ROOT / folder).rglob("*.py"))
                 if str(path.relative_to(REPO_ROOT)) not in KEPT
                 for line, comment in pragmas_without_reason(path.read_text(encoding="utf-8"))]
    assert offenders == [], "add the reason (# noqa: CODE - why / # type: ignore[code]  # why):\n" + "\n".join(
        offenders)


def test_the_check_tells_a_reason_from_none() -> None:
    source = ("a = 1  # noqa: E501 - a URL\nb = 2  # noqa: E501\nc = 3  # noqa\n"
              "d = f()  # type: ignore[attr-defined]  # set by the plugin\ne = f()  # type: ignore[misc]\n"
              "g = f()  # type: ignore\n")
    assert [line for line, _ in pragmas_without_reason(source)] == [2, 3, 5, 6]
