"""``heritage-otel analyzer serve``: the Analyzer service (fleet mode) with its API and dashboard.

Point the Collector's ``otlphttp/analyzer`` exporter at it
(``HERITAGE_OTEL_ANALYZER_ENDPOINT``, default ``http://127.0.0.1:4328``) and
open the printed URL. Detector settings come from a YAML/JSON file
(``--config``) holding any ``AnalyzerConfig`` field, e.g.::

    interval_seconds: 15
    sensitivity: 3.0
    thresholds:
      query_latency_p95: {max: 2000, warning: 1800, critical: 3000}
      error_rate: {max: 0.01, warning: 0.005, critical: 0.05}

Command-line options win over the file. Every limit of the service
(``ServiceConfig``'s limit fields: body size, connections, timeouts, buckets,
attributes, series, query store, time window) is a ``--flag`` of its own, with
its default and valid range shown in ``--help``; every setting is checked at
start-up (a clear error naming the setting, the value and what is valid).

>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(analyzer, ["--help"])
>>> result.exit_code, result.output.startswith("Usage:")
(0, True)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml

from heritage_otel import environment_variables as env_vars
from heritage_otel.analysis import AlertManager, AnalyzerConfig
from heritage_otel.service.config import (
    DEFAULT_PORT,
    ENV_TOKEN,
    LIMIT_FIELDS,
    ServiceConfig,
    check_range,
    check_writable_file,
    range_text,
)

_ANALYZER_FIELDS = {f.name for f in dataclasses.fields(AnalyzerConfig)}
#: Longest alert dedup/repeat period accepted (a week).
_MAX_COOLDOWN_S = 7 * 24 * 3600.0


def _limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One ``--flag`` per limit field of ServiceConfig (name, type, default, range and help from the field)."""
    for f in reversed(LIMIT_FIELDS):
        lo, hi = f.metadata["lo"], f.metadata["hi"]
        kind = int if isinstance(lo, int) and isinstance(hi, int) else float
        command = click.option(
            "--" + f.name.replace("_", "-"), f.name, type=kind, default=f.default, show_default=True,
            help=f"{f.metadata['help'][0].upper()}{f.metadata['help'][1:]} [{range_text(lo, hi)}].",
        )(command)
    return command


def _load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())[:300]
        msg = f"{path}: not a readable {'JSON' if path.suffix == '.json' else 'YAML'} file ({detail})"
        raise click.BadParameter(msg, param_hint="--config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f"--config {path}: expected a mapping of AnalyzerConfig fields, got {type(data).__name__}"
        raise click.BadParameter(msg)
    unknown = sorted(str(k) for k in set(data) - _ANALYZER_FIELDS)  # YAML keys may be null or numbers
    if unknown:
        msg = f"--config {path}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(_ANALYZER_FIELDS))}"
        raise click.BadParameter(msg)
    if "anomaly_detectors" in data and isinstance(data["anomaly_detectors"], list):
        data["anomaly_detectors"] = tuple(data["anomaly_detectors"])
    return data


def _alert_manager(
    cooldown_s: float, config: ServiceConfig, alerts_file: Path | None, alertmanager_url: tuple[str, ...],
) -> AlertManager:
    """The AlertManager with its sinks; a bad sink setting is a ValueError (nothing left running)."""
    from heritage_otel.analysis.sinks import AlertmanagerSink, JsonlFileSink

    sinks = []
    if alerts_file is not None:
        sinks.append(JsonlFileSink(alerts_file))
    if alertmanager_url:
        try:
            sinks.append(AlertmanagerSink(list(alertmanager_url)))
        except ValueError as exc:
            msg = f"--alertmanager-url: {exc}"
            raise ValueError(msg) from None
    alerts = AlertManager(cooldown_s=cooldown_s, jaeger_url=config.public_jaeger_url)
    for sink in sinks:
        alerts.add_sink(sink)
    return alerts


def _slo_tracker(paths: tuple[Path, ...], time_scale: float) -> Any:
    """The tracker of the objectives of ``--slo`` (None without any); a bad document is a ValueError."""
    if not paths:
        return None
    from heritage_otel.analysis.slo import SloTracker
    from heritage_otel.analysis.slo.files import load_objectives

    try:
        return SloTracker(load_objectives(paths, time_scale=time_scale), time_scale=time_scale)
    except ValueError as exc:
        msg = f"--slo: {exc}"
        raise ValueError(msg) from None


def _attach_slos(analyzer: Any, tracker: Any, checkpoint_dir: Path | None, interval_s: float) -> Any:
    """Feed ``tracker`` from ``analyzer`` (after a checkpoint restore, which brings the old process's objects);
    with a checkpoint folder, restore its counts from ``slos.json`` there and keep saving them."""
    analyzer.slos = tracker
    if tracker is None or checkpoint_dir is None:
        return None
    from heritage_otel.analysis.slo.persist import SloStateFile

    store = SloStateFile(tracker, checkpoint_dir, interval_s)
    store.restore()
    return store.start()


@click.group()
def analyzer() -> None:
    """The Analyzer service: OTLP/HTTP receiver, alerts, JSON API and dashboard."""


@analyzer.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback by default).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port for OTLP, API and dashboard.")
@click.option("--jaeger-url", envvar=env_vars.HERITAGE_OTEL_JAEGER_URL, default=None,
              help=f"Jaeger UI base URL for trace links, e.g. http://127.0.0.1:16686 [env {env_vars.HERITAGE_OTEL_JAEGER_URL}].")
