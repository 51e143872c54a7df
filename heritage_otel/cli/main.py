"""Entry point of the ``heritage-otel`` command.

Sub-commands live in their own modules and are imported only when used, so
``heritage-otel --help`` stays fast and one broken sub-command cannot take the
others down.

>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(cli, ["--version"])
>>> result.exit_code, "heritage-otel" in result.output
(0, True)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

try:
    import click
except ImportError:  # installed without the service extra
    sys.exit("the heritage-otel command needs the service extra: pip install 'heritage-otel[service]' (or '[all]')")

from heritage_otel.version import __version__

#: command name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "demo": "heritage_otel.cli.demo:demo",
    "stack": "heritage_otel.cli.stack:stack",
    "traces": "heritage_otel.cli.traces:traces",
    "analyzer": "heritage_otel.cli.analyzer:analyzer",
    "example": "heritage_otel.cli.example:example",
    "env": "heritage_otel.cli.env:env",
    "slo": "heritage_otel.cli.slo:slo",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        available = [
            name for name, target in COMMANDS.items()
            if importlib.util.find_spec(target.partition(":")[0]) is not None
        ]
        return sorted(set(super().list_commands(ctx)) | set(available))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        if importlib.util.find_spec(module_name) is None:
            return None
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=_LazyGroup, epilog="Environment variables (HERITAGE_OTEL_*): heritage-otel env.")
@click.version_option(__version__, prog_name="heritage-otel")
def cli() -> None:
    """OpenTelemetry-native telemetry for the Heritage Document Recommender."""


def main() -> None:
    """Console-script entry point."""
    cli()
