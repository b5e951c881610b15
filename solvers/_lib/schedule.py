"""Batch building blocks: job orders, list scheduling on the earliest-completing gang, left shifting.

Used by the list-scheduling plugins (``list-ect``, ``wspt``, ``edd``), to seed ``sa``, ``ga`` and
``cpsat``, and by the MIP decoders. A schedule is, per job, its GPU indices and its start time;
completion is ``start + time[j, type]``. Deterministic: ties go to the lowest index.
"""

from __future__ import annotations

import numpy as np

from schedbench.instances.gangs import gang_groups, usable_types
from schedbench.instances.model import Instance
from schedbench.plugins.solver import SolveResult

from .documents import batch_doc
from .packing import sort_by_group


def best_time(inst: Instance) -> np.ndarray:
    """Per job the smallest processing time over its usable types (inf if none)."""
    time = inst.jobs.time
    if time is None:
        return np.full(inst.n_jobs, np.inf)
    usable = usable_types(inst, need_time=True)
    t = np.where(usable, np.nan_to_num(time, nan=np.inf), np.inf)
    return t.min(axis=1) if t.shape[1] else np.full(inst.n_jobs, np.inf)


def batch_order(inst: Instance, rule: str) -> np.ndarray:
    """Job order by ``rule``: ``lpt`` (decreasing :func:`best_time`), ``wspt`` (decreasing weight
    per best time, then shorter first) or ``edd`` (earliest deadline, no deadline last, then
    shorter first); ties by index."""
    jobs = inst.jobs
    p = best_time(inst)
    idx = np.arange(inst.n_jobs)
    if rule == "lpt":
        return np.lexsort((idx, -p))
    if rule == "wspt":
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(p > 0, jobs.weight / p, np.inf)
        return np.lexsort((idx, p, -ratio))
    d = jobs.deadline if jobs.deadline is not None else np.full(inst.n_jobs, np.nan)
    return np.lexsort((idx, p, np.nan_to_num(d, nan=np.inf)))  # edd, no deadline last


def list_schedule(inst: Instance, order: np.ndarray) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Each job in ``order`` on the gang (one gang group) with the earliest completion, started at
    ``max(release, the gang's free time)``; (GPUs per job, starts) or None when some job has no
    usable gang group."""
    jobs = inst.jobs
    G = inst.n_gpus
    group, group_type, size = gang_groups(inst)
    usable = usable_types(inst, need_time=True)
    options = usable[:, group_type] & (size[None, :] >= jobs.gang[:, None])  # (n, K)
    if inst.n_jobs and not options.any(axis=1).all():
        return None
    assert jobs.time is not None or inst.n_jobs == 0
    gtype = inst.gpu_type
    free = np.zeros(G)
    gpus: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * inst.n_jobs
    start = np.zeros(inst.n_jobs)
    gidx = np.arange(G)
    for j in order.tolist():
        assert jobs.time is not None
        gang = int(jobs.gang[j])
        rel = float(jobs.release[j])
        tj = np.nan_to_num(jobs.time[j], nan=np.inf)
        ok_gpu = options[j][group]
        if gang == 1:
            comp = np.where(ok_gpu, np.maximum(free, rel) + tj[gtype], np.inf)
            g = int(np.argmin(comp))
            pick = np.array([g])
            s = max(rel, float(free[g]))
        else:
            cand = gidx[ok_gpu]
            srt, sg, rank = sort_by_group(cand, free[cand], group)
            at = rank == gang - 1  # the gang-th earliest free GPU of each group
            kk = sg[at]
            ready = np.maximum(free[cand[srt[at]]], rel)
            comp = ready + tj[group_type[kk]]
            best = int(np.argmin(comp))
            k = kk[best]
            pick = np.sort(cand[srt[(sg == k) & (rank < gang)]])
            s = float(ready[best])
        free[pick] = s + float(tj[gtype[pick[0]]])
        gpus[j] = pick
        start[j] = s
    return gpus, start


def left_shift(inst: Instance, gpus: list[np.ndarray], order: np.ndarray) -> np.ndarray:
    """Starts of the jobs in ``order``, each at ``max(release, the latest end on its GPUs)`` with the
    instance's own processing times (jobs not in ``order`` keep start 0). Every GPU keeps its job
    sequence; no completion time grows compared with any schedule that respects ``order`` per GPU
    and the releases (regular objectives never get worse)."""
    jobs = inst.jobs
    assert jobs.time is not None
    free = np.zeros(inst.n_gpus)
    start = np.zeros(inst.n_jobs)
    for j in order.tolist():
        g = gpus[j]
        s = max(float(jobs.release[j]), float(free[g].max()))
        start[j] = s
        free[g] = s + float(jobs.time[j, inst.gpu_type[g[0]]])
    return start


def heuristic_schedule(inst: Instance, rule: str) -> SolveResult:
    """The answer of the list-scheduling heuristics (``list-ect``: ``rule='lpt'``, ``wspt``, ``edd``):
    :func:`list_schedule` in :func:`batch_order`, ``feasible``; or ``infeasible`` (no solution, the
    reason naming a few jobs) when some job has no usable gang group."""
    out = list_schedule(inst, batch_order(inst, rule))
    if out is None:
        stuck = np.flatnonzero(~np.isfinite(best_time(inst))).tolist()
        return SolveResult(
            None,
            "infeasible",
            info={
                "reason": f"{len(stuck)} job(s) have no usable gang group, e.g. {[inst.jobs.ids[j] for j in stuck[:5]]}"
            },
        )
    return SolveResult(batch_doc(inst, *out), "feasible")