@click.option("--token", default=None,
              help=f"Bearer token required by the receiver and the API; a blank one is refused. Other users can "
                   f"read it in the process list: prefer --token-file or {ENV_TOKEN}.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"File whose first line is the bearer token (keep it mode 600) [else env {ENV_TOKEN}].")
@click.option("--allowed-host", "allowed_hosts", multiple=True,
              help="A name requests may carry in their Host header besides the bind address (repeatable).")
@click.option("--interval-seconds", type=float, default=None,
              help="Expected metric export interval of the replicas (default 60, or from --config).")
@click.option("--retention-minutes", type=float, default=None, help="History kept per series (default 60).")
@click.option("--sensitivity", type=float, default=None, help="Every anomaly detector's sensitivity (default: each detector's own).")
@click.option("--cooldown-seconds", type=float, default=900.0, show_default=True,
              help="Alert dedup/repeat period.")
@click.option("--refresh-seconds", type=int, default=30, show_default=True, help="Dashboard auto-refresh period.")
@click.option("--alerts-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also append alert events to this JSONL file.")
@click.option("--alertmanager-url", multiple=True,
              help="Also send alerts to this Prometheus Alertmanager; repeat for every peer of a cluster.")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save the learned state (windows, baselines, open incidents, dedup) here, and restore it at start.")
@click.option("--checkpoint-interval-seconds", type=float, default=60.0, show_default=True,
              help="Seconds between checkpoints (one more is written at shutdown).")
@click.option("--checkpoint-max-age-minutes", type=float, default=None,
              help="Oldest checkpoint restored at start [default: the retention].")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML or JSON file of AnalyzerConfig fields (thresholds, sensitivity, ...).")
@click.option("--slo", "slo_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="OpenSLO v1 file or folder of objectives to track (repeatable); see docs/slo.md.")
@click.option("--slo-time-scale", type=float, default=1.0, show_default=True,
              help="Multiply every SLO duration by this (0 < x <= 1; below 1 for tests and demos only).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@_limit_options
def serve(
    host: str, port: int, jaeger_url: str | None, token: str | None, token_file: Path | None,
    allowed_hosts: tuple[str, ...],
    interval_seconds: float | None, retention_minutes: float | None, sensitivity: float | None,
    cooldown_seconds: float, refresh_seconds: int, alerts_file: Path | None, alertmanager_url: tuple[str, ...],
    checkpoint_dir: Path | None, checkpoint_interval_seconds: float, checkpoint_max_age_minutes: float | None,
    config_file: Path | None, slo_paths: tuple[Path, ...], slo_time_scale: float, log_level: str, **limits: Any,
) -> None:
    """Receive OTLP metrics and logs from the Collector, analyse them, serve the API and dashboard."""
    from heritage_otel.service import AnalyzerServer

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if token is not None:
        logging.getLogger(__name__).warning(
            "--token on the command line can be read by every user of this host (ps, /proc/<pid>/cmdline); "
            "use --token-file or the %s environment variable", ENV_TOKEN)
    fields = _load_config(config_file)
    for name, value in (("interval_seconds", interval_seconds), ("retention_minutes", retention_minutes),
                        ("sensitivity", sensitivity)):
        if value is not None:
            fields[name] = value
    try:
        analyzer_config = AnalyzerConfig(**fields)
        config = ServiceConfig(
            host=host, port=port, jaeger_url=jaeger_url, token=ServiceConfig.resolve_token(token, token_file),
            allowed_hosts=tuple(allowed_hosts), refresh_seconds=refresh_seconds, **limits,
        )
        check_range("--cooldown-seconds", cooldown_seconds, 0.0, _MAX_COOLDOWN_S, "alert dedup/repeat period")
        if alerts_file is not None:
            check_writable_file("--alerts-file", alerts_file)
        slos = _slo_tracker(slo_paths, slo_time_scale)
        alerts = _alert_manager(cooldown_seconds, config, alerts_file, alertmanager_url)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        server = AnalyzerServer(config, analyzer_config=analyzer_config, alert_manager=alerts)
    except OSError as exc:
        alerts.shutdown()
        raise click.ClickException(str(exc)) from None
    checkpoint = None
    if checkpoint_dir is not None:
        from heritage_otel.service.checkpoint import Checkpointer

        try:
            checkpoint = Checkpointer(server.service, checkpoint_dir, interval_s=checkpoint_interval_seconds,
                                      max_age_s=None if checkpoint_max_age_minutes is None
                                      else checkpoint_max_age_minutes * 60)
        except ValueError as exc:
            server.close()
            raise click.BadParameter(str(exc)) from None
        checkpoint.restore()
    slo_state = _attach_slos(server.service.analyzer, slos, checkpoint_dir, checkpoint_interval_seconds)
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    if checkpoint is not None:
        checkpoint.start()
    auth = "bearer token required" if config.token else "no authentication"
    click.echo(f"Analyzer listening on {server.url} (OTLP/HTTP: {server.url}/v1/metrics, /v1/logs; {auth})")
    click.echo(f"Dashboard: {server.url}/   API: {server.url}/api/health")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        click.echo("Analyzer stopping")
        server.close()
        if checkpoint is not None:
            checkpoint.close()  # after the server stopped receiving: the last state is complete
        if slo_state is not None:
            slo_state.close()
