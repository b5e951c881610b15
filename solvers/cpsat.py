"""OR-Tools CP-SAT as an external peer solver: ``cpsat`` (placement and batch, gang jobs included).

The models are written straight into CP-SAT's ``CpModelProto`` (``model.proto``): every index,
coefficient and bound is computed with numpy first, and the proto's repeated fields are filled
with ``extend`` — CP-SAT has no bulk variable constructor, so one short Python loop per variable
and per constraint row remains (about 3x faster than the ``new_bool_var``/``add`` API). The
proto helpers, the scaling rules and both models are documented on :class:`CpSat`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from schedbench.instances.gangs import FIT_ATOL, FIT_RTOL, gang_groups, usable_types
from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult
from schedbench.validator.batch import batch_objective
from schedbench.validator.placement import gpu_type_prices

from ._lib.assignment import regret_assign
from ._lib.documents import batch_doc, placement_doc
from ._lib.objectives import placement_value
from ._lib.packing import pack, placement_order, places_every_job
from ._lib.schedule import batch_order, left_shift, list_schedule

#: Decimal scales tried for exact integer data: 10**0 .. 10**6.
DECIMAL_POWERS = 7
#: Fixed resolution of an inexact scaling: 1e-6 of a capacity, of the largest cost/weight, of the horizon.
RESOLUTION = 1e6
#: Relative tolerance for "this float is an integer multiple of 10**-k".
INT_RTOL = 1e-9
#: Largest scaled capacity / horizon kept (CP-SAT works in int64; sums must not overflow).
MAX_SCALED = 1e12
#: Largest estimated |objective| in scaled integer units.
MAX_OBJECTIVE = 1e17
#: Instances with more option variables than this are declined (building alone would take minutes).
MAX_OPTIONS = 3_000_000


# ---------------------------------------------------------------------------------------- scaling
def decimal_scale(values: np.ndarray, cap: float) -> int | None:
    """Smallest ``10**k`` (k = 0..6) making every value an integer (relative tolerance 1e-9) with
    ``max |value| * 10**k <= cap``; None when there is none."""
    v = np.abs(np.asarray(values, dtype=np.float64).ravel())
    v = v[np.isfinite(v)]
    top = float(v.max()) if len(v) else 0.0
    for k in range(DECIMAL_POWERS):
        s = 10**k
        if top * s > cap:
            return None
        w = v * s
        if np.all(np.abs(w - np.round(w)) <= INT_RTOL * np.maximum(1.0, w)):
            return s
    return None


def scale_up(values: np.ndarray, s: float, exact: bool) -> np.ndarray:
    """``values * s`` as int64: rounded when the scale is exact, else rounded UP (never below)."""
    w = np.asarray(values, dtype=np.float64) * s
    return (np.round(w) if exact else np.ceil(w)).astype(np.int64)


def scale_down(values: np.ndarray, s: float, exact: bool) -> np.ndarray:
    """``values * s`` as int64: rounded when the scale is exact, else rounded DOWN (never above)."""
    w = np.asarray(values, dtype=np.float64) * s
    return (np.round(w) if exact else np.floor(w)).astype(np.int64)


def objective_scale(values: np.ndarray, count: int) -> tuple[float, bool]:
    """Scale for objective coefficients: an exact decimal one when ``count * max |v| * s`` stays
    below 1e15, else ``RESOLUTION / max |v|`` (inexact). Returns (scale, exact)."""
    v = np.abs(np.asarray(values, dtype=np.float64).ravel())
    top = float(v.max()) if len(v) else 0.0
    s = decimal_scale(v, 1e15 / max(1, count))
    if s is not None:
        return float(s), True
    return (RESOLUTION / top if top > 0 else 1.0), False


# ---------------------------------------------------------------------------------------- proto helpers
class Proto:
    """Thin writer over a ``CpModelProto``: variables are proto indices (ints), literals too."""

    def __init__(self, cp_model: Any) -> None:
        self.model = cp_model.CpModel()
        self.p = self.model.proto

    @property
    def n_vars(self) -> int:
        """Number of variables created so far."""
        return len(self.p.variables)

    @property
    def n_constraints(self) -> int:
        """Number of constraints added so far."""
        return len(self.p.constraints)

    def new_vars(self, lo: np.ndarray | int, hi: np.ndarray | int, count: int | None = None) -> np.ndarray:
        """``count`` (or ``len(lo)``) integer variables with domains ``[lo, hi]``; their indices."""
        lo_a = np.asarray(lo, dtype=np.int64)
        lo_a = np.broadcast_to(lo_a, (count if count is not None else len(lo_a),))
        hi_a = np.broadcast_to(np.asarray(hi, dtype=np.int64), lo_a.shape)
        first = self.n_vars
        add = self.p.variables.add
        for a, b in zip(lo_a.tolist(), hi_a.tolist(), strict=True):
            add().domain.extend((a, b))
        return np.arange(first, first + len(lo_a), dtype=np.int64)

    def linear_rows(self, row: np.ndarray, var: np.ndarray, coef: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Rows ``lo[i] <= sum coef * var <= hi[i]`` for every row id ``i`` present in ``row``."""
        if not len(row):
            return
        order = np.argsort(row, kind="stable")
        row, var, coef = row[order], var[order], coef[order]
        cuts = np.flatnonzero(np.diff(row)) + 1
        starts = np.concatenate([[0], cuts]).tolist()
        ends = np.concatenate([cuts, [len(row)]]).tolist()
        ids = row[np.asarray(starts, dtype=np.int64)]
        lo_l, hi_l = np.asarray(lo, dtype=np.int64)[ids].tolist(), np.asarray(hi, dtype=np.int64)[ids].tolist()
        var_l, coef_l = var.tolist(), coef.astype(np.int64).tolist()
        add = self.p.constraints.add
        for a, b, lo_i, hi_i in zip(starts, ends, lo_l, hi_l, strict=True):
            lin = add().linear
            lin.vars.extend(var_l[a:b])
            lin.coeffs.extend(coef_l[a:b])
            lin.domain.extend((lo_i, hi_i))

    def groups(self, kind: str, key: np.ndarray, lits: np.ndarray) -> None:
        """One ``exactly_one`` / ``at_most_one`` constraint per distinct ``key`` over its ``lits``."""
        if not len(key):
            return
        order = np.argsort(key, kind="stable")
        key, lits = key[order], lits[order]
        cuts = (np.flatnonzero(np.diff(key)) + 1).tolist()
        add = self.p.constraints.add
        for part in np.split(lits, cuts):
            getattr(add(), kind).literals.extend(part.tolist())

    def implications(self, a: np.ndarray, b: np.ndarray) -> None:
        """``a[i] => b[i]`` (``b[i] >= a[i]``) for literals."""
        add = self.p.constraints.add
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            ct = add()
            ct.enforcement_literal.append(x)
            ct.bool_and.literals.append(y)

    def intervals(self, start: np.ndarray, size: np.ndarray, end: np.ndarray, presence: np.ndarray) -> np.ndarray:
        """Optional intervals ``[start, end)`` of constant ``size`` present iff ``presence``; constraint indices."""
        first = self.n_constraints
        add = self.p.constraints.add
        for s, d, e, lit in zip(start.tolist(), size.tolist(), end.tolist(), presence.tolist(), strict=True):
            ct = add()
            ct.enforcement_literal.append(lit)
            iv = ct.interval
            iv.start.vars.append(s)
            iv.start.coeffs.append(1)
            iv.end.vars.append(e)
            iv.end.coeffs.append(1)
            iv.size.offset = d
        return np.arange(first, first + len(start), dtype=np.int64)

    def no_overlap(self, intervals: np.ndarray) -> None:
        """No two of ``intervals`` overlap."""
        self.p.constraints.add().no_overlap.intervals.extend(intervals.tolist())

    def cumulative(self, intervals: np.ndarray, demands: np.ndarray, capacity: int) -> None:
        """At any time the ``demands`` of the running ``intervals`` sum to at most ``capacity``."""
        cum = self.p.constraints.add().cumulative
        cum.intervals.extend(intervals.tolist())
        for d in demands.tolist():
            cum.demands.add().offset = d
        cum.capacity.offset = int(capacity)

    def minimise(self, var: np.ndarray, coef: np.ndarray) -> None:
        """Minimise ``sum coef * var``."""
        keep = coef != 0
        self.p.objective.vars.extend(var[keep].tolist())
        self.p.objective.coeffs.extend(coef[keep].astype(np.int64).tolist())

    def hint(self, var: np.ndarray, value: np.ndarray) -> None:
        """Solution hint: ``var`` takes ``value``."""
        self.p.solution_hint.vars.extend(np.asarray(var, dtype=np.int64).tolist())
        self.p.solution_hint.values.extend(np.asarray(value, dtype=np.int64).tolist())


