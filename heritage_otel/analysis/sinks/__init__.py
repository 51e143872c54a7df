"""Alert sinks: where alerts go. Each runs behind its own :class:`SinkWorker`.

* :class:`JsonlFileSink` - ``alerts.jsonl``, one line per event, rotation by size, safe across threads and processes;
* :class:`WebhookSink` - JSON POST (or a Slack-compatible payload), timeout and bounded retries;
* :class:`AlertmanagerSink` - Prometheus Alertmanager v2 API, firing alerts re-sent periodically;
* :class:`OtelLogSink` - OpenTelemetry log records, linked to the exemplar trace.

Register any of them with ``AlertManager.add_sink(sink)``; plain callables with
``AlertManager.register_handler(fn)``.
"""

from heritage_otel.analysis.sinks.alertmanager import AlertmanagerSink
from heritage_otel.analysis.sinks.jsonl import JsonlFileSink
from heritage_otel.analysis.sinks.otel_logs import OtelLogSink
from heritage_otel.analysis.sinks.webhook import WebhookSink
from heritage_otel.analysis.sinks.worker import SinkWorker

__all__ = ["AlertmanagerSink", "JsonlFileSink", "OtelLogSink", "SinkWorker", "WebhookSink"]
