"""OpenSLO documents from files and folders: YAML (several documents per file, ``---``) or JSON.

A folder means its ``*.yaml``, ``*.yml`` and ``*.json`` files, in name order.
Every problem is a :class:`ValueError` naming the file (among several files, the one whose documents
alone have the problem; all of them for a problem between files).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.yaml").write_text("apiVersion: openslo/v1\\nkind: SLI\\n---\\napiVersion: openslo/v1\\nkind: SLO\\n")
>>> [d["kind"] for d in load_documents([folder])]
['SLI', 'SLO']
>>> load_objectives([folder / "nothing.yaml"])
Traceback (most recent call last):
...
ValueError: .../nothing.yaml: no such file or folder
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from heritage_otel.analysis.slo.spec import Objective, parse_documents

__all__ = ["EXAMPLE_FILE", "load_documents", "load_objectives", "objectives_from"]

#: The objectives shipped for the reference recommender (availability, latency, quality, fallback rate).
EXAMPLE_FILE: Final = Path(__file__).resolve().parents[2] / "examples" / "recommender" / "slos.yaml"
_SUFFIXES: Final = (".yaml", ".yml", ".json")


def _files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix in _SUFFIXES and f.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            msg = f"{p}: no such file or folder"
            raise ValueError(msg)
    return out


def load_documents(paths: Iterable[str | os.PathLike[str]]) -> list[Any]:
    """Every document of every file (folders expanded), in order; empty YAML documents skipped."""
    import yaml  # the service extra's dependency, needed only here

    docs: list[Any] = []
    for f in _files(paths):
        try:
            text = f.read_text(encoding="utf-8")
            found = [json.loads(text)] if f.suffix == ".json" else list(yaml.safe_load_all(text))
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
            msg = f"{f}: not a readable OpenSLO file ({' '.join(str(exc).split())[:300]})"
            raise ValueError(msg) from None
        for doc in found:
            if isinstance(doc, list):
                docs.extend(doc)
            elif doc is not None:
                docs.append(doc)
    return docs


def load_objectives(paths: Iterable[str | os.PathLike[str]], *, time_scale: float = 1.0) -> list[Objective]:
    """The objectives of the documents of ``paths`` (see :func:`~heritage_otel.analysis.slo.spec.parse_documents`)."""
    paths = list(paths)
    try:
        return parse_documents(load_documents(paths), time_scale=time_scale)
    except ValueError as exc:
        if str(exc).startswith(tuple(str(p) for p in paths)):
            raise
        msg = f"{_origin(paths, str(exc), time_scale)}: {exc}"
        raise ValueError(msg) from None


def _origin(paths: list[str | os.PathLike[str]], problem: str, time_scale: float) -> str:
    """The one file whose documents alone raise ``problem`` (a field's error names its file even among
    several), else every path given (a problem between files, such as one name used in two of them)."""
    files = _files(paths)
    if len(files) > 1:
        for f in files:
            try:
                parse_documents(load_documents([f]), time_scale=time_scale)
            except ValueError as exc:
                if str(exc) == problem:
                    return str(f)
    return ", ".join(map(str, paths))


def objectives_from(items: Any, setting: str, *, time_scale: float = 1.0) -> list[Objective]:
    """The objectives of a setting that lists OpenSLO documents (dicts) and/or files and folders (paths).

    >>> [o.name for o in objectives_from([EXAMPLE_FILE], "slos")]
    ['availability', 'latency', 'quality', 'fallback-rate']
    >>> objectives_from("slos.yaml", "config 'slos'")
    Traceback (most recent call last):
    ...
    ValueError: config 'slos' = 'slos.yaml' is not valid; expected a list of OpenSLO documents (dicts) or file/folder paths
    """
    if items is None:
        return []
    if isinstance(items, (str, bytes, os.PathLike)) or not isinstance(items, (list, tuple)):
        msg = f"{setting} = {items!r} is not valid; expected a list of OpenSLO documents (dicts) or file/folder paths"
        raise ValueError(msg)
    docs: list[Any] = []
    for item in items:
        docs.extend(load_documents([item]) if isinstance(item, (str, os.PathLike)) else [item])
    try:
        return parse_documents(docs, time_scale=time_scale)
    except ValueError as exc:
        msg = f"{setting}: {exc}"
        raise ValueError(msg) from None
