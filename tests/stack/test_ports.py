"""StackPorts: one port per socket, the environment the configs read, free ports for tests."""

from __future__ import annotations

import socket

import pytest

from heritage_otel.stack import StackPorts
from heritage_otel.stack.ports import _ephemeral_range, free_ports


def test_free_ports_are_distinct_and_bindable_on_loopback() -> None:
    ports = StackPorts.free()
    values = list(ports.as_dict().values())
    assert len(set(values)) == len(values) == 10
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.collector_otlp_http))


def test_free_ports_avoid_the_kernels_ephemeral_range() -> None:
    """Outgoing connections take source ports from that range; ours must not be among them."""
    low, _high = _ephemeral_range()
    ports = free_ports(30)
    assert len(set(ports)) == 30
    if low > 10_000:
        assert all(10_000 <= port < low for port in ports)


def test_env_gives_host_and_port_for_endpoints_and_bare_ports_for_metrics() -> None:
    env = StackPorts(collector_otlp_grpc=5001).env()
    assert env["HERITAGE_OTEL_COLLECTOR_OTLP_GRPC_ENDPOINT"] == "127.0.0.1:5001"
    assert env["HERITAGE_OTEL_COLLECTOR_METRICS_PORT"] == "8888"
    assert all(value.startswith("127.0.0.1:") or value.isdigit() for value in env.values())


def test_round_trip_through_a_dict() -> None:
    ports = StackPorts.free()
    assert StackPorts.from_dict(ports.as_dict()) == ports


def test_urls_point_at_loopback() -> None:
    ports = StackPorts(jaeger_query_http=17000, collector_otlp_http=5318)
    assert ports.jaeger_url == "http://127.0.0.1:17000"
    assert ports.otlp_http_endpoint == "http://127.0.0.1:5318"


@pytest.mark.parametrize("bad", [0, 70000, "4317", True])
def test_an_invalid_port_fails_naming_the_field(bad: object) -> None:
    with pytest.raises(ValueError, match=r"port collector_otlp_grpc = .* expected an integer in \[1, 65535\]"):
        StackPorts(collector_otlp_grpc=bad)  # type: ignore[arg-type]  # a bad value on purpose


def test_two_sockets_on_one_port_are_rejected() -> None:
    with pytest.raises(ValueError, match="every component socket needs its own port"):
        StackPorts(collector_otlp_grpc=4318)
