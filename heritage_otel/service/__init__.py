"""Fleet mode: the Analyzer as a service behind the Collector, with a JSON API and a dashboard.

The Collector forwards every replica's metrics and logs over OTLP/HTTP to
one :class:`AnalyzerServer`; it runs the same
:class:`~heritage_otel.analysis.Analyzer` and
:class:`~heritage_otel.analysis.AlertManager` as the in-process path, per
replica (``service.name`` + ``service.instance.id``) and per service (fleet
aggregates), keeps the recent query log, and serves the API and the
dashboard on the same port. ``heritage-otel analyzer serve`` runs it; see
docs/fleet-mode.md.

>>> from heritage_otel.service import AnalyzerServer, ServiceConfig
>>> with AnalyzerServer(ServiceConfig(port=0)) as server:
...     import requests
...     requests.get(server.url + "/api/health", timeout=5).json()["status"]
'healthy'
"""

from heritage_otel.service.config import ServiceConfig
from heritage_otel.service.core import AnalyzerService
from heritage_otel.service.server import AnalyzerServer

__all__ = ["AnalyzerServer", "AnalyzerService", "ServiceConfig"]
