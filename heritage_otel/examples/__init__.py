"""Runnable examples shipped with heritage-otel (no telemetry code inside them).

>>> from heritage_otel.examples.recommender import HeritageRecommender
>>> results = HeritageRecommender().recommend("medieval manuscripts", top_k=3)
>>> len(results) <= 3
True
"""
