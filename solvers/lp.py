"""LP relaxations solved with HiGHS (``highspy``): ``lp-round`` and ``lp-allocation``.

Both build their models as numpy arrays plus one scipy CSC matrix and pass them to HiGHS in one
``passModel`` call (see ``solvers/_highs.py``).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult
from schedbench.validator.allocation import equal_share_throughput, throughput_matrix

from . import _highs as hx
from ._lib.assignment import regret_by_desirability
from ._lib.mip import finite_or_none, solve_margin

#: LPs with more nonzeros than this use the interior point method under ``method=auto``.
IPM_NNZ = 200_000


_finite = finite_or_none


class LpRound(Solver):
    """LP relaxation + rounding: GAP (placement ``min-cost``, gang 1) with repair, and R||Cmax with
    Lenstra–Shmoys–Tardos rounding (a 2-approximation).

    GAP formulation (``ilp-highs``'s with integrality dropped, x in [0, 1] over usable (job, GPU)
    pairs): ``sum_g x[j,g] = 1`` per job, ``sum_j demand[j,r] x[j,g] <= capacity[g,r]`` per GPU and
    resource, minimise ``sum cost[j,type(g)] x[j,g]``. The LP optimum (simplex, to optimality) is a
    lower bound on the integer optimum and is reported as ``bound``.

    The article's LP sketch was wrong on three counts: (1) it wrote the resource constraints as
    *equalities* (load = capacity), which forces every GPU exactly full, so most instances become
    infeasible and the rest are over-constrained — capacity is an upper limit, ``<=``; (2) its
    objective was all ones (``sum x``), which is constant once every job is assigned exactly once,
    so it optimises nothing — the objective must be the instance's (cost, or the makespan ``C``);
    (3) it rounded by "x > 0 means assigned", which assigns a fractional job to several GPUs at
    once (and breaks capacity) — rounding must pick one GPU per job and then restore feasibility.
    The formulation above is the correct one.

    GAP rounding: each job goes to its largest fractional x; then overloaded GPUs are repaired
    greedily: jobs leave an overloaded GPU, least-committed (smallest LP value) first, for the
    cheapest usable GPU with room (a job that cannot move is taken off and re-inserted where there
    is room at the end). If that leaves a job unplaced, two regret constructions follow
    (``_lib.assignment.regret_by_desirability`` on :func:`desirability`: by LP value then cost, then
    by tightest fit); if those fail too the solver returns no answer (status ``unknown``, the bound
    kept). ``info["rounding"]`` says which one produced the answer. No approximation guarantee.

    R||Cmax (batch ``makespan``, gang 1, releases 0), Lenstra, Shmoys & Tardos (1990): for a
    threshold T, LP(T) = ``{sum_g x[j,g] = 1, sum_j p[j,g] x[j,g] <= C per GPU, x[j,g] = 0 where
    p[j,g] > T}``, minimising C (value c(T)); T is feasible iff c(T) <= T. c is piecewise constant
    and non-increasing between the distinct processing times v_1 < ... < v_M, so the smallest
    feasible T is ``T* = max(v_k, c(v_k))`` for the smallest k with ``c(v_k) < v_{k+1}``: a binary
    search over k, each probe one LP (column bounds changed, dual simplex warm-started). Every
    schedule of makespan OPT is an integral point of LP(OPT), so ``T* <= OPT``: ``T*`` is reported
    as ``bound``. The simplex solution of LP(T*) is a vertex, so it has at most n + G nonzeros and
    its fractional jobs can be matched to distinct GPUs over its support (a bipartite pseudo-forest);
    integral jobs keep their GPU (load <= c(T*) <= T*), each fractional job goes to its matched GPU
    (a minimum-time assignment, ``scipy.optimize.linear_sum_assignment``) adding one job of time
    <= T*: makespan <= 2 T* <= 2 OPT. If the clock stops the search, the best threshold found so
    far is used (``info["lst_complete"]`` false: no guarantee) and the bound is the largest proven.

    Declines (``unsupported_reason``): gang > 1 jobs, batch objectives other than makespan, releases.
    Status ``optimal`` when the rounded value equals the bound (within 1e-9), else ``feasible``.
    ``info``: ``build_s``, ``transfer_s``, ``solve_s`` (HiGHS run time summed over the LPs),
    ``lp_value``, ``lp_solves``.
    """

    name = "lp-round"
    family = "lp"
    version = "2"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"placement": ("min-cost",), "batch": ("makespan",)}
    params = ()
    requires = ("highspy", "scipy")
    deterministic = True
    description = "LP relaxation (HiGHS simplex): GAP rounding + repair (gang 1); R||Cmax LST 2-approximation"

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Declines what the formulation does not model (see the class docstring)."""
        return super().unsupported_reason(instance) or hx.unsupported_reason(instance, "lp")

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        reason = self.unsupported_reason(instance)
        if reason is not None:
            return SolveResult(None, "unknown", info={"reason": reason})
        _, _, has = hx.pairs(instance)
        if not has.all():
            ids = [instance.jobs.ids[j] for j in np.flatnonzero(~has)[:5].tolist()]
            return SolveResult(None, "infeasible", info={"reason": f"job(s) {ids} fit no GPU they are eligible for"})
        model = hx.build(instance, integer=False)
        h = hx.new_highs(
            time_limit=context.remaining() - solve_margin(context.time_limit),
            threads=context.threads,
            seed=context.seed,
        )
        h.setOptionValue("solver", "simplex")  # a basic (vertex) solution for the rounding
        t0 = time.perf_counter()
        hx.pass_model(h, model, integer=False)
        details: dict[str, Any] = {"build_s": round(model.build_s, 4), "transfer_s": round(time.perf_counter() - t0, 4)}
        h.run()
        run_s = float(h.getRunTime())
        status = hx.model_status(h)
        details["highs_status"] = status
        if status == "infeasible":
            details["solve_s"] = round(run_s, 4)
            return SolveResult(None, "infeasible", info=details)
        if status != "optimal":
            details["solve_s"] = round(run_s, 4)
            details["reason"] = f"the LP relaxation was not solved ({status})"
            return SolveResult(None, "unknown", info=details)
        lp_value = float(h.getInfo().objective_function_value)
        details["lp_value"] = lp_value
        x = np.asarray(h.getSolution().col_value)[: model.n_pairs]
        n = instance.n_jobs
        bound = lp_value
        if model.kind == "makespan":
            x, bound, t_star, more_s = self._lst_search(instance, model, h, x, lp_value, details, context)
            run_s += more_s
            gpu = lst_round(instance, model, x)
            doc, value = hx.schedule_answer(instance, gpu)
            details["rounding"] = "lst"
            if t_star is not None:
                details["lst_threshold"] = t_star
        else:
            gpu = hx.gpu_of_job(model, self._argmax(model, x, n))
            moved = hx.repair_placement(instance, gpu, x_on_gpu(model, x, gpu))
            details["repaired_jobs"] = int((moved != gpu).sum())
            details["rounding"] = "argmax+repair"
            for by in ("lp", "fit"):
                if not (moved < 0).any():
                    break
                moved = regret_by_desirability(instance, desirability(instance, model, x, by))
                details["rounding"] = f"regret-{by}"
            details["solve_s"] = round(run_s, 4)
            if (moved < 0).any():
                details["reason"] = "rounding, repair and the regret fallback left job(s) unplaced"
                return SolveResult(None, "unknown", bound=lp_value, info=details)
            doc, value = hx.placement_answer(instance, moved)
        details["solve_s"] = round(run_s, 4)
        details["rounding_gap"] = (value - bound) / max(1e-12, abs(bound)) if bound else None
        proven = abs(value - bound) <= 1e-9 * max(1.0, abs(value))
        return SolveResult(doc, "optimal" if proven else "feasible", bound=min(bound, value), info=details)

    @staticmethod
    def _lst_search(
        inst: Instance,
        model: hx.Model,
        h: Any,
        x_full: np.ndarray,
        c_full: float,
        details: dict[str, Any],
        context: Context,
    ) -> tuple[np.ndarray, float, float | None, float]:
        """LST's threshold search (see the class docstring) on the loaded LP ``h`` whose unpruned
        optimum ``x_full``/``c_full`` is known. Returns (LP solution at the chosen threshold, proven
        lower bound, T* or None when the clock stopped the search, HiGHS seconds spent)."""
        jobs = inst.jobs
        assert jobs.time is not None
        K = model.n_pairs
        p = jobs.time[model.pair_job, inst.gpu_type[model.pair_gpu]]
        v = np.unique(p)
        M = len(v)
        pmin = np.full(inst.n_jobs, np.inf)
        np.minimum.at(pmin, model.pair_job, p)
        k_lo = int(np.searchsorted(v, pmin.max()))  # below it some job has no allowed GPU
        idx = np.arange(K, dtype=np.int32)
        spent = 0.0
        solves = 1

        def nxt(k: int) -> float:
            return float(v[k + 1]) if k + 1 < M else np.inf

        best_k, best_x, best_c = M - 1, x_full, c_full
        lb = c_full
        lo, hi = k_lo, M - 1  # the answer lies in [lo, hi]; P(hi) holds
        complete = True
        margin = min(5.0, 0.3 + 0.05 * context.time_limit)
        while lo < hi:
            if context.remaining() - margin < 0.05:
                complete = False
                break
            h.setOptionValue("time_limit", context.remaining() - margin)
            k = (lo + hi) // 2
            h.changeColsBounds(K, idx, np.zeros(K), (p <= v[k]).astype(np.float64))
            h.run()
            spent += float(h.getRunTime())
            solves += 1
            status = hx.model_status(h)
            if status == "optimal":
                c = float(h.getInfo().objective_function_value)
            elif status == "infeasible":
                c = np.inf
            else:  # stopped by the clock
                complete = False
                break
            if c < nxt(k) * (1 - 1e-12):
                hi = k
                best_k, best_c = k, c
                best_x = np.asarray(h.getSolution().col_value)[:K].copy()
            else:
                lb = max(lb, nxt(k))  # no threshold below v_{k+1} is feasible
                lo = k + 1
        details["lp_solves"] = solves
        details["lst_complete"] = complete
        if complete:
            t_star = max(float(v[best_k]), best_c)
            return best_x, max(lb, t_star), t_star, spent
        return best_x, lb, None, spent

    @staticmethod
    def _argmax(model: hx.Model, x: np.ndarray, n: int) -> np.ndarray:
        """Per job the pair column with the largest LP value (every job has one)."""
        order = np.lexsort((-x, model.pair_job))
        first = np.ones(len(order), dtype=bool)
        first[1:] = model.pair_job[order[1:]] != model.pair_job[order[:-1]]
        best = np.full(n, -1, dtype=np.int64)
        best[model.pair_job[order[first]]] = order[first]
        return best


