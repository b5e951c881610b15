"""Heterogeneity-aware round-based policies (Gavel, Narayanan et al., OSDI 2020) on the simulator.

Every round (``round_s``, default 360 s) the policy computes a time-fraction allocation ``x[j, t]``
of GPU types to the active (released, unfinished) jobs, then Gavel's priority mechanism turns it
into the round's placements: the pairs (job, type) are taken in decreasing **deficit** (rounds owed
minus rounds received: ``x[j, t] * (active time + round) - seconds received on t``), each placed
when its type has room; left-over GPUs are filled (work conservation) by the waiting jobs with the
largest total deficit. A running job whose round placement differs is preempted (and resumed on
its new type), paying the instance's overhead model through the engine; a job that keeps its type
runs on without an event. Between rounds, GPUs freed by completions and arriving jobs are filled
by the same order (``backfill``).

Allocation objectives (``objective``), all over the throughputs the predictor gives (``1 /
predicted time``, so predictions drive every policy here):

* ``las``: max-min fairness over normalised throughput (heterogeneity-aware LAS): maximise ``z``
  with ``sum_t thr[j,t] x[j,t] >= eq_j z`` (``eq_j`` the equal-share throughput, as the validator's
  allocation class defines it), plus a small weight on the total normalised throughput so the
  answer is Pareto-efficient;
* ``makespan``: maximise ``z`` with ``sum_t thr[j,t] x[j,t] >= f_j z`` (``f_j`` predicted
  remaining fraction): the largest ``z`` is ``1 / (min over allocations of the max remaining
  time)``;
* ``ftf``: finish-time fairness (Themis, in Gavel's form): minimise ``max_j rho_j``, ``rho_j = (t_j
  + f_j / thr_j(x)) / (t_j + f_j / thr_eq_j)`` (``t_j`` time since release): bisection on ``Z`` over
  the LP feasibility ``thr_j(x) >= f_j / (Z D_j - t_j)`` (row lower bounds only change), then the
  most throughput at the final ``Z``; ``rho = 1`` is always feasible (the equal share);
* ``throughput``: maximise the total normalised throughput ``sum_j thr_j(x) / eq_j``;
* ``fifo``: jobs in release order each take their fastest type with room (fractional knapsack per
  job: the exact lexicographic optimum of the jobs' throughputs in release order), no LP.

The LP is **kept** between rounds (:class:`AllocationLP`): one HiGHS model with a slot per job
(columns ``x[s, t]`` and one ``z``; rows per job, per type, per job's throughput), jobs entering and
leaving by column/row bound and coefficient changes, re-solved by dual simplex from the previous
basis. ``aware=false`` runs the same policy heterogeneity-agnostic: every type is given the job's
mean throughput over its usable types, and the priority mechanism places jobs on the usable type
with most room (not the fastest). The ideal (fluid) mode, which applies the fractions exactly, is
:func:`ideal_run`: a fractional allocation is not an event log (a GPU runs one job at a time), so
its metrics are computed by a fluid simulation and are **not** a validated log.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Param
from schedbench.simulator import Policy, View
from schedbench.simulator.engine import RUNNING, WAITING
from schedbench.simulator.solver import COMMON_PARAMS, PolicySolver

from . import _highs as hx

OBJECTIVES = ("las", "ftf", "throughput", "makespan", "fifo")
_TINY = 1e-9


class AllocationLP:
    """A kept HiGHS LP of Gavel-style time fractions over ``T`` GPU types with ``counts[t]`` GPUs.

    Jobs occupy *slots* (grown by doubling, which is the only rebuild). Columns: ``x[s, t]``
    (index ``s * T + t``) then ``z``. Rows: ``0..S-1`` per slot ``sum_t x[s,t] <= 1``; ``S..S+T-1``
    per type ``sum_s gang_s x[s,t] <= counts[t]``; ``S+T+s`` per slot ``sum_t a[s,t] x[s,t] - d_s z
    >= lo_s`` (free for an empty slot). An empty slot has its columns fixed at 0.

    ``mode``: ``maxmin`` (maximise ``W z + sum_s sum_t a[s,t] x[s,t] / d_s``, ``W`` = 1000 x slots,
    for ``las`` and ``makespan``) or ``sum`` (``z`` fixed at 0, maximise ``sum a[s,t] x[s,t] /
    e_s``, for ``throughput`` and the ``ftf`` feasibility probes). Contract: :meth:`set_job` /
    :meth:`drop_job` change only bounds, costs and coefficients of the slot; :meth:`solve`
    re-solves from the previous basis and returns ``{job: row of T fractions}``.
    """

    def __init__(self, counts: np.ndarray, mode: str, slots: int = 64) -> None:
        import highspy  # noqa: F401  (requires the lp extra's highspy)

        self.counts = np.asarray(counts, dtype=np.float64)
        self.T = len(self.counts)
        self.mode = mode
        self.slot_of: dict[int, int] = {}
        self.job_at: list[int] = []
        self.free: list[int] = []
        self.a = np.zeros((0, self.T))
        self.gang = np.zeros(0)
        self.d = np.zeros(0)
        self.e = np.zeros(0)
        self.usable = np.zeros((0, self.T), dtype=bool)
        self.lo = np.zeros(0)
        self.scale = np.ones(0)
        self.rebuilds = 0
        self.solves = 0
        self.warm_failures = 0
        self._build(max(8, slots))

    # ------------------------------------------------------------------ model
    def _build(self, S: int) -> None:
        """(Re)build the model with ``S`` slots, carrying the jobs already placed."""
        T = self.T
        old = len(self.job_at)
        grow = S - old
        self.job_at += [-1] * grow
        self.free = sorted(set(self.free) | set(range(old, S)), reverse=True)
        self.a = np.vstack([self.a, np.zeros((grow, T))])
        self.gang = np.concatenate([self.gang, np.ones(grow)])
        self.d = np.concatenate([self.d, np.ones(grow)])
        self.e = np.concatenate([self.e, np.ones(grow)])
        self.usable = np.vstack([self.usable, np.zeros((grow, T), dtype=bool)])
        self.lo = np.concatenate([self.lo, np.zeros(grow)])
        self.scale = np.concatenate([self.scale, np.ones(grow)])
        self.S = S
        K = S * T
        s_idx = np.repeat(np.arange(S), T)
        t_idx = np.tile(np.arange(T), S)
        cols = np.arange(K)
        rows = np.concatenate([s_idx, S + t_idx, S + T + s_idx, S + T + np.arange(S)])
        cidx = np.concatenate([cols, cols, cols, np.full(S, K)])
        a_flat = np.where(self.a.ravel() > 0, self.a.ravel(), 1.0)  # keep the structure: every entry present
        vals = np.concatenate([np.ones(K), self.gang[s_idx], a_flat, -self.d if self.mode == "maxmin" else np.zeros(S)])
        A = sp.csc_matrix((vals, (rows, cidx)), shape=(2 * S + T, K + 1))
        active = np.asarray([j >= 0 for j in self.job_at])
        col_up = np.where((active[s_idx]) & self.usable.ravel(), 1.0, 0.0)
        cost = np.zeros(K + 1)
        cost[:K] = self._cost_rows(np.arange(S)).ravel()
        z_up = np.inf if self.mode == "maxmin" else 0.0
        if self.mode == "maxmin":
            cost[K] = 1000.0 * S
        row_lo = np.concatenate([np.full(S + T, -np.inf), np.where(active, self.lo, -np.inf)])
        row_up = np.concatenate([np.ones(S), self.counts, np.full(S, np.inf)])
        self.h = hx.new_highs(time_limit=None, threads=1, seed=0)
        self.h.setOptionValue("solver", "simplex")
        self.h.setOptionValue("simplex_strategy", 4)  # primal: fastest from the previous basis (bench_rounds.py)
        self.h.setOptionValue("presolve", "off")  # presolve would discard the basis of the previous round
        hx.pass_arrays(self.h, -1, cost, np.zeros(K + 1), np.concatenate([col_up, [z_up]]), row_lo, row_up, A)
        self.rebuilds += 1

    def _cost_rows(self, slots: np.ndarray) -> np.ndarray:
        """Objective coefficients of the x columns of ``slots`` (``(len, T)``)."""
        den = self.d[slots] if self.mode == "maxmin" else self.e[slots]
        c = self.a[slots] / np.maximum(den, _TINY)[:, None]
        occupied = np.asarray(self.job_at, dtype=np.int64)[slots] >= 0
        return np.where(occupied[:, None] & self.usable[slots], c, 0.0)

    def set_job(self, j: int, a: np.ndarray, gang: float, d: float, e: float = 1.0, lo: float = 0.0) -> None:
        """Enter (or update) job ``j``: throughputs ``a[t]`` (0: type unusable), its gang, its ``z``
        coefficient ``d`` (``maxmin``), its normaliser ``e`` (``sum``), its row lower bound ``lo``."""
        s = self.slot_of.get(j)
        if s is None:
            if not self.free:
                self._build(2 * self.S)
            s = self.free.pop()
            self.slot_of[j] = s
            self.job_at[s] = j
            new = True
        else:
            new = False
        T, S, h = self.T, self.S, self.h
        a = np.asarray(a, dtype=np.float64)
        use = a > 0
        scale = float(a.max()) if use.any() else 1.0  # rows scaled to coefficients <= 1 (same feasible set)
        a, d, e, lo = a / scale, d / scale, e / scale, lo / scale
        self.scale[s] = scale
        base = s * T
        if new or (self.a[s] != a).any() or self.gang[s] != gang or not (use == self.usable[s]).all():
            for t in range(T):
                if use[t]:
                    h.changeCoeff(S + T + s, base + t, float(a[t]))
                if self.gang[s] != gang or new:
                    h.changeCoeff(S + t, base + t, float(gang))
            self.a[s], self.gang[s], self.usable[s] = a, gang, use
            h.changeColsBounds(T, np.arange(base, base + T, dtype=np.int32), np.zeros(T), use.astype(np.float64))
        if self.mode == "maxmin" and (new or self.d[s] != d):
            h.changeCoeff(S + T + s, S * T, -float(d))
        self.d[s], self.e[s] = d, e
        h.changeColsCost(T, np.arange(base, base + T, dtype=np.int32), self._cost_rows(np.array([s]))[0])
        if new or self.lo[s] != lo:
            h.changeRowBounds(S + T + s, float(lo), math.inf)
            self.lo[s] = lo

    def update(self, slots: np.ndarray, d: np.ndarray, e: np.ndarray, lo: np.ndarray) -> None:
        """Scaled ``d``, ``e``, ``lo`` of occupied ``slots``: only the changed entries reach HiGHS."""
        if len(slots) == 0:
            return
        S, T, h = self.S, self.T, self.h
        dc = self.d[slots] != d
        ec = self.e[slots] != e
        if self.mode == "maxmin":
            for s, v in zip(slots[dc].tolist(), d[dc].tolist(), strict=True):
                h.changeCoeff(S + T + s, S * T, -v)
        self.d[slots], self.e[slots] = d, e
        cc = slots[dc | ec] if self.mode == "maxmin" else slots[ec]
        if len(cc):
            idx = (cc[:, None] * T + np.arange(T)[None, :]).ravel().astype(np.int32)
            h.changeColsCost(len(idx), idx, self._cost_rows(cc).ravel())
        lc = self.lo[slots] != lo
        if lc.any():
            ls = slots[lc].astype(np.int32)
            self.lo[ls] = lo[lc]
            h.changeRowsBounds(len(ls), S + T + ls, lo[lc].astype(np.float64), np.full(len(ls), math.inf))

    def set_lower(self, jobs: list[int], lo: np.ndarray) -> None:
        """Row lower bounds of the throughput rows of ``jobs`` (one vectorised call)."""
        slots = np.asarray([self.slot_of[j] for j in jobs], dtype=np.int32)
        lo = np.asarray(lo, dtype=np.float64) / self.scale[slots]
        self.lo[slots] = lo
        self.h.changeRowsBounds(len(slots), self.S + self.T + slots, lo, np.full(len(slots), math.inf))

    def drop_job(self, j: int) -> None:
        """Take job ``j`` out: its columns fixed at 0, its throughput row freed."""
        s = self.slot_of.pop(j)
        self.job_at[s] = -1
        self.free.append(s)
        T, base = self.T, s * self.T
        self.h.changeColsBounds(T, np.arange(base, base + T, dtype=np.int32), np.zeros(T), np.zeros(T))
        self.h.changeColsCost(T, np.arange(base, base + T, dtype=np.int32), np.zeros(T))
        self.h.changeRowBounds(self.S + T + s, -math.inf, math.inf)
        self.usable[s] = False

    def run(self) -> str:
        """Re-solve (warm); the model status as a word."""
        self.h.run()
        self.solves += 1
        return hx.model_status(self.h)

    def fractions(self) -> dict[int, np.ndarray]:
        """``{job: (T,) fractions}`` of the last solve (clipped to [0, 1], rows summing to <= 1)."""
        x = np.asarray(self.h.getSolution().col_value)[: self.S * self.T].reshape(self.S, self.T)
        x = np.clip(x, 0.0, 1.0)
        x /= np.maximum(1.0, x.sum(axis=1, keepdims=True))
        return {j: x[s] for j, s in self.slot_of.items()}

    def solve(self) -> dict[int, np.ndarray]:
        """Re-solve and return the fractions; raises RuntimeError when HiGHS does not reach optimal."""
        st = self.run()
        if st != "optimal":  # a warm start that went astray (rare): from scratch, then a fresh model
            self.h.clearSolver()
            st = self.run()
        if st != "optimal":
            self._build(self.S)
            st = self.run()
            self.warm_failures += 1
        if st != "optimal":
            raise RuntimeError(f"allocation LP not solved ({st})")
        return self.fractions()


def maxmin_dw(
    a: np.ndarray,
    gang: np.ndarray,
    e: np.ndarray,
    counts: np.ndarray,
    *,
    tol: float = 1e-7,
    max_iter: int = 200,
    lam0: np.ndarray | None = None,
    out: dict | None = None,
) -> np.ndarray | None:
    """Max-min fairness ``max z: sum_t a[j,t] x[j,t] >= z e_j, sum_j gang_j x[j,t] <= counts[t], x >= 0``
    by Dantzig-Wolfe decomposition over the ``T`` capacity rows (column generation, exact to ``tol``).

    LP duality gives ``1 / z* = max F(lam)`` over ``lam >= 0, lam . counts = 1`` with the concave
    ``F(lam) = sum_j e_j gang_j min_t lam_t / a[j,t]``: each job's cheapest type at prices ``lam``.
    Every assignment ``sigma`` (job -> type) gives a cut ``F(lam) <= c_sigma . lam``; the master LP
    (T + 1 variables) over the cuts so far gives ``lam`` and an upper bound, ``F(lam)`` a lower bound,
    and its duals ``pi`` (a convex combination of the assignments) the primal: ``x[j,t] = z sum_{k:
    sigma_k(j) = t} pi_k e_j / a[j,t]`` with ``z`` = 1 / the upper bound, which uses at most
    ``counts[t]`` of each type and gives every job ``z e_j``. O(iterations x n T) numpy work.

    ``lam0``: starting prices (the previous round's, a warm start); ``out`` receives ``lam`` and
    ``iterations``. Returns ``(n, T)`` fractions, or None when they do not satisfy ``sum_t x[j,t] <= 1`` (few jobs:
    the per-job limit binds and the caller solves the full LP) or the iteration limit is hit."""
    n, T = a.shape
    if n == 0:
        return np.zeros((0, T))
    w = (e * gang)[:, None]
    usable = a > 0
    inv = np.where(usable, w / np.where(usable, a, 1.0), 0.0)  # cost per unit price of serving j on t
    lam = 1.0 / (T * counts) if lam0 is None or not (lam0 > 0).any() else lam0 / float(lam0 @ counts)
    # master LP, kept and re-solved warm as cuts are added: max s, counts . lam = 1, s - c_k . lam <= 0
    h = hx.new_highs(time_limit=None, threads=1, seed=0)
    h.setOptionValue("presolve", "off")
    hx.pass_arrays(
        h,
        -1,
        np.r_[np.zeros(T), 1.0],
        np.zeros(T + 1),
        np.full(T + 1, math.inf),
        np.ones(1),
        np.ones(1),
        sp.csc_matrix(np.r_[counts, 0.0][None, :]),
    )
    sigmas: list[np.ndarray] = []
    ub, lb = math.inf, 0.0
    rows = np.arange(n)
    pi = np.zeros(0)
    iterations = stall = 0
    last_ub = math.inf
    idx = np.arange(T + 1, dtype=np.int32)
    for _ in range(max_iter):
        iterations += 1
        sig = np.argmin(np.where(usable, inv * lam[None, :], np.inf), axis=1)
        c = np.bincount(sig, weights=inv[rows, sig], minlength=T)
        lb = max(lb, float(c @ lam))
        sigmas.append(sig)
        h.addRow(-math.inf, 0.0, T + 1, idx, np.r_[-c, 1.0])
        h.run()
        if hx.model_status(h) != "optimal":
            return None
        sol = h.getSolution()
        xv = np.asarray(sol.col_value)
        lam = np.maximum(xv[:T], 0.0)
        ub = float(xv[T])
        pi = np.abs(np.asarray(sol.row_dual)[1:])
        if ub - lb <= tol * ub:
            break
        stall = stall + 1 if ub >= last_ub * (1 - 1e-12) else 0
        last_ub = ub
        if stall >= 3 and ub - lb <= 1e-5 * ub:  # the master's tolerance reached: no cut moves it
            break
    else:
        return None
    if out is not None:
        out.update(lam=lam, iterations=iterations, gap=(ub - lb) / ub)
    if pi.sum() <= 0:
        return None
    pi = pi / pi.sum()
    z = 1.0 / ub
    x = np.zeros((n, T))
    for k in np.flatnonzero(pi > 1e-15).tolist():
        sig = sigmas[k]
        x[rows, sig] += pi[k] * z * e / a[rows, sig]
    use = gang @ x  # within the master LP's tolerance of counts: scale the few ulps away
    x *= np.minimum(1.0, counts / np.maximum(use, 1e-300))[None, :]
    if (x.sum(axis=1) > 1 + 1e-9).any():
        return None
    return x


@dataclass
class Allocator:
    """The allocation step of every round for one objective; keeps its LP between calls.

    ``allocate(now, jobs, thr, gang, frac_left, since)`` takes the active jobs (indices), their
    ``(n, T)`` throughputs (0: unusable), gangs, predicted remaining fractions and release times;
    returns ``{job: (T,) fractions}``. ``seconds`` sums the time spent; ``calls`` counts them."""

    objective: str
    counts: np.ndarray
    aware: bool = True
    seconds: float = 0.0
    calls: int = 0
    lp: AllocationLP | None = None
    _last: tuple | None = None
    _cache: dict[int, np.ndarray] = field(default_factory=dict)
    _z_prev: float = -1.0
    dw_min_jobs: int = 256
    dw_warm: bool = False
    _lam: np.ndarray | None = None
    dw_calls: int = 0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective {self.objective!r}: expected one of {list(OBJECTIVES)}")
        self.counts = np.asarray(self.counts, dtype=np.float64)
        if self.objective in ("las", "makespan"):
            self.lp = AllocationLP(self.counts, "maxmin")
        elif self.objective in ("throughput", "ftf"):
            self.lp = AllocationLP(self.counts, "sum")

    def effective(self, thr: np.ndarray) -> np.ndarray:
        """Throughputs the allocation sees: the predicted ones (aware), or each job's mean over its
        usable types on every usable type (agnostic)."""
        if self.aware or thr.size == 0:
            return thr
        use = thr > 0
        mean = thr.sum(axis=1) / np.maximum(use.sum(axis=1), 1)
        return np.where(use, mean[:, None], 0.0)

    def equal_share(self, thr: np.ndarray, gang: np.ndarray) -> np.ndarray:
        """Equal-share throughput per job (the validator's allocation-class definition)."""
        N = self.counts.sum()
        c = min(1.0, N / float(gang.sum())) if gang.sum() > 0 else 1.0
        return thr @ (c * self.counts / N)

    def allocate(
        self, now: float, jobs: list[int], thr: np.ndarray, gang: np.ndarray, frac_left: np.ndarray, since: np.ndarray
    ) -> dict[int, np.ndarray]:
        """Time shares per job and GPU type for the next round from the kept LP (time accounted in ``seconds``)."""
        t0 = time.perf_counter()
        try:
            return self._allocate(now, jobs, self.effective(thr), gang, frac_left, since)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1

    def _sync(
        self,
        jobs: list[int],
        a: np.ndarray,
        gang: np.ndarray,
        d: np.ndarray,
        e: np.ndarray,
        lo: np.ndarray | None = None,
    ) -> None:
        """Bring the kept LP to the active set: departed jobs dropped, new ones entered (a few per
        round); for the jobs already in, only what changed is passed, in vectorised calls."""
        lp = self.lp
        assert lp is not None
        keep = set(jobs)
        for j in [j for j in lp.slot_of if j not in keep]:
            lp.drop_job(j)
        lo = np.zeros(len(jobs)) if lo is None else lo
        slot_of = lp.slot_of
        old_i = [i for i, j in enumerate(jobs) if j in slot_of]
        new_i = [i for i, j in enumerate(jobs) if j not in slot_of]
        if old_i:
            oi = np.asarray(old_i)
            slots = np.asarray([slot_of[jobs[i]] for i in old_i])
            sc = lp.scale[slots]
            same = (lp.a[slots] * sc[:, None] == a[oi]).all(axis=1) & (lp.gang[slots] == gang[oi])
            for i in oi[~same].tolist():  # throughputs changed (a new prediction): re-enter the row
                lp.set_job(jobs[i], a[i], float(gang[i]), float(d[i]), float(e[i]), float(lo[i]))
            oi, slots, sc = oi[same], slots[same], sc[same]
            lp.update(slots, d[oi] / sc, e[oi] / sc, lo[oi] / sc)
        for i in new_i:
            lp.set_job(jobs[i], a[i], float(gang[i]), float(d[i]), float(e[i]), float(lo[i]))

    def _allocate(
        self, now: float, jobs: list[int], a: np.ndarray, gang: np.ndarray, frac_left: np.ndarray, since: np.ndarray
    ) -> dict[int, np.ndarray]:
        obj = self.objective
        if not jobs:
            return {}
        eq = self.equal_share(a, gang)
        if obj == "fifo":
            return self._fifo(jobs, a, gang, since)
        if obj == "las":
            key = ("las", tuple(jobs))
            if key == self._last:  # same active set: same LP, same answer
                return self._cache
            x = None
            if len(jobs) >= self.dw_min_jobs:
                info: dict[str, Any] = {}
                x = maxmin_dw(a, gang, eq, self.counts, lam0=self._lam if self.dw_warm else None, out=info)
                self._lam = info.get("lam")
                self.dw_calls += x is not None
            if x is None:
                self._sync(jobs, a, gang, eq, eq)
                out = self.lp.solve()  # type: ignore[union-attr]
            else:
                out = dict(zip(jobs, x, strict=True))
            self._last, self._cache = key, out
            return out
        if obj == "makespan":
            self._sync(jobs, a, gang, np.maximum(frac_left, 1e-3), eq)
            return self.lp.solve()  # type: ignore[union-attr]
        if obj == "throughput":
            key = ("thr", tuple(jobs))
            if key == self._last:
                return self._cache
            self._sync(jobs, a, gang, eq, eq)
            self._last, self._cache = key, self.lp.solve()  # type: ignore[union-attr]
            return self._cache
        return self._ftf(now, jobs, a, gang, eq, frac_left, since)

    def _ftf(
        self,
        now: float,
        jobs: list[int],
        a: np.ndarray,
        gang: np.ndarray,
        eq: np.ndarray,
        frac_left: np.ndarray,
        since: np.ndarray,
    ) -> dict[int, np.ndarray]:
        lp = self.lp
        assert lp is not None
        f = np.maximum(frac_left, 1e-3)
        t = np.maximum(now - since, 0.0)
        with np.errstate(divide="ignore"):
            D = t + np.where(eq > 0, f / np.maximum(eq, _TINY), np.inf)
        self._sync(jobs, a, gang, eq, eq)
        lo_z = float(np.max(t / D)) if len(D) else 0.0
        hi, lo = 1.0, lo_z

        def need(Z: float) -> np.ndarray:
            gap = Z * D - t
            return np.where(gap > _TINY, f / np.maximum(gap, _TINY), np.inf)

        best: dict[int, np.ndarray] | None = None

        def probe(Z: float) -> bool:
            nonlocal best
            req = need(Z)
            if not np.isfinite(req).all():
                return False
            lp.set_lower(jobs, req * (1 - 1e-7))
            if lp.run() == "optimal":
                best = lp.fractions()
                return True
            return False

        # bracket around the previous round's optimum (it moves little between rounds), then bisect
        prev = self._z_prev
        if lo < prev < hi:
            w = 0.02 * prev
            while True:
                up = min(hi, prev + w)
                if probe(up):
                    hi = up
                    break
                lo, w = up, 4 * w
                if up >= hi:
                    break
            down = max(lo, prev - w)
            if down > lo and not probe(down):
                lo = down
            elif down > lo:
                hi = down
        while hi - lo > 5e-3 * hi:  # ~0.5 % on Z
            mid = 0.5 * (lo + hi)
            if probe(mid):
                hi = mid
            else:
                lo = mid
        self._z_prev = hi
        if best is None:  # Z = 1 (the equal share) is feasible by construction; solve there
            lp.set_lower(jobs, need(1.0 + 1e-6) * (1 - 1e-6))
            best = lp.fractions() if lp.run() == "optimal" else self._equal(jobs, gang)
        return best

    def _equal(self, jobs: list[int], gang: np.ndarray) -> dict[int, np.ndarray]:
        N = self.counts.sum()
        c = min(1.0, N / float(gang.sum()))
        row = c * self.counts / N
        return {j: row.copy() for j in jobs}

    def _fifo(self, jobs: list[int], a: np.ndarray, gang: np.ndarray, since: np.ndarray) -> dict[int, np.ndarray]:
        cap = self.counts.copy()
        out: dict[int, np.ndarray] = {}
        for i in np.lexsort((np.asarray(jobs), since)).tolist():
            row = np.zeros(len(cap))
            left = 1.0
            order = np.argsort(-a[i], kind="stable") if self.aware else np.argsort(-cap, kind="stable")
            for t in order.tolist():
                if a[i, t] <= 0 or left <= _TINY:
                    continue
                take = min(left, cap[t] / gang[i])
                if take > _TINY:
                    row[t] = take
                    cap[t] -= take * gang[i]
                    left -= take
            out[jobs[i]] = row
        return out


class RoundPolicy(Policy):
    """Gavel's round-based mechanism over an :class:`Allocator` (see the module docstring)."""

    def __init__(
        self,
        objective: str = "las",
        *,
        aware: bool = True,
        round_s: float = 360.0,
        backfill: bool = True,
        **admission: Any,
    ) -> None:
        super().__init__(**admission)
        if not round_s > 0:
            raise ValueError(f"round_s must be > 0, got {round_s}")
        self.objective = objective
        self.aware = bool(aware)
        self.round_s = float(round_s)
        self.backfill = bool(backfill)
        self.allocator: Allocator | None = None
        self.rounds = 0
        self.idle_rounds = 0
        self._next = math.inf

    def setup(self, view: View) -> None:
        """Called once before the first event: size the policy's state for ``view``'s cluster and jobs."""
        super().setup(view)
        n = len(view.state)
        T = len(view.type_ids)
        self.allocator = Allocator(self.objective, np.asarray(view.cluster.total, dtype=np.float64), self.aware)
        self.recv = np.zeros((n, T))  # seconds received on each type
        self.active_s = np.zeros(n)  # seconds the job has been in the allocation (owed time base)
        self.x: dict[int, np.ndarray] = {}
        self.T = T
        self._seg_t0: dict[int, float] = {}
        self._last_round = 0.0
        self._next = math.inf

    # ------------------------------------------------------------------ helpers
    def _thr(self, view: View, j: int) -> np.ndarray:
        row = np.zeros(self.T)
        for t, p in view.pred_types[j].items():
            if view.cluster.total[t] >= view.gang[j]:
                row[t] = 1.0 / p
        return row

    def _account(self, view: View) -> None:
        """Credit the seconds run since the last accounting to each running job's type."""
        now = view.now
        for j in view.running:
            t0 = self._seg_t0.get(j, view.seg_start[j])
            t0 = max(t0, view.seg_start[j])
            self.recv[j, view.seg_type[j]] += now - t0
            self._seg_t0[j] = now

    def _deficit(self, j: int, t: int) -> float:
        return float(self.x[j][t] * (self.active_s[j] + self.round_s) - self.recv[j, t])

    def _pick_type(self, view: View, j: int, room: list[float]) -> int:
        """A usable type with room for ``j``'s gang: the fastest (aware) or the roomiest (agnostic)."""
        g = view.gang[j]
        types = view.pred_types[j]
        assert types is not None and g is not None
        if self.aware:
            for t in types:  # fastest predicted first
                if room[t] >= g and view.cluster.total[t] >= g:
                    return t
            return -1
        best, key = -1, (math.inf, 0)
        for t in types:  # the roomiest type; ties rotate with the job index (no type favoured)
            k = (-room[t], (t + j) % self.T)
            if room[t] >= g and view.cluster.total[t] >= g and k < key:
                best, key = t, k
        return best

    # ------------------------------------------------------------------ the round
    def _round(self, view: View) -> None:
        assert self.allocator is not None
        now = view.now
        self._account(view)
        elapsed = now - self._last_round
        active = [j for j in view.running] + [j for j in view.waiting]
        active.sort()
        if self.rounds:
            for j in self.x:
                if view.state[j] in (RUNNING, WAITING):
                    self.active_s[j] += elapsed
        self._last_round = now
        self.rounds += 1
        if not active:
            self.x = {}
            return
        if not view.waiting and (
            not self.aware or all(view.seg_type[j] == next(iter(view.pred_types[j])) for j in view.running)
        ):
            self.idle_rounds += 1  # nobody waits and nobody would gain from another type: placements stay
            return
        thr = np.stack([self._thr(view, j) for j in active])
        gang = np.asarray([view.gang[j] for j in active], dtype=np.float64)
        left = np.asarray([view.remaining(j) / max(view.pred[j], _TINY) for j in active])
        since = np.asarray([view.release[j] for j in active], dtype=np.float64)
        self.x = self.allocator.allocate(now, active, thr, gang, left, since)
        # Gavel's priorities: (job, type) pairs by deficit, each placed where its type has room
        room = [float(c) for c in view.cluster.total]
        want: dict[int, int] = {}
        if self.aware:
            pairs = [
                (self._deficit(j, t), self.x[j][t], j, t) for j in active for t in range(self.T) if self.x[j][t] > 1e-6
            ]
            pairs.sort(key=lambda p: (-p[0], -p[1], p[2], p[3]))
            for _, _, j, t in pairs:
                g = view.gang[j]
                if j not in want and room[t] >= g:
                    want[j] = t
                    room[t] -= g
        else:
            tot = [
                (float(self.x[j].sum() * (self.active_s[j] + self.round_s) - self.recv[j].sum()), j)
                for j in active
                if self.x[j].sum() > 1e-6
            ]
            tot.sort(key=lambda p: (-p[0], p[1]))
            for _, j in tot:
                cur = view.seg_type[j] if view.state[j] == RUNNING else -1
                g = view.gang[j]
                t = cur if cur >= 0 and room[cur] >= g else self._pick_type(view, j, room)
                if t >= 0:
                    want[j] = t
                    room[t] -= g
        # work conservation: the rest by total deficit
        rest = sorted(
            (j for j in active if j not in want),
            key=lambda j: (
                -(
                    float(self.x.get(j, np.zeros(self.T)).sum()) * (self.active_s[j] + self.round_s)
                    - float(self.recv[j].sum())
                ),
                j,
            ),
        )
        for j in rest:
            cur = view.seg_type[j] if view.state[j] == RUNNING else -1
            if cur >= 0 and room[cur] >= view.gang[j]:
                t = cur
            else:
                t = self._pick_type(view, j, room)
            if t >= 0:
                want[j] = t
                room[t] -= view.gang[j]
        self._apply(view, want)

    def _apply(self, view: View, want: dict[int, int]) -> None:
        if view.allow_preemption:
            for j in list(view.running):
                if want.get(j, -1) != view.seg_type[j]:
                    view.preempt(j)
                    self._seg_t0.pop(j, None)
        for j, t in sorted(want.items(), key=lambda p: -view.gang[p[0]]):
            if view.state[j] == WAITING and view.cluster.fits(t, view.gang[j]):
                view.start(j, gpu_type=t)
                self._seg_t0[j] = view.now
        self._fill(view)

    def _fill(self, view: View) -> None:
        """Start waiting jobs on free GPUs (largest deficit first), without preempting anyone."""
        if not view.waiting:
            return
        free = [float(f) for f in view.cluster.free]
        if max(free) <= 0:
            return
        zero = np.zeros(self.T)
        x, act, recv, rs = self.x, self.active_s, self.recv, self.round_s
        order = sorted(
            view.waiting,
            key=lambda j: (float(recv[j].sum()) - float(x.get(j, zero).sum()) * (act[j] + rs), view.release[j], j),
        )
        for j in order:
            g = view.gang[j]
            types = view.pred_types[j]
            assert types is not None and g is not None
            cand = list(types) if self.aware else sorted(types, key=lambda t: (-view.cluster.free[t], (t + j) % self.T))
            for t in cand:
                if view.cluster.fits(t, g):
                    view.start(j, gpu_type=t)
                    self._seg_t0[j] = view.now
                    break
            if max(view.cluster.free) <= 0:
                break

    # ------------------------------------------------------------------ callbacks
    def on_finish(self, view: View, j: int) -> None:
        """Account the finished job's last segment of service and drop its allocation."""
        t0 = self._seg_t0.pop(j, None)
        if t0 is not None:
            self.recv[j, view.seg_type[j]] += view.now - t0
        self.x.pop(j, None)

    def on_timer(self, view: View) -> None:
        """A round ends: compute the next allocation and arm the next round's timer."""
        self._next = math.inf
        if view.running or view.waiting:
            self._round(view)
            self._next = view.now + self.round_s
            view.set_timer(self._next)

    def schedule(self, view: View) -> None:
        """Start the first round when work appears; between rounds, backfill idle GPUs (``backfill``)."""
        if self._next == math.inf and (view.waiting or view.running):
            self._round(view)
            self._next = view.now + self.round_s
            view.set_timer(self._next)
        elif self.backfill:
            self._fill(view)


ROUND_PARAMS = (
    *COMMON_PARAMS,
    Param("round_s", float, 360.0, "round length in seconds (Gavel: 360)", minimum=1e-6),
    Param("aware", bool, True, "heterogeneity-aware (per-type throughputs) or agnostic (all types alike)"),
    Param("backfill", bool, True, "between rounds, start waiting jobs on GPUs freed by completions"),
)


class _RoundSolver(PolicySolver):
    params = ROUND_PARAMS
    requires = ("highspy", "scipy")
    objective: ClassVar[str] = "las"

    def policy_info(self, policy: Policy) -> dict[str, Any]:
        """The rounds' figures: rounds, idle rounds, allocation solves and their time."""
        assert isinstance(policy, RoundPolicy)
        a = policy.allocator
        return {
            "rounds": policy.rounds,
            "idle_rounds": policy.idle_rounds,
            "allocations": a.calls if a else 0,
            "allocation_seconds": a.seconds if a else 0.0,
            "dantzig_wolfe_solves": a.dw_calls if a else 0,
        }

    @classmethod
    def make_policy(cls, params: dict[str, Any]) -> Policy:
        return RoundPolicy(
            cls.objective,
            aware=params["aware"],
            round_s=params["round_s"],
            backfill=params["backfill"],
            admission=params["admission"],
            max_queue=params["max_queue"],
            wait_estimate=params["wait_estimate"],
        )


class GavelLas(_RoundSolver):
    """Gavel rounds, heterogeneity-aware LAS (``gavel-las``)."""

    name = "gavel-las"
    objective = "las"
    description = "Gavel rounds: max-min fairness over normalised throughput (heterogeneity-aware LAS), kept HiGHS LP"


class GavelFtf(_RoundSolver):
    """Gavel rounds, finish-time fairness (``gavel-ftf``)."""

    name = "gavel-ftf"
    objective = "ftf"
    description = "Gavel rounds: finish-time fairness (Themis) by bisection over a kept HiGHS LP"


class GavelThroughput(_RoundSolver):
    """Gavel rounds, maximum normalised throughput (``gavel-throughput``)."""

    name = "gavel-throughput"
    objective = "throughput"
    description = "Gavel rounds: maximum total normalised throughput, kept HiGHS LP"


class GavelMakespan(_RoundSolver):
    """Gavel rounds, minimum makespan (``gavel-makespan``)."""

    name = "gavel-makespan"
    objective = "makespan"
    description = "Gavel rounds: minimum makespan of the remaining work, kept HiGHS LP"


class GavelFifo(_RoundSolver):
    """Gavel rounds, FIFO (``gavel-fifo``)."""

    name = "gavel-fifo"
    objective = "fifo"
    description = "Gavel rounds: FIFO, each job its fastest type with room in release order"


# ---------------------------------------------------------------------- the ideal (fluid) mode
def ideal_run(inst: Instance, objective: str, *, aware: bool = True, round_s: float = 360.0) -> dict[str, Any]:
    """Apply the allocation *exactly* (fractional sharing) in a fluid simulation with true times:
    job ``j`` progresses at ``sum_t x[j,t] / time[j,t]`` of its work per second. The allocation is
    re-solved at every arrival and completion and every ``round_s`` (oracle throughputs). Returns
    per-job JCTs and the summary metrics (``jct_mean``, ``makespan``, ``ftf_max`` with the
    validator's ``T_ideal`` definition). Not an event log: nothing here is validated."""
    jobs = inst.jobs
    assert jobs.time is not None
    n = inst.n_jobs
    counts = inst.gpus_per_type.astype(np.float64)
    tm = np.where(jobs.eligible & (counts[None, :] >= jobs.gang[:, None]), jobs.time, np.nan)
    thr_all = np.where(np.isfinite(tm), 1.0 / np.where(np.isfinite(tm), tm, 1.0), 0.0)
    alloc = Allocator(objective, counts, aware)
    rel = jobs.release.astype(np.float64)
    order = np.argsort(rel, kind="stable").tolist()
    left = np.ones(n)
    finish = np.full(n, np.nan)
    active: list[int] = []
    now, i, nxt_round = 0.0, 0, -math.inf
    rate = np.zeros(n)
    while i < n or active:
        t_arr = rel[order[i]] if i < n else math.inf
        if not active:
            now = max(now, t_arr)
        while i < n and rel[order[i]] <= now + 1e-12:
            active.append(order[i])
            i += 1
        active.sort()
        if active:
            ja = np.asarray(active)
            x = alloc.allocate(now, active, thr_all[ja], jobs.gang[ja].astype(np.float64), left[ja], rel[ja])
            rate[:] = 0.0
            for j in active:
                rate[j] = float(x[j] @ thr_all[j])
            nxt_round = now + round_s
        r = rate[np.asarray(active)] if active else np.zeros(0)
        with np.errstate(divide="ignore"):
            dt_fin = np.where(r > 0, left[np.asarray(active)] / np.where(r > 0, r, 1.0), np.inf) if active else r
        t_fin = now + (float(dt_fin.min()) if len(dt_fin) else math.inf)
        t_next = min(t_fin, rel[order[i]] if i < n else math.inf, nxt_round)
        if not math.isfinite(t_next):
            raise RuntimeError("ideal mode: active jobs with no allocation and no future event")
        dt = t_next - now
        for j in active:
            left[j] -= rate[j] * dt
        now = t_next
        done = [j for j in active if left[j] <= 1e-9]
        for j in done:
            finish[j] = now
            left[j] = 0.0
        active = [j for j in active if left[j] > 1e-9]
    jct = finish - rel
    best = np.nanmin(tm, axis=1)
    G = counts.sum()
    ordr = np.argsort(rel, kind="stable")
    n_sys = np.zeros(n)
    fin_sorted = np.sort(finish)
    for j in ordr.tolist():  # jobs released by release_j and not finished at release_j
        released = int(np.searchsorted(rel[ordr], rel[j], side="right"))
        finished = int(np.searchsorted(fin_sorted, rel[j], side="right"))
        n_sys[j] = max(1, released - finished)
    t_ideal = best * np.maximum(1.0, n_sys * jobs.gang / G)
    return {
        "jct": jct,
        "jct_mean": float(np.mean(jct)),
        "makespan": float(np.nanmax(finish)),
        "ftf_max": float(np.max(jct / t_ideal)),
        "allocate_s": alloc.seconds,
        "allocations": alloc.calls,
    }
