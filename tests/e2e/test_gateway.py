"""End to end, scale-out: gateway.yaml routes spans by trace id to two sampling Collectors (config.yaml),
so tail sampling sees whole traces even when a trace's spans arrive in separate requests."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from heritage_otel.stack import Stack, StackPorts
from heritage_otel.stack.health import wait_healthy
from heritage_otel.stack.ports import free_ports
from heritage_otel.stack.process import log_path, start_process, stop_process, tail
from heritage_otel.traces import JaegerClient
from tests.e2e.conftest import FAST_SAMPLING_ENV
from tests.e2e.workload import wait_for_traces
from tests.helpers import BIN_DIR, REPO_ROOT, require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _collector_env(ports: StackPorts, state: Path, name: str, own: list[int], **extra: str) -> dict[str, str]:
    grpc, http, health, metrics, nobody = own
    return {
        "HERITAGE_OTEL_COLLECTOR_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{grpc}",
        "HERITAGE_OTEL_COLLECTOR_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{http}",
        "HERITAGE_OTEL_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{health}",
        "HERITAGE_OTEL_COLLECTOR_METRICS_PORT": str(metrics),
        "HERITAGE_OTEL_COLLECTOR_STORAGE_DIR": str(state / f"{name}-queue"),
        "HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{ports.jaeger_otlp_grpc}",
        "HERITAGE_OTEL_ANALYZER_ENDPOINT": f"http://127.0.0.1:{nobody}",
        **FAST_SAMPLING_ENV,
        **extra,
    }


def _accepted_spans(env: dict[str, str]) -> float:
    text = requests.get(f"http://127.0.0.1:{env['HERITAGE_OTEL_COLLECTOR_METRICS_PORT']}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("otelcol_receiver_accepted_spans"))


def test_gateway_keeps_traces_whole_across_two_sampling_collectors(tmp_path: Path) -> None:
    binary = require_binary(BIN_DIR / "otelcol-heritage", "bash scripts/deps/collector.sh")
    require_binary(BIN_DIR / "jaeger", "bash scripts/deps/jaeger.sh")
    state = tmp_path / "state"
    ports = free_ports(10 + 3 * 5)
    stack = Stack(state, ports=StackPorts(*ports[:10]), repo=REPO_ROOT)
    own = [ports[10 + 5 * i: 15 + 5 * i] for i in range(3)]
    samplers = {name: _collector_env(stack.ports, state, name, own[i], HERITAGE_OTEL_SAMPLING_PERCENTAGE="0")
                for i, name in enumerate(("sampler-a", "sampler-b"))}
    backends = ", ".join(env["HERITAGE_OTEL_COLLECTOR_OTLP_GRPC_ENDPOINT"] for env in samplers.values())
    gateway = _collector_env(stack.ports, state, "gateway", own[2], HERITAGE_OTEL_GATEWAY_BACKENDS=f"[{backends}]")
    processes = {**samplers, "gateway": gateway}
    try:
        stack.start("jaeger", timeout_s=60)
        for name, env in processes.items():
            config = "gateway.yaml" if name == "gateway" else "config.yaml"
            proc = start_process(name, [binary, "--config", str(REPO_ROOT / "collector" / config)], state,
                                 env=env, cwd=REPO_ROOT)
            health = f"http://{env['HERITAGE_OTEL_COLLECTOR_HEALTH_ENDPOINT']}/"
            assert wait_healthy(health, timeout_s=60, still_running=lambda p=proc: p.poll() is None), \
                tail(log_path(name, state))

        # One OTLP request per span (SimpleSpanProcessor): a trace's spans reach the gateway separately.
        service = f"e2e-gateway-{uuid.uuid4().hex[:8]}"
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        endpoint = f"http://{gateway['HERITAGE_OTEL_COLLECTOR_OTLP_HTTP_ENDPOINT']}/v1/traces"
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10)))
        tracer = provider.get_tracer("tests.e2e.gateway")
        failing, plain = set(), set()
        try:
            for i in range(60):
                with tracer.start_as_current_span("gw.request") as root:
                    with tracer.start_as_current_span("gw.lookup"):
                        pass
                    with tracer.start_as_current_span("gw.rank") as rank:
                        if i % 3 == 0:
                            rank.set_status(trace.Status(trace.StatusCode.ERROR, "rank failed"))
                (failing if i % 3 == 0 else plain).add(format(root.get_span_context().trace_id, "032x"))
        finally:
            provider.shutdown()

        found = wait_for_traces(JaegerClient(stack.ports.jaeger_url), service, failing, timeout_s=60, settle_s=4)
        logs = "\n".join(f"--- {n} ---\n{tail(log_path(n, state))}" for n in processes)
        assert set(found) == failing, f"kept {len(set(found) & failing)} of {len(failing)} failing traces\n{logs}"
        # Whole traces: the error span and the root (which arrived in another request) went to one sampler.
        assert all(len(found[tid].spans) == 3 and len(found[tid].tree()) == 1 for tid in failing)
        # Both sampling Collectors took a share of the traffic.
        shares = [_accepted_spans(env) for env in samplers.values()]
        assert all(share > 0 for share in shares) and sum(shares) == 180, shares
    finally:
        for name in ("gateway", *samplers):
            stop_process(name, state)
        stack.down()
