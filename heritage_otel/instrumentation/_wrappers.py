"""The wrapt wrappers behind :class:`RecommenderInstrumentor` (one per target kind).

One :class:`Wrappers` object holds everything a call needs (tracer,
instruments, hooks, options), built once per ``instrument()``. A context
variable carries the state of the ``heritage.recommend`` call in progress
(cache hit, strategy used, components used) to the inner wrappers, so
concurrent calls on different threads never mix.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider, NoOpLoggerProvider
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import MeterProvider, NoOpMeterProvider
from opentelemetry.sdk.environment_variables import OTEL_SDK_DISABLED  # names only: no SDK code
from opentelemetry.trace import NoOpTracerProvider, Span, TracerProvider

from heritage_otel import environment_variables as env_vars
from heritage_otel import semconv
from heritage_otel._internal import delegating
from heritage_otel._internal.exception_messages import capture_exception_messages_enabled, enter_query, leave_query
from heritage_otel._internal.tracers import ContextOnlyTracerProvider, CurrentSpan, children_follow_parent
from heritage_otel.errors import record_error
from heritage_otel.fallback import FallbackChain
from heritage_otel.instrumentation.custom_types import DocumentReader, Evaluator, RequestHook, ResponseHook
from heritage_otel.instrumentation.shapes import chain_arguments, warn_once
from heritage_otel.instruments import instruments_for, record_query
from heritage_otel.checks import env_flag
from heritage_otel.hashing import hash_query_text
from heritage_otel.logs.query_logger import QueryLogger
from heritage_otel.results import as_score, document_items, has_hits, read_document, result_count, safe_reader
from heritage_otel.version import __version__

_logger = logging.getLogger(__name__)

_QUALITY_ATTRS = {
    "ndcg_at_10": semconv.QUALITY_NDCG_AT_10,
    "precision_at_5": semconv.QUALITY_PRECISION_AT_5,
    "diversity": semconv.QUALITY_DIVERSITY,
}


class CallState:
    """What the inner wrappers learn during one ``heritage.recommend`` call."""

    __slots__ = ("cache_hit", "components_used", "query_hash", "spans", "strategy_used")

    def __init__(self) -> None:
        # False inside a root span that does not record and whose children would not either (head sampling
        # dropped the trace): the inner wrappers then start no span, and record only the metrics
        self.spans = True
        self.cache_hit: bool | None = None
        self.strategy_used: str | None = None
        self.query_hash: str | None = None  # computed once: the root span's attribute and the query log record
        self.components_used: list[str] = []


_current_call: contextvars.ContextVar[CallState | None] = contextvars.ContextVar("heritage_recommend_call", default=None)


def _default_evaluator(instance: Any, query: str, results: Sequence[Mapping[str, Any]]) -> Mapping[str, float] | None:
    evaluate = getattr(instance, "evaluate", None)
    return evaluate(query, results) if callable(evaluate) else None


def never_records(tracer_provider: Any, meter_provider: Any, logger_provider: Any) -> bool:
    """True when the providers given to ``instrument()`` are all the API's no-op ones: nothing can ever be
    recorded through them, so nothing needs wrapping."""
    return (isinstance(tracer_provider, NoOpTracerProvider) and isinstance(meter_provider, NoOpMeterProvider)
            and isinstance(logger_provider, NoOpLoggerProvider))


def sdk_disabled_by_environment() -> bool:
    """True when ``OTEL_SDK_DISABLED`` is ``true`` (the SDK's rule: case-insensitive): every SDK provider
    then hands out no-op tracers, meters and loggers, so nothing can ever be recorded."""
    return env_flag(OTEL_SDK_DISABLED)


def _off_check(tracer_provider: Any, meter_provider: Any, logger_provider: Any) -> Callable[[], bool]:
    """A check run on every call: True when the providers record nothing (telemetry disabled), so the
    wrappers call straight through (no evaluation, hashing, attributes or no-op instruments)."""
    given = (tracer_provider, meter_provider, logger_provider)
    if all(p is None for p in given):
        return delegating.telemetry_off
    return (lambda: True) if never_records(*given) else (lambda: False)


#: The values of ``query_log`` (``HERITAGE_OTEL_QUERY_LOG``); the first is the default.
QUERY_LOG_CHOICES: tuple[str, ...] = ("sampled", "all", "off")


def resolve_query_log(given: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``query_log`` as given to ``instrument()``, else ``HERITAGE_OTEL_QUERY_LOG``, else ``"sampled"``.

    >>> resolve_query_log(None, {"HERITAGE_OTEL_QUERY_LOG": " ALL "})
    'all'
    >>> resolve_query_log("every")
    Traceback (most recent call last):
    ...
    ValueError: query_log = 'every' is not valid; valid: 'sampled', 'all', 'off'
    """
    setting = "query_log"
    if given is None:
        value = env_vars.get(env_vars.HERITAGE_OTEL_QUERY_LOG, environ)
        setting = env_vars.HERITAGE_OTEL_QUERY_LOG
        if value is None:
            return QUERY_LOG_CHOICES[0]
        given = value
    choice = given.strip().lower() if isinstance(given, str) else given
    if choice not in QUERY_LOG_CHOICES:
        msg = f"{setting} = {given!r} is not valid; valid: {', '.join(map(repr, QUERY_LOG_CHOICES))}"
        raise ValueError(msg)
    return choice


def _query_and_top_k(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], parameters: tuple[str, str, int | None]
) -> tuple[Any, Any]:
    query_name, top_k_name, default_top_k = parameters
    query = args[0] if args else kwargs.get(query_name)
    top_k = args[1] if len(args) > 1 else kwargs.get(top_k_name, default_top_k)
    return query, top_k


