"""Anomaly detectors and their registry.

``DETECTORS`` maps each detector's name to its class; ``DEFAULT_DETECTOR``
names the one the Analyzer, the service and the seed facade use by default.
Every detector is built with keyword settings (``sensitivity``: higher means
fewer flags, ``None`` for the detector's default; ``direction``: ``both``,
``up`` or ``down``; plus its own) and judges a stream one value at a time:

>>> import numpy as np
>>> det = DETECTORS[DEFAULT_DETECTOR]()
>>> values = np.r_[np.random.default_rng(0).normal(100, 5, 300), 160.0, 101.0]
>>> [i for i, v in enumerate(values) if det.update(v).flagged]
[300]
>>> sorted(DETECTORS)
['adaptive', 'mad', 'surprise', 'zscore']
>>> create("mad", sensitivity=4, direction="up")
MADDetector(sensitivity=4, direction='up')
>>> create("iforest")
Traceback (most recent call last):
...
ValueError: detector = 'iforest' is not valid; valid detectors: adaptive, mad, surprise, zscore

The Analyzer uses the row-wise path, :meth:`Detector.score_rows`, for all
series at once (see :mod:`~heritage_otel.analysis.detectors.base`).
"""

from __future__ import annotations

from typing import Any, Final

from heritage_otel.analysis.detectors.adaptive import AdaptiveDetector
from heritage_otel.analysis.detectors.surprise import SurpriseDetector
from heritage_otel.analysis.detectors.base import DIRECTIONS, Detector, DetectorResult, RowScores, State, scale_floor
from heritage_otel.analysis.detectors.windowed import (
    MAD_SCALE,
    MADDetector,
    ZScoreDetector,
    rows_mad_score,
    rows_median,
    rows_zscore,
)

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "DIRECTIONS",
    "MAD_SCALE",
    "AdaptiveDetector",
    "Detector",
    "DetectorResult",
    "MADDetector",
    "RowScores",
    "State",
    "SurpriseDetector",
    "ZScoreDetector",
    "create",
    "rows_mad_score",
    "rows_median",
    "rows_zscore",
    "scale_floor",
]

#: Every detector by name (the names findings, alerts and configuration use).
DETECTORS: Final[dict[str, type[Detector]]] = {
    cls.name: cls for cls in (SurpriseDetector, AdaptiveDetector, ZScoreDetector, MADDetector)
}
#: The detector used when none is configured.
DEFAULT_DETECTOR: Final = SurpriseDetector.name


def create(name: str, **settings: Any) -> Detector:
    """A detector from its registry name and settings; ValueError names a bad name or setting.

    Unknown settings raise ``ValueError`` too (not ``TypeError``), so a
    configuration file fails at start-up with the detector and the setting.
    """
    cls = DETECTORS.get(name)
    if cls is None:
        msg = f"detector = {name!r} is not valid; valid detectors: {', '.join(sorted(DETECTORS))}"
        raise ValueError(msg)
    try:
        return cls(**settings)
    except TypeError as exc:
        msg = f"detector {name!r}: {exc}; see the settings in docs/analysis.md"
        raise ValueError(msg) from None
