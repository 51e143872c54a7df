"""Test helpers for code instrumented with heritage-otel (or plain OpenTelemetry).

Installed as a pytest plugin (entry point ``pytest11``; pytest comes with
the ``testing`` extra: ``pip install 'heritage-otel[testing]'``), so a test
suite gets these fixtures with no conftest:

``telemetry``
    A :class:`TelemetryCapture`: a fresh ``configure()`` pipeline whose spans,
    metrics and logs go to in-memory exporters, reachable through the global
    OpenTelemetry providers for the duration of one test, then shut down.
    Application code under test that calls ``configure()`` meanwhile gets
    this pipeline back (its settings are still checked, its ``shutdown()``
    only flushes), so what it records is captured.
``span_exporter`` / ``metric_reader`` / ``log_exporter``
    The in-memory exporter and reader of that pipeline.
``instrument_recommender``
    ``instrument_recommender(targets=..., **options)`` instruments a
    recommender into that pipeline for one test (the instrumentor is
    uninstrumented first if something left it instrumented, and after the test).

Outside pytest, :func:`capture_telemetry` gives the same capture as a
context manager:

>>> from opentelemetry import trace
>>> with capture_telemetry() as captured:
...     with trace.get_tracer("doc").start_as_current_span("parent"):
...         with trace.get_tracer("doc").start_as_current_span("child"):
...             pass
>>> print(captured.render_tree())
parent
  child

Metric helpers fail loudly on a name that was never recorded and is not one
of heritage-otel's (listing the names that were), so a typo never reads as 0.

For alert tests, :class:`HttpReceiver` is a loopback webhook endpoint that
records what it is sent (and can fail, be slow or hang on purpose).

What it does not handle: metrics are read by collecting the in-memory reader
(cumulative temporality), so ``metric_points`` reflects everything recorded
since the capture began, but exemplars are those of the latest collection
only (read them from the first ``metric_points`` call after recording);
spans are exported synchronously, so a span shows
up as soon as it ends, and unfinished spans never do.
"""

from heritage_otel.testing.capture import SpanNode, TelemetryCapture, capture_telemetry
from heritage_otel.testing.receiver import HttpReceiver, ReceivedRequest

__all__ = ["HttpReceiver", "ReceivedRequest", "SpanNode", "TelemetryCapture", "capture_telemetry"]
