"""The layering of docs/architecture.md, checked against the import graph of heritage_otel/.

The table in the doc is the rule: this test parses it (so the picture and the code cannot drift apart),
maps every module to its row, and checks every import between our modules.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

PACKAGE = "heritage_otel"
DOC = REPO_ROOT / "docs" / "architecture.md"
_ROW = re.compile(r"^\| (\d+)\. [^|]+\| ([^|]+)\| ([^|]+)\|")


@dataclass(frozen=True)
class Layer:
    number: int
    prefixes: tuple[str, ...]
    may_import: frozenset[int]
    imported_by_nobody: bool
    also: tuple[str, ...] = ()  # modules of other layers the row allows by name


def _modules() -> dict[str, Path]:
    root = REPO_ROOT / PACKAGE
    out = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _allowed(number: int, cell: str) -> frozenset[int]:
    allowed = {number}
    if "anything above" in cell:
        allowed.update(range(number))
    for lo, hi in re.findall(r"layers? (\d+)(?:-(\d+))?", cell):
        allowed.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(allowed)


def _module_names(cell: str) -> tuple[str, ...]:
    """Backticked module names of a cell, parenthesised remarks ignored, as dotted names."""
    names = re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cell))
    return tuple(n if n == PACKAGE else f"{PACKAGE}.{n.rstrip('/').replace('/', '.')}" for n in names)


def parse_layers(text: str) -> list[Layer]:
    """The rows of the layer table: module prefixes (parenthesised remarks ignored) and allowed layers."""
    layers = []
    for line in text.splitlines():
        match = _ROW.match(line)
        if not match:
            continue
        number, modules, may = int(match[1]), match[2], match[3]
        layers.append(Layer(number, _module_names(modules), _allowed(number, may), "nothing of ours imports it" in may,
                            _module_names(may.partition("also")[2])))
    return layers


def layer_of(module: str, layers: list[Layer]) -> Layer | None:
    """The row naming the longest prefix of ``module`` (the package root names itself only)."""
    best: tuple[int, Layer] | None = None
    for layer in layers:
        for prefix in layer.prefixes:
            inside = module == prefix or (prefix != PACKAGE and module.startswith(prefix + "."))
            if inside and (best is None or len(prefix) > best[0]):
                best = (len(prefix), layer)
    return best[1] if best else None


def _exempt_nodes(tree: ast.AST, module: str, is_package: bool) -> set[int]:
    """Imports under ``if TYPE_CHECKING:``, and a package's lazy re-exports of its own submodules."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
        if is_package and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            skipped.update(id(n) for n in ast.walk(node)
                           if isinstance(n, ast.ImportFrom) and (n.module or "").startswith(module))
    return skipped


def _in_functions(tree: ast.AST) -> set[int]:
    return {id(n) for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in ast.walk(node)}


