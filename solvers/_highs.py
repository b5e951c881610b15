"""Model building and HiGHS plumbing shared by ``ilp-highs``, ``lp-round`` and ``lp-allocation``.

Every model is built column-wise as numpy arrays and one ``scipy.sparse`` CSC matrix and handed to
highspy in ONE ``Highs.passModel`` call (integrality for all columns included, as an int32 array):
per-row or per-column highspy calls dominate at 10^5-10^6 columns. Nothing here modifies the
instance.

Models (``x`` over *usable* (job, GPU) pairs only: the job is eligible for the GPU's type and its
per-GPU demand fits the type's capacity; gang-1 jobs only):

* placement ``min-cost`` (GAP): ``sum_g x[j,g] = 1`` per job; per GPU g and resource r
  ``sum_j demand[j,type(g),r] x[j,g] <= capacity[g,r]``; minimise ``sum cost[j,type(g)] x[j,g]``.
* placement ``max-weight`` (multiple knapsack): as GAP with ``sum_g x[j,g] <= 1``; maximise
  ``sum weight[j] x[j,g]``.
* placement ``min-gpus`` (vector bin packing): ``y[g]`` binary, ``x[j,g] <= y[g]``,
  ``sum_j demand x <= capacity y[g]``, symmetry breaking ``y[g] >= y[g']`` for consecutive GPUs
  g, g' of one type (gang-1 GPUs of one type are interchangeable); minimise ``sum y`` (or
  ``sum cost_per_hour[type(g)] y[g]`` with ``measure=cost``).
* batch ``makespan`` (R||Cmax, all releases 0): ``sum_g x[j,g] = 1``; per GPU
  ``sum_j time[j,type(g)] x[j,g] - C <= 0``; minimise ``C``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from schedbench.instances.model import Instance

from ._common import placement_doc, usable_types

INF = np.inf
#: MIP statuses; HiGHS proves "optimal" within mip_rel_gap, so the solver only claims optimal when
#: the reported gap is at most this.
OPTIMAL_GAP = 1e-6


@dataclass
class Model:
    """A linear (mixed-integer) model in column-wise form plus the meaning of its columns."""

    sense: int  # 1 minimise, -1 maximise
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    A: sp.csc_matrix
    integrality: np.ndarray  # int32, 1 = integer
    pair_job: np.ndarray  # (K,) job of each x column (columns 0..K-1)
    pair_gpu: np.ndarray  # (K,) GPU of each x column
    kind: str  # "placement" | "makespan"
    build_s: float = 0.0

    @property
    def n_pairs(self) -> int:
        return len(self.pair_job)


def unsupported_reason(inst: Instance) -> str | None:
    """Why the pair models do not apply to ``inst`` (None when they do)."""
    jobs = inst.jobs
    if (jobs.gang != 1).any():
        return f"{int((jobs.gang != 1).sum())} job(s) have gang > 1; only gang-1 instances are modelled"
    if inst.problem.cls == "batch":
        if inst.problem.objective != "makespan":
            return "batch: only the makespan objective is modelled"
        if (jobs.release != 0).any():
            return "batch makespan: only instances with every release 0 are modelled (R||Cmax)"
    return None


def pairs(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usable (job, GPU) pairs sorted by job, and per job whether it has any."""
    usable = usable_types(inst, need_time=inst.problem.cls == "batch")
    ok = usable[:, inst.gpu_type]  # (n, G)
    pj, pg = np.nonzero(ok)
    return pj.astype(np.int64), pg.astype(np.int64), ok.any(axis=1)


