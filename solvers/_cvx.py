"""Helpers of the cvxpy solvers (``convex.py``): backend options, certified bounds, WSPT schedules.

Nothing here imports cvxpy at module level (the registry imports ``convex.py``, which imports this
module, without the optional dependencies); nothing here modifies an instance.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

#: The backends offered through the ``solver`` parameter, as cvxpy names them.
BACKENDS = {"clarabel": "CLARABEL", "ecos": "ECOS", "scs": "SCS", "highs": "HIGHS"}


def solve_kwargs(backend: str, time_limit: float | None, threads: int = 1, tight: bool = False) -> dict[str, Any]:
    """Keyword arguments of ``cvxpy.Problem.solve`` for ``backend`` (see :data:`BACKENDS`).

    Single-threaded unless ``threads`` says otherwise; ``time_limit`` (seconds, None: none) is passed
    to every backend that has one (ECOS has none: it stops after ``max_iters`` iterations).
    ``highs`` runs HiGHS's interior point method without crossover (options ``solver=ipm``,
    ``run_crossover=off``; cvxpy passes them through its ``highs_options`` dict because the name
    ``solver`` clashes with cvxpy's own argument). ``tight``: Clarabel's gap and feasibility
    tolerances 1e-10 instead of 1e-8 (exponential-cone solutions are otherwise accurate to ~1e-4 in
    the shares, too coarse for a tight certified bound)."""
    kw: dict[str, Any] = {"solver": BACKENDS[backend]}
    limit = None if time_limit is None else max(0.5, float(time_limit))
    if backend == "clarabel":
        kw["max_threads"] = max(1, int(threads))
        if tight:
            kw.update(tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, tol_ktratio=1e-8)
        if limit is not None:
            kw["time_limit"] = limit
    elif backend == "ecos":
        kw["max_iters"] = 500
    elif backend == "scs":
        kw.update(eps_abs=1e-7, eps_rel=1e-7, max_iters=200_000)
        if limit is not None:
            kw["time_limit_secs"] = limit
    elif backend == "highs":
        opts: dict[str, Any] = {
            "solver": "ipm",
            "run_crossover": "off",
            "threads": max(1, int(threads)),
            "output_flag": False,
        }
        if limit is not None:
            opts["time_limit"] = limit
        kw["highs_options"] = opts
    else:
        raise ValueError(f"unknown backend {backend!r}; expected one of {sorted(BACKENDS)}")
    return kw


def per_job_max(pair_job: np.ndarray, values: np.ndarray, n: int, floor: float = 0.0) -> np.ndarray:
    """``(n,)``: per job the largest of ``values`` over its pairs, at least ``floor``."""
    out = np.full(n, floor)
    np.maximum.at(out, pair_job, values)
    return out


def per_job_min(pair_job: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """``(n,)``: per job the smallest of ``values`` over its pairs (+inf for a job with none)."""
    out = np.full(n, np.inf)
    np.minimum.at(out, pair_job, values)
    return out


def lagrangian_bound(
    pair_job: np.ndarray,
    pair_type: np.ndarray,
    gain: np.ndarray,
    gang: np.ndarray,
    limit: np.ndarray,
    capacity: np.ndarray,
    nu: np.ndarray | None,
) -> float:
    """Upper bound on ``max {gain . x : sum_{k of j} x_k <= limit_j, sum_k gang_j x_k [type k = t] <= capacity_t,
    x >= 0}`` from capacity multipliers ``nu >= 0`` (negative entries are taken as 0; None: all 0).

    Weak duality: for any ``nu >= 0`` the maximum is at most ``nu . capacity + sum_j limit_j max(0, max_k
    (gain_k - nu_{t_k} gang_j))``, whatever ``nu`` is; solver duals make it tight."""
    n = len(limit)
    nu = np.zeros(len(capacity)) if nu is None else np.maximum(np.asarray(nu, dtype=np.float64), 0.0)
    reduced = gain - nu[pair_type] * gang[pair_job]
    return float(nu @ capacity + limit @ per_job_max(pair_job, reduced, n))


def refine_nu(
    pair_job: np.ndarray,
    pair_type: np.ndarray,
    gain: np.ndarray,
    gang: np.ndarray,
    limit: np.ndarray,
    capacity: np.ndarray,
    nu: np.ndarray | None,
    sweeps: int = 3,
) -> np.ndarray:
    """Capacity multipliers that make :func:`lagrangian_bound` no larger than at ``nu``: a few sweeps
    of exact coordinate minimisation (the bound is convex and piecewise linear in each ``nu_t``; its
    minimiser is the breakpoint where the gang-weighted limits of the jobs still gaining from type
    ``t`` first fall to ``capacity_t``). Needs at most one pair per (job, type)."""
    n, T = len(limit), len(capacity)
    nu = np.zeros(T) if nu is None else np.maximum(np.nan_to_num(np.asarray(nu, dtype=np.float64)), 0.0).copy()
    g = gang[pair_job].astype(np.float64)
    weight = limit[pair_job] * g
    for _ in range(sweeps):
        for t in range(T):
            on = pair_type == t
            if not on.any():
                continue
            reduced = np.where(on, -np.inf, gain - nu[pair_type] * g)
            rest = per_job_max(pair_job, reduced, n)  # best over the other types, at least 0
            k = np.flatnonzero(on)
            bp = (gain[k] - rest[pair_job[k]]) / g[k]  # above bp, job k's type-t term is flat
            pos = bp > 0
            k, bp = k[pos], bp[pos]
            order = np.argsort(-bp, kind="stable")
            cum = np.cumsum(weight[k][order])
            i = int(np.searchsorted(cum, capacity[t], side="left"))  # slope cap - cum turns >= 0 here
            nu[t] = float(bp[order][i]) if i < len(order) else 0.0
    return nu


# ------------------------------------------------------------------------------------ batch schedules
def smith_completions(gpu: np.ndarray, p: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and completions when each GPU runs its jobs back to back from 0 in Smith's order
    (``w / p`` non-increasing, ties by job index). ``gpu``, ``p`` (time on its GPU), ``w``: ``(n,)``.

    Starts are the running sums of the preceding times, so ``start + p`` of one job is bit-for-bit
    the next job's start (the validator's overlap check sees touching intervals)."""
    n = len(gpu)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, w / p, np.inf)
    order = np.lexsort((np.arange(n), -ratio, gpu))
    g, q = gpu[order], p[order]
    start_sorted = np.empty(n)
    heads = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if n else np.zeros(0, dtype=np.int64)
    # running sums per GPU segment (np.cumsum adds left to right, matching the validator's start + p)
    for a, b in zip(heads.tolist(), [*heads[1:].tolist(), n], strict=True):
        start_sorted[a] = 0.0
        start_sorted[a + 1 : b] = np.cumsum(q[a : b - 1])
    start = np.empty(n)
    start[order] = start_sorted
    return start, start + p


