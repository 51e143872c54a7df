"""The settings registry: every HERITAGE_* name is declared once, the docs and the CLI come from it, the
binaries' YAML agrees with it, and old names still work with a deprecation warning."""

from __future__ import annotations

import ast
import re
import warnings

import pytest
from click.testing import CliRunner

from heritage_otel import environment_variables as env_vars
from heritage_otel.cli.main import cli
from tests.helpers import REPO_ROOT

DOC = REPO_ROOT / "docs" / "configuration.md"
_NAME = re.compile(r"HERITAGE_[A-Z0-9_]+")
_YAML_VAR = re.compile(r"\$\{env:(HERITAGE_[A-Z0-9_]+)(?::-([^}]*))?\}")


def _generated(text: str, which: str) -> str:
    begin = text.index(f"<!-- BEGIN {which} variables")
    begin = text.index("\n", begin) + 1
    return text[begin:text.index(f"<!-- END {which} variables -->")]


@pytest.mark.parametrize(("which", "binary"), [("package", False), ("binary", True)])
def test_configuration_doc_tables_are_generated_from_the_registry(which, binary) -> None:
    """docs/configuration.md carries the registry's tables verbatim, as `heritage-otel env --markdown` prints them."""
    assert _generated(DOC.read_text(encoding="utf-8"), which) == env_vars.markdown_table(binary), (
        "docs/configuration.md is stale: run .venv/bin/python scripts/gen_configuration_doc.py")
    printed = CliRunner().invoke(cli, ["env", "--markdown", *(["--binary"] if binary else [])]).output
    assert printed == env_vars.markdown_table(binary)


def test_every_heritage_name_in_the_package_is_declared() -> None:
    """No module spells a HERITAGE_* variable the registry does not declare (a new one must be added there)."""
    declared = set(env_vars.REGISTRY) | {old for v in env_vars.REGISTRY.values() for old in v.deprecated_names}
    undeclared = {}
    for path in (REPO_ROOT / "heritage_otel").rglob("*.py"):
        for name in _NAME.findall(path.read_text(encoding="utf-8")):
            if name not in declared and not name.endswith("_"):  # a prefix in prose, e.g. HERITAGE_OTEL_*
                undeclared.setdefault(name, path.name)
    assert undeclared == {}


def test_literals_live_only_in_the_registry() -> None:
    """A declared name is a string constant in the registry only; code elsewhere imports it (docstring
    examples aside)."""
    offenders = []
    for path in (REPO_ROOT / "heritage_otel").rglob("*.py"):
        if path.name == "environment_variables.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in env_vars.REGISTRY:
                offenders.append(f"{path.relative_to(REPO_ROOT)}: {node.value}")
    assert offenders == []


def test_binary_variables_match_the_yaml_configs() -> None:
    """Every ${env:HERITAGE_...:-default} of collector/ and jaeger/ is declared as a binary variable whose
    default is the configs' (one of them, when tiers differ), and every declared binary variable is used."""
    used: dict[str, set[str]] = {}
    for path in [*(REPO_ROOT / "collector").glob("*.yaml"), *(REPO_ROOT / "jaeger").glob("*.yaml")]:
        for name, default in _YAML_VAR.findall(path.read_text(encoding="utf-8")):
            used.setdefault(name, set()).add(default)
    binary = {n: v for n, v in env_vars.REGISTRY.items() if v.binary}
    # read by the package and by the Collector alike (declared once, as package variables)
    shared = {env_vars.HERITAGE_OTEL_QUERY_HASH_SALT, env_vars.HERITAGE_OTEL_ANALYZER_TOKEN}
    assert set(used) - shared == set(binary)
    used = {n: d for n, d in used.items() if n not in shared}
    mismatched = {n: (sorted(d), binary[n].default) for n, d in used.items()
                  if d - {""} and binary[n].default not in d}  # a tier's config may have its own default
    assert mismatched == {}


def test_old_names_warn_and_new_names_win() -> None:
    """HERITAGE_ALERT_* is read with a DeprecationWarning; the new name, when set, is used without one."""
    new, old = env_vars.HERITAGE_OTEL_ALERT_WEBHOOK_URL, "HERITAGE_ALERT_WEBHOOK_URL"
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated; set {new} instead"):
        assert env_vars.get(new, {old: "http://old"}) == "http://old"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert env_vars.get(new, {old: "http://old", new: "http://new"}) == "http://new"
        assert env_vars.get(new, {}) is None


def test_cli_lists_every_variable_and_never_a_secret_value(monkeypatch) -> None:
    """heritage-otel env lists the package's variables from the registry; a secret shows as (set) only."""
    monkeypatch.setenv(env_vars.HERITAGE_OTEL_ANALYZER_TOKEN, "s3cr3t-token")
    monkeypatch.setenv(env_vars.HERITAGE_OTEL_LOG_DIR, "/var/log/rec")
    result = CliRunner().invoke(cli, ["env"])
    assert result.exit_code == 0, result.output
    listed = re.findall(r"^(HERITAGE_OTEL_[A-Z0-9_]+)", result.output, flags=re.MULTILINE)
    assert listed == [n for n, v in env_vars.REGISTRY.items() if not v.binary]
    assert "s3cr3t-token" not in result.output and "now: (set)" in result.output
    assert "now: '/var/log/rec'" in result.output
    assert "heritage-otel env" in CliRunner().invoke(cli, ["--help"]).output
