"""Prometheus Alertmanager sink: ``POST /api/v2/alerts``.

Each alert becomes an Alertmanager alert with

* ``labels``: ``alertname`` (``Heritage`` + metric + detector), ``severity``
  (info/warning/critical), ``incident`` (the stable incident id, else the
  alert id), ``metric``, ``detector``, ``service`` and the alert's own labels
  (names sanitised to ``[a-zA-Z_][a-zA-Z0-9_]*``), so an Alertmanager route
  can group by ``incident`` and ``service`` and inhibit lower severities
  (``alertmanager/alertmanager.yml``);
* ``annotations``: ``summary`` (the message), ``value``, ``threshold``,
  ``alert_id``, ``incident`` and ``probable_cause`` (incident notifications),
  ``trace_ids`` and ``jaeger`` (first link);
* ``startsAt`` (first seen), ``endsAt`` and ``generatorURL`` (the Jaeger link
  of the first exemplar trace, else ``generator_url``).

Firing alerts are re-sent every ``resend_interval_s`` with ``endsAt`` four
intervals ahead, as Prometheus does, so Alertmanager keeps them alive while
they last and lets them expire if this process dies. A resolved alert is sent
once with ``endsAt`` = its resolution time. When an alert escalates, its
previous label set (old severity) is ended at the same time.

The base URL comes from ``url`` or ``HERITAGE_OTEL_ALERTMANAGER_URL`` (the old
``HERITAGE_ALERTMANAGER_URL`` still works, with a deprecation warning). For an
Alertmanager cluster, give every peer (a list, or a comma-separated variable):
each alert is posted to each peer independently, as Prometheus does, and the
peers' gossip deduplicates the notifications; one peer down does not stop
delivery to the others.

>>> from heritage_otel.analysis.alert import Alert
>>> from heritage_otel.analysis.findings import AlertLevel
>>> alert = Alert("a1", AlertLevel.CRITICAL, "error_rate", "threshold", {"service.name": "rec"}, 0.2, 0.05,
...               "error_rate high", first_seen=0.0, last_seen=60.0)
>>> body = to_alertmanager(alert, ends_at=300.0)
>>> body["labels"]["alertname"], body["labels"]["severity"], body["endsAt"]
('HeritageErrorRateThreshold', 'critical', '1970-01-01T00:05:00Z')
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from heritage_otel import environment_variables
from heritage_otel.analysis.alert import Alert
from heritage_otel.analysis.sinks._http import DeliveryError, check_retry, check_url, post_json, resolve_url
from heritage_otel.checks import check_number

__all__ = ["AlertmanagerSink", "ENV_URL", "to_alertmanager"]

ENV_URL = environment_variables.HERITAGE_OTEL_ALERTMANAGER_URL
_log = logging.getLogger(__name__)
_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC).isoformat().replace("+00:00", "Z")


def _name(key: str) -> str:
    cleaned = _LABEL.sub("_", key)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


def _alertname(alert: Alert) -> str:
    words = re.split(r"[^a-zA-Z0-9]+", f"{alert.metric} {alert.detector}")
    return "Heritage" + "".join(w[:1].upper() + w[1:] for w in words if w)


def to_alertmanager(alert: Alert, ends_at: float, generator_url: str | None = None,
                    severity: str | None = None) -> dict[str, Any]:
    """The Alertmanager v2 ``postableAlert`` for one alert."""
    labels = {_name(k): str(v) for k, v in alert.labels.items()}
    if "service_name" in labels:
        labels["service"] = labels.pop("service_name")
    labels.update(alertname=_alertname(alert), severity=severity or alert.level.name.lower(),
                  metric=alert.metric, detector=alert.detector,
                  incident=str(getattr(alert, "incident", None) or alert.id))
    annotations = {"summary": alert.message, "value": f"{alert.current_value:.6g}",
                   "threshold": f"{alert.threshold:.6g}", "alert_id": alert.id}
    if getattr(alert, "incident", None):
        annotations["incident"] = alert.incident
    cause = getattr(alert, "cause", None)
    if cause and cause.get("summary"):
        annotations["probable_cause"] = str(cause["summary"])
    if alert.exemplar_trace_ids:
        annotations["trace_ids"] = ",".join(alert.exemplar_trace_ids)
    if alert.jaeger_links:
        annotations["jaeger"] = alert.jaeger_links[0]
    body: dict[str, Any] = {"labels": labels, "annotations": annotations,
                            "startsAt": _iso(alert.first_seen), "endsAt": _iso(ends_at)}
    link = alert.jaeger_links[0] if alert.jaeger_links else generator_url
    if link:
        body["generatorURL"] = link
    return body


def _peers(url: str | Sequence[str] | None, environ: Mapping[str, str]) -> list[str]:
    """The peers' base URLs: ``url`` (one or a list), else the comma-separated ``HERITAGE_OTEL_ALERTMANAGER_URL``."""
    if url is None or isinstance(url, str):
        chosen = url or environment_variables.get(ENV_URL, environ)
        if chosen is not None and "," in chosen:
            return [check_url("url" if url else ENV_URL, part.strip()) for part in chosen.split(",")]
        return [resolve_url(url, ENV_URL, environ, "http://127.0.0.1:9093")]
    peers = [check_url(f"url[{i}]", item) for i, item in enumerate(url)]
    if not peers:
        msg = "url = [] is not valid; expected one or more Alertmanager base URLs (one per cluster peer)"
        raise ValueError(msg)
    return peers


