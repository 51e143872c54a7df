"""The dashboard in headless Chromium, against a running Analyzer fed by real OTLP traffic.

Two replicas (real SDK pipelines) export metrics and query logs over OTLP/HTTP
to the Analyzer and their spans through the real Collector into the real
Jaeger; replica-a has a latency fault and a failing component. Each page is
loaded, checked, and saved as a screenshot under test-output/dashboard/.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.service import ServiceConfig
from heritage_otel.stack import Stack, StackPorts
from heritage_otel.traces import JaegerClient
from tests.helpers import BIN_DIR, REPO_ROOT, free_port, in_ci, require_binary
from tests.service.payloads import running_server
from tests.service.workload import Replica

pytestmark = pytest.mark.browser

SHOTS = REPO_ROOT / "test-output" / "dashboard"
INTERVAL_S = 0.5
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1440,1000",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium = require_binary("/usr/bin/chromium", "bash scripts/deps/chromium.sh")
    driver_path = require_binary("/usr/bin/chromedriver", "bash scripts/deps/chromium.sh")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        msg = "selenium is not installed; pip install 'selenium>=4.20,<5' (dev extra)"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    profile = tempfile.mkdtemp(prefix="heritage-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Collector + Jaeger, the Analyzer, and two replicas serving in the background (replica-a faulty)."""
    require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    stack = Stack(tmp_path_factory.mktemp("stack"), ports=StackPorts.free(), jaeger_storage="memory", repo=REPO_ROOT,
                  extra_env={"HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{free_port()}",
                             # the replicas' spans are all healthy and fast: the baseline share keeps 80 % of
                             # them, so the query log has kept traces and dropped ones (said to be dropped)
                             "HERITAGE_OTEL_SAMPLING_PERCENTAGE": "80",
                             "HERITAGE_OTEL_SAMPLING_MAX_SPANS_PER_SEC": "1000000",
                             "HERITAGE_OTEL_SAMPLING_DECISION_WAIT": "2s",
                             "HERITAGE_OTEL_SAMPLING_DECISION_WAIT_AFTER_ROOT": "1s",
                             "HERITAGE_OTEL_COLLECTOR_BATCH_TIMEOUT": "200ms"})
    stack.up(timeout_s=60)
    cfg = ServiceConfig(port=free_port(), evaluate_every_s=0.2, jaeger_url=stack.ports.jaeger_url)
    acfg = AnalyzerConfig(interval_seconds=INTERVAL_S, min_samples=5, retention_minutes=10)
    stop = threading.Event()
    try:
        with running_server(cfg, acfg) as server:
            a = Replica(server.url, "replica-a", export_ms=int(INTERVAL_S * 1000), seed=1,
                        trace_endpoint=stack.ports.otlp_http_endpoint)
            b = Replica(server.url, "replica-b", export_ms=int(INTERVAL_S * 1000), seed=2,
                        trace_endpoint=stack.ports.otlp_http_endpoint)
            faulty = threading.Event()
            paused = threading.Event()

            def traffic() -> None:
                while not stop.is_set():
                    if paused.is_set():
                        time.sleep(0.1)
                        continue
                    if faulty.is_set():
                        a.serve(2, 4.0, failing_component="embedding", log_queries=True)
                    else:
                        a.serve(2, 0.08, log_queries=True)
                    b.serve(2, 0.06, log_queries=True)
                    time.sleep(0.05)

            thread = threading.Thread(target=traffic, daemon=True)
            thread.start()
            time.sleep(5 * INTERVAL_S * 2)
            faulty.set()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                active = requests.get(server.url + "/api/alerts/active", params={"instance": "replica-a",
                                      "metric": "query_latency_p95"}, timeout=5).json()["alerts"]
                if active:
                    break
                time.sleep(0.2)
            assert active, "no latency alert for replica-a"
            time.sleep(4 * INTERVAL_S)  # the fleet aggregate closes its buckets one interval later
            yield {"server": server, "stack": stack, "a": a, "b": b, "paused": paused, "faulty": faulty}
            stop.set()
            thread.join(10)
            a.shutdown()
            b.shutdown()
    finally:
        stop.set()
        stack.down(timeout_s=20)


