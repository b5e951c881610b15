"""Validator for the ``batch`` class (time sharing, non-preemptive, jobs known up front).

Solution: ``{"problem": "batch", "schedule": {"<job>": {"gpus": ["<gpu>", ...], "start": s}}}``.

Constraints: every job scheduled exactly once; gang checks as for placement; the job's per-GPU
demand fits its GPUs' capacity; ``start >= release``; on each GPU the intervals
``[start, start + time[j, type])`` do not overlap (times compared with 1e-6 s absolute and 1e-9
relative tolerance).

Objectives, with ``C_j = start_j + time[j, type_j]``: ``makespan`` = max C_j;
``weighted-completion`` = sum w_j C_j; ``weighted-tardiness`` = sum w_j max(0, C_j - d_j) (jobs
without a deadline are never tardy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedbench.errors import DataError, describe
from schedbench.instances.model import Instance
from schedbench.validator.bounds import row_min, usable_types
from schedbench.validator.common import ATOL, RTOL, TIME_ATOL, as_number, gpu_id_list, gpu_lists, parse_job_keys
from schedbench.validator.result import Violations


def validate_batch(inst: Instance, body: Any, file: str, viol: Violations) -> tuple[float | None, dict]:
    """Check a schedule; return (objective, metrics). Violations go to ``viol``."""
    if not isinstance(body, dict):
        raise DataError(file, "$.schedule", "an object mapping job ids to {gpus, start}", describe(body))
    jobs = inst.jobs
    jobs_idx: list[int] = []
    lists: list[list[str]] = []
    starts: list[float] = []
    for j, entry in parse_job_keys(body, inst, viol, "schedule"):
        path = f"$.schedule.{jobs.ids[j]}"
        if type(entry) is not dict or "gpus" not in entry or "start" not in entry:
            raise DataError(file, path, "an object with fields 'gpus' and 'start'", describe(entry))
        begin = as_number(entry["start"])
        if begin is None:
            raise DataError(file, f"{path}.start", "a finite number (seconds)", describe(entry["start"]))
        jobs_idx.append(j)
        lists.append(gpu_id_list(entry["gpus"], file, f"{path}.gpus"))
        starts.append(begin)
    gangs = gpu_lists(inst, jobs_idx, lists, viol)
    ej = gangs.entry_job
    et = gangs.entry_type
    start = np.asarray(starts, dtype=np.float64)
    n = len(jobs)
    scheduled = np.zeros(n, dtype=bool)
    scheduled[ej] = True
    viol.add_many(
        "unscheduled",
        np.flatnonzero(~scheduled).tolist(),
        lambda j: (f"job {jobs.ids[j]!r} is not scheduled", jobs.ids[j], None),
    )
    usable = gangs.entry_ok & (et >= 0)
    # demand fits the GPU type's capacity
    E = len(ej)
    u = np.flatnonzero(usable)
    too_big = (jobs.demand[ej[u], et[u]] > inst.type_capacity[et[u]] * (1 + RTOL) + ATOL).any(axis=1)

    def explain_capacity(e: int) -> tuple[str, str, None]:
        r = int(np.argmax(jobs.demand[ej[e], et[e]] - inst.type_capacity[et[e]]))
        return (
            f"job {jobs.ids[ej[e]]!r} needs {jobs.demand[ej[e], et[e], r]:.6g} {inst.resource_ids[r]} "
            f"per GPU but type {inst.type_ids[et[e]]!r} has {inst.type_capacity[et[e], r]:.6g}",
            jobs.ids[ej[e]],
            None,
        )

    viol.add_many("capacity", u[too_big].tolist(), explain_capacity)
    # release
    early = np.flatnonzero(start < jobs.release[ej] - TIME_ATOL)
    viol.add_many(
        "release",
        early.tolist(),
        lambda e: (
            f"job {jobs.ids[ej[e]]!r} starts at {start[e]:.9g} before its release {jobs.release[ej[e]]:.9g}",
            jobs.ids[ej[e]],
            None,
        ),
    )
    # durations and completion (entries with an unusable type get no duration)
    assert jobs.time is not None
    dur = np.full(E, np.nan)
    dur[usable] = jobs.time[ej[usable], et[usable]]
    end = start + dur
    # overlaps per GPU, on pairs of usable entries
    keep = usable[gangs.pair_entry]
    pe = gangs.pair_entry[keep]
    pg = gangs.pair_gpu[keep]
    ps, pend = start[pe], end[pe]
    order = np.lexsort((ps, pg))
    pg, pe, ps, pend = pg[order], pe[order], ps[order], pend[order]
    clash = np.flatnonzero((pg[1:] == pg[:-1]) & (ps[1:] < pend[:-1] - (TIME_ATOL + RTOL * np.abs(pend[:-1]))))

    def explain_overlap(k: int) -> tuple[str, str, str]:
        a, b = int(pe[k]), int(pe[k + 1])
        gid = inst.gpu_ids[pg[k]]
        return (
            f"GPU {gid!r}: job {jobs.ids[ej[b]]!r} starts at {ps[k + 1]:.9g} while job "
            f"{jobs.ids[ej[a]]!r} runs until {pend[k]:.9g}",
            jobs.ids[ej[b]],
            gid,
        )

    viol.add_many("overlap", clash.tolist(), explain_overlap)
    complete = scheduled.all() and usable.all()
    metrics: dict[str, Any] = {"scheduled_jobs": int(scheduled.sum())}
    if not complete:
        return None, metrics
    C = np.empty(n)
    C[ej] = end
    value = batch_objective(inst, C)
    if inst.problem.objective == "weighted-tardiness":
        metrics["tardy_jobs"] = int((_lateness(inst, C) > 0).sum())
    metrics["makespan"] = float(C.max()) if n else 0.0
    metrics["total_completion"] = float(C.sum())
    return value, metrics


def _lateness(inst: Instance, completion: np.ndarray) -> np.ndarray:
    """Per job ``max(0, C_j - d_j)``; 0 for jobs without a deadline."""
    n = len(inst.jobs)
    d = inst.jobs.deadline if inst.jobs.deadline is not None else np.full(n, np.nan)
    return np.where(np.isnan(d), 0.0, np.maximum(0.0, completion - np.nan_to_num(d)))


def batch_objective(inst: Instance, completion: np.ndarray) -> float:
    """The objective of a complete schedule from each job's completion time ``(n,)``, as
    :func:`validate_batch` computes it: ``makespan`` = max C_j (0 without jobs); ``weighted-completion``
    = sum w_j C_j; ``weighted-tardiness`` = sum w_j max(0, C_j - d_j)."""
    objective = inst.problem.objective
    if objective == "makespan":
        return float(completion.max()) if len(completion) else 0.0
    if objective == "weighted-completion":
        return float(np.dot(inst.jobs.weight, completion))
    return float(np.dot(inst.jobs.weight, _lateness(inst, completion)))


def batch_bounds(inst: Instance) -> dict[str, float]:
    """Cheap lower bounds from each job's earliest completion ``release + fastest usable time``:
    ``makespan`` >= max(latest earliest completion, first release + total gang-weighted work / GPUs);
    ``weighted-completion`` >= sum w_j x earliest completion; ``weighted-tardiness`` >= sum w_j x
    its lateness at the earliest completion."""
    jobs = inst.jobs
    obj = inst.problem.objective
    assert jobs.time is not None
    pmin = row_min(jobs.time, usable_types(inst))
    earliest = jobs.release + pmin
    if obj == "makespan":
        work = float((jobs.gang * pmin).sum())
        return {"lower_bound": float(max(earliest.max(), jobs.release.min() + work / inst.n_gpus))}
    if obj == "weighted-completion":
        return {"lower_bound": float(np.dot(jobs.weight, earliest))}
    if obj == "weighted-tardiness":
        if jobs.deadline is None:
            return {"lower_bound": 0.0}
        late = np.where(np.isnan(jobs.deadline), 0.0, np.maximum(0.0, earliest - np.nan_to_num(jobs.deadline)))
        return {"lower_bound": float(np.dot(jobs.weight, late))}
    return {}
