"""FallbackChain: spans per attempt, outcomes, timeouts, rejection, async, exhaustion."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from opentelemetry.trace import StatusCode

from heritage_otel import semconv
from heritage_otel.errors import FallbackExhaustedError, ResultRejectedError
from heritage_otel.fallback import FallbackChain


def _fail(message: str):
    def strategy(*_args, **_kwargs):
        raise RuntimeError(message)

    return strategy


def _chain(**kwargs) -> FallbackChain:
    chain = FallbackChain("ranking_chain", **kwargs)
    chain.add_strategy("basic_embedding", lambda q: [f"embedding:{q}"], priority=1)
    chain.add_strategy("primary_simrank", lambda q: [f"simrank:{q}"], priority=3)
    chain.add_strategy("fallback_horn", lambda q: [f"horn:{q}"], priority=2)
    return chain


def _attempts(telemetry):
    chain_span = telemetry.span(semconv.SPAN_FALLBACK_CHAIN)
    return chain_span, telemetry.children_of(chain_span)


def test_primary_answers_with_one_attempt(telemetry):
    """Strategies run by descending priority; the primary answers, nothing degraded."""
    result, used = _chain().execute("temple")
    assert (result, used) == (["simrank:temple"], "primary_simrank")
    chain_span, attempts = _attempts(telemetry)
    assert [a.attributes[semconv.FALLBACK_STRATEGY] for a in attempts] == ["primary_simrank"]
    assert attempts[0].attributes[semconv.FALLBACK_OUTCOME] == "success"
    assert attempts[0].attributes[semconv.FALLBACK_PRIORITY] == 3
    assert chain_span.attributes[semconv.FALLBACK_STRATEGY_USED] == "primary_simrank"
    assert chain_span.attributes[semconv.FALLBACK_ATTEMPTS] == 1
    assert chain_span.attributes[semconv.FALLBACK_DEGRADED] is False
    assert not telemetry.events(chain_span, semconv.EVENT_FALLBACK_USED)


def test_failure_falls_back_and_says_so(telemetry, monkeypatch):
    """A failing primary is an error attempt; the fallback's answer is marked degraded."""
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "true")  # messages shown as they are (opt-in)
    chain = FallbackChain("ranking_chain")
    chain.add_strategy("primary_simrank", _fail("graph missing"), priority=3)
    chain.add_strategy("fallback_horn", lambda q: [q], priority=2)
    assert chain.execute("fort") == (["fort"], "fallback_horn")
    chain_span, attempts = _attempts(telemetry)
    assert [a.attributes[semconv.FALLBACK_OUTCOME] for a in attempts] == ["error", "success"]
    assert attempts[0].status.status_code == StatusCode.ERROR
    assert telemetry.events(attempts[0], "exception")[0].attributes["exception.message"] == "graph missing"
    assert chain_span.attributes[semconv.FALLBACK_DEGRADED] is True
    event = telemetry.events(chain_span, semconv.EVENT_FALLBACK_USED)[0]
    assert event.attributes[semconv.FALLBACK_STRATEGY_USED] == "fallback_horn"
    assert list(event.attributes[semconv.FALLBACK_FAILED_STRATEGIES]) == ["primary_simrank"]
    assert chain_span.status.status_code == StatusCode.UNSET


def test_fallbacks_counter_by_chain_and_strategy(telemetry):
    """heritage.fallbacks counts executions by chain, strategy used and degradation."""
    chain = FallbackChain("ranking_chain")
    chain.add_strategy("primary_simrank", _fail("x"), priority=3)
    chain.add_strategy("fallback_horn", lambda: 1, priority=2)
    for _ in range(3):
        chain.execute()
    attrs = {semconv.FALLBACK_CHAIN: "ranking_chain", semconv.FALLBACK_STRATEGY: "fallback_horn"}
    assert telemetry.metric_sum(semconv.METRIC_FALLBACKS, **attrs, **{semconv.FALLBACK_DEGRADED: True}) == 3


