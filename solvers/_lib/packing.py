"""Placement building blocks: job sizes and orders, first fit / best fit, the best gang of a group.

Used by the greedy plugins (``greedy-bestfit``, ``ffd``, ``bfd``, ``regret``) and to seed ``cpsat``
and ``ga``. Jobs are indices into ``inst.jobs``; an answer is, per job, its GPU indices (``None``:
unplaced). Loads are kept in separate arrays: the instance is never modified. Ties go to the lowest
index, so everything here is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from schedbench.instances.gangs import FIT_ATOL, FIT_RTOL, gang_groups, usable_types
from schedbench.instances.model import Instance
from schedbench.plugins.solver import SolveResult

from .documents import placement_doc


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


def unplaceable_alone(inst: Instance) -> list[int]:
    """Jobs that cannot be placed even on an empty cluster (every all-jobs answer is then infeasible)."""
    return np.flatnonzero(~usable_types(inst).any(axis=1)).tolist()


def places_every_job(inst: Instance) -> bool:
    """Whether ``inst``'s objective needs every job placed (``min-cost``, ``min-gpus``: the placement
    class's ``ALL_JOBS_OBJECTIVES``)."""
    # imported here, not with the module: importing a class module before the class registry is first
    # read registers the classes out of order; an instance exists here, so the registry is loaded
    from schedbench.classes.placement import ALL_JOBS_OBJECTIVES

    return inst.problem.objective in ALL_JOBS_OBJECTIVES


def infeasible_placement(inst: Instance) -> SolveResult | None:
    """For the objectives that place every job: the ``infeasible`` result (no solution, the reason
    naming a few jobs) when some job fits on no gang group even of an empty cluster; else None."""
    if not places_every_job(inst):
        return None
    stuck = unplaceable_alone(inst)
    if not stuck:
        return None
    ids = [inst.jobs.ids[j] for j in stuck[:5]]
    return SolveResult(
        None,
        "infeasible",
        info={"reason": f"{len(stuck)} job(s) fit on no GPU group even of an empty cluster, e.g. {ids}"},
    )


def placement_order(inst: Instance, order: str = "decreasing") -> np.ndarray:
    """Job order for packing. ``decreasing``: decreasing :func:`normalised_size` (``max-weight``:
    decreasing weight per size), jobs that fit nowhere last, stable; ``input``: the instance's order."""
    if order == "input":
        return np.arange(inst.n_jobs)
    size = normalised_size(inst)
    if inst.problem.objective == "max-weight":
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.where(size > 0, inst.jobs.weight / size, np.inf)
        density = np.where(np.isinf(size), -np.inf, density)  # fits nowhere: last
        return np.argsort(-density, kind="stable")
    return np.argsort(-np.where(np.isinf(size), -1.0, size), kind="stable")


def sort_by_group(cand: np.ndarray, key: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate GPUs ``cand`` sorted by (gang group, ``key``, GPU index): returns the sorting
    permutation ``srt``, the sorted groups ``sg`` and each entry's ``rank`` within its group (0 =
    smallest key). A group's best gang of ``gang`` GPUs is its entries with ``rank < gang``."""
    gc = group[cand]
    srt = np.lexsort((cand, key, gc))
    sg = gc[srt]
    rank = np.arange(len(srt)) - np.searchsorted(sg, sg, side="left")
    return srt, sg, rank


def best_gangs(
    cand: np.ndarray, score: np.ndarray, group: np.ndarray, gang: int, K: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Callable[[int], np.ndarray]]:
    """Gang selection by score: each gang group's ``gang`` best candidates (smallest score, then GPU
    index). Returns the groups that have ``gang`` candidates (ascending), per such group the summed
    score of its gang (summed in score order) and its best candidate, and a function giving group
    ``k``'s gang (sorted GPU indices). ``O(len(cand))`` plus the sort."""
    srt, sg, rank = sort_by_group(cand, score, group)
    take = rank < gang
    ok = np.flatnonzero(np.bincount(sg[take], minlength=K) >= gang)
    total = np.bincount(sg[take], weights=score[srt][take], minlength=K)[ok]
    head = rank == 0  # one entry per group present, groups ascending
    best = cand[srt][head][np.isin(sg[head], ok)]

    def members(k: int) -> np.ndarray:
        return np.sort(cand[srt[take & (sg == k)]])

    return ok, total, best, members


