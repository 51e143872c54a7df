"""Rewrite the generated tables of docs/configuration.md from heritage_otel.environment_variables."""

from __future__ import annotations

import re
from pathlib import Path

from heritage_otel.environment_variables import markdown_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    for which, binary in (("package", False), ("binary", True)):
        pattern = re.compile(rf"(<!-- BEGIN {which} variables[^\n]*-->\n).*?(<!-- END {which} variables -->)", re.S)
        text, n = pattern.subn(lambda m, b=binary: m.group(1) + markdown_table(b) + m.group(2), text)
        if n != 1:
            msg = f"docs/configuration.md must hold one '{which}' block; found {n}"
            raise SystemExit(msg)
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
