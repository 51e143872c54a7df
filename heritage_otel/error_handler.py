"""The seed's ``utils/error_handler.py`` names in one import, for code written against the seed.

The seed imported its error handling from one module::

    from utils.error_handler import ErrorHandler, FallbackChain, InputValidator, OutputValidator

Here the same names live in :mod:`heritage_otel.handler`,
:mod:`heritage_otel.fallback`, :mod:`heritage_otel.validation` and
:mod:`heritage_otel.errors`; this module re-exports them (the same classes),
so that line runs with only its module path changed. New code may import
from either place.

>>> from heritage_otel.error_handler import ErrorHandler, FallbackChain, InputValidator, OutputValidator
>>> from heritage_otel.handler import ErrorHandler as Handler
>>> ErrorHandler is Handler
True
>>> chain = FallbackChain("ranking_chain").add_strategy("primary_simrank", lambda q: [q], priority=3)
>>> chain.execute("temple")
(['temple'], 'primary_simrank')
"""

from heritage_otel.errors import (
    CriticalError,
    FallbackExhaustedError,
    HeritageError,
    HighSeverityError,
    LowSeverityError,
    MediumSeverityError,
    Severity,
    ValidationError,
)
from heritage_otel.fallback import FallbackChain
from heritage_otel.handler import ErrorHandler
from heritage_otel.validation import InputValidator, OutputValidator

__all__ = [
    "CriticalError",
    "ErrorHandler",
    "FallbackChain",
    "FallbackExhaustedError",
    "HeritageError",
    "HighSeverityError",
    "InputValidator",
    "LowSeverityError",
    "MediumSeverityError",
    "OutputValidator",
    "Severity",
    "ValidationError",
]