def lst_round(inst: Instance, model: hx.Model, x: np.ndarray) -> np.ndarray:
    """LST rounding of a basic R||Cmax LP solution ``x`` (over ``model``'s pairs); GPU per job.

    Jobs with x >= 1 - 1e-6 keep their GPU; the fractional ones are matched to distinct GPUs over
    the LP support by a minimum-time assignment (in a vertex solution such a matching exists); a job
    left unmatched (only if ``x`` is not a vertex) goes where it finishes first."""
    from scipy.optimize import linear_sum_assignment

    jobs = inst.jobs
    assert jobs.time is not None
    n, G = inst.n_jobs, inst.n_gpus
    gpu = np.full(n, -1, dtype=np.int64)
    whole = x >= 1 - 1e-6
    gpu[model.pair_job[whole]] = model.pair_gpu[whole]
    frac = np.flatnonzero(gpu < 0)
    if len(frac):
        BIG = 1e15
        cost = np.full((len(frac), G), BIG)
        row_of = np.full(n, -1)
        row_of[frac] = np.arange(len(frac))
        sup = (row_of[model.pair_job] >= 0) & (x > 1e-9)
        pj, pg = model.pair_job[sup], model.pair_gpu[sup]
        cost[row_of[pj], pg] = jobs.time[pj, inst.gpu_type[pg]]
        rows, cols = linear_sum_assignment(cost)
        ok = cost[rows, cols] < BIG
        gpu[frac[rows[ok]]] = cols[ok]
    left = np.flatnonzero(gpu < 0)
    if len(left):
        load = np.zeros(G)
        done = np.flatnonzero(gpu >= 0)
        np.add.at(load, gpu[done], jobs.time[done, inst.gpu_type[gpu[done]]])
        for j in left.tolist():
            cand = model.pair_gpu[model.pair_job == j]
            fin = load[cand] + jobs.time[j, inst.gpu_type[cand]]
            k = int(cand[np.argmin(fin)])
            gpu[j] = k
            load[k] += jobs.time[j, inst.gpu_type[k]]
    return gpu


