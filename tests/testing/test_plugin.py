"""The pytest plugin: fixtures available with no conftest, isolated per test."""

from __future__ import annotations

from opentelemetry import trace

pytest_plugins = ["pytester"]


def test_fixtures_work_in_a_foreign_suite_with_no_conftest(pytester):
    """A user's test file gets `telemetry` through the pytest11 entry point alone."""
    pytester.makepyfile(
        """
        from opentelemetry import trace
        from heritage_otel.fallback import FallbackChain

        TRACER = trace.get_tracer("user-code")  # taken at import time, before any fixture

        def test_spans(telemetry):
            with TRACER.start_as_current_span("user.op"):
                pass
            assert telemetry.span("user.op").name == "user.op"

        def test_isolated(telemetry, span_exporter):
            assert span_exporter.get_finished_spans() == ()

        def test_chain(telemetry):
            chain = FallbackChain("c").add_strategy("only", lambda: 1)
            assert chain.execute() == (1, "only")
            assert telemetry.render_tree(attributes=False) == "heritage.fallback_chain\\n  heritage.fallback.attempt"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_span_tree_walks_parents_and_children(telemetry):
    """span_tree nests children under parents, in start order."""
    tracer = trace.get_tracer("t")
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("a"):
            tracer.start_span("a1").end()
        tracer.start_span("b").end()
    (root,) = telemetry.span_tree()
    assert [(depth, node.name) for depth, node in root.walk()] == [(0, "root"), (1, "a"), (2, "a1"), (1, "b")]
    assert telemetry.render_tree() == "root\n  a\n    a1\n  b"  # no key attributes to show


def test_find_spans_by_name_and_attribute(telemetry):
    """find_spans filters on name and on attributes with dotted keys."""
    tracer = trace.get_tracer("t")
    tracer.start_span("op", attributes={"heritage.component": "simrank"}).end()
    tracer.start_span("op", attributes={"heritage.component": "embedding"}).end()
    assert len(telemetry.find_spans("op")) == 2
    assert telemetry.span("op", **{"heritage.component": "embedding"}).attributes["heritage.component"] == "embedding"


def test_span_raises_a_helpful_assertion_when_ambiguous(telemetry):
    """span() insists on exactly one match and lists what it saw."""
    import pytest

    trace.get_tracer("t").start_span("dup").end()
    trace.get_tracer("t").start_span("dup").end()
    with pytest.raises(AssertionError, match="found 2 among"):
        telemetry.span("dup")


def test_logs_are_captured_and_trace_correlated(telemetry):
    """Log records emitted through the OTel logs API land in the log exporter with the span's ids."""
    from opentelemetry._logs import get_logger_provider

    logger = get_logger_provider().get_logger("t")
    with trace.get_tracer("t").start_as_current_span("op") as span:
        logger.emit(body="hello", attributes={"k": "v"})
    (record,) = telemetry.logs()
    assert record.log_record.body == "hello"
    assert record.log_record.trace_id == span.get_span_context().trace_id


def test_metric_helpers(telemetry):
    """metric_sum and histogram_count read the in-memory reader."""
    from heritage_otel.instruments import instruments_for

    inst = instruments_for()
    inst.queries.add(2, {"a": "x"})
    inst.query_duration.record(0.5)
    inst.query_duration.record(1.5)
    assert telemetry.metric_sum("heritage.queries", a="x") == 2
    assert telemetry.histogram_count("heritage.query.duration") == 2
    assert telemetry.metric_sum("heritage.query.duration") == 2.0


def test_no_global_left_behind_after_a_test():
    """Outside the fixture, the globals reach no pipeline (non-recording spans)."""
    with trace.get_tracer("t").start_as_current_span("x") as span:
        assert not span.is_recording()


def test_render_tree_shows_status_and_key_attributes(telemetry):
    """render_tree puts ERROR and the key attributes beside each name (attributes=False: names only)."""
    from opentelemetry.trace import Status, StatusCode

    tracer = trace.get_tracer("t")
    with tracer.start_as_current_span("heritage.recommend", attributes={"heritage.result.count": 5, "other": 1}):
        span = tracer.start_span("heritage.component", attributes={"heritage.component": "simrank",
                                                                   "error.type": "TimeoutError"})
        span.set_status(Status(StatusCode.ERROR))
        span.end()
    assert telemetry.render_tree() == ("heritage.recommend  heritage.result.count=5\n"
                                       "  heritage.component  ERROR  error.type=TimeoutError heritage.component=simrank")
    assert telemetry.render_tree(attributes=False) == "heritage.recommend\n  heritage.component"


def test_unknown_metric_names_fail_loudly(telemetry):
    """A typo'd metric name raises, listing the recorded names; a known name not recorded yet reads 0."""
    import pytest

    from heritage_otel import semconv
    from heritage_otel.instruments import instruments_for

    instruments_for().errors.add(1, {"heritage.error.severity_name": "HIGH"})
    with pytest.raises(AssertionError, match="no metric 'heritage.erors' was recorded; recorded metrics: heritage.errors"):
        telemetry.metric_sum("heritage.erors")
    with pytest.raises(AssertionError, match="'heritage.query.duraton'"):
        telemetry.histogram_count("heritage.query.duraton")
    assert telemetry.metric_sum(semconv.METRIC_ERRORS) == 1
    assert telemetry.metric_sum(semconv.METRIC_FALLBACKS) == 0  # ours, not recorded yet
    # the SDK's own self-observability gauges (otel.sdk.*) may come from processors of earlier tests
    assert [n for n in telemetry.metric_names() if not n.startswith("otel.sdk.")] == [semconv.METRIC_ERRORS]


def test_code_under_test_that_calls_configure_is_still_captured(telemetry):
    """An application's own configure() inside a test returns the capture's pipeline instead of replacing it."""
    import heritage_otel

    app_telemetry = heritage_otel.configure(service_name="my-app")  # what the application does at start-up
    with trace.get_tracer("app").start_as_current_span("app.request"):
        pass
    app_telemetry.shutdown()  # the application's own shutdown only flushes the capture
    with trace.get_tracer("app").start_as_current_span("app.after_shutdown"):
        pass
    assert [s.name for s in telemetry.spans()] == ["app.request", "app.after_shutdown"]
    assert app_telemetry.tracer_provider is telemetry.tracer_provider and app_telemetry.is_shutdown


def test_configure_inside_a_capture_still_checks_its_settings(telemetry, monkeypatch):
    """A bad setting fails in the test exactly as it would in production."""
    import pytest

    import heritage_otel
    from heritage_otel.settings import ConfigurationError

    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "ratio")
    with pytest.raises(ConfigurationError, match="OTEL_TRACES_SAMPLER = 'ratio'"):
        heritage_otel.configure()


