"""`python -m heritage_otel.examples.recommender`: a plain app to auto-instrument."""

from __future__ import annotations

from heritage_otel.examples.recommender.__main__ import main


def test_prints_one_line_per_query_even_with_a_failing_component(capsys) -> None:
    """Three queries with simrank failing: three answered queries (the fallback chain at work)."""
    main(["--queries", "3", "--top-k", "4", "--fail", "simrank"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert all(" 4 results " in line and line.startswith("q") for line in lines)
