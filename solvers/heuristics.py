"""Constructive heuristics: bin-packing placement, list scheduling, water-filling allocation.

All solvers here are deterministic (ties go to the lowest index) and never modify the instance.
The algorithms are described in ``docs/solvers-heuristics.md``; in short:

* ``ffd`` / ``bfd`` (placement): jobs in decreasing *size* = ``gang x`` the smallest, over the
  job's eligible types, of the largest ``demand / capacity`` ratio over resources
  (``_common.normalised_size``); for ``max-weight`` by decreasing ``weight / size``. A job goes
  to the first (``ffd``: lowest GPU index) or best (``bfd``: smallest largest-remaining-fraction
  after placement) gang of ``gang`` fitting GPUs of one type on one node (one type anywhere with
  ``allow_multi_node``); for ``min-cost`` only the cheapest type that has room is considered.
  When ``min-cost``/``min-gpus`` jobs remain unplaced, repair passes try the other rule and
  (``min-cost``) both rules without the cheapest-type restriction.
* ``regret`` (placement ``min-cost``): Martello-Toth regret heuristic for the GAP (gang-1 jobs):
  repeatedly place the unplaced job whose regret (second-cheapest minus cheapest feasible GPU
  cost; infinite with a single feasible GPU) is largest on its cheapest feasible GPU. Instances
  with a gang > 1 use ``bfd``.
* ``list-ect`` / ``wspt`` / ``edd`` (batch): jobs in LPT order of their best time, in decreasing
  ``weight / best time``, or by earliest due date (no deadline last); each on the gang of GPUs
  (one type, one node) with the earliest completion time, started at ``max(release, the gang's
  free time)``. Always feasible when every job has a usable type.
* ``waterfill`` (allocation): progressive filling for max-min fairness (see ``waterfill``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Solver, SolveResult
from schedbench.validator.allocation import equal_share_throughput, throughput_matrix

from ._common import (
    ALL_JOBS_OBJECTIVES,
    FIT_ATOL,
    FIT_RTOL,
    gang_groups,
    normalised_size,
    placement_doc,
    unplaceable_alone,
    usable_types,
)

PLACEMENT_OBJECTIVES = ("min-cost", "min-gpus", "max-weight")
BATCH_OBJECTIVES = ("makespan", "weighted-completion", "weighted-tardiness")


def _infeasible(inst: Instance, stuck: list[int]) -> SolveResult:
    ids = [inst.jobs.ids[j] for j in stuck[:5]]
    return SolveResult(None, "infeasible", info={
        "reason": f"{len(stuck)} job(s) fit on no GPU group even of an empty cluster, e.g. {ids}"})


# ---------------------------------------------------------------------------------------- placement
def placement_order(inst: Instance) -> np.ndarray:
    """Decreasing size (``max-weight``: decreasing weight per size); jobs that fit nowhere last."""
    size = normalised_size(inst)
    if inst.problem.objective == "max-weight":
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.where(size > 0, inst.jobs.weight / size, np.inf)
        density = np.where(np.isinf(size), -np.inf, density)
        return np.argsort(-density, kind="stable")
    return np.argsort(-np.where(np.isinf(size), -1.0, size), kind="stable")


def pack(inst: Instance, order: np.ndarray, mode: str, cost_first: bool = True) -> list[np.ndarray | None]:
    """First fit (``mode='first'``) or best fit (``'best'``) of jobs in ``order``; per job its GPUs or None.

    ``cost_first`` (``min-cost`` only): restrict each job to the cheapest type that has room."""
    jobs = inst.jobs
    G, R = inst.n_gpus, len(inst.resources)
    gtype = inst.gpu_type
    group, group_type, _ = gang_groups(inst)
    K = len(group_type)
    cap = np.ascontiguousarray(inst.gpu_capacity.T)  # (R, G)
    limit = cap * (1 + FIT_RTOL) + FIT_ATOL
    inv_cap = np.where(cap > 0, 1.0 / np.where(cap > 0, cap, 1.0), 0.0)
    load = np.zeros_like(cap)
    use_cost = cost_first and inst.problem.objective == "min-cost" and jobs.cost is not None
    chosen: list[np.ndarray | None] = [None] * inst.n_jobs
    gidx = np.arange(G)
    for j in order.tolist():
        dem_t = jobs.demand[j].T  # (R, T), NaN where ineligible: never fits
        dem = np.empty((R, G))
        fit = np.ones(G, dtype=bool)
        for r in range(R):
            dem[r] = dem_t[r][gtype]
            fit &= load[r] + dem[r] <= limit[r]
        gang = int(jobs.gang[j])
        cand = np.flatnonzero(fit)
        if len(cand) < gang:
            continue
        if gang > 1:
            count = np.bincount(group[cand], minlength=K)
            okg = count >= gang
            if not okg.any():
                continue
            cand = cand[okg[group[cand]]]
        if use_cost:  # cheapest type with room first
            cst = np.nan_to_num(jobs.cost[j][gtype[cand]], nan=np.inf)
            cand = cand[cst <= cst.min()]
        if mode == "best":
            after = (cap[:, cand] - load[:, cand] - dem[:, cand]) * inv_cap[:, cand]
            score = after.max(axis=0) if R else np.zeros(len(cand))
        else:
            score = gidx[cand].astype(np.float64)
        if gang == 1:
            pick = cand[np.argmin(score)][None]
        else:
            gc = group[cand]
            srt = np.lexsort((cand, score, gc))
            sg = gc[srt]
            rank = np.arange(len(srt)) - np.searchsorted(sg, sg, side="left")
            take = rank < gang
            cnt = np.bincount(sg[take], minlength=K)
            ok = np.flatnonzero(cnt >= gang)
            if mode == "best":
                total = np.bincount(sg[take], weights=score[srt][take], minlength=K)[ok]
                k = ok[np.argmin(total)]
            else:
                first = np.full(K, np.inf)
                np.minimum.at(first, sg[take], cand[srt][take].astype(np.float64))
                k = ok[np.argmin(first[ok])]
            pick = np.sort(cand[srt[take & (sg == k)]])
        load[:, pick] += dem[:, pick]
        chosen[j] = pick
    return chosen


def regret_assign(inst: Instance) -> list[np.ndarray | None] | None:
    """Martello-Toth regret heuristic for gang-1 jobs (None when some gang is > 1 or it is too large)."""
    jobs = inst.jobs
    n, G, R = inst.n_jobs, inst.n_gpus, len(inst.resources)
    if n == 0 or (jobs.gang != 1).any() or jobs.cost is None or n * G > 20_000_000:
        return None
    gtype = inst.gpu_type
    cost = np.nan_to_num(jobs.cost[:, gtype], nan=np.inf)  # (n, G)
    dem = np.nan_to_num(jobs.demand[:, gtype, :], nan=np.inf)  # (n, G, R)
    cap = inst.gpu_capacity
    limit = cap * (1 + FIT_RTOL) + FIT_ATOL
    load = np.zeros((G, R))
    c = np.where((dem <= limit[None]).all(axis=2), cost, np.inf)  # cost where the job fits now
    # tie-break by smaller demand fraction (leaves more room), then GPU index
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(np.isfinite(dem), dem / np.where(cap > 0, cap, 1.0)[None], np.inf).max(axis=2) \
            if R else np.zeros((n, G))
    placed = np.zeros(n, dtype=bool)
    chosen: list[np.ndarray | None] = [None] * n

    gpu_col = np.broadcast_to(np.arange(G), (n, G))

    def best_two(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: cheapest feasible GPU, regret, second-cheapest GPU (ties: smaller fraction, index)."""
        sub = c[rows]
        order = np.lexsort((gpu_col[: len(rows)], frac[rows], sub), axis=1)[:, :2]
        at = np.arange(len(rows))
        b = order[:, 0]
        cb = sub[at, b]
        c2 = sub[at, order[:, 1]] if G > 1 else np.full(len(rows), np.inf)
        with np.errstate(invalid="ignore"):
            reg = np.where(np.isfinite(c2), c2 - cb, np.inf)
        reg = np.where(np.isfinite(cb), reg, -np.inf)
        return b, reg, (order[:, 1] if G > 1 else np.full(len(rows), -1))

    best, regret, sec_gpu = best_two(np.arange(n))
    for _ in range(n):
        key = np.where(placed, -np.inf, regret)
        j = int(np.argmax(key))  # largest regret; ties: lowest index
        if placed[j] or not np.isfinite(c[j, best[j]]):
            break  # every remaining job fits nowhere
        g = int(best[j])
        placed[j] = True
        chosen[j] = np.array([g])
        load[g] += dem[j, g]
        fits = (load[g][None, :] + dem[:, g, :] <= limit[g][None, :]).all(axis=1)
        c[:, g] = np.where(fits, cost[:, g], np.inf)
        stale = np.flatnonzero(~placed & ~fits & ((best == g) | (sec_gpu == g)))
        if len(stale):
            best[stale], regret[stale], sec_gpu[stale] = best_two(stale)
    return chosen


