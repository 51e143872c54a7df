"""``heritage-otel stack up|down|status``: the Collector and Jaeger, natively, on loopback.

``up`` builds missing binaries (``scripts/deps/*.sh``), starts Jaeger then the
Collector with the repository's configs, and waits for their health
endpoints. State (pids, logs, ports, queue) lives in ``--state-dir``
(default ``$HERITAGE_OTEL_STATE_DIR`` or ``./.state/stack``).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from heritage_otel.stack import JAEGER_STORAGES, Stack, StackError, StackPorts
from heritage_otel.stack.paths import default_state_dir

_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for pid files, logs and queues [default: $HERITAGE_OTEL_STATE_DIR or ./.state/stack].",
)


@click.group()
def stack() -> None:
    """Run the OpenTelemetry Collector and Jaeger locally (built from their Go modules)."""


@stack.command()
@_state_dir_option
@click.option("--jaeger-storage", type=click.Choice(sorted(JAEGER_STORAGES)), default=None,
              help="Jaeger trace storage: memory, or badger (on disk, survives restarts) [default: memory].")
@click.option("--free-ports", is_flag=True, help="Pick free loopback ports instead of the configs' defaults.")
@click.option("--rebuild", is_flag=True, help="Run the build scripts even when the binaries exist (they cache).")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
              help="Seconds to wait for each component's health endpoint.")
def up(state_dir: Path | None, jaeger_storage: str | None, free_ports: bool, rebuild: bool, timeout_s: float) -> None:
    """Build if needed, start Jaeger and the Collector, and wait until both are healthy."""
    console = Console()
    state_dir = state_dir or default_state_dir()
    try:
        running = [status.name for status in Stack(state_dir).status() if status.running]
        ports = None if running or not free_ports else StackPorts.free()
        if free_ports and running:
            console.print(f"[yellow]already running: {', '.join(running)}; keeping their ports[/yellow]")
        stack_ = Stack(state_dir, ports=ports, jaeger_storage=jaeger_storage)
        stack_.ensure_built(echo=lambda message: console.print(f"[cyan]{message}[/cyan]"), rebuild=rebuild)
        stack_.up(timeout_s=timeout_s)
    except (StackError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    _print_status(console, stack_)
    click.echo(
        f"\nsend telemetry:  OTEL_EXPORTER_OTLP_ENDPOINT={stack_.ports.otlp_http_endpoint}  "
        f"(gRPC: {stack_.ports.otlp_grpc_endpoint})\n"
        f"read traces:     heritage-otel traces --service <name>   (Jaeger API {stack_.ports.jaeger_url})\n"
        f"stop:            heritage-otel stack down"
    )


@stack.command()
@_state_dir_option
def down(state_dir: Path | None) -> None:
    """Stop the Collector (it flushes first) and Jaeger."""
    try:
        stopped = Stack(state_dir or default_state_dir()).down()
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, was_running in stopped.items():
        click.echo(f"{name}: {'stopped' if was_running else 'not running'}")


@stack.command()
@_state_dir_option
def status(state_dir: Path | None) -> None:
    """Show each component, its pid, ports, health and log file."""
    stack_ = Stack(state_dir or default_state_dir())
    try:
        _print_status(Console(), stack_)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if not all(item.healthy for item in stack_.status()):
        raise SystemExit(1)


def _print_status(console: Console, stack_: Stack) -> None:
    table = Table(title=f"heritage-otel stack ({stack_.state_dir})")
    for column in ("component", "pid", "state", "health", "ports", "log"):
        table.add_column(column)
    for item in stack_.status():
        state = "[green]running[/green]" if item.running else "[red]stopped[/red]"
        health = "[green]healthy[/green]" if item.healthy else ("[red]unhealthy[/red]" if item.running else "-")
        ports = "\n".join(f"{label} 127.0.0.1:{port}" for label, port in item.ports.items())
        table.add_row(item.name, str(item.pid or "-"), state, f"{health}\n{item.health_url}", ports, str(item.log))
    console.print(table)
