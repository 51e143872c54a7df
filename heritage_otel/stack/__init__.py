"""Run the real pipeline locally: the heritage-otel Collector and Jaeger v2, natively, on loopback.

The binaries are built from Go modules by ``scripts/deps/collector.sh`` and
``scripts/deps/jaeger.sh`` into ``bin/``; the configs are the repository's
``collector/config.yaml`` and ``jaeger/config.yaml``. ``heritage-otel stack
up|down|status`` is the command-line face of :class:`Stack`.

>>> from heritage_otel.stack import Stack, StackPorts
>>> StackPorts().otlp_http_endpoint
'http://127.0.0.1:4318'

Tests use free ports and a temporary state folder::

    with Stack(tmp_path / "state", ports=StackPorts.free()) as stack:
        ...  # send OTLP to stack.ports.otlp_http_endpoint, read stack.ports.jaeger_url
"""

from heritage_otel.stack.components import JAEGER_STORAGES, ComponentSpec
from heritage_otel.stack.ports import StackPorts
from heritage_otel.stack.stack import ComponentStatus, Stack, StackError

__all__ = ["JAEGER_STORAGES", "ComponentSpec", "ComponentStatus", "Stack", "StackError", "StackPorts"]
