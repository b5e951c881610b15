"""Cheap valid bounds on the optimum, computed from the instance alone.

Each bound relaxes the problem (capacities, sequencing or sharing ignored) so it holds for every
feasible solution. They give gaps when nothing better is known; solvers' proven bounds and
published optima are better and are kept separately. Each class's bound is its
:attr:`~schedbench.instances.problems.ProblemClass.bounds` (in the class's validator module); this
module holds the shared helpers and :func:`bounds`, which dispatches on the class.
"""

from __future__ import annotations

import numpy as np

from schedbench.instances.model import Instance
from schedbench.instances.problems import PROBLEM_CLASSES


def usable_types(inst: Instance) -> np.ndarray:
    """``(n, T)``: eligible, enough GPUs of the type for the gang, and per-GPU demand fits."""
    jobs = inst.jobs
    enough = inst.gpus_per_type[None, :] >= jobs.gang[:, None]
    with np.errstate(invalid="ignore"):
        fits = (np.nan_to_num(jobs.demand, nan=np.inf) <= inst.type_capacity[None, :, :] * (1 + 1e-9) + 1e-9).all(
            axis=2
        )
    return jobs.eligible & enough & fits


def row_min(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row, the least of ``values`` where ``mask`` (NaN counts as +inf); +inf for an empty row."""
    return np.where(mask, np.nan_to_num(values, nan=np.inf), np.inf).min(axis=1)


def bounds(inst: Instance) -> dict[str, float]:
    """``{"lower_bound": x}`` for minimisation or ``{"upper_bound": x}`` for maximisation;
    empty when no cheap bound applies or the instance has no jobs. Values are +-inf when a job
    can run nowhere."""
    if len(inst.jobs) == 0:
        return {}
    return PROBLEM_CLASSES[inst.problem.cls].bounds(inst)
