"""Find one trace by id for the dashboard's trace page: Jaeger's HTTP API, else the in-process span store.

Jaeger built from its Go module serves its HTTP API but only a placeholder
page instead of the UI, so a link to Jaeger is offered only when the real UI
answers (checked once per minute).

>>> from opentelemetry.sdk.trace import TracerProvider
>>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
>>> from heritage_otel.exporters.span_store import SpanStore
>>> store = SpanStore()
>>> provider = TracerProvider()
>>> provider.add_span_processor(SimpleSpanProcessor(store))
>>> with provider.get_tracer("doc").start_as_current_span("heritage.recommend") as span:
...     trace_id = f"{span.get_span_context().trace_id:032x}"
>>> found = TraceLookup(span_store=lambda: store).find(trace_id)
>>> found["source"], found["trace"]["root"], found["jaeger_ui"]
('span_store', 'heritage.recommend', None)
>>> TraceLookup().find("not-a-trace-id")
Traceback (most recent call last):
...
ValueError: trace_id = 'not-a-trace-id' is not valid; expected 32 (or 16) hexadecimal digits
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from heritage_otel.secrets import mask_text, public_url
from heritage_otel.traces.model import Trace, group_traces
from heritage_otel.traces.otlp_json import spans_from_otlp_json

__all__ = ["MAX_PRESENCE_CHECKS", "TraceLookup", "trace_from_span_store"]

_logger = logging.getLogger(__name__)
_TRACE_ID: Final = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{16}")
#: What Jaeger built without its UI assets serves at ``/``.
JAEGER_PLACEHOLDER: Final = "This is not the Jaeger UI you are looking for"
_UI_CHECK_EVERY_S: Final = 60.0
#: Trace ids :meth:`TraceLookup.kept` looks up per call (a query-log page, an incident's exemplars).
MAX_PRESENCE_CHECKS: Final = 100
_PRESENCE_CACHE: Final = 10_000
_ABSENT_RECHECK_S: Final = 15.0
_JAEGER_RETRY_S: Final = 30.0


def trace_from_span_store(store: Any, trace_id: str) -> Trace | None:
    """The spans of ``trace_id`` kept by a :class:`~heritage_otel.exporters.SpanStore`, as a Trace."""
    wanted = int(trace_id, 16)
    spans = [s for s in store.spans() if s.context is not None and s.context.trace_id == wanted]
    if not spans:
        return None
    from heritage_otel.exporters.otlp_json import spans_to_otlp_json  # the SDK layer, only when used

    traces = group_traces(spans_from_otlp_json(spans_to_otlp_json(spans)))
    return traces[0] if traces else None


def _active_span_store() -> Any:
    from heritage_otel.telemetry import current

    active = current()
    return active.span_store if active is not None else None


class TraceLookup:
    """Looks a trace up in Jaeger (when ``jaeger_url`` is set), then in the span store ``span_store()`` returns.

    ``span_store`` defaults to the store of the active ``configure()``
    pipeline (the embedded default), if any.
    """

    def __init__(self, jaeger_url: str | None = None, span_store: Callable[[], Any] | None = None,
                 *, timeout_s: float = 5.0) -> None:
        self.jaeger_url = jaeger_url.rstrip("/") if jaeger_url else None
        self._span_store = span_store or _active_span_store
        self.timeout_s = timeout_s
        self._ui: tuple[float, bool] = (-float("inf"), False)
        self._present: dict[str, tuple[float, bool]] = {}
        self._jaeger_down_until = -float("inf")
        self._lock = threading.Lock()

    def jaeger_ui_answers(self) -> bool:
        """True when Jaeger's real UI (not the placeholder page) answers at ``jaeger_url``."""
        if not self.jaeger_url:
            return False
        with self._lock:
            checked_at, answers = self._ui
            if time.monotonic() - checked_at < _UI_CHECK_EVERY_S:
                return answers
        try:
            import requests

            response = requests.get(self.jaeger_url + "/", timeout=self.timeout_s)
            answers = response.status_code == 200 and JAEGER_PLACEHOLDER not in response.text
        except Exception:  # noqa: BLE001 - a missing UI is not an error
            answers = False
        with self._lock:
            self._ui = (time.monotonic(), answers)
        return answers

    def page_url(self, trace_id: str) -> str:
        """Where a trace link should point: Jaeger's UI when the real one answers, else the dashboard's trace page.

        >>> TraceLookup().page_url("ab" * 16)
        '/#trace/abababababababababababababababab'
        """
        if self.jaeger_ui_answers():
            return f"{self.jaeger_url}/trace/{trace_id}"
        return f"/#trace/{trace_id}"

    def kept(self, trace_ids: Iterable[str]) -> dict[str, bool | None]:
        """For each trace id: True when Jaeger (or the span store) has it, False when not, None when unknown
        (no source, or Jaeger did not answer). At most :data:`MAX_PRESENCE_CHECKS` ids are looked up; a failing
        Jaeger stops the look-ups (the rest are None)."""
        out: dict[str, bool | None] = {}
        reachable = True
        for trace_id in list(dict.fromkeys(trace_ids))[:MAX_PRESENCE_CHECKS]:
            if not reachable or not isinstance(trace_id, str) or not _TRACE_ID.fullmatch(trace_id):
                out[trace_id] = None
                continue
            found = self._presence(trace_id.lower().rjust(32, "0"))
            reachable = found is not None
            out[trace_id] = found
        return out

    def _presence(self, trace_id: str) -> bool | None:
        with self._lock:
            cached = self._present.get(trace_id)
            if cached is not None and (cached[1] or time.monotonic() - cached[0] < _ABSENT_RECHECK_S):
                return cached[1]  # kept stays kept; "not kept" is asked again later (a decision may be pending)
        sources = 0
        present = False
        if self.jaeger_url:
            from heritage_otel.traces.jaeger import JaegerClient

            if time.monotonic() < self._jaeger_down_until:
                return None  # it failed a moment ago: no page waits on it again
            try:
                present = JaegerClient(self.jaeger_url, timeout_s=min(self.timeout_s, 2.0)).get_trace(trace_id) is not None
                sources += 1
            except Exception:  # noqa: BLE001 - unknown, not "dropped"
                self._jaeger_down_until = time.monotonic() + _JAEGER_RETRY_S
                return None
        if not present:
            try:
                store = self._span_store()
                if store is not None:
                    sources += 1
                    present = trace_from_span_store(store, trace_id) is not None
            except Exception:  # noqa: BLE001 - a failing Jaeger is reported as unreachable, never raised to the page
                pass
        if not sources:
            return None
        with self._lock:
            if len(self._present) >= _PRESENCE_CACHE:
                self._present.clear()
            self._present[trace_id] = (time.monotonic(), present)
        return present

    def find(self, trace_id: str) -> dict[str, Any]:
        """``{"trace": Trace dict or None, "source": "jaeger" | "span_store" | None, "jaeger_ui": URL or None,
        "errors": [...]}``; ValueError for a malformed id."""
        if not isinstance(trace_id, str) or not _TRACE_ID.fullmatch(trace_id):
            msg = f"trace_id = {trace_id!r} is not valid; expected 32 (or 16) hexadecimal digits"
            raise ValueError(msg)
        trace_id = trace_id.lower().rjust(32, "0")
        errors: list[str] = []
        found: Trace | None = None
        source = None
        if self.jaeger_url:
            from heritage_otel.traces.jaeger import JaegerClient

            try:
                found = JaegerClient(self.jaeger_url, timeout_s=self.timeout_s).get_trace(trace_id)
                source = "jaeger" if found is not None else None
            except Exception as exc:  # noqa: BLE001 - an unreadable answer is reported, the store still asked
                errors.append(mask_text(str(exc)))
        if found is None:
            try:
                store = self._span_store()
                found = trace_from_span_store(store, trace_id) if store is not None else None
            except Exception as exc:  # noqa: BLE001 - telemetry never breaks the caller
                _logger.exception("reading trace %s from the span store failed", trace_id)
                errors.append(f"span store: {exc}")
            source = "span_store" if found is not None else None
        ui = f"{public_url(self.jaeger_url)}/trace/{trace_id}" if found is not None and self.jaeger_ui_answers() else None
        return {"trace_id": trace_id, "trace": found.to_dict() if found is not None else None, "source": source,
                "jaeger_ui": ui, "errors": errors}
