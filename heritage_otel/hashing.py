"""Query text privacy: the one place that decides how query text is exported.

Query text is sensitive. Everywhere heritage-otel would export it (span
events, log records, JSON-lines files, validation messages) it calls
:func:`query_text_for_export`, which returns a short digest unless raw
capture was asked for, by argument or by the environment variable
``HERITAGE_OTEL_CAPTURE_QUERY_TEXT=true``.

The digest is ``sha256:`` plus the first 16 hex digits of SHA-256 over the
salt (argument, or ``HERITAGE_OTEL_QUERY_HASH_SALT``; empty by default)
followed by the UTF-8 text, so a dictionary of common queries cannot be
hashed by someone who does not know the salt. The Collector's
``transform/query_text`` (``collector/config.yaml``) computes the same digest
from the same variable, so text hashed there and text hashed here match.
The same text and salt always give the same digest, so repeated queries can
still be grouped.

>>> hash_query_text("medieval manuscripts", salt="")
'sha256:ec947425e7539c69'
>>> hash_query_text("medieval manuscripts", salt="pepper") != hash_query_text("medieval manuscripts", salt="")
True
>>> query_text_for_export("medieval manuscripts", capture=False, salt="")
'sha256:ec947425e7539c69'
>>> query_text_for_export("medieval manuscripts", capture=True)
'medieval manuscripts'
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Final

from heritage_otel import environment_variables as env_vars
from heritage_otel.checks import env_flag

__all__ = [
    "ENV_CAPTURE_QUERY_TEXT",
    "ENV_QUERY_HASH_SALT",
    "HASH_PREFIX",
    "capture_query_text_enabled",
    "hash_query_text",
    "query_text_for_export",
]

#: Environment variable that opts in to exporting raw query text.
ENV_CAPTURE_QUERY_TEXT: Final = env_vars.HERITAGE_OTEL_CAPTURE_QUERY_TEXT
#: Environment variable holding the (secret) salt of the query hash.
ENV_QUERY_HASH_SALT: Final = env_vars.HERITAGE_OTEL_QUERY_HASH_SALT
#: Prefix of every query digest.
HASH_PREFIX: Final = "sha256:"
_HEX_DIGITS: Final = 16


def hash_query_text(text: str, salt: str | None = None) -> str:
    """A short, stable digest of ``text``: ``'sha256:'`` and 16 hex digits.

    SHA-256 over ``salt`` then ``text`` (UTF-8); ``salt`` defaults to
    ``HERITAGE_OTEL_QUERY_HASH_SALT`` (empty: plain SHA-256 of the text).

    >>> digest = hash_query_text("roman coins", salt="")
    >>> digest.startswith("sha256:"), len(digest)
    (True, 23)
    >>> hash_query_text("coins", salt="roman ") == hash_query_text("roman coins", salt="")  # salt, then text
    True
    """
    if salt is None:
        salt = os.environ.get(ENV_QUERY_HASH_SALT, "")
    digest = hashlib.sha256((salt + text).encode("utf-8", errors="surrogatepass")).hexdigest()
    return HASH_PREFIX + digest[:_HEX_DIGITS]


def capture_query_text_enabled(capture: bool | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether raw query text may be exported: ``capture`` if given, else the environment.

    The variable is read as the OpenTelemetry SDK reads a boolean (``true`` in
    any case, see :func:`heritage_otel.checks.env_flag`); any other value warns
    once and counts as false (never capture by accident).

    >>> capture_query_text_enabled(environ={"HERITAGE_OTEL_CAPTURE_QUERY_TEXT": "true"})
    True
    >>> capture_query_text_enabled(False, environ={"HERITAGE_OTEL_CAPTURE_QUERY_TEXT": "true"})
    False
    >>> capture_query_text_enabled(environ={})
    False
    """
    if capture is not None:
        return bool(capture)
    return env_flag(ENV_CAPTURE_QUERY_TEXT, environ)


def query_text_for_export(text: str, capture: bool | None = None, salt: str | None = None) -> str:
    """``text`` itself when capture is enabled (see :func:`capture_query_text_enabled`), else its digest."""
    if capture_query_text_enabled(capture):
        return text
    return hash_query_text(text, salt)