class _Fit:
    """Per-GPU loads of a packing in progress, column-wise ``(R, G)`` (one contiguous row per
    resource is much faster than reducing ``(G, R)`` rows)."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.R = len(inst.resources)
        self.cap = np.ascontiguousarray(inst.gpu_capacity.T)
        self.limit = self.cap * (1 + FIT_RTOL) + FIT_ATOL
        self.inv_cap = np.where(self.cap > 0, 1.0 / np.where(self.cap > 0, self.cap, 1.0), 0.0)
        self.load = np.zeros_like(self.cap)

    def fitting(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Job ``j``'s per-GPU demand ``(R, G)`` (NaN on ineligible types) and the GPUs where it fits now."""
        inst = self.inst
        dem_t = inst.jobs.demand[j].T  # (R, T), NaN where ineligible: never fits
        dem = np.empty((self.R, inst.n_gpus))
        fit = np.ones(inst.n_gpus, dtype=bool)
        for r in range(self.R):
            dem[r] = dem_t[r][inst.gpu_type]
            fit &= self.load[r] + dem[r] <= self.limit[r]
        return dem, np.flatnonzero(fit)


def pack(inst: Instance, order: np.ndarray, mode: str, cost_first: bool = True) -> list[np.ndarray | None]:
    """First fit (``mode='first'``) or best fit (``'best'``) of jobs in ``order``; per job its GPUs or None.

    Best fit scores a GPU by its largest remaining fraction over resources after placement; a gang
    takes the ``gang`` best GPUs of one gang group, the group with the smallest summed score (first
    fit: the group whose lowest chosen GPU index is smallest). ``cost_first`` (``min-cost`` only):
    restrict each job to the cheapest type that has room."""
    jobs = inst.jobs
    gtype = inst.gpu_type
    group, group_type, _ = gang_groups(inst)
    K = len(group_type)
    fit = _Fit(inst)
    cap, load, inv_cap, R = fit.cap, fit.load, fit.inv_cap, fit.R
    use_cost = cost_first and inst.problem.objective == "min-cost" and jobs.cost is not None
    chosen: list[np.ndarray | None] = [None] * inst.n_jobs
    gidx = np.arange(inst.n_gpus)
    for j in order.tolist():
        dem, cand = fit.fitting(j)
        gang = int(jobs.gang[j])
        if len(cand) < gang:
            continue
        if gang > 1:
            count = np.bincount(group[cand], minlength=K)
            okg = count >= gang
            if not okg.any():
                continue
            cand = cand[okg[group[cand]]]
        if use_cost:  # cheapest type with room first
            assert jobs.cost is not None
            cst = np.nan_to_num(jobs.cost[j][gtype[cand]], nan=np.inf)
            cand = cand[cst <= cst.min()]
        if mode == "best":
            after = (cap[:, cand] - load[:, cand] - dem[:, cand]) * inv_cap[:, cand]
            score = after.max(axis=0) if R else np.zeros(len(cand))
        else:
            score = gidx[cand].astype(np.float64)
        if gang == 1:
            pick = cand[np.argmin(score)][None]
        else:  # first fit: the score is the GPU index, so the group whose gang starts lowest wins
            ok, total, first, members = best_gangs(cand, score, group, gang, K)
            pick = members(int(ok[np.argmin(total if mode == "best" else first)]))
        load[:, pick] += dem[:, pick]
        chosen[j] = pick
    return chosen


