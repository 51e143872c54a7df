"""The JSON API: health, alerts (filters), series and points, components, queries, stats, config."""

from __future__ import annotations

import time

import pytest
import requests

from heritage_otel import semconv
from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.instruments import DURATION_BUCKETS_S
from tests.service.payloads import (
    PROTOBUF,
    add_histogram,
    add_sum,
    metrics_request,
    post,
    query_logs_request,
    resource,
    running_server,
)

SLOW_TRACE = "0af7651916cd43dd8448eb211c80319c"


def _latency_counts(seconds: float, n: int = 100) -> list[int]:
    counts = [0] * (len(DURATION_BUCKETS_S) + 1)
    counts[next(i for i, b in enumerate(DURATION_BUCKETS_S) if seconds <= b)] = n
    return counts


def _export(server, instance: str, latency_s: float, *, errors: int = 0, trace: str | None = None) -> None:
    req, sm = metrics_request(resource("recommender", instance))
    add_histogram(sm, semconv.METRIC_QUERY_DURATION, DURATION_BUCKETS_S, _latency_counts(latency_s), 100 * latency_s,
                  exemplar_trace_id=trace)
    add_sum(sm, semconv.METRIC_QUERIES, 100)
    add_histogram(sm, semconv.METRIC_COMPONENT_DURATION, DURATION_BUCKETS_S, _latency_counts(latency_s / 2),
                  50 * latency_s, attributes={semconv.COMPONENT: "simrank"})
    if errors:
        add_sum(sm, semconv.METRIC_ERRORS, errors, attributes={semconv.COMPONENT: "simrank"})
    assert post(server.url, "/v1/metrics", req.SerializeToString(), PROTOBUF).status_code == 200


@pytest.fixture
def server():
    """replica-a slow (4 s p95, 5 % errors on simrank), replica-b fast; evaluated once; three queries logged."""
    # one export is judged at once: the alert policy's persistence and cold start set to one interval
    acfg = AnalyzerConfig(interval_seconds=1.0, min_samples=5, retention_minutes=10,
                          alert_policy={"default": {"for_intervals": 1, "cold_start_intervals": 1}})
    with running_server(analyzer=acfg, jaeger_url="http://127.0.0.1:16686") as srv:
        _export(srv, "replica-a", 4.0, errors=5, trace=SLOW_TRACE)
        _export(srv, "replica-b", 0.05)
        srv.service.evaluate()
        req = query_logs_request([
            {"query_id": "q-1", "latency_ms": 30.0, "trace_id": SLOW_TRACE},
            {"query_id": "q-2", "latency_ms": 4000.0, "components": ["embedding"]},
            {"query_id": "q-3", "latency_ms": 10.0},
        ])
        assert post(srv.url, "/v1/logs", req.SerializeToString(), PROTOBUF).status_code == 200
        yield srv


def get(server, path: str, **params) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=5)


def test_health_reports_score_status_issues_and_key_metrics(server):
    """/api/health: a critical latency alert and an error rate over budget make the status not healthy."""
    health = get(server, "/api/health").json()
    assert 0 <= health["score"] < 80
    assert health["status"] in ("degraded", "critical")
    assert any("query_latency_p95" in issue for issue in health["issues"])
    assert health["active_alerts"]["CRITICAL"] >= 1
    assert health["key_metrics"]["query_latency_p95"] > 3000
    assert health["receiving"] is True


def test_active_alerts_filter_by_instance_level_and_metric(server):
    """/api/alerts/active filters: instance, level, metric; the slow replica's alert carries its exemplar link."""
    slow = get(server, "/api/alerts/active", instance="replica-a", metric="query_latency_p95").json()["alerts"]
    assert [(a["detector"], a["level"], a["instance"]) for a in slow] == [("threshold", "CRITICAL", "replica-a")]
    assert slow[0]["jaeger_links"] == [f"/#trace/{SLOW_TRACE}"]  # no Jaeger UI answers: the dashboard's page
    assert get(server, "/api/alerts/active", instance="replica-b", metric="query_latency_p95").json()["alerts"] == []
    critical = get(server, "/api/alerts", state="active", level="critical").json()["alerts"]
    assert critical and all(a["level"] == "CRITICAL" for a in critical)


def test_alert_history_lists_fired_events_newest_first(server):
    """/api/alerts/history has the fired events of the last 24 h."""
    history = get(server, "/api/alerts/history", hours=24).json()
    assert history["hours"] == 24
    events = history["alerts"]
    assert any(e["event"] == "fired" and e["metric"] == "query_latency_p95" for e in events)
    times = [e["time"] for e in events]
    assert times == sorted(times, reverse=True)


def test_bad_parameters_are_400_naming_the_parameter(server):
    """A bad level, state or number is a 400 whose message names the parameter and what is valid."""
    resp = get(server, "/api/alerts", level="LOUD")
    assert resp.status_code == 400 and "level = 'LOUD'" in resp.json()["error"]
    assert "state" in get(server, "/api/alerts", state="maybe").json()["error"]
    assert "minutes" in get(server, "/api/points", metric="x", minutes="-1").json()["error"]
    assert get(server, "/api/points").status_code == 400


