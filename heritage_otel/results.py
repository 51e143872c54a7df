"""Reading a recommender's results whatever their shape: result counts and documents.

The instrumentor and the query logger read results of code they did not
write, the way recommenders commonly return them, and never fail on a shape
they do not know (they record less instead):

- a result count is ``len(result)``; a tuple of equally shaped arrays, as
  ``(indices, scores)`` from numpy or faiss, counts the hits along the last
  axis; a result with no length (a generator, an arbitrary object) has no
  count;
- a document is a mapping with ``doc_id`` / ``id`` / ``document_id`` and
  ``score``, an ``(id, score)`` pair, an object with those attributes, or a
  bare id; a mapping result ``{id: score}`` is its documents; anything else
  is read by the ``document_reader`` given to ``instrument()``.

>>> import numpy as np
>>> result_count((np.array([4, 2, 7]), np.array([0.9, 0.5, 0.1])))
3
>>> result_count(x for x in "ab") is None
True
>>> read_document({"doc_id": "d1", "score": 0.5}), read_document(("d2", 0.25)), read_document(np.int64(7))
(('d1', 0.5), ('d2', 0.25), ('7', None))
>>> documents([("a", 1.0), ("b", 0.5)], limit=1), documents(np.array([[7, 0.5], [3, 0.25]]), limit=1)
([('a', 1.0)], [('7.0', 0.5)])
>>> has_hits(np.array([0.3, 0.1])), has_hits([]), has_hits(None)
(True, False, False)
"""

from __future__ import annotations

import itertools
import logging
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["ID_NAMES", "DocumentReader", "as_score", "document_ids", "document_items", "documents", "has_hits", "read_document",
           "read_document_id", "result_count", "safe_reader"]

#: ``item -> (document id, score)`` (either may be None), or None to skip the item.
DocumentReader = Callable[[Any], "tuple[Any, Any] | None"]

_logger = logging.getLogger(__name__)

ID_NAMES = ("doc_id", "id", "document_id")
SCORE_NAMES = ("score",)
_SCALAR_IDS = (str, bytes, numbers.Integral)
_warned: set[str] = set()


def _is_array(value: Any) -> bool:
    shape = getattr(value, "shape", None)
    return isinstance(shape, tuple) and len(shape) >= 1


def result_count(result: Any) -> int | None:
    """How many hits ``result`` holds, or None when it cannot be told without consuming it."""
    if type(result) is list:  # the common case first: this runs on every wrapped call
        return len(result)
    if isinstance(result, tuple) and len(result) >= 2 and all(_is_array(part) for part in result):
        shapes = {part.shape for part in result}
        if len(shapes) == 1:
            return int(result[0].shape[-1])
    try:
        return len(result)
    except TypeError:
        return None


def has_hits(value: Any) -> bool:
    """True unless ``value`` is None or has length 0 (never asks a numpy array for its truth value)."""
    if type(value) is list:
        return bool(value)
    if value is None:
        return False
    count = result_count(value)
    return count is None or count > 0


def as_score(value: Any) -> float | None:
    """``value`` as a float score, or None when it is not a real number (a bool is not a score)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return None


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def _first(getter: Callable[[str], Any], names: Sequence[str]) -> Any:
    for name in names:
        value = getter(name)
        if value is not None:
            return value
    return None


def read_document(item: Any, id_names: Sequence[str] = ID_NAMES) -> tuple[str | None, float | None]:
    """``(id, score)`` of one result item of a common shape; ``(None, None)`` when none applies.

    ``id_names``: the keys or attributes that may hold the id, in order.
    """
    return read_document_id(item, id_names), _read_score(item)


def _read_score(item: Any) -> float | None:
    if type(item) is dict or isinstance(item, Mapping):
        return as_score(_first(item.get, SCORE_NAMES))
    if isinstance(item, _SCALAR_IDS):
        return None
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return as_score(item[1])
    return as_score(_first(lambda name: getattr(item, name, None), SCORE_NAMES))


def read_document_id(item: Any, id_names: Sequence[str] = ID_NAMES) -> str | None:
    """The id of one result item (:func:`read_document` without the score)."""
    if type(item) is dict or isinstance(item, Mapping):  # dicts first: the ABC check costs more
        return _id(_first(item.get, id_names))
    if isinstance(item, _SCALAR_IDS):
        return _id(item)
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return _id(item[0])
    return _id(_first(lambda name: getattr(item, name, None), id_names))


def document_ids(results: Any, limit: int, reader: DocumentReader | None = None,
                 id_names: Sequence[str] = ID_NAMES) -> list[str]:
    """The ids of the first ``limit`` results that have one (read as :func:`documents` reads them).

    >>> document_ids([{"id": "a"}, ("b", 0.5), "c", {"title": "no id"}], limit=10)
    ['a', 'b', 'c']
    """
    items = itertools.islice(document_items(results), limit)
    if reader is not None:
        read = safe_reader(reader)
        found = (read(item)[0] for item in items)
    else:
        found = (read_document_id(item, id_names) for item in items)
    return [doc_id for doc_id in found if doc_id is not None]


def document_items(results: Any) -> Any:
    """The items of ``results`` to read documents from: a sequence as is, a ``{id: score}`` mapping's items,
    a 1-D array's values, a 2-D array's rows; nothing from anything else (a one-shot iterator is never
    consumed, and a container whose iteration is not its rows, such as a DataFrame, gives no wrong documents).
    """
    if isinstance(results, Mapping):
        return results.items()
    if isinstance(results, Sequence) and not isinstance(results, (str, bytes)):
        return results
    shape = getattr(results, "shape", None)
    if isinstance(shape, tuple) and len(shape) in (1, 2) and hasattr(results, "tolist") and hasattr(results, "dtype"):
        return results if len(shape) == 1 else _Rows(results)
    return ()


class _Rows:
    """The rows of a 2-D array as lists, one at a time (``(id, score)`` rows read like pairs)."""

    def __init__(self, array: Any) -> None:
        self.array = array

    def __iter__(self) -> Any:
        return (row.tolist() for row in self.array)


def documents(
    results: Any, limit: int, reader: DocumentReader | None = None, id_names: Sequence[str] = ID_NAMES
) -> list[tuple[str | None, float | None]]:
    """``(id, score)`` of the first ``limit`` results (:func:`document_items`, read by ``reader`` or
    :func:`read_document` with ``id_names``)."""
    items = itertools.islice(document_items(results), limit)
    if reader is not None:
        read = safe_reader(reader)
        return [read(item) for item in items]
    return [read_document(item, id_names) for item in items]


def safe_reader(reader: DocumentReader) -> Callable[[Any], tuple[str | None, float | None]]:
    """``reader`` (``item -> (id, score)`` or None) made safe: its answer normalised, an exception it raises
    logged once and read as no document."""

    def read(item: Any) -> tuple[str | None, float | None]:
        try:
            found = reader(item)
            return (None, None) if found is None else (_id(found[0]), as_score(found[1]))
        except Exception:  # noqa: BLE001 - a result we cannot read never reaches the caller
            key = f"document_reader:{id(reader)}"
            if key not in _warned:
                _warned.add(key)
                _logger.exception("heritage-otel: document_reader %r raised on a result; "
                                  "read as no document (logged once)", reader)
            return None, None

    return read
