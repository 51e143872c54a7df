"""The ``heritage-otel`` command line (click).

>>> from click.testing import CliRunner
>>> from heritage_otel.cli.main import cli
>>> "analyzer" in CliRunner().invoke(cli, ["--help"]).output
True
"""