@pytest.fixture
def decided(fleet) -> Iterator[None]:
    """Traffic paused until every logged query's trace has been decided by the tail sampler (then resumed)."""
    from heritage_otel.traces.sampling import DECIDING_S

    fleet["paused"].set()
    time.sleep(DECIDING_S + 1)
    try:
        yield
    finally:
        fleet["paused"].clear()


def _open(driver, url: str, page: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "/#" + page)
    WebDriverWait(driver, 20).until(lambda d: d.find_element("tag name", "body").get_attribute("data-loaded") == page)


def _shot(driver, name: str) -> Path:
    """A screenshot of the whole page (beyond the viewport), through the DevTools protocol."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), 4000)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": 1440, "height": height, "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _css(driver, selector: str) -> list:
    return driver.find_elements("css selector", selector)


def test_overview_shows_the_degraded_health_score(browser, fleet):
    """The overview's gauge shows a score below 80 with the matching status, and the critical alert count."""
    server = fleet["server"]
    _open(browser, server.url, "overview")
    score = int(_css(browser, "#health-score")[0].text)
    status = _css(browser, "#health-status")[0].text.lower()
    assert 0 <= score < 80
    assert status == ("degraded" if score >= 50 else "critical")
    assert int(_css(browser, "#count-CRITICAL")[0].text) >= 1
    tiles = {t.get_attribute("data-metric"): t for t in _css(browser, "#key-metrics .tile")}
    assert "ms" in tiles["query_latency_p95"].text
    assert "crit" in tiles["query_latency_p95"].get_attribute("class").split()
    assert _shot(browser, "overview").stat().st_size > 10_000


def test_overview_lists_the_open_incident_expandable_to_cause_members_and_traces(browser, fleet):
    """The overview lists open incidents (not raw alerts): replica-a's, which expands to its probable cause, its
    member alerts and Jaeger links of its exemplar traces."""
    _open(browser, fleet["server"].url, "overview")
    items = _css(browser, "#overview-alerts li[data-incident]")
    texts = [i.text for i in items]
    found = [i for i in items if "replica-a" in i.text]
    assert len(found) == 1, texts
    item = found[0]
    assert "query_latency" in item.text and "CRITICAL" in item.text
    # the instance: its service.instance.id with the host and pid it runs as
    assert f"replica-a ({socket.gethostname()}, pid {os.getpid()})" in item.text
    # led by the incident: open on the overview, the probable cause first, without a click
    assert item.find_element("css selector", "details").get_attribute("open") is not None
    assert "Probable cause:" in item.find_element("css selector", ".cause").text
    members = item.find_elements("css selector", ".members li")
    assert any("query_latency_p95" in m.text and "replica-a" in m.text for m in members), [m.text for m in members]
    incidents = requests.get(fleet["server"].url + "/api/incidents", timeout=5).json()["incidents"]
    traces = {t for i in incidents for t in i["exemplar_trace_ids"]}
    links = item.find_elements("css selector", "a.trace-link")
    assert links and links[0].get_attribute("href").rsplit("/", 1)[-1] in traces


def test_overview_colours_the_cards_by_the_open_incidents(browser, fleet):
    """A key-metric card on a metric of an open incident takes the incident's level, whatever its own value."""
    server = fleet["server"]
    _open(browser, server.url, "overview")
    incidents = requests.get(server.url + "/api/incidents", timeout=5).json()["incidents"]
    levels = {m["metric"]: m["level"] for i in incidents for m in i["members"] if m.get("state") != "resolved"}
    tiles = {t.get_attribute("data-metric"): t for t in _css(browser, "#key-metrics .tile")}
    coloured = [name for name in tiles if name in levels]
    assert coloured, (sorted(tiles), levels)
    for name in coloured:
        assert tiles[name].get_attribute("data-incident-level") == levels[name]
        assert {"CRITICAL": "crit", "WARNING": "warn"}.get(levels[name], "") in tiles[name].get_attribute("class")