def desirability(inst: Instance, model: hx.Model, x: np.ndarray, by: str = "lp") -> np.ndarray:
    """Per job and GPU ``(n, G)`` the desirability that the regret fallback
    (:func:`~solvers._lib.assignment.regret_by_desirability`) follows: the job's LP value there minus
    a small cost term; ``by="fit"``: minus the job's largest demand/capacity ratio there (packing
    first). -inf where the model has no column."""
    jobs = inst.jobs
    n, G = inst.n_jobs, inst.n_gpus
    gt = inst.gpu_type
    cost = np.nan_to_num(jobs.cost[model.pair_job, gt[model.pair_gpu]], nan=0.0) if jobs.cost is not None else 0.0
    scale = max(1.0, float(np.max(np.abs(cost)))) if np.ndim(cost) and len(model.pair_job) else 1.0
    want = np.full((n, G), -np.inf)
    if by == "fit":
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.nan_to_num(jobs.demand[model.pair_job, gt[model.pair_gpu]], nan=0.0) / np.where(
                inst.gpu_capacity[model.pair_gpu] > 0, inst.gpu_capacity[model.pair_gpu], np.inf
            )
        want[model.pair_job, model.pair_gpu] = -ratio.max(axis=1) - 1e-3 * np.asarray(cost) / scale
    else:
        want[model.pair_job, model.pair_gpu] = x - 0.5 * np.asarray(cost) / scale
    return want


