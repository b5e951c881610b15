"""Model building and HiGHS plumbing shared by ``ilp-highs``, ``lp-round`` and ``lp-allocation``.

Every model is built column-wise as numpy arrays and one ``scipy.sparse`` CSC matrix and handed to
highspy in ONE ``Highs.passModel`` call (integrality for all columns included, as an int32 array):
per-row or per-column highspy calls dominate at 10^5-10^6 columns. Nothing here modifies the
instance.

Models (:func:`build`; ``Model.kind`` names them). ``x`` columns come first, one per *usable*
(job, GPU) pair (the job is eligible for the GPU's type, its per-GPU demand fits the type's
capacity, and the GPU's gang group — :func:`schedbench.instances.gangs.gang_groups` — has at
least ``gang`` GPUs), sorted by job:

* ``placement`` (``min-cost`` GAP, ``max-weight`` multiple knapsack, ``min-gpus`` vector bin
  packing). A gang-1 job keeps the compact pair model: its ``x[j,g]`` is its choice. A job with
  gang > 1 also gets one binary ``z[j,k]`` per usable gang group ``k`` (a node, or a GPU type when
  ``allow_multi_node``) with rows ``sum_{g in k} x[j,g] - gang_j z[j,k] = 0`` and
  ``x[j,g] - z[j,k] <= 0`` (the latter tightens the LP). Assignment rows: ``sum_g x[j,g]`` (gang 1)
  or ``sum_k z[j,k]`` (gang > 1) ``= 1`` (``min-cost``, ``min-gpus``) or ``<= 1`` (``max-weight``).
  Capacity per GPU g and resource r: ``sum_j demand[j,type(g),r] x[j,g] <= capacity[g,r]`` (demand
  is per GPU of the gang, as the validator counts it). Objective: ``min-cost`` charges
  ``cost[j,type]`` once per job (on x for gang 1, on z otherwise — the validator's per-job cost);
  ``max-weight`` gains ``weight[j]`` once per job likewise; ``min-gpus`` adds ``y[g]`` binary,
  ``x[j,g] <= y[g]``, capacity ``<= capacity[g,r] y[g]``, symmetry breaking ``y[g] >= y[g']`` for
  consecutive interchangeable GPUs (same type when every gang is 1; same gang group otherwise — GPUs
  of one node, or of one type with ``allow_multi_node``, are interchangeable for every gang), and
  minimises ``sum y`` (``measure=cost``: ``sum cost_per_hour[type(g)] y[g]``). With every gang 1
  also: job j may only use the first ``q_j + 1`` GPUs of a type (``q_j`` its rank by decreasing size
  among the jobs usable there, :func:`_bin_order_pairs`) and, with one GPU type,
  ``sum y >= ceil(total demand / capacity)`` per resource.
* ``makespan`` (batch R||Cmax, gang 1, every release 0): ``sum_g x[j,g] = 1``; per GPU
  ``sum_j time[j,type(g)] x[j,g] - C <= 0``; minimise ``C``.
* ``time-indexed`` (batch ``weighted-completion`` / ``weighted-tardiness``, gang 1, releases
  allowed): see :func:`plan_time_indexed`. ``x[j,g,s]`` = job j starts on GPU g at period s (period
  length ``Model.period`` seconds); processing times and releases are rounded UP to whole periods,
  so every integer solution is a feasible continuous schedule; per job ``sum x = 1``; per GPU and
  period ``sum of x[j,g,s] with s <= t < s + p~[j,g] <= 1``, written in occupancy form with
  continuous ``o`` columns after the x columns (:func:`_occupancy`); the objective coefficient of
  ``x[j,g,s]`` is the job's *continuous* cost when started at ``s * period``:
  ``w_j (s*period + time[j,g])`` or ``w_j max(0, s*period + time[j,g] - d_j)``.

:func:`decode` turns any column vector of a model (an incumbent, a final solution) into a solution
document whose ``objective`` is computed as the validator computes it, or None.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from schedbench.instances.gangs import FIT_ATOL, FIT_RTOL, gang_groups, usable_types
from schedbench.instances.model import Instance
from schedbench.validator.placement import gpu_type_prices

from ._lib.documents import batch_doc, placement_doc
from ._lib.objectives import batch_value, placement_value
from ._lib.packing import normalised_size
from ._lib.schedule import left_shift

INF = np.inf
#: MIP statuses; HiGHS proves "optimal" within mip_rel_gap, so the solver only claims optimal when
#: the reported gap is at most this.
OPTIMAL_GAP = 1e-6
#: Default column budget of the time-indexed model (x columns); the period is chosen to fit it.
TI_MAX_COLUMNS = 200_000
#: Default period of an inexact time-indexed model: the median processing time over this many periods
#: (finer periods cost LP time faster than they gain precision), enlarged to fit the column budget.
TI_PERIODS_PER_JOB = 32
#: The time-indexed model is declined when it could not give each usable (job, GPU) pair at least
#: this many start periods within the column budget.
TI_MIN_PERIODS = 8


def _empty_int() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class Model:
    """A linear (mixed-integer) model in column-wise form plus the meaning of its columns.

    Columns ``0..n_pairs-1`` are the ``x`` columns (``pair_job``/``pair_gpu``; for ``time-indexed``
    also ``col_start``). Fields after ``build_s`` were added later and have defaults; ``kind`` is
    ``placement``, ``makespan`` or ``time-indexed``.
    """

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
    kind: str  # "placement" | "makespan" | "time-indexed"
    build_s: float = 0.0
    #: placement with gangs: job and gang group of each z column (columns z_col0 .. z_col0+Z-1)
    grp_job: np.ndarray = field(default_factory=_empty_int)
    grp_group: np.ndarray = field(default_factory=_empty_int)
    z_col0: int = 0
    #: min-gpus: first y column (y[g] = column y_col0 + g), -1 when absent
    y_col0: int = -1
    #: time-indexed: start period of each x column, the period (s), the jobs in the model (the
    #: others have zero cost whatever their completion and are appended after the MIP's jobs),
    #: whether the discretisation is exact (period 1, integer data), and a start solution
    col_start: np.ndarray = field(default_factory=_empty_int)
    period: float = 0.0
    ti_jobs: np.ndarray = field(default_factory=_empty_int)
    exact: bool = False
    start: np.ndarray | None = None

    @property
    def n_pairs(self) -> int:
        return len(self.pair_job)


def unsupported_reason(inst: Instance, solver: str = "ilp") -> str | None:
    """Why the models of :func:`build` do not apply to ``inst`` (None when they do).

    ``solver="ilp"`` (ilp-highs, export): placement with any gang; batch ``makespan`` with gang 1 and
    every release 0; batch ``weighted-completion``/``weighted-tardiness`` with gang 1 when the
    time-indexed model could give every usable (job, GPU) pair :data:`TI_MIN_PERIODS` start periods
    within :data:`TI_MAX_COLUMNS` columns. ``solver="lp"`` (lp-round): GAP with gang 1 and R||Cmax.
    """
    jobs = inst.jobs
    cls, objective = inst.problem.cls, inst.problem.objective
    gangs = int((jobs.gang != 1).sum())
    if cls == "placement":
        if solver == "lp" and gangs:
            return f"{gangs} job(s) have gang > 1; the LP rounding handles gang-1 GAP only"
        return None
    if cls != "batch":
        return f"no model for class {cls}"
    if gangs:
        return (
            f"{gangs} job(s) have gang > 1; batch models cover gang-1 jobs only (a gang needs its GPUs "
            "free at the same time: not modelled)"
        )
    if objective == "makespan":
        if (jobs.release != 0).any():
            return (
                "batch makespan with release times needs sequencing (R|r_j|Cmax); only every release 0 "
                "(R||Cmax) is modelled"
            )
        return None
    if solver == "lp":
        return f"lp-round does not model batch {objective}"
    if jobs.time is None:
        return "batch instance without processing times"
    n_pairs = int(usable_types(inst, need_time=True)[:, inst.gpu_type].sum())
    if n_pairs * TI_MIN_PERIODS > TI_MAX_COLUMNS:
        return (
            f"time-indexed model too large: {n_pairs} usable (job, GPU) pairs x {TI_MIN_PERIODS} periods "
            f"> {TI_MAX_COLUMNS} columns (meant for n*G*H <= {TI_MAX_COLUMNS})"
        )
    return None


def pairs(inst: Instance, usable: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usable (job, GPU) pairs sorted by job (the GPU's gang group must have ``gang`` GPUs), and per
    job whether it can be placed at all (for gang > 1: some group has ``gang`` usable GPUs).
    ``usable``: :func:`usable_types` of ``inst`` when already computed."""
    if usable is None:
        usable = usable_types(inst, need_time=inst.problem.cls == "batch")
    ok = usable[:, inst.gpu_type]  # (n, G)
    if (inst.jobs.gang > 1).any():
        group, _, size = gang_groups(inst)
        ok &= size[group][None, :] >= inst.jobs.gang[:, None]
    pj, pg = np.nonzero(ok)
    return pj.astype(np.int64), pg.astype(np.int64), np.asarray(ok.any(axis=1))


