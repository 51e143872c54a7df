"""The ``heritage-otel demo`` scenario: the instrumented reference recommender through an incident.

:func:`run_demo` runs it (see :mod:`.scenario`), :mod:`.report` prints the
tables and writes the summary; :mod:`.slowest` keeps the slowest traces and
:mod:`.totals` reads run totals from a cumulative metric reader.

>>> from heritage_otel.demo import run_demo
>>> callable(run_demo)
True
"""

from heritage_otel.demo.scenario import DEMO_ANALYZER, PHASES, DemoConfig, DemoResult, Phase, PhaseResult, run_demo

__all__ = ["DEMO_ANALYZER", "PHASES", "DemoConfig", "DemoResult", "Phase", "PhaseResult", "run_demo"]
