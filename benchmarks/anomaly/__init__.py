"""Labelled anomaly benchmark for streaming detectors: seeded streams, window-based scoring, a results table.

Run ``python -m benchmarks.anomaly`` from the repository root (``--help`` for
options). :mod:`benchmarks.anomaly.streams` generates the labelled streams,
:mod:`benchmarks.anomaly.scoring` scores a detector's flags on them.
"""
