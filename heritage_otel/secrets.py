"""Secret masking: the one place that decides what is a secret and how it is hidden.

Every message, log line and API response that shows settings, URLs or
headers goes through :func:`mask_secrets` (mappings) or :func:`mask_text`
(free text, URLs). A value is a secret when its key looks like one (words
such as ``token``, ``password``, ``passphrase``, ``bearer``, ``jwt``,
``session``, ``webhook``, ``headers``; any case, any separator); in text,
URL credentials (``user:password@``), secret-looking query parameters
(``?access_token=``), ``Bearer``/``Basic`` credentials and ``key=value``
pairs with a secret-looking key are replaced by :data:`MASK`.

>>> mask_secrets({"api_key": "abc123", "endpoint": "https://bob:hunter2@collector:4318", "top_k": 10})
{'api_key': '***', 'endpoint': 'https://***@collector:4318', 'top_k': 10}
>>> mask_text("POST https://h.example/x?access_token=abc&page=2 failed: authorization=Bearer%20xyz")
'POST https://h.example/x?access_token=***&page=2 failed: authorization=***'
>>> is_secret_key("webhook_url"), is_secret_key("session_id"), is_secret_key("keyword_weight")
(True, True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit
from typing import Any, Final

__all__ = ["MASK", "is_secret_key", "mask_secrets", "mask_text", "public_url"]

#: What a secret value is replaced by.
MASK: Final = "***"

_SECRET_WORDS: Final = frozenset({
    "token", "key", "apikey", "password", "passwd", "pwd", "passphrase", "secret", "credential", "credentials",
    "auth", "authorization", "bearer", "jwt", "header", "headers", "cookie", "session", "sessionid", "private",
    "salt", "dsn", "webhook", "signature", "sig", "accesstoken", "refreshtoken", "apitoken", "otp",
})
_WORD_SPLIT: Final = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_URL_USERINFO: Final = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s?#]+)@")
_CREDENTIAL: Final = re.compile(r"(?i)\b(bearer|basic)(\s+|%20|\+)[A-Za-z0-9\-._~+/=%]+")
_KEY_SEP: Final = re.compile(r"(?P<key>[A-Za-z0-9_.\-]+)(?:\s*[=:]\s*|%3[Dd])")
_VALUE: Final = re.compile(r"\"[^\"]*\"?|'[^']*'?|[^\s,;&#\"']*")


def is_secret_key(key: str) -> bool:
    """True when a setting named ``key`` should be masked (by its words, any case).

    >>> [is_secret_key(k) for k in ("OTEL_EXPORTER_OTLP_HEADERS", "apiKey", "db.password", "keyword_weight")]
    [True, True, True, False]
    """
    words = [w.lower() for w in _WORD_SPLIT.split(str(key)) if w]
    return any(word in _SECRET_WORDS for word in words) or "".join(words) in _SECRET_WORDS


def _mask_pairs(text: str) -> str:
    """Mask the value of every ``key=value`` / ``key: value`` whose key looks secret (non-secret ones are
    scanned on from their separator, so ``https://h/?token=x`` is still found)."""
    out: list[str] = []
    pos = 0
    while (match := _KEY_SEP.search(text, pos)) is not None:
        if not is_secret_key(match.group("key")):
            out.append(text[pos : match.end()])
            pos = match.end()
            continue
        value = _VALUE.match(text, match.end())  # matches the empty string too: never None
        value_end = value.end() if value is not None else match.end()
        out.append(text[pos : match.end()] + (MASK if value_end > match.end() else ""))
        pos = value_end
    out.append(text[pos:])
    return "".join(out)


def mask_text(text: str) -> str:
    """``text`` with URL credentials, secret query parameters, Bearer/Basic credentials and secret pairs masked."""
    out = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", str(text))
    out = _CREDENTIAL.sub(lambda m: MASK, out)
    return _mask_pairs(out)


def public_url(url: str) -> str:
    """``url`` as it may be shown or linked: without ``user:password@``, secret query parameters masked.

    For links (a link with ``***@`` in it would not open); messages use :func:`mask_text`.

    >>> public_url("https://ops:pw@jaeger.example:16686/search?token=x&service=a")
    'https://jaeger.example:16686/search?token=***&service=a'
    """
    parts = urlsplit(str(url))
    netloc = parts.netloc.rpartition("@")[2]
    return mask_text(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return mask_secrets(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_mask_value(v) for v in value)
    return value


def mask_secrets(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with secret-looking keys masked and secrets in text values masked (recursively)."""
    return {
        str(key): (MASK if is_secret_key(str(key)) and value is not None else _mask_value(value))
        for key, value in values.items()
    }
