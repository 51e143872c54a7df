"""Where a target is: resolving ``module:Class.method`` / ``module:function`` without surprises.

A target's module may be imported, not imported yet (wrapped on import),
the program being run (Python runs it as ``__main__``), or nowhere (a typo:
named at once, or when its package is imported, with the close names).
Nothing here imports a module that the application has not imported.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.machinery
import importlib.util
import inspect
import logging
import os
import pkgutil
import sys
from collections.abc import Collection
from typing import Any

from wrapt import FunctionWrapper, register_post_import_hook

from heritage_otel.instrumentation.targets import parse_target

_logger = logging.getLogger("heritage_otel.instrumentation")


def did_you_mean(name: str, candidates: Collection[str]) -> str:
    """``"; did you mean 'x'?"`` for the close matches of ``name`` among ``candidates``, else ``""``."""
    close = difflib.get_close_matches(name, [c for c in candidates if not c.startswith("__")], n=3)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def program_module_name() -> str | None:
    """The module name the running program would have if imported (``python app.py``: ``app``;
    ``python -m pkg.app``: ``pkg.app``). Python runs it as ``__main__`` and never imports it under that name."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None):
        return str(spec.name)
    argv = iter(list(getattr(sys, "orig_argv", ()))[1:])
    for arg in argv:
        if arg in ("-X", "-W"):  # options with a value
            next(argv, None)
        elif arg == "-m":
            return next(argv, None)
        elif arg == "-c" or not arg.startswith("-"):
            return os.path.splitext(os.path.basename(arg))[0] if arg.endswith(".py") else None
    return None


def program_path() -> list[str]:
    """``sys.path`` as the program will see it: with the program's folder (``python app.py``) or the working
    directory (``python -m``), which Python adds only after ``opentelemetry-instrument`` has instrumented."""
    argv = [a for a in list(getattr(sys, "orig_argv", ()))[1:] if not a.startswith("-")]
    first = os.path.dirname(os.path.abspath(argv[0])) if argv and argv[0].endswith(".py") else os.getcwd()
    return [first, *sys.path]


def unfindable(module_name: str) -> str | None:
    """A message when ``module_name`` cannot be found (so it would never be imported), else None.

    Imports nothing: a top-level package is looked up on the program's path,
    a submodule only when its parent package is already imported.
    """
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name in sys.modules or name == program_module_name():
            continue
        parent = sys.modules.get(".".join(parts[:depth - 1])) if depth > 1 else None
        if depth > 1 and parent is None:
            return None  # its parent is not imported yet: finding it would import the parent
        search = list(getattr(parent, "__path__", ())) if parent is not None else program_path()
        try:
            # found: deeper parts cannot be checked until it is imported
            if importlib.machinery.PathFinder.find_spec(name, search) is not None:
                return None
            if depth == 1 and importlib.util.find_spec(name) is not None:  # a meta-path finder knows it
                return None
        except (ImportError, ValueError):
            return None
        names = {info.name for info in pkgutil.iter_modules(search)}
        return f"no module {name!r} can be found{did_you_mean(parts[depth - 1], names)}"
    return None


def first_unimported_parent(module_name: str) -> str | None:
    """The outermost package of ``module_name`` that is not imported yet (None: every parent is)."""
    parts = module_name.split(".")
    return next((".".join(parts[:d]) for d in range(1, len(parts)) if ".".join(parts[:d]) not in sys.modules), None)


def watch_for_typo(module_name: str, targets: str) -> None:
    """Check ``module_name`` exists once each parent package is imported; log the targets there if not."""
    parent = first_unimported_parent(module_name)
    if parent is None:
        return

    def check(_module: Any) -> None:
        try:
            problem = unfindable(module_name)
            if problem is not None:
                _logger.error("heritage recommender instrumentation: cannot wrap %s: %s; skipped", targets, problem)
            else:
                watch_for_typo(module_name, targets)
        except Exception:  # noqa: BLE001 - never break the application's import
            _logger.debug("could not check module %s", module_name, exc_info=True)

    register_post_import_hook(check, parent)


def loaded_module(module_name: str) -> Any:
    """The module ``module_name`` if it is loaded: imported, or the running program under ``__main__``."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    if module_name == program_module_name():
        return sys.modules.get("__main__")
    return None


def resolve_target(target: str) -> tuple[Any, str]:
    """The object that holds the target (its class, or its module for a function) and the attribute name."""
    module_name, class_name, method = parse_target(target)
    module = loaded_module(module_name) or importlib.import_module(module_name)
    if class_name is None:
        if not callable(getattr(module, method, None)):
            functions = [name for name, value in vars(module).items() if callable(value)]
            msg = (f"instrumentation target {target!r}: module {module_name!r} has no function {method!r}"
                   f"{did_you_mean(method, functions)}")
            raise ValueError(msg)
        return module, method
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        classes = [name for name, value in vars(module).items() if isinstance(value, type)]
        msg = (f"instrumentation target {target!r}: module {module_name!r} has no class {class_name!r}"
               f"{did_you_mean(class_name, classes)}")
        raise ValueError(msg)
    if not callable(getattr(cls, method, None)):
        methods = [name for name in dir(cls) if callable(getattr(cls, name, None))]
        msg = f"instrumentation target {target!r}: {class_name} has no method {method!r}{did_you_mean(method, methods)}"
        raise ValueError(msg)
    return cls, method


def entry_parameters(owner: Any, method: str) -> tuple[str, str, int | None]:
    """Names of the entry point's query and top-k parameters, and the top-k default."""
    try:
        params = list(inspect.signature(getattr(owner, method)).parameters.values())
        if isinstance(owner, type) and not isinstance(inspect.getattr_static(owner, method),
                                                      (staticmethod, classmethod)):
            params = params[1:]  # without self
    except (TypeError, ValueError):
        params = []
    query = params[0].name if params else "query"
    top_k = params[1].name if len(params) > 1 else "top_k"
    default = params[1].default if len(params) > 1 and isinstance(params[1].default, int) else None
    return query, top_k, default


def restore(owner: Any, name: str) -> None:
    """Put back what ``wrap_function_wrapper(owner, name, ...)`` replaced, as it was defined.

    Read from the class's own ``__dict__``: through ``getattr`` (what
    ``opentelemetry.instrumentation.utils.unwrap`` does) a wrapped
    ``staticmethod`` or ``classmethod`` comes back bound, and putting that
    back would turn a static method into a plain function (its instance calls
    then pass ``self``) and bind a class method to the base class for good.
    A method the class inherited is deleted from it again, not copied into it.
    """
    current = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if not isinstance(current, FunctionWrapper):
        return
    original = current.__wrapped__
    if isinstance(owner, type) and any(vars(base).get(name) is original for base in owner.__mro__[1:]):
        delattr(owner, name)  # it was inherited: the class gets it from its base again
    else:
        setattr(owner, name, original)
