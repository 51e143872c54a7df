"""Webhook sink: each alert event as a JSON POST, or a Slack-compatible message.

The URL comes from the ``url`` argument or ``HERITAGE_OTEL_ALERT_WEBHOOK_URL``; an
optional bearer token from ``token`` or ``HERITAGE_OTEL_ALERT_WEBHOOK_TOKEN`` (the old
``HERITAGE_ALERT_*`` names still work, with a deprecation warning) (sent
as ``Authorization: Bearer ...``). Neither is ever logged: log lines show the
scheme and host only. Connection errors, 429 and 5xx are retried
``retries`` times with exponential backoff; each attempt has ``timeout_s``.

Payloads: ``format="json"`` posts ``Alert.to_dict()``; ``format="slack"``
posts ``{"text": ..., "attachments": [{"color", "fields": [...]}]}`` which
Slack incoming webhooks (and Mattermost, Rocket.Chat) accept.

>>> from heritage_otel.analysis.alert import Alert
>>> from heritage_otel.analysis.findings import AlertLevel
>>> payload = slack_payload(Alert("a1", AlertLevel.WARNING, "error_rate", "threshold", {}, 0.02, 0.01,
...                               "error_rate high", 0.0, 0.0))
>>> sorted(payload)
['attachments', 'text']
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from heritage_otel import environment_variables
from heritage_otel.analysis.alert import Alert
from heritage_otel.checks import check_choice
from heritage_otel.analysis.sinks._http import check_retry, post_json, resolve_url

__all__ = ["WebhookSink", "slack_payload", "ENV_URL", "ENV_TOKEN"]

ENV_URL = environment_variables.HERITAGE_OTEL_ALERT_WEBHOOK_URL
ENV_TOKEN = environment_variables.HERITAGE_OTEL_ALERT_WEBHOOK_TOKEN
FORMATS = ("json", "slack")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook message for one alert event."""
    resolved = alert.state == "resolved"
    color = "good" if resolved else ("danger" if alert.level.name == "CRITICAL" else "warning")
    fields = [
        {"title": "Metric", "value": alert.metric, "short": True},
        {"title": "Detector", "value": alert.detector, "short": True},
        {"title": "Value", "value": f"{alert.current_value:.4g}", "short": True},
        {"title": "Threshold", "value": f"{alert.threshold:.4g}", "short": True},
        {"title": "Message", "value": alert.message, "short": False},
    ]
    if alert.labels:
        fields.append({"title": "Labels", "value": ", ".join(f"{k}={v}" for k, v in alert.labels.items()),
                       "short": False})
    cause = getattr(alert, "cause", None)
    if cause and cause.get("summary"):
        fields.append({"title": "Probable cause", "value": str(cause["summary"]), "short": False})
    if getattr(alert, "incident", None):
        fields.append({"title": "Incident", "value": alert.incident, "short": True})
    if alert.jaeger_links:
        fields.append({"title": "Trace", "value": alert.jaeger_links[0], "short": False})
    title = f"{'RESOLVED' if resolved else alert.level.name} alert: {alert.metric} ({alert.detector})"
    return {"text": title, "attachments": [{"color": color, "fields": fields}]}


class WebhookSink:
    """POST every alert event to a webhook (see the module docstring)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        format: str = "json",  # noqa: A002 - the natural name
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.url = resolve_url(url, ENV_URL, env, "https://hooks.slack.com/services/...")
        check_choice("format", format, FORMATS)
        check_retry(timeout_s, retries, backoff_s)
        self.format = format
        self.timeout_s = float(timeout_s)
        self.retries = retries
        self.backoff_s = float(backoff_s)
        self._headers = dict(headers or {})
        secret = token or environment_variables.get(ENV_TOKEN, env)
        if secret:
            self._headers["Authorization"] = f"Bearer {secret}"
        self._stop = threading.Event()

    def __repr__(self) -> str:  # never show the URL or token
        return f"WebhookSink(format={self.format!r}, timeout_s={self.timeout_s}, retries={self.retries})"

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body sent for ``alert``."""
        return slack_payload(alert) if self.format == "slack" else alert.to_dict()

    def __call__(self, alert: Alert) -> None:
        post_json(self.url, self.payload(alert), headers=self._headers, timeout_s=self.timeout_s,
                  retries=self.retries, backoff_s=self.backoff_s, stop=self._stop)

    def stop(self) -> None:
        """Abandon pending retries (called at shutdown)."""
        self._stop.set()
