"""Convex programs with cvxpy: ``convex-allocation`` (Gavel's policies) and ``convex-qp-wspt`` (Skutella's CQP).

Both build their models vectorised: one cvxpy Variable over the usable (job, GPU type) pairs and
constraints as scipy.sparse matrix expressions (no Python loop over jobs). cvxpy is imported only
inside the methods, so the registry can import this module without it. Formulations, sizes and
measured speeds: ``docs/solvers-convex.md``.

:class:`AllocationProgram` is the reusable allocation program (built once per (jobs x types)
structure, re-solved with new capacities, per-job share limits, scales and active sets through a
few small cvxpy Parameters) for policies that re-solve every round.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from schedbench.instances.gangs import usable_types
from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult
from schedbench.validator.allocation import allocation_objective, equal_share_throughput, throughput_matrix

from . import _cvx
from ._lib.documents import batch_doc
from ._lib.mip import finite_or_none

ALLOCATION_OBJECTIVES = ("max-min-fairness", "max-throughput", "proportional-fairness")
#: Objectives that are linear programs (the ``highs`` backend solves only these).
LP_OBJECTIVES = ("max-min-fairness", "max-throughput")
#: An answer is claimed ``optimal`` when its certified gap is at most this, relative to max(1, |value|)
#: (the harness checks optimal claims against bounds with 1e-6 relative tolerance).
OPTIMAL_GAP = 1e-7


def _declared_allocation_objectives() -> tuple[str, ...]:
    """The allocation objectives this module models that the problem table also declares."""
    from schedbench.instances.problems import PROBLEM_CLASSES

    spec = PROBLEM_CLASSES["allocation"]
    return tuple(o for o in ALLOCATION_OBJECTIVES if spec.objective(o) is not None)


_finite = finite_or_none


# ------------------------------------------------------------------------------------- allocation
@dataclass
class AllocationOutcome:
    """One solve of an :class:`AllocationProgram`.

    Attributes:
        x: ``(K,)`` shares per pair, post-processed to be feasible exactly (clipped at 0, scaled down
            per job to its limit and per type to its capacity).
        value: the program's objective at ``x`` (with the current scales and active set).
        bound: a certified upper bound on the program's optimum (weak duality, see
            :meth:`AllocationProgram.bound`), None when it cannot be computed.
        status: cvxpy's status string.
        solve_s: the backend's own solve time (cvxpy ``solver_stats.solve_time``; wall time if absent).
        total_s: wall time of the whole ``solve`` call (canonicalisation included; on the first call
            that is the DPP compilation).
        iterations: backend iterations, when reported.
    """

    x: np.ndarray
    value: float | None
    bound: float | None
    status: str
    solve_s: float
    total_s: float
    iterations: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


class AllocationProgram:
    """Gavel's allocation programs over fixed (job, type) pairs, re-solvable with new data.

    Variables ``x[k] >= 0`` for each pair ``k = (pair_job[k], pair_type[k])``; ``rho_j = scale_j *
    sum_{k of j} coef_k x_k`` (``coef = throughput / equal-share throughput`` for the validator's
    normalised throughput, ``scale = 1``). Constraints ``sum_{k of j} x_k <= limit_j`` and
    ``sum_k gang_j x_k [type k = t] <= capacity_t``. Objectives over the *active* jobs:
    ``max-min-fairness`` maximise ``s`` with ``rho_j >= s``; ``max-throughput`` maximise
    ``sum rho_j``; ``proportional-fairness`` maximise ``sum log(rho_j)`` (exponential cone).

    cvxpy Parameters, all right-hand-side vectors: ``capacity (T,)``, ``limit (n,)`` and an
    internal ``offset (n,)`` that switches inactive jobs off (their limit is set to 0, so they get
    no share and add nothing to the throughput; their fairness row gets an offset that never
    binds; their log term becomes ``log(0 + 1) = 0``). The first solve compiles the program (DPP);
    later solves after :meth:`set` with new capacities, limits or active sets only refill the
    parameters. ``scale`` is a constant of the program: changing it rebuilds and recompiles it
    (cheap without DPP parameters in the matrix). Measured at 10,000 jobs (Clarabel): a per-job
    Parameter multiplying the variables (``cp.multiply(scale, M @ x)``) made the first compile take
    4-5 s instead of 0.07 s, and a ``(n, T)`` parameter matrix is worse still, so neither is used.

    A job active in proportional fairness must have some pair with ``coef > 0`` (else every
    allocation scores ``-inf``); :meth:`set` refuses it.
    """

    def __init__(
        self,
        pair_job: np.ndarray,
        pair_type: np.ndarray,
        coef: np.ndarray,
        gang: np.ndarray,
        n: int,
        n_types: int,
        objective: str,
    ) -> None:
        if objective not in ALLOCATION_OBJECTIVES:
            raise ValueError(f"unknown allocation objective {objective!r}")
        t0 = time.perf_counter()
        self.pair_job = np.asarray(pair_job, dtype=np.int64)
        self.pair_type = np.asarray(pair_type, dtype=np.int64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.gang = np.asarray(gang, dtype=np.float64)
        self.n, self.T, self.objective = int(n), int(n_types), objective
        self._best_coef = _cvx.per_job_max(self.pair_job, self.coef, self.n)
        self._scale = np.ones(self.n)
        self._active = np.ones(self.n, dtype=bool)
        self._limit = np.ones(self.n)
        self._capacity = np.zeros(self.T)
        self.builds = 0
        self.solves = 0
        self._build()
        self.build_s = time.perf_counter() - t0

    def _build(self) -> None:
        """(Re)build the cvxpy problem with the current ``scale`` baked into its matrix."""
        import cvxpy as cp

        n, T, K = self.n, self.T, len(self.pair_job)
        ks = np.arange(K)
        J = sp.csr_matrix((np.ones(K), (self.pair_job, ks)), shape=(n, K))
        G = sp.csr_matrix((self.gang[self.pair_job], (self.pair_type, ks)), shape=(T, K))
        M = sp.csr_matrix((self.coef * self._scale[self.pair_job], (self.pair_job, ks)), shape=(n, K))
        self.x = cp.Variable(K, nonneg=True, name="x")
        self.capacity = cp.Parameter(T, nonneg=True, name="capacity")
        self.limit = cp.Parameter(n, nonneg=True, name="limit")
        self.offset = cp.Parameter(n, nonneg=True, name="offset")
        rho = M @ self.x
        self._job_rows = J @ self.x <= self.limit
        self._cap_rows = G @ self.x <= self.capacity
        cons = [self._job_rows, self._cap_rows]
        self._fair_rows = None
        if self.objective == "max-min-fairness":
            self.s = cp.Variable(name="s")
            self._fair_rows = rho + self.offset >= self.s
            cons.append(self._fair_rows)
            obj = cp.Maximize(self.s)
        elif self.objective == "max-throughput":
            obj = cp.Maximize(cp.sum(rho))
        else:
            obj = cp.Maximize(cp.sum(cp.log(rho + self.offset)))
        self.problem = cp.Problem(obj, cons)
        self._built_scale = self._scale.copy()
        self.builds += 1
        self._refresh()

    def set(
        self,
        *,
        capacity: np.ndarray | None = None,
        limit: np.ndarray | None = None,
        scale: np.ndarray | None = None,
        active: np.ndarray | None = None,
    ) -> None:
        """Update the data of the next solve (arguments left None keep their values).

        ``capacity``: GPUs per type ``(T,)``; ``limit``: per-job bound on the sum of its shares
        ``(n,)`` (1 in the allocation class); ``scale``: multiplies each job's normalised throughput
        ``(n,)`` (e.g. old/new equal-share throughput when the job set changes; a new value
        rebuilds the program at the next solve); ``active``: bool ``(n,)``, inactive jobs get no
        share and do not count in the objective.

        Raises:
            ValueError: proportional fairness with an active job that can get no throughput.
        """
        if capacity is not None:
            self._capacity = np.asarray(capacity, dtype=np.float64).reshape(self.T).copy()
        if scale is not None:
            self._scale = np.asarray(scale, dtype=np.float64).reshape(self.n).copy()
        if active is not None:
            self._active = np.asarray(active, dtype=bool).reshape(self.n).copy()
        if limit is not None:
            self._limit = np.asarray(limit, dtype=np.float64).reshape(self.n).copy()
        act = self._active
        best = self._scale * self._best_coef * self._limit
        if self.objective == "proportional-fairness" and np.any(act & (best <= 0)):
            j = int(np.flatnonzero(act & (best <= 0))[0])
            raise ValueError(f"job {j} can get no throughput: the sum of log(throughput) is -inf")
        self._refresh()

    def _refresh(self) -> None:
        """Copy the current data into the cvxpy Parameters."""
        act = self._active
        self.capacity.value = self._capacity
        self.limit.value = np.where(act, self._limit, 0.0)
        if self.objective == "max-min-fairness":
            best = self._scale * self._best_coef * self._limit
            top = float(best[act].max()) if act.any() else 1.0
            self.offset.value = np.where(act, 0.0, max(top, 1.0))
        elif self.objective == "proportional-fairness":
            self.offset.value = np.where(act, 0.0, 1.0)
        else:
            self.offset.value = np.zeros(self.n)

    def rho(self, x: np.ndarray) -> np.ndarray:
        """``(n,)``: each job's scaled normalised throughput under shares ``x``."""
        r = np.zeros(self.n)
        np.add.at(r, self.pair_job, self.coef * x)
        return self._scale * r

    def value(self, x: np.ndarray) -> float | None:
        """The objective at ``x`` over the active jobs (None for ``-inf``)."""
        act = self._active
        if not act.any():
            return 0.0
        r = self.rho(x)[act]
        if self.objective == "max-min-fairness":
            return float(r.min())
        if self.objective == "max-throughput":
            return float(r.sum())
        return float(np.log(r).sum()) if (r > 0).all() else None

    def feasible(self, x: np.ndarray) -> np.ndarray:
        """``x`` clipped at 0 and scaled down per job and per type until it fits exactly."""
        x = np.clip(np.asarray(x, dtype=np.float64), 0.0, None)
        lim = self.limit.value
        assert lim is not None
        tot = np.zeros(self.n)
        np.add.at(tot, self.pair_job, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(tot > lim, lim / tot, 1.0)
        x = x * f[self.pair_job]
        used = np.zeros(self.T)
        np.add.at(used, self.pair_type, self.gang[self.pair_job] * x)
        cap = self.capacity.value
        assert cap is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(used > cap, cap / used, 1.0)
        return x * g[self.pair_type]

    def bound(self, x: np.ndarray, nu: np.ndarray | None, y: np.ndarray | None) -> float | None:
        """Certified upper bound on the optimum by weak duality, valid for any multipliers.

        With capacity multipliers ``nu >= 0`` (:func:`_cvx.lagrangian_bound`):
        ``max-throughput``: the bound of the LP itself; ``max-min-fairness``: ``min_j rho_j <= sum_j
        y_j rho_j`` for any ``y >= 0`` summing to 1 over the active jobs (``y``: the fairness rows'
        duals), then the LP bound; ``proportional-fairness`` (concave ``f``): ``f(x*) <= f(x) +
        max_{x' feasible} grad f(x) . (x' - x)``, the inner maximum bounded as for the LP."""
        act = self._active
        base = self._scale[self.pair_job] * self.coef
        if self.objective == "max-throughput":
            gain = base * act[self.pair_job]
            return self._dual_bound(gain, nu)
        if self.objective == "max-min-fairness":
            if not act.any():
                return 0.0
            yy = np.where(act, np.maximum(0.0, np.nan_to_num(y if y is not None else 0.0)), 0.0)
            total = yy.sum()
            if not total > 0:
                yy, total = act.astype(np.float64), float(act.sum())
            yy = yy / total
            nu_ = None if nu is None else np.asarray(nu) / total
            return self._dual_bound(yy[self.pair_job] * base, nu_)
        r = self.rho(x)
        if not (r[act] > 0).all():
            return None
        fx = float(np.log(r[act]).sum())
        grad = np.where(act[self.pair_job], base / np.where(r > 0, r, 1.0)[self.pair_job], 0.0)
        return fx - float(grad @ x) + self._dual_bound(grad, nu)

    def _dual_bound(self, gain: np.ndarray, nu: np.ndarray | None) -> float:
        """:func:`_cvx.lagrangian_bound` at the solver's multipliers improved by :func:`_cvx.refine_nu`."""
        lim, cap = self.limit.value, self.capacity.value
        assert lim is not None and cap is not None
        args = (self.pair_job, self.pair_type, gain, self.gang, lim, cap)
        return min(_cvx.lagrangian_bound(*args, nu), _cvx.lagrangian_bound(*args, _cvx.refine_nu(*args, nu)))

    def solve(self, backend: str = "clarabel", time_limit: float | None = None, threads: int = 1) -> AllocationOutcome:
        """Solve with the current data; returns a feasible ``x``, its value and a certified bound.

        Raises:
            ValueError: ``backend="highs"`` for proportional fairness (not a linear program).
        """
        import cvxpy as cp

        if not np.array_equal(self._scale, self._built_scale):
            self._build()
        if backend == "highs" and self.objective not in LP_OBJECTIVES:
            raise ValueError(
                "solver=highs solves linear programs only; proportional-fairness is an "
                "exponential-cone program: use clarabel, ecos or scs"
            )
        t0 = time.perf_counter()
        try:
            self.problem.solve(
                **_cvx.solve_kwargs(backend, time_limit, threads, tight=self.objective == "proportional-fairness")
            )
        except cp.error.SolverError as exc:
            return AllocationOutcome(
                np.zeros(len(self.pair_job)),
                None,
                None,
                f"solver_error: {exc}",
                time.perf_counter() - t0,
                time.perf_counter() - t0,
            )
        total = time.perf_counter() - t0
        self.solves += 1
        stats = self.problem.solver_stats
        solve_s = float(stats.solve_time) if stats is not None and stats.solve_time is not None else total
        raw = self.x.value
        x = self.feasible(np.zeros(len(self.pair_job)) if raw is None else raw)
        nu = self._cap_rows.dual_value
        y = self._fair_rows.dual_value if self._fair_rows is not None else None
        return AllocationOutcome(
            x,
            self.value(x),
            self.bound(x, nu, y),
            str(self.problem.status),
            solve_s,
            total,
            getattr(stats, "num_iters", None),
        )


def allocation_pairs(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs the validator allows (eligible, and the type has at least ``gang`` GPUs) and each
    pair's coefficient ``throughput / equal-share throughput`` (0 where the latter is 0)."""
    jobs = inst.jobs
    allowed = jobs.eligible & (inst.gpus_per_type[None, :] >= jobs.gang[:, None])
    pj, pt = np.nonzero(allowed)
    thr, eq = throughput_matrix(inst), equal_share_throughput(inst)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(eq[pj] > 0, thr[pj, pt] / eq[pj], 0.0)
    return pj, pt, coef


def allocation_program(inst: Instance) -> AllocationProgram:
    """An :class:`AllocationProgram` for ``inst`` with its data set (capacity = GPUs per type)."""
    pj, pt, coef = allocation_pairs(inst)
    prog = AllocationProgram(pj, pt, coef, inst.jobs.gang, inst.n_jobs, len(inst.gpu_types), inst.problem.objective)
    prog.set(capacity=inst.gpus_per_type.astype(np.float64))
    return prog


class ConvexAllocation(Solver):
    """Gavel's allocation policies as convex programs in cvxpy (max-min fairness, throughput,
    proportional fairness), with a certified bound.

    Formulation (:class:`AllocationProgram`): ``x[j,t] >= 0`` over the pairs the validator allows
    (eligible, ``gpus_per_type[t] >= gang_j``); ``sum_t x[j,t] <= 1``; ``sum_j gang_j x[j,t] <=
    N_t``; ``rho_j = sum_t thr[j,t] x[j,t] / eq_j`` with the validator's ``throughput_matrix`` and
    ``equal_share_throughput``. ``max-min-fairness``: max ``s`` s.t. ``rho_j >= s`` (LP);
    ``max-throughput``: max ``sum rho_j`` (LP); ``proportional-fairness``: max ``sum log rho_j``
    (exponential cone). Built vectorised (one Variable, sparse constraint matrices).

    Backends (param ``solver``): ``clarabel`` (default), ``ecos`` (Gavel used ECOS), ``scs``
    (first-order, eps 1e-7), ``highs`` (LPs only: HiGHS interior point without crossover;
    proportional fairness with ``highs`` raises an error).

    Post-processing: interior-point shares can exceed a limit by ~1e-9; they are clipped at 0 and
    scaled down per job (to sum <= 1) and per type (to capacity), so the answer is feasible exactly;
    the claimed objective is recomputed from the returned shares with the validator's formulas.
    ``bound`` is certified by weak duality from the solver's capacity (and fairness) multipliers
    (see :meth:`AllocationProgram.bound`), valid whatever the solver's accuracy. Status ``optimal``
    when ``bound - value <= 1e-7 max(1, |value|)``, else ``feasible``; ``unknown`` without answer when
    the backend fails. Declines proportional-fairness instances where some job can get no throughput
    (every allocation scores ``-inf``). ``info``: ``build_s`` (numpy + cvxpy expression building),
    ``compile_s`` (cvxpy canonicalisation, DPP), ``solve_s`` (the backend's own time), ``backend_status``.
    """

    name = "convex-allocation"
    family = "convex"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"allocation": _declared_allocation_objectives()}
    params = (
        Param(
            "solver",
            str,
            "clarabel",
            "cvxpy backend (highs: LPs only, interior point)",
            choices=("clarabel", "ecos", "scs", "highs"),
        ),
    )
    requires = ("cvxpy",)
    deterministic = True
    description = "Gavel allocation policies (max-min, throughput, proportional fairness) in cvxpy"

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Declines what the formulation does not model (see the class docstring)."""
        reason = super().unsupported_reason(instance)
        if reason is not None or instance.problem.objective != "proportional-fairness":
            return reason
        pj, _, coef = allocation_pairs(instance)
        best = _cvx.per_job_max(pj, coef, instance.n_jobs)
        if (best <= 0).any():
            j = int(np.flatnonzero(best <= 0)[0])
            return (
                f"job {instance.jobs.ids[j]!r} can get no throughput on any usable type: every allocation "
                "has proportional fairness -inf"
            )
        return None

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        backend = context.params.get("solver", "clarabel")
        jobs = instance.jobs
        n, T = instance.n_jobs, len(instance.gpu_types)
        t0 = time.perf_counter()
        prog = allocation_program(instance)
        build_s = time.perf_counter() - t0
        limit = context.remaining() - min(5.0, 0.3 + 0.05 * context.time_limit)
        out = prog.solve(backend, time_limit=limit, threads=context.threads)
        info: dict[str, Any] = {
            "backend": backend,
            "build_s": round(build_s, 4),
            "compile_s": round(max(0.0, out.total_s - out.solve_s), 4),
            "solve_s": round(out.solve_s, 4),
            "backend_status": out.status,
            "iterations": out.iterations,
            "pairs": len(prog.pair_job),
        }
        if out.status not in ("optimal", "optimal_inaccurate"):
            info["reason"] = f"the {backend} backend did not solve the program ({out.status})"
            return SolveResult(None, "unknown", info=info)
        xm = np.zeros((n, T))
        xm[prog.pair_job, prog.pair_type] = out.x
        _, value = allocation_objective(instance, xm)
        ids, types = jobs.ids, instance.type_ids
        alloc = {ids[j]: {types[t]: float(xm[j, t]) for t in np.flatnonzero(xm[j] > 0).tolist()} for j in range(n)}
        doc: dict[str, Any] = {"problem": "allocation", "allocation": alloc}
        if value is not None:
            doc["objective"] = value
        bound = _finite(out.bound)
        if bound is not None and value is not None:
            bound = max(bound, value)  # weak duality: a bound below an attained value is round-off
            info["gap"] = bound - value
        proven = value is not None and bound is not None and bound - value <= OPTIMAL_GAP * max(1.0, abs(value))
        return SolveResult(doc, "optimal" if proven else "feasible", bound=bound, info=info)


# -------------------------------------------------------------------------- Skutella's CQP for R||sum wC
@dataclass
class WsptQp:
    """Skutella's convex QP relaxation of R || sum w_j C_j, aggregated over identical GPUs of a type.

    Pairs ``k = (pair_job[k], pair_type[k])`` are sorted by type, then by Smith's ratio ``w_j /
    p_k`` non-increasing (ties by job index): ``pos`` is that order. ``delta[l] = r_l - r_{l+1}``
    within the type's segment (``r`` the ratios in that order, the last one minus 0) is >= 0.
    Objective, with ``y_k`` the job's total share of type ``t`` and ``S`` the running sums of
    ``p_k y_k`` along each type's segment:  ``f(y) = 1/2 sum_k w_j p_k y_k + sum_t 1/(2 N_t) sum_{l in t}
    delta_l S_l^2``, subject to ``sum_{k of j} y_k = 1``, ``y >= 0`` (see :meth:`ConvexQpWspt`).
    ``p`` and ``w`` are the instance's divided by ``p_scale`` and ``w_scale`` (``f`` scales with both).
    """

    pair_job: np.ndarray
    pair_type: np.ndarray
    p: np.ndarray
    w: np.ndarray
    counts: np.ndarray
    pos: np.ndarray
    delta: np.ndarray
    p_scale: float
    w_scale: float

    @classmethod
    def from_arrays(cls, usable: np.ndarray, time_: np.ndarray, weight: np.ndarray, counts: np.ndarray) -> WsptQp:
        """The QP from arrays: ``usable`` ``(n, T)``, times ``(n, T)``, weights ``(n,)``, GPUs per type ``(T,)``."""
        pj, pt = np.nonzero(usable)
        p_raw = time_[pj, pt]
        p_scale = float(np.median(p_raw)) if len(p_raw) else 1.0
        w_scale = float(weight.max()) if len(weight) and weight.max() > 0 else 1.0
        p = p_raw / p_scale
        w = weight[pj] / w_scale
        ratio = w / p
        pos = np.lexsort((pj, -ratio, pt))
        r, t = ratio[pos], pt[pos]
        nxt = np.r_[r[1:], 0.0]
        last = np.r_[t[1:] != t[:-1], True]
        delta = np.maximum(r - np.where(last, 0.0, nxt), 0.0)
        return cls(pj, pt, p, w, counts.astype(np.float64), pos, delta, p_scale, w_scale)

    def running_sums(self, y: np.ndarray) -> np.ndarray:
        """``S`` in sorted order (one running sum per type segment)."""
        c = np.cumsum((self.p * y)[self.pos])
        t = self.pair_type[self.pos]
        first = np.r_[True, t[1:] != t[:-1]] if len(t) else np.zeros(0, dtype=bool)
        seg = np.cumsum(first) - 1
        return c - np.r_[0.0, c][np.flatnonzero(first)][seg]

    def value(self, y: np.ndarray) -> float:
        """``f(y)`` in instance units."""
        S = self.running_sums(y)
        n_t = self.counts[self.pair_type[self.pos]]
        f = 0.5 * float(self.w * self.p @ y) + float((self.delta / (2 * n_t) * S * S).sum())
        return f * self.p_scale * self.w_scale

    def gradient(self, y: np.ndarray) -> np.ndarray:
        """``grad f(y)`` in scaled units, ``(K,)``."""
        S = self.running_sums(y)
        n_t = self.counts[self.pair_type[self.pos]]
        v = self.delta * S / n_t
        t = self.pair_type[self.pos]
        # reverse running sums of v within each segment
        rc = np.cumsum(v[::-1])[::-1]
        tails = np.flatnonzero(np.r_[t[1:] != t[:-1], True]) if len(t) else np.zeros(0, dtype=np.int64)
        seg = np.cumsum(np.r_[True, t[1:] != t[:-1]]) - 1 if len(t) else np.zeros(0, dtype=np.int64)
        after = np.r_[rc, 0.0][tails + 1][seg]
        g_sorted = rc - after
        g = np.empty(len(y))
        g[self.pos] = g_sorted * self.p[self.pos]
        return 0.5 * self.w * self.p + g

    def project(self, y: np.ndarray, n: int) -> np.ndarray:
        """``y`` clipped at 0 and normalised to sum 1 per job (uniform over the job's pairs if all 0)."""
        y = np.clip(np.nan_to_num(np.asarray(y, dtype=np.float64)), 0.0, None)
        tot = np.bincount(self.pair_job, y, minlength=n)
        cnt = np.bincount(self.pair_job, minlength=n).astype(np.float64)
        zero = tot[self.pair_job] <= 0
        y = np.where(zero, 1.0 / cnt[self.pair_job], y / np.where(zero, 1.0, tot[self.pair_job]))
        return y

    def lower_bound(self, y: np.ndarray, n: int) -> float:
        """Certified lower bound on the QP optimum from a feasible ``y`` (convexity, Frank–Wolfe):
        ``f(y*) >= f(y) + sum_j (min_{k of j} g_k - sum_{k of j} g_k y_k)`` with ``g = grad f(y)``."""
        g = self.gradient(y)
        gap = float(_cvx.per_job_min(self.pair_job, g, n).sum() - g @ y)
        return self.value(y) + gap * self.p_scale * self.w_scale

    def solve(self, n: int, backend: str, time_limit: float | None, threads: int) -> tuple[np.ndarray, str, float]:
        """Solve with cvxpy; returns (feasible y, cvxpy status, backend solve seconds).

        Vectorised: ``S`` is a Variable tied to ``y`` by one bidiagonal sparse equality (``S_l -
        S_{l-1} = p_l y_l`` within a segment), so the model has ``O(n T)`` nonzeros (not the ``m``
        dense ``n x n`` forms of the textbook statement)."""
        import cvxpy as cp

        K = len(self.pair_job)
        t = self.pair_type[self.pos]
        first = np.r_[True, t[1:] != t[:-1]] if K else np.zeros(0, dtype=bool)
        rows = np.r_[np.arange(K), np.flatnonzero(~first)]
        cols = np.r_[np.arange(K), np.flatnonzero(~first) - 1]
        vals = np.r_[np.ones(K), -np.ones(int((~first).sum()))]
        B = sp.csr_matrix((vals, (rows, cols)), shape=(K, K))
        P = sp.csr_matrix((self.p[self.pos], (np.arange(K), self.pos)), shape=(K, K))
        J = sp.csr_matrix((np.ones(K), (self.pair_job, np.arange(K))), shape=(n, K))
        y = cp.Variable(K, nonneg=True)
        S = cp.Variable(K)
        root = np.sqrt(self.delta / (2 * self.counts[t]))
        obj = cp.Minimize(0.5 * (self.w * self.p) @ y + cp.sum_squares(cp.multiply(root, S)))
        prob = cp.Problem(obj, [J @ y == 1, P @ y == B @ S])
        t0 = time.perf_counter()
        try:
            prob.solve(**_cvx.solve_kwargs(backend, time_limit, threads))
        except cp.error.SolverError as exc:
            return self.project(np.zeros(K), n), f"solver_error: {exc}", time.perf_counter() - t0
        stats = prob.solver_stats
        solve_s = (
            float(stats.solve_time) if stats is not None and stats.solve_time is not None else time.perf_counter() - t0
        )
        return self.project(np.zeros(K) if y.value is None else y.value, n), str(prob.status), solve_s


class ConvexQpWspt(Solver):
    """Skutella's convex quadratic programming relaxation with randomized rounding, for batch
    weighted completion on unrelated GPUs (R || sum w_j C_j; Skutella, JACM 48(2), 2001).

    Relaxation (CQP). With ``a[i,j]`` the fraction of job j on machine (GPU) i and, per machine, jobs
    ordered by Smith's ratio ``w_j / p_ij`` non-increasing (``k <_i j``), minimise ``1/2 c^T a + 1/2 a^T D a``
    s.t. ``sum_i a[i,j] = 1``, ``a >= 0``, where ``c_ij = w_j p_ij`` and ``D = diag(D_1..D_m)``,
    ``(D_i)_jk = w_j p_ik`` if ``k <_i j``, ``w_k p_ij`` if ``j <_i k``, ``w_j p_ij`` if ``j = k``. Term by
    term this is ``sum_j w_j sum_i a_ij ((1 + a_ij)/2 p_ij + sum_{k <_i j} a_ik p_ik)``, which for 0/1
    ``a`` is exactly the weighted completion time of the WSPT schedule of that assignment; so the
    QP optimum is a lower bound. ``D_i`` is PSD: writing ``r`` for the ratios in Smith order,
    ``(D_i)_jk = r_max(j,k) p_j p_k`` and ``a^T D_i a = sum_l (r_l - r_{l+1}) (sum_{j<=l} p_j a_j)^2`` (a sum of
    squares of running sums, ``r_{n+1} = 0``), which is also how it is built (:class:`WsptQp`).
    GPUs of one type are identical, so (convexity, symmetry) the optimum is attained with equal
    shares on a type's ``N_t`` GPUs: the model has one variable per usable (job, type) pair, ``y =
    N_t a``, and ``O(n T)`` nonzeros.

    Bound: certified from the solver's answer by convexity (``f(y) + min over the feasible set of
    the linearisation``, :meth:`WsptQp.lower_bound`), so it is valid whatever the solver's accuracy;
    with release dates, the larger of that (releases relaxed) and ``sum_j w_j (r_j + min_t p_jt)``.

    Rounding (param ``rounds``, generator seeded with ``context.seed``): each round assigns job j to
    type t with probability ``y[j,t]``; then two candidates are scored: Skutella's (a uniformly
    random GPU of the type) and list scheduling in WSPT order onto the type's GPUs; a deterministic
    candidate (each job to its largest ``y``) is scored first. Each GPU runs its jobs back to back
    from 0 in Smith's order (with releases: non-idling WSPT, a released job with the largest ``w /
    p`` whenever the GPU frees). The best candidate is returned (and reported as it improves).
    Skutella's rounding gives expected value <= 3/2 the QP bound (releases 0), so the best of the
    rounds satisfies that too in expectation.

    Declines: gang > 1. Jobs with no usable type (ineligible everywhere, or demand over capacity):
    status ``infeasible``. Status ``feasible`` with ``bound``; ``optimal`` when the value meets the
    bound (1e-9 relative). Sizes: the QP has ``n T`` variables and about ``3 n T`` nonzeros;
    measured in ``docs/solvers-convex.md``.
    """

    name = "convex-qp-wspt"
    family = "convex"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"batch": ("weighted-completion",)}
    params = (
        Param("solver", str, "clarabel", "cvxpy backend for the QP", choices=("clarabel", "ecos", "scs")),
        Param("rounds", int, 32, "randomized rounding rounds (each scores two candidates)", minimum=0),
    )
    requires = ("cvxpy",)
    deterministic = True
    description = "Skutella's convex QP relaxation + randomized rounding + WSPT for R||sum wC (gang 1)"

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Declines what the formulation does not model (see the class docstring)."""
        reason = super().unsupported_reason(instance)
        if reason is not None:
            return reason
        if (instance.jobs.gang > 1).any():
            return "convex-qp-wspt models one GPU per job (R||sum wC); this instance has gang sizes > 1"
        return None

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        jobs = instance.jobs
        n = instance.n_jobs
        assert jobs.time is not None
        usable = usable_types(instance, need_time=True)
        if n and not usable.any(axis=1).all():
            ids = [jobs.ids[j] for j in np.flatnonzero(~usable.any(axis=1))[:5].tolist()]
            return SolveResult(
                None, "infeasible", info={"reason": f"job(s) {ids} fit no GPU type they are eligible for"}
            )
        t0 = time.perf_counter()
        counts = instance.gpus_per_type
        qp = WsptQp.from_arrays(usable, np.nan_to_num(jobs.time, nan=np.inf), jobs.weight, counts)
        build_s = time.perf_counter() - t0
        backend = context.params.get("solver", "clarabel")
        limit = context.remaining() * 0.7 - min(5.0, 0.3 + 0.05 * context.time_limit)
        t1 = time.perf_counter()
        y, qp_status, solve_s = qp.solve(n, backend, limit, context.threads)
        info: dict[str, Any] = {
            "backend": backend,
            "build_s": round(build_s, 4),
            "backend_status": qp_status,
            "qp_s": round(time.perf_counter() - t1, 4),
            "solve_s": round(solve_s, 4),
            "pairs": len(qp.pair_job),
        }
        qp_bound = qp.lower_bound(y, n)
        info["qp_value"] = qp.value(y)
        p_best = np.where(usable, np.nan_to_num(jobs.time, nan=np.inf), np.inf).min(axis=1)
        simple = float(jobs.weight @ (jobs.release + p_best)) if n else 0.0
        bound = max(qp_bound, simple)
        info["qp_bound"] = qp_bound
        # rounding
        rng = np.random.default_rng(context.seed)
        time_ = np.nan_to_num(jobs.time, nan=np.inf)
        gpus_of_type = [np.flatnonzero(instance.gpu_type == t) for t in range(len(instance.gpu_types))]
        by_type = np.argsort(instance.gpu_type, kind="stable")  # GPU indices grouped by type
        type_first = np.r_[0, np.cumsum(counts)[:-1]]
        has_release = bool((jobs.release > 0).any())
        cum = np.cumsum(y)
        job_start = np.searchsorted(qp.pair_job, np.arange(n))  # pairs are grouped by job (np.nonzero order)
        job_end = np.r_[job_start[1:], len(y)]
        before = np.r_[0.0, cum][job_start]
        total = np.r_[0.0, cum][job_end] - before
        best: tuple[float, np.ndarray, np.ndarray] | None = None

        def score(gpu: np.ndarray) -> tuple[float, np.ndarray]:
            p = time_[np.arange(n), instance.gpu_type[gpu]]
            if has_release:
                start, end = _cvx.wspt_release_completions(gpu, p, jobs.weight, jobs.release)
            else:
                start, end = _cvx.smith_completions(gpu, p, jobs.weight)
            return float(jobs.weight @ end), start

        def consider(job_type: np.ndarray, uniform: bool) -> None:
            nonlocal best
            p = time_[np.arange(n), job_type]
            cands = [_cvx.list_machines(job_type, gpus_of_type, p, jobs.weight, jobs.release)]
            if uniform:
                cands.append(by_type[type_first[job_type] + rng.integers(0, counts[job_type])])
            for gpu in cands:
                value, start = score(gpu)
                if best is None or value < best[0] - 1e-12 * abs(value):
                    best = (value, gpu, start)
                    context.report(self._doc(instance, gpu, start, value), bound)

        consider(qp.pair_type[_argmax_per_job(qp.pair_job, y, n)], False)
        rounds_done = 0
        for _ in range(int(context.params.get("rounds", 32))):
            if context.remaining() < 0.5 + 0.1 * context.time_limit:
                break
            u = rng.random(n) * total + before
            k = np.minimum(np.searchsorted(cum, u, side="right"), job_end - 1)
            consider(qp.pair_type[k], True)
            rounds_done += 1
        info["rounds"] = rounds_done
        assert best is not None
        value, gpu, start = best
        info["rounding_gap"] = (value - bound) / bound if bound > 0 else None
        proven = value <= bound * (1 + 1e-9) + 1e-9
        return SolveResult(
            self._doc(instance, gpu, start, value),
            "optimal" if proven else "feasible",
            bound=min(bound, value),
            info=info,
        )

    @staticmethod
    def _doc(inst: Instance, gpu: np.ndarray, start: np.ndarray, value: float) -> dict[str, Any]:
        """The gang-1 schedule document (GPU and start per job) with its objective ``value``."""
        schedule = batch_doc(inst, [gpu[j : j + 1] for j in range(inst.n_jobs)], start)["schedule"]
        return {"problem": "batch", "objective": value, "schedule": schedule}


def _argmax_per_job(pair_job: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """Per job the index of its pair with the largest ``y`` (pairs grouped by job; lowest on ties)."""
    order = np.lexsort((-y, pair_job))
    first = np.r_[True, pair_job[order][1:] != pair_job[order][:-1]]
    out = np.zeros(n, dtype=np.int64)
    out[pair_job[order[first]]] = order[first]
    return out
