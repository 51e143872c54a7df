"""``heritage-otel slo``: service level objectives (OpenSLO v1 files) checked, and as Prometheus rules.

``heritage-otel slo check FILE...`` reads the documents as ``analyzer serve
--slo`` does and lists the objectives (exit 2 naming the field at fault);
``heritage-otel slo rules FILE... > rules.yaml`` prints Prometheus recording
and alerting rules for them (see :mod:`heritage_otel.service.slo_rules`);
objectives Prometheus cannot express are named on stderr.

>>> from click.testing import CliRunner
>>> from heritage_otel.analysis.slo.files import EXAMPLE_FILE
>>> print(CliRunner().invoke(slo, ["check", str(EXAMPLE_FILE)]).output.splitlines()[0])
availability: recommender, target 0.995 over 28d (Occurrences); page 14.4x/1h, page 6x/6h, ticket 1x/3d
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from heritage_otel.analysis.slo.files import load_objectives
from heritage_otel.service.slo_rules import prometheus_rules


class _Literal(str):
    """A string YAML prints as a block (multi-line PromQL stays readable)."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def _objectives(paths: tuple[Path, ...]) -> list:
    try:
        return load_objectives(paths)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="FILE") from None


@click.group()
def slo() -> None:
    """Service level objectives: OpenSLO v1 files (docs/slo.md)."""


@slo.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Check OpenSLO files or folders and list their objectives."""
    for o in _objectives(paths):
        rules = ", ".join(f"{r.severity} {r.factor:g}x/{r.window}" for r in o.rules)
        click.echo(f"{o.name}: {o.service}, target {o.target:g} over {o.window_s / 86400:g}d ({o.budgeting}); {rules}")


@slo.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def rules(paths: tuple[Path, ...]) -> None:
    """Print Prometheus recording and alerting rules for the objectives of OpenSLO files or folders."""
    out = prometheus_rules(_objectives(paths))
    for reason in out["skipped"]:
        click.echo(f"skipped {reason}", err=True)
    for group in out["groups"]:
        for rule in group["rules"]:
            rule["expr"] = _Literal(rule["expr"])
    click.echo(yaml.dump({"groups": out["groups"]}, Dumper=_Dumper, sort_keys=False, width=200), nl=False)