def build(inst: Instance, *, integer: bool = True) -> Model:
    """The model of ``inst`` (see the module docstring); gang-1 only (check :func:`unsupported_reason`)."""
    t0 = time.perf_counter()
    jobs = inst.jobs
    n, G, R = inst.n_jobs, inst.n_gpus, len(inst.resources)
    objective = inst.problem.objective
    pj, pg, _ = pairs(inst)
    K = len(pj)
    ptype = inst.gpu_type[pg]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    kcols = np.arange(K)
    # assignment rows 0..n-1
    rows.append(pj)
    cols.append(kcols)
    vals.append(np.ones(K))
    if inst.problem.cls == "batch":
        assert jobs.time is not None
        ncol = K + 1
        rows.append(n + pg)
        cols.append(kcols)
        vals.append(jobs.time[pj, ptype])
        rows.append(n + np.arange(G))
        cols.append(np.full(G, K))
        vals.append(-np.ones(G))
        nrow = n + G
        row_lower = np.concatenate([np.ones(n), np.full(G, -INF)])
        row_upper = np.concatenate([np.ones(n), np.zeros(G)])
        cost = np.zeros(ncol)
        cost[K] = 1.0
        col_upper = np.ones(ncol)
        col_upper[K] = INF
        integ = np.ones(ncol, dtype=np.int32)
        integ[K] = 0
        sense, kind = 1, "makespan"
    else:
        dem = np.nan_to_num(jobs.demand[pj, ptype], nan=0.0)  # (K, R)
        cap = inst.gpu_capacity  # (G, R)
        for r in range(R):
            rows.append(n + pg * R + r)
            cols.append(kcols)
            vals.append(dem[:, r])
        nrow = n + G * R
        row_lower = np.concatenate([np.ones(n) if objective != "max-weight" else np.zeros(n), np.full(G * R, -INF)])
        row_upper = np.concatenate([np.ones(n), cap.reshape(-1)])
        ncol = K
        sense, kind = 1, "placement"
        if objective == "min-cost":
            assert jobs.cost is not None
            cost = np.nan_to_num(jobs.cost[pj, ptype], nan=0.0)
        elif objective == "max-weight":
            cost = jobs.weight[pj].astype(np.float64)
            sense = -1
        else:  # min-gpus: y columns K..K+G-1
            ncol = K + G
            ycols = K + np.arange(G)
            # capacity rows become sum d x - cap y <= 0
            rows.append(n + np.repeat(np.arange(G) * R, R) + np.tile(np.arange(R), G))
            cols.append(np.repeat(ycols, R))
            vals.append(-cap.reshape(-1))
            row_upper[n:] = 0.0
            # linking x[j,g] - y[g] <= 0
            link0 = nrow
            rows += [link0 + kcols, link0 + kcols]
            cols += [kcols, K + pg]
            vals += [np.ones(K), -np.ones(K)]
            nrow += K
            # symmetry breaking y[g] - y[g'] >= 0 for consecutive GPUs of one type
            order = np.lexsort((np.arange(G), inst.gpu_type))
            same = inst.gpu_type[order[1:]] == inst.gpu_type[order[:-1]]
            a, b = order[:-1][same], order[1:][same]
            S = len(a)
            sym0 = nrow
            rows += [sym0 + np.arange(S), sym0 + np.arange(S)]
            cols += [K + a, K + b]
            vals += [np.ones(S), -np.ones(S)]
            nrow += S
            row_lower = np.concatenate([row_lower, np.full(K, -INF), np.zeros(S)])
            row_upper = np.concatenate([row_upper, np.zeros(K), np.full(S, INF)])
            if inst.problem.params.get("measure") == "cost":
                prices = np.array([np.nan if t.cost_per_hour is None else t.cost_per_hour for t in inst.gpu_types])
                ycost = np.nan_to_num(prices[inst.gpu_type], nan=0.0)
            else:
                ycost = np.ones(G)
            cost = np.concatenate([np.zeros(K), ycost])
        col_upper = np.ones(ncol)
        integ = np.ones(ncol, dtype=np.int32)
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrow, ncol))
    if not integer:
        integ = np.zeros(ncol, dtype=np.int32)
    return Model(sense, np.asarray(cost, dtype=np.float64), np.zeros(ncol), col_upper, row_lower, row_upper, A,
                 integ, pj, pg, kind, time.perf_counter() - t0)


