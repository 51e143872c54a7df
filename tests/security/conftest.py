"""Fixtures shared with the instrumentor tests (the singleton instrumentor, uninstrumented after each test)."""

from tests.instrumentation.conftest import instrumentor  # noqa: F401 - re-exported fixture
