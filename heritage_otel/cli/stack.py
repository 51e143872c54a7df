"""``heritage-otel stack up|down|status``: the Collector and Jaeger, natively, on loopback.

``up`` builds missing binaries (``scripts/deps/*.sh``), starts Jaeger then the
Collector with the repository's configs, and waits for their health
endpoints. ``up --fleet`` starts the fleet picture instead: a gateway, two
sampling Collectors, ``--shards`` Analyzer shards (default two, each behind its
own Collector; ``--interval-seconds``, ``--analyzer-config FILE`` (the same
file as ``analyzer serve --config``) and ``--slo FILE|FOLDER`` (repeatable, the
objectives of ``analyzer serve --slo``, checked before anything starts) apply
to every shard and are recorded in the state folder), two gossiping
Alertmanager peers and Jaeger with on-disk
(Badger) storage. State
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
from heritage_otel.stack.fleet import FLEET_SHARDS, MAX_SHARDS, FleetSettings
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
@click.option("--shards", type=int, default=None,
              help=f"With --fleet: the number of Analyzer shards, 1 to {MAX_SHARDS} [default: {FLEET_SHARDS}].")
@click.option("--interval-seconds", type=float, default=None,
              help="With --fleet: the shards' export and analysis interval [default: the service's, 60 s].")
@click.option("--analyzer-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --fleet: the YAML/JSON file every shard reads (the same as `analyzer serve --config`).")
@click.option("--slo", "slo_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="With --fleet: an OpenSLO v1 file or folder of objectives every shard tracks (repeatable; "
                   "the same as `analyzer serve --slo`, see docs/slo.md).")
@click.option("--free-ports", is_flag=True, help="Pick free loopback ports instead of the configs' defaults.")
@click.option("--rebuild", is_flag=True, help="Run the build scripts even when the binaries exist (they cache).")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
              help="Seconds to wait for each component's health endpoint.")
def up(state_dir: Path | None, jaeger_storage: str | None, fleet: bool, alert_webhook: str | None,
       shards: int | None, interval_seconds: float | None, analyzer_config: Path | None,
       slo_paths: tuple[Path, ...], free_ports: bool, rebuild: bool, timeout_s: float) -> None:
    """Build if needed, start Jaeger and the Collector (or the fleet), and wait until all are healthy."""
    console = Console()
    state_dir = state_dir or default_state_dir()
    knobs = _fleet_knobs(fleet, shards, interval_seconds, analyzer_config, slo_paths)
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
                FleetSettings.free(alert_webhook=alert_webhook, **knobs) if free_ports
                else FleetSettings(alert_webhook=alert_webhook, **knobs))
            if running and knobs and settings is not None and any(
                    settings.analyzer_settings()[k] != (list(v) if isinstance(v, tuple) else v)
                    for k, v in knobs.items()):
                msg = (f"{state_dir} already runs the fleet with {settings.analyzer_settings()}; "
                       "run `heritage-otel stack down` first to change --shards, --interval-seconds, "
                       "--analyzer-config or --slo")
                raise StackError(msg)
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
            "Analyzer shards: " + ", ".join(stack_.fleet.url(name, "http") for name in stack_.fleet.shard_names) + "\n"
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


def _fleet_knobs(fleet: bool, shards: int | None, interval_seconds: float | None,
                 analyzer_config: Path | None, slo_paths: tuple[Path, ...] = ()) -> dict[str, object]:
    """The fleet's Analyzer settings given on the command line, checked before anything starts."""
    given = {"--shards": shards, "--interval-seconds": interval_seconds, "--analyzer-config": analyzer_config,
             "--slo": slo_paths or None}
    named = [flag for flag, value in given.items() if value is not None]
    if named and not fleet:
        msg = f"{', '.join(named)}: valid with --fleet only (they configure its Analyzer shards); add --fleet"
        raise click.UsageError(msg)
    knobs: dict[str, object] = {}
    if shards is not None:
        knobs["shards"] = shards
    if interval_seconds is not None:
        knobs["interval_seconds"] = interval_seconds
    try:
        FleetSettings(**knobs)  # type: ignore[arg-type]  # checks --shards and --interval-seconds
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if analyzer_config is not None:
        from heritage_otel.analysis import AnalyzerConfig
        from heritage_otel.cli.analyzer import _load_config

        path = analyzer_config.resolve()
        try:
            fields = _load_config(path)
            fields.update({"interval_seconds": interval_seconds} if interval_seconds is not None else {})
            AnalyzerConfig(**fields)
        except click.BadParameter as exc:
            msg = exc.format_message().replace("--config", "--analyzer-config")
            raise click.BadParameter(msg, param_hint="--analyzer-config") from None
        except (TypeError, ValueError) as exc:
            raise click.BadParameter(f"{path}: {exc}", param_hint="--analyzer-config") from None
        knobs["analyzer_config"] = str(path)
    if slo_paths:
        knobs["slos"] = _checked_slos(slo_paths)
    return knobs


def _checked_slos(paths: tuple[Path, ...]) -> tuple[str, ...]:
    """The ``--slo`` files and folders as absolute paths, once every shard could load them (as
    ``analyzer serve --slo`` does); a bad document is a usage error naming the file and the field."""
    from heritage_otel.cli.analyzer import _slo_tracker

    resolved = tuple(path.resolve() for path in paths)
    try:
        _slo_tracker(resolved, 1.0)
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("--slo: "), param_hint="--slo") from None
    return tuple(map(str, resolved))


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
              help="Print a JSON list, one object per component: name, pid, healthy, ports {name: host:port}; "
                   "a fleet's Analyzer shards also have settings {shards, interval_seconds, analyzer_config, slos}.")
def status(state_dir: Path | None, as_json: bool) -> None:
    """Show each component, its pid, ports, health and log file (exit 1 when one is not healthy)."""
    stack_ = Stack(state_dir or default_state_dir())
    try:
        items = stack_.status()
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        shard = stack_.fleet.analyzer_settings() if stack_.fleet is not None else None
        click.echo(json.dumps([item.as_json() | ({"settings": shard} if shard and item.name.startswith("analyzer-")
                                                 else {}) for item in items], indent=2))
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