def _bin_order_pairs(inst: Instance, usable: np.ndarray, pj: np.ndarray, pg: np.ndarray) -> np.ndarray:
    """Symmetry breaking for ``min-gpus`` with every gang 1: which pairs to keep.

    The GPUs of one type are interchangeable. Order the jobs by decreasing normalised size and,
    within a type, number the used GPUs in the order of their first (in that job order) job: the
    k-th GPU's first job is at least the k-th job usable on the type, so job j only ever needs the
    first ``q_j + 1`` GPUs of a type, ``q_j`` = its rank among the jobs usable there. This numbering
    also puts the used GPUs first, as the ``y[g] >= y[g']`` rows ask, so both cuts keep an optimum.
    """
    order = np.argsort(-normalised_size(inst), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    usable_sorted = usable[order]  # (n, T) in job order
    q_sorted = np.cumsum(usable_sorted, axis=0) - 1  # rank among the type's usable jobs
    q = q_sorted[rank]  # back to job index, (n, T)
    t = inst.gpu_type
    gidx = np.arange(inst.n_gpus)
    by_type = np.lexsort((gidx, t))
    pos = np.empty(inst.n_gpus, dtype=np.int64)
    first_of_type = np.searchsorted(t[by_type], t[by_type])
    pos[by_type] = np.arange(inst.n_gpus) - first_of_type
    return pos[pg] <= q[pj, t[pg]]


def _csc(
    rows: list[np.ndarray], cols: list[np.ndarray], vals: list[np.ndarray], shape: tuple[int, int]
) -> sp.csc_matrix:
    r = np.concatenate(rows) if rows else _empty_int()
    c = np.concatenate(cols) if cols else _empty_int()
    v = np.concatenate(vals) if vals else np.zeros(0)
    return sp.csc_matrix((v, (r, c)), shape=shape)


def build(
    inst: Instance, *, integer: bool = True, period: float | None = None, max_columns: int = TI_MAX_COLUMNS
) -> Model:
    """The model of ``inst`` (see the module docstring; check :func:`unsupported_reason` first).

    ``period`` / ``max_columns`` apply to the time-indexed model only (``period`` None or <= 0:
    chosen by :func:`plan_time_indexed` to fit ``max_columns``).

    Raises:
        ValueError: a time-indexed model that cannot fit ``max_columns`` with the given ``period``.
    """
    t0 = time.perf_counter()
    if inst.problem.cls == "batch" and inst.problem.objective != "makespan":
        m = build_time_indexed(inst, period=period, max_columns=max_columns)
    elif inst.problem.cls == "batch":
        m = _build_makespan(inst)
    else:
        m = _build_placement(inst)
    if not integer:
        m.integrality = np.zeros(len(m.cost), dtype=np.int32)
    m.build_s = time.perf_counter() - t0
    return m


def _build_makespan(inst: Instance) -> Model:
    jobs = inst.jobs
    n, G = inst.n_jobs, inst.n_gpus
    pj, pg, _ = pairs(inst)
    K = len(pj)
    assert jobs.time is not None
    kcols = np.arange(K)
    rows = [pj, n + pg, n + np.arange(G)]
    cols = [kcols, kcols, np.full(G, K)]
    vals = [np.ones(K), jobs.time[pj, inst.gpu_type[pg]], -np.ones(G)]
    ncol = K + 1
    cost = np.zeros(ncol)
    cost[K] = 1.0
    col_upper = np.ones(ncol)
    col_upper[K] = INF
    integ = np.ones(ncol, dtype=np.int32)
    integ[K] = 0
    A = _csc(rows, cols, vals, (n + G, ncol))
    return Model(
        1,
        cost,
        np.zeros(ncol),
        col_upper,
        np.concatenate([np.ones(n), np.full(G, -INF)]),
        np.concatenate([np.ones(n), np.zeros(G)]),
        A,
        integ,
        pj,
        pg,
        "makespan",
    )


def _build_placement(inst: Instance) -> Model:
    jobs = inst.jobs
    n, G, R = inst.n_jobs, inst.n_gpus, len(inst.resources)
    objective = inst.problem.objective
    usable = usable_types(inst)
    pj, pg, _ = pairs(inst, usable)
    if objective == "min-gpus" and not (jobs.gang > 1).any():
        keep = _bin_order_pairs(inst, usable, pj, pg)
        pj, pg = pj[keep], pg[keep]
    K = len(pj)
    ptype = inst.gpu_type[pg]
    group, group_type, size = gang_groups(inst)
    gang = jobs.gang
    multi = gang > 1
    # z columns: (job, group) for gang > 1 jobs
    gj = np.flatnonzero(multi)
    okz = usable[gj][:, group_type] & (size[None, :] >= gang[gj, None])
    zj, zk = np.nonzero(okz)
    zj = gj[zj]
    zj, zk = zj.astype(np.int64), zk.astype(np.int64)
    Z = len(zj)
    rowpos = np.full(inst.n_jobs, -1, dtype=np.int64)
    rowpos[gj] = np.arange(len(gj))
    zid = np.full((len(gj), len(size)), -1, dtype=np.int64)  # (gang job, group) -> z index
    zid[rowpos[zj], zk] = np.arange(Z)
    kcols = np.arange(K)
    zcols = K + np.arange(Z)
    single = ~multi[pj]  # x columns of gang-1 jobs
    xg = np.flatnonzero(~single)  # x columns of gang jobs
    xz = zid[rowpos[pj[xg]], group[pg[xg]]]  # their z column index
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    up: list[np.ndarray] = []
    # assignment rows 0..n-1: x (gang 1) or z (gang > 1)
    rows += [pj[single], zj]
    cols += [kcols[single], zcols]
    vals += [np.ones(int(single.sum())), np.ones(Z)]
    lo.append(np.zeros(n) if objective == "max-weight" else np.ones(n))
    up.append(np.ones(n))
    nrow = n
    # link rows: sum_{g in k} x[j,g] - gang z[j,k] = 0
    rows += [nrow + xz, nrow + np.arange(Z)]
    cols += [xg, zcols]
    vals += [np.ones(len(xg)), -gang[zj].astype(np.float64)]
    lo.append(np.zeros(Z))
    up.append(np.zeros(Z))
    nrow += Z
    # x[j,g] - z[j,k] <= 0
    Xg = len(xg)
    rows += [nrow + np.arange(Xg), nrow + np.arange(Xg)]
    cols += [xg, K + xz]
    vals += [np.ones(Xg), -np.ones(Xg)]
    lo.append(np.full(Xg, -INF))
    up.append(np.zeros(Xg))
    nrow += Xg
    # capacity rows
    cap0 = nrow
    dem = np.nan_to_num(jobs.demand[pj, ptype], nan=0.0)  # (K, R)
    cap = inst.gpu_capacity  # (G, R)
    for r in range(R):
        rows.append(cap0 + pg * R + r)
        cols.append(kcols)
        vals.append(dem[:, r])
    lo.append(np.full(G * R, -INF))
    up.append(cap.reshape(-1).astype(np.float64))
    nrow += G * R
    ncol = K + Z
    sense = 1
    cost = np.zeros(ncol)
    y0 = -1
    if objective == "min-cost":
        assert jobs.cost is not None
        cost[kcols[single]] = np.nan_to_num(jobs.cost[pj[single], ptype[single]], nan=0.0)
        cost[zcols] = np.nan_to_num(jobs.cost[zj, group_type[zk]], nan=0.0)
    elif objective == "max-weight":
        cost[kcols[single]] = jobs.weight[pj[single]]
        cost[zcols] = jobs.weight[zj]
        sense = -1
    else:  # min-gpus: y columns
        y0 = ncol
        ncol += G
        ycols = y0 + np.arange(G)
        rows.append(cap0 + np.arange(G * R))
        cols.append(np.repeat(ycols, R))
        vals.append(-cap.reshape(-1))
        up[-1] = np.zeros(G * R)
        rows += [nrow + kcols, nrow + kcols]
        cols += [kcols, y0 + pg]
        vals += [np.ones(K), -np.ones(K)]
        lo.append(np.full(K, -INF))
        up.append(np.zeros(K))
        nrow += K
        # symmetry breaking among interchangeable GPUs (same type; same gang group when gangs exist)
        cls_of = inst.gpu_type if not multi.any() else group
        order = np.lexsort((np.arange(G), cls_of))
        same = cls_of[order[1:]] == cls_of[order[:-1]]
        a, b = order[:-1][same], order[1:][same]
        S = len(a)
        rows += [nrow + np.arange(S), nrow + np.arange(S)]
        cols += [y0 + a, y0 + b]
        vals += [np.ones(S), -np.ones(S)]
        lo.append(np.zeros(S))
        up.append(np.full(S, INF))
        nrow += S
        if len(inst.gpu_types) == 1 and G and n:  # sum_g y[g] >= ceil(total demand / capacity), each resource
            with np.errstate(divide="ignore", invalid="ignore"):
                need = np.nan_to_num(jobs.demand[:, 0, :], nan=0.0).sum(axis=0) / inst.type_capacity[0]
            need = need[np.isfinite(need)]
            least = float(np.ceil(need.max() - 1e-9)) if len(need) else 0.0
            if least > 0:
                rows.append(np.full(G, nrow))
                cols.append(ycols)
                vals.append(np.ones(G))
                lo.append(np.array([least]))
                up.append(np.array([INF]))
                nrow += 1
        if inst.problem.params.get("measure") == "cost":
            ycost = np.nan_to_num(gpu_type_prices(inst)[inst.gpu_type], nan=0.0)
        else:
            ycost = np.ones(G)
        cost = np.concatenate([cost, ycost])
    A = _csc(rows, cols, vals, (nrow, ncol))
    return Model(
        sense,
        cost,
        np.zeros(ncol),
        np.ones(ncol),
        np.concatenate(lo),
        np.concatenate(up),
        A,
        np.ones(ncol, dtype=np.int32),
        pj,
        pg,
        "placement",
        grp_job=zj,
        grp_group=zk,
        z_col0=K,
        y_col0=y0,
    )


# ---------------------------------------------------------------------- time-indexed model
@dataclass
class TiPlan:
    """The discretisation of a time-indexed model (see :func:`plan_time_indexed`).

    ``pj``/``pg``: usable (job, GPU) pairs of the MIP jobs, sorted by job; ``p``: their processing
    periods; ``rel``: their job's release period; ``last``: their last allowed start period;
    ``start_gpu``/``start_period``: the list-scheduling solution (per MIP job) whose value ``ub``
    (the continuous objective of a feasible schedule) restricts the horizon.
    """

    period: float
    rounding: str
    jobs: np.ndarray
    pj: np.ndarray
    pg: np.ndarray
    p: np.ndarray
    rel: np.ndarray
    last: np.ndarray
    ub: float
    start_gpu: np.ndarray
    start_period: np.ndarray
    exact: bool

    @property
    def counts(self) -> np.ndarray:
        """Start periods (columns) per pair."""
        return np.maximum(0, self.last - self.rel + 1)

    @property
    def columns(self) -> int:
        return int(self.counts.sum())

    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Per column its pair and its start period (columns grouped by pair, pairs sorted by job)."""
        cnt = self.counts
        first = np.cumsum(cnt) - cnt
        colpair = np.repeat(np.arange(len(cnt)), cnt)
        return colpair, self.rel[colpair] + (np.arange(int(cnt.sum())) - first[colpair])


def _occupancy(
    g: np.ndarray, s: np.ndarray, p: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Capacity of the time-indexed model in occupancy form, O(columns) nonzeros.

    Per GPU its *events* are the periods where some column starts or ends. One continuous column
    ``o[e]`` in [0, 1] per event and one equality row per event:
    ``o[e] - o[e-1] - sum(x starting at e) + sum(x ending at e) = 0`` (``o`` of the GPU's previous
    event, 0 before the first). So ``o[e]`` is the number of jobs running on the GPU during
    ``[e, next event)``, and ``o <= 1`` at every start point is exactly the interval-clique capacity
    ``sum of x[j,g,s] with s <= t < s + p~ <= 1`` (an interval graph's maximal cliques sit at start
    points): the same MIP and LP as the classical rows with ``p~`` nonzeros per column, with 2.
    Columns with ``p~ = 0`` (rounded-down models) occupy nothing. Returns the (row, column, value)
    triplets relative to the first row and to column ``len(s)`` for ``o``, and per event whether it
    is its GPU's first (``(E,)``).
    """
    C = len(s)
    occ = np.flatnonzero(p > 0)
    if not len(occ):
        return [], [], [], np.zeros(0, dtype=bool)
    span = int((s[occ] + p[occ]).max()) + 1
    k_start = g[occ] * span + s[occ]
    k_end = g[occ] * span + s[occ] + p[occ]
    keys = np.unique(np.concatenate([k_start, k_end]))
    E = len(keys)
    ev = np.arange(E)
    same = np.zeros(E, dtype=bool)
    same[1:] = keys[1:] // span == keys[:-1] // span
    prev = ev[same]
    rows = [ev, prev, np.searchsorted(keys, k_start), np.searchsorted(keys, k_end)]
    cols = [C + ev, C + prev - 1, occ, occ]
    vals = [np.ones(E), -np.ones(len(prev)), -np.ones(len(occ)), np.ones(len(occ))]
    return rows, cols, vals, ~same


def _periods(x: np.ndarray, period: float, up: bool) -> np.ndarray:
    """``x`` seconds in whole periods, rounded up (``k * period >= x``) or down (``k * period <= x``)."""
    if up:
        k = np.ceil(x / period)
        k += k * period < x
    else:
        k = np.floor(x / period)
        k -= k * period > x
    return np.maximum(k, 0).astype(np.int64)


def _ti_costs(inst: Instance, j: np.ndarray, finish: np.ndarray) -> np.ndarray:
    """Objective contribution of jobs ``j`` completing at ``finish`` (continuous seconds)."""
    w = inst.jobs.weight[j]
    if inst.problem.objective == "weighted-completion":
        return w * finish
    d = inst.jobs.deadline
    if d is None:  # no deadlines: never tardy
        return np.zeros(len(j))
    return w * np.where(np.isnan(d[j]), 0.0, np.maximum(0.0, finish - np.nan_to_num(d[j])))


def costly_jobs(inst: Instance) -> np.ndarray:
    """Jobs whose cost can be positive (weight > 0, and a deadline for ``weighted-tardiness``)."""
    jobs = inst.jobs
    pos = jobs.weight > 0
    if inst.problem.objective == "weighted-tardiness":
        d = jobs.deadline
        pos &= np.zeros(len(jobs), dtype=bool) if d is None else np.isfinite(d)
    return pos


def _ti_list_schedule(
    inst: Instance, mj: np.ndarray, P: np.ndarray, rel: np.ndarray, period: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """List schedules in periods over the MIP jobs ``mj`` (``P``: (len(mj), G) periods, -1 unusable),
    each job on the GPU where its continuous completion is earliest; the best of WSPT, release
    and (tardiness) EDD orders. Returns (GPU, start period) per MIP job and the objective."""
    jobs = inst.jobs
    assert jobs.time is not None
    tim = jobs.time[mj][:, inst.gpu_type]  # (m, G)
    ok = P >= 0
    pmin = np.where(ok, tim, np.inf).min(axis=1)
    w = jobs.weight[mj]
    orders = [np.lexsort((np.arange(len(mj)), -w / pmin)), np.lexsort((-w / pmin, rel))]
    if inst.problem.objective == "weighted-tardiness" and jobs.deadline is not None:
        orders.append(np.lexsort((-w / pmin, jobs.deadline[mj])))
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for order in orders:
        free = np.zeros(inst.n_gpus, dtype=np.int64)
        gpu = np.zeros(len(mj), dtype=np.int64)
        st = np.zeros(len(mj), dtype=np.int64)
        for i in order.tolist():
            cand = np.flatnonzero(ok[i])
            s = np.maximum(free[cand], rel[i])
            fin = s * period + tim[i, cand]
            k = int(np.lexsort((s + P[i, cand], fin))[0])
            g = int(cand[k])
            gpu[i], st[i] = g, int(s[k])
            free[g] = st[i] + P[i, g]
        value = float(_ti_costs(inst, mj, st * period + tim[np.arange(len(mj)), gpu]).sum())
        if best is None or value < best[2]:
            best = (gpu, st, value)
    assert best is not None
    return best


def ti_plan_at(inst: Instance, period: float, rounding: str = "up", ub: float | None = None) -> TiPlan:
    jobs = inst.jobs
    assert jobs.time is not None
    usable = usable_types(inst, need_time=True)[:, inst.gpu_type]
    mj = np.flatnonzero(costly_jobs(inst) & usable.any(axis=1))
    okm = usable[mj]
    li, pg = np.nonzero(okm)
    pj = mj[li]
    tim = jobs.time[pj, inst.gpu_type[pg]]
    up = rounding == "up"
    p = _periods(tim, period, up)
    relj = _periods(jobs.release[mj], period, up)
    P = np.full(okm.shape, -1, dtype=np.int64)
    P[li, pg] = p
    sg, sp = _empty_int(), _empty_int()
    if ub is None:
        ub = 0.0
        if len(mj):
            sg, sp, ub = _ti_list_schedule(inst, mj, _periods_dense(P, up), relj, period)
    # per-job lower bounds on its own cost, and the latest start an optimal solution can use
    pmin = np.full(len(mj), np.inf)
    np.minimum.at(pmin, li, tim)
    lb = _ti_costs(inst, mj, relj * period + pmin)
    slack = (ub - float(lb.sum()) + lb)[li]  # >= this job's own cost in any solution as good as ub
    w = jobs.weight[pj]
    if inst.problem.objective == "weighted-completion":
        latest_finish = slack / w
    else:
        d = jobs.deadline if jobs.deadline is not None else np.full(inst.n_jobs, np.nan)
        latest_finish = d[pj] + slack / w  # MIP jobs all have a deadline
    last = np.floor((latest_finish - tim) / period + 1e-7)
    last = np.where(np.isfinite(last), last, np.iinfo(np.int64).max // 4)
    pmax = np.zeros(len(mj), dtype=np.int64)
    np.maximum.at(pmax, li, p)
    horizon = int(relj.max(initial=0) + pmax.sum())  # a left-shifted optimum ends by then
    last = np.minimum(last.astype(np.int64), horizon - p)
    rel = relj[li]
    integral = bool(np.all(tim == np.round(tim)) and np.all(jobs.release[mj] == np.round(jobs.release[mj])))
    return TiPlan(
        period, rounding, mj, pj, pg, p, rel, last, float(ub), sg, sp, exact=up and period == 1.0 and integral
    )


def _periods_dense(P: np.ndarray, up: bool) -> np.ndarray:
    """For the list schedule a job must occupy at least one period (down-rounded 0 becomes 1)."""
    return np.where(P >= 0, np.maximum(P, 1), -1) if not up else P


def plan_time_indexed(inst: Instance, *, period: float | None = None, max_columns: int = TI_MAX_COLUMNS) -> TiPlan:
    """Choose the period of the time-indexed model and each pair's start window.

    Jobs whose cost is zero whatever their completion (weight 0; no deadline under tardiness) are
    left out: moving such a job after every other job of its GPU never delays another job, so some
    optimum schedules them last; the decoder appends them. Per MIP job and GPU the start period runs
    from the job's release period to the smallest of (a) ``horizon - p~`` with ``horizon = max
    release period + sum_j max_g p~[j,g]`` (some optimum of the discretised problem is left-shifted,
    so it ends by then) and (b) the latest start at which the job's own cost, plus the other jobs'
    smallest possible costs, stays within ``ub``, the value of a list schedule (every solution at
    least as good as ``ub`` — every optimum — respects it). Both keep an optimal solution of the
    discretised problem, so its optimum and the MIP's dual bound are unchanged.

    Period: the given one, else 1 s when every processing time and release of the MIP jobs is an
    integer and the model fits (exact), else grown from ``median time / TI_PERIODS_PER_JOB`` until
    the model has at most ``max_columns`` x columns (whole seconds for integer data).

    Raises:
        ValueError: the model does not fit (with a given period, or after 60 enlargements).
    """
    jobs = inst.jobs
    assert jobs.time is not None
    if period is not None and period > 0:
        plan = ti_plan_at(inst, float(period))
        if plan.columns > max_columns:
            raise ValueError(
                f"time-indexed model with period {period} has {plan.columns} columns; max_columns is {max_columns}"
            )
        return plan
    usable = usable_types(inst, need_time=True)[:, inst.gpu_type]
    mj = np.flatnonzero(costly_jobs(inst) & usable.any(axis=1))
    tim = jobs.time[mj][:, inst.gpu_type][usable[mj]]
    integral = bool(np.all(tim == np.round(tim)) and np.all(jobs.release[mj] == np.round(jobs.release[mj])))
    coarse = max(float(np.median(tim)) / TI_PERIODS_PER_JOB, 1e-6) if len(tim) else 1.0
    if integral:
        plan = ti_plan_at(inst, 1.0)
        if plan.columns <= max_columns:
            return plan
        coarse = max(coarse, 1.0)
    delta = coarse
    for _ in range(60):
        plan = ti_plan_at(inst, delta)
        over = plan.columns / max_columns
        if over <= 1.0:
            return plan
        delta *= max(1.05, 1.02 * over)
        if integral:
            delta = float(math.ceil(delta))
    raise ValueError(f"no period makes the time-indexed model fit {max_columns} columns")


def build_time_indexed(
    inst: Instance, *, period: float | None = None, max_columns: int = TI_MAX_COLUMNS, plan: TiPlan | None = None
) -> Model:
    """The time-indexed MIP of a batch ``weighted-completion``/``weighted-tardiness`` instance (gang 1).

    ``plan`` (e.g. ``ti_plan_at(inst, period, "down", ub)``) overrides the discretisation; with
    ``rounding="down"`` (times and releases rounded DOWN) the model is a relaxation of the continuous
    problem: each continuous schedule, its starts rounded down to periods, is feasible for it at no
    higher cost, so its LP or MIP bound is a valid lower bound.
    """
    t0 = time.perf_counter()
    if plan is None:
        plan = plan_time_indexed(inst, period=period, max_columns=max_columns)
    jobs = inst.jobs
    assert jobs.time is not None
    delta = plan.period
    cnt = plan.counts
    first = np.cumsum(cnt) - cnt
    colpair, s = plan.layout()
    C = len(colpair)
    cj, cg = plan.pj[colpair], plan.pg[colpair]
    tim = jobs.time[cj, inst.gpu_type[cg]]
    cost = _ti_costs(inst, cj, s * delta + tim)
    m = len(plan.jobs)
    pos = np.full(inst.n_jobs, -1, dtype=np.int64)
    pos[plan.jobs] = np.arange(m)
    orow, ocol, oval, seg = _occupancy(cg, s, plan.p[colpair])
    E = len(seg)
    A = _csc([pos[cj], *[m + r for r in orow]], [np.arange(C), *ocol], [np.ones(C), *oval], (m + E, C + E))
    ncol = C + E
    integ = np.concatenate([np.ones(C, dtype=np.int32), np.zeros(E, dtype=np.int32)])
    start = None
    if m and plan.rounding == "up":
        pid = np.full((inst.n_jobs, inst.n_gpus), -1, dtype=np.int64)
        pid[plan.pj, plan.pg] = np.arange(len(plan.pj))
        pp = pid[plan.jobs, plan.start_gpu]
        off = plan.start_period - plan.rel[pp]
        if (pp >= 0).all() and (off >= 0).all() and (off < cnt[pp]).all():
            start = np.zeros(ncol)
            start[first[pp] + off] = 1.0
            if E:  # o follows from x: per GPU the running sum of starts minus ends
                d = -(A[m:, :C] @ start[:C])
                run = np.cumsum(d)
                base = np.maximum.accumulate(np.where(seg, np.arange(E), 0))
                start[C:] = run - (run[base] - d[base])
    cost = np.concatenate([cost, np.zeros(E)])
    return Model(
        1,
        cost,
        np.zeros(ncol),
        np.ones(ncol),
        np.concatenate([np.ones(m), np.zeros(E)]),
        np.concatenate([np.ones(m), np.zeros(E)]),
        A,
        integ,
        cj,
        cg,
        "time-indexed",
        time.perf_counter() - t0,
        col_start=s,
        period=delta,
        ti_jobs=plan.jobs,
        exact=plan.exact,
        start=start,
    )


# ---------------------------------------------------------------------- HiGHS plumbing
def new_highs(*, time_limit: float | None, threads: int, seed: int) -> Any:
    """A quiet ``highspy.Highs`` with the run's limits, ready to ``run()`` with ``threads`` threads.

    HiGHS keeps ONE task scheduler per process, sized by the first ``run()`` in the process (from
    that instance's ``threads`` option; 0, the default, lets HiGHS pick from the hardware). A later
    ``run()`` whose ``threads`` differs from it fails at once with ``kError`` and model status
    "Not Set" (so a solve would end "unknown" after, say, any default ``highspy.Highs()`` had run
    in the process). The scheduler is therefore reset here, before every model this package
    solves, so the next ``run()`` builds it with ``threads``. Contract: no other HiGHS solve may be
    running in this process while this is called (solvers run one at a time per process; the
    reset waits for the scheduler's idle workers and costs well under a millisecond).
    """
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
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
        int(A.shape[1]),
        int(A.shape[0]),
        int(A.nnz),
        1,
        int(m.sense),
        0.0,
        m.cost,
        m.col_lower,
        m.col_upper,
        m.row_lower,
        m.row_upper,
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(np.float64),
        (m.integrality if integer else np.zeros(A.shape[1], dtype=np.int32)),
    )
    if str(status) not in ("HighsStatus.kOk", "HighsStatus.kWarning"):
        raise RuntimeError(f"HiGHS rejected the model: {status}")


def pass_arrays(
    h: Any,
    sense: int,
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    A: sp.csc_matrix,
) -> None:
    """Hand an LP in CSC form to HiGHS in one call."""
    A = sp.csc_matrix(A)
    A.sort_indices()
    status = h.passModel(
        int(A.shape[1]),
        int(A.shape[0]),
        int(A.nnz),
        1,
        int(sense),
        0.0,
        np.asarray(cost, float),
        np.asarray(lower, float),
        np.asarray(upper, float),
        np.asarray(row_lower, float),
        np.asarray(row_upper, float),
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(np.float64),
        np.zeros(A.shape[1], dtype=np.int32),
    )
    if str(status) not in ("HighsStatus.kOk", "HighsStatus.kWarning"):
        raise RuntimeError(f"HiGHS rejected the model: {status}")


def set_start(h: Any, x: np.ndarray) -> bool:
    """Offer HiGHS a feasible starting point (column values); False when highspy refuses it."""
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = np.asarray(x, dtype=np.float64).tolist()
    sol.value_valid = True
    return str(h.setSolution(sol)) in ("HighsStatus.kOk", "HighsStatus.kWarning")


def model_status(h: Any) -> str:
    """HiGHS model status as a short lower-case word (``optimal``, ``infeasible``, ``time limit``...)."""
    return h.modelStatusToString(h.getModelStatus()).lower()


# ---------------------------------------------------------------------- decoding answers
def chosen_pairs(m: Model, x: np.ndarray, n: int) -> np.ndarray:
    """Per job the x column with the largest value above 0.5, or -1. ``(n,)``"""
    K = m.n_pairs
    xv = np.asarray(x[:K], dtype=np.float64)
    best = np.full(n, -1, dtype=np.int64)
    if K == 0:
        return best
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


def _loads(inst: Instance, chosen: list[np.ndarray | None]) -> np.ndarray:
    G, R = inst.n_gpus, len(inst.resources)
    load = np.zeros((G, R))
    js = [j for j, g in enumerate(chosen) if g is not None and len(g)]
    if js:
        jj = np.concatenate([np.full(len(chosen[j]), j) for j in js])  # type: ignore[arg-type]
        gg = np.concatenate([chosen[j] for j in js])
        np.add.at(load, gg, np.nan_to_num(inst.jobs.demand[jj, inst.gpu_type[gg]], nan=0.0))
    return load


def _over(inst: Instance, load: np.ndarray) -> np.ndarray:
    return np.asarray((load > inst.gpu_capacity * (1 + FIT_RTOL) + FIT_ATOL).any(axis=1))


def overloaded(inst: Instance, gpu: np.ndarray) -> np.ndarray:
    """``(G,)`` GPUs whose load exceeds capacity (exact arithmetic on the rounded gang-1 assignment)."""
    return _over(inst, _loads(inst, [None if g < 0 else np.array([g]) for g in gpu.tolist()]))


def repair_placement(
    inst: Instance, gpu: np.ndarray, score: np.ndarray | None = None, fixed_load: np.ndarray | None = None
) -> np.ndarray:
    """Move gang-1 jobs off overloaded GPUs (greedy) until every GPU fits; jobs that fit nowhere become -1.

    ``gpu``: GPU per job for the jobs to repair (-1: not placed / not movable); ``fixed_load``
    ``(G, R)``: load of jobs that stay where they are (gangs). While a GPU is overloaded, among its
    jobs that fit on some other usable GPU with room, the move with the least cost increase
    (``min-cost``; else the least committed job by ``score``, e.g. its LP value there) goes to the
    cheapest such GPU (else the one with most room left). When no job can move, the least committed
    job is taken off and, once every GPU fits, put back on the cheapest usable GPU with room if there
    is one. Returns a new array (a GPU overloaded by fixed load alone stays overloaded).
    """
    gpu = gpu.copy()
    jobs = inst.jobs
    n, G, R = inst.n_jobs, inst.n_gpus, len(inst.resources)
    gt = inst.gpu_type
    cap = inst.gpu_capacity * (1 + 5e-10) + 5e-10
    load = np.zeros((G, R)) if fixed_load is None else fixed_load.astype(np.float64).copy()
    placed = np.flatnonzero(gpu >= 0)
    dem_all = np.nan_to_num(jobs.demand, nan=0.0)
    if len(placed):
        np.add.at(load, gpu[placed], dem_all[placed, gt[gpu[placed]]])
    usable = usable_types(inst)[:, gt] & (jobs.gang == 1)[:, None]  # (n, G)
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
            if not len(on):
                break
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
    """The placement document of a gang-1 assignment (GPU per job, -1 unplaced) and its objective."""
    chosen: list[np.ndarray | None] = [None if g < 0 else np.array([g]) for g in gpu.tolist()]
    doc = placement_doc(inst, chosen)
    value = placement_value(inst, chosen)
    doc["objective"] = value
    return doc, value


def schedule_answer(inst: Instance, gpu: np.ndarray) -> tuple[dict[str, Any], float]:
    """Batch schedule: the jobs of each GPU back to back from 0 in index order; (document, makespan)."""
    jobs = inst.jobs
    assert jobs.time is not None
    dur = jobs.time[np.arange(inst.n_jobs), inst.gpu_type[gpu]]
    free = np.zeros(inst.n_gpus)
    start = np.zeros(inst.n_jobs)
    for j in range(inst.n_jobs):
        g = int(gpu[j])
        start[j] = free[g]
        free[g] = start[j] + dur[j]
    doc = gang1_batch_doc(inst, gpu, start)
    return doc, float(doc["objective"])


def shift_and_append(
    inst: Instance, gpu: np.ndarray, start: np.ndarray, tail: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A gang-1 schedule (GPU and start per job) with each GPU's jobs kept in order and moved as
    early as their release and the previous job allow (:func:`~solvers._lib.schedule.left_shift`);
    the jobs in ``tail`` (GPU -1 allowed) are then appended, each on the usable GPU where it
    completes first. Returns (GPU per job, start per job)."""
    jobs = inst.jobs
    assert jobs.time is not None
    gpu = gpu.copy()
    tail_set = np.zeros(inst.n_jobs, dtype=bool)
    tail_set[tail] = True
    order = np.lexsort((start, gpu))
    order = order[~tail_set[order]]
    out = left_shift(inst, [gpu[j : j + 1] for j in range(inst.n_jobs)], order)
    free = np.zeros(inst.n_gpus)
    np.maximum.at(free, gpu[order], out[order] + jobs.time[order, inst.gpu_type[gpu[order]]])
    if len(tail):
        usable = usable_types(inst, need_time=True)[:, inst.gpu_type]
        for j in np.asarray(tail).tolist():
            cand = np.flatnonzero(usable[j])
            s = np.maximum(free[cand], jobs.release[j])
            fin = s + jobs.time[j, inst.gpu_type[cand]]
            k = int(np.argmin(fin))
            gpu[j], out[j] = cand[k], s[k]
            free[cand[k]] = fin[k]
    return gpu, out


def gang1_batch_doc(inst: Instance, gpu: np.ndarray, start: np.ndarray) -> dict[str, Any]:
    """A gang-1 batch solution document (GPU and start per job) with its objective."""
    doc = batch_doc(inst, [gpu[j : j + 1] for j in range(inst.n_jobs)], start)
    doc["objective"] = batch_value(inst, start, gpu)
    return doc


def decode(inst: Instance, model: Model, x: np.ndarray) -> dict[str, Any] | None:
    """The solution document (with its ``objective`` as the validator computes it) encoded by the
    column values ``x`` of ``model`` (from :func:`build` of this instance), or None when they
    encode no feasible answer.

    Columns above 0.5 count as chosen. ``placement``: a gang-1 job takes its x column with the
    largest value; a gang job takes its z column (largest value) and the ``gang`` GPUs of that group
    with the largest x values; near-integral values that break a capacity are repaired by moving
    gang-1 jobs (:func:`repair_placement`; under ``max-weight`` an unrepairable gang is dropped).
    ``makespan``: each GPU's jobs back to back from 0. ``time-indexed``: each MIP job at its start
    period, then every GPU's jobs left-shifted and the zero-cost jobs appended.
    """
    x = np.asarray(x, dtype=np.float64)
    n = inst.n_jobs
    if model.kind == "makespan":
        gpu = gpu_of_job(model, chosen_pairs(model, x, n))
        return None if (gpu < 0).any() else schedule_answer(inst, gpu)[0]
    if model.kind == "time-indexed":
        best = chosen_pairs(model, x, n)
        mj = model.ti_jobs
        if (best[mj] < 0).any():
            return None
        gpu = np.full(n, -1, dtype=np.int64)
        start = np.full(n, np.inf)
        gpu[mj] = model.pair_gpu[best[mj]]
        start[mj] = model.col_start[best[mj]] * model.period
        tail = np.setdiff1d(np.arange(n), mj)
        g2, s2 = shift_and_append(inst, gpu, start, tail)
        return gang1_batch_doc(inst, g2, s2)
    return _decode_placement(inst, model, x)


def _decode_placement(inst: Instance, model: Model, x: np.ndarray) -> dict[str, Any] | None:
    jobs = inst.jobs
    n = inst.n_jobs
    all_jobs = inst.problem.objective != "max-weight"
    K = model.n_pairs
    xv = x[:K]
    gang1 = jobs.gang == 1
    gpu = gpu_of_job(model, chosen_pairs(model, x, n))
    gpu[~gang1] = -1
    chosen: list[np.ndarray | None] = [None] * n
    Z = len(model.grp_job)
    if Z:
        zv = x[model.z_col0 : model.z_col0 + Z]
        order = np.lexsort((-zv, model.grp_job))
        first = np.ones(Z, dtype=bool)
        first[1:] = model.grp_job[order[1:]] != model.grp_job[order[:-1]]
        group, _, _ = gang_groups(inst)
        for z in order[first].tolist():
            if zv[z] <= 0.5:
                continue
            j, k = int(model.grp_job[z]), int(model.grp_group[z])
            cols = np.flatnonzero((model.pair_job == j) & (group[model.pair_gpu] == k))
            take = cols[np.argsort(-xv[cols], kind="stable")[: int(jobs.gang[j])]]
            chosen[j] = np.sort(model.pair_gpu[take])
    fixed = _loads(inst, chosen)
    single = [None if g < 0 else np.array([g]) for g in gpu.tolist()]
    if _over(inst, _loads(inst, [c if c is not None else s for c, s in zip(chosen, single, strict=True)])).any():
        score = np.zeros(n)
        hit = gpu[model.pair_job] == model.pair_gpu
        score[model.pair_job[hit]] = xv[hit]
        if _over(inst, fixed).any() and not all_jobs:  # drop the gangs on GPUs they overload
            bad = _over(inst, fixed)
            for j in range(n):
                if chosen[j] is not None and bad[chosen[j]].any():
                    chosen[j] = None
            fixed = _loads(inst, chosen)
        gpu = repair_placement(inst, gpu, score, fixed_load=fixed)
    for j in np.flatnonzero(gang1).tolist():
        chosen[j] = None if gpu[j] < 0 else np.array([gpu[j]])
    if _over(inst, _loads(inst, chosen)).any():
        return None
    if all_jobs and any(c is None for c in chosen):
        return None
    doc = placement_doc(inst, chosen)
    doc["objective"] = placement_value(inst, chosen)
    return doc
