"""Read traces back, from Jaeger's HTTP API or from OTLP JSON files, and print them as trees.

>>> from heritage_otel.traces import JaegerClient, read_otlp_json_file, render_traces
>>> JaegerClient().base_url
'http://127.0.0.1:16686'

``heritage-otel traces`` is the command-line face of this package.
"""

from heritage_otel.traces.jaeger import DEFAULT_JAEGER_URL, JaegerClient, JaegerError, spans_from_jaeger
from heritage_otel.traces.model import Span, SpanEvent, Trace, TraceNode, group_traces
from heritage_otel.traces.otlp_json import read_otlp_json_file, spans_from_otlp_json
from heritage_otel.traces.query import filter_traces
from heritage_otel.traces.render import render_trace, render_traces, traces_to_json

__all__ = [
    "DEFAULT_JAEGER_URL",
    "JaegerClient",
    "JaegerError",
    "Span",
    "SpanEvent",
    "Trace",
    "TraceNode",
    "filter_traces",
    "group_traces",
    "read_otlp_json_file",
    "render_trace",
    "render_traces",
    "spans_from_jaeger",
    "spans_from_otlp_json",
    "traces_to_json",
]
