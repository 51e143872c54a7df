"""Fixtures shared with the instrumentor tests (the singleton instrumentor, uninstrumented after each test)
and the stack tests (the webhook receiver of Alertmanager notifications)."""

from tests.instrumentation.conftest import instrumentor  # noqa: F401 - re-exported fixture
from tests.stack.alertmanagers import receiver  # noqa: F401 - re-exported fixture
