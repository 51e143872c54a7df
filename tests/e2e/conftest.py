"""Fixtures of the end-to-end tests: the real Collector and Jaeger on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from heritage_otel.stack import Stack, StackError, StackPorts
from heritage_otel.stack.ports import free_ports
from heritage_otel.stack.process import log_path, tail
from tests.helpers import BIN_DIR, REPO_ROOT, require_binary

#: Settings that make tail sampling decide quickly (tests wait for decisions).
FAST_SAMPLING_ENV = {
    "HERITAGE_OTEL_SAMPLING_DECISION_WAIT": "3s",
    "HERITAGE_OTEL_SAMPLING_DECISION_WAIT_AFTER_ROOT": "1s",
    "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT": "200ms",
    # bursts of test traffic: every error, fallback and slow trace kept (the cap has a test of its own)
    "HERITAGE_OTEL_SAMPLING_MAX_SPANS_PER_SEC": "1000000",
}


def stack_logs(stack: Stack) -> str:
    """The last lines of every component's log (for assertion messages)."""
    return "\n".join(
        f"--- {spec.name} log ---\n{tail(log_path(spec.name, stack.state_dir), 25)}" for spec in stack.components()
    )


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """``start_stack(jaeger_storage="memory", **env)``: a running Stack, stopped after the test whatever happens."""
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    stacks: list[Stack] = []

    def _start(*, jaeger_storage: str = "memory", **env: str) -> Stack:
        for attempt in range(3):
            *ports, nobody = free_ports(11)
            stack = Stack(
                tmp_path / f"state{len(stacks)}",
                ports=StackPorts(*ports),
                jaeger_storage=jaeger_storage,
                # Nothing listens there: metrics export fails quietly, as with no Analyzer running.
                extra_env={"HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{nobody}",
                           **FAST_SAMPLING_ENV, **env},
                repo=REPO_ROOT,
            )
            stacks.append(stack)
            try:
                stack.up(timeout_s=60)
            except StackError as exc:
                # Another process took a chosen port between the choice and the bind: choose again.
                if attempt < 2 and ("address already in use" in str(exc) or "ports already in use" in str(exc)):
                    continue
                raise
            return stack
        raise AssertionError("unreachable")

    try:
        yield _start
    finally:
        for stack in stacks:
            stack.down(timeout_s=20)