class _Placement(Solver):
    family = "greedy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"placement": PLACEMENT_OBJECTIVES}
    deterministic = True
    mode = "first"

    def assign(self, instance: Instance) -> list[np.ndarray | None]:
        return pack(instance, placement_order(instance), self.mode)

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        all_jobs = instance.problem.objective in ALL_JOBS_OBJECTIVES
        if all_jobs:
            stuck = unplaceable_alone(instance)
            if stuck:
                return _infeasible(instance, stuck)
        chosen = self.assign(instance)
        unplaced = sum(c is None for c in chosen)
        if all_jobs and unplaced:  # repair passes: the other fit rule, then without cost first
            order = placement_order(instance)
            other = "best" if self.mode == "first" else "first"
            for mode, cost_first in ((other, True), (self.mode, False), (other, False)):
                if not cost_first and instance.problem.objective != "min-cost":
                    break
                alt = pack(instance, order, mode, cost_first)
                left = sum(c is None for c in alt)
                if left < unplaced:
                    chosen, unplaced = alt, left
                if not unplaced:
                    break
        status = "unknown" if all_jobs and unplaced else "feasible"
        return SolveResult(placement_doc(instance, chosen), status, info={"unplaced": unplaced})


class FirstFitDecreasing(_Placement):
    """First-fit-decreasing placement."""

    name = "ffd"
    mode = "first"
    description = "first-fit-decreasing placement by normalised size (gangs on one node, cheapest type first)"


