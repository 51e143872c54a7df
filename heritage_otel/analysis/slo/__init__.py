"""Service level objectives: OpenSLO v1 documents in, error budgets, burn rates and burn-rate incidents out.

* :mod:`~heritage_otel.analysis.slo.spec`: the documents, checked, as :class:`Objective` objects;
* :mod:`~heritage_otel.analysis.slo.counting`: good and total events of one export;
* :mod:`~heritage_otel.analysis.slo.ring`: per-slot counts over a rolling window;
* :mod:`~heritage_otel.analysis.slo.tracker`: budgets, burn rates, findings, and their state as plain data;
* :mod:`~heritage_otel.analysis.slo.files`: YAML/JSON files and folders of documents.

Set ``analyzer.slos = SloTracker(objectives)`` and the Analyzer counts every export for them; the
AlertManager then turns burn-rate findings into incidents. See docs/slo.md.

>>> from heritage_otel.analysis.slo.files import EXAMPLE_FILE, load_objectives
>>> [(o.name, o.target, o.budgeting) for o in load_objectives([EXAMPLE_FILE])][:2]
[('availability', 0.995, 'Occurrences'), ('latency', 0.95, 'Occurrences')]
"""

from heritage_otel.analysis.slo.spec import DEFAULT_BURN_RULES, BurnRule, Objective, parse_documents
from heritage_otel.analysis.slo.tracker import BURN_RATE_DETECTOR, SloTracker

__all__ = ["BURN_RATE_DETECTOR", "DEFAULT_BURN_RULES", "BurnRule", "Objective", "SloTracker", "parse_documents"]
