"""Fixtures for the instrumentor tests: a reference recommender, instrumented for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from heritage_otel.examples.recommender import HeritageRecommender
from heritage_otel.instrumentation import RecommenderInstrumentor


@pytest.fixture()
def instrumentor() -> Iterator[RecommenderInstrumentor]:
    """The (singleton) instrumentor, uninstrumented after the test whatever happened."""
    inst = RecommenderInstrumentor()
    if inst.is_instrumented_by_opentelemetry:
        inst.uninstrument()
    yield inst
    if inst.is_instrumented_by_opentelemetry:
        inst.uninstrument()


@pytest.fixture()
def instrumented(telemetry, instrumentor) -> RecommenderInstrumentor:
    """Instrumented against the ``telemetry`` fixture's global providers."""
    instrumentor.instrument()
    return instrumentor


@pytest.fixture()
def rec() -> HeritageRecommender:
    """A reference recommender with a fresh cache and no faults."""
    return HeritageRecommender(seed=7)
