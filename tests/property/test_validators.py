"""Property-based tests of the validators: every input is either accepted unchanged or rejected with a
ValidationError naming the field and what is valid; the input is never mutated."""

from __future__ import annotations

import copy
import math
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heritage_otel.errors import ValidationError
from heritage_otel.validation import InputValidator, OutputValidator

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=50),
                     st.binary(max_size=20), st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))


def _valid_query(value: Any) -> bool:
    visible = isinstance(value, str) and any(not (c.isspace() or unicodedata.category(c) == "Cf") for c in value)
    return visible and len(value) <= 1000  # zero-width spaces, joiners and BOMs are blank too


@SETTINGS
@given(st.one_of(st.text(max_size=1200), st.text(min_size=990, max_size=1010), anything))
def test_query_text_accepted_iff_valid_else_clear_error(value: Any) -> None:
    validator = InputValidator()
    if _valid_query(value):
        assert validator.validate_query_text(value) is value
        return
    try:
        validator.validate_query_text(value)
    except ValidationError as exc:
        assert exc.field == "query_text"
        assert "query_text" in str(exc) and "1 to 1000" in str(exc)
        if isinstance(value, str) and len(value) > 40 and value.strip():
            assert value not in str(exc), "query text echoed raw in the error"
    else:
        raise AssertionError(f"{value!r} was accepted")


@SETTINGS
@given(anything)
def test_top_k_accepted_iff_integer_in_range(value: Any) -> None:
    validator = InputValidator()
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100
    if ok:
        assert validator.validate_top_k(value) == value
        return
    try:
        validator.validate_top_k(value)
    except ValidationError as exc:
        assert exc.field == "top_k" and "1 to 100" in str(exc)
    else:
        raise AssertionError(f"{value!r} was accepted")


doc_ids = st.one_of(st.text(min_size=1, max_size=6), st.integers(0, 20), st.none())
scores = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5), st.text(max_size=3),
                   st.none(), st.booleans())
items = st.one_of(
    st.fixed_dictionaries({"doc_id": doc_ids, "score": scores}),
    st.fixed_dictionaries({"doc_id": doc_ids}),
    st.fixed_dictionaries({"score": scores}),
    st.text(max_size=3), st.integers(),
)


def _valid_recommendations(value: Any) -> bool:
    if not isinstance(value, list):
        return False
    seen = set()
    for item in value:
        if not isinstance(item, dict) or "doc_id" not in item or "score" not in item:
            return False
        doc_id, score = item["doc_id"], item["score"]
        if doc_id is None or (isinstance(doc_id, str) and not doc_id.strip()):
            return False
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            return False
        if doc_id in seen:
            return False
        seen.add(doc_id)
    return True


@SETTINGS
@given(st.one_of(st.lists(items, max_size=6), anything))
def test_recommendations_accepted_unchanged_or_rejected_naming_the_field(value: Any) -> None:
    before = copy.deepcopy(value)
    validator = OutputValidator()
    try:
        out = validator.validate_recommendations(value)
    except ValidationError as exc:
        assert exc.field and str(exc).startswith(exc.field.split("[")[0])
        assert "expected" in str(exc)
        accepted = False
    else:
        assert out is value
        accepted = True
    assert value == before or (value != value), "the validator mutated its input"
    if _valid_recommendations(value):
        assert accepted, f"a valid list was rejected: {value!r}"


@SETTINGS
@given(st.one_of(st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), scores, max_size=4), anything))
def test_component_scores_accepted_iff_names_map_to_finite_numbers(value: Any) -> None:
    validator = OutputValidator()
    ok = isinstance(value, dict) and all(
        isinstance(k, str) and k and not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
        for k, v in value.items())
    try:
        validator.validate_component_scores(value)
    except ValidationError as exc:
        assert not ok, f"valid scores rejected: {value!r}: {exc}"
        assert "component_scores" in str(exc)
    else:
        assert ok, f"{value!r} was accepted"
