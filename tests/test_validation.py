"""heritage_otel.validation: what is accepted, what is rejected, and what the span shows."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
from opentelemetry import trace

from heritage_otel import semconv
from heritage_otel.errors import HeritageError, Severity, ValidationError
from heritage_otel.hashing import hash_query_text
from heritage_otel.validation import InputValidator, OutputValidator, describe_value

SECRET_QUERY = "confidential query about the Duke's private letters " * 30  # 1620 chars


def _failed_events(telemetry, span_name="request"):
    span = telemetry.span(span_name)
    return [e for e in span.events if e.name == semconv.EVENT_VALIDATION_FAILED]


def _reject(telemetry, call):
    """Run ``call`` inside a span; return (error, the one validation event)."""
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("request"):
        with pytest.raises(ValidationError) as caught:
            call()
    events = _failed_events(telemetry)
    assert len(events) == 1
    return caught.value, events[0]


# --- query text ---------------------------------------------------------------
@pytest.mark.parametrize("text", ["a", "medieval manuscripts", "x" * 1000, "  padded  "])
def test_query_text_valid_is_returned_unchanged(telemetry, text):
    """A non-blank string of 1..1000 characters is returned as is, with no event."""
    with trace.get_tracer("test").start_as_current_span("request"):
        assert InputValidator().validate_query_text(text) is text
    assert _failed_events(telemetry) == []


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_query_text_blank_rejected(telemetry, text):
    """Empty and whitespace-only text raise, naming the field and the valid range."""
    error, event = _reject(telemetry, lambda: InputValidator().validate_query_text(text))
    assert error.field == "query_text"
    assert "query_text" in str(error) and "1 to 1000 characters" in str(error)
    assert event.attributes[semconv.VALIDATION_FIELD] == "query_text"
    assert event.attributes[semconv.VALIDATION_EXPECTED] == "a non-blank string of 1 to 1000 characters"


def test_query_text_1001_chars_rejected_and_hashed(telemetry):
    """1001 characters is one too many; the event and message carry a digest, not the text."""
    text = "q" * 1001
    error, event = _reject(telemetry, lambda: InputValidator().validate_query_text(text))
    expected_value = f"{hash_query_text(text)} (1001 chars)"
    assert event.attributes[semconv.VALIDATION_VALUE] == expected_value
    assert error.value == expected_value
    assert "qqqq" not in str(error)


def test_query_text_never_raw_by_default(telemetry, monkeypatch):
    """Without opt-in, no part of the query text is in the message, the error or the event."""
    monkeypatch.delenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", raising=False)
    error, event = _reject(telemetry, lambda: InputValidator().validate_query_text(SECRET_QUERY))
    for text in (str(error), str(error.value), *map(str, event.attributes.values())):
        assert "Duke" not in text and "confidential" not in text


def test_query_text_opt_in_shows_truncated_text(telemetry):
    """With capture enabled the message shows at most the first 40 characters."""
    error, event = _reject(
        telemetry, lambda: InputValidator(capture_query_text=True).validate_query_text(SECRET_QUERY)
    )
    value = event.attributes[semconv.VALIDATION_VALUE]
    assert value[1:].startswith("confidential query about")
    assert len(value) < 60 and value.endswith(f"({len(SECRET_QUERY)} chars)")
    assert value in str(error)
    assert SECRET_QUERY not in str(error)


def test_query_text_opt_in_from_environment(telemetry, monkeypatch):
    """HERITAGE_OTEL_CAPTURE_QUERY_TEXT=true opts in when the argument is not given."""
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "true")
    _, event = _reject(telemetry, lambda: InputValidator().validate_query_text("   "))
    assert event.attributes[semconv.VALIDATION_VALUE] == "'   '"


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["list"]])
def test_query_text_wrong_type_rejected(telemetry, value):
    """Anything but a str is rejected, and the message says what type it was."""
    error, event = _reject(telemetry, lambda: InputValidator().validate_query_text(value))
    assert type(value).__name__ in str(error)
    assert event.attributes[semconv.VALIDATION_VALUE] == repr(value)


# --- top_k -----------------------------------------------------------------------
@pytest.mark.parametrize("value", [1, 10, 100, np.int64(5)])
def test_top_k_valid(value):
    """Integers 1..100 (numpy integers too) are returned as plain ints."""
    result = InputValidator().validate_top_k(value)
    assert result == int(value) and type(result) is int


@pytest.mark.parametrize("value", [True, False, 0, 101, -5, 5.0, "10", None, float("nan")])
def test_top_k_invalid_rejected(telemetry, value):
    """bool, out-of-range ints, floats and strings are rejected with the valid range."""
    error, event = _reject(telemetry, lambda: InputValidator().validate_top_k(value))
    assert error.field == "top_k"
    assert "1 to 100" in str(error)
    assert event.attributes[semconv.VALIDATION_VALUE] == repr(value)
    assert event.attributes[semconv.VALIDATION_EXPECTED] == "an integer from 1 to 100 (not a bool)"


def test_top_k_custom_range():
    """The valid range is configurable."""
    validator = InputValidator(max_top_k=20)
    assert validator.validate_top_k(20) == 20
    with pytest.raises(ValidationError, match="1 to 20"):
        validator.validate_top_k(21)


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [({"max_top_k": 0}, "max_top_k"), ({"min_top_k": True}, "min_top_k"), ({"max_query_chars": -1}, "max_query_chars"),
     ({"min_top_k": 10, "max_top_k": 5}, "max_top_k")],
)
def test_input_validator_bad_configuration_fails_fast(kwargs, setting):
    """A bad limit fails at construction, naming the setting."""
    with pytest.raises(ValueError, match=setting):
        InputValidator(**kwargs)


# --- recommendations --------------------------------------------------------------
def test_recommendations_valid_returns_same_object(telemetry):
    """A valid list is returned as the same object, with no event."""
    recs = [{"doc_id": "a", "score": 0.9}, {"doc_id": 2, "score": 1}, OrderedDict(doc_id="c", score=np.float32(0.1))]
    with trace.get_tracer("test").start_as_current_span("request"):
        assert OutputValidator().validate_recommendations(recs) is recs
        assert OutputValidator().validate_recommendations([]) == []
    assert _failed_events(telemetry) == []


@pytest.mark.parametrize("score", [float("nan"), float("inf"), -math.inf, "0.5", None, True, np.float64("nan")])
def test_recommendation_non_finite_score_rejected(telemetry, score):
    """NaN, infinities, strings, None and bools are not scores."""
    recs = [{"doc_id": "a", "score": 0.5}, {"doc_id": "b", "score": score}]
    error, event = _reject(telemetry, lambda: OutputValidator().validate_recommendations(recs))
    assert error.field == "recommendations[1].score"
    assert event.attributes[semconv.VALIDATION_FIELD] == "recommendations[1].score"
    assert event.attributes[semconv.VALIDATION_EXPECTED] == "a finite number"
    assert "recommendations[1].score: expected a finite number, got" in str(error)


def test_recommendation_duplicate_ids_rejected(telemetry):
    """The second occurrence of an id is named."""
    recs = [{"doc_id": "a", "score": 0.5}, {"doc_id": "b", "score": 0.4}, {"doc_id": "a", "score": 0.1}]
    error, event = _reject(telemetry, lambda: OutputValidator().validate_recommendations(recs))
    assert error.field == "recommendations[2].doc_id"
    assert event.attributes[semconv.VALIDATION_VALUE] == "'a'"
    assert "unique" in event.attributes[semconv.VALIDATION_EXPECTED]


@pytest.mark.parametrize("missing", ["doc_id", "score"])
def test_recommendation_missing_field_rejected(telemetry, missing):
    """A recommendation without a required field is rejected, naming the field."""
    item = {"doc_id": "a", "score": 0.5}
    del item[missing]
    error, event = _reject(telemetry, lambda: OutputValidator().validate_recommendations([item]))
    assert error.field == "recommendations[0]"
    assert f"without {missing}" in str(error)
    assert event.attributes[semconv.VALIDATION_EXPECTED] == "a mapping with the fields doc_id, score"


def test_recommendation_configurable_fields(telemetry):
    """Field names and extra required fields come from the constructor."""
    validator = OutputValidator(id_field="id", score_field="relevance", required_fields=("title",))
    good = [{"id": "x", "relevance": 0.2, "title": "Letters"}]
    assert validator.validate_recommendations(good) is good
    error, _ = _reject(telemetry, lambda: validator.validate_recommendations([{"id": "x", "relevance": 0.2}]))
    assert "without title" in str(error)
    assert "id, relevance, title" in str(error)


@pytest.mark.parametrize("item", [("a", 0.5), "a", 7, None])
def test_recommendation_non_mapping_item_rejected(telemetry, item):
    """Every item must be a mapping."""
    error, event = _reject(telemetry, lambda: OutputValidator().validate_recommendations([item]))
    assert error.field == "recommendations[0]"
    assert event.attributes[semconv.VALIDATION_EXPECTED] == "a mapping"


@pytest.mark.parametrize("value", [None, "doc", {"doc_id": "a", "score": 1.0}, 5])
def test_recommendations_not_a_list_rejected(telemetry, value):
    """A string, a single mapping or a scalar is not a list of recommendations."""
    error, _ = _reject(telemetry, lambda: OutputValidator().validate_recommendations(value))
    assert error.field == "recommendations"


@pytest.mark.parametrize("doc_id", ["", None, True, 1.5])
def test_recommendation_bad_id_rejected(telemetry, doc_id):
    """Ids are non-empty strings or integers."""
    error, _ = _reject(telemetry, lambda: OutputValidator().validate_recommendations([{"doc_id": doc_id, "score": 1}]))
    assert error.field == "recommendations[0].doc_id"


def test_recommendations_empty_rejected_when_configured(telemetry):
    """allow_empty=False rejects an empty list."""
    error, _ = _reject(telemetry, lambda: OutputValidator(allow_empty=False).validate_recommendations([]))
    assert "at least one" in str(error)


def test_recommendation_score_range(telemetry):
    """score_range bounds the score, inclusive."""
    validator = OutputValidator(score_range=(0.0, 1.0))
    assert validator.validate_recommendations([{"doc_id": "a", "score": 1.0}])
    error, _ = _reject(telemetry, lambda: validator.validate_recommendations([{"doc_id": "a", "score": 1.01}]))
    assert "a finite number from 0.0 to 1.0" in str(error)


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [({"id_field": ""}, "id_field"), ({"score_field": 3}, "score_field"), ({"required_fields": "title"}, "required_fields"),
     ({"score_range": (1.0, 0.0)}, "score_range"), ({"score_range": (0.0, math.inf)}, "score_range")],
)
def test_output_validator_bad_configuration_fails_fast(kwargs, setting):
    """A bad field name or range fails at construction, naming the setting."""
    with pytest.raises(ValueError, match=setting):
        OutputValidator(**kwargs)


# --- component scores ---------------------------------------------------------------
def test_component_scores_valid_are_floats():
    """Scores come back as a new dict of floats."""
    scores = {"simrank": 1, "horn_index": np.float32(0.5), "embedding": -0.25}
    result = OutputValidator().validate_component_scores(scores)
    assert result == {"simrank": 1.0, "horn_index": 0.5, "embedding": -0.25}
    assert all(type(v) is float for v in result.values())


@pytest.mark.parametrize("score", [float("nan"), float("inf"), "0.3", None, False])
def test_component_scores_non_finite_rejected(telemetry, score):
    """A non-finite or non-numeric score names its component."""
    error, event = _reject(
        telemetry, lambda: OutputValidator().validate_component_scores({"simrank": 0.1, "embedding": score})
    )
    assert error.field == "component_scores['embedding']"
    assert event.attributes[semconv.VALIDATION_FIELD] == "component_scores['embedding']"


@pytest.mark.parametrize("scores", [[("simrank", 0.1)], None, {"": 0.1}, {3: 0.1}])
def test_component_scores_bad_shape_rejected(telemetry, scores):
    """Not a mapping, or a key that is not a component name."""
    error, _ = _reject(telemetry, lambda: OutputValidator().validate_component_scores(scores))
    assert error.field.startswith("component_scores")


# --- error type, truncation, no-span behaviour -------------------------------------------
def test_validation_error_is_a_medium_heritage_error():
    """ValidationError is a HeritageError of medium severity carrying field/value/expected."""
    with pytest.raises(ValidationError) as caught:
        InputValidator().validate_top_k(0)
    assert isinstance(caught.value, HeritageError)
    assert caught.value.severity <= Severity.MEDIUM
    assert (caught.value.field, caught.value.value) == ("top_k", "0")


def test_long_value_is_truncated_in_message_and_event(telemetry):
    """A huge bad value is cut to 40 characters in the message and the event."""
    huge = list(range(10_000))
    error, event = _reject(telemetry, lambda: InputValidator().validate_top_k(huge))
    assert len(event.attributes[semconv.VALIDATION_VALUE]) <= 40
    assert len(str(error)) < 200


def test_validation_without_span_or_configure_still_raises():
    """With no active span (or no SDK at all) validation still raises and returns values."""
    assert InputValidator().validate_query_text("ok") == "ok"
    with pytest.raises(ValidationError):
        InputValidator().validate_top_k(0)


def test_describe_value_survives_broken_repr():
    """A value whose __repr__ raises is still described."""

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("boom")

    assert describe_value(Broken()) == "<Broken>"


def test_docstring_examples():
    """The runnable examples in heritage_otel.validation pass."""
    import doctest

    import heritage_otel.validation

    result = doctest.testmod(heritage_otel.validation)
    assert result.attempted > 0 and result.failed == 0
