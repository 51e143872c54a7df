"""Reading the arguments of a recommender's chain runner, and warnings logged once.

The result shapes (counts, documents) are read by :mod:`heritage_otel.results`,
which the query logger shares.

>>> chain_arguments(([("primary", str.upper, 2)], "tomb"), {})[1]
('tomb',)
>>> chain_arguments(("tomb",), {}) is None
True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

__all__ = ["chain_arguments", "warn_once"]

_logger = logging.getLogger(__name__)
_warned: set[str] = set()


def chain_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Sequence[Any], tuple[Any, ...]] | None:
    """The ``(strategies, rest of args)`` of a chain runner call, or None when it is not that shape.

    A chain runner is called as ``(strategies, *args, **kwargs)`` with
    ``strategies`` a list or tuple of ``(name, callable, priority)`` (or
    :class:`heritage_otel.fallback.Strategy`).
    """
    strategies, rest = (args[0], args[1:]) if args else (kwargs.get("strategies"), ())
    if type(strategies) not in (list, tuple):
        return None
    if strategies:  # the first strategy tells the shape (checking each would cost every call)
        first = strategies[0]
        if not (isinstance(first, (list, tuple)) and 3 <= len(first) <= 4 and type(first[0]) is str):
            return None
    if not args:
        kwargs.pop("strategies")
    return strategies, rest


def warn_once(key: str, message: str, *args: Any) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process."""
    if key not in _warned:
        _warned.add(key)
        _logger.warning(message, *args)
