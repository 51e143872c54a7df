"""Input and output validation that reports failures on the current span.

Each validator returns the value it accepted, so it can be used inline, and
raises :class:`~heritage_otel.errors.ValidationError` otherwise. The error's
message names the field, the bad value (shortened) and what is valid; its
``field``, ``value`` and ``expected`` attributes say the same for code. Every
failure also adds a ``heritage.validation.failed`` event to the current span
(a no-op when there is none), with ``heritage.validation.field``,
``heritage.validation.value`` and ``heritage.validation.expected``.

Query text is sensitive: in messages, exceptions and span events it appears
as a digest (``sha256:...``, see :mod:`heritage_otel.hashing`) plus its
length, unless raw capture is enabled (``capture_query_text=True`` or
``HERITAGE_OTEL_CAPTURE_QUERY_TEXT=true``); then at most its first 40
characters are shown.

>>> inputs = InputValidator()
>>> inputs.validate_query_text("stained glass windows")
'stained glass windows'
>>> inputs.validate_top_k(10)
10
>>> inputs.validate_top_k(True)
Traceback (most recent call last):
...
heritage_otel.errors.ValidationError: top_k: expected an integer from 1 to 100 (not a bool), got True
>>> outputs = OutputValidator()
>>> outputs.validate_recommendations([{"doc_id": "d1", "score": 0.9}, {"doc_id": "d2", "score": 0.7}])
[{'doc_id': 'd1', 'score': 0.9}, {'doc_id': 'd2', 'score': 0.7}]
>>> outputs.validate_component_scores({"simrank": 0.5, "embedding": float("nan")})
Traceback (most recent call last):
...
heritage_otel.errors.ValidationError: component_scores['embedding']: expected a finite number, got nan
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

from opentelemetry import trace

from heritage_otel import semconv
from heritage_otel.errors import ValidationError
from heritage_otel.hashing import capture_query_text_enabled, hash_query_text

__all__ = ["InputValidator", "OutputValidator", "describe_value"]

#: Longest rendering of a bad value in a message or span event.
VALUE_PREVIEW_CHARS: Final = 40
_Seq = TypeVar("_Seq", bound=Sequence[Any])


def describe_value(value: Any, limit: int = VALUE_PREVIEW_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (with the full length when cut).

    >>> describe_value(7)
    '7'
    >>> describe_value("x" * 100, limit=10)
    "'xxxxxxxx… (100 chars)"
    """
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the validation error
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    size = f" ({len(value)} chars)" if isinstance(value, str) else ""
    return text[: limit - 1] + "…" + size


def _fail(field: str, value: str, expected: str, got: str | None = None) -> ValidationError:
    """Build the error and add the span event; ``value`` is already safe to export."""
    message = f"{field}: expected {expected}, got {got if got is not None else value}"
    span = trace.get_current_span()
    if span.is_recording():
        try:
            span.add_event(
                semconv.EVENT_VALIDATION_FAILED,
                {
                    semconv.VALIDATION_FIELD: field,
                    semconv.VALIDATION_VALUE: value,
                    semconv.VALIDATION_EXPECTED: expected,
                },
            )
        except Exception:  # noqa: BLE001 - telemetry never hides the validation error
            pass
    return ValidationError(message, field=field, value=value, expected=expected)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    """A real number that is finite as a float (``10**400`` is not: it overflows)."""
    try:
        return _is_real(value) and math.isfinite(value)
    except OverflowError:
        return False


def _blank(text: str) -> bool:
    """Only whitespace and invisible format characters (zero-width spaces and joiners, BOM)."""
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in text)


