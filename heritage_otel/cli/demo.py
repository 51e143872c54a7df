"""``heritage-otel demo``: the instrumented reference recommender through baseline, incident and recovery.

Needs no server: telemetry stays in process (spans to an OTLP JSON file and
the in-process span store, metrics to the in-process Analyzer, which raises
the alerts). With ``--otlp-endpoint`` (or ``OTEL_EXPORTER_OTLP_ENDPOINT``)
everything is also exported to a Collector. Prints the health, alert,
component, quality and slowest-trace tables and writes ``alerts.jsonl``,
``spans.otlp.jsonl`` and ``summary.json`` to the output folder.

Example::

    heritage-otel demo --seed 7 --queries 2400 --output-dir out/demo

>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(demo, ["--help"])
>>> result.exit_code, result.output.startswith("Usage:")
(0, True)
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from urllib.parse import urlparse

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from heritage_otel.demo.report import print_report, summarize, write_summary
from heritage_otel.demo.scenario import PHASES, DemoConfig, Phase, TelemetryDisabledError, run_demo

_MIN_WIDTH = 150
_STATUS_STYLE = {"healthy": "green", "degraded": "yellow", "critical": "red"}


def _reachable(endpoint: str, timeout_s: float = 1.0) -> bool:
    """Whether a TCP connection to the endpoint's host and port opens (True when it cannot be parsed)."""
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parsed.hostname:
        return True
    port = parsed.port or (443 if parsed.scheme == "https" else 4318)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@click.command("demo")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the corpus, query mix and faults.")
@click.option("--queries", "queries", type=int, default=2400, show_default=True,
              help="Total queries over the three phases (at least 480).")
@click.option("--duration", "duration_s", type=float, default=None,
              help="Pace the run to last about this many seconds [default: as fast as possible; with an OTLP "
                   "endpoint, 96 s: one metric export per 2 s tick, so a remote Analyzer judges all 48 intervals].")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"),
              show_default=True, help="Folder for alerts.jsonl, spans.otlp.jsonl and summary.json.")
@click.option("--otlp-endpoint", default=None, envvar="OTEL_EXPORTER_OTLP_ENDPOINT",
              help="Also export spans, metrics and logs to this OTLP endpoint (a Collector).")
@click.option("--quiet", is_flag=True, help="No progress bar and no tables (the files are still written).")
def demo(seed: int, queries: int, duration_s: float | None, output_dir: Path, otlp_endpoint: str | None,
         quiet: bool) -> None:
    """Run the instrumented reference recommender through an incident and report what telemetry saw."""
    try:
        config = DemoConfig(seed=seed, queries=queries, duration_s=duration_s, output_dir=output_dir,
                            otlp_endpoint=otlp_endpoint or None)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    logging.getLogger("heritage_otel").setLevel(logging.WARNING)
    console = Console(quiet=quiet)
    console.width = max(console.width, _MIN_WIDTH)  # the alert table needs room; narrower terminals wrap
    if config.otlp_endpoint and not _reachable(config.otlp_endpoint):
        console.print(f"[yellow]OTLP endpoint {config.otlp_endpoint} is not reachable: the SDK retries and then "
                      "drops what it cannot send, and the final flush waits for its export timeouts. The local "
                      "files and the analysis are complete either way.[/]")
    total_ticks = sum(p.ticks for p in PHASES)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False, disable=quiet) as progress:
        task = progress.add_task("starting", total=total_ticks * config.per_tick)

        def on_tick(phase: Phase, tick: int, health) -> None:  # noqa: ANN001 - a test double's signature
            style = _STATUS_STYLE.get(health.status, "")
            progress.update(task, advance=config.per_tick,
                            description=f"{phase.name:<8} health [{style}]{health.score:5.1f} {health.status}[/]")

        try:
            result = run_demo(config, on_tick)
        except TelemetryDisabledError as exc:
            raise click.ClickException(str(exc)) from None
    summary = summarize(result)
    write_summary(summary, result.files["summary"])
    print_report(summary, console)
