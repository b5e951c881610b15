"""The report's statistics: pure functions over validated input.

Run statuses fall into the report's columns as follows (every status is in ``runs``):

- solved (counted at its measured wall time): ``optimal``, ``feasible``, ``infeasible``,
  ``unbounded`` (the solver concluded within its limits; the harness checks the claim);
- timeouts: ``timeout``;
- failures: ``memout``, ``crashed``, ``error``, ``invalid``, ``unavailable``;
- wrong: ``wrong`` (a claim contradicted by a known answer: never credited, never solved);
- declined: ``unsupported`` (the solver said before starting that it does not model the
  instance): shown apart, neither a failure nor part of the time statistic;
- ``unknown`` (the solver gave up without a conclusion) is neither a timeout nor a failure.

Every run not solved and not declined counts in the time statistic as ``penalty x time_limit``
(qpbenchmark's convention; default penalty 10), so that a solver cannot look fast by failing fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SOLVED_STATUSES = ("optimal", "feasible", "infeasible", "unbounded")
TIMEOUT_STATUSES = ("timeout",)
FAILURE_STATUSES = ("memout", "crashed", "error", "invalid", "unavailable")
WRONG_STATUSES = ("wrong",)
DECLINED_STATUSES = ("unsupported",)
#: Default shift of the shifted geometric mean (seconds).
DEFAULT_SHIFT = 10.0
#: Default factor of the time limit charged to a run that was not solved.
DEFAULT_PENALTY = 10.0


def _values(values: Sequence[float] | np.ndarray, what: str, *, allow_empty: bool = False) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a one-dimensional sequence of numbers, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{what} must not be empty")
    if np.isnan(arr).any():
        raise ValueError(f"{what} must not contain NaN (drop missing values first)")
    if np.isinf(arr).any():
        raise ValueError(f"{what} must be finite")
    if (arr < 0).any():
        raise ValueError(f"{what} must be non-negative, got {arr[arr < 0][0]!r}")
    return arr


def _parameter(value: float, what: str, minimum: float, *, strict: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"{what} must be a finite number {bound}, got {value!r}")
    return value


def shifted_geometric_mean(values: Sequence[float] | np.ndarray, shift: float = DEFAULT_SHIFT) -> float:
    """``exp(mean(log(v + shift))) - shift``: a mean of times that neither large nor tiny values
    dominate (the shift damps differences between very short runs).

    Raises:
        ValueError: empty input, a negative, NaN or infinite value, a negative shift, or a zero
            shift with a zero value.
    """
    shift = _parameter(shift, "shift", 0.0)
    arr = _values(values, "values")
    if shift == 0.0 and (arr == 0).any():
        raise ValueError("values must be positive when the shift is 0")
    return float(np.exp(np.mean(np.log(arr + shift))) - shift)


def penalized_times(
    wall_s: Sequence[float] | np.ndarray,
    solved: Sequence[bool] | np.ndarray,
    time_limits: Sequence[float] | np.ndarray,
    penalty: float = DEFAULT_PENALTY,
) -> np.ndarray:
    """Each run's time for the time statistic: its wall time when solved, else
    ``penalty x time_limit``. Wall times of runs not solved are ignored (they may be NaN).

    Raises:
        ValueError: lengths differ, a penalty below 1, a time limit not positive, or a solved run
            whose wall time is missing or negative.
    """
    penalty = _parameter(penalty, "timeout penalty", 1.0)
    solved_arr = np.asarray(solved, dtype=bool)
    wall = np.asarray(wall_s, dtype=np.float64)
    limits = _values(time_limits, "time limits", allow_empty=True)
    if not (solved_arr.shape == wall.shape == limits.shape) or solved_arr.ndim != 1:
        raise ValueError(
            f"wall times, solved flags and time limits must have one equal length, got "
            f"{wall.shape}, {solved_arr.shape}, {limits.shape}"
        )
    if (limits <= 0).any():
        raise ValueError("time limits must be positive")
    _values(wall[solved_arr], "wall times of solved runs", allow_empty=True)
    return np.where(solved_arr, np.nan_to_num(wall), penalty * limits)


@dataclass(frozen=True)
class GapStats:
    """Mean and median of the gaps of ``n`` runs (None when ``n`` is 0)."""

    n: int
    mean: float | None
    median: float | None


def gap_stats(gaps: Sequence[float] | np.ndarray) -> GapStats:
    """Mean and median of relative gaps to the best-known value (runs without a gap dropped first).

    Raises:
        ValueError: a negative, NaN or infinite gap.
    """
    arr = _values(gaps, "gaps", allow_empty=True)
    if arr.size == 0:
        return GapStats(0, None, None)
    return GapStats(int(arr.size), float(arr.mean()), float(np.median(arr)))