# ---------------------------------------------------------------------------------------- models
@dataclass
class Built:
    """A model ready to solve, with what turns its solution vectors back into answers."""

    proto: Proto
    decode: Any  # (values: np.ndarray) -> (doc, value) or (None, None)
    convert_bound: Any  # (integer objective bound) -> valid bound on the instance's optimum, or None
    exact: bool  # the integer model is the instance exactly (optimal / infeasible claims allowed)
    greedy: tuple[dict[str, Any], float] | None  # the hint's answer when it is feasible
    info: dict[str, Any] = field(default_factory=dict)


def _cheap_bound(inst: Instance) -> float | None:
    from schedbench.validator.bounds import bounds

    b = bounds(inst)
    v = b.get("lower_bound", b.get("upper_bound"))
    return float(v) if v is not None and math.isfinite(v) else None


def _placement_fits(inst: Instance, gpus: list[np.ndarray | None]) -> bool:
    """Every GPU's float load fits (half the validator's tolerance)."""
    load = np.zeros((inst.n_gpus, len(inst.resources)))
    for j, g in enumerate(gpus):
        if g is not None:
            load[g] += np.nan_to_num(inst.jobs.demand[j, inst.gpu_type[g]], nan=np.inf)
    return bool((load <= inst.gpu_capacity * (1 + FIT_RTOL) + FIT_ATOL).all())


def _placement_greedy(inst: Instance) -> list[np.ndarray | None]:
    """The best of regret (min-cost, gang 1) and first/best fit decreasing: fewest unplaced, then objective."""
    order = placement_order(inst)
    cands = [pack(inst, order, "best"), pack(inst, order, "first")]
    if inst.problem.objective == "min-cost":
        r = regret_assign(inst)
        if r is not None:
            cands.insert(0, r)
        cands.append(pack(inst, order, "best", cost_first=False))
    sign = -1.0 if inst.problem.objective == "max-weight" else 1.0
    return min(cands, key=lambda c: (sum(g is None for g in c), sign * placement_value(inst, c)))


