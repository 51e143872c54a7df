"""Alert sinks: where alerts go. Each runs behind its own :class:`SinkWorker`.

* :class:`JsonlFileSink` - ``alerts.jsonl``, one line per event, rotation by size, safe across threads and processes;
* :class:`WebhookSink` - JSON POST (or a Slack-compatible payload), timeout and bounded retries;
* :class:`AlertmanagerSink` - Prometheus Alertmanager v2 API, firing alerts re-sent periodically;
* :class:`OtelLogSink` - OpenTelemetry log records, linked to the exemplar trace.

Register any of them, or a plain callable, with ``AlertManager.add_sink(sink)``;
what a sink must provide is written down in :mod:`.protocol` (:class:`AlertSink`
and its optional capabilities) and checked there.

>>> from heritage_otel.analysis import AlertManager
>>> manager = AlertManager()
>>> manager.add_sink(print, "stdout").name
'stdout'
>>> manager.shutdown()
True
"""

from heritage_otel.analysis.sinks.alertmanager import AlertmanagerSink
from heritage_otel.analysis.sinks.jsonl import JsonlFileSink
from heritage_otel.analysis.sinks.otel_logs import OtelLogSink
from heritage_otel.analysis.sinks.protocol import AlertSink, ClosableSink, PeriodicSink, StoppableSink, check_sink
from heritage_otel.analysis.sinks.webhook import WebhookSink
from heritage_otel.analysis.sinks.worker import SinkWorker

__all__ = [
    "AlertSink", "AlertmanagerSink", "ClosableSink", "JsonlFileSink", "OtelLogSink", "PeriodicSink", "SinkWorker",
    "StoppableSink", "WebhookSink", "check_sink",
]