def wspt_release_completions(
    gpu: np.ndarray, p: np.ndarray, w: np.ndarray, release: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Starts and completions of non-idling WSPT on each GPU: whenever the GPU is free, start the
    released job with the largest ``w / p`` (ties by index); idle until the next release if none.
    With all releases 0 this is Smith's order (same result as :func:`smith_completions`)."""
    n = len(gpu)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, w / p, np.inf)
    start = np.empty(n)
    order = np.lexsort((np.arange(n), release, gpu))
    bounds = np.flatnonzero(np.r_[True, gpu[order][1:] != gpu[order][:-1], True])
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        jobs = order[a:b].tolist()
        t, i = 0.0, 0
        heap: list[tuple[float, int]] = []
        while i < len(jobs) or heap:
            if not heap and release[jobs[i]] > t:
                t = float(release[jobs[i]])
            while i < len(jobs) and release[jobs[i]] <= t:
                heapq.heappush(heap, (-ratio[jobs[i]], jobs[i]))
                i += 1
            _, j = heapq.heappop(heap)
            start[j] = t
            t = t + float(p[j])
    return start, start + p


def list_machines(
    job_type: np.ndarray, gpus_of_type: list[np.ndarray], p: np.ndarray, w: np.ndarray, release: np.ndarray
) -> np.ndarray:
    """A GPU per job, given its GPU type: per type, jobs in Smith's order (``w / p`` non-increasing,
    then release, then index) each go to the type's GPU that frees first (start ``max(free,
    release)``), lowest index on ties. Identical machines: this is list scheduling in WSPT order."""
    n = len(job_type)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, w / p, np.inf)
    gpu = np.full(n, -1, dtype=np.int64)
    order = np.lexsort((np.arange(n), release, -ratio, job_type))
    heaps = {t: [(0.0, int(k)) for k in g.tolist()] for t, g in enumerate(gpus_of_type)}
    for j in order.tolist():
        heap = heaps[int(job_type[j])]
        free, k = heapq.heappop(heap)
        gpu[j] = k
        heapq.heappush(heap, (max(free, float(release[j])) + float(p[j]), k))
    return gpu
