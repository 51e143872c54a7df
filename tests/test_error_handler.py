"""The seed's section 1 examples (fallback chain, error-handling decorator) as written, imports from one module."""

from __future__ import annotations

import pytest


def test_seed_fallback_chain_and_decorator_examples_run_as_written(telemetry) -> None:
    """The fallback chain tries priority 3, 2, 1 and returns (result, strategy_used); the decorator returns the
    fallback value for a handled error and lets a CriticalError through; both are recorded."""
    from heritage_otel import semconv
    from heritage_otel.error_handler import CriticalError, ErrorHandler, FallbackChain, HighSeverityError

    tried = []

    def primary_func(query):
        tried.append("primary_simrank")
        raise HighSeverityError("simrank index unavailable")

    def fallback_func(query):
        tried.append("fallback_horn")
        return [f"horn:{query}"]

    def basic_func(query):
        tried.append("basic_embedding")
        return [f"embedding:{query}"]

    args = "temple architecture"
    # --- the seed's "Fallback Chain System" ---
    chain = FallbackChain("ranking_chain")
    chain.add_strategy("primary_simrank", primary_func, priority=3)
    chain.add_strategy("fallback_horn", fallback_func, priority=2)
    chain.add_strategy("basic_embedding", basic_func, priority=1)

    result, strategy_used = chain.execute(args)
    assert (result, strategy_used, tried) == (["horn:temple architecture"], "fallback_horn",
                                              ["primary_simrank", "fallback_horn"])

    # --- the seed's "Automatic Error Handling Decorator" ---
    handler = ErrorHandler()
    default = []

    @handler.handle_errors("component_name", fallback_value=default)
    def risky_operation():
        # Automatically wrapped with error handling
        raise ValueError("index file missing")

    @handler.handle_errors("component_name", fallback_value=default)
    def fatal_operation():
        raise CriticalError("knowledge graph corrupted")

    assert risky_operation() == default
    with pytest.raises(CriticalError):
        fatal_operation()
    assert handler.error_counts == {"component_name": 2}
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.COMPONENT: "component_name"}) == 2
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.COMPONENT: "primary_simrank"}) == 1
