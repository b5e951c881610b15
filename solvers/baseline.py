"""A seeded random-feasible baseline for every class: the floor any real solver should beat.

All randomness comes from ``numpy.random.default_rng(context.seed)``, so a fixed seed gives the
same answer. Per class:

* ``placement``: jobs in random order; each goes to a random gang group (a node, or a GPU type with
  ``allow_multi_node``) where at least ``gang`` GPUs still have room for it, on a random ``gang``
  of those GPUs; a job with no such group is left unplaced. For ``min-cost``/``min-gpus`` (every
  job placed) up to ``attempts`` attempts are made, each next order putting the jobs the last
  attempt left unplaced first (shuffled; "squeaky wheel"); the first complete one is returned, else
  the attempt with the fewest unplaced jobs with status ``unknown`` (the validator marks it
  infeasible).
* ``batch``: jobs in random order; each on a random gang group of a type it is eligible for, whose
  capacity its per-GPU demand fits and which has at least ``gang`` GPUs, on the ``gang`` GPUs of
  that group that are free first, started at ``max(release, when those GPUs are free)``. Always
  feasible.
* ``allocation``: per job a random split (Dirichlet(1)) of a whole unit of time over the types it
  may use (eligible, with at least ``gang`` GPUs), then each type's column scaled down so that its
  gang-weighted sum fits its GPU count. Always feasible.
* ``online``: first come, first served over releases (equal releases in random order), without
  backfilling (a job never starts before an earlier arrival) or preemption; each job on a random
  usable gang group, on its ``gang`` GPUs that are free first, holding them exclusively from
  ``start`` to ``start + time``. Always feasible.

When some job has no usable option at all (no eligible type whose capacity fits its demand with a
node of ``gang`` GPUs), every answer that must include it is infeasible: the solver returns status
``infeasible`` without a solution, except in ``online`` with ``allow_rejection``, where the job is
rejected at its release, and in ``placement``/``max-weight``, where it is simply not placed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult
from schedbench.validator.common import BODY_KEY

from ._common import (
    ALL_JOBS_OBJECTIVES,
    FIT_ATOL,
    FIT_RTOL,
    gang_groups,
    placement_doc,
    unplaceable_alone,
    usable_types,
)


def _infeasible(inst: Instance, jobs: list[int], what: str) -> SolveResult:
    ids = [inst.jobs.ids[j] for j in jobs[:5]]
    return SolveResult(None, "infeasible", info={
        "reason": f"{len(jobs)} job(s) have no usable GPU group ({what}), e.g. {ids}"})


def _random_placement(inst: Instance, order: list[int], rng: np.random.Generator) -> list[np.ndarray | None]:
    """Place jobs in ``order``, each on a random gang of GPUs with room in a random gang group."""
    jobs = inst.jobs
    G, R = inst.n_gpus, len(inst.resources)
    gtype = inst.gpu_type
    group, group_type, _ = gang_groups(inst)
    K = len(group_type)
    limit = np.ascontiguousarray(inst.gpu_capacity.T) * (1 + FIT_RTOL) + FIT_ATOL  # (R, G)
    load = np.zeros((R, G))
    chosen: list[np.ndarray | None] = [None] * inst.n_jobs
    for j in order:
        dem_t = jobs.demand[j].T
        dem = np.empty((R, G))
        fit = np.ones(G, dtype=bool)
        for r in range(R):
            dem[r] = dem_t[r][gtype]
            fit &= load[r] + dem[r] <= limit[r]
        gang = int(jobs.gang[j])
        ok = np.flatnonzero(np.bincount(group[fit], minlength=K) >= gang)
        if not len(ok):
            continue
        k = ok[rng.integers(len(ok))]
        members = np.flatnonzero(fit & (group == k))
        pick = np.sort(rng.choice(members, size=gang, replace=False))
        load[:, pick] += dem[:, pick]
        chosen[j] = pick
    return chosen


def _earliest(free: np.ndarray, members: np.ndarray, gang: int, rng: np.random.Generator) -> np.ndarray:
    """The ``gang`` members free first (ties in random order)."""
    shuffled = members[rng.permutation(len(members))]
    return np.sort(shuffled[np.argsort(free[shuffled], kind="stable")[:gang]])


class RandomFeasible(Solver):
    """Seeded random-feasible baseline for every class and objective."""

    name = "random-feasible"
    family = "baseline"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {
        "placement": ("min-cost", "min-gpus", "max-weight"),
        "batch": ("makespan", "weighted-completion", "weighted-tardiness"),
        "allocation": ("max-min-fairness", "max-throughput", "proportional-fairness"),
        "online": ("mean-jct", "p99-jct", "makespan", "mean-bounded-slowdown", "deadline-miss-rate", "max-ftf"),
    }
    params = (Param("attempts", int, 20, "placement min-cost/min-gpus: random orders tried until every job is "
                    "placed", minimum=1),)
    deterministic = True
    description = "seeded random feasible answer, every class (the floor to beat)"

    def solve(self, instance: Instance, context: Context) -> SolveResult | dict[str, Any]:
        rng = np.random.default_rng(context.seed)
        cls = instance.problem.cls
        if cls == "placement":
            return self._placement(instance, context, rng)
        if cls == "allocation":
            return self._allocation(instance, rng)
        usable = usable_types(instance, need_time=True)
        if cls == "batch":
            return self._batch(instance, usable, rng)
        return self._online(instance, usable, rng)

    # ------------------------------------------------------------------ placement
    def _placement(self, inst: Instance, context: Context, rng: np.random.Generator) -> SolveResult:
        all_jobs = inst.problem.objective in ALL_JOBS_OBJECTIVES
        if all_jobs:
            stuck = unplaceable_alone(inst)
            if stuck:
                return _infeasible(inst, stuck, "even on an empty cluster")
        best: list[np.ndarray | None] | None = None
        best_unplaced = -1
        tries = int(context.params.get("attempts", 20)) if all_jobs else 1
        done = 0
        order = rng.permutation(inst.n_jobs)
        for _ in range(tries):
            chosen = _random_placement(inst, order.tolist(), rng)
            done += 1
            unplaced = sum(c is None for c in chosen)
            if best is None or unplaced < best_unplaced:
                best, best_unplaced = chosen, unplaced
            if unplaced == 0 or context.remaining() < 0.5:
                break
            # next order: this attempt's unplaced jobs first (squeaky wheel), each part shuffled
            left = np.array([c is None for c in chosen])
            order = np.concatenate([rng.permutation(np.flatnonzero(left)), rng.permutation(np.flatnonzero(~left))])
        assert best is not None
        status = "unknown" if all_jobs and best_unplaced else "feasible"
        return SolveResult(placement_doc(inst, best), status, info={"attempts": done, "unplaced": best_unplaced})

    # ------------------------------------------------------------------ batch
    def _batch(self, inst: Instance, usable: np.ndarray, rng: np.random.Generator) -> SolveResult:
        jobs = inst.jobs
        group, group_type, size = gang_groups(inst)
        options = usable[:, group_type] & (size[None, :] >= jobs.gang[:, None])  # (n, K)
        stuck = np.flatnonzero(~options.any(axis=1)).tolist()
        if stuck:
            return _infeasible(inst, stuck, "eligible type, demand within capacity, gang GPUs on one group")
        assert jobs.time is not None
        free = np.zeros(inst.n_gpus)
        schedule: dict[str, dict[str, Any]] = {}
        for j in rng.permutation(inst.n_jobs).tolist():
            opts = np.flatnonzero(options[j])
            k = opts[rng.integers(len(opts))]
            pick = _earliest(free, np.flatnonzero(group == k), int(jobs.gang[j]), rng)
            start = max(float(jobs.release[j]), float(free[pick].max()))
            free[pick] = start + float(jobs.time[j, group_type[k]])
            schedule[jobs.ids[j]] = {"gpus": [inst.gpu_ids[g] for g in pick.tolist()], "start": start}
        return SolveResult({"problem": "batch", BODY_KEY["batch"]: schedule}, "feasible")

    # ------------------------------------------------------------------ allocation
    def _allocation(self, inst: Instance, rng: np.random.Generator) -> SolveResult:
        jobs = inst.jobs
        counts = inst.gpus_per_type
        mask = jobs.eligible & (counts[None, :] >= jobs.gang[:, None])
        x = rng.exponential(size=mask.shape) * mask  # Dirichlet(1) over each job's usable types
        rows = x.sum(axis=1, keepdims=True)
        x = np.divide(x, rows, out=np.zeros_like(x), where=rows > 0)
        used = jobs.gang.astype(np.float64) @ x
        scale = np.divide(counts, used, out=np.ones_like(used), where=used > counts)
        x = x * np.minimum(1.0, scale)[None, :]
        types = inst.type_ids
        alloc = {jid: {types[t]: float(x[j, t]) for t in np.flatnonzero(x[j] > 0).tolist()}
                 for j, jid in enumerate(jobs.ids)}
        return SolveResult({"problem": "allocation", "allocation": alloc}, "feasible")

    # ------------------------------------------------------------------ online
    def _online(self, inst: Instance, usable: np.ndarray, rng: np.random.Generator) -> SolveResult:
        jobs = inst.jobs
        group, group_type, size = gang_groups(inst)
        options = usable[:, group_type] & (size[None, :] >= jobs.gang[:, None])
        stuck = np.flatnonzero(~options.any(axis=1)).tolist()
        may_reject = bool(inst.problem.params.get("allow_rejection", True))
        if stuck and not may_reject:
            return _infeasible(inst, stuck, "and allow_rejection is false")
        assert jobs.time is not None
        free = np.zeros(inst.n_gpus)
        events: list[dict[str, Any]] = []
        last_start = -np.inf
        order = np.lexsort((rng.random(inst.n_jobs), jobs.release))
        for j in order.tolist():
            jid, release = jobs.ids[j], float(jobs.release[j])
            opts = np.flatnonzero(options[j])
            if not len(opts):
                events.append({"time": release, "job": jid, "event": "reject"})
                continue
            k = opts[rng.integers(len(opts))]
            pick = _earliest(free, np.flatnonzero(group == k), int(jobs.gang[j]), rng)
            start = max(release, last_start, float(free[pick].max()))
            end = start + float(jobs.time[j, group_type[k]])
            last_start = start
            free[pick] = end
            gpus = [inst.gpu_ids[g] for g in pick.tolist()]
            events.append({"time": start, "job": jid, "event": "start", "gpus": gpus})
            events.append({"time": end, "job": jid, "event": "finish"})
        # by time; at equal times GPU releases (finish) first, as the validator replays them
        events.sort(key=lambda ev: (ev["time"], ev["event"] != "finish"))
        return SolveResult({"problem": "online", "events": events}, "feasible")
