"""Jaeger's tag search for error traces, as docs/pipeline.md shows it, through the real Collector into the
real Jaeger."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.helpers import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def _documented_search() -> dict[str, str]:
    """The tags of the documented error search (docs/pipeline.md, "Find error traces")."""
    text = (REPO_ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8")
    section = text.split("### Find error traces", 1)[1]
    line = next(line for line in section.splitlines() if line.startswith("#   tags="))
    return json.loads(line.removeprefix("#   tags=").split("}", 1)[0] + "}")


def test_the_documented_tag_search_finds_the_error_traces(start_stack) -> None:
    stack = start_stack(HERITAGE_OTEL_SAMPLING_PERCENTAGE="100")
    service = f"error-search-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"{stack.ports.otlp_http_endpoint}/v1/traces", timeout=10)))
    tracer = provider.get_tracer("tests.e2e")
    with tracer.start_as_current_span("request") as root:  # a failing child, an unset root: as our chains record
        with tracer.start_as_current_span("step") as child:
            child.set_status(trace.Status(trace.StatusCode.ERROR, "boom"))
    failing = format(root.get_span_context().trace_id, "032x")
    with tracer.start_as_current_span("request") as ok_root:
        pass
    healthy = format(ok_root.get_span_context().trace_id, "032x")
    provider.shutdown()

    url = f"{stack.ports.jaeger_url}/api/traces"

    def search(tags: dict[str, str]) -> set[str]:
        params = {"service": service, "lookback": "1h", "limit": 20, "tags": json.dumps(tags)}
        return {t["traceID"].rjust(32, "0") for t in requests.get(url, params=params, timeout=10).json()["data"] or []}

    deadline = time.monotonic() + 60
    everything: set[str] = set()
    while time.monotonic() < deadline and everything != {failing, healthy}:
        time.sleep(0.5)
        everything = {t["traceID"].rjust(32, "0") for t in requests.get(
            url, params={"service": service, "lookback": "1h", "limit": 20}, timeout=10).json()["data"] or []}
    assert everything == {failing, healthy}
    tags = _documented_search()
    assert tags == {"otel.status_code": "ERROR"}
    assert search(tags) == {failing}
    assert search({"error": "true"}) == set()  # what the docs say does not work (Jaeger 2.13's memory store)