def test_one_row_per_incident_where_replica_and_fleet_agree(browser, fleet):
    """A replica's incident and the fleet's on the same signals are one row (the replica's, saying the fleet sees
    it too), on the overview; alerts likewise on the Alerts page."""
    _open(browser, fleet["server"].url, "overview")
    merged = browser.execute_script("""return window.heritageDashboard.mergeScopes([
        {id: "r", scope: "replica", service: "s", signals: ["latency"], instances: ["a"], members: [{metric: "m"}],
         exemplar_trace_ids: ["t1"], cause: null},
        {id: "f", scope: "fleet", service: "s", signals: ["latency"], instances: [], members: [{metric: "m"}],
         exemplar_trace_ids: ["t2"], cause: {summary: "simrank failing"}},
        {id: "o", scope: "fleet", service: "s", signals: ["errors"], instances: [], members: [], exemplar_trace_ids: []}])
        .map((i) => [i.id, !!i.alsoFleet, i.exemplar_trace_ids.length, i.cause && i.cause.summary])""")
    assert merged == [["r", True, 2, "simrank failing"], ["o", False, 0, None]]
    alerts = browser.execute_script("""return window.heritageDashboard.mergeAlertScopes([
        {metric: "m", level: "CRITICAL", instance: "a", service: "s"}, {metric: "m", level: "CRITICAL", service: "s"},
        {metric: "m", level: "WARNING", service: "s"}], (a) => a.metric + a.level).map((a) => [a.instance || null, !!a.alsoFleet])""")
    assert alerts == [["a", True], [None, False]]
    rows = [(li.text.split(" · ")[0], li.text.split(" · ")[1]) for li in _css(browser, "#overview-alerts li[data-incident]")]
    assert len(rows) == len(set(rows)), rows
    assert _css(browser, "#overview-resolved")


def test_alerts_page_lists_the_replica_alert(browser, fleet):
    """The alerts page has a CRITICAL query_latency_p95 row for replica-a."""
    _open(browser, fleet["server"].url, "alerts")
    rows = _css(browser, "#alerts-active tbody tr[data-instance='replica-a']")
    texts = [r.text for r in rows]
    assert any("query_latency_p95" in t and "CRITICAL" in t for t in texts), texts
    assert all(f"replica-a ({socket.gethostname()}, pid {os.getpid()})" in t for t in texts), texts
    assert not any("query_latency" in r.text for r in _css(browser, "#alerts-active tbody tr[data-instance='replica-b']"))
    _shot(browser, "alerts")


def test_alert_history_is_its_own_view_with_a_severity_timeline(browser, fleet):
    """The alert history page: the timeline chart, counts by severity and the event table."""
    _open(browser, fleet["server"].url, "history")
    assert _css(browser, "#alert-timeline .uplot")
    assert _css(browser, "#alerts-history tbody tr:not(.empty)")
    counts = {c.text.split("\n")[1]: int(c.text.split("\n")[0]) for c in _css(browser, "#history-by-level .count")}
    assert counts["critical events"] >= 1
    _shot(browser, "alert-history")


def test_severity_timeline_draws_two_warnings_as_a_warning_bar(browser, fleet):
    """Stacked severity bars: the tallest total is drawn first, so an hour with 2 WARNING events shows a
    warning-coloured bar of height 2 on top (the critical series, drawn underneath, is covered)."""
    _open(browser, fleet["server"].url, "history")
    levels = browser.execute_script(
        "return window.heritageDashboard.stackLevels({INFO: [0, 1], WARNING: [2, 1], CRITICAL: [0, 1]})")
    assert [(label, total) for label, _, _, total in levels] == [("critical", [2, 3]), ("warning", [2, 2]),
                                                                  ("info", [0, 1])]
    # the series drawn last at the bar's full height decides its visible top colour
    top_of_first_hour = [label for label, _, _, total in levels if total[0] == 2][-1]
    assert top_of_first_hour == "warning"


