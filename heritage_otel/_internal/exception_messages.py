"""Exception messages for export: hidden, or shown with secrets and the query text of the call masked.

An exception's message may quote the user's query (``raise KeyError(query)``)
or a secret (a URL with credentials), so by default it is exported as a
digest only (``<hidden sha256:...>``). ``HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES=true``
exports the message itself, with secrets masked (:func:`heritage_otel.secrets.mask_text`)
and the query text of the call in progress (the instrumented entry point's
query, see :func:`enter_query`) replaced by its digest. It is a setting of its
own: ``HERITAGE_OTEL_CAPTURE_QUERY_TEXT=true`` exports raw query text, and
with it, messages as they are.

>>> token = enter_query("roman coins")
>>> message_for_export("no document for 'roman coins' at https://bob:hunter2@db:5432", capture=True, salt="")
"no document for 'sha256:6b37018a09486f96' at https://***@db:5432"
>>> leave_query(token)
>>> message_for_export("no document for 'roman coins'", capture=False, salt="").startswith("<hidden sha256:")
True
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import Final

from heritage_otel import environment_variables as env_vars
from heritage_otel.checks import env_flag
from heritage_otel.hashing import hash_query_text
from heritage_otel.secrets import mask_text

__all__ = ["capture_exception_messages_enabled", "enter_query", "leave_query", "message_for_export"]

#: Environment variable that opts in to exporting exception messages (masked).
ENV_CAPTURE_EXCEPTION_MESSAGES: Final = env_vars.HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES

_query: contextvars.ContextVar[str | None] = contextvars.ContextVar("heritage_query_in_progress", default=None)


def enter_query(query: object) -> contextvars.Token[str | None]:
    """Note ``query`` (a str; anything else is ignored) as the query of the call in progress; undo with the token."""
    return _query.set(query if isinstance(query, str) and query else None)


def leave_query(token: contextvars.Token[str | None]) -> None:
    """Forget the query noted by :func:`enter_query`."""
    _query.reset(token)


def capture_exception_messages_enabled(capture: bool | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """``capture`` if given, else ``HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES``, read as the SDK reads a boolean
    (:func:`heritage_otel.checks.env_flag`: ``true`` in any case; any other value but ``false`` warns once, false).

    >>> capture_exception_messages_enabled(environ={"HERITAGE_OTEL_CAPTURE_EXCEPTION_MESSAGES": "true"})
    True
    >>> capture_exception_messages_enabled(environ={})
    False
    """
    if capture is not None:
        return bool(capture)
    return env_flag(ENV_CAPTURE_EXCEPTION_MESSAGES, environ)


def message_for_export(text: str, capture: bool | None = None, salt: str | None = None) -> str:
    """``text`` masked (secrets, the call's query) when exception messages are captured, else its digest."""
    if not text:
        return text
    if not capture_exception_messages_enabled(capture):
        return f"<hidden {hash_query_text(text, salt)}>"
    query = _query.get()
    if query and query in text:
        text = text.replace(query, hash_query_text(query, salt))
    return mask_text(text)