def test_all_strategies_failing_raises_with_every_error(telemetry):
    """Exhaustion raises FallbackExhaustedError listing each strategy, chain span ERROR."""
    chain = FallbackChain("ranking_chain")
    chain.add_strategy("a", _fail("first"), priority=2)
    chain.add_strategy("b", _fail("second"), priority=1)
    with pytest.raises(FallbackExhaustedError) as caught:
        chain.execute()
    assert list(caught.value.errors) == ["a", "b"]
    assert str(caught.value.errors["b"]) == "second"
    chain_span, attempts = _attempts(telemetry)
    assert len(attempts) == 2
    assert chain_span.status.status_code == StatusCode.ERROR
    assert chain_span.attributes[semconv.FALLBACK_ATTEMPTS] == 2
    assert telemetry.events(chain_span, "exception")[0].attributes["exception.escaped"] in (True, "True")
    assert telemetry.metric_sum(semconv.METRIC_FALLBACKS, **{semconv.FALLBACK_STRATEGY: "none"}) == 1


def test_empty_chain_is_exhausted(telemetry):
    """A chain with no strategy raises, saying so."""
    with pytest.raises(FallbackExhaustedError, match="no strategy registered"):
        FallbackChain("empty").execute()


def test_timeout_moves_on_and_is_recorded(telemetry):
    """A sync strategy past its timeout is a timeout attempt; the next one answers."""
    release = threading.Event()

    def slow():
        release.wait(5)
        return "too late"

    chain = FallbackChain("c")
    chain.add_strategy("slow", slow, priority=2, timeout_s=0.05)
    chain.add_strategy("fast", lambda: "fast", priority=1)
    try:
        assert chain.execute() == ("fast", "fast")
    finally:
        release.set()
    _, attempts = _attempts(telemetry)
    assert attempts[0].attributes[semconv.FALLBACK_OUTCOME] == "timeout"
    assert attempts[0].attributes[semconv.FALLBACK_TIMEOUT_S] == 0.05
    exc_event = telemetry.events(attempts[0], "exception")[0]
    assert exc_event.attributes["exception.type"].endswith("StrategyTimeoutError")


def test_timed_strategy_keeps_the_trace_context(telemetry):
    """Spans started inside a timed strategy's thread are children of its attempt span."""
    from opentelemetry import trace

    def traced():
        with trace.get_tracer("t").start_as_current_span("inner"):
            return "ok"

    chain = FallbackChain("c")
    chain.add_strategy("traced", traced, timeout_s=2)
    chain.execute()
    attempt = telemetry.span(semconv.SPAN_FALLBACK_ATTEMPT)
    assert telemetry.span("inner").parent.span_id == attempt.context.span_id


def test_rejected_result_moves_on(telemetry):
    """A result failing the check is a rejected attempt and the next strategy runs."""
    chain = FallbackChain("c", result_check=lambda result: bool(result))
    chain.add_strategy("empty", list, priority=2)
    chain.add_strategy("full", lambda: [1], priority=1)
    assert chain.execute() == ([1], "full")
    _, attempts = _attempts(telemetry)
    assert [a.attributes[semconv.FALLBACK_OUTCOME] for a in attempts] == ["rejected", "success"]


def test_only_rejections_exhaust_with_rejection_errors(telemetry):
    """When every result is rejected the exhausted error carries ResultRejectedError."""
    chain = FallbackChain("c", result_check=lambda result: False)
    chain.add_strategy("a", lambda: 1)
    with pytest.raises(FallbackExhaustedError) as caught:
        chain.execute()
    assert isinstance(caught.value.errors["a"], ResultRejectedError)


async def test_async_strategies(telemetry):
    """execute_async awaits coroutine strategies and falls back the same way."""

    async def broken(q):
        await asyncio.sleep(0)
        raise RuntimeError("down")

    async def working(q):
        await asyncio.sleep(0)
        return [q]

    chain = FallbackChain("c")
    chain.add_strategy("broken", broken, priority=2)
    chain.add_strategy("working", working, priority=1)
    assert await chain.execute_async("q") == (["q"], "working")
    _, attempts = _attempts(telemetry)
    assert [a.attributes[semconv.FALLBACK_OUTCOME] for a in attempts] == ["error", "success"]