def x_on_gpu(model: hx.Model, x: np.ndarray, gpu: np.ndarray) -> np.ndarray:
    """Per job its LP value on the GPU it was rounded to (0 if none)."""
    out = np.zeros(len(gpu))
    hit = gpu[model.pair_job] == model.pair_gpu
    out[model.pair_job[hit]] = x[hit]
    return out


class LpAllocation(Solver):
    """Exact LPs for the allocation class (Gavel-style time shares), solved with HiGHS.

    Variables ``x[j,t]`` in [0, 1] only where job j may use type t (eligible and ``gpus_per_type[t]
    >= gang_j``). Rows: ``sum_t x[j,t] <= 1`` per job; ``sum_j gang_j x[j,t] <= N_t`` per type.
    With ``rho_j = sum_t thr[j,t] x[j,t] / eq_j`` exactly as the validator defines them
    (``throughput_matrix``, ``equal_share_throughput``; ``rho_j`` is 0 when ``eq_j`` is 0):

    * ``max-min-fairness``: one more column ``s >= 0``, rows ``rho_j - s >= 0``; maximise ``s``.
    * ``max-throughput``: maximise ``sum_j rho_j``.

    ``method=auto`` uses HiGHS's interior point method (with crossover) when the matrix has more
    than 200,000 nonzeros, dual simplex otherwise. The claimed objective is recomputed from the
    returned shares with the validator's formulas; status ``optimal`` when HiGHS says so.
    """

    name = "lp-allocation"
    family = "lp"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"allocation": ("max-min-fairness", "max-throughput")}
    params = (Param("method", str, "auto", "HiGHS LP method", choices=("auto", "simplex", "ipm")),)
    requires = ("highspy", "scipy")
    deterministic = True
    description = "exact LP (HiGHS) for allocation max-min-fairness and max-throughput"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        t0 = time.perf_counter()
        jobs = instance.jobs
        n, T = instance.n_jobs, len(instance.gpu_types)
        counts = instance.gpus_per_type.astype(np.float64)
        thr = throughput_matrix(instance)
        eq = equal_share_throughput(instance)
        allowed = jobs.eligible & (instance.gpus_per_type[None, :] >= jobs.gang[:, None])
        pj, pt = np.nonzero(allowed)
        K = len(pj)
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = np.where(eq[pj] > 0, thr[pj, pt] / eq[pj], 0.0)
        ks = np.arange(K)
        rows = [pj, n + pt]
        cols = [ks, ks]
        vals = [np.ones(K), jobs.gang[pj].astype(np.float64)]
        row_lower = [np.full(n, -np.inf), np.full(T, -np.inf)]
        row_upper = [np.ones(n), counts]
        fair = instance.problem.objective == "max-min-fairness"
        ncol = K + 1 if fair else K
        if fair:
            rows += [n + T + pj, n + T + np.arange(n)]
            cols += [ks, np.full(n, K)]
            vals += [coef, -np.ones(n)]
            row_lower.append(np.zeros(n))
            row_upper.append(np.full(n, np.inf))
            cost = np.zeros(ncol)
            cost[K] = 1.0
            upper = np.concatenate([np.ones(K), [np.inf]])
        else:
            cost = coef
            upper = np.ones(K)
        nrow = n + T + (n if fair else 0)
        A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrow, ncol))
        build_s = time.perf_counter() - t0
        method = context.params.get("method", "auto")
        if method == "auto":
            method = "ipm" if A.nnz > IPM_NNZ else "simplex"
        h = hx.new_highs(
            time_limit=context.remaining() - solve_margin(context.time_limit),
            threads=context.threads,
            seed=context.seed,
        )
        h.setOptionValue("solver", method)
        t1 = time.perf_counter()
        hx.pass_arrays(h, -1, cost, np.zeros(ncol), upper, np.concatenate(row_lower), np.concatenate(row_upper), A)
        transfer_s = time.perf_counter() - t1
        h.run()
        details: dict[str, Any] = {
            "build_s": round(build_s, 4),
            "transfer_s": round(transfer_s, 4),
            "solve_s": round(float(h.getRunTime()), 4),
            "method": method,
        }
        status = hx.model_status(h)
        details["highs_status"] = status
        if status != "optimal":
            details["reason"] = f"HiGHS did not solve the LP ({status})"
            return SolveResult(None, "unknown", info=details)
        lp_value = float(h.getInfo().objective_function_value)
        details["lp_value"] = lp_value
        x = np.clip(np.asarray(h.getSolution().col_value)[:K], 0.0, 1.0)
        xm = np.zeros((n, T))
        xm[pj, pt] = x
        # remove solver round-off above the limits (shares are within ~1e-9 of them)
        xm /= np.maximum(1.0, xm.sum(axis=1, keepdims=True))
        used = jobs.gang.astype(np.float64) @ xm
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(used > counts, counts / used, 1.0)
        xm *= scale[None, :]
        achieved = (xm * thr).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(eq > 0, achieved / eq, 0.0)
        value = (float(rho.min()) if fair else float(rho.sum())) if n else 0.0
        ids, types = jobs.ids, instance.type_ids
        alloc = {ids[j]: {types[t]: float(xm[j, t]) for t in np.flatnonzero(xm[j] > 0).tolist()} for j in range(n)}
        doc = {"problem": "allocation", "allocation": alloc, "objective": value}
        return SolveResult(doc, "optimal", bound=_finite(lp_value), info=details)
