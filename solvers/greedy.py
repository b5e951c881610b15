"""Greedy placement: best fit with the seed article's utilisation score, vectorised over GPUs.

The article this project starts from places tasks one by one on the feasible GPU whose remaining
memory and compute fractions after placement are smallest (best fit). Its sketch had defects this
implementation does not share: it keyed a dict by (unhashable) job dicts, subtracted from its input
and raised on the first task that did not fit. Here the instance is never modified (the load lives
in a separate array), jobs are keyed by index, and a job that fits nowhere is left unplaced while
the others go on.

Score of placing job j on GPU g (``score=capacity``, the default)::

    sum over resources r of (capacity[g, r] - load[g, r] - demand[j, r]) / capacity[g, r]

i.e. the fraction of the GPU left free after placement; ``score=free`` divides by the room that
was free before placement instead (the article's literal formula). A gang of ``gang`` GPUs must be
of one type on one node (one type anywhere with ``allow_multi_node``): per node the ``gang``
best-scoring GPUs that fit are taken, and the node with the smallest summed score wins. For
``min-cost`` the cheapest type among the feasible nodes is preferred first (``cost_first``), best
fit deciding within it; ties go to the lowest GPU index, so the solver is deterministic.

Job order (``order``): ``decreasing`` sorts by size = gang x the smallest, over eligible types, of
the largest demand/capacity ratio (first-fit-decreasing style; for ``max-weight`` by weight per
size), ``input`` keeps the instance's order.

``min-cost`` and ``min-gpus`` need every job placed. When the first pass leaves jobs unplaced, a
second pass tries plain best fit by decreasing size (cost only breaking ties); if jobs still
remain unplaced the partial assignment is returned with status ``unknown`` (no claim) and the
validator marks it infeasible (``unplaced``). If some job fits on no GPU group even of an empty
cluster, the instance is infeasible and the solver says so (status ``infeasible``, no solution).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult

from ._common import (
    ALL_JOBS_OBJECTIVES,
    FIT_ATOL,
    FIT_RTOL,
    gang_groups,
    normalised_size,
    placement_doc,
    unplaceable_alone,
)


def _order(inst: Instance, order: str) -> np.ndarray:
    n = inst.n_jobs
    if order == "input":
        return np.arange(n)
    size = normalised_size(inst)
    if inst.problem.objective == "max-weight":
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.where(size > 0, inst.jobs.weight / size, np.inf)
        density = np.where(np.isinf(size), -np.inf, density)  # fits nowhere: last
        return np.argsort(-density, kind="stable")
    return np.argsort(-np.where(np.isinf(size), -1.0, size), kind="stable")


def best_fit(inst: Instance, order: np.ndarray, *, score_mode: str = "capacity", cost_first: bool = True,
             deadline: float | None = None, clock: Any = None) -> tuple[list[np.ndarray | None], bool]:
    """Place jobs in ``order``; return per job its GPU indices (None: unplaced) and whether it ran to the end."""
    jobs = inst.jobs
    G, R = inst.n_gpus, len(inst.resources)
    gtype = inst.gpu_type
    group, group_type, _ = gang_groups(inst)
    K = len(group_type)
    # column-wise (R, G): one contiguous row per resource is much faster than reducing (G, R) rows
    cap = np.ascontiguousarray(inst.gpu_capacity.T)
    limit = cap * (1 + FIT_RTOL) + FIT_ATOL
    inv_cap = np.where(cap > 0, 1.0 / np.where(cap > 0, cap, 1.0), 0.0)
    load = np.zeros_like(cap)
    use_cost = inst.problem.objective == "min-cost" and jobs.cost is not None
    chosen: list[np.ndarray | None] = [None] * inst.n_jobs
    for step, j in enumerate(order.tolist()):
        if deadline is not None and step % 256 == 0 and clock() > deadline:
            return chosen, False
        dem_t = jobs.demand[j].T  # (R, T), NaN on ineligible types (never fits)
        dem = np.empty((R, G))
        fit = np.ones(G, dtype=bool)
        for r in range(R):
            dem[r] = dem_t[r][gtype]
            fit &= load[r] + dem[r] <= limit[r]
        cand = np.flatnonzero(fit)
        gang = int(jobs.gang[j])
        if len(cand) < gang:
            continue
        # score of the candidates: summed free fraction left after placement
        after = cap[:, cand] - load[:, cand] - dem[:, cand]
        if score_mode == "capacity":
            score_c = (after * inv_cap[:, cand]).sum(axis=0)
        else:
            free = cap[:, cand] - load[:, cand]
            score_c = np.where(free > 0, after / np.where(free > 0, free, 1.0), 0.0).sum(axis=0)
        if gang == 1:
            if use_cost:
                cost_c = np.nan_to_num(jobs.cost[j][gtype[cand]], nan=np.inf)
                keys = (cand, score_c, cost_c) if cost_first else (cand, cost_c, score_c)
                pick = cand[np.lexsort(keys)[:1]]
            else:
                pick = cand[np.argmin(score_c)][None]
        else:
            gc = group[cand]
            srt = np.lexsort((cand, score_c, gc))  # by group, then score, then GPU index
            sg = gc[srt]
            rank = np.arange(len(srt)) - np.searchsorted(sg, sg, side="left")
            take = rank < gang
            count = np.bincount(sg[take], minlength=K)
            ok = np.flatnonzero(count >= gang)
            if not len(ok):
                continue
            total = np.bincount(sg[take], weights=score_c[srt][take], minlength=K)[ok]
            if use_cost:
                gcost = np.nan_to_num(jobs.cost[j][group_type[ok]], nan=np.inf)
                keys = (ok, total, gcost) if cost_first else (ok, gcost, total)
                k = ok[np.lexsort(keys)[0]]
            else:
                k = ok[np.argmin(total)]
            pick = np.sort(cand[srt[take & (sg == k)]])
        load[:, pick] += dem[:, pick]
        chosen[j] = pick
    return chosen, True


class GreedyBestFit(Solver):
    """Best-fit greedy placement (the seed article's utilisation score), vectorised over GPUs."""

    name = "greedy-bestfit"
    family = "greedy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"placement": ("min-cost", "min-gpus", "max-weight")}
    params = (
        Param("order", str, "decreasing", "job order: decreasing size (max-weight: weight per size) or input",
              choices=("decreasing", "input")),
        Param("score", str, "capacity", "best-fit score: free fraction of capacity after placement, or of the room "
              "free before it (free: the article's formula)", choices=("capacity", "free")),
        Param("cost_first", bool, True, "min-cost: cheapest feasible type first, best fit within it "
              "(false: best fit, cost breaking ties)"),
    )
    deterministic = True
    description = "best-fit greedy placement (article's utilisation score); never mutates the instance"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        import time

        p = self.resolve_params(context.params)  # defaults filled in when called directly
        all_jobs = instance.problem.objective in ALL_JOBS_OBJECTIVES
        if all_jobs:
            stuck = unplaceable_alone(instance)
            if stuck:
                ids = [instance.jobs.ids[j] for j in stuck[:5]]
                return SolveResult(None, "infeasible", info={
                    "reason": f"{len(stuck)} job(s) fit on no GPU group even of an empty cluster, e.g. {ids}"})
        deadline = time.monotonic() + max(0.0, context.remaining() - 0.5)
        min_cost = instance.problem.objective == "min-cost"
        attempts = [(p["order"], p["cost_first"] and min_cost)]
        if all_jobs and attempts[0] != ("decreasing", False):
            attempts.append(("decreasing", False))
        best: list[np.ndarray | None] | None = None
        best_unplaced = -1
        tried = 0
        for order, cost_first in attempts:
            chosen, complete = best_fit(instance, _order(instance, order), score_mode=p["score"],
                                        cost_first=cost_first, deadline=deadline, clock=time.monotonic)
            tried += 1
            unplaced = sum(c is None for c in chosen)
            if best is None or unplaced < best_unplaced:
                best, best_unplaced = chosen, unplaced
            if not complete or not all_jobs or unplaced == 0:
                break
        assert best is not None
        status = "unknown" if all_jobs and best_unplaced else "feasible"
        return SolveResult(placement_doc(instance, best), status,
                           info={"passes": tried, "unplaced": best_unplaced})