def _require_positive_int(setting: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"{setting} = {value!r} is not valid; expected an integer >= 1"
        raise ValueError(msg)
    return value


class InputValidator:
    """Checks the inputs of a recommendation query.

    ``max_query_chars`` and ``max_top_k`` default to the seed's limits (1000
    characters, 100 results). ``capture_query_text`` decides whether a bad
    query's text may appear (shortened) in messages and events; by default the
    environment decides and the text is hashed.
    """

    def __init__(
        self,
        *,
        max_query_chars: int = 1000,
        min_top_k: int = 1,
        max_top_k: int = 100,
        capture_query_text: bool | None = None,
    ) -> None:
        self.max_query_chars = _require_positive_int("max_query_chars", max_query_chars)
        self.min_top_k = _require_positive_int("min_top_k", min_top_k)
        self.max_top_k = _require_positive_int("max_top_k", max_top_k)
        if self.max_top_k < self.min_top_k:
            msg = f"max_top_k = {max_top_k!r} is not valid; expected an integer >= min_top_k ({min_top_k})"
            raise ValueError(msg)
        self.capture_query_text = capture_query_text

    def _query_value(self, text: str) -> str:
        if capture_query_text_enabled(self.capture_query_text):
            return describe_value(text)
        return f"{hash_query_text(text)} ({len(text)} chars)"

    def validate_query_text(self, query_text: Any, field: str = "query_text") -> str:
        """Return ``query_text`` if it is a non-blank string of 1 to ``max_query_chars`` characters.

        >>> InputValidator(capture_query_text=True).validate_query_text("   ")
        Traceback (most recent call last):
        ...
        heritage_otel.errors.ValidationError: query_text: expected a non-blank string of 1 to 1000 characters, got '   '
        """
        expected = f"a non-blank string of 1 to {self.max_query_chars} characters"
        if not isinstance(query_text, str):
            raise _fail(field, describe_value(query_text), expected, f"{type(query_text).__name__} {describe_value(query_text)}")
        if _blank(query_text) or len(query_text) > self.max_query_chars:
            raise _fail(field, self._query_value(query_text), expected)
        return query_text

    def validate_top_k(self, top_k: Any, field: str = "top_k") -> int:
        """Return ``top_k`` as an ``int`` if it is an integer from ``min_top_k`` to ``max_top_k``.

        Booleans are rejected (``True`` is an ``int`` in Python, never a count);
        integral numbers of other types (``numpy.int64``) are accepted.

        >>> InputValidator().validate_top_k(101)
        Traceback (most recent call last):
        ...
        heritage_otel.errors.ValidationError: top_k: expected an integer from 1 to 100 (not a bool), got 101
        """
        expected = f"an integer from {self.min_top_k} to {self.max_top_k} (not a bool)"
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral):
            raise _fail(field, describe_value(top_k), expected)
        if not self.min_top_k <= top_k <= self.max_top_k:
            raise _fail(field, describe_value(top_k), expected)
        return int(top_k)


