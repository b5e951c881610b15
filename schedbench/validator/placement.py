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
from schedbench.validator.common import ATOL, RTOL, gpu_id_list, gpu_lists, parse_job_keys
from schedbench.validator.result import Violations


def validate_placement(inst: Instance, body: Any, file: str, viol: Violations) -> tuple[float | None, dict]:
    """Check an assignment; return (objective, metrics). Violations go to ``viol``."""
    if not isinstance(body, dict):
        raise DataError(file, "$.assignment", "an object mapping job ids to GPU id arrays", describe(body))
    jobs_idx: list[int] = []
    lists: list[list[str]] = []
    for j, value in parse_job_keys(body, inst, viol, "assignment"):
        if value is None:
            continue
        gl = gpu_id_list(value, file, f"$.assignment.{inst.jobs.ids[j]}")
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
        return (f"GPU {gid!r} {inst.resource_ids[r]}: demand {load[g, r]:.6g} exceeds capacity {cap[g, r]:.6g} "
                f"(jobs {shown})", None, gid)

    viol.add_many("capacity", over.tolist(), explain)
    objective = inst.problem.objective
    if objective in ("min-cost", "min-gpus"):
        viol.add_many("unplaced", np.flatnonzero(~placed).tolist(), lambda j: (
            f"job {jobs.ids[j]!r} is not placed ({objective} requires every job placed)", jobs.ids[j], None))
    used = np.zeros(G, dtype=bool)
    used[gangs.pair_gpu] = True
    metrics: dict[str, Any] = {
        "placed_jobs": int(placed.sum()),
        "unplaced_jobs": int(n - placed.sum()),
        "gpus_used": int(used.sum()),
    }
    value: float | None
    if objective == "min-cost":
        assert jobs.cost is not None
        t = gangs.entry_type
        ok = t >= 0
        costs = jobs.cost[gangs.entry_job[ok], t[ok]]
        value = float(np.nansum(costs)) if placed.all() else None
    elif objective == "min-gpus":
        if inst.problem.params.get("measure") == "cost":
            prices = np.array([np.nan if t.cost_per_hour is None else t.cost_per_hour for t in inst.gpu_types])
            value = float(prices[inst.gpu_type[used]].sum())
        else:
            value = float(used.sum())
    else:  # max-weight
        value = float(jobs.weight[placed].sum())
    return value, metrics