def new_highs(*, time_limit: float | None, threads: int, seed: int) -> Any:
    """A quiet ``highspy.Highs`` with the run's limits."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if time_limit is not None:
        h.setOptionValue("time_limit", max(0.05, float(time_limit)))
    h.setOptionValue("threads", max(1, int(threads)))
    h.setOptionValue("random_seed", int(seed) % 2147483647)
    return h


def pass_model(h: Any, m: Model, *, integer: bool = True) -> None:
    """Hand ``m`` to HiGHS in one call (integrality as one int32 array when ``integer``)."""
    A = m.A
    A.sort_indices()
    status = h.passModel(
        int(A.shape[1]), int(A.shape[0]), int(A.nnz), 1, int(m.sense), 0.0,
        m.cost, m.col_lower, m.col_upper, m.row_lower, m.row_upper,
        A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(np.float64),
        (m.integrality if integer else np.zeros(A.shape[1], dtype=np.int32)),
    )
    if str(status) not in ("HighsStatus.kOk", "HighsStatus.kWarning"):
        raise RuntimeError(f"HiGHS rejected the model: {status}")


def pass_arrays(h: Any, sense: int, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, row_lower: np.ndarray,
                row_upper: np.ndarray, A: sp.csc_matrix) -> None:
    """Hand an LP in CSC form to HiGHS in one call."""
    A = sp.csc_matrix(A)
    A.sort_indices()
    status = h.passModel(int(A.shape[1]), int(A.shape[0]), int(A.nnz), 1, int(sense), 0.0,
                         np.asarray(cost, float), np.asarray(lower, float), np.asarray(upper, float),
                         np.asarray(row_lower, float), np.asarray(row_upper, float),
                         A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(np.float64),
                         np.zeros(A.shape[1], dtype=np.int32))
    if str(status) not in ("HighsStatus.kOk", "HighsStatus.kWarning"):
        raise RuntimeError(f"HiGHS rejected the model: {status}")


def model_status(h: Any) -> str:
    """HiGHS model status as a short lower-case word (``optimal``, ``infeasible``, ``time limit``...)."""
    return h.modelStatusToString(h.getModelStatus()).lower()


# ---------------------------------------------------------------------- decoding answers
def chosen_pairs(m: Model, x: np.ndarray, n: int) -> np.ndarray:
    """Per job the pair (column) with the largest value above 0.5, or -1. ``(n,)``"""
    K = m.n_pairs
    xv = np.asarray(x[:K], dtype=np.float64)
    best = np.full(n, -1, dtype=np.int64)
    if K == 0:
        return best
    # pairs are sorted by job: the first column of each job with its job's max value
    order = np.lexsort((-xv, m.pair_job))
    first = np.ones(K, dtype=bool)
    first[1:] = m.pair_job[order[1:]] != m.pair_job[order[:-1]]
    cand = order[first]
    cand = cand[xv[cand] > 0.5]
    best[m.pair_job[cand]] = cand
    return best


def gpu_of_job(m: Model, best: np.ndarray) -> np.ndarray:
    """GPU index per job (-1: unplaced) from :func:`chosen_pairs`."""
    return np.where(best >= 0, m.pair_gpu[np.maximum(best, 0)], -1)


def overloaded(inst: Instance, gpu: np.ndarray) -> np.ndarray:
    """``(G,)`` GPUs whose load exceeds capacity (exact arithmetic on the rounded assignment)."""
    G, R = inst.n_gpus, len(inst.resources)
    load = np.zeros((G, R))
    j = np.flatnonzero(gpu >= 0)
    if len(j):
        np.add.at(load, gpu[j], np.nan_to_num(inst.jobs.demand[j, inst.gpu_type[gpu[j]]], nan=0.0))
    return (load > inst.gpu_capacity * (1 + 5e-10) + 5e-10).any(axis=1)


def repair_placement(inst: Instance, gpu: np.ndarray, score: np.ndarray | None = None) -> np.ndarray:
    """Move jobs off overloaded GPUs (greedy) until every GPU fits; jobs that fit nowhere become -1.

    While a GPU is overloaded, among its jobs that fit on some other usable GPU with room, the move
    with the least cost increase (``min-cost``; else the least committed job by ``score``, e.g. its
    LP value there) goes to the cheapest such GPU (else the one with most room left). When no job
    can move, the least committed job is taken off and, once every GPU fits, put back on the
    cheapest usable GPU with room if there is one. Returns a new array.
    """
    gpu = gpu.copy()
    jobs = inst.jobs
    n, G, R = inst.n_jobs, inst.n_gpus, len(inst.resources)
    gt = inst.gpu_type
    cap = inst.gpu_capacity * (1 + 5e-10) + 5e-10
    load = np.zeros((G, R))
    placed = np.flatnonzero(gpu >= 0)
    dem_all = np.nan_to_num(jobs.demand, nan=0.0)
    if len(placed):
        np.add.at(load, gpu[placed], dem_all[placed, gt[gpu[placed]]])
    usable = usable_types(inst)[:, gt]  # (n, G)
    cost = np.zeros((n, G))
    if inst.problem.objective == "min-cost" and jobs.cost is not None:
        cost = np.nan_to_num(jobs.cost[:, gt], nan=np.inf)
    sc = np.zeros(n) if score is None else np.asarray(score, dtype=np.float64)
    evicted: list[int] = []

    def target(j: int, exclude: int) -> int:
        d = dem_all[j, gt]  # (G, R)
        room = usable[j] & (load + d <= cap).all(axis=1)
        if exclude >= 0:
            room[exclude] = False
        if not room.any():
            return -1
        cand = np.flatnonzero(room)
        best = cand[cost[j, cand] == cost[j, cand].min()]
        return int(best[np.argmax((cap[best] - load[best] - d[best]).min(axis=1))])

    for g in np.flatnonzero((load > cap).any(axis=1)).tolist():
        while (load[g] > cap[g]).any():
            on = np.flatnonzero(gpu == g)
            moves = [(cost[j, k] - cost[j, g], sc[j], j, k) for j in on.tolist() if (k := target(j, g)) >= 0]
            if moves:
                _, _, j, k = min(moves)
                load[g] -= dem_all[j, gt[g]]
                load[k] += dem_all[j, gt[k]]
                gpu[j] = k
            else:
                j = int(on[np.argmin(sc[on])])
                load[g] -= dem_all[j, gt[g]]
                gpu[j] = -1
                evicted.append(j)
    for j in evicted:
        k = target(j, -1)
        if k >= 0:
            gpu[j] = k
            load[k] += dem_all[j, gt[k]]
    return gpu


def placement_answer(inst: Instance, gpu: np.ndarray) -> tuple[dict[str, Any], float]:
    """The placement solution document with its objective computed as the validator does."""
    chosen = [None if g < 0 else np.array([g]) for g in gpu.tolist()]
    doc = placement_doc(inst, chosen)
    jobs = inst.jobs
    placed = gpu >= 0
    obj = inst.problem.objective
    if obj == "min-cost":
        assert jobs.cost is not None
        value = float(np.nansum(jobs.cost[np.flatnonzero(placed), inst.gpu_type[gpu[placed]]]))
    elif obj == "max-weight":
        value = float(jobs.weight[placed].sum())
    else:
        used = np.zeros(inst.n_gpus, dtype=bool)
        used[gpu[placed]] = True
        if inst.problem.params.get("measure") == "cost":
            prices = np.array([np.nan if t.cost_per_hour is None else t.cost_per_hour for t in inst.gpu_types])
            value = float(prices[inst.gpu_type[used]].sum())
        else:
            value = float(used.sum())
    doc["objective"] = value
    return doc, value


def schedule_answer(inst: Instance, gpu: np.ndarray) -> tuple[dict[str, Any], float]:
    """Batch schedule: the jobs of each GPU back to back from 0 in index order; (document, makespan)."""
    jobs = inst.jobs
    assert jobs.time is not None
    dur = jobs.time[np.arange(inst.n_jobs), inst.gpu_type[gpu]]
    free = np.zeros(inst.n_gpus)
    sched: dict[str, Any] = {}
    end = 0.0
    for j in range(inst.n_jobs):
        g = int(gpu[j])
        s = float(free[g])
        sched[jobs.ids[j]] = {"gpus": [inst.gpu_ids[g]], "start": s}
        free[g] = s + float(dur[j])
        end = max(end, s + float(dur[j]))
    return {"problem": "batch", "schedule": sched, "objective": end}, end
