"""Validator for the ``placement`` class (space sharing, one snapshot).

Solution: ``{"problem": "placement", "assignment": {"<job>": ["<gpu>", ...] | null}}``; a job
omitted, ``null`` or ``[]`` is unplaced.

Constraints: every listed GPU exists; a placed job gets exactly ``gang`` distinct GPUs, all of one
type, on one node unless ``allow_multi_node``, of a type it is eligible for; per GPU and resource
dimension the summed demand fits the capacity (tolerance 1e-9 relative + 1e-9 absolute);
``min-cost`` and ``min-gpus`` require every job placed.

Objectives: ``min-cost`` = sum of ``cost[j, type]`` over jobs; ``min-gpus`` = number of GPUs
running at least one job (``measure=cost``: the sum of their types' ``cost_per_hour``);
``max-weight`` = total weight of placed jobs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedbench.errors import DataError, describe
from schedbench.instances.model import Instance
from schedbench.validator.bounds import row_min, usable_types
from schedbench.validator.common import ATOL, RTOL, gpu_id_list, gpu_lists, parse_job_keys
from schedbench.validator.result import Violations


def validate_placement(inst: Instance, body: Any, file: str, viol: Violations) -> tuple[float | None, dict]:
    """Check an assignment; return (objective, metrics). Violations go to ``viol``."""
    if not isinstance(body, dict):
        raise DataError(file, "$.assignment", "an object mapping job ids to GPU id arrays", describe(body))
    jobs_idx: list[int] = []
    lists: list[list[str]] = []
    for j, entry in parse_job_keys(body, inst, viol, "assignment"):
        if entry is None:
            continue
        gl = gpu_id_list(entry, file, f"$.assignment.{inst.jobs.ids[j]}")
        if gl:
            jobs_idx.append(j)
            lists.append(gl)
    gangs = gpu_lists(inst, jobs_idx, lists, viol)
    jobs = inst.jobs
    n = len(jobs)
    placed = np.zeros(n, dtype=bool)
    placed[gangs.entry_job] = True
    # capacity: demand of each pair on its GPU's type
    pj = gangs.entry_job[gangs.pair_entry]
    ptype = inst.gpu_type[gangs.pair_gpu]
    G, R = inst.n_gpus, len(inst.resources)
    load = np.zeros((G, R))
    if len(pj):
        dem = jobs.demand[pj, ptype]  # NaN where ineligible: already reported, count as 0
        np.add.at(load, gangs.pair_gpu, np.nan_to_num(dem, nan=0.0))
    cap = inst.gpu_capacity
    over = np.argwhere(load > cap * (1 + RTOL) + ATOL)

    def explain(gr: list[int]) -> tuple[str, None, str]:
        g, r = gr
        gid = inst.gpu_ids[g]
        on = sorted({jobs.ids[j] for j in pj[gangs.pair_gpu == g].tolist()})
        shown = ", ".join(on[:8]) + (", ..." if len(on) > 8 else "")
        return (
            f"GPU {gid!r} {inst.resource_ids[r]}: demand {load[g, r]:.6g} exceeds capacity {cap[g, r]:.6g} "
            f"(jobs {shown})",
            None,
            gid,
        )

    viol.add_many("capacity", over.tolist(), explain)
    objective = inst.problem.objective
    if objective in ("min-cost", "min-gpus"):
        viol.add_many(
            "unplaced",
            np.flatnonzero(~placed).tolist(),
            lambda j: (f"job {jobs.ids[j]!r} is not placed ({objective} requires every job placed)", jobs.ids[j], None),
        )
    used = np.zeros(G, dtype=bool)
    used[gangs.pair_gpu] = True
    metrics: dict[str, Any] = {
        "placed_jobs": int(placed.sum()),
        "unplaced_jobs": int(n - placed.sum()),
        "gpus_used": int(used.sum()),
    }
    value: float | None = placement_objective(inst, gangs.entry_job, gangs.entry_type, used)
    if objective == "min-cost" and not placed.all():
        value = None
    return value, metrics


def gpu_type_prices(inst: Instance) -> np.ndarray:
    """``(T,)``: each GPU type's ``cost_per_hour``, NaN where the instance gives none (the loader
    requires every price for ``min-gpus`` with ``measure=cost``)."""
    return np.array([np.nan if t.cost_per_hour is None else t.cost_per_hour for t in inst.gpu_types], dtype=np.float64)


def placement_objective(inst: Instance, job: np.ndarray, job_type: np.ndarray, used: np.ndarray) -> float:
    """The objective of a placement, as :func:`validate_placement` computes it.

    Args:
        inst: the instance.
        job: job index of each placed entry ``(E,)`` (each job at most once).
        job_type: GPU type index of each entry ``(E,)``; -1 where unknown (left out of ``min-cost``).
        used: ``(G,)`` bool, the GPUs running at least one job.

    Returns:
        ``min-cost``: the sum of ``cost[job, type]`` (NaN costs skipped; whether every job is placed
        is the caller's check); ``min-gpus``: the number of used GPUs, or with ``measure=cost`` the sum
        of their types' prices; ``max-weight``: the total weight of the placed jobs.
    """
    jobs = inst.jobs
    objective = inst.problem.objective
    if objective == "min-cost":
        assert jobs.cost is not None
        ok = job_type >= 0
        return float(np.nansum(jobs.cost[job[ok], job_type[ok]]))
    if objective == "min-gpus":
        if inst.problem.params.get("measure") == "cost":
            return float(gpu_type_prices(inst)[inst.gpu_type[used]].sum())
        return float(used.sum())
    placed = np.zeros(len(jobs), dtype=bool)  # max-weight
    placed[job] = True
    return float(jobs.weight[placed].sum())


def placement_bounds(inst: Instance) -> dict[str, float]:
    """Cheap bounds: ``min-cost`` >= the sum of each job's cheapest usable cost; ``min-gpus`` >= the
    largest gang and, per resource, the total cheapest-type demand over the largest GPU capacity
    (times the cheapest price with ``measure=cost``); ``max-weight`` <= the weight of the jobs that
    can run somewhere."""
    jobs = inst.jobs
    obj = inst.problem.objective
    use = usable_types(inst)
    if obj == "min-cost":
        assert jobs.cost is not None
        return {"lower_bound": float(row_min(jobs.cost, use).sum())}
    if obj == "min-gpus":
        # per resource: total (cheapest-type) demand over the largest GPU's capacity
        cap = inst.type_capacity.max(axis=0)
        dem = np.where(use[:, :, None], np.nan_to_num(jobs.demand, nan=np.inf), np.inf).min(axis=1)
        total = (dem * jobs.gang[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_r = np.where(cap > 0, total / cap, np.where(total > 0, np.inf, 0.0))
        count = max(float(jobs.gang.max()), float(np.ceil(per_r.max() - 1e-9)))
        if inst.problem.params.get("measure") == "cost":
            # the validator's prices; a missing one counted 0 keeps the lower bound valid
            prices = np.nan_to_num(gpu_type_prices(inst), nan=0.0)
            return {"lower_bound": count * float(prices.min())}
        return {"lower_bound": count}
    if obj == "max-weight":
        return {"upper_bound": float(jobs.weight[use.any(axis=1)].sum())}
    return {}