def _scaled_demands(inst: Instance, xj: np.ndarray, xg: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Integer demands per option ``(X, R)`` and capacities per type ``(T, R)``, scaled per (type,
    resource): an exact decimal scale, else 1e-6 of the capacity with demands rounded up and the
    capacity rounded down; and whether every scale with options on it is exact."""
    R = len(inst.resources)
    gtype = inst.gpu_type
    cap = inst.type_capacity  # (T, R)
    dem = np.nan_to_num(inst.jobs.demand[xj, gtype[xg]], nan=0.0)  # (X, R)
    xt = gtype[xg]
    Dp = np.zeros((len(xj), R), dtype=np.int64)
    Cp = np.zeros(cap.shape, dtype=np.int64)
    cap_exact = True
    for t in range(cap.shape[0]):
        on = xt == t
        for r in range(R):
            s_dec = decimal_scale(np.append(dem[on, r], cap[t, r]), MAX_SCALED)
            exact = s_dec is not None
            s = float(s_dec) if s_dec is not None else (RESOLUTION / cap[t, r] if cap[t, r] > 0 else 1.0)
            if not exact:
                cap_exact = cap_exact and not on.any()
            Dp[on, r] = scale_up(dem[on, r], s, exact)
            Cp[t, r] = scale_down(cap[t, r], s, exact)
    return Dp, Cp, cap_exact


def _capacity_rows(
    inst: Instance, m: Proto, xg: np.ndarray, xv: np.ndarray, uv: np.ndarray, Dp: np.ndarray, Cp: np.ndarray
) -> None:
    """Per GPU and resource ``sum_j Dp x <= Cp`` (``<= Cp u[g]`` for min-gpus), rows that can bind only."""
    G, R = inst.n_gpus, len(inst.resources)
    gtype = inst.gpu_type
    min_gpus = inst.problem.objective == "min-gpus"
    total = np.zeros((G, R), dtype=np.int64)
    np.add.at(total, xg, Dp)
    need = total > Cp[gtype]  # rows that can bind
    for r in range(R):
        sel = need[xg, r] & (Dp[:, r] > 0)
        rows = xg[sel]
        var, coef = xv[sel], Dp[sel, r]
        hi = Cp[gtype, r]
        if min_gpus:
            gs = np.flatnonzero(need[:, r])
            rows = np.concatenate([rows, gs])
            var = np.concatenate([var, uv[gs]])
            coef = np.concatenate([coef, -Cp[gtype[gs], r]])
            hi = np.zeros(G, dtype=np.int64)
        m.linear_rows(rows, var, coef, np.full(G, -(2**62)), hi)


def _placement_objective(
    inst: Instance,
    m: Proto,
    x: tuple[np.ndarray, np.ndarray, np.ndarray],
    y: tuple[np.ndarray, np.ndarray, np.ndarray],
    uv: np.ndarray,
    single: np.ndarray,
) -> tuple[float, float, bool]:
    """The objective, always minimised in integer units; returns (sign, scale, whether it is exact).
    ``x``: option job, GPU and variable; ``y``: gang job, group and variable; ``single``: x options
    of gang-1 jobs (gang jobs pay through y)."""
    jobs = inst.jobs
    n, G = inst.n_jobs, inst.n_gpus
    xj, xg, xv = x
    yj, yk, yv = y
    objective = inst.problem.objective
    if objective == "min-cost":
        assert jobs.cost is not None
        _, group_type, _ = gang_groups(inst)
        cx = np.nan_to_num(jobs.cost[xj, inst.gpu_type[xg]], nan=0.0)
        cy = np.nan_to_num(jobs.cost[yj, group_type[yk]], nan=0.0)
        s_obj, obj_exact = objective_scale(np.concatenate([cx, cy]), n)
        cx_i = scale_down(cx, s_obj, obj_exact) * single  # gang jobs pay through y
        m.minimise(np.concatenate([xv, yv]), np.concatenate([cx_i, scale_down(cy, s_obj, obj_exact)]))
        return 1.0, s_obj, obj_exact
    if objective == "max-weight":
        w = jobs.weight.astype(np.float64)
        s_obj, obj_exact = objective_scale(w, n)
        w_i = scale_up(w, s_obj, obj_exact)
        m.minimise(np.concatenate([xv, yv]), -np.concatenate([w_i[xj] * single, w_i[yj]]))
        return -1.0, s_obj, obj_exact
    price = gpu_type_prices(inst) if inst.problem.params.get("measure") == "cost" else np.ones(len(inst.gpu_types))
    s_obj, obj_exact = objective_scale(price, G)
    m.minimise(uv, scale_down(price, s_obj, obj_exact)[inst.gpu_type])
    return 1.0, s_obj, obj_exact


def _placement_hint(
    inst: Instance,
    m: Proto,
    x: tuple[np.ndarray, np.ndarray, np.ndarray],
    y: tuple[np.ndarray, np.ndarray, np.ndarray],
    uv: np.ndarray,
) -> tuple[dict[str, Any], float] | None:
    """Hint the greedy answer (:func:`_placement_greedy`) to the model; return it with its objective
    when it is a feasible answer (None otherwise)."""
    xj, xg, xv = x
    yj, yk, yv = y
    group, _, _ = gang_groups(inst)
    gang = inst.jobs.gang
    chosen = _placement_greedy(inst)
    complete = not (places_every_job(inst) and any(c is None for c in chosen))
    hx = np.zeros(len(xj), dtype=np.int64)
    hy = np.zeros(len(yj), dtype=np.int64)
    pos = {(int(j), int(g)): i for i, (j, g) in enumerate(zip(xj.tolist(), xg.tolist(), strict=True))}
    ypos = {(int(j), int(k)): i for i, (j, k) in enumerate(zip(yj.tolist(), yk.tolist(), strict=True))}
    for j, gl in enumerate(chosen):
        if gl is None:
            continue
        for g in gl.tolist():
            if (j, g) in pos:
                hx[pos[(j, g)]] = 1
        if gang[j] > 1 and (j, int(group[gl[0]])) in ypos:
            hy[ypos[(j, int(group[gl[0]]))]] = 1
    hint_v, hint_x = [xv, yv], [hx, hy]
    if inst.problem.objective == "min-gpus":
        used = np.zeros(inst.n_gpus, dtype=np.int64)
        np.maximum.at(used, xg, hx)
        hint_v.append(uv)
        hint_x.append(used)
    m.hint(np.concatenate(hint_v), np.concatenate(hint_x))
    if not (complete and _placement_fits(inst, chosen)):
        return None
    doc = placement_doc(inst, chosen)
    doc["objective"] = value = placement_value(inst, chosen)
    return doc, value


def build_placement(inst: Instance, cp_model: Any, p: dict[str, Any]) -> Built | str:
    """The placement model (see :class:`CpSat`), or a string: why the instance is infeasible."""
    jobs = inst.jobs
    n, G = inst.n_jobs, inst.n_gpus
    objective = inst.problem.objective
    all_jobs = places_every_job(inst)
    group, group_type, size = gang_groups(inst)
    K = len(group_type)
    gang = jobs.gang
    usable = usable_types(inst)
    okg = usable[:, group_type] & (size[None, :] >= gang[:, None])  # (n, K)
    if all_jobs and not okg.any(axis=1).all():
        bad = [jobs.ids[j] for j in np.flatnonzero(~okg.any(axis=1))[:5].tolist()]
        return f"job(s) {bad} fit on no gang group of a usable type"
    okx = okg[:, group]  # (n, G)
    xj, xg = np.nonzero(okx)
    multi = gang > 1
    yj, yk = np.nonzero(okg & multi[:, None])
    X, Y = len(xj), len(yj)
    m = Proto(cp_model)
    xv = m.new_vars(0, 1, X)
    yv = m.new_vars(0, 1, Y)
    kind = "exactly_one" if all_jobs else "at_most_one"
    single = ~multi[xj]
    m.groups(kind, xj[single], xv[single])
    m.groups(kind, yj, yv)
    if Y:  # sum_{g in k} x[j, g] = gang_j * y[j, k]
        ykey = yj * K + yk
        gx = ~single
        row = np.searchsorted(ykey, xj[gx] * K + group[xg[gx]])
        m.linear_rows(
            np.concatenate([row, np.arange(Y)]),
            np.concatenate([xv[gx], yv]),
            np.concatenate([np.ones(int(gx.sum()), dtype=np.int64), -gang[yj]]),
            np.zeros(Y),
            np.zeros(Y),
        )
    # capacities, scaled per (type, resource): exact decimal scale, else 1e-6 of the capacity with demands
    # rounded up and the capacity rounded down
    Dp, Cp, cap_exact = _scaled_demands(inst, xj, xg)
    uv = np.zeros(0, dtype=np.int64)
    if objective == "min-gpus":
        uv = m.new_vars(0, 1, G)
        m.implications(xv, uv[xg])
    _capacity_rows(inst, m, xg, xv, uv, Dp, Cp)
    sign, s_obj, obj_exact = _placement_objective(inst, m, (xj, xg, xv), (yj, yk, yv), uv, single)
    if objective == "min-gpus" and p["symmetry"]:
        _gpu_symmetry(inst, m, uv, group, bool(multi.any()))
    exact = cap_exact and obj_exact
    cheap = _cheap_bound(inst)

    def convert_bound(b: float) -> float | None:
        if not math.isfinite(b):
            return None
        if not cap_exact:  # the rounded model is a restriction: its bound says nothing of the instance
            return cheap
        v = sign * b / s_obj
        if cheap is not None:
            v = max(v, cheap) if sign > 0 else min(v, cheap)
        return float(v)

    gpu_lists = np.split(xg, np.flatnonzero(np.diff(xj)) + 1) if X else []
    gpu_job = xj[np.concatenate([[0], np.flatnonzero(np.diff(xj)) + 1])] if X else np.zeros(0, dtype=np.int64)

    def decode(vals: np.ndarray) -> tuple[dict[str, Any] | None, float | None]:
        on = vals[xv] > 0
        chosen: list[np.ndarray | None] = [None] * n
        parts = np.split(on, np.flatnonzero(np.diff(xj)) + 1) if X else []
        for j, gl, pick in zip(gpu_job.tolist(), gpu_lists, parts, strict=True):
            if pick.any():
                chosen[j] = gl[pick]
        if all_jobs and any(c is None for c in chosen):
            return None, None
        doc = placement_doc(inst, chosen)
        value = placement_value(inst, chosen)
        doc["objective"] = value
        return doc, value

    greedy = None
    info: dict[str, Any] = {
        "capacity_scaling_exact": cap_exact,
        "objective_scaling_exact": obj_exact,
        "objective_scale": s_obj,
    }
    if p["hint"]:
        greedy = _placement_hint(inst, m, (xj, xg, xv), (yj, yk, yv), uv)
        if greedy is not None:
            info["hint_objective"] = greedy[1]
    return Built(m, decode, convert_bound, exact, greedy, info)


def _gpu_symmetry(inst: Instance, m: Proto, uv: np.ndarray, group: np.ndarray, gangs: bool) -> None:
    """Symmetry breaking on the min-gpus ``u`` (GPU used) variables.

    Interchangeable GPUs: all GPUs of one type when every job has gang 1 or gangs may span nodes
    (a job's options depend only on the type), else the GPUs within one node; there, nodes of one
    type and size are interchangeable too. Any answer can be permuted (same objective) so that
    ``u`` is non-increasing along each chain of interchangeable GPUs (``u[a] >= u[b]``), and with
    node symmetry so that used counts are non-increasing along consecutive identical nodes
    (``sum u(node a) >= sum u(node b)``) — permute the nodes first, then GPUs within each node.
    """
    G = inst.n_gpus
    key = inst.gpu_type if (not gangs or _multi(inst)) else inst.gpu_node
    order = np.lexsort((np.arange(G), key))
    same = key[order[1:]] == key[order[:-1]]
    a, b = order[:-1][same], order[1:][same]
    S = len(a)
    if S:
        m.linear_rows(
            np.repeat(np.arange(S), 2),
            np.column_stack([uv[a], uv[b]]).ravel(),
            np.tile(np.array([1, -1], dtype=np.int64), S),
            np.zeros(S),
            np.full(S, 1),
        )
    if key is inst.gpu_node:
        nodes = inst.nodes
        sig = [(nd.gpu_type, len(nd.gpus)) for nd in nodes]
        pairs = [(k, k2) for k in range(len(nodes)) for k2 in range(k + 1, len(nodes)) if sig[k] == sig[k2]]
        nxt: dict[int, int] = {}
        for k, k2 in pairs:  # consecutive identical nodes only
            nxt.setdefault(k, k2)
        rows, var, coef = [], [], []
        for i, (k, k2) in enumerate(sorted(nxt.items())):
            ga, gb = np.flatnonzero(inst.gpu_node == k), np.flatnonzero(inst.gpu_node == k2)
            rows += [np.full(len(ga) + len(gb), i)]
            var += [uv[ga], uv[gb]]
            coef += [np.ones(len(ga), dtype=np.int64), -np.ones(len(gb), dtype=np.int64)]
        if rows:
            nr = len(nxt)
            m.linear_rows(np.concatenate(rows), np.concatenate(var), np.concatenate(coef), np.zeros(nr), np.full(nr, G))


def _multi(inst: Instance) -> bool:
    return bool(inst.problem.params.get("allow_multi_node", False))


# ---------------------------------------------------------------------------------------- batch
def assign_gpus(
    members: np.ndarray, start: np.ndarray, end: np.ndarray, gang: np.ndarray, gpus: np.ndarray
) -> dict[int, np.ndarray] | None:
    """Concrete GPUs for the jobs ``members`` of one cumulative group (capacity ``len(gpus)``).

    Greedy in start order (ties: job index), each job on the ``gang`` lowest-index GPUs of the group
    that are free at its start. This always succeeds when the integer intervals ``[start, end)``
    with demands ``gang`` respect the cumulative capacity ``M = len(gpus)``: by induction every GPU
    holds non-overlapping jobs; when job ``j`` is processed, the processed jobs still running at
    ``start_j`` all started at or before ``start_j`` and run at ``start_j``, as does ``j``, so the
    cumulative constraint at ``start_j`` gives ``sum_busy gang + gang_j <= M``; each busy job
    holds exactly its ``gang`` GPUs and no GPU holds two of them, so at least ``gang_j`` GPUs are
    free (intervals are half-open: a job ending at ``start_j`` frees its GPUs). None if it fails
    (which would mean the schedule broke the cumulative constraint).
    """
    free = np.full(len(gpus), np.iinfo(np.int64).min)
    out: dict[int, np.ndarray] = {}
    for j in members[np.lexsort((members, start[members]))].tolist():
        ok = np.flatnonzero(free <= start[j])
        if len(ok) < gang[j]:
            return None
        take = ok[: gang[j]]
        free[take] = end[j]
        out[j] = gpus[take]
    return out


def _batch_greedy(inst: Instance) -> tuple[list[np.ndarray], np.ndarray, float] | None:
    """The best list schedule of the LPT, WSPT and EDD orders (``heuristics.list_schedule``)."""
    best = None
    assert inst.jobs.time is not None
    for rule in ("lpt", "wspt", "edd"):
        out = list_schedule(inst, batch_order(inst, rule))
        if out is None:
            return None
        gpus, start = out
        dur = inst.jobs.time[np.arange(inst.n_jobs), inst.gpu_type[[g[0] for g in gpus]]] if inst.n_jobs else start
        value = batch_objective(inst, start + dur)
        if best is None or value < best[2]:
            best = (gpus, start, value)
    return best


def _batch_weights(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, bool]:
    """Per job whether it has a deadline that counts (weighted-tardiness), the deadlines (0 where
    none), the objective weights (0 where they do not count; all 0 for makespan), and the weights'
    integer scale with whether it is exact (a decimal scale) or approximate (1e6 / max weight)."""
    jobs = inst.jobs
    n = inst.n_jobs
    objective = inst.problem.objective
    has_d = np.zeros(n, dtype=bool)
    dl = np.zeros(n)
    if objective == "weighted-tardiness" and jobs.deadline is not None:
        has_d = ~np.isnan(jobs.deadline)
        dl = np.nan_to_num(jobs.deadline)
    weighted = objective != "makespan"
    wmask = has_d if objective == "weighted-tardiness" else np.ones(n, dtype=bool)
    w = np.where(wmask, jobs.weight, 0.0) if weighted else np.zeros(n)
    s_w, w_exact = 1.0, True
    if weighted:
        sw = decimal_scale(w, 1e6)
        s_w, w_exact = (float(sw), True) if sw is not None else ((1e6 / w.max()) if w.max() > 0 else 1.0, False)
    return has_d, dl, w, s_w, w_exact


def _resource_constraints(
    m: Proto,
    iv: np.ndarray,
    opts: tuple[np.ndarray, np.ndarray, np.ndarray],
    gang: np.ndarray,
    size: np.ndarray,
    pure_load: bool,
) -> None:
    """No-overlap per disjunctive GPU (unless ``pure_load``) and a cumulative per gang group with gangs;
    ``opts``: per option its job, resource (GPU or group) and whether the resource is a cumulative."""
    opt_job, opt_res, opt_cum = opts
    if not pure_load:
        d_opt = np.flatnonzero(~opt_cum)
        d_sorted = d_opt[np.argsort(opt_res[d_opt], kind="stable")]
        for part in np.split(d_sorted, np.flatnonzero(np.diff(opt_res[d_sorted])) + 1):
            if len(part) > 1:
                m.no_overlap(iv[part])
    c_opt = np.flatnonzero(opt_cum)
    c_sorted = c_opt[np.argsort(opt_res[c_opt], kind="stable")]
    for part in np.split(c_sorted, np.flatnonzero(np.diff(opt_res[c_sorted])) + 1):
        if len(part):
            m.cumulative(iv[part], gang[opt_job[part]], int(size[opt_res[part[0]]]))


def _bound_terms(
    objective: str, s: float, t_exact: bool, ptime: np.ndarray, w: np.ndarray, dl: np.ndarray
) -> tuple[float, float]:
    """``(lam, A)`` of the conservative bound ``OPT >= (LB / s_w - A) / lam`` (see :class:`CpSat`)."""
    pos = ptime[ptime > 0]
    p_min = float(pos.min()) if len(pos) else 1.0
    lam = s if t_exact else s + 2.0 / p_min
    if t_exact:
        add_term = 0.0
    elif objective == "makespan":
        add_term = 2.0
    elif objective == "weighted-completion":
        add_term = 2.0 * float(w.sum())
    else:
        add_term = float(np.dot(w, (lam - s) * np.maximum(dl, 0.0) + 2.0))
    return lam, add_term


def _batch_objective(
    inst: Instance,
    m: Proto,
    opts: tuple[np.ndarray, np.ndarray, np.ndarray],
    lit: np.ndarray,
    E: np.ndarray,
    P: np.ndarray,
    Rl: np.ndarray,
    D: np.ndarray,
    w_i: np.ndarray,
    has_d: np.ndarray,
    span: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray] | None:
    """The objective in integer time: makespan ``M >= E_j`` (plus load rows per resource),
    ``sum w E`` or ``sum w T`` with ``T_j >= E_j - D_j``. Returns the extra variables to hint:
    ``(M, _)`` for makespan, ``(T, jobs with a deadline)`` for tardiness, None otherwise.
    ``span``: (lower bound of the makespan, horizon)."""
    n, G = inst.n_jobs, inst.n_gpus
    _, _, size = gang_groups(inst)
    K = len(size)
    gang = inst.jobs.gang
    opt_job, opt_res, opt_cum = opts
    lo_bound, H = span
    objective = inst.problem.objective
    if objective == "makespan":
        M = m.new_vars(lo_bound, H, 1)
        m.linear_rows(
            np.concatenate([np.arange(n), np.arange(n)]),
            np.concatenate([E, np.full(n, M[0])]),
            np.concatenate([np.ones(n, dtype=np.int64), -np.ones(n, dtype=np.int64)]),
            np.full(n, -(2**62)),
            np.zeros(n),
        )
        # load rows: on each resource (GPU or cumulative group) the work fits in [min release, M]
        res_id = np.where(opt_cum, G + opt_res, opt_res)
        cap_of = np.concatenate([np.ones(G, dtype=np.int64), size])
        rmin = np.full(G + K, np.iinfo(np.int64).max)
        np.minimum.at(rmin, res_id, Rl[opt_job])
        used = np.unique(res_id)
        work = P * gang[opt_job]
        m.linear_rows(
            np.concatenate([res_id, used]),
            np.concatenate([lit, np.full(len(used), M[0])]),
            np.concatenate([work, -cap_of[used]]),
            np.full(G + K, -(2**62)),
            np.where(rmin < np.iinfo(np.int64).max, -cap_of * np.minimum(rmin, 2**40), 0),
        )
        m.minimise(M, np.ones(1, dtype=np.int64))
        return M, M
    if objective == "weighted-completion":
        m.minimise(E, w_i)
        return None
    tj = np.flatnonzero(has_d)
    Tv = m.new_vars(0, H, len(tj))
    m.linear_rows(
        np.concatenate([np.arange(len(tj)), np.arange(len(tj))]),
        np.concatenate([Tv, E[tj]]),
        np.concatenate([np.ones(len(tj), dtype=np.int64), -np.ones(len(tj), dtype=np.int64)]),
        -D[tj],
        np.full(len(tj), 2**62),
    )
    m.minimise(Tv, w_i[tj])
    return Tv, tj


def build_batch(inst: Instance, cp_model: Any, p: dict[str, Any]) -> Built | str:
    """The batch model (see :class:`CpSat`), or a string: why the instance is infeasible."""
    jobs = inst.jobs
    assert jobs.time is not None
    n, G = inst.n_jobs, inst.n_gpus
    objective = inst.problem.objective
    group, group_type, size = gang_groups(inst)
    K = len(group_type)
    gang = jobs.gang
    usable = usable_types(inst, need_time=True)
    okg = usable[:, group_type] & (size[None, :] >= gang[:, None])  # (n, K)
    if not okg.any(axis=1).all():
        bad = [jobs.ids[j] for j in np.flatnonzero(~okg.any(axis=1))[:5].tolist()]
        return f"job(s) {bad} have no usable gang group"
    greedy = _batch_greedy(inst)
    assert greedy is not None
    g_gpus, g_start, g_value = greedy
    cum = np.asarray((okg & (gang > 1)[:, None]).any(axis=0))  # groups modelled with a cumulative
    # options: (job, GPU) on disjunctive groups, (job, group) on cumulative ones; sorted by job
    dj, dg = np.nonzero(okg[:, group] & ~cum[group][None, :])
    cj, ck = np.nonzero(okg & cum[None, :])
    opt_job = np.concatenate([dj, cj])
    opt_res = np.concatenate([dg, ck])
    opt_cum = np.concatenate([np.zeros(len(dj), dtype=bool), np.ones(len(cj), dtype=bool)])
    opt_type = np.concatenate([inst.gpu_type[dg], group_type[ck]])
    key = opt_job * (G + K) + np.where(opt_cum, G + opt_res, opt_res)
    srt = np.argsort(key, kind="stable")
    opt_job, opt_res, opt_cum, opt_type, key = opt_job[srt], opt_res[srt], opt_cum[srt], opt_type[srt], key[srt]
    n_opt = len(opt_job)
    ptime = jobs.time[opt_job, opt_type]
    rel = jobs.release.astype(np.float64)
    has_d, dl, w, s_w, w_exact = _batch_weights(inst)
    weighted = objective != "makespan"
    w_i = scale_down(w, s_w, w_exact)
    # time scale: exact decimal when every time, release (and deadline) is a multiple of 10**-k
    pmax = np.zeros(n)
    np.maximum.at(pmax, opt_job, ptime)
    h_safe = float(rel.max(initial=0.0) + pmax.sum())
    h_use = (g_value if objective == "makespan" else h_safe) * 1.01 + 1.0
    h_ls = float(np.max(g_start + jobs.time[np.arange(n), inst.gpu_type[[g[0] for g in g_gpus]]], initial=1.0))
    wsum = float(w_i.sum()) if weighted else 1.0
    cap_t = min(MAX_SCALED, MAX_OBJECTIVE / max(1.0, wsum)) / max(h_use, 1e-300)
    vals = np.concatenate([ptime, rel, dl[has_d]])
    s_dec = _time_scale(vals, cap_t)
    t_exact = s_dec is not None
    s = float(s_dec) if s_dec is not None else min(RESOLUTION / max(h_ls, 1e-12), cap_t)
    P = np.maximum(1, scale_up(ptime, s, t_exact))
    Rl = scale_up(rel, s, t_exact)
    D = scale_up(dl, s, t_exact)
    # the hint, simulated in integer time on the greedy's GPUs (always feasible)
    g_first = np.array([g[0] for g in g_gpus], dtype=np.int64)
    g_cum = cum[group[g_first]]
    hkey = np.arange(n) * (G + K) + np.where(g_cum, G + group[g_first], g_first)
    hopt = np.searchsorted(key, hkey)
    assert (key[hopt] == hkey).all()
    hS = np.zeros(n, dtype=np.int64)
    free = np.zeros(G, dtype=np.int64)
    for j in np.lexsort((np.arange(n), g_start)).tolist():
        st = max(int(Rl[j]), int(free[g_gpus[j]].max()))
        hS[j] = st
        free[g_gpus[j]] = st + int(P[hopt[j]])
    hE = hS + P[hopt]
    Pmin = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(Pmin, opt_job, P)
    Pmx = np.zeros(n, dtype=np.int64)
    np.maximum.at(Pmx, opt_job, P)
    H = int(hE.max(initial=0))
    if objective != "makespan":
        H = max(H, int(Rl.max(initial=0)) + int(Pmx.sum()))
    m = Proto(cp_model)
    lit = m.new_vars(0, 1, n_opt)
    S = m.new_vars(Rl, H - Pmin)
    E = m.new_vars(Rl + Pmin, np.full(n, H))
    m.groups("exactly_one", opt_job, lit)
    # E_j - S_j - sum_o P_o lit_o = 0
    m.linear_rows(
        np.concatenate([opt_job, np.arange(n), np.arange(n)]),
        np.concatenate([lit, E, S]),
        np.concatenate([-P, np.ones(n, dtype=np.int64), -np.ones(n, dtype=np.int64)]),
        np.zeros(n),
        np.zeros(n),
    )
    same_release = bool(n) and bool((Rl == Rl[0]).all())
    pure_load = objective == "makespan" and same_release  # disjunctive GPUs need no intervals (see docstring)
    need_iv = opt_cum | (not pure_load)
    iv = np.full(n_opt, -1, dtype=np.int64)
    sel = np.flatnonzero(need_iv)
    iv[sel] = m.intervals(S[opt_job[sel]], P[sel], E[opt_job[sel]], lit[sel])
    _resource_constraints(m, iv, (opt_job, opt_res, opt_cum), gang, size, pure_load)
    lo_bound = int((Rl + Pmin).max(initial=0))
    extra = _batch_objective(inst, m, (opt_job, opt_res, opt_cum), lit, E, P, Rl, D, w_i, has_d, (lo_bound, H))
    # the conservative bound (module docstring of CpSat): OPT >= (LB / s_w - A) / lam
    lam, add_term = _bound_terms(objective, s, t_exact, ptime, w, dl)
    cheap = _cheap_bound(inst)

    def convert_bound(b: float) -> float | None:
        if not math.isfinite(b):
            return cheap
        v = ((b / s_w) - add_term) / lam
        return float(v if cheap is None else max(v, cheap))

    gpu_lo = [np.flatnonzero(group == k) for k in range(K)]

    def decode(v: np.ndarray) -> tuple[dict[str, Any] | None, float | None]:
        on = v[lit] > 0
        idx = np.flatnonzero(on)
        if len(idx) != n:
            return None, None
        o = idx[np.argsort(opt_job[idx], kind="stable")]
        Sv = v[S]
        Ev = Sv + P[o]
        gl: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n
        dis = ~opt_cum[o]
        for j in np.flatnonzero(dis).tolist():
            gl[j] = np.array([opt_res[o[j]]])
        for k in np.unique(opt_res[o[~dis]]).tolist():
            members = np.flatnonzero(~dis & (opt_res[o] == k))
            got = assign_gpus(members, Sv, Ev, gang, gpu_lo[k])
            if got is None:
                return None, None
            for j, g in got.items():
                gl[j] = np.sort(g)
        order = np.lexsort((np.arange(n), Sv))
        start = left_shift(inst, gl, order)
        assert jobs.time is not None
        dur = jobs.time[np.arange(n), inst.gpu_type[[g[0] for g in gl]]]
        return _doc(inst, gl, start, dur)

    info: dict[str, Any] = {
        "time_scaling_exact": t_exact,
        "time_scale": s,
        "weight_scaling_exact": w_exact,
        "horizon": H,
        "pure_load": pure_load,
        "cumulative_groups": int(cum.sum()),
        "hint_objective": g_value,
    }
    if p["hint"]:
        hint_lit = np.zeros(n_opt, dtype=np.int64)
        hint_lit[hopt] = 1
        hv = [lit, S, E]
        hx = [hint_lit, hS, hE]
        if extra is not None:  # makespan M = H; tardiness T = max(0, E - D)
            hv.append(extra[0])
            hx.append(np.array([H]) if objective == "makespan" else np.maximum(0, hE[extra[1]] - D[extra[1]]))
        m.hint(np.concatenate(hv), np.concatenate(hx))
    g_dur = jobs.time[np.arange(n), inst.gpu_type[g_first]]
    gdoc = _doc(inst, [np.asarray(g) for g in g_gpus], g_start, g_dur)
    return Built(m, decode, convert_bound, t_exact and w_exact, gdoc, info)


def _time_scale(values: np.ndarray, cap_t: float) -> int | None:
    """Exact decimal time scale ``10**k`` with ``k <= 6`` and ``10**k <= cap_t`` (horizon and objective
    magnitude limits folded into ``cap_t``), or None."""
    for k in range(DECIMAL_POWERS):
        sc = 10**k
        if sc > cap_t:
            return None
        w = np.abs(values) * sc
        if np.all(np.abs(w - np.round(w)) <= INT_RTOL * np.maximum(1.0, w)):
            return sc
    return None


def _doc(inst: Instance, gl: list[np.ndarray], start: np.ndarray, dur: np.ndarray) -> tuple[dict[str, Any], float]:
    """The schedule document of per-job GPUs ``gl`` and ``start`` (durations ``dur``) and its objective."""
    doc = batch_doc(inst, gl, start)
    value = batch_objective(inst, start + dur)
    doc["objective"] = value
    return doc, value


def _configured_solver(cp_model: Any, p: dict[str, Any], context: Context) -> Any:
    """A CP-SAT solver with the run's time limit (less the margin), deterministic time, workers and seed."""
    solver = cp_model.CpSolver()
    prm = solver.parameters
    margin = p["margin"] + 0.02 * context.time_limit
    prm.max_time_in_seconds = max(0.05, context.remaining() - margin)
    if p["deterministic_time"] > 0:
        prm.max_deterministic_time = p["deterministic_time"]
    prm.num_workers = int(p["workers"])
    prm.random_seed = int(context.seed) % 2_147_483_647
    prm.log_search_progress = False
    return solver


# ---------------------------------------------------------------------------------------- the solver
class CpSat(Solver):
    """OR-Tools CP-SAT on placement (GAP / multiple knapsack / vector bin packing) and batch
    (makespan, weighted completion, weighted tardiness), gang jobs and release times included.

    **Placement.** A *gang group* (``schedbench.instances.gangs.gang_groups``) is a node, or all GPUs of one type with
    ``allow_multi_node``. Booleans ``x[j,g]`` for every GPU g of a group that can host job j alone
    (its type usable, the group has ``gang_j`` GPUs). Gang-1 jobs: ``exactly_one(x[j,:])``
    (``at_most_one`` for ``max-weight``). Gang > 1 jobs: a boolean ``y[j,k]`` per usable group,
    ``exactly_one``/``at_most_one`` over ``y[j,:]`` and ``sum_{g in k} x[j,g] = gang_j y[j,k]`` (so
    the gang is ``gang_j`` distinct GPUs of one group). Capacity per GPU and resource:
    ``sum_j D[j,type(g),r] x[j,g] <= C[type(g),r]`` (rows that cannot bind are left out).
    ``min-cost`` minimises ``cost`` on ``x`` (gang 1) and ``y`` (gangs); ``max-weight`` maximises
    the weight of placed jobs; ``min-gpus`` adds ``u[g]`` with ``x[j,g] => u[g]``, the capacity
    rows as ``<= C u[g]``, minimises ``sum u`` (or ``cost_per_hour``-weighted with
    ``measure=cost``). With ``symmetry`` it breaks symmetry explicitly: ``u`` non-increasing along
    the GPUs of a type (gang-1 instances, or multi-node) or of a node, and used counts
    non-increasing along identical nodes (same type, same size). That is off by default: the
    ordering rows hide the GPU permutation symmetry from CP-SAT's presolve, which detects and
    exploits it itself; on the smoke min-gpus instance (12 jobs, 14 GPUs) the default proves the
    optimum in 0.05 s with seeds 1-3, the explicit rows leave the gap 10-12 open after 5 s.

    **Batch.** Per job a start ``S_j``, an end ``E_j`` and a boolean per *option*: a GPU of a
    group where every job that can run there has gang 1 (*disjunctive* groups: ``no_overlap`` per
    GPU), or a group where some gang > 1 job can run (*cumulative* groups: one ``cumulative`` per
    group with capacity its GPU count and demand ``gang_j``). ``exactly_one`` option per job; each
    option an optional interval ``[S_j, E_j)`` of size the scaled time on its type, present iff
    chosen; ``E_j = S_j + sum_o P_o lit_o``; ``S_j >= release``. After solving, concrete GPUs are
    drawn for cumulative jobs greedily in start order (:func:`assign_gpus`, with the proof that
    it always succeeds), and the schedule is left-shifted in float time with the instance's own
    times (:func:`left_shift`: per GPU the same sequence, starts ``max(release, GPU free)``, so it
    is feasible by construction and no completion time is later than the integer schedule's).
    Objectives: makespan ``M >= E_j`` plus the redundant load rows ``sum_o work_o lit_o <= cap
    (M - min release)`` per GPU / group; weighted completion ``sum w_j E_j``; weighted tardiness
    ``T_j >= E_j - d_j``, ``T_j >= 0``, ``sum w_j T_j`` (jobs without a deadline are never tardy).
    With makespan and one common release, disjunctive options get no intervals at all (an
    assignment whose per-GPU loads fit in ``[r, M]`` is sequenced back to back by the left shift:
    an exact reformulation). Horizon: the greedy hint's integer makespan for ``makespan`` (the
    optimum is no later); ``max release + sum_j max_o P_jo`` otherwise (every completion of a
    semi-active schedule fits, and an optimal semi-active schedule exists for regular objectives).

    **Scaling (CP-SAT needs integers).** Each datum is multiplied by a scale ``s`` and made an
    integer. *Exact* scales: the smallest ``10**k`` (k <= 6) making every value of the group an
    integer (relative tolerance 1e-9) within magnitude limits; then the integer model *is* the
    instance. Otherwise a fixed resolution and conservative rounding:

    * demands and capacities, per (type, resource): ``s = 1e6 / capacity``; demands rounded UP,
      capacities DOWN, so ``sum ceil(d s) <= floor(c s)`` implies ``sum d <= c``: every answer of
      the rounded model fits the real capacities (the rounded model is a *restriction*);
    * times, releases, deadlines: ``s = 1e6 / (greedy makespan)`` (1e-6 of the horizon, lower if
      the objective would overflow), all rounded UP: an integer schedule converted back respects
      releases and non-overlap, and the float left shift only moves jobs earlier;
    * costs / prices (minimised): ``s = 1e6 / max |c|``, rounded DOWN; weights (maximised in
      ``max-weight``): rounded UP; weights of batch objectives: rounded DOWN. The solution's
      objective is always recomputed from the instance's own numbers.

    **Bounds** (``ObjectiveBound`` of the integer model, converted back, are valid):

    * exact data: ``bound = LB / s_obj`` (for batch ``LB / (s_w s)``).
    * cost/weight rounding only (capacities exact): floored costs under-estimate every solution's
      cost, so ``LB / s_obj`` is still a lower bound (ceiled weights: an upper bound for max-weight).
    * capacities rounded: the model is a restriction, its bound says nothing about the instance;
      the reported bound is then the instance's cheap bound (``schedbench.validator.bounds``).
    * times rounded: let ``lam = s + 2 / p_min`` (``p_min`` the smallest processing time). From any
      schedule ``sigma`` of the instance, ``S'_j = ceil(lam S_j)`` is feasible for the rounded model
      (if ``S_b >= S_a + p_a``: ``lam S_b >= lam S_a + s p_a + 2 > ceil(lam S_a) + ceil(s p_a)``,
      and ``ceil(lam S_j) >= ceil(s r_j)``) with ``C'_j <= lam C_j + 2``. Hence the rounded
      optimum is at most ``lam OPT + A`` with ``A = 2`` (makespan), ``2 sum w`` (weighted
      completion) or ``sum_j w_j ((lam - s) max(d_j, 0) + 2)`` (weighted tardiness, deadlines
      rounded up), and ``bound = (LB / s_w - A) / lam``, never below the cheap bound.

    **Statuses.** ``optimal`` when every scaling was exact and CP-SAT reports OPTIMAL or its
    (converted) bound meets the answer's value (stopped by the clock with the gap closed);
    ``infeasible`` when CP-SAT proves an exact all-jobs placement model INFEASIBLE (or a job has no
    usable group at all); ``feasible`` with the converted bound otherwise; ``unknown`` without an
    answer when neither CP-SAT nor the greedy hint produced one. The greedy answer (regret / ffd /
    bfd for placement, the best of the LPT / WSPT / EDD list schedules for batch) is the
    ``hint`` and is reported first through ``context.report``; every improving CP-SAT solution is
    reported from a ``CpSolverSolutionCallback`` with the converted bound (anytime).

    **Determinism.** ``deterministic = False``: CP-SAT stopped by the wall clock returns whatever
    it had at that moment. With ``workers = 1`` (the default: one search thread, as the benchmark
    is single-thread) and a fixed ``context.seed``, CP-SAT's search is reproducible *up to where it
    is stopped*: a run that ends OPTIMAL/INFEASIBLE, or that is stopped by ``deterministic_time``
    (> 0: CP-SAT's ``max_deterministic_time``, work units independent of the machine's speed)
    before the wall-clock limit, gives the same answer every time; ``info["reproducible"]`` says
    whether this run was one of those. The class cannot declare determinism that depends on a
    parameter and on the time limit, so it declares none.

    Declines (``unsupported_reason``) instances whose option variables would exceed
    :data:`MAX_OPTIONS` (building the model alone would exhaust any realistic time limit).
    """

    name = "cpsat"
    family = "external"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {
        "placement": ("min-cost", "max-weight", "min-gpus"),
        "batch": ("makespan", "weighted-completion", "weighted-tardiness"),
    }
    params = (
        Param("workers", int, 1, "CP-SAT search workers (num_workers); 1 = single thread", minimum=1, maximum=64),
        Param(
            "deterministic_time",
            float,
            0.0,
            "CP-SAT max_deterministic_time (0: none); with workers=1 a run "
            "stopped by it (not by the clock) is reproducible",
            minimum=0.0,
        ),
        Param("hint", bool, True, "warm start from the greedy answer (solution hint, reported first)"),
        Param(
            "symmetry",
            bool,
            False,
            "explicit symmetry breaking among identical GPUs / nodes (min-gpus); off by "
            "default: it hides the symmetry from CP-SAT's own symmetry detection, measured slower",
        ),
        Param(
            "margin",
            float,
            0.25,
            "seconds kept back from the time limit (plus 2% of it) to decode and return",
            minimum=0.0,
        ),
        Param("report_incumbents", bool, True, "report each improving solution through context.report"),
    )
    requires = ("ortools.sat.python.cp_model",)
    deterministic = False
    description = "OR-Tools CP-SAT: placement (GAP/knapsack/bin packing) and batch scheduling, gangs and releases"

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Declines what the formulation does not model (see the class docstring)."""
        reason = super().unsupported_reason(instance)
        if reason is not None:
            return reason
        if (
            instance.problem.objective == "min-gpus"
            and instance.problem.params.get("measure") == "cost"
            and np.isnan(gpu_type_prices(instance)).any()
        ):
            return "cpsat: min-gpus with measure=cost needs a cost_per_hour for every GPU type"
        _, _, size = gang_groups(instance)
        per_job = np.where(instance.jobs.gang[:, None] <= size[None, :], 1, 0).sum(axis=1)
        est = int(instance.n_jobs) * int(instance.n_gpus) + int(per_job.sum())
        if est > MAX_OPTIONS:
            return f"cpsat: about {est} option variables (> {MAX_OPTIONS}); the model is too large to build in time"
        return None

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        from ortools.sat.python import cp_model

        p = self.resolve_params(context.params)
        t0 = time.perf_counter()
        build = build_placement if instance.problem.cls == "placement" else build_batch
        built = build(instance, cp_model, p)
        if isinstance(built, str):
            return SolveResult(None, "infeasible", info={"reason": built})
        model: Built = built
        build_s = time.perf_counter() - t0
        info: dict[str, Any] = {
            "build_s": round(build_s, 4),
            "variables": built.proto.n_vars,
            "constraints": built.proto.n_constraints,
            **built.info,
        }
        best: list[tuple[dict[str, Any], float] | None] = [built.greedy]
        sense = -1.0 if instance.problem.objective == "max-weight" else 1.0
        reported = [0]
        if built.greedy is not None and p["report_incumbents"]:
            context.report(built.greedy[0], None)
            reported[0] += 1

        def better(cand: tuple[dict[str, Any], float]) -> bool:
            cur = best[0]
            return cur is None or sense * cand[1] < sense * cur[1] - 1e-12

        class Callback(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                try:
                    vals = np.asarray(self.response_proto.solution, dtype=np.int64)
                    doc, value = model.decode(vals)
                    if doc is None or not better((doc, value)):
                        return
                    best[0] = (doc, value)
                    if p["report_incumbents"]:
                        context.report(doc, model.convert_bound(self.best_objective_bound))
                        reported[0] += 1
                except Exception:  # never let a report kill the search
                    pass

        solver = _configured_solver(cp_model, p, context)
        t1 = time.perf_counter()
        status = solver.solve(built.proto.model, Callback())
        solve_s = time.perf_counter() - t1
        name = solver.status_name(status)
        det = float(solver.deterministic_time)
        info.update(
            cpsat_status=name,
            solve_s=round(solve_s, 4),
            deterministic_time_used=round(det, 4),
            conflicts=int(solver.num_conflicts),
            branches=int(solver.num_branches),
            incumbents_reported=reported[0],
            exact_model=built.exact,
        )
        finished = status in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
        by_det = p["deterministic_time"] > 0 and det >= p["deterministic_time"] * 0.999
        info["reproducible"] = bool(p["workers"] == 1 and (finished or by_det))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            vals = np.asarray(solver.response_proto.solution, dtype=np.int64)
            doc, value = built.decode(vals)
            if doc is not None and better((doc, value)):
                best[0] = (doc, value)
        bound = built.convert_bound(solver.best_objective_bound) if status != cp_model.INFEASIBLE else None
        if status == cp_model.INFEASIBLE:
            if built.exact or info.get("capacity_scaling_exact", False):
                return SolveResult(None, "infeasible", info=info)
            info["reason"] = "the rounded (restricted) model is infeasible; the instance may not be"
        if best[0] is None:
            info.setdefault("reason", f"no answer found ({name})")
            return SolveResult(None, "unknown", bound=bound, info=info)
        doc, value = best[0]
        if bound is not None:  # a bound never claims more than the answer shows
            bound = min(bound, value) if sense > 0 else max(bound, value)
        closed = bound is not None and abs(value - bound) <= 1e-9 * max(1.0, abs(value))
        optimal = built.exact and (status == cp_model.OPTIMAL or closed)  # closed: the valid bound meets the answer
        if optimal:
            bound = value
        return SolveResult(doc, "optimal" if optimal else "feasible", bound=bound, info=info)
