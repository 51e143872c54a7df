"""Parse human durations (``250ms``, ``1.5s``, ``2h``) as used by ``--lookback`` and ``--min-duration``.

>>> parse_duration_ns("250ms"), parse_duration_ns("1.5s"), parse_duration_ns("2h")
(250000000, 1500000000, 7200000000000)
>>> go_duration(1_500_000)
'1500us'
"""

from __future__ import annotations

import re

__all__ = ["go_duration", "parse_duration_ns"]

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
          "h": 3_600_000_000_000, "d": 86_400_000_000_000}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h|d)\s*$")


def parse_duration_ns(text: str) -> int:
    """Nanoseconds in ``text`` (a number and one unit of ns, us, ms, s, m, h, d)."""
    match = _PATTERN.match(text or "")
    if match is None:
        msg = f"duration = {text!r} is not valid; expected a number and a unit, e.g. 250ms, 1.5s, 30m, 2h, 1d"
        raise ValueError(msg)
    return round(float(match.group(1)) * _UNITS[match.group(2)])


def go_duration(nanoseconds: int) -> str:
    """A Go ``time.Duration`` string for Jaeger's ``minDuration`` (microsecond precision)."""
    return f"{max(0, nanoseconds) // 1_000}us"
