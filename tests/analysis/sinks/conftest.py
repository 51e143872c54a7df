"""Shared fixtures for the sink tests: a sample alert and loopback HTTP receivers with scripted behaviour."""

from __future__ import annotations

import pytest

from heritage_otel.analysis.alerts import Alert
from heritage_otel.analysis.findings import AlertLevel
from heritage_otel.testing import HttpReceiver


def make_alert(level=AlertLevel.CRITICAL, state="firing", alert_id="a1b2c3d4e5f60718", metric="query_latency_p95"):
    return Alert(
        id=alert_id, level=level, metric=metric, detector="threshold", labels={"service.name": "recommender"},
        current_value=3500.0, threshold=3000.0, message=f"{metric} = 3500 is above the critical level 3000",
        first_seen=1_700_000_000.0, last_seen=1_700_000_060.0,
        exemplar_trace_ids=("0af7651916cd43dd8448eb211c80319c",), exemplar_span_ids=("b7ad6b7169203331",),
        jaeger_links=("http://127.0.0.1:16686/trace/0af7651916cd43dd8448eb211c80319c",), state=state,
        resolved_at=1_700_000_120.0 if state == "resolved" else None,
    )


@pytest.fixture
def alert():
    return make_alert()


#: A secret-looking path: sinks must never log it.
SECRET_PATH = "/hook/SECRETPATH"


@pytest.fixture
def http_server():
    """Starts loopback receivers answering each POST with the next scripted status ('hang' never answers)."""
    receivers = []

    def start(*script):
        receiver = HttpReceiver(script)
        receivers.append(receiver)
        return receiver

    yield start
    for r in receivers:
        r.close()