def test_after_the_capture_configure_builds_pipelines_again():
    """Outside any capture, configure() replaces the global pipeline as documented."""
    import heritage_otel
    from heritage_otel.testing import capture_telemetry

    with capture_telemetry() as captured:
        inside = heritage_otel.configure()
    outside = heritage_otel.configure(service_name="after")
    try:
        assert outside.tracer_provider is not captured.tracer_provider and inside.is_shutdown
        assert heritage_otel.telemetry.current() is outside
    finally:
        outside.shutdown()


def test_instrument_recommender_fixture_applies_each_tests_targets(pytester):
    """Each test's targets take effect, even after a test (or the app) left the instrumentor instrumented."""
    pytester.makepyfile(
        shop="""
        class Shop:
            def search(self, text, k=3):
                return [("a", 1.0), ("b", 0.5)][:k]

            def search_pairs(self, text, k=3):
                return self.search(text, k + 1)[:k]
        """,
        test_shop="""
        from heritage_otel.instrumentation import RecommenderInstrumentor, RecommenderTargets
        from shop import Shop

        def test_app_start_up_leaves_it_instrumented(telemetry):
            RecommenderInstrumentor().instrument(targets=RecommenderTargets(entry_point="shop:Shop.search"))
            Shop().search("x")
            assert telemetry.span("heritage.recommend").attributes["heritage.query.top_k"] == 3

        def test_fixture_targets_win(telemetry, instrument_recommender):
            instrument_recommender(targets=RecommenderTargets(entry_point="shop:Shop.search_pairs"))
            Shop().search_pairs("x", k=1)
            assert telemetry.span("heritage.recommend").attributes["heritage.query.top_k"] == 1
            assert [s.name for s in telemetry.spans()] == ["heritage.recommend"]

        def test_uninstrumented_after(telemetry):
            Shop().search_pairs("x")
            assert telemetry.spans() == ()
        """,
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_render_tree_can_show_the_applications_own_attributes(telemetry):
    """attributes=("app.",) adds the attributes an application sets itself to the key ones."""
    with trace.get_tracer("app").start_as_current_span("app.request") as span:
        span.set_attribute("app.tenant", "museum-7")
        span.set_attribute("heritage.component", "search")
    assert telemetry.render_tree() == "app.request  heritage.component=search"
    assert telemetry.render_tree(attributes=("app.",)) == "app.request  app.tenant=museum-7 heritage.component=search"


def test_an_attribute_key_no_point_carries_fails_loudly(telemetry):
    """metric_sum(name, **{typo: v}) raises listing the metric's attribute keys; a value with no match reads 0."""
    import pytest

    from heritage_otel import semconv
    from heritage_otel.instruments import instruments_for

    instruments_for().errors.add(1, {semconv.COMPONENT: "broken", semconv.ERROR_SEVERITY_NAME: "high"})
    with pytest.raises(AssertionError, match="no point with attribute 'heritage.componet'; its attributes: "
                                             "heritage.component, heritage.error.severity_name"):
        telemetry.metric_sum(semconv.METRIC_ERRORS, **{"heritage.componet": "broken"})
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.COMPONENT: "titles"}) == 0
    assert telemetry.metric_sum(semconv.METRIC_ERRORS, **{semconv.COMPONENT: "broken"}) == 1
