"""``heritage-otel traces``: print traces from Jaeger's HTTP API, or from an OTLP JSON file, as trees.

The Jaeger URL is ``--jaeger-url``, else ``$HERITAGE_OTEL_JAEGER_URL``, else
the query port recorded by ``heritage-otel stack up`` in the state folder,
else ``http://127.0.0.1:16686``.

>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(traces, ["--help"])
>>> result.exit_code, result.output.startswith("Usage:")
(0, True)
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from heritage_otel import environment_variables as env_vars
from heritage_otel.stack.paths import default_state_dir
from heritage_otel.stack.stack import Stack
from heritage_otel.traces import (
    DEFAULT_JAEGER_URL,
    JaegerClient,
    JaegerError,
    filter_traces,
    read_otlp_json_file,
    render_traces,
    traces_to_json,
)
from heritage_otel.traces.durations import parse_duration_ns
from heritage_otel.traces.hints import nothing_found

JAEGER_URL_ENV = env_vars.HERITAGE_OTEL_JAEGER_URL
#: The exit status when no trace matched (an unknown service or operation, or no trace with these filters).
NOTHING_FOUND_EXIT = 1


def _default_jaeger_url() -> str:
    if os.environ.get(JAEGER_URL_ENV):
        return os.environ[JAEGER_URL_ENV]
    state_dir = default_state_dir()
    if (state_dir / "stack.json").is_file():
        return Stack(state_dir).ports.jaeger_url
    return DEFAULT_JAEGER_URL


def _check_duration(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_duration_ns(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


@click.command()
@click.option("--service", help="Service name (resource service.name). Required for a Jaeger search.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many traces.")
@click.option("--lookback", default=None, callback=_check_duration,
              help="Only traces that started this long ago or later (e.g. 15m, 2h, 1d) "
                   "[default: 1h for Jaeger, the whole file for --file].")
@click.option("--min-duration", callback=_check_duration, help="Only traces with a span at least this long (e.g. 250ms).")
@click.option("--error-only", is_flag=True, help="Only traces with a span whose status is ERROR.")
@click.option("--operation", help="Only traces with a span of this name.")
@click.option("--trace-id", help="Print this one trace (hex id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (an array of traces with their spans).")
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read an OTLP JSON lines file (embedded default, or the Collector's file exporter) instead of Jaeger.")
@click.option("--jaeger-url", help=f"Jaeger query API base URL [default: ${JAEGER_URL_ENV}, the stack's, or {DEFAULT_JAEGER_URL}].")
def traces(
    service: str | None,
    limit: int,
    lookback: str | None,
    min_duration: str | None,
    error_only: bool,
    operation: str | None,
    trace_id: str | None,
    as_json: bool,
    file_: Path | None,
    jaeger_url: str | None,
) -> None:
    """Print traces as indented span trees with durations, status, key attributes and events.

    Exits 1 when no trace matched (saying why on stderr: an unknown service or
    operation, with the close names), 2 on a usage error.
    """
    why_nothing = "no traces found"
    if file_ is not None:
        everything = read_otlp_json_file(file_)
        found = filter_traces(
            everything, service=service, trace_id=trace_id, error_only=error_only,
            min_duration=min_duration, lookback=None if trace_id else lookback, operation=operation, limit=limit,
        )
        if not found and not trace_id:
            why_nothing = nothing_found(
                service=service, services=[name for t in everything for name in t.services],
                operation=operation, operations=[s.name for t in everything for s in t.spans
                                                 if not service or s.service_name == service],
                lookback=lookback)
    else:
        url = jaeger_url or _default_jaeger_url()
        try:
            client = JaegerClient(url)
            if trace_id:
                one = client.get_trace(trace_id)
                found = [one] if one is not None else []
            elif not service:
                services = client.services()
                raise click.UsageError(
                    f"--service is required for a Jaeger search; services in Jaeger: {', '.join(services) or 'none yet'}"
                )
            else:
                found = client.find_traces(service, limit=limit, lookback=lookback or "1h", min_duration=min_duration,
                                           error_only=error_only, operation=operation)
                if not found:
                    services = client.services()
                    why_nothing = nothing_found(
                        service=service, services=services, operation=operation,
                        operations=client.operations(service) if operation and service in services else (),
                        lookback=lookback or "1h")
        except (JaegerError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(traces_to_json(found))
    elif found:
        click.echo(render_traces(found))
    if not found:  # as grep does: a script can tell "nothing matched" from a match
        click.echo(why_nothing, err=True)
        raise SystemExit(NOTHING_FOUND_EXIT)
