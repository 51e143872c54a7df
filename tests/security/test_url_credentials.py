"""Credentials in a configured URL never reach an answer, a link, an error or a log line (issue 19, item 5)."""

from __future__ import annotations

import logging

import requests

from heritage_otel.analysis import AlertManager
from heritage_otel.secrets import public_url
from heritage_otel.service import AnalyzerServer, ServiceConfig
from tests.helpers import free_port

PASSWORD = "hunter2-5ecret-jaeger"


def test_jaeger_url_credentials_are_kept_out_of_the_trace_api_config_and_logs(caplog) -> None:
    """--jaeger-url http://user:password@host (here a closed port): /api/traces/{id} reports the failure
    without the password, /api/config shows the URL without it, and nothing logged holds it."""
    caplog.set_level(logging.DEBUG)
    jaeger = f"http://ops:{PASSWORD}@127.0.0.1:{free_port()}"
    with AnalyzerServer(ServiceConfig(port=free_port(), jaeger_url=jaeger)) as server:
        found = requests.get(server.url + "/api/traces/" + "ab" * 16, timeout=30)
        config = requests.get(server.url + "/api/config", timeout=10)
    assert found.status_code == 404
    assert found.json()["errors"], found.text  # the failure is reported ...
    assert "could not reach Jaeger at http://***@127.0.0.1" in found.json()["errors"][0]
    assert PASSWORD not in found.text  # ... without the password
    assert config.json()["jaeger_url"] == jaeger.replace(f"ops:{PASSWORD}@", "")
    assert PASSWORD not in caplog.text


def test_alert_trace_links_carry_no_credentials() -> None:
    """The links an alert carries to Jaeger (sent to Alertmanager, webhooks, the alerts file) hold no password."""
    alerts = AlertManager(jaeger_url=f"https://ops:{PASSWORD}@jaeger.example")
    assert alerts._links(("ab" * 16,)) == ("https://jaeger.example/trace/" + "ab" * 16,)


def test_public_url_is_the_one_rule_for_links() -> None:
    assert public_url(f"http://u:{PASSWORD}@h:1/p?access_token=t&x=1") == "http://h:1/p?access_token=***&x=1"
