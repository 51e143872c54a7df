"""Shared validation of setting values: one wording for every "bad value" error, and one reading of a
boolean text (environment variables, attribute values).

Each helper returns the value (normalised) or raises ``ValueError`` (or the
``error`` class given, e.g. ``ConfigurationError``) with a message that names
the setting, the value and what is valid:
``"<name> = <value!r> is not valid; expected <what>"``. ``bool`` is never
accepted where a number is expected (``True`` is not ``1`` here).

>>> check_int("retries", 3, minimum=0, maximum=10)
3
>>> check_number("timeout_s", 0, minimum=0, exclusive_minimum=True)
Traceback (most recent call last):
...
ValueError: timeout_s = 0 is not valid; expected a number > 0
>>> check_int("backups", True, minimum=0)
Traceback (most recent call last):
...
ValueError: backups = True is not valid; expected an integer >= 0
>>> check_choice("format", "xml", ("json", "slack"))
Traceback (most recent call last):
...
ValueError: format = 'xml' is not valid; valid values: json, slack

A boolean environment variable is read as the OpenTelemetry SDK reads its own
(``OTEL_SDK_DISABLED``): ``true`` in any case is true; ``false``, empty or unset
is false; anything else is false with a warning, or an error where asked for:

>>> env_flag("OTEL_SDK_DISABLED", {"OTEL_SDK_DISABLED": " TRUE "}), env_flag("OTEL_SDK_DISABLED", {})
(True, False)
>>> env_flag("OTEL_SDK_DISABLED", {"OTEL_SDK_DISABLED": "yes"}, error=ValueError)
Traceback (most recent call last):
...
ValueError: OTEL_SDK_DISABLED = 'yes' is not valid; valid values: true, false
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["check_bool", "check_choice", "check_int", "check_number", "env_flag", "invalid", "is_true"]

_log = logging.getLogger(__name__)
#: What a boolean text may say (the SDK's spelling; case and surrounding spaces ignored).
_BOOLEAN_VALUES: Final = "valid values: true, false"
_warned: set[tuple[str, str]] = set()


def invalid(name: str, value: Any, expected: str, error: type[ValueError] = ValueError) -> ValueError:
    """The error for a bad value: ``name = value is not valid; expected ...`` (``expected`` may itself start
    with "expected" or "valid values:")."""
    joiner = "" if expected.startswith(("valid values", "expected")) else "expected "
    return error(f"{name} = {value!r} is not valid; {joiner}{expected}")


def _range(kind: str, minimum: float | None, maximum: float | None, exclusive_minimum: bool) -> str:
    lo, hi = (None if b is None else (str(b) if isinstance(b, int) else f"{b:g}") for b in (minimum, maximum))
    if lo is not None and hi is not None:
        return f"{kind} in {'(' if exclusive_minimum else '['}{lo}, {hi}]"
    if lo is not None:
        return f"{kind} {'>' if exclusive_minimum else '>='} {lo}"
    if hi is not None:
        return f"{kind} <= {hi}"
    return kind


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None, what: str = "",
    error: type[ValueError] = ValueError,
) -> int:
    """An ``int`` (not a bool) within ``[minimum, maximum]``; ``what`` is added to the message in brackets."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        expected = _range("an integer", minimum, maximum, False) + (f" ({what})" if what else "")
        raise invalid(name, value, expected, error)
    return int(value)


def check_number(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None,
    exclusive_minimum: bool = False, unit: str = "", what: str = "", error: type[ValueError] = ValueError,
) -> float:
    """A finite ``int`` or ``float`` (not a bool) within the bounds, as a float. ``unit`` names the
    quantity in the message (e.g. "seconds"), ``what`` is added in brackets."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if exclusive_minimum else value >= minimum
    ok = ok and (maximum is None or value <= maximum)
    if not ok:
        expected = _range(unit or "a number", minimum, maximum, exclusive_minimum) + (f" ({what})" if what else "")
        raise invalid(name, value, expected, error)
    return float(value)


def check_bool(name: str, value: Any, error: type[ValueError] = ValueError) -> bool:
    """A real ``bool`` (not 0/1 or a string)."""
    if not isinstance(value, bool):
        raise invalid(name, value, "True or False", error)
    return value


def check_choice(name: str, value: Any, choices: Iterable[str], error: type[ValueError] = ValueError) -> str:
    """One of ``choices``."""
    valid = tuple(choices)
    if value not in valid:
        raise invalid(name, value, "valid values: " + ", ".join(valid), error)
    return str(value)


def is_true(text: object) -> bool:
    """True for the text ``true`` in any case (spaces around ignored), as the OpenTelemetry SDK reads a boolean;
    anything else (``1``, ``yes``, ``on``, None) is false.

    >>> is_true(" True "), is_true("1"), is_true("yes"), is_true(None)
    (True, False, False, False)
    """
    return isinstance(text, str) and text.strip().lower() == "true"


def env_flag(name: str, environ: Mapping[str, str] | None = None, *, error: type[ValueError] | None = None) -> bool:
    """The boolean environment variable ``name`` (of ``environ``, default ``os.environ``), read as the SDK
    reads ``OTEL_SDK_DISABLED``: see :func:`is_true`. A value other than ``true``, ``false`` or empty is
    false and warns once per value; with ``error`` it raises that instead (a setting read at start-up)."""
    raw = (os.environ if environ is None else environ).get(name, "")
    if is_true(raw):
        return True
    if raw.strip().lower() not in ("false", ""):
        if error is not None:
            raise invalid(name, raw, _BOOLEAN_VALUES, error)
        if (name, raw) not in _warned:
            _warned.add((name, raw))
            _log.warning("%s = %r is not valid; %s. Using false.", name, raw, _BOOLEAN_VALUES)
    return False