def test_components_page_shows_the_failing_component(browser, fleet):
    """The components table has a row for embedding with failures and a non-ok status."""
    _open(browser, fleet["server"].url, "components")
    [row] = _css(browser, "#components-table tbody tr[data-component='embedding']")
    cells = [c.text for c in row.find_elements("tag name", "td")]
    assert cells[0] in ("degraded", "failing")
    assert int(cells[3].replace(",", "")) > 0
    assert _css(browser, "#components-table tbody tr[data-component='simrank']")
    _shot(browser, "components")


def test_query_log_rows_link_to_the_trace_page(browser, fleet, decided):
    """The query log lists the last 50 queries; a row's trace link opens the dashboard's trace page, which
    draws that trace from Jaeger's API as a waterfall (no link to Jaeger's placeholder page); sorting by
    latency and filtering by replica work."""
    from selenium.webdriver.support.ui import WebDriverWait

    server, stack = fleet["server"], fleet["stack"]
    _open(browser, server.url, "queries")
    rows = _css(browser, "#queries-table tbody tr")
    assert 1 <= len(rows) <= 50
    link = next(r for r in reversed(rows) if r.find_elements("css selector", "a.trace-link")).find_element(
        "css selector", "a.trace-link")
    trace_id = link.get_attribute("title")
    assert link.get_attribute("href") == f"{server.url}/#trace/{trace_id}"
    assert trace_id in fleet["a"].trace_ids() | fleet["b"].trace_ids()
    client = JaegerClient(stack.ports.jaeger_url)
    deadline = time.monotonic() + 30
    found = client.get_trace(trace_id)
    while found is None and time.monotonic() < deadline:
        time.sleep(0.5)
        found = client.get_trace(trace_id)
    assert found is not None, f"trace {trace_id} linked from the query log is not in Jaeger"
    _shot(browser, "queries")

    link.click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element("tag name", "body").get_attribute("data-loaded") == "trace")
    names = [r.get_attribute("data-span") for r in _css(browser, "#trace-waterfall .wf-row")]
    assert names[0] == "heritage.recommend" and len(names) == len(found.spans)
    assert "from Jaeger" in _css(browser, "#trace-summary")[0].text
    assert not _css(browser, "#trace-jaeger")[0].is_displayed()  # Jaeger from its Go module: no real UI
    bar = _css(browser, "#trace-waterfall .wf-row .wf-bar")[0]
    assert bar.get_attribute("style").startswith("left: 0%")
    _shot(browser, "trace")
    browser.back()
    _open(browser, server.url, "queries")

    _css(browser, "#queries-table th[data-key='latency_ms']")[0].click()
    latencies = [float(r.find_elements("tag name", "td")[4].text.split()[0].replace(",", ""))
                 for r in _css(browser, "#queries-table tbody tr")]
    assert latencies == sorted(latencies)
    box = _css(browser, "#query-filter")[0]
    box.send_keys("replica-b")
    filtered = _css(browser, "#queries-table tbody tr")
    assert filtered and all("replica-b" in r.text for r in filtered)
    _shot(browser, "queries-filtered")


def test_query_log_says_which_traces_tail_sampling_dropped_and_why(browser, fleet, decided):
    """A trace the Collector did not keep (here: not in the 80 % baseline share) is marked dropped with the
    reason from its query record, not linked; the trace page opened on its id says the same; every linked trace
    is in Jaeger."""
    server, stack = fleet["server"], fleet["stack"]
    _open(browser, server.url, "queries")
    dropped = _css(browser, "#queries-table tbody .trace-dropped")
    assert dropped, "no query row marked dropped"
    first = dropped[0]
    trace_id = first.get_attribute("data-trace-id")
    # replica-b's queries are healthy and fast; replica-a's query records say 4 s (its spans are not that slow)
    reason = "healthy, fast query" if "healthy, fast query" in first.text else "not kept although slow"
    assert "dropped" in first.text and reason in first.text
    assert not first.find_elements("css selector", "a")
    client = JaegerClient(stack.ports.jaeger_url)
    assert client.get_trace(trace_id) is None
    for link in _css(browser, "#queries-table tbody a.trace-link")[:5]:
        assert client.get_trace(link.get_attribute("title")) is not None
    _shot(browser, "queries-dropped")
    browser.get(server.url + "/#trace/" + trace_id)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda d: "not in Jaeger" in d.find_element("id", "trace-summary").text)
    assert reason in _css(browser, "#trace-summary")[0].text
    browser.execute_script("document.getElementById('trace-input').value = ''")  # later pages: no 404 refetch


