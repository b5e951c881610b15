"""Helpers of the plugins that call a MIP / LP / conic solver: the time kept back, reported numbers."""

from __future__ import annotations

import math
from typing import Any


def finite_or_none(v: Any) -> float | None:
    """``float(v)`` when that is a finite number, else None (solver-reported values may be inf/NaN/None)."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def solve_margin(time_limit: float) -> float:
    """Seconds kept back from a MIP solver's time limit for decoding and returning the answer."""
    return min(5.0, 0.3 + 0.05 * time_limit)
