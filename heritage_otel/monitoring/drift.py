"""Drift of raw values from a reference distribution (the seed's ``DriftDetector``), judged by the Analyzer's
own rules and thresholds.

>>> from heritage_otel.analysis import Analyzer
>>> detector = DriftDetector(Analyzer())
>>> detector.set_reference("query_latency", [100, 120, 110, 130, 105] * 20)
>>> result = detector.check("query_latency", [900, 950, 1000] * 20, method="psi")
>>> result.drifted, result.method, result.finding.detector
(True, 'psi', 'psi')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any
from dataclasses import dataclass

import numpy as np

from heritage_otel.analysis.analyzer import Analyzer
from heritage_otel.analysis.drift import ks, ks_drifted, psi, psi_drifted
from heritage_otel.analysis.findings import Finding, ks_finding, psi_finding
from heritage_otel.analysis.samples import Labels
from heritage_otel.monitoring.config import SEED_METRICS

__all__ = ["DriftDetector", "DriftResult"]


@dataclass(frozen=True)
class DriftResult:
    """Outcome of one drift check on raw values, with the alert finding when it drifted."""

    drifted: bool
    method: str
    statistic: float
    pvalue: float = math.nan
    finding: Finding | None = None


class DriftDetector:
    """Reference distributions per seed metric name; checks with :func:`psi` or :func:`ks` on raw values.

    Drifted means the Analyzer's own rule fires (:func:`~heritage_otel.analysis.drift.psi_drifted`,
    :func:`~heritage_otel.analysis.drift.ks_drifted` with its config's thresholds). A reference for a
    metric with an OpenTelemetry histogram (``query_latency`` in ms,
    ``ndcg_at_10``, ...) is also given to the Analyzer, so the pipeline's
    bucket-count drift uses it too.
    """

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._references: dict[str, np.ndarray] = {}

    def set_reference(self, name: str, values: Iterable[float]) -> None:
        """Set (replace) the reference of ``name``."""
        given: list[Any] = list(values)  # the seed's own example ends its list with a literal ...
        ref = np.asarray([float(v) for v in given if v is not Ellipsis], dtype=np.float64)
        ref = ref[np.isfinite(ref)]
        if ref.size == 0:
            msg = f"reference for {name!r} is empty; expected at least one finite value"
            raise ValueError(msg)
        self._references[name] = ref
        metric, _, factor = SEED_METRICS.get(name, (name, "", 1.0))
        self.analyzer.set_reference(metric, ref * factor)

    def has_reference(self, name: str) -> bool:
        """True when a reference is set for ``name``."""
        return name in self._references

    def check(self, name: str, values: Sequence[float], method: str = "psi", labels: Labels = ()) -> DriftResult:
        """Compare ``values`` with the reference; raises KeyError without one, ValueError on a bad method.
        ``labels`` go on the finding (the monitor's service, so its alerts group with the pipeline's)."""
        if method not in ("psi", "ks"):
            msg = f"method = {method!r} is not valid; valid values: 'psi', 'ks'"
            raise ValueError(msg)
        ref = self._references[name]
        cur = np.asarray(values, dtype=float)
        cfg = self.analyzer.config
        if method == "psi":
            value = psi(ref, cur)
            finding = (psi_finding(name, labels, value, warning=cfg.psi_warning, critical=cfg.psi_critical)
                       if psi_drifted(value, cfg.psi_warning) else None)
            return DriftResult(finding is not None, "psi", value, finding=finding)
        result = ks(ref, cur)
        drifted = ks_drifted(result.statistic, result.pvalue, cfg.ks_alpha, cfg.ks_min_statistic)
        finding = (ks_finding(name, labels, result.statistic, result.pvalue, alpha=cfg.ks_alpha,
                              min_statistic=cfg.ks_min_statistic, approximate=False) if drifted else None)
        return DriftResult(drifted, "ks", result.statistic, result.pvalue, finding)