def test_incident_trace_links_open_kept_traces(browser, fleet):
    """/api/incidents: exemplars are traces Jaeger has, and their links open the dashboard's trace page (the
    Jaeger built from its Go module has no UI)."""
    server, stack = fleet["server"], fleet["stack"]
    client = JaegerClient(stack.ports.jaeger_url)
    incidents = requests.get(server.url + "/api/incidents", params={"state": "all"}, timeout=10).json()["incidents"]
    exemplars = [(t, u) for i in incidents for t, u in zip(i["exemplar_trace_ids"], i["trace_urls"], strict=True)]
    assert exemplars
    for trace_id, url in exemplars:
        assert url == f"/#trace/{trace_id}"
        assert client.get_trace(trace_id) is not None, trace_id


def test_metrics_page_charts_the_selected_metric(browser, fleet):
    """The metrics page draws query_latency_p95 for the fleet and each replica, with a statistics table."""
    from selenium.webdriver.support.ui import Select

    _open(browser, fleet["server"].url, "metrics")
    Select(_css(browser, "#metric-select")[0]).select_by_value("query_latency_p95")
    Select(_css(browser, "#range-select")[0]).select_by_value("15")
    time.sleep(1.0)
    assert _css(browser, "#chart .uplot canvas")
    labels = [r.find_elements("tag name", "td")[0].text for r in _css(browser, "#metric-stats tbody tr")]
    assert {"replica-a", "replica-b", "recommender (fleet)"} <= set(labels), labels
    _shot(browser, "metrics")


def test_trends_page_draws_the_baseline_band_and_threshold_lines(browser, fleet):
    """Trends: query_latency_p95 over time with the band (mean ± sensitivity σ) and the rule's levels."""
    from selenium.webdriver.support.ui import Select

    _open(browser, fleet["server"].url, "trends")
    Select(_css(browser, "#trend-select")[0]).select_by_value("query_latency_p95")
    time.sleep(1.0)
    assert _css(browser, "#trend-chart .uplot canvas")
    legend = [e.text for e in _css(browser, "#trend-chart .u-legend .u-series")]
    assert any("baseline mean" in t for t in legend) and any("critical" in t for t in legend), legend
    assert "threshold rule" in _css(browser, "#trend-note")[0].text
    _shot(browser, "trends")


def test_no_page_logs_a_browser_error(browser, fleet):
    """Loading every page produces no error in the browser console (script errors, CSP violations, 404s)."""
    browser.get_log("browser")  # drop what earlier tests left
    for page in ("overview", "metrics", "trends", "alerts", "history", "components", "queries", "trace"):
        _open(browser, fleet["server"].url, page)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_a_resolved_incident_stays_on_the_overview_with_its_cause(browser, fleet):
    """Once replica-a recovers its incident resolves, and the overview still lists it, with its probable cause
    (last of the fleet tests: it ends the fault)."""
    server = fleet["server"]
    fleet["faulty"].clear()
    deadline = time.monotonic() + 90
    resolved: list = []
    while time.monotonic() < deadline and not resolved:
        time.sleep(1)
        resolved = [i for i in requests.get(server.url + "/api/incidents", params={"state": "resolved"},
                                            timeout=5).json()["incidents"] if "replica-a" in i["instances"]]
    assert resolved, "replica-a's incident did not resolve after the fault ended"
    _open(browser, server.url, "overview")
    items = [li for li in _css(browser, "#overview-resolved li[data-state='resolved']") if "replica-a" in li.text]
    assert items, [li.text for li in _css(browser, "#overview-resolved li")]
    items[0].find_element("css selector", "summary").click()
    assert "Probable cause:" in items[0].find_element("css selector", ".cause").text
    _shot(browser, "overview-resolved")


