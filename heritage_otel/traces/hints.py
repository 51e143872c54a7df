"""Why a trace search found nothing: the service or operation names that do exist, the close matches.

A typo in ``--service`` or ``--operation`` finds no trace, which reads the
same as "nothing happened"; :func:`nothing_found` says which name is unknown
and what is known instead.

>>> nothing_found(service="bookfnder", services=["bookfinder", "shop"])
"no traces found: no service 'bookfnder'; services: bookfinder, shop (did you mean 'bookfinder'?)"
>>> nothing_found(service="shop", services=["shop"], operation="serch", operations=["search", "lookup"])
"no traces found: service 'shop' has no operation 'serch'; operations: lookup, search (did you mean 'search'?)"
>>> nothing_found(service="shop", services=["shop"], lookback="1h")
"no traces found for service 'shop' with these filters in the last 1h"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["nothing_found"]

_SHOWN = 20  # names listed at most


def _known(kind: str, names: Iterable[str], wanted: str) -> str:
    known = sorted(set(names))
    listed = ", ".join(known[:_SHOWN]) + (f", ... ({len(known)} in all)" if len(known) > _SHOWN else "")
    close = difflib.get_close_matches(wanted, known, n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"{kind}: {listed or 'none'}{hint}"


def nothing_found(
    *,
    service: str | None,
    services: Iterable[str],
    operation: str | None = None,
    operations: Iterable[str] = (),
    lookback: str | None = None,
) -> str:
    """The message for a search that found nothing, naming an unknown service or operation when there is one."""
    services = list(services)
    if service and service not in services:
        return f"no traces found: no service {service!r}; {_known('services', services, service)}"
    operations = list(operations)
    if operation and operation not in operations:
        where = f"service {service!r} has" if service else "the traces have"
        return f"no traces found: {where} no operation {operation!r}; {_known('operations', operations, operation)}"
    scope = f" for service {service!r}" if service else ""
    when = f" in the last {lookback}" if lookback else ""
    return f"no traces found{scope} with these filters{when}"
