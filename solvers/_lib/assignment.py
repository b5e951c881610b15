"""Regret constructions for the generalised assignment problem (gang-1 jobs, each on one GPU).

:func:`regret_assign` is the Martello-Toth heuristic on costs (the ``regret`` plugin, and a seed of
``sa``, ``ga`` and ``cpsat``); :func:`regret_by_desirability` the static-order variant on any
desirability matrix (``lp-round``'s fallback, with LP values or packing ratios).
"""

from __future__ import annotations

import numpy as np

from schedbench.instances.gangs import FIT_ATOL, FIT_RTOL
from schedbench.instances.model import Instance

from .packing import pack, placement_order


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
        frac = (
            np.where(np.isfinite(dem), dem / np.where(cap > 0, cap, 1.0)[None], np.inf).max(axis=2)
            if R
            else np.zeros((n, G))
        )
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


def regret_placement(inst: Instance) -> list[np.ndarray | None]:
    """The ``regret`` plugin's construction: :func:`regret_assign`, or best-fit-decreasing when
    regret does not apply (gangs, size) or leaves more jobs unplaced."""
    chosen = regret_assign(inst)
    if chosen is None or any(c is None for c in chosen):
        fallback = pack(inst, placement_order(inst), "best")
        if chosen is None or sum(c is None for c in fallback) < sum(c is None for c in chosen):
            return fallback
    return chosen


def regret_by_desirability(inst: Instance, want: np.ndarray) -> np.ndarray:
    """Static-order regret construction on a desirability matrix ``want`` ``(n, G)`` (-inf where
    job j may not use GPU g): jobs go in decreasing regret (best minus second-best desirability;
    jobs with one option first; ties: lowest index) to their most desirable GPU that still has room
    (within :data:`~schedbench.instances.gangs.FIT_RTOL`/``FIT_ATOL``). GPU per job, -1 where none had room."""
    jobs = inst.jobs
    n, G = inst.n_jobs, inst.n_gpus
    gt = inst.gpu_type
    top2 = -np.sort(-want, axis=1)[:, :2] if G >= 2 else np.concatenate([want, np.full((n, 1), -np.inf)], 1)
    regret = np.where(np.isfinite(top2[:, 1]), top2[:, 0] - top2[:, 1], np.inf)
    dem = np.nan_to_num(jobs.demand, nan=0.0)
    cap = inst.gpu_capacity * (1 + FIT_RTOL) + FIT_ATOL
    load = np.zeros_like(cap)
    gpu = np.full(n, -1, dtype=np.int64)
    for j in np.argsort(-regret, kind="stable").tolist():
        d = dem[j, gt]
        ok = np.isfinite(want[j]) & (load + d <= cap).all(axis=1)
        if ok.any():
            k = int(np.flatnonzero(ok)[np.argmax(want[j, ok])])
            gpu[j] = k
            load[k] += d[k]
    return gpu