class Wrappers:
    """Builds the wrapt wrapper functions for one ``instrument()`` call."""

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        logger_provider: LoggerProvider | None,
        request_hook: RequestHook | None,
        response_hook: ResponseHook | None,
        evaluator: Evaluator | None,
        capture_query_text: bool,
        max_documents: int,
        chain_name: str,
        entry_parameters: tuple[str, str, int | None],
        document_reader: DocumentReader | None = None,
        query_log: str = "sampled",
    ) -> None:
        self.tracer = trace.get_tracer(semconv.INSTRUMENTATION_SCOPE, __version__, tracer_provider)
        self.meter_provider = meter_provider
        self.instruments = instruments_for(meter_provider)
        self.query_logger = QueryLogger(capture_query_text=capture_query_text, logger_provider=logger_provider,
                                        document_reader=document_reader)
        self.request_hook = request_hook
        self.response_hook = response_hook
        self.evaluator = evaluator or _default_evaluator
        self.capture_query_text = capture_query_text
        # the query noted for masking inside exception messages, only when those are exported (masked)
        self.note_query = not capture_query_text and capture_exception_messages_enabled()
        self.query_log = query_log
        self._document_keys = [(semconv.retrieval_document_id(i), semconv.retrieval_document_score(i))
                               for i in range(max_documents)]
        self.entry_parameters = entry_parameters
        self.read_document = safe_reader(document_reader) if document_reader is not None else None
        self.off = _off_check(tracer_provider, meter_provider, logger_provider)
        # one chain for every call: its spans and counter; the strategies are the recommender's, per call
        self.fallback_chain = FallbackChain(chain_name, tracer_provider=tracer_provider, meter_provider=meter_provider)
        # the same chain without spans (its counter and error counts alike), for a trace that is not recorded
        self.unrecorded_chain = FallbackChain(chain_name, tracer_provider=ContextOnlyTracerProvider(),
                                              meter_provider=meter_provider)

    # --- helpers ------------------------------------------------------------------
    def _skip(self) -> bool:
        """True when a call must go straight through: telemetry off, or instrumentation suppressed.

        Inner targets (components, ensemble, chain, cache) ask only outside a
        ``heritage.recommend`` call: inside one, the entry point has decided.
        """
        return self.off() or not is_instrumentation_enabled()

    def _call_hook(self, hook: Callable[..., Any] | None, *args: Any) -> None:
        if hook is None:
            return
        try:
            hook(*args)
        except Exception:  # noqa: BLE001 - a hook never breaks the recommender
            _logger.exception("heritage recommender instrumentation: hook %r raised; ignored", hook)

    def _quality(self, instance: Any, query: Any, results: Any) -> Mapping[str, float]:
        try:
            scores = self.evaluator(instance, query, results)
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            _logger.exception("heritage recommender instrumentation: evaluator raised; quality not recorded")
            return {}
        if not scores:
            return {}
        return {k: float(v) for k, v in scores.items() if v is not None and k in _QUALITY_ATTRS}

    def _query_attribute(self, query: str, state: CallState) -> tuple[str, str]:
        if self.capture_query_text:
            return semconv.QUERY_TEXT, query
        state.query_hash = hash_query_text(query)
        return semconv.QUERY_HASH, state.query_hash

    # --- heritage.recommend ---------------------------------------------------------
    def recommend(self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Root span, metrics, quality and the query event around the entry point."""
        if self._skip() or _current_call.get() is not None:  # re-entered (a retry): part of the call in progress
            return wrapped(*args, **kwargs)
        query, top_k = _query_and_top_k(args, kwargs, self.entry_parameters)
        state = CallState()
        token = _current_call.set(state)
        query_token = enter_query(query) if self.note_query else None
        try:
            with CurrentSpan(self.tracer, semconv.SPAN_RECOMMEND) as span:
                self._start_attributes(span, query, top_k, state)
                if self.request_hook is not None:
                    self._call_hook(self.request_hook, span, instance, query, top_k)
                start = time.perf_counter()
                try:
                    results = wrapped(*args, **kwargs)
                except Exception as exc:
                    duration = time.perf_counter() - start
                    # counted once: where it was raised (a component, the chain), else here
                    record_error(span, exc, component="recommender", escaped=True, meter_provider=self.meter_provider)
                    self._finish(span, instance, query, None, duration, state, error=exc)
                    raise
                duration = time.perf_counter() - start
                self._finish(span, instance, query, results, duration, state)
                if self.response_hook is not None:
                    self._call_hook(self.response_hook, span, instance, results)
                return results
        finally:
            if query_token is not None:
                leave_query(query_token)
            _current_call.reset(token)

    def _start_attributes(self, span: Span, query: Any, top_k: Any, state: CallState) -> None:
        if not span.is_recording():
            state.spans = not children_follow_parent(self.tracer)
            return
        attributes: dict[str, Any] = {semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RETRIEVER}
        if isinstance(top_k, int):
            attributes[semconv.QUERY_TOP_K] = top_k
        if isinstance(query, str):
            key, value = self._query_attribute(query, state)
            attributes[key] = value
            attributes[semconv.QUERY_LENGTH] = len(query)
            if self.capture_query_text:
                attributes[semconv.INPUT_VALUE] = query
        span.set_attributes(attributes)

    def _finish(
        self,
        span: Span,
        instance: Any,
        query: Any,
        results: Any,
        duration: float,
        state: CallState,
        *,
        error: BaseException | None = None,
    ) -> None:
        """Metrics (inside the span, so histograms get exemplars), attributes and the query event."""
        success = error is None
        try:
            # a result without a count (an iterator) is not counted: counting would consume it
            count = result_count(results) if results is not None else None
            quality = self._quality(instance, query, results) if success and count is not None else {}
            record_query(self.instruments, duration, success=success, num_results=count if success else None,
                         quality=quality)
            recording = span.is_recording()
            if recording:
                self._result_attributes(span, results if success else None, count, state, quality, success)
            if self.query_log == "all" or (self.query_log == "sampled" and (recording or not success)):
                self._emit_query_event(query, results if success else None, duration, state, error)
        except Exception:  # noqa: BLE001 - telemetry never breaks the recommender
            _logger.exception("heritage recommender instrumentation: could not record the query")

    def _result_attributes(
        self, span: Span, results: Any, count: int | None, state: CallState, quality: Mapping[str, float],
        success: bool,
    ) -> None:
        attributes: dict[str, Any] = {semconv.SUCCESS: success}
        if state.components_used:
            attributes[semconv.COMPONENTS_USED] = tuple(dict.fromkeys(state.components_used))
        if state.strategy_used is not None:
            attributes[semconv.FALLBACK_STRATEGY_USED] = state.strategy_used
        if state.cache_hit is not None:
            attributes[semconv.CACHE_HIT] = state.cache_hit
        if results is not None:
            if count is not None:
                attributes[semconv.RESULT_COUNT] = count
                attributes[semconv.RESULT_EMPTY] = count == 0
            for key, value in quality.items():
                attributes[_QUALITY_ATTRS[key]] = value
            # never consume an iterator (document_items); the reference shape, a dict with a doc_id, inline
            documents = results if type(results) is list else document_items(results)
            reader = self.read_document
            for (id_key, score_key), item in zip(self._document_keys, documents, strict=False):
                if reader is None and type(item) is dict and item.get("doc_id") is not None:
                    attributes[id_key] = str(item["doc_id"])
                    score = item.get("score")
                    score = score if type(score) is float else as_score(score)
                    if score is not None:
                        attributes[score_key] = score
                else:
                    doc_id, score = (reader or read_document)(item)
                    if doc_id is not None:
                        attributes[id_key] = doc_id
                    if score is not None:
                        attributes[score_key] = score
        span.set_attributes(attributes)

    def _emit_query_event(
        self, query: Any, results: Any, duration: float, state: CallState, error: BaseException | None
    ) -> None:
        """The ``heritage.query`` span event and log record, through :class:`~heritage_otel.logs.QueryLogger`."""
        self.query_logger.log_query(
            uuid.uuid4().hex,
            query if isinstance(query, str) else None,
            results,
            duration * 1000.0,
            tuple(dict.fromkeys(state.components_used)),
            success=error is None,
            error=error,
            query_hash=state.query_hash,
        )

    # --- components, ensemble, chain, cache -------------------------------------------
    def component(self, name: str, operation: str) -> Callable[..., Any]:
        """The wrapper of one ranking component: a span named ``"{operation} {name}"`` and its duration."""
        span_name = semconv.component_span_name(operation, name)
        span_attributes = {semconv.COMPONENT: name, semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RETRIEVER}
        succeeded, failed = {semconv.COMPONENT: name, semconv.SUCCESS: True}, {semconv.COMPONENT: name, semconv.SUCCESS: False}

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            state = _current_call.get()
            if state is None:
                if self._skip():
                    return wrapped(*args, **kwargs)
            elif not state.spans:  # a trace that is not recorded: the duration only
                start = time.perf_counter()
                try:
                    result = wrapped(*args, **kwargs)
                except Exception as exc:
                    record_error(trace.INVALID_SPAN, exc, component=name, escaped=True,
                                 meter_provider=self.meter_provider)
                    self._record_component(time.perf_counter() - start, failed)
                    raise
                self._record_component(time.perf_counter() - start, succeeded)
                state.components_used.append(name)
                return result
            with CurrentSpan(self.tracer, span_name) as span:
                recording = span.is_recording()
                if recording:
                    span.set_attributes(span_attributes)
                start = time.perf_counter()
                try:
                    result = wrapped(*args, **kwargs)
                except Exception as exc:
                    # counted here, under the component; the fallback attempt and the root span only record it
                    record_error(span, exc, component=name, escaped=True, meter_provider=self.meter_provider)
                    self._record_component(time.perf_counter() - start, failed)
                    raise
                self._record_component(time.perf_counter() - start, succeeded)
                if state is not None:
                    state.components_used.append(name)
                if recording:
                    _set_result_count(span, result)
                return result

        return wrapper

    def _record_component(self, duration: float, attributes: Mapping[str, Any]) -> None:
        try:
            self.instruments.component_duration.record(duration, attributes)
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            _logger.exception("heritage recommender instrumentation: could not record a component duration")

    def ensemble(self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A ``heritage.ensemble`` span (OpenInference RERANKER) around the merge step."""
        state = _current_call.get()
        if state is None:
            if self._skip():
                return wrapped(*args, **kwargs)
        elif not state.spans:  # a trace that is not recorded
            return wrapped(*args, **kwargs)
        with CurrentSpan(self.tracer, semconv.SPAN_ENSEMBLE, errors=True) as span:
            rankings = args[0] if args else kwargs.get("rankings")
            recording = span.is_recording()
            if recording:
                attributes = {semconv.OPENINFERENCE_SPAN_KIND: semconv.OPENINFERENCE_RERANKER}
                if type(rankings) is dict or isinstance(rankings, Mapping):
                    attributes[semconv.COMPONENTS_USED] = tuple(
                        str(k) for k, v in rankings.items() if (v if type(v) is list else has_hits(v)))
                span.set_attributes(attributes)
            result = wrapped(*args, **kwargs)
            if recording:
                _set_result_count(span, result)
            return result

    def chain(self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Runs the strategies as a :class:`~heritage_otel.fallback.FallbackChain` (its spans and counter)."""
        state = _current_call.get()
        if state is None and self._skip():
            return wrapped(*args, **kwargs)
        parsed = chain_arguments(args, kwargs)
        if parsed is None:
            warn_once(f"chain:{getattr(wrapped, '__qualname__', wrapped)}",
                      "heritage recommender instrumentation: chain target %s was not called as (strategies, *args) "
                      "with strategies (name, callable, priority); called through without chain spans (logged once)",
                      getattr(wrapped, "__qualname__", wrapped))
            return wrapped(*args, **kwargs)
        strategies, rest = parsed
        chain = self.fallback_chain if state is None or state.spans else self.unrecorded_chain
        result, used = chain.execute_strategies(strategies, *rest, **kwargs)
        if state is not None:
            state.strategy_used = used
        return result, used

    def cache(self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Counts cache look-ups (hit: a non-None answer) and tells the current call."""
        value = wrapped(*args, **kwargs)
        state = _current_call.get()
        if state is None and self._skip():
            return value
        hit = value is not None
        if state is not None:
            state.cache_hit = hit
        try:
            self.instruments.cache_requests.add(1, {semconv.CACHE_RESULT: "hit" if hit else "miss"})
        except Exception:  # noqa: BLE001 - telemetry never breaks the caller
            _logger.exception("heritage recommender instrumentation: could not count a cache look-up")
        return value


def _set_result_count(span: Any, result: Any) -> None:
    """``heritage.result.count`` on a span that records, when the result has a count (:func:`result_count`)."""
    count = len(result) if type(result) is list else result_count(result)
    if count is not None:
        span.set_attribute(semconv.RESULT_COUNT, count)