def best_fit(
    inst: Instance,
    order: np.ndarray,
    *,
    score_mode: str = "capacity",
    cost_first: bool = True,
    deadline: float | None = None,
    clock: Callable[[], float] | None = None,
) -> tuple[list[np.ndarray | None], bool]:
    """Best fit with the seed article's utilisation score (``greedy-bestfit``): place jobs in
    ``order``; return per job its GPU indices (None: unplaced) and whether it ran to the end
    (False when ``clock()`` passed ``deadline``, checked every 256 jobs).

    Score of job j on GPU g: the summed fraction of capacity left free after placement
    (``score_mode='capacity'``) or of the room free before it (``'free'``). A gang takes the
    ``gang`` best GPUs of each gang group, the group with the smallest summed score winning.
    ``min-cost``: the cheapest type first and the score breaking ties (``cost_first``), or the
    other way round."""
    jobs = inst.jobs
    gtype = inst.gpu_type
    group, group_type, _ = gang_groups(inst)
    K = len(group_type)
    fit = _Fit(inst)
    cap, load, inv_cap = fit.cap, fit.load, fit.inv_cap
    use_cost = inst.problem.objective == "min-cost" and jobs.cost is not None
    chosen: list[np.ndarray | None] = [None] * inst.n_jobs
    for step, j in enumerate(order.tolist()):
        if deadline is not None and clock is not None and step % 256 == 0 and clock() > deadline:
            return chosen, False
        dem, cand = fit.fitting(j)
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
                assert jobs.cost is not None
                cost_c = np.nan_to_num(jobs.cost[j][gtype[cand]], nan=np.inf)
                keys = (cand, score_c, cost_c) if cost_first else (cand, cost_c, score_c)
                pick = cand[np.lexsort(keys)[:1]]
            else:
                pick = cand[np.argmin(score_c)][None]
        else:
            ok, total, _, members = best_gangs(cand, score_c, group, gang, K)
            if not len(ok):
                continue
            if use_cost:
                assert jobs.cost is not None
                gcost = np.nan_to_num(jobs.cost[j][group_type[ok]], nan=np.inf)
                keys = (ok, total, gcost) if cost_first else (ok, gcost, total)
                k = ok[np.lexsort(keys)[0]]
            else:
                k = ok[np.argmin(total)]
            pick = members(int(k))
        load[:, pick] += dem[:, pick]
        chosen[j] = pick
    return chosen, True


def heuristic_placement(
    inst: Instance, mode: str, assign: Callable[[Instance], list[np.ndarray | None]] | None = None
) -> SolveResult:
    """The answer of the packing heuristics (``ffd``: ``mode='first'``, ``bfd``: ``'best'``; ``regret``:
    ``assign`` its construction): :func:`infeasible_placement` when it applies; else ``assign(inst)``
    (default :func:`pack` in :func:`placement_order`) and, when an objective that places every job
    leaves jobs unplaced, repair passes: the other fit rule, then (``min-cost``) both rules without the
    cheapest-type restriction, keeping the answer with the fewest unplaced jobs (the first on ties).
    Status ``unknown`` while jobs stay unplaced there, else ``feasible``; ``info["unplaced"]``."""
    infeasible = infeasible_placement(inst)
    if infeasible is not None:
        return infeasible
    all_jobs = places_every_job(inst)
    chosen = assign(inst) if assign is not None else pack(inst, placement_order(inst), mode)
    unplaced = sum(c is None for c in chosen)
    if all_jobs and unplaced:  # repair passes: the other fit rule, then without cost first
        order = placement_order(inst)
        other = "best" if mode == "first" else "first"
        for rule, cost_first in ((other, True), (mode, False), (other, False)):
            if not cost_first and inst.problem.objective != "min-cost":
                break
            alt = pack(inst, order, rule, cost_first)
            left = sum(c is None for c in alt)
            if left < unplaced:
                chosen, unplaced = alt, left
            if not unplaced:
                break
    status = "unknown" if all_jobs and unplaced else "feasible"
    return SolveResult(placement_doc(inst, chosen), status, info={"unplaced": unplaced})
