"""JaegerClient against a real Jaeger: search filters and the mapping back onto the span model."""

from __future__ import annotations

import pytest

from heritage_otel.stack import Stack
from heritage_otel.traces import JaegerClient, JaegerError
from tests.helpers import free_port
from tests.traces.conftest import SentTraces

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_find_traces_returns_every_trace_of_the_service(jaeger_stack: Stack, sent: SentTraces) -> None:
    traces = JaegerClient(jaeger_stack.ports.jaeger_url).find_traces(sent.service)
    assert {t.trace_id for t in traces} == {sent.failing, sent.slow}
    assert sent.service in JaegerClient(jaeger_stack.ports.jaeger_url).services()


def test_span_fields_survive_the_round_trip(jaeger_stack: Stack, sent: SentTraces) -> None:
    trace = JaegerClient(jaeger_stack.ports.jaeger_url).get_trace(sent.failing)
    assert trace is not None
    [root] = trace.tree()
    assert (root.span.span_id, root.span.parent_span_id, root.span.name) == (sent.root_span_id, None, "sample.request")
    assert root.span.kind == "server" and root.span.service_name == sent.service
    assert root.span.attributes["heritage.query.top_k"] == 5
    assert root.span.attributes["heritage.cache.hit"] is False
    [child] = root.children
    assert child.span.parent_span_id == sent.root_span_id and child.span.span_id == sent.child_span_id
    assert (child.span.status_code, child.span.status_message) == ("ERROR", "boom")
    assert child.span.attributes["heritage.quality.diversity"] == 0.25
    assert "error" not in child.span.attributes and "otel.status_code" not in child.span.attributes
    [event] = child.span.events
    assert event.name == "exception"
    assert event.attributes == {"exception.type": "ValueError", "exception.message": "bad input",
                                "exception.stacktrace": "Traceback ..."}
    assert root.span.start_unix_nano <= event.time_unix_nano <= root.span.end_unix_nano
    assert trace.has_error


def test_error_only_keeps_traces_with_an_error_span(jaeger_stack: Stack, sent: SentTraces) -> None:
    traces = JaegerClient(jaeger_stack.ports.jaeger_url).find_traces(sent.service, error_only=True)
    assert [t.trace_id for t in traces] == [sent.failing]


def test_min_duration_keeps_slow_traces(jaeger_stack: Stack, sent: SentTraces) -> None:
    traces = JaegerClient(jaeger_stack.ports.jaeger_url).find_traces(sent.service, min_duration="200ms")
    assert [t.trace_id for t in traces] == [sent.slow]
    assert 299 <= traces[0].duration_ms <= 301


def test_attribute_tags_search_spans(jaeger_stack: Stack, sent: SentTraces) -> None:
    client = JaegerClient(jaeger_stack.ports.jaeger_url)
    assert [t.trace_id for t in client.find_traces(sent.service, tags={"heritage.component": "simrank"})] == [sent.failing]
    assert client.find_traces(sent.service, tags={"heritage.component": "embedding"}) == []


def test_limit_and_operation(jaeger_stack: Stack, sent: SentTraces) -> None:
    client = JaegerClient(jaeger_stack.ports.jaeger_url)
    assert len(client.find_traces(sent.service, limit=1)) == 1
    assert [t.trace_id for t in client.find_traces(sent.service, operation="sample.slow")] == [sent.slow]


def test_unknown_trace_id_is_none(jaeger_stack: Stack, sent: SentTraces) -> None:
    assert JaegerClient(jaeger_stack.ports.jaeger_url).get_trace("0" * 31 + "1") is None


def test_unreachable_jaeger_raises_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(JaegerError, match=rf"could not reach Jaeger at {url}/api/services"):
        JaegerClient(url, timeout_s=2).services()


def test_bad_arguments_fail_fast() -> None:
    with pytest.raises(ValueError, match="jaeger_url = 'localhost:16686' is not valid"):
        JaegerClient("localhost:16686")
    with pytest.raises(ValueError, match="limit = 0 is not valid"):
        JaegerClient().find_traces("svc", limit=0)
    with pytest.raises(ValueError, match="duration = '5 parsecs' is not valid"):
        JaegerClient().find_traces("svc", lookback="5 parsecs")