class AlertmanagerSink:
    """Send alerts to Prometheus Alertmanager (v2 API); re-send firing ones periodically."""

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        *,
        resend_interval_s: float = 60.0,
        generator_url: str | None = None,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        headers: Mapping[str, str] | None = None,
        clock: Any = time.time,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.urls = tuple(base.rstrip("/") + "/api/v2/alerts" for base in _peers(url, env))
        self.url = self.urls[0]
        check_number("resend_interval_s", resend_interval_s, minimum=0, exclusive_minimum=True, unit="seconds",
                     what="default 60")
        check_retry(timeout_s, retries, backoff_s)
        self.tick_interval_s = float(resend_interval_s)
        self.generator_url = generator_url
        self.timeout_s = float(timeout_s)
        self.retries = retries
        self.backoff_s = float(backoff_s)
        self._headers = dict(headers or {})
        self._clock = clock
        self._firing: dict[str, Any] = {}
        self._sent_severity: dict[str, str] = {}
        self._stop = threading.Event()
        self.posts = 0
        self.peer_failures = 0

    def __repr__(self) -> str:
        return f"AlertmanagerSink(resend_interval_s={self.tick_interval_s})"

    def _post(self, alerts: list[dict[str, Any]]) -> None:
        """Post to every peer; raise :class:`DeliveryError` only when no peer took the alerts."""
        if not alerts:
            return
        failures = []
        for url in self.urls:
            try:
                post_json(url, alerts, headers=self._headers, timeout_s=self.timeout_s, retries=self.retries,
                          backoff_s=self.backoff_s, stop=self._stop)
            except DeliveryError as exc:
                failures.append(str(exc))
        if len(failures) == len(self.urls):
            raise DeliveryError("; ".join(failures))
        self.posts += 1
        if failures:
            self.peer_failures += len(failures)
            _log.warning("Alertmanager peer(s) not reached, the others were: %s", "; ".join(failures))

    def __call__(self, alert: Alert) -> None:
        now = self._clock()
        batch = []
        previous = self._sent_severity.get(alert.id)
        current = alert.level.name.lower()
        if previous is not None and previous != current:  # escalated: end the old label set
            batch.append(to_alertmanager(alert, now, self.generator_url, severity=previous))
        if alert.state == "resolved":
            self._firing.pop(alert.id, None)
            self._sent_severity.pop(alert.id, None)
            batch.append(to_alertmanager(alert, alert.resolved_at or now, self.generator_url))
        else:
            self._firing[alert.id] = alert
            self._sent_severity[alert.id] = current
            batch.append(to_alertmanager(alert, now + 4 * self.tick_interval_s, self.generator_url))
        self._post(batch)

    def tick(self) -> None:
        """Re-send every firing alert (called by the sink worker every ``resend_interval_s``)."""
        now = self._clock()
        self._post([to_alertmanager(a, now + 4 * self.tick_interval_s, self.generator_url)
                    for a in list(self._firing.values())])

    def checkpoint_state(self) -> dict[str, Any]:
        """The firing alerts this sink keeps alive (saved with the Analyzer service's checkpoint; no secrets)."""
        return {"firing": dict(self._firing), "sent_severity": dict(self._sent_severity)}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Go on re-sending the firing alerts of a checkpoint (nothing is posted now)."""
        self._firing.update(state.get("firing", {}))
        self._sent_severity.update(state.get("sent_severity", {}))

    def stop(self) -> None:
        """Abandon pending retries (called at shutdown)."""
        self._stop.set()
