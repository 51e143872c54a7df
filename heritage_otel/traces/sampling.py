"""Why a trace is not in Jaeger: what the Collector's tail sampler keeps, said about one logged query.

The agent Collector (``collector/config.yaml``) keeps every trace with an
error, a fallback or a slow span, within a cap on the spans kept per second,
and only a share of the healthy, fast rest. A trace id taken from the query
log can therefore open nothing; :func:`why_not_kept` says why, from what the
query record tells (success, error type, latency, components).

>>> why_not_kept({"success": True, "latency_ms": 12.5})
'not kept by tail sampling: a healthy, fast query (12.5 ms, no error) is kept only in the baseline share (HERITAGE_OTEL_SAMPLING_PERCENTAGE, 10 % by default)'
>>> why_not_kept({"success": False, "error_type": "FallbackExhaustedError"}).startswith("not kept although it failed")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["DECIDING_S", "SLOW_MS", "why_not_kept"]

#: The agent's default latency threshold (HERITAGE_OTEL_SAMPLING_LATENCY_THRESHOLD_MS).
SLOW_MS: Final = 500.0
#: How long after a query its trace may still be undecided: the agent's decision wait (10 s) plus batching.
DECIDING_S: Final = 15.0
#: What a young trace that is not in Jaeger yet is said to be.
DECIDING: Final = "not in Jaeger yet: the tail sampler decides up to 10 s after a trace starts"
_BUSY: Final = ("the kept-spans cap was reached (HERITAGE_OTEL_SAMPLING_MAX_SPANS_PER_SEC, 200 spans/s by default: "
                "an incident's storm of errors and fallbacks is not traced in full), or the sampler is still deciding "
                "(up to HERITAGE_OTEL_SAMPLING_DECISION_WAIT, 10 s)")


def why_not_kept(record: Mapping[str, Any]) -> str:
    """Why the trace of a logged query (a ``/api/queries`` row) is not in Jaeger, as a sentence."""
    latency = record.get("latency_ms")
    if record.get("success") is False or record.get("error_type"):
        kind = f" ({record['error_type']})" if record.get("error_type") else ""
        return f"not kept although it failed{kind}: {_BUSY}"
    if isinstance(latency, (int, float)) and latency >= SLOW_MS:
        return f"not kept although slow ({latency:.1f} ms): {_BUSY}"
    shown = f"{latency:.1f} ms, " if isinstance(latency, (int, float)) else ""
    return ("not kept by tail sampling: a healthy, fast query "
            f"({shown}no error) is kept only in the baseline share (HERITAGE_OTEL_SAMPLING_PERCENTAGE, 10 % by default)")
