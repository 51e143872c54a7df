"""`heritage-otel example`: the fallback chain through a failure, printed as a span tree."""

from __future__ import annotations

from click.testing import CliRunner

from heritage_otel.cli.main import cli


def test_example_prints_the_fallback_span_tree():
    """The primary fails, the fallback answers, and the tree shows both attempts."""
    result = CliRunner().invoke(cli, ["example", "--query", "temple architecture"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "answered by fallback_horn" in result.output
    lines = result.output.splitlines()
    chain = next(i for i, line in enumerate(lines) if "heritage.fallback_chain" in line)
    attempts = [line for line in lines[chain:] if "heritage.fallback.attempt" in line]
    assert len(attempts) == 2
    assert "ERROR" in attempts[0] and "strategy=primary_simrank" in attempts[0]
    assert "outcome=success" in attempts[1] and "strategy=fallback_horn" in attempts[1]
    assert "event heritage.fallback.used" in result.output
