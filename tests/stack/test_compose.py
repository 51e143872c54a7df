"""docker-compose.yml cannot run here (no Docker engine); it must still match the native configs."""

from __future__ import annotations

import yaml

from tests.helpers import REPO_ROOT
from tests.stack.test_configs import env_defaults, listening_ports

COMPOSE = REPO_ROOT / "docker-compose.yml"
NATIVE_CONFIG = {"collector": REPO_ROOT / "collector" / "config.yaml", "jaeger": REPO_ROOT / "jaeger" / "config.yaml"}
PREFIX = {"collector": "HERITAGE_OTEL_COLLECTOR_", "jaeger": "HERITAGE_OTEL_JAEGER_"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _port(value: str) -> int:
    return int(str(value).rsplit(":", 1)[-1])


def test_compose_runs_the_official_images_with_the_native_versions() -> None:
    services = _compose()["services"]
    manifest = (REPO_ROOT / "collector" / "builder-config.yaml").read_text(encoding="utf-8")
    collector_image, collector_tag = services["collector"]["image"].split(":")
    assert collector_image == "otel/opentelemetry-collector-contrib"
    assert f"opentelemetry-collector-contrib/processor/tailsamplingprocessor v{collector_tag}" in manifest
    assert services["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")
    assert "github.com/jaegertracing/jaeger v1.76.0" in (REPO_ROOT / "jaeger" / "go.mod").read_text(encoding="utf-8")


def test_every_mounted_file_exists_and_is_the_config_the_service_runs() -> None:
    services = _compose()["services"]
    for name, native in NATIVE_CONFIG.items():
        service = services[name]
        binds = [v.split(":") for v in service["volumes"] if v.startswith(".")]
        for source, *_ in binds:
            assert (COMPOSE.parent / source).exists(), f"{name} mounts {source}, which does not exist"
        [target] = [target for source, target, *_ in binds if (COMPOSE.parent / source).resolve() == native]
        assert service["command"][service["command"].index("--config") + 1] == target


def test_every_published_port_is_loopback_and_a_native_default() -> None:
    services = _compose()["services"]
    for name, native in NATIVE_CONFIG.items():
        native_ports = set(listening_ports(native, PREFIX[name]).values())
        published = [p.split(":") for p in services[name]["ports"]]
        assert published
        for host_ip, host_port, container_port in published:
            assert host_ip == "127.0.0.1"
            assert int(host_port) == int(container_port) and int(host_port) in native_ports, (name, host_port)
        assert {int(host) for _, host, _ in published} == native_ports, f"{name}: a native port is not published"


def test_container_environment_keeps_the_native_ports() -> None:
    services = _compose()["services"]
    for name, native in NATIVE_CONFIG.items():
        defaults = env_defaults(native)
        environment = services[name]["environment"]
        for variable, value in environment.items():
            if variable.endswith(("_ENDPOINT", "_PORT")) and variable in defaults and "//" not in defaults[variable]:
                assert _port(value) == _port(defaults[variable]), variable
    assert services["collector"]["environment"]["HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT"] == "jaeger:{}".format(
        _port(env_defaults(NATIVE_CONFIG["jaeger"])["HERITAGE_OTEL_JAEGER_OTLP_GRPC_ENDPOINT"])
    )


def test_python_services_mount_existing_sources() -> None:
    services = _compose()["services"]
    for name in ("analyzer", "demo"):
        sources = [v.split(":")[0] for v in services[name]["volumes"]]
        assert {"./pyproject.toml", "./heritage_otel"} <= set(sources)
        assert all((COMPOSE.parent / source).exists() for source in sources), name


def test_demo_sends_to_the_collector_service() -> None:
    demo = _compose()["services"]["demo"]
    command = " ".join(demo["command"])
    assert "heritage-otel demo --otlp-endpoint http://collector:4318" in command
    assert "collector" in demo["depends_on"]



def test_the_collector_sends_metrics_and_logs_to_the_analyzer_service() -> None:
    services = _compose()["services"]
    default = env_defaults(NATIVE_CONFIG["collector"])["HERITAGE_OTEL_ANALYZER_ENDPOINT"]
    endpoint = services["collector"]["environment"]["HERITAGE_OTEL_ANALYZER_ENDPOINT"]
    assert endpoint == f"http://analyzer:{_port(default)}"
    analyzer = services["analyzer"]
    assert f"--port {_port(default)}" in " ".join(analyzer["command"])
    assert analyzer["ports"] == [f"127.0.0.1:{_port(default)}:{_port(default)}"]