class BestFitDecreasing(_Placement):
    """Best-fit-decreasing placement."""

    name = "bfd"
    mode = "best"
    description = "best-fit-decreasing placement by normalised size (tightest fit, cheapest type first)"


class Regret(_Placement):
    """Martello-Toth regret heuristic (GAP); bfd for gang jobs."""

    name = "regret"
    mode = "best"  # the fallback for gangs; repair passes try first fit next
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"placement": ("min-cost",)}
    description = "Martello-Toth regret heuristic for min-cost placement (gang-1; bfd otherwise)"

    def assign(self, instance: Instance) -> list[np.ndarray | None]:
        chosen = regret_assign(instance)
        if chosen is None or any(c is None for c in chosen):
            fallback = pack(instance, placement_order(instance), "best")
            if chosen is None or sum(c is None for c in fallback) < sum(c is None for c in chosen):
                return fallback
        return chosen


# ---------------------------------------------------------------------------------------- batch
def best_time(inst: Instance) -> np.ndarray:
    """Per job the smallest processing time over its usable types (inf if none)."""
    usable = usable_types(inst, need_time=True)
    t = np.where(usable, np.nan_to_num(inst.jobs.time, nan=np.inf), np.inf)
    return t.min(axis=1) if t.shape[1] else np.full(inst.n_jobs, np.inf)


def batch_order(inst: Instance, rule: str) -> np.ndarray:
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
    """Each job in ``order`` on the gang (one group) with the earliest completion; (gpus, starts) or None."""
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
            gc = group[cand]
            srt = np.lexsort((cand, free[cand], gc))
            sg = gc[srt]
            rank = np.arange(len(srt)) - np.searchsorted(sg, sg, side="left")
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


def batch_doc(inst: Instance, gpus: list[np.ndarray], start: np.ndarray) -> dict[str, Any]:
    ids = inst.gpu_ids
    return {"problem": "batch", "schedule": {
        jid: {"gpus": [ids[g] for g in gpus[j].tolist()], "start": float(start[j])}
        for j, jid in enumerate(inst.jobs.ids)}}


class _Batch(Solver):
    family = "greedy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"batch": BATCH_OBJECTIVES}
    deterministic = True
    rule = "lpt"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        out = list_schedule(instance, batch_order(instance, self.rule))
        if out is None:
            stuck = np.flatnonzero(~np.isfinite(best_time(instance))).tolist()
            return SolveResult(None, "infeasible", info={
                "reason": f"{len(stuck)} job(s) have no usable gang group, e.g. "
                          f"{[instance.jobs.ids[j] for j in stuck[:5]]}"})
        return SolveResult(batch_doc(instance, *out), "feasible")


class ListECT(_Batch):
    """LPT list scheduling with earliest-completion-time assignment."""

    name = "list-ect"
    rule = "lpt"
    description = "list scheduling, LPT order of best time, earliest completion time gang (releases respected)"


class WSPT(_Batch):
    """Weighted-shortest-processing-time order, earliest-completion assignment."""

    name = "wspt"
    rule = "wspt"
    description = "list scheduling in WSPT order (weight / best time decreasing), earliest completion gang"


class EDD(_Batch):
    """Earliest-due-date order, earliest-completion assignment."""

    name = "edd"
    rule = "edd"
    description = "list scheduling in earliest-due-date order (no deadline last), earliest completion gang"