async def test_async_timeout_cancels_the_coroutine(telemetry):
    """A coroutine strategy past its timeout is cancelled and recorded as timeout."""
    cancelled = asyncio.Event()

    async def hang():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    chain = FallbackChain("c")
    chain.add_strategy("hang", hang, priority=2, timeout_s=0.05)
    chain.add_strategy("sync_ok", lambda: "ok", priority=1)
    assert await chain.execute_async() == ("ok", "sync_ok")
    assert cancelled.is_set()
    _, attempts = _attempts(telemetry)
    assert attempts[0].attributes[semconv.FALLBACK_OUTCOME] == "timeout"


def test_coroutine_strategy_in_sync_execute_is_an_error(telemetry, monkeypatch):
    """A coroutine function in execute() fails that attempt with a clear message."""
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "true")  # messages shown as they are (opt-in)

    async def coro():
        return 1

    chain = FallbackChain("c")
    chain.add_strategy("coro", coro, priority=2)
    chain.add_strategy("plain", lambda: 2, priority=1)
    assert chain.execute() == (2, "plain")
    event = telemetry.events(telemetry.find_spans(semconv.SPAN_FALLBACK_ATTEMPT)[0], "exception")[0]
    assert "use execute_async" in event.attributes["exception.message"]


def test_keyboard_interrupt_propagates(telemetry):
    """BaseExceptions are not fallen back from."""

    def interrupt():
        raise KeyboardInterrupt

    chain = FallbackChain("c")
    chain.add_strategy("a", interrupt, priority=2)
    chain.add_strategy("b", lambda: 1, priority=1)
    with pytest.raises(KeyboardInterrupt):
        chain.execute()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "func": lambda: 1}, "strategy name = '' is not valid"),
        ({"name": "x", "func": 3}, "func = 3 is not valid"),
        ({"name": "x", "func": lambda: 1, "priority": "high"}, "priority = 'high' is not valid"),
        ({"name": "x", "func": lambda: 1, "timeout_s": -1}, "timeout_s = -1 is not valid"),
    ],
)
def test_bad_strategy_configuration_fails_fast(kwargs, message):
    """add_strategy names the bad setting and what is valid."""
    with pytest.raises((ValueError, TypeError), match=message):
        FallbackChain("c").add_strategy(**kwargs)


