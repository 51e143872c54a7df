"""``check_anomalies``' judgement of raw values: detectors from the analysis registry, by name.

Each named detector judges every value of the lookback: a detector that scores a batch against a baseline
(the seed's ``zscore`` and ``mad``) judges each value against the whole lookback, so a spike followed by
normal values is still found; any other detector (the registry's default) reads the lookback as the stream
it is, oldest first. The most extreme flagged value is the finding, in the series' bad direction only.

>>> import numpy as np
>>> values = np.r_[np.random.default_rng(0).normal(100, 5, 60), 400.0]
>>> finding = judge("query_latency", values, "mad", labels=(), sensitivity=None, min_samples=10,
...                 direction="up", critical_factor=2.0)
>>> finding.detector, finding.value, "Anomaly in query_latency" in finding.message
('mad', 400.0, True)
>>> judge("query_latency", values[:60], "zscore", labels=(), sensitivity=None, min_samples=10,
...       direction="up", critical_factor=2.0) is None
True
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heritage_otel.analysis.detectors import DETECTORS, Detector, create
from heritage_otel.analysis.findings import Finding, anomaly_finding
from heritage_otel.analysis.samples import Labels

__all__ = ["judge"]


def _detector(name: str, sensitivity: float | None, min_samples: int, direction: str) -> Detector:
    """The registry's detector ``name``; a windowed one gets the facade's ``min_samples`` (its window is the
    lookback, so at least that)."""
    settings: dict[str, Any] = {"direction": direction}
    if sensitivity is not None:
        settings["sensitivity"] = sensitivity
    if "min_samples" in inspect.signature(DETECTORS[name]).parameters:
        settings.update(min_samples=min_samples, window=max(min_samples, 2))
    return create(name, **settings)


def _most_extreme(values: NDArray[np.float64], detector: Detector) -> tuple[int, float, float, float] | None:
    """(index, score, center, scale) of the most extreme flagged value, or None."""
    score_batch = getattr(detector, "score", None)
    if callable(score_batch):  # judged against the whole lookback
        scores, flags = score_batch(values)
        if not flags.any():
            return None
        i = int(np.flatnonzero(flags)[np.argmax(np.abs(scores[flags]))])
        baseline = values[None, :]
        row = detector.score_rows(values[i:i + 1], detector.new_state(1), baseline, np.isfinite(baseline))
        return i, float(scores[i]), float(row.centers[0]), float(row.scales[0])
    best: tuple[int, float, float, float] | None = None
    for i, value in enumerate(values):  # a streaming detector: each value against what came before it
        result = detector.update(float(value))
        if result.flagged and (best is None or abs(result.score) > abs(best[1])):
            best = (i, result.score, result.center, result.scale)
    return best


def judge(
    metric: str, values: NDArray[np.float64], detector_name: str, *, labels: Labels, sensitivity: float | None,
    min_samples: int, direction: str, critical_factor: float,
) -> Finding | None:
    """The anomaly finding of ``detector_name`` (a registry name) on ``values``, or None when nothing is flagged.

    ``sensitivity`` None: the detector's own default."""
    detector = _detector(detector_name, sensitivity, min_samples, direction)
    found = _most_extreme(np.asarray(values, dtype=float), detector)
    if found is None:
        return None
    i, score, center, scale = found
    if not math.isfinite(scale):
        scale = (values[i] - center) / score if score else math.nan
    return anomaly_finding(metric, detector_name, labels, float(values[i]), score, center, scale,
                           sensitivity=detector.sensitivity, critical_factor=critical_factor,
                           score_name=detector.score_name)
