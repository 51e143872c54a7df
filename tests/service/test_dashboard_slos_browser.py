"""The dashboard's SLO page in headless Chromium: budget left, burn rate per window, time until the budget is
gone, the incident that spent it. The Analyzer is the real service; its objectives are fed one hour of
queries (20 % failing against a 99 % objective: a page) and evaluated once, so the incident is open."""

from __future__ import annotations

import time

import pytest

from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.analysis.slo import SloTracker, parse_documents
from heritage_otel.service import ServiceConfig
from tests.analysis.slo.helpers import availability, queries
from tests.helpers import free_port
from tests.service.payloads import running_server
from tests.service.test_dashboard_browser import _css, _open, _shot, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def server():
    cfg = ServiceConfig(port=free_port(), evaluate_every_s=0.2)
    with running_server(cfg, AnalyzerConfig(interval_seconds=60)) as srv:
        srv.service.analyzer.slos = SloTracker(parse_documents([availability()]))
        now = time.time()
        for minutes_ago in range(60, 0, -1):
            srv.service.analyzer.ingest(queries(now - minutes_ago * 60, 80, 20))
        srv.service.evaluate(now)
        yield srv


def test_slo_page_shows_budget_burn_rates_and_the_incident(browser, server):  # noqa: F811 - the fixture
    _open(browser, server.url, "slos")
    [row] = _css(browser, "#slos-table tbody tr[data-slo='availability']")
    cells = row.find_elements("tag name", "td")
    assert cells[0].text == "page · 1h"
    assert "Budget" not in cells[4].text and cells[4].text.endswith("%")
    assert cells[5].text.endswith("x") and "bad" in cells[5].get_attribute("class")  # 5m burn rate, above 14.4x
    assert cells[7].text == "20x"  # 1h burn rate: 20 % bad / 1 % budget
    assert cells[10].text == "spent"  # 20x for an hour of a 1-hour history: more than the budget of the events
    assert cells[11].find_elements("css selector", ".badge.CRITICAL")
    _shot(browser, "slos")


def test_overview_lists_the_objective_at_risk(browser, server):  # noqa: F811 - the fixture
    _open(browser, server.url, "overview")
    [item] = _css(browser, "#slo-risk-list li[data-slo='availability']")
    assert item.text.startswith("page · 1h availability (rec):") and "burning 20x over 1h" in item.text


def test_slo_page_without_objectives_says_how_to_add_them(browser):  # noqa: F811 - the fixture
    with running_server(ServiceConfig(port=free_port(), evaluate_every_s=0.2)) as srv:
        _open(browser, srv.url, "slos")
        assert "--slo FILE" in _css(browser, "#slos-table tbody tr.empty")[0].text
        _open(browser, srv.url, "overview")
        assert not _css(browser, "#slo-risk")[0].is_displayed()