def test_series_list_and_points(server):
    """/api/series lists per-replica series with their latest value; /api/series/{id} returns times and values."""
    listed = get(server, "/api/series", metric="query_latency_p95").json()["series"]
    by_instance = {s["instance"]: s for s in listed}
    assert by_instance["replica-a"]["latest"] > 3000 > by_instance["replica-b"]["latest"]
    pts = get(server, f"/api/series/{by_instance['replica-a']['id']}", minutes=5).json()
    assert len(pts["times"]) == len(pts["values"]) == 1
    assert abs(pts["times"][0] - time.time()) < 60
    assert get(server, "/api/series/0000000000000000").status_code == 404


def test_points_by_metric_and_metric_names(server):
    """/api/points returns every series of one metric; /api/metrics lists names with indicators first."""
    data = get(server, "/api/points", metric="query_latency_p95", minutes=5).json()
    assert {s["instance"] for s in data["series"]} >= {"replica-a", "replica-b"}
    names = get(server, "/api/metrics").json()["metrics"]
    assert names[0]["indicator"] is True
    assert semconv.METRIC_QUERY_DURATION in {m["metric"] for m in names}


def test_components_table(server):
    """/api/components: calls from component durations of both replicas, failures from errors by component."""
    [row] = get(server, "/api/components").json()["components"]
    assert (row["component"], row["calls"], row["failures"]) == ("simrank", 200, 5)
    assert row["success_rate"] == pytest.approx(0.975)
    assert row["status"] == "degraded"
    assert row["latency_p95_ms"] > 0


def test_recent_queries_newest_first_with_filters(server):
    """/api/queries: newest first, limit, filter by component; each with a link that opens its trace (the
    dashboard's trace page: nothing answers at the Jaeger URL)."""
    queries = get(server, "/api/queries").json()["queries"]
    assert [q["query_id"] for q in queries] == ["q-3", "q-2", "q-1"]
    assert queries[2]["trace_url"] == f"/#trace/{SLOW_TRACE}"
    assert [q["query_id"] for q in get(server, "/api/queries", component="embedding").json()["queries"]] == ["q-2"]
    assert len(get(server, "/api/queries", limit=1).json()["queries"]) == 1


def test_stats_and_config(server):
    """/api/stats counts requests and points; /api/config tells the dashboard what it needs."""
    stats = get(server, "/api/stats").json()
    assert stats["metric_requests"] == 2 and stats["log_requests"] == 1 and stats["query_records"] == 3
    assert stats["services"] == ["recommender"]  # the services this instance (a shard) owns
    assert stats["evaluations"] >= 1
    config = get(server, "/api/config").json()
    assert config["jaeger_url"] == "http://127.0.0.1:16686" and config["refresh_seconds"] == 30
    assert "query_latency_p95" in config["thresholds"]


def test_unknown_endpoint_is_404(server):
    """An unknown /api path is a JSON 404."""
    resp = get(server, "/api/nope")
    assert resp.status_code == 404 and "no API endpoint" in resp.json()["error"]


def test_dashboard_and_static_files_are_served(server):
    """/ serves the dashboard page; the vendored uPlot and the script are served with their types."""
    page = get(server, "/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "uPlot.iife.min.js" in page.text
    js = get(server, "/static/vendor/uPlot.iife.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["Content-Type"]
    assert get(server, "/static/../config.py").status_code == 404


def test_openapi_document_covers_every_endpoint():
    """docs/analyzer-openapi.yaml is OpenAPI 3 and documents every API route and both OTLP paths."""
    import yaml

    from heritage_otel.service import api
    from tests.helpers import REPO_ROOT

    doc = yaml.safe_load((REPO_ROOT / "docs" / "analyzer-openapi.yaml").read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.")
    expected = set(api._ROUTES) | {"/v1/metrics", "/v1/logs", "/healthz", "/api/series/{id}", "/api/traces/{trace_id}"}
    assert expected == set(doc["paths"])


def test_trace_endpoint_reads_the_span_store_and_rejects_bad_ids():
    """/api/traces/{id}: 200 with the spans from the embedded span store, 404 when no source has it, 400 for a bad id."""
    from opentelemetry import trace

    import heritage_otel

    pipeline = heritage_otel.configure(service_name="trace-api", simple_processors=True)
    try:
        tracer = trace.get_tracer("t")
        with tracer.start_as_current_span("heritage.recommend") as root:
            with tracer.start_as_current_span("heritage.component", attributes={"heritage.component": "simrank"}) as child:
                child.record_exception(ValueError("index offline"))
        trace_id = f"{root.get_span_context().trace_id:032x}"
        with running_server() as server:
            found = get(server, "/api/traces/" + trace_id)
            assert found.status_code == 200
            body = found.json()
            assert body["source"] == "span_store" and body["jaeger_ui"] is None
            names = [s["name"] for s in body["trace"]["spans"]]
            assert names == ["heritage.recommend", "heritage.component"]
            (event,) = body["trace"]["spans"][1]["events"]
            assert event["name"] == "exception" and event["attributes"]["exception.message"] == "index offline"
            assert get(server, "/api/traces/" + "f" * 32).status_code == 404
            bad = get(server, "/api/traces/xyz")
            assert bad.status_code == 400 and "32 (or 16) hexadecimal digits" in bad.json()["error"]
    finally:
        pipeline.shutdown()