def test_duplicate_strategy_name_is_rejected():
    """Two strategies with one name would make the spans ambiguous."""
    chain = FallbackChain("c").add_strategy("a", lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        chain.add_strategy("a", lambda: 2)


def test_works_with_no_configure_at_all():
    """With no pipeline the chain still falls back (no-op telemetry)."""
    chain = FallbackChain("c")
    chain.add_strategy("a", _fail("x"), priority=2)
    chain.add_strategy("b", lambda: "b", priority=1)
    assert chain.execute() == ("b", "b")


def test_abandoned_timed_call_does_not_block_the_caller(telemetry):
    """The caller gets its answer at about the timeout, not when the slow call ends."""
    release = threading.Event()
    chain = FallbackChain("c")
    chain.add_strategy("slow", lambda: release.wait(5), priority=2, timeout_s=0.05)
    chain.add_strategy("fast", lambda: "fast", priority=1)
    started = time.monotonic()
    try:
        chain.execute()
        assert time.monotonic() - started < 4  # generous: only proves we did not wait for the 5 s call
    finally:
        release.set()


def test_execute_strategies_runs_per_call_strategies_by_priority(telemetry):
    """One chain, strategies given per call: tried by descending priority, with the chain's spans."""
    chain = FallbackChain("ranking_chain")
    calls = []
    strategies = [("basic_embedding", lambda q: calls.append("embedding") or [q], 1),
                  ("primary_simrank", _fail("simrank down"), 3)]
    assert chain.execute_strategies(strategies, "tomb") == (["tomb"], "basic_embedding")
    chain_span, attempts = _attempts(telemetry)
    assert [a.attributes[semconv.FALLBACK_STRATEGY] for a in attempts] == ["primary_simrank", "basic_embedding"]
    assert chain_span.attributes[semconv.FALLBACK_DEGRADED] is True
    assert chain.strategies == ()  # nothing registered


def test_execute_strategies_counts_an_uncallable_strategy_as_a_failed_attempt(telemetry):
    chain = FallbackChain("ranking_chain")
    result = chain.execute_strategies([("broken", None, 2), ("backup", str.upper, 1)], "tomb")
    assert result == ("TOMB", "backup")
    _, attempts = _attempts(telemetry)
    assert attempts[0].attributes[semconv.FALLBACK_OUTCOME] == semconv.OUTCOME_ERROR


def test_execute_strategies_never_raises_on_a_malformed_strategy_list(telemetry):
    """Priorities that do not compare keep the order given; a strategy of another shape is a failed attempt."""
    chain = FallbackChain("ranking_chain")
    assert chain.execute_strategies([("a", str.upper, None), ("b", str.lower, 1)], "Tomb") == ("TOMB", "a")
    assert chain.execute_strategies([("only a name",), ("b", str.lower, 1)], "Tomb") == ("tomb", "b")


_MYRANKER = '''
from heritage_otel.fallback import FallbackChain


def simrank_rank(query, top_k=10):
    raise RuntimeError("simrank down")


def vector_rank(query, top_k=10):
    return [] if query == "nothing" else [f"vector:{query}"][:top_k]


class Horn:
    def rank(self, query, top_k=10):
        return [f"horn:{query}"][:top_k]


horn = Horn()
chain = FallbackChain("ranking_chain", result_check=bool)   # built at import, as in README section 6
chain.add_strategy("primary_simrank", simrank_rank, priority=3)
chain.add_strategy("vector", vector_rank, priority=2)
chain.add_strategy("horn", horn.rank, priority=1)
'''


@pytest.fixture
def myranker(tmp_path, monkeypatch):
    """A module ``myranker_<id>`` whose chain is built at import from its own functions, before instrumentation."""
    import importlib
    import sys
    import uuid

    name = f"myranker_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(_MYRANKER)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


def test_instrumentation_applied_after_the_chain_was_built_takes_effect(myranker, instrument_recommender, telemetry):
    """README section 6: a chain built at import, then `instrument myranker:vector_rank`: the component span appears."""
    from heritage_otel.instrumentation import RecommenderTargets

    instrument_recommender(targets=RecommenderTargets(components={
        "vector": f"{myranker.__name__}:vector_rank", "horn": f"{myranker.__name__}:Horn.rank"}))
    assert myranker.chain.execute("tomb") == (["vector:tomb"], "vector")
    attempts = {s.attributes[semconv.FALLBACK_STRATEGY]: s for s in _attempts(telemetry)[1]}
    [component] = telemetry.children_of(attempts["vector"])
    assert component.name.endswith(" vector")
    assert component.attributes[semconv.COMPONENT] == "vector"
    assert telemetry.children_of(attempts["primary_simrank"]) == []
    # a bound method registered at import follows its class's instrumentation too
    assert myranker.chain.execute("nothing") == (["horn:nothing"], "horn")
    horn_attempt = [s for s in telemetry.find_spans(semconv.SPAN_FALLBACK_ATTEMPT) if s.attributes[semconv.FALLBACK_STRATEGY] == "horn"][0]
    [horn_span] = telemetry.children_of(horn_attempt)
    assert horn_span.attributes[semconv.COMPONENT] == "horn"


def test_uninstrumenting_restores_the_plain_call(myranker, instrument_recommender, telemetry):
    """After uninstrument() the chain calls the function it was given: no component span."""
    from heritage_otel.instrumentation import RecommenderTargets

    instrumentor = instrument_recommender(targets=RecommenderTargets(components={"vector": f"{myranker.__name__}:vector_rank"}))
    instrumentor.uninstrument()
    assert myranker.chain.execute("tomb") == (["vector:tomb"], "vector")
    attempts = {s.attributes[semconv.FALLBACK_STRATEGY]: s for s in _attempts(telemetry)[1]}
    assert telemetry.children_of(attempts["vector"]) == []


def test_a_different_function_bound_to_the_name_is_not_called(myranker, telemetry, monkeypatch):
    """Only a wrapper of the registered function replaces it; an unrelated rebinding is ignored."""
    monkeypatch.setattr(myranker, "vector_rank", lambda query, top_k=10: ["other"])
    assert myranker.chain.execute("tomb") == (["vector:tomb"], "vector")