# ---------------------------------------------------------------------------------------- allocation
def _fill(inst: Instance, price: np.ndarray) -> tuple[np.ndarray, int]:
    """One progressive filling with type preference ``thr[j, t] * price[t]``; returns ``x`` ``(n, T)``
    and the type whose saturation first froze a job (-1: none).

    Every unfrozen job's normalised throughput ``rho_j`` (validator definitions) rises at the same
    rate ``z``. Each unfrozen job draws its time share from its *active* type: the unsaturated
    usable type with the largest throughput; raising ``z`` by ``dz`` costs it ``eq_j / thr[j, t] dz``
    of share on that type, i.e. ``gang_j eq_j / thr[j, t] dz`` of the type's GPUs. The next event
    is the smallest ``dz`` at which a type saturates (its gang-weighted share sum reaches its GPU
    count: its jobs switch to their next best unsaturated type, or freeze if none) or a job's share
    sum reaches 1 (it freezes). At most ``n + T`` events; each is ``O(n)``.
    """
    jobs = inst.jobs
    n, T = inst.n_jobs, len(inst.gpu_types)
    x = np.zeros((n, T))
    if n == 0:
        return x, -1
    counts = inst.gpus_per_type.astype(np.float64)
    thr = throughput_matrix(inst)
    eq = equal_share_throughput(inst)
    gang = jobs.gang.astype(np.float64)
    usable = jobs.eligible & (inst.gpus_per_type[None, :] >= jobs.gang[:, None]) & (thr > 0)
    free = counts.copy()
    saturated = free <= 0
    frozen = ~(eq > 0) | ~usable.any(axis=1)
    total = np.zeros(n)
    pref = np.where(usable, thr * price[None, :], -np.inf)
    culprit = -1
    last_sat = -1
    for _ in range(2 * (n + T) + 5):
        live = ~frozen
        if not live.any():
            break
        avail = np.where(saturated[None, :], -np.inf, pref[live])
        act = np.argmax(avail, axis=1)
        ok = np.isfinite(avail[np.arange(len(act)), act])
        lj = np.flatnonzero(live)
        if not ok.all():
            if culprit < 0 and saturated.any():
                culprit = last_sat
            frozen[lj[~ok]] = True
            lj, act = lj[ok], act[ok]
            if not len(lj):
                break
        rate_share = eq[lj] / thr[lj, act]  # share per unit z
        type_rate = np.bincount(act, weights=gang[lj] * rate_share, minlength=T)
        with np.errstate(divide="ignore", invalid="ignore"):
            dz_type = np.where(type_rate > 0, free / type_rate, np.inf)
            dz_job = (1.0 - total[lj]) / rate_share
        dz = float(min(dz_type.min(), dz_job.min()))
        dz = max(dz, 0.0)
        x[lj, act] += rate_share * dz
        total[lj] += rate_share * dz
        free -= type_rate * dz
        tsat = np.flatnonzero((type_rate > 0) & (dz_type <= dz * (1 + 1e-12)))
        saturated[tsat] = True
        if len(tsat):
            last_sat = int(tsat[0])
        frozen[lj[dz_job <= dz * (1 + 1e-12)]] = True
    # exact feasibility: scale shares that overshoot by rounding
    x = np.clip(x, 0.0, None)
    s = x.sum(axis=1)
    x = np.where(s[:, None] > 1, x / np.where(s > 0, s, 1.0)[:, None], x)
    used = gang @ x
    scale = np.where(used > counts, counts / np.where(used > 0, used, 1.0), 1.0)
    return x * scale[None, :], culprit


def waterfill(inst: Instance, rounds: int = 25) -> np.ndarray:
    """Progressive filling for max-min fairness; returns ``x`` ``(n, T)``.

    Runs :func:`_fill` up to ``rounds`` times: after each, the price of the type whose saturation
    first froze a job is multiplied by 0.8, so that jobs with a comparable rate elsewhere move
    off it; the allocation with the largest minimum normalised throughput is kept (the first on
    ties). Deterministic.
    """
    T = len(inst.gpu_types)
    thr = throughput_matrix(inst)
    eq = equal_share_throughput(inst)
    price = np.ones(T)
    best, best_val = None, -np.inf
    for _ in range(rounds):
        x, culprit = _fill(inst, price)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(eq > 0, (x * thr).sum(axis=1) / eq, 0.0)
        val = float(rho.min()) if len(rho) else 0.0
        if val > best_val + 1e-12:
            best, best_val = x, val
        if culprit < 0:
            break
        price[culprit] *= 0.8
    assert best is not None
    return best


class WaterFill(Solver):
    """Water-filling (progressive filling) for max-min fairness."""

    name = "waterfill"
    family = "greedy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"allocation": ("max-min-fairness",)}
    deterministic = True
    description = "progressive filling for max-min fairness: raise all jobs' normalised throughput together"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        x = waterfill(instance)
        types = instance.type_ids
        alloc = {jid: {types[t]: float(x[j, t]) for t in np.flatnonzero(x[j] > 0).tolist()}
                 for j, jid in enumerate(instance.jobs.ids)}
        return SolveResult({"problem": "allocation", "allocation": alloc}, "feasible")
