"""Auto-instrumentation for the Heritage Document Recommender (and recommenders shaped like it).

Usage
-----

No code change, with ``opentelemetry-instrument`` (the instrumentor is
registered under the ``opentelemetry_instrumentor`` entry point as
``heritage_recommender``)::

    OTEL_SERVICE_NAME=recommender OTEL_TRACES_EXPORTER=console \\
        opentelemetry-instrument python app.py

Or in code, before or after the recommender is imported (a target module
that is not imported yet is wrapped when it is, so instrumenting never
imports the recommender, or numpy, into an application that does not use it):

>>> from heritage_otel.instrumentation import RecommenderInstrumentor
>>> from heritage_otel.examples.recommender import HeritageRecommender
>>> instrumentor = RecommenderInstrumentor()
>>> instrumentor.instrument()
>>> results = HeritageRecommender(n_docs=1000).recommend("chola temple tamil", top_k=5)
>>> instrumentor.uninstrument()

What each ``recommend(query, top_k)`` call produces
---------------------------------------------------

- a span ``heritage.recommend`` with ``heritage.query.top_k``,
  ``heritage.query.hash`` (or ``heritage.query.text`` when
  ``capture_query_text=True``), ``heritage.result.count``,
  ``heritage.result.empty``, ``heritage.cache.hit``, the strategy used,
  quality scores (``heritage.quality.ndcg_at_10``, ``precision_at_5``,
  ``diversity``) when the recommender can evaluate the query, and
  OpenInference attributes (``openinference.span.kind=RETRIEVER``,
  ``retrieval.documents.{i}.document.id`` / ``.score`` for the first
  ``max_documents`` results);
- below it, the fallback chain of :mod:`heritage_otel.fallback`
  (``heritage.fallback_chain`` and one ``heritage.fallback.attempt`` per
  strategy tried), and inside each attempt one span per ranking component
  called, named by what it does (``rank simrank``: the method, then the
  component; attribute ``heritage.component``), and a ``heritage.ensemble``
  span (RERANKER);
- exceptions recorded with their severity (:func:`heritage_otel.errors.record_error`)
  on every span they pass through, and counted once in ``heritage.errors``,
  under the component that raised them (a component failure is not counted
  again by the fallback attempt it fails or by ``heritage.recommend``);
- the metrics of :mod:`heritage_otel.instruments` (query duration, queries,
  results, empty results, quality, component duration, cache requests,
  fallbacks), recorded inside the span so histogram exemplars carry its trace id;
- with ``HERITAGE_OTEL_OTLP_JSON_PATH`` set, the spans also written there as
  OTLP JSON lines when the SDK pipeline is not ``configure()``'s (as under
  ``opentelemetry-instrument``);
- a ``heritage.query`` event on the span and as an OpenTelemetry log record,
  through :class:`heritage_otel.logs.QueryLogger` (also a JSON line in
  ``queries.log`` when ``HERITAGE_OTEL_LOG_DIR`` is set).

Options of ``instrument()``
---------------------------

===========================  ==========================================================
keyword                      meaning
===========================  ==========================================================
``tracer_provider``          default: the global one
``meter_provider``           default: the global one
``logger_provider``          for the query log record; default: the global one
``request_hook``             ``(span, instance, query, top_k)``, before the call
``response_hook``            ``(span, instance, results)``, after a successful call
``capture_query_text``       export the raw query; default ``HERITAGE_OTEL_CAPTURE_QUERY_TEXT``
                             or False (then a salted SHA-256 digest is exported)
``evaluator``                ``(instance, query, results) -> {"ndcg_at_10": ..}``; default:
                             ``HERITAGE_OTEL_RECOMMENDER_EVALUATOR``, else
                             ``instance.evaluate(query, results)`` for the reference recommender,
                             none for yours (its ``evaluate`` may be anything)
``document_reader``          ``(result item) -> (id, score)`` for results that are not mappings,
                             ``(id, score)`` pairs or objects with ``id``/``score``
                             (:mod:`~heritage_otel.instrumentation.shapes`)
``targets``                  a :class:`RecommenderTargets` for your own recommender
                             (default: the reference one, or ``HERITAGE_OTEL_RECOMMENDER_*``)
``max_documents``            how many results get ``retrieval.documents.*`` attributes (20)
``query_log``                which queries get the ``heritage.query`` log record and span event:
                             ``"sampled"`` (default, or ``HERITAGE_OTEL_QUERY_LOG``): those whose
                             trace is recorded, and every failed one; ``"all"``; ``"off"``. The
                             metrics count every query either way
===========================  ==========================================================

Any other keyword fails with a ``TypeError`` naming the close option (a typo
is never silently ignored).

On the global providers the wrappers follow the pipeline: while telemetry is
disabled (``configure(disabled=True)``) the recommender's own methods run,
unwrapped, and a later ``configure()`` wraps them again. When the providers
passed to ``instrument()`` are the API's no-op ones, or ``OTEL_SDK_DISABLED``
is ``true``, nothing is wrapped at all. Results without a length (an
iterator) reach the caller unconsumed: no count, quality or document
attributes are taken from them. ``async def`` entry points and components,
generator-function entry points and plain ``module:function`` targets are
wrapped by their kind (``docs/instrumentation.md``). Hook, evaluator and
reader exceptions are logged and dropped; the recommender's own
exceptions propagate unchanged. Inside ``suppress_instrumentation()`` nothing
is recorded. ``instrument()`` twice is a no-op, unless the second names other ``targets=``
(in code, after ``opentelemetry-instrument`` loaded the instrumentor with the
environment's targets): those replace them, with a warning; ``uninstrument()`` restores
the original methods.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import sys
import threading
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]  # not in the package's __all__, but its public class
from wrapt import register_post_import_hook, wrap_function_wrapper

from heritage_otel._internal import delegating
from heritage_otel.instrumentation._resolve import (
    did_you_mean,
    entry_parameters,
    loaded_module,
    program_module_name,
    resolve_target,
    restore,
    unfindable,
    watch_for_typo,
)
from heritage_otel.instrumentation.package import _instruments
from heritage_otel.instrumentation.evaluator import evaluator_from_env
from heritage_otel.instrumentation.targets import RecommenderTargets, parse_target
from heritage_otel.instrumentation.version import __version__
from heritage_otel.hashing import capture_query_text_enabled

__all__ = ["RecommenderInstrumentor", "RecommenderTargets", "__version__"]

_logger = logging.getLogger(__name__)
#: The keyword options of instrument() (BaseInstrumentor takes skip_dep_check and raise_exception_on_conflict).
_OPTIONS = frozenset({"tracer_provider", "meter_provider", "logger_provider", "request_hook", "response_hook",
                      "capture_query_text", "evaluator", "document_reader", "targets", "max_documents",
                      "query_log"})
_wrap_lock = threading.RLock()  # wrapping and unwrapping: instrument(), imports and pipeline switches


def _no_quality(instance: Any, query: Any, results: Any) -> None:
    """The evaluator of a recommender that is not the reference one and was given none: no quality scores."""
    return None


def _entry_wrapper(shared: Any, owner: Any, method: str) -> Any:
    """An entry point's wrapper for its kind (``async def``, generator function, or plain), reading its own
    query and top-k parameters (several entry points share everything else)."""
    from heritage_otel.instrumentation._call_kinds import async_recommend, generator_recommend

    wrappers = copy.copy(shared)
    wrappers.entry_parameters = entry_parameters(owner, method)
    function = inspect.unwrap(getattr(owner, method))
    if inspect.iscoroutinefunction(function):
        return async_recommend(wrappers)
    if inspect.isgeneratorfunction(function):
        return generator_recommend(wrappers)
    return wrappers.recommend


def _component_wrapper(wrappers: Any, name: str, operation: str, owner: Any, method: str) -> Any:
    """A component's wrapper for its kind: ``async def`` or plain."""
    if inspect.iscoroutinefunction(inspect.unwrap(getattr(owner, method))):
        from heritage_otel.instrumentation._call_kinds import async_component

        return async_component(wrappers, name, operation)
    return wrappers.component(name, operation)


