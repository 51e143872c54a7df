"""The docs name the Collector's components as the configs do, and state the minimum Collector version."""

from __future__ import annotations

import re

import yaml

from tests.helpers import REPO_ROOT

CONFIGS = sorted((REPO_ROOT / "collector").glob("*.yaml"))
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions")
#: ``type/name`` as a whole word (not part of a path such as ``scripts/deps/jaeger.sh``)
_COMPONENT_ID = re.compile(r"(?<![\w/.\-])([a-z][a-z0-9_]*)/([a-z][a-z0-9_]*)(?![\w/.\-])")
#: Component types under other spellings (older releases, other distributions): a doc using one is out of date.
_OTHER_SPELLINGS = {"otlphttp", "otlpgrpc", "spanmetrics", "tailsampling", "loadbalancing", "healthcheck",
                    "filestorage", "memorylimiter", "redaction"}
_MINIMUM = re.compile(r"Minimum Collector version: (v\d+\.\d+\.\d+)")


def _component_ids() -> set[str]:
    ids: set[str] = set()
    for path in CONFIGS:
        if path.name == "builder-config.yaml":
            continue
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        for section in _SECTIONS:
            ids.update(config.get(section) or {})
    return ids


def test_every_component_id_the_docs_name_is_in_a_config() -> None:
    """A `type/name` naming a Collector component (``otlphttp/analyzer``) is spelled as in the configs."""
    ids = _component_ids()
    types = {i.split("/", 1)[0] for i in ids} | _OTHER_SPELLINGS
    wrong = sorted({f"{doc.relative_to(REPO_ROOT)}: {m.group(0)}" for doc in DOCS
                    for m in _COMPONENT_ID.finditer(doc.read_text(encoding="utf-8"))
                    if m.group(1) in types and m.group(0) not in ids})
    assert wrong == [], f"component ids the configs do not have: {wrong}"


def test_the_minimum_collector_version_is_stated_in_each_config_and_the_docs() -> None:
    builder = yaml.safe_load((REPO_ROOT / "collector" / "builder-config.yaml").read_text(encoding="utf-8"))
    pinned = "v" + builder["dist"]["version"].split("-")[0]
    for path in [p for p in CONFIGS if p.name != "builder-config.yaml"]:
        head = "\n".join(path.read_text(encoding="utf-8").splitlines()[:12])
        assert _MINIMUM.findall(head) == [pinned], f"{path.name}: no 'Minimum Collector version: {pinned}' at the top"
    assert pinned in _MINIMUM.findall((REPO_ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8"))


def test_the_gateway_hashes_query_text_with_the_agents_statements() -> None:
    """One digest: the gateway's transform/query_text is the agent's, statement for statement."""
    def statements(name: str) -> object:
        return yaml.safe_load((REPO_ROOT / "collector" / name).read_text(encoding="utf-8"))["processors"]["transform/query_text"]

    assert statements("gateway.yaml") == statements("config.yaml")
