"""Fault injection for the reference recommender, switchable at run time.

Four kinds of fault, each set and cleared while the recommender serves:

- ``fail(component, rate)``: the component raises (a
  :class:`heritage_otel.errors.HighSeverityError` by default) on a fraction
  ``rate`` of its calls;
- ``slow(component, latency_s)``: each call of the component takes
  ``latency_s`` seconds longer;
- ``degrade(component, noise)``: Gaussian noise of relative size ``noise``
  is added to the component's scores, so result quality drops;
- ``drift(True)``: the query mix shifts (read by
  :class:`~heritage_otel.examples.recommender.workload.QueryMix`).

>>> faults = FaultInjector(seed=1)
>>> faults.fail("simrank")
>>> try:
...     faults.before_call("simrank")
... except Exception as exc:
...     print(type(exc).__name__, exc.component)
HighSeverityError simrank
>>> faults.clear()
>>> faults.before_call("simrank")
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import numpy as np

from heritage_otel.errors import HeritageError, HighSeverityError


@dataclass(frozen=True)
class ComponentFaults:
    """The faults active for one component."""

    fail_rate: float = 0.0
    error: type[HeritageError] = HighSeverityError
    latency_s: float = 0.0
    noise: float = 0.0


_NONE = ComponentFaults()


class FaultInjector:
    """Thread-safe run-time switches for component failures, latency, noise and query drift."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, ComponentFaults] = {}
        self._drift = False
        self._rng = np.random.default_rng(seed)

    # --- switches -------------------------------------------------------------
    def fail(self, component: str, rate: float = 1.0, error: type[HeritageError] = HighSeverityError) -> None:
        """Make ``component`` raise ``error`` on a fraction ``rate`` (0..1) of its calls."""
        if not 0.0 <= rate <= 1.0:
            msg = f"fail rate={rate!r} is invalid; valid: a number in [0, 1]"
            raise ValueError(msg)
        self._update(component, fail_rate=float(rate), error=error)

    def slow(self, component: str, latency_s: float) -> None:
        """Add ``latency_s`` seconds (>= 0) to every call of ``component``."""
        if latency_s < 0:
            msg = f"latency_s={latency_s!r} is invalid; valid: a number >= 0"
            raise ValueError(msg)
        self._update(component, latency_s=float(latency_s))

    def degrade(self, component: str, noise: float) -> None:
        """Add Gaussian noise of relative size ``noise`` (>= 0) to ``component``'s scores."""
        if noise < 0:
            msg = f"noise={noise!r} is invalid; valid: a number >= 0"
            raise ValueError(msg)
        self._update(component, noise=float(noise))

    def drift(self, enabled: bool = True) -> None:
        """Shift (or restore) the query mix."""
        with self._lock:
            self._drift = bool(enabled)

    def clear(self, component: str | None = None) -> None:
        """Remove the faults of ``component``, or every fault (and the drift) when None."""
        with self._lock:
            if component is None:
                self._faults.clear()
                self._drift = False
            else:
                self._faults.pop(component, None)

    @property
    def drifting(self) -> bool:
        """Whether the query mix is shifted."""
        return self._drift

    def active(self) -> dict[str, ComponentFaults]:
        """A snapshot of the faults per component."""
        with self._lock:
            return dict(self._faults)

    # --- hooks called by the components -----------------------------------------
    def before_call(self, component: str) -> None:
        """Apply the latency, then raise when the component is set to fail this call."""
        spec = self._faults.get(component, _NONE)
        if spec is _NONE:
            return
        if spec.latency_s > 0:
            time.sleep(spec.latency_s)
        if spec.fail_rate > 0:
            with self._lock:
                roll = float(self._rng.random())
            if roll < spec.fail_rate:
                msg = f"injected failure in {component}"
                raise spec.error(msg, component=component, details={"injected": True})

    def perturb(self, component: str, scores: np.ndarray) -> np.ndarray:
        """``scores`` with the component's noise added (unchanged when there is none)."""
        spec = self._faults.get(component, _NONE)
        if spec.noise <= 0 or scores.size == 0:
            return scores
        scale = spec.noise * (float(np.abs(scores).max()) or 1.0)
        with self._lock:
            noise = self._rng.normal(0.0, scale, size=scores.shape)
        return np.maximum(scores + noise, 0.0) + (scores > 0) * 1e-9

    def _update(self, component: str, **changes: object) -> None:
        with self._lock:
            self._faults[component] = replace(self._faults.get(component, _NONE), **changes)