class RecommenderInstrumentor(BaseInstrumentor):  # type: ignore[misc]  # BaseInstrumentor is untyped
    """Wraps a recommender's entry point, components, ensemble, fallback chain and cache with OpenTelemetry."""

    _wrapped: list[tuple[type, str]]

    def instrument(self, **kwargs: Any) -> Any:
        """Instrument (see the module docstring); twice is a no-op, unless ``targets=`` names other targets than
        the ones in place (say, what ``opentelemetry-instrument`` took from the environment): those replace them."""
        targets = kwargs.get("targets")
        current = getattr(self, "_targets", None)
        if self.is_instrumented_by_opentelemetry and targets is not None and targets != current:
            _logger.warning("heritage recommender instrumentation: already instrumented (entry point %s); "
                            "re-instrumenting with the targets given (entry point %s)",
                            getattr(current, "entry_point", None), getattr(targets, "entry_point", targets))
            self.uninstrument()
        return super().instrument(**kwargs)

    def instrumentation_dependencies(self) -> Collection[str]:
        """No third-party distribution: the targets are the recommender's own classes."""
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        from heritage_otel.instrumentation._otlp_json import attach_otlp_json_file
        from heritage_otel.instrumentation._wrappers import (
            Wrappers,
            never_records,
            resolve_query_log,
            sdk_disabled_by_environment,
        )

        unknown = sorted(set(kwargs) - _OPTIONS)
        if unknown:  # a typo'd option would otherwise be ignored without a word
            msg = (f"instrument({unknown[0]}=...) is not a valid option{did_you_mean(unknown[0], _OPTIONS)}; "
                   f"valid: {', '.join(sorted(_OPTIONS))}")
            raise TypeError(msg)
        explicit = kwargs.get("targets") is not None
        targets = kwargs["targets"] if explicit else RecommenderTargets.from_env(strict=False)
        self._targets = targets
        if not isinstance(targets, RecommenderTargets):
            msg = (f"targets={targets!r} is not valid; expected a RecommenderTargets, "
                   "e.g. RecommenderTargets(entry_point='app.search:Search.find')")
            raise TypeError(msg)
        max_documents = kwargs.get("max_documents", 20)
        if isinstance(max_documents, bool) or not isinstance(max_documents, int) or max_documents < 0:
            msg = f"max_documents={max_documents!r} is not valid; expected an integer >= 0"
            raise ValueError(msg)
        for key in ("request_hook", "response_hook", "evaluator", "document_reader"):
            if kwargs.get(key) is not None and not callable(kwargs[key]):
                msg = f"{key}={kwargs[key]!r} is not valid; expected a callable or None"
                raise TypeError(msg)
        providers = (kwargs.get("tracer_provider"), kwargs.get("meter_provider"), kwargs.get("logger_provider"))
        wrappers = Wrappers(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            logger_provider=kwargs.get("logger_provider"),
            request_hook=kwargs.get("request_hook"),
            response_hook=kwargs.get("response_hook"),
            # instance.evaluate(query, results) is the reference recommender's; another's evaluate may be anything
            evaluator=kwargs.get("evaluator") or evaluator_from_env() or (None if targets.is_reference else _no_quality),
            document_reader=kwargs.get("document_reader"),
            capture_query_text=capture_query_text_enabled(kwargs.get("capture_query_text")),
            max_documents=max_documents,
            chain_name=targets.chain_name,
            entry_parameters=("query", "top_k", None),
            query_log=resolve_query_log(kwargs.get("query_log")),
        )
        self._wrapped = []
        if never_records(*providers) or sdk_disabled_by_environment():
            _logger.info("heritage recommender instrumentation: telemetry can never be recorded (no-op providers "
                         "or OTEL_SDK_DISABLED); nothing wrapped")
            self._active = None
            return
        attach_otlp_json_file(kwargs.get("tracer_provider"))
        # (target, (owner, attribute) -> its wrapper): the wrapper depends on its kind (async, generator)
        plan: list[tuple[str, Callable[[Any], Any]]] = []
        plan += [(entry, functools.partial(_entry_wrapper, wrappers)) for entry in targets.entry_points]
        plan += [(target, functools.partial(_component_wrapper, wrappers, name, parse_target(target)[2]))
                 for name, target in targets.components.items()]
        plan += [(t, lambda owner, method, w=w: w) for t, w in (
            (targets.ensemble, wrappers.ensemble), (targets.chain, wrappers.chain), (targets.cache, wrappers.cache))
            if t is not None]
        self._generation = getattr(self, "_generation", 0) + 1
        self._active = self._generation
        self._resolved: list[tuple[type, str, Any]] = []
        # on the global providers, the wrappers follow the pipeline: present while it can record, removed
        # while telemetry is off (configure(disabled=True)), so a disabled application runs its own code
        self._follows_globals = all(p is None for p in providers)
        pending: dict[str, list[tuple[str, Any]]] = {}
        for target, wrapper in plan:
            pending.setdefault(parse_target(target)[0], []).append((target, wrapper))
        # modules already imported are resolved now: bad targets given in code fail here (nothing wrapped);
        # from the environment they are logged and the valid ones wrapped. Other modules: when imported.
        program = program_module_name()
        not_run_yet = [m for m in pending if m == program and m not in sys.modules
                       and not hasattr(sys.modules.get("__main__"), "__file__")]
        for module_name in not_run_yet:  # opentelemetry-instrument python app.py, with targets in app itself
            _logger.warning(
                "heritage recommender instrumentation: %s are in %r, the program being run, which Python runs as "
                "'__main__' and never imports as %r, so they cannot be wrapped; move the recommender into a module "
                "the program imports (or instrument in code, from the program itself)",
                ", ".join(t for t, _ in pending.pop(module_name)), module_name, module_name)
        for module_name in [m for m in pending if loaded_module(m) is None]:
            problem = unfindable(module_name)
            if problem is not None:  # a typo in a module name would otherwise wait for an import that never comes
                targets_there = ", ".join(t for t, _ in pending.pop(module_name))
                if explicit:
                    msg = f"instrumentation target {targets_there}: {problem}"
                    raise ValueError(msg)
                _logger.error("heritage recommender instrumentation: cannot wrap %s: %s; skipped", targets_there, problem)
        loaded = [i for m, items in pending.items() if loaded_module(m) is not None for i in items]
        try:
            self._resolve(loaded, strict=explicit)
        except Exception:
            self._active = None
            raise
        self._follow_pipeline()
        for module_name, items in pending.items():
            if loaded_module(module_name) is None:
                register_post_import_hook(self._on_import(self._generation, items), module_name)
                watch_for_typo(module_name, ", ".join(t for t, _ in items))
        if self._follows_globals:
            delegating.add_switch_callback(self._follow_pipeline)

    def _resolve(self, items: list[tuple[str, Any]], *, strict: bool) -> None:
        """Resolve each target to (class or module, attribute); ``strict``: all or nothing (raises), else the valid ones
        (each bad one logged)."""
        resolved = []
        for target, make_wrapper in items:
            try:
                resolved.append((*resolve_target(target), target, make_wrapper))
            except Exception:
                if strict:
                    raise
                _logger.exception("heritage recommender instrumentation: cannot wrap %s; skipped", target)
        for owner, method, _target, make_wrapper in resolved:
            self._resolved.append((owner, method, make_wrapper(owner, method)))

    def _wanted(self) -> bool:
        """Whether the wrappers should be in place now."""
        if not self._follows_globals or not delegating.globals_installed():
            return True  # given providers; or globals another SDK may set later: the wrappers check per call
        return not delegating.telemetry_off()

    def _follow_pipeline(self) -> None:
        """Wrap or unwrap the resolved targets as the pipeline the globals reach can record or not."""
        with _wrap_lock:
            if getattr(self, "_active", None) is None:
                return
            wanted = self._wanted()
            if wanted:
                done = set(self._wrapped)
                for cls, method, wrapper in self._resolved:
                    if (cls, method) not in done:
                        wrap_function_wrapper(cls, method, wrapper)
                        self._wrapped.append((cls, method))
            elif self._wrapped:
                self._unwrap_all()

    def _unwrap_all(self) -> None:
        for owner, method in reversed(self._wrapped):
            restore(owner, method)  # not utils.unwrap: it loses staticmethod and classmethod
        self._wrapped = []

    def _on_import(self, generation: int, items: list[tuple[str, Any]]) -> Any:
        def hook(module: Any) -> None:
            if getattr(self, "_active", None) != generation:
                return  # uninstrumented (or re-instrumented) before the module was imported
            try:
                with _wrap_lock:
                    self._resolve(items, strict=False)
                self._follow_pipeline()
            except Exception:  # noqa: BLE001 - never break the application's import
                _logger.exception("heritage recommender instrumentation: cannot wrap %s", [t for t, _ in items])

        return hook

    def _uninstrument(self, **kwargs: Any) -> None:
        delegating.remove_switch_callback(self._follow_pipeline)
        with _wrap_lock:
            self._active = None
            self._unwrap_all()
            self._resolved = []