class OutputValidator:
    """Checks what a recommender returns.

    A recommendation is a mapping with at least ``id_field`` (a non-empty
    string or an integer, unique within the list) and ``score_field`` (a
    finite number, within ``score_range`` if given), plus every name in
    ``required_fields``. ``allow_empty=False`` rejects an empty list.

    >>> OutputValidator(id_field="id").validate_recommendations([{"id": 1, "score": 1}, {"id": 1, "score": 0.5}])
    Traceback (most recent call last):
    ...
    heritage_otel.errors.ValidationError: recommendations[1].id: expected a document id unique in the list, got 1
    """

    def __init__(
        self,
        *,
        id_field: str = "doc_id",
        score_field: str = "score",
        required_fields: Sequence[str] = (),
        score_range: tuple[float, float] | None = None,
        allow_empty: bool = True,
    ) -> None:
        for setting, name in (("id_field", id_field), ("score_field", score_field)):
            if not isinstance(name, str) or not name:
                msg = f"{setting} = {name!r} is not valid; expected a non-empty field name"
                raise ValueError(msg)
        if isinstance(required_fields, str) or not all(isinstance(n, str) and n for n in required_fields):
            msg = f"required_fields = {required_fields!r} is not valid; expected a sequence of non-empty field names"
            raise ValueError(msg)
        if score_range is not None:
            ok = (
                len(score_range) == 2
                and all(_finite(v) for v in score_range)
                and score_range[0] <= score_range[1]
            )
            if not ok:
                msg = f"score_range = {score_range!r} is not valid; expected (low, high) finite numbers with low <= high"
                raise ValueError(msg)
        self.id_field = id_field
        self.score_field = score_field
        self.score_range = score_range
        self.allow_empty = allow_empty
        self.required_fields: tuple[str, ...] = tuple(
            dict.fromkeys((id_field, score_field, *required_fields))
        )

    def _score_expected(self) -> str:
        if self.score_range is None:
            return "a finite number"
        low, high = self.score_range
        return f"a finite number from {low} to {high}"

    def validate_recommendations(self, recommendations: _Seq, field: str = "recommendations") -> _Seq:
        """Return ``recommendations`` (the same object) if every item is a valid recommendation."""
        expected_list = "a list of mappings" + ("" if self.allow_empty else " (at least one)")
        if isinstance(recommendations, (str, bytes, Mapping)) or not isinstance(recommendations, Sequence):
            raise _fail(field, describe_value(recommendations), expected_list,
                        f"{type(recommendations).__name__} {describe_value(recommendations)}")
        if not recommendations and not self.allow_empty:
            raise _fail(field, "[]", expected_list)
        seen: set[Any] = set()
        for index, item in enumerate(recommendations):
            where = f"{field}[{index}]"
            if not isinstance(item, Mapping):
                raise _fail(where, describe_value(item), "a mapping", f"{type(item).__name__} {describe_value(item)}")
            missing = [name for name in self.required_fields if name not in item]
            if missing:
                fields = ", ".join(self.required_fields)
                raise _fail(where, describe_value(sorted(map(str, item.keys()))),
                            f"a mapping with the fields {fields}", f"a mapping without {', '.join(missing)}")
            doc_id = item[self.id_field]
            id_where = f"{where}.{self.id_field}"
            id_ok = (isinstance(doc_id, str) and doc_id != "") or (
                isinstance(doc_id, numbers.Integral) and not isinstance(doc_id, bool)
            )
            if not id_ok:
                raise _fail(id_where, describe_value(doc_id), "a non-empty string or an integer document id")
            if doc_id in seen:
                raise _fail(id_where, describe_value(doc_id), "a document id unique in the list")
            seen.add(doc_id)
            self._check_score(f"{where}.{self.score_field}", item[self.score_field])
        return recommendations

    def _check_score(self, where: str, score: Any) -> float:
        expected = self._score_expected()
        if not _finite(score):
            raise _fail(where, describe_value(score), expected)
        if self.score_range is not None and not self.score_range[0] <= score <= self.score_range[1]:
            raise _fail(where, describe_value(score), expected)
        return float(score)

    def validate_component_scores(
        self, component_scores: Any, field: str = "component_scores"
    ) -> dict[str, float]:
        """Return the scores as a new ``{component: float}`` dict if every score is finite.

        Component names must be non-empty strings. Scores are not range-checked
        (components score on different scales).

        >>> OutputValidator().validate_component_scores({"simrank": 1, "horn_index": 0.25})
        {'simrank': 1.0, 'horn_index': 0.25}
        """
        if not isinstance(component_scores, Mapping):
            raise _fail(field, describe_value(component_scores), "a mapping of component name to finite number",
                        f"{type(component_scores).__name__} {describe_value(component_scores)}")
        validated: dict[str, float] = {}
        for name, score in component_scores.items():
            if not isinstance(name, str) or not name:
                raise _fail(f"{field} key", describe_value(name), "a non-empty component name")
            where = f"{field}[{name!r}]"
            if not _finite(score):
                raise _fail(where, describe_value(score), "a finite number")
            validated[name] = float(score)
        return validated
