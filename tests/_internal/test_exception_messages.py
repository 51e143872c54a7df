"""HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES: exception messages exported with secrets and the query masked.

Run as an operator would: an instrumented application (a subprocess with the
setting in its environment) writes its spans to an OTLP JSON file, and
``heritage-otel traces --file --json`` prints them (every attribute, untruncated).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from heritage_otel.cli.main import cli
from heritage_otel.hashing import hash_query_text

QUERY = "bronze age hoards"
SECRET = "hunter2"

_APP = '''
import sys
from heritage_otel import configure
from heritage_otel.instrumentation import RecommenderInstrumentor, RecommenderTargets


class Shop:
    def find(self, text, limit=5):
        message = f"no document matches {text!r}; index at https://bob:hunter2@db.example/idx"
        raise LookupError(message)  # the traceback shows this line, not the one above


telemetry = configure(service_name="exc-test", otlp_json_path=sys.argv[1], simple_processors=True)
RecommenderInstrumentor().instrument(targets=RecommenderTargets(entry_point=Shop.find))
try:
    Shop().find("bronze age hoards")
except LookupError:
    pass
telemetry.shutdown()
'''


def _run_app(tmp_path: Path, **env: str) -> str:
    """Run the application with ``env`` added; the spans it exported, as `heritage-otel traces --file` prints them."""
    script = tmp_path / "app.py"
    script.write_text(_APP)
    spans = tmp_path / "spans.otlp.jsonl"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HERITAGE_OTEL_", "OTEL_"))}
    subprocess.run([sys.executable, str(script), str(spans)], env={**clean, **env}, check=True, timeout=60,
                   cwd=tmp_path)
    result = CliRunner().invoke(cli, ["traces", "--file", str(spans), "--json"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.timeout(120)
def test_messages_are_hidden_by_default(tmp_path: Path) -> None:
    output = _run_app(tmp_path)
    assert "LookupError" in output and "<hidden sha256:" in output
    assert "no document matches" not in output and QUERY not in output and SECRET not in output


@pytest.mark.timeout(120)
def test_the_setting_shows_messages_with_the_query_and_secrets_masked(tmp_path: Path) -> None:
    output = _run_app(tmp_path, HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES="true", HERITAGE_OTEL_QUERY_HASH_SALT="pepper")
    shown = f"no document matches '{hash_query_text(QUERY, salt='pepper')}'; index at https://***@db.example/idx"
    assert output.count(shown) >= 3  # the exception event's message, its stack trace's last line, the span status
    assert QUERY not in output and SECRET not in output and "<hidden" not in output


@pytest.mark.timeout(120)
def test_the_setting_does_not_turn_on_query_text_capture(tmp_path: Path) -> None:
    """The query attribute stays a digest with exception messages on."""
    spans = tmp_path / "spans.otlp.jsonl"
    _run_app(tmp_path, HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES="true")
    text = spans.read_text()
    assert "heritage.query.hash" in text and "heritage.query.text" not in text and QUERY not in text
