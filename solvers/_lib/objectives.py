"""Objective values of answers in the solvers' own encodings, computed by the validator's functions.

The plugins rank their candidate answers and report objective values with these, so that a solver
never disagrees with the validator on what an answer is worth (one pricing rule, one tardiness
rule, one summation order).
"""

from __future__ import annotations

import numpy as np

from schedbench.instances.model import Instance
from schedbench.validator.batch import batch_objective
from schedbench.validator.placement import placement_objective


def placement_value(inst: Instance, chosen: list[np.ndarray | None]) -> float:
    """The placement objective of ``chosen`` (GPU indices per job; None or empty: unplaced) over
    the placed jobs: :func:`schedbench.validator.placement.placement_objective` (``min-cost`` charges
    ``cost[j, type]`` once per placed job, whatever its gang; ``min-gpus`` with ``measure=cost`` is
    NaN when a used GPU's type has no price)."""
    placed = [j for j, g in enumerate(chosen) if g is not None and len(g) > 0]
    first = np.array([int(chosen[j][0]) for j in placed], dtype=np.int64)  # type: ignore[index]
    used = np.zeros(inst.n_gpus, dtype=bool)
    for g in chosen:
        if g is not None:
            used[g] = True
    return placement_objective(inst, np.array(placed, dtype=np.int64), inst.gpu_type[first], used)


def batch_value(inst: Instance, start: np.ndarray, gpu: np.ndarray) -> float:
    """The batch objective of a complete schedule: per job its ``start`` and one of its GPUs
    ``gpu`` (all of a gang's GPUs share one type), by
    :func:`schedbench.validator.batch.batch_objective`."""
    jobs = inst.jobs
    assert jobs.time is not None
    return batch_objective(inst, start + jobs.time[np.arange(inst.n_jobs), inst.gpu_type[gpu]])
