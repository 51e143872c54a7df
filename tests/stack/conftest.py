"""Fixtures of the stack tests: the module-scoped webhook receiver for Alertmanager notifications."""

from tests.stack.alertmanagers import receiver  # noqa: F401 - re-exported fixture
