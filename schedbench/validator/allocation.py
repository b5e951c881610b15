"""Validator for the ``allocation`` class (fractional time shares per GPU type, as in Gavel).

Solution: ``{"problem": "allocation", "allocation": {"<job>": {"<gpu type>": fraction}}}``; a job
or type left out has fraction 0.

Constraints: fractions >= 0; per job, the fractions sum to <= 1; a job has no share of a type it
is not eligible for, nor of a type with fewer GPUs than its gang; per type, the sum over jobs of
``gang * fraction`` is <= the number of GPUs of that type (tolerance 1e-6 relative).

Throughput of job j on type t: ``throughput[j, t]`` when the instance has it, else
``1 / time[j, t]`` (the job's rate of progress); only ratios matter below.
Equal share: every job gets the same fraction ``c * N_t / N`` of every type t (N_t GPUs of type t,
N in all) with ``c = min(1, N / sum_j gang_j)``, the largest c that is feasible; the equal-share
throughput of j is ``sum_t thr[j, t] * c * N_t / N`` over its eligible types.
Normalised throughput ``rho_j`` = throughput under the allocation / equal-share throughput.
Objectives: ``max-min-fairness`` = min_j rho_j; ``max-throughput`` = sum_j rho_j;
``proportional-fairness`` = sum_j log(rho_j) (-inf, reported as None, when a job gets nothing).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from schedbench.errors import DataError, describe
from schedbench.instances.model import Instance
from schedbench.validator.bounds import usable_types
from schedbench.validator.common import as_number, parse_job_keys
from schedbench.validator.result import Violations

#: Tolerance on shares (LP and conic solvers return values within ~1e-8 of their bounds).
SHARE_TOL = 1e-6


def throughput_matrix(inst: Instance) -> np.ndarray:
    """``(n, T)`` throughput, 0 where ineligible."""
    jobs = inst.jobs
    if jobs.throughput is not None:
        thr = jobs.throughput
    else:
        assert jobs.time is not None
        thr = 1.0 / jobs.time
    return np.where(jobs.eligible, np.nan_to_num(thr, nan=0.0), 0.0)


def allocation_objective(inst: Instance, x: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Per job its normalised throughput ``rho`` (achieved with the non-negative part of the ``(n, T)``
    shares ``x``, over its equal-share throughput; 0 where that is 0) and the instance's objective
    value: ``min rho`` (max-min-fairness), ``sum rho`` (max-throughput) or ``sum log rho``
    (proportional-fairness; None when some ``rho`` is 0). 0.0 for no jobs."""
    achieved = (np.clip(x, 0.0, None) * throughput_matrix(inst)).sum(axis=1)
    eq = equal_share_throughput(inst)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(eq > 0, achieved / eq, 0.0)
    objective = inst.problem.objective
    value: float | None
    if len(rho) == 0:
        value = 0.0
    elif objective == "max-min-fairness":
        value = float(rho.min())
    elif objective == "max-throughput":
        value = float(rho.sum())
    else:
        value = float(np.log(rho).sum()) if (rho > 0).all() else None
    return rho, value


def equal_share_throughput(inst: Instance) -> np.ndarray:
    """Each job's throughput under the equal share defined in the module docstring, ``(n,)``."""
    counts = inst.gpus_per_type.astype(np.float64)
    N = counts.sum()
    total_gang = float(inst.jobs.gang.sum())
    c = min(1.0, N / total_gang) if total_gang > 0 else 1.0
    return throughput_matrix(inst) @ (c * counts / N)


def validate_allocation(inst: Instance, body: Any, file: str, viol: Violations) -> tuple[float | None, dict]:
    """Check an allocation; return (objective, metrics). Violations go to ``viol``."""
    if not isinstance(body, dict):
        raise DataError(file, "$.allocation", "an object mapping job ids to {gpu type: fraction}", describe(body))
    jobs = inst.jobs
    n, T = len(jobs), len(inst.gpu_types)
    x = np.zeros((n, T))
    tindex = inst.type_index
    for j, shares in parse_job_keys(body, inst, viol, "allocation"):
        path = f"$.allocation.{jobs.ids[j]}"
        if not isinstance(shares, dict):
            raise DataError(file, path, "an object mapping GPU type ids to fractions", describe(shares))
        for dup in getattr(shares, "duplicates", ()):
            viol.add("duplicate-type", f"job {jobs.ids[j]!r} lists GPU type {dup!r} more than once", job=jobs.ids[j])
        for tid, frac in shares.items():
            value = as_number(frac)
            if value is None:
                raise DataError(file, f"{path}.{tid}", "a finite number (time fraction)", describe(frac))
            t = tindex.get(tid)
            if t is None:
                viol.add(
                    "unknown-type", f"job {jobs.ids[j]!r} has a share of unknown GPU type {tid!r}", job=jobs.ids[j]
                )
                continue
            x[j, t] = value
    ids, types = jobs.ids, inst.type_ids
    neg = np.argwhere(x < -SHARE_TOL)
    viol.add_many(
        "negative-share",
        neg.tolist(),
        lambda jt: (
            f"job {ids[jt[0]]!r} has negative share {x[jt[0], jt[1]]:.6g} of type {types[jt[1]]!r}",
            ids[jt[0]],
            None,
        ),
    )
    counts = inst.gpus_per_type
    blocked = (~jobs.eligible) | (counts[None, :] < jobs.gang[:, None])
    inel = np.argwhere(blocked & (x > SHARE_TOL))
    viol.add_many(
        "ineligible-type",
        inel.tolist(),
        lambda jt: (
            f"job {ids[jt[0]]!r} has share {x[jt[0], jt[1]]:.6g} of type {types[jt[1]]!r}, which it cannot use",
            ids[jt[0]],
            None,
        ),
    )
    total = x.sum(axis=1)
    over = np.flatnonzero(total > 1 + SHARE_TOL)
    viol.add_many(
        "job-share", over.tolist(), lambda j: (f"job {ids[j]!r} has shares summing to {total[j]:.9g} > 1", ids[j], None)
    )
    used = jobs.gang.astype(np.float64) @ x
    full = np.flatnonzero(used > counts * (1 + SHARE_TOL) + SHARE_TOL)
    for t in full.tolist():
        viol.add(
            "type-capacity", f"GPU type {types[t]!r}: gang-weighted shares sum to {used[t]:.9g} > {int(counts[t])} GPUs"
        )
    rho, value = allocation_objective(inst, x)
    metrics = {
        "min_normalised_throughput": float(rho.min()) if n else None,
        "mean_normalised_throughput": float(rho.mean()) if n else None,
        "type_utilisation": {types[t]: float(used[t] / counts[t]) if counts[t] else 0.0 for t in range(T)},
    }
    return value, metrics


def allocation_bounds(inst: Instance) -> dict[str, float]:
    """Cheap upper bounds from each job's best normalised throughput alone (the whole of its best
    usable type): its minimum (``max-min-fairness``), sum (``max-throughput``) or sum of logs
    (``proportional-fairness``; -inf when some job can run nowhere)."""
    obj = inst.problem.objective
    thr = np.where(usable_types(inst), throughput_matrix(inst), 0.0)
    eq = equal_share_throughput(inst)
    with np.errstate(divide="ignore", invalid="ignore"):
        best = np.where(eq > 0, thr.max(axis=1) / eq, 0.0)
    if obj == "max-min-fairness":
        return {"upper_bound": float(best.min())}
    if obj == "max-throughput":
        return {"upper_bound": float(best.sum())}
    if obj == "proportional-fairness":
        return {"upper_bound": float(np.log(best).sum()) if (best > 0).all() else -math.inf}
    return {}
