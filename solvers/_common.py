"""Helpers shared by the built-in solvers: gang groups, capacity checks, solution documents.

A *gang group* is a set of GPUs from which one gang may be drawn: the GPUs of one node (all of one
type), or, when the problem's ``allow_multi_node`` is true, all GPUs of one type. Nothing here
modifies the instance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from schedbench.instances.model import Instance

#: Slack allowed when checking that demands fit: half the validator's tolerance (1e-9 relative +
#: 1e-9 absolute), so that sums computed in another order still pass.
FIT_RTOL = 5e-10
FIT_ATOL = 5e-10

#: Placement objectives that require every job placed.
ALL_JOBS_OBJECTIVES = ("min-cost", "min-gpus")


def multi_node(inst: Instance) -> bool:
    return bool(inst.problem.params.get("allow_multi_node", False))


def gang_groups(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per GPU its gang group ``(G,)``; per group its GPU type ``(K,)`` and size ``(K,)``."""
    if multi_node(inst):
        group = inst.gpu_type.copy()
        K = len(inst.gpu_types)
        group_type = np.arange(K, dtype=np.int64)
    else:
        group = inst.gpu_node.copy()
        K = len(inst.nodes)
        group_type = np.asarray([inst.type_index[nd.gpu_type] for nd in inst.nodes], dtype=np.int64).reshape(K)
    size = np.bincount(group, minlength=K).astype(np.int64)
    return group, group_type, size


def fits_capacity(load: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """``load <= cap`` within :data:`FIT_RTOL`/:data:`FIT_ATOL`, over the last axis (NaN never fits)."""
    return (load <= cap * (1 + FIT_RTOL) + FIT_ATOL).all(axis=-1)


def usable_types(inst: Instance, *, need_time: bool = False) -> np.ndarray:
    """``(n, T)``: the job is eligible for the type, its per-GPU demand fits the type's capacity, and
    some gang group of the type has at least ``gang`` GPUs (and, with ``need_time``, its time is a
    positive finite number)."""
    jobs = inst.jobs
    _, group_type, size = gang_groups(inst)
    T = len(inst.gpu_types)
    biggest = np.zeros(T, dtype=np.int64)
    np.maximum.at(biggest, group_type, size)
    ok = jobs.eligible & fits_capacity(np.nan_to_num(jobs.demand, nan=np.inf), inst.type_capacity[None, :, :])
    ok &= biggest[None, :] >= jobs.gang[:, None]
    if need_time:
        if jobs.time is None:
            return np.zeros_like(ok)
        t = np.nan_to_num(jobs.time, nan=np.inf)
        ok &= np.isfinite(t) & (t > 0)
    return ok


def usable_groups(inst: Instance, usable: np.ndarray, j: int) -> np.ndarray:
    """Gang groups that can host job ``j`` alone (its type usable, at least ``gang`` GPUs)."""
    _, group_type, size = gang_groups(inst)
    return np.flatnonzero(usable[j, group_type] & (size >= inst.jobs.gang[j]))


def normalised_size(inst: Instance) -> np.ndarray:
    """Per job ``gang x`` its smallest per-GPU footprint: the minimum over eligible types of the
    largest demand/capacity ratio over resources. ``(n,)``, NaN-free (jobs with no eligible type: inf)."""
    cap = inst.type_capacity
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = inst.jobs.demand / np.where(cap > 0, cap, np.nan)[None, :, :]
    ratio = np.where(np.isnan(ratio), np.where(np.isnan(inst.jobs.demand), np.inf, 0.0), ratio)
    per_type = ratio.max(axis=2) if ratio.shape[2] else np.zeros(ratio.shape[:2])
    per_type = np.where(inst.jobs.eligible, per_type, np.inf)
    best = per_type.min(axis=1) if per_type.shape[1] else np.full(len(inst.jobs), np.inf)
    return inst.jobs.gang * best


def placement_doc(inst: Instance, chosen: list[np.ndarray | None]) -> dict[str, Any]:
    """A placement solution: job id -> GPU ids (``None`` for unplaced jobs)."""
    ids, gpus = inst.jobs.ids, inst.gpu_ids
    return {"problem": "placement",
            "assignment": {ids[j]: (None if g is None else [gpus[k] for k in g.tolist()])
                           for j, g in enumerate(chosen)}}


def unplaceable_alone(inst: Instance) -> list[int]:
    """Jobs that cannot be placed even on an empty cluster (every all-jobs answer is then infeasible)."""
    return np.flatnonzero(~usable_types(inst).any(axis=1)).tolist()


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
