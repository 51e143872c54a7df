"""Every attribute, event, span and metric name heritage-otel produces, defined once.

Standard OpenTelemetry names (``error.type``, ``exception.*``, ``service.*``)
are reused as they are; our own live under the ``heritage.`` prefix.
Retrieval spans additionally carry OpenInference-compatible attributes so
that LLM/RAG observability tools can read them unchanged.

Nothing here imports more than the standard library, so any layer may use it.

>>> from heritage_otel import semconv
>>> semconv.SPAN_FALLBACK_CHAIN
'heritage.fallback_chain'
>>> semconv.retrieval_document_id(0)
'retrieval.documents.0.document.id'
"""

from __future__ import annotations

from typing import Final

INSTRUMENTATION_SCOPE: Final = "heritage_otel"

# --- Standard OpenTelemetry semantic conventions we rely on -----------------
ERROR_TYPE: Final = "error.type"
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
SERVICE_INSTANCE_ID: Final = "service.instance.id"
HOST_NAME: Final = "host.name"
PROCESS_PID: Final = "process.pid"
CODE_FUNCTION: Final = "code.function.name"

# --- Span names --------------------------------------------------------------
SPAN_RECOMMEND: Final = "heritage.recommend"
SPAN_ENSEMBLE: Final = "heritage.ensemble"
SPAN_FALLBACK_CHAIN: Final = "heritage.fallback_chain"
SPAN_FALLBACK_ATTEMPT: Final = "heritage.fallback.attempt"
SPAN_OPERATION: Final = "heritage.operation"


def component_span_name(operation: str, component: str) -> str:
    """The span name of one ranking component call: what it does, then which component.

    Low cardinality: the operation is the wrapped method's name and the
    component one of the configured names; select every component span by the
    ``heritage.component`` attribute.

    >>> component_span_name("rank", "simrank")
    'rank simrank'
    """
    return f"{operation} {component}"

# --- Errors ------------------------------------------------------------------
ERROR_SEVERITY: Final = "heritage.error.severity"
ERROR_SEVERITY_NAME: Final = "heritage.error.severity_name"
ERROR_HTTP_STATUS: Final = "heritage.error.http_status"
ERROR_FALLBACK_EXPECTED: Final = "heritage.error.fallback_expected"
COMPONENT: Final = "heritage.component"

# --- Fallback chains ---------------------------------------------------------
FALLBACK_CHAIN: Final = "heritage.fallback.chain"
FALLBACK_STRATEGY: Final = "heritage.fallback.strategy"
FALLBACK_PRIORITY: Final = "heritage.fallback.priority"
FALLBACK_OUTCOME: Final = "heritage.fallback.outcome"
FALLBACK_STRATEGY_USED: Final = "heritage.fallback.strategy_used"
FALLBACK_ATTEMPTS: Final = "heritage.fallback.attempts"
FALLBACK_ATTEMPT_NUMBER: Final = "heritage.fallback.attempt_number"
FALLBACK_DEGRADED: Final = "heritage.fallback.degraded"
FALLBACK_TIMEOUT_S: Final = "heritage.fallback.timeout_s"
FALLBACK_FAILED_STRATEGIES: Final = "heritage.fallback.failed_strategies"
FALLBACK_FAILED_ERROR_TYPES: Final = "heritage.fallback.failed_error_types"
EVENT_FALLBACK_USED: Final = "heritage.fallback.used"
OUTCOME_SUCCESS: Final = "success"
OUTCOME_ERROR: Final = "error"
OUTCOME_TIMEOUT: Final = "timeout"
OUTCOME_REJECTED: Final = "rejected"

# --- Validation --------------------------------------------------------------
EVENT_VALIDATION_FAILED: Final = "heritage.validation.failed"
VALIDATION_FIELD: Final = "heritage.validation.field"
VALIDATION_VALUE: Final = "heritage.validation.value"
VALIDATION_EXPECTED: Final = "heritage.validation.expected"

