"""``heritage-otel stack up|down|status``: the Collector and Jaeger, natively, on loopback.

``up`` builds missing binaries (``scripts/deps/*.sh``), starts Jaeger then the
Collector with the repository's configs, and waits for their health
endpoints. ``up --fleet`` starts the fleet picture instead: a gateway, two
sampling Collectors, two Analyzer shards (each behind its own Collector), two
gossiping Alertmanager peers and Jaeger with on-disk (Badger) storage. State
(pids, logs, ports, queues) lives in ``--state-dir`` (default
``$HERITAGE_OTEL_STATE_DIR`` or ``./.state/stack``); ``status`` and ``down``
act on whatever ``up`` started there.

>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(stack, ["--help"])
>>> result.exit_code, result.output.startswith("Usage:")
(0, True)
"""

from __future__ import annotations

from pathlib import Path

import json

import click
from rich.console import Console
from rich.table import Table

from heritage_otel import environment_variables as env_vars
from heritage_otel.stack import JAEGER_STORAGES, Stack, StackError, StackPorts
from heritage_otel.stack.fleet import FleetSettings
from heritage_otel.stack.paths import default_state_dir

_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Folder for pid files, logs and queues [default: ${env_vars.HERITAGE_OTEL_STATE_DIR} or "
         f"{env_vars.REGISTRY[env_vars.HERITAGE_OTEL_STATE_DIR].default.strip('`')}].",
)


@click.group()
def stack() -> None:
    """Run the OpenTelemetry Collector and Jaeger locally (built from their Go modules)."""


@stack.command()
@_state_dir_option
@click.option("--jaeger-storage", type=click.Choice(sorted(JAEGER_STORAGES)), default=None,
              help="Jaeger trace storage: memory, or badger (on disk, survives restarts) [default: memory].")
@click.option("--fleet", is_flag=True,
              help="Start the fleet: gateway, 2 sampling Collectors, 2 Analyzer shards, 2 Alertmanager peers, Jaeger.")
@click.option("--alert-webhook", default=None,
              help="With --fleet: the URL the Alertmanager peers notify [default: alertmanager/alertmanager.yml's].")
@click.option("--free-ports", is_flag=True, help="Pick free loopback ports instead of the configs' defaults.")
@click.option("--rebuild", is_flag=True, help="Run the build scripts even when the binaries exist (they cache).")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
              help="Seconds to wait for each component's health endpoint.")
def up(state_dir: Path | None, jaeger_storage: str | None, fleet: bool, alert_webhook: str | None, free_ports: bool,
       rebuild: bool, timeout_s: float) -> None:
    """Build if needed, start Jaeger and the Collector (or the fleet), and wait until all are healthy."""
    console = Console()
    state_dir = state_dir or default_state_dir()
    try:
        previous = Stack(state_dir)
        running = [status.name for status in previous.status() if status.running]
        if running and fleet != (previous.fleet is not None):
            msg = (f"{state_dir} already runs the {'fleet' if previous.fleet else 'single'} stack "
                   f"({', '.join(running)}); run `heritage-otel stack down` first or use another --state-dir")
            raise StackError(msg)
        ports = None if running or not free_ports else StackPorts.free()
        if free_ports and running:
            console.print(f"[yellow]already running: {', '.join(running)}; keeping their ports[/yellow]")
        settings = None
        if fleet:
            settings = previous.fleet if running else (
                FleetSettings.free(alert_webhook=alert_webhook) if free_ports else FleetSettings(alert_webhook=alert_webhook))
        stack_ = Stack(state_dir, ports=ports, jaeger_storage=jaeger_storage, fleet=settings)
        stack_.ensure_built(echo=lambda message: console.print(f"[cyan]{message}[/cyan]"), rebuild=rebuild)
        stack_.up(timeout_s=timeout_s)
    except (StackError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    _print_status(console, stack_)
    if stack_.fleet is not None:
        gateway = stack_.fleet.ports["gateway"]
        click.echo(
            f"\nsend telemetry:  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{gateway['otlp-http']}  (the gateway)\n"
            f"Analyzer shards: " + ", ".join(stack_.fleet.url(f"analyzer-{i}", "http") for i in (1, 2)) + "\n"
            "status:          heritage-otel stack status [--json]\n"
            "stop:            heritage-otel stack down"
        )
        return
    click.echo(
        f"\nsend telemetry:  OTEL_EXPORTER_OTLP_ENDPOINT={stack_.ports.otlp_http_endpoint}  "
        f"(gRPC: {stack_.ports.otlp_grpc_endpoint})\n"
        f"read traces:     heritage-otel traces --service <name>   (Jaeger API {stack_.ports.jaeger_url})\n"
        f"stop:            heritage-otel stack down"
    )


@stack.command()
@_state_dir_option
def down(state_dir: Path | None) -> None:
    """Stop everything ``up`` started here, senders first (a Collector flushes first)."""
    try:
        stopped = Stack(state_dir or default_state_dir()).down()
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, was_running in stopped.items():
        click.echo(f"{name}: {'stopped' if was_running else 'not running'}")


@stack.command()
@_state_dir_option
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list, one object per component: name, pid, healthy, ports {name: host:port}.")
def status(state_dir: Path | None, as_json: bool) -> None:
    """Show each component, its pid, ports, health and log file (exit 1 when one is not healthy)."""
    stack_ = Stack(state_dir or default_state_dir())
    try:
        items = stack_.status()
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps([item.as_json() for item in items], indent=2))
    else:
        _print_status(Console(), stack_, items)
    if not all(item.healthy for item in items):
        raise SystemExit(1)


def _print_status(console: Console, stack_: Stack, items: list | None = None) -> None:
    table = Table(title=f"heritage-otel {'fleet' if stack_.fleet else 'stack'} ({stack_.state_dir})")
    for column in ("component", "pid", "state", "health", "ports", "log"):
        table.add_column(column)
    for item in stack_.status() if items is None else items:
        state = "[green]running[/green]" if item.running else "[red]stopped[/red]"
        health = "[green]healthy[/green]" if item.healthy else ("[red]unhealthy[/red]" if item.running else "-")
        ports = "\n".join(f"{label} 127.0.0.1:{port}" for label, port in item.ports.items())
        table.add_row(item.name, str(item.pid or "-"), state, f"{health}\n{item.health_url}", ports, str(item.log))
    console.print(table)
