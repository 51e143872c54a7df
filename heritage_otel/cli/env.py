"""``heritage-otel env``: every ``HERITAGE_OTEL_*`` environment variable, from the one registry.

The list is :data:`heritage_otel.environment_variables.REGISTRY`; ``--markdown``
prints the table that docs/configuration.md carries (a test keeps the two
equal). Secret variables show only whether they are set, never their value.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(env, ["--markdown"]).output.startswith("| Environment variable |")
True
"""

from __future__ import annotations

import os

import click

from heritage_otel import environment_variables as env_vars


def _state(variable: env_vars.EnvironmentVariable) -> str:
    names = (variable.name, *variable.deprecated_names)
    present = next((n for n in names if os.environ.get(n, "").strip()), None)
    if present is None:
        return "unset"
    shown = "(set)" if variable.secret else repr(os.environ[present].strip())
    return shown + (f" via deprecated {present}" if present != variable.name else "")


@click.command()
@click.option("--markdown", is_flag=True, help="Print the Markdown table of docs/configuration.md instead.")
@click.option("--binary", is_flag=True, help="The variables of the Collector's and Jaeger's configs instead.")
def env(markdown: bool, binary: bool) -> None:
    """List every HERITAGE_OTEL_* environment variable: type, default, meaning, and its value here."""
    if markdown:
        click.echo(env_vars.markdown_table(binary), nl=False)
        return
    for v in env_vars.REGISTRY.values():
        if v.binary != binary:
            continue
        old = f" (deprecated: {', '.join(v.deprecated_names)})" if v.deprecated_names else ""
        click.echo(f"{v.name}{old}\n    {v.meaning}\n    type: {v.type}; default: {v.default}; "
                   f"applies to: {v.area}; now: {_state(v)}")