def test_page_asks_for_the_token_when_the_api_requires_one(browser):
    """With a bearer token configured, the page shows the token prompt; once given, the overview loads."""
    from selenium.webdriver.support.ui import WebDriverWait

    with running_server(token="browser-token") as server:
        browser.get(server.url + "/#overview")
        WebDriverWait(browser, 20).until(lambda d: d.find_element("id", "auth").is_displayed())
        _css(browser, "#token-input")[0].send_keys("browser-token")
        _css(browser, "#token-save")[0].click()
        WebDriverWait(browser, 20).until(
            lambda d: d.find_element("tag name", "body").get_attribute("data-loaded") == "overview")
        assert _css(browser, "#health-status")[0].text.lower() == "healthy"
        assert not _css(browser, "#auth")[0].is_displayed()
        browser.execute_script("sessionStorage.clear()")


def test_facade_dashboard_trace_page_from_the_span_store(browser):
    """monitor.serve_dashboard() in a process with no Jaeger: an instrumented recommender's trace is drawn
    from the embedded span store, the failing component's row in red with its exception."""
    from selenium.webdriver.support.ui import WebDriverWait

    import heritage_otel
    from heritage_otel import semconv
    from heritage_otel.examples.recommender import HeritageRecommender
    from heritage_otel.instrumentation import RecommenderInstrumentor
    from heritage_otel.monitoring import initialize_monitoring, shutdown_monitoring

    telemetry = heritage_otel.configure(service_name="facade-browser", simple_processors=True)
    instrumentor = RecommenderInstrumentor()
    try:
        instrumentor.instrument()
        rec = HeritageRecommender(n_docs=300)
        rec.faults.fail("simrank")
        rec.recommend(rec.corpus.queries[0].text, 5)
        (root,) = [s for s in telemetry.span_store.spans() if s.name == semconv.SPAN_RECOMMEND]
        trace_id = f"{root.context.trace_id:032x}"
        url = initialize_monitoring(config={"alert_log_path": None}, start_background=False).serve_dashboard()
        browser.get(f"{url}/#trace/{trace_id}")
        WebDriverWait(browser, 20).until(lambda d: d.find_element("tag name", "body").get_attribute("data-loaded") == "trace")
        rows = {r.get_attribute("data-span"): r for r in _css(browser, "#trace-waterfall .wf-row")}
        assert {"heritage.recommend", "heritage.fallback_chain", "rank simrank", "rank horn_index",
                "heritage.ensemble"} <= set(rows)
        failed = rows["rank simrank"]
        assert "error" in failed.get_attribute("class").split() and failed.get_attribute("open") == "true"
        assert "<hidden sha256:" in failed.text and "exception" in failed.text
        assert "in-process span store" in _css(browser, "#trace-summary")[0].text
        _shot(browser, "facade-trace")
    finally:
        instrumentor.uninstrument()
        shutdown_monitoring()
        telemetry.shutdown()


def test_facade_components_page_shows_calls_without_a_measured_latency(browser, tmp_path, monkeypatch):
    """A seed user's components_used fills the facade dashboard's Components page: each component's call
    count, its latency "not measured" rather than 0; a component timed with record_component_performance
    shows its mean latency."""
    from heritage_otel.monitoring import initialize_monitoring, shutdown_monitoring

    monkeypatch.chdir(tmp_path)
    monitor = initialize_monitoring(config={"alert_log_path": None, "system_metrics": False}, start_background=False)
    try:
        for i in range(12):
            monitor.record_component_performance("simrank", 12.0)
            monitor.record_query(f"q{i}", latency_ms=40, num_results=10, components_used=["simrank", "horn_index"])
        url = monitor.serve_dashboard()
        monitor.flush()
        _open(browser, url, "components")
        rows = {r.get_attribute("data-component"): [c.text for c in r.find_elements("tag name", "td")]
                for r in _css(browser, "#components-table tbody tr")}
        assert set(rows) == {"simrank", "horn_index"}
        assert rows["horn_index"][:3] == ["ok", "horn_index", "12"]
        assert rows["horn_index"][5:] == ["not measured", "not measured"]
        assert rows["simrank"][2] == "12" and rows["simrank"][5] == "12 ms"
        _shot(browser, "facade-components")
    finally:
        shutdown_monitoring()
