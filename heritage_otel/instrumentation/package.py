"""Libraries this instrumentation instruments.

Empty: the targets are the recommender's own classes (the reference
recommender shipped with heritage-otel, or a user's, named by
:class:`~heritage_otel.instrumentation.targets.RecommenderTargets`), not a
third-party distribution whose version could conflict.

>>> _instruments
()
"""

_instruments: tuple[str, ...] = ()
