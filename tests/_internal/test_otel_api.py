"""The shim over the OpenTelemetry API's private internals: pinned to the API releases it was read in."""

from __future__ import annotations

import ast

from heritage_otel._internal import otel_api
from tests.helpers import REPO_ROOT

SHIM = REPO_ROOT / "heritage_otel" / "_internal" / "otel_api.py"
_PRIVATE_GLOBALS = frozenset({"_TRACER_PROVIDER", "_METER_PROVIDER", "_LOGGER_PROVIDER"})


def test_the_installed_api_is_a_release_the_shim_was_verified_against() -> None:
    """A new opentelemetry-api release fails here, by name, until the private names are checked again."""
    assert otel_api.version_verified(), (
        f"opentelemetry-api {otel_api.api_version()} is not a release heritage_otel/_internal/otel_api.py was "
        f"verified against ({', '.join(otel_api.VERIFIED_API_VERSIONS)}): check that the private names it reads "
        "still exist and mean the same (the API's global providers and proxy classes), then add the release to "
        "VERIFIED_API_VERSIONS")


def test_every_private_name_the_shim_reads_exists() -> None:
    assert otel_api.problems() == [], (
        f"opentelemetry-api {otel_api.api_version()} lacks {otel_api.problems()}: heritage_otel/_internal/"
        "otel_api.py must be updated (it now answers through the public API only)")


def test_the_shim_tells_an_unset_global_from_a_set_one(telemetry) -> None:
    """With the pytest plugin's pipeline installed a global provider is set: the fast answer is False."""
    assert otel_api.globals_never_set() is False


def test_no_other_module_reads_opentelemetry_internals() -> None:
    """Only the shim imports an OpenTelemetry API ``_internal`` module or reads a private global of the API."""
    offenders = []
    for path in sorted((REPO_ROOT / "heritage_otel").rglob("*.py")):
        if path == SHIM:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                names = [node.attr] if isinstance(node, ast.Attribute) and node.attr in _PRIVATE_GLOBALS else []
            bad = [n for n in names if n in _PRIVATE_GLOBALS or (
                n.startswith("opentelemetry") and not n.startswith("opentelemetry.sdk") and "._internal" in n)]
            offenders += [f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {n}" for n in bad]
    assert offenders == []
