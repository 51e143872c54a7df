"""Fixtures shared with the trace-reading tests (a real Jaeger, sample traces)."""

from tests.traces.conftest import jaeger_stack, sent  # noqa: F401 - pytest fixtures