# --- Queries and results -----------------------------------------------------
QUERY_ID: Final = "heritage.query.id"
QUERY_TEXT: Final = "heritage.query.text"
QUERY_HASH: Final = "heritage.query.hash"
QUERY_LENGTH: Final = "heritage.query.length"
QUERY_TOP_K: Final = "heritage.query.top_k"
RESULT_COUNT: Final = "heritage.result.count"
RESULT_EMPTY: Final = "heritage.result.empty"
RESULT_IDS: Final = "heritage.result.ids"
CACHE_HIT: Final = "heritage.cache.hit"
CACHE_RESULT: Final = "heritage.cache.result"
COMPONENTS_USED: Final = "heritage.components_used"
LATENCY_MS: Final = "heritage.latency_ms"
SUCCESS: Final = "heritage.success"
QUALITY_NDCG_AT_10: Final = "heritage.quality.ndcg_at_10"
QUALITY_PRECISION_AT_5: Final = "heritage.quality.precision_at_5"
QUALITY_DIVERSITY: Final = "heritage.quality.diversity"

# --- Log / span events emitted by the loggers --------------------------------
EVENT_QUERY: Final = "heritage.query"
EVENT_SYSTEM: Final = "heritage.system"
EVENT_PERFORMANCE: Final = "heritage.performance"
OPERATION_NAME: Final = "heritage.operation.name"
OPERATION_DURATION_S: Final = "heritage.operation.duration_s"
SYSTEM_EVENT_KIND: Final = "heritage.system.event"
SYSTEM_DETAIL_PREFIX: Final = "heritage.system.detail."
OPERATION_SLOW: Final = "heritage.operation.slow"
CONFIG_CHANGED_KEYS: Final = "heritage.config.changed_keys"
CONFIG_NEW_PREFIX: Final = "heritage.config.new."
CONFIG_OLD_PREFIX: Final = "heritage.config.old."

# --- Alerts (as log records) -------------------------------------------------
ALERT_ID: Final = "heritage.alert.id"
ALERT_LEVEL: Final = "heritage.alert.level"
ALERT_METRIC: Final = "heritage.alert.metric"
ALERT_DETECTOR: Final = "heritage.alert.detector"
ALERT_STATE: Final = "heritage.alert.state"
ALERT_VALUE: Final = "heritage.alert.value"
ALERT_THRESHOLD: Final = "heritage.alert.threshold"
ALERT_INCIDENT: Final = "heritage.alert.incident"
ALERT_SCOPE: Final = "heritage.alert.scope"
ALERT_CAUSE: Final = "heritage.alert.cause"
EVENT_ALERT: Final = "heritage.alert"

# --- OpenInference-compatible retrieval attributes ---------------------------
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
OPENINFERENCE_RETRIEVER: Final = "RETRIEVER"
OPENINFERENCE_RERANKER: Final = "RERANKER"
INPUT_VALUE: Final = "input.value"


def retrieval_document_id(index: int) -> str:
    """Attribute name of the ``index``-th retrieved document's id."""
    return f"retrieval.documents.{index}.document.id"


def retrieval_document_score(index: int) -> str:
    """Attribute name of the ``index``-th retrieved document's score."""
    return f"retrieval.documents.{index}.document.score"


# --- Metric names (OpenTelemetry units in instruments.py) --------------------
METRIC_QUERY_DURATION: Final = "heritage.query.duration"
METRIC_QUERIES: Final = "heritage.queries"
METRIC_RESULTS: Final = "heritage.query.results"
METRIC_EMPTY_RESULTS: Final = "heritage.query.empty_results"
METRIC_NDCG_AT_10: Final = "heritage.quality.ndcg_at_10"
METRIC_PRECISION_AT_5: Final = "heritage.quality.precision_at_5"
METRIC_DIVERSITY: Final = "heritage.quality.diversity"
METRIC_COMPONENT_DURATION: Final = "heritage.component.duration"
#: Queries that used a component, as the application reported it without a duration (the facade's
#: ``components_used``); a component's calls are its measured durations or, when more, these uses.
METRIC_COMPONENT_USES: Final = "heritage.component.uses"
METRIC_ERRORS: Final = "heritage.errors"
METRIC_FALLBACKS: Final = "heritage.fallbacks"
METRIC_CACHE_REQUESTS: Final = "heritage.cache.requests"
METRIC_OPERATION_DURATION: Final = "heritage.operation.duration"
