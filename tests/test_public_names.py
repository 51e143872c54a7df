"""One name per concept: no two different public classes of heritage_otel share a name."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import heritage_otel

def _public_classes() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for info in pkgutil.walk_packages(heritage_otel.__path__, "heritage_otel."):
        if "._" in info.name or info.name.endswith(".__main__"):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and obj.__module__.startswith("heritage_otel"):
                found.setdefault(name, set()).add(f"{obj.__module__}.{obj.__qualname__}")
    return found


def test_no_two_public_classes_share_a_name() -> None:
    """A class name exported from two modules is the same class (re-exports), never two concepts."""
    clashes = {n: sorted(q) for n, q in _public_classes().items() if len(q) > 1}
    assert clashes == {}