def imports_of(module: str, path: Path, known: set[str], *, at_import_only: bool = False) -> set[str]:
    """Every module ``module`` imports at run time (ours resolved to modules, others by their full name);
    ``at_import_only``: only those imported when the module itself is imported (not inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _exempt_nodes(tree, module, path.name == "__init__.py")
    if at_import_only:
        skipped |= _in_functions(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found


@pytest.fixture(scope="module")
def layers() -> list[Layer]:
    parsed = parse_layers(DOC.read_text(encoding="utf-8"))
    assert [layer.number for layer in parsed] == list(range(7)), "the layer table of docs/architecture.md"
    return parsed


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: imports_of(m, p, set(modules)) for m, p in modules.items()}


def test_every_module_named_in_the_table_exists(layers) -> None:
    """The table names real modules (a rename must update the doc)."""
    modules = set(_modules())
    missing = [p for layer in layers for p in layer.prefixes
               if not any(m == p or m.startswith(p + ".") for m in modules)]
    assert missing == []


def test_every_module_has_a_layer(layers, graph) -> None:
    """A new module must be placed in the table."""
    assert [m for m in sorted(graph) if layer_of(m, layers) is None] == []


def violations(graph: dict[str, set[str]], layers: list[Layer]) -> list[str]:
    """Imports between our modules that the table does not allow."""
    found = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module, layers)
        for target in sorted(t for t in targets if t == PACKAGE or t.startswith(PACKAGE + ".")):
            theirs = layer_of(target, layers)
            if own is None or theirs is None:
                continue
            named = any(target == a or target.startswith(a + ".") for a in own.also)
            if (theirs.number not in own.may_import and not named) or (theirs.imported_by_nobody and theirs is not own):
                found.append(f"{module} (layer {own.number}) imports {target} (layer {theirs.number})")
    return found


def test_imports_follow_the_layer_table(layers, graph) -> None:
    """No module imports one of ours from a layer its row does not allow."""
    assert violations(graph, layers) == []


#: The SDK's module of environment variable names: constants only (``opentelemetry.sdk`` is a namespace package,
#: importing this runs no SDK code), so layers 0-2 read ``OTEL_*`` names from it.
SDK_NAMES = "opentelemetry.sdk.environment_variables"


def test_application_layers_never_import_the_sdk(layers) -> None:
    """Importing layers 0-2 (names, API, instrumentation) never imports the OpenTelemetry SDK (its names aside)."""
    modules = _modules()
    offenders = [f"{m} imports {t}" for m, p in sorted(modules.items()) if layer_of(m, layers).number <= 2
                 for t in sorted(imports_of(m, p, set(modules), at_import_only=True))
                 if t.startswith("opentelemetry.sdk") and t != SDK_NAMES]
    assert offenders == []


def test_the_sdk_names_module_runs_no_sdk_code() -> None:
    """Importing the SDK's environment variable names loads no SDK provider module (checked in a fresh process)."""
    import subprocess
    import sys

    code = (f"import sys, {SDK_NAMES}; "
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    loaded = ast.literal_eval(out.strip())
    assert SDK_NAMES in loaded
    assert [m for m in loaded if m != "opentelemetry.sdk" and not m.startswith(SDK_NAMES)] == []


def test_checker_flags_upward_and_facade_imports(layers, graph) -> None:
    """The checker itself flags the analysis importing the instrumentation, and a program importing the
    facade (so the layering test cannot pass vacuously)."""
    bad = {m: set(t) for m, t in graph.items()}
    bad[f"{PACKAGE}.analysis.health"].add(f"{PACKAGE}.instrumentation._wrappers")
    bad[f"{PACKAGE}.cli.main"].add(f"{PACKAGE}.monitoring")
    assert violations(bad, layers) == [
        f"{PACKAGE}.analysis.health (layer 4) imports {PACKAGE}.instrumentation._wrappers (layer 2)",
        f"{PACKAGE}.cli.main (layer 6) imports {PACKAGE}.monitoring (layer 5)",
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle between our modules (imports inside functions included), each as the path
    ``a -> b -> ... -> a`` starting at its smallest module; one circle per strongly connected component."""
    ours = {m: sorted(t for t in targets if t in graph and t != m) for m, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(ours):  # Tarjan's algorithm, iterative (the graph is deep)
        if root in index:
            continue
        work = [(root, iter(ours[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(ours[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    found = []
    for component in components:
        start = min(component)
        paths = {start: [start]}  # breadth-first: the shortest circle through ``start``
        queue = [start]
        circle = None
        while queue and circle is None:
            node = queue.pop(0)
            for child in ours[node]:
                if child == start:
                    circle = [*paths[node], start]
                    break
                if child in component and child not in paths:
                    paths[child] = [*paths[node], child]
                    queue.append(child)
        found.append(circle)
    return sorted(found)


def test_no_import_circles(graph) -> None:
    """The import graph of heritage_otel/ has no circle, at module level or through an import inside a function
    (``if TYPE_CHECKING:`` imports excluded: they never run)."""
    circles = [" -> ".join(c) for c in cycles(graph)]
    assert circles == [], "import circles:\n  " + "\n  ".join(circles)


def test_checker_flags_circles_hidden_in_functions(graph, tmp_path) -> None:
    """The circle check sees an import inside a function and names the circle (so it cannot pass vacuously)."""
    late = tmp_path / "late.py"
    late.write_text("def late():\n    from heritage_otel.analysis.alerts import AlertManager\n", encoding="utf-8")
    module = f"{PACKAGE}.analysis.alert"
    assert imports_of(module, late, set(graph)) == {f"{PACKAGE}.analysis.alerts"}
    bad = {m: set(t) for m, t in graph.items()}
    bad[module] |= imports_of(module, late, set(graph))
    assert cycles(bad) == [[module, f"{PACKAGE}.analysis.alerts", module]]
