"""Simulated annealing: one loop skeleton (:func:`anneal`) and its kernels (pure Python over lists;
numpy only draws the random numbers).

A *kernel* (:class:`Kernel`) holds the state of one neighbourhood (an assignment with its loads)
and runs a chunk of moves in its own tight loop; :func:`anneal` owns everything around it: the
calibration of ``T0``, the chunked cooling :class:`Schedule`, the budget / deadline checks, the
``on_best`` reports and the restarts from the best answer. The kernels: :class:`GapKernel`
(min-cost GAP with a penalty for overload), :class:`CmaxKernel` (R||Cmax, ``Cmax`` energy) and
:class:`CmaxTargetKernel` (R||Cmax, excess over a falling makespan target).

Every kernel shares one schedule (see ``docs/solvers-heuristics.md``): the initial temperature
``T0`` makes a sampled uphill move's mean delta accepted with probability 1/2
(``T0 = mean_uphill / ln 2``); within a *cycle* of ``cycle`` moves the temperature falls
geometrically from ``T0`` to ``T0 * 1e-3`` (updated every chunk of ``CHUNK`` moves); a cycle
ends early when the best answer has not improved for half a cycle; each new cycle reheats to
``T0 / 2`` and restarts from the best answer found. Moves are accepted when
``delta <= T * E`` with ``E`` a standard exponential variate (the Metropolis rule
``u < exp(-delta / T)`` with ``E = -ln u``, without calling ``exp``). With ``cycle <= 0`` the
cycle length is automatic: a third of the run (see :data:`AUTO_CYCLES`).

The run stops after ``budget`` moves (when > 0: then the answer depends only on the seed) or at
``deadline`` on ``clock`` (checked once per chunk), whichever comes first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

CHUNK = 1024
T_END = 1e-3
#: ``cycle <= 0`` sizes the cycles automatically: the run is split into this many cycles (by the
#: move budget when there is one — deterministic — else by the move rate measured over the first
#: ``AUTO_PROBE_MOVES`` moves, at ``T0``, and the time left).
AUTO_CYCLES = 3
AUTO_PROBE_MOVES = 64 * 1024


class Schedule:
    """Cycle, temperature and stopping bookkeeping shared by the kernels."""

    def __init__(self, t0: float, cycle: int, budget: int, deadline: float, clock: Callable[[], float]) -> None:
        self.t0 = t0
        self.budget = budget
        self.deadline = deadline
        self.clock = clock
        self.auto = cycle <= 0
        self.started = clock()
        if self.auto and budget > 0:
            cycle = budget // AUTO_CYCLES
        if self.auto and budget <= 0:  # sized once the move rate is measured (see after_chunk)
            self.cycle = 1 << 62
            self.alpha = 1.0
        else:
            self.cycle = max(cycle, CHUNK)
            self.alpha = T_END ** (CHUNK / self.cycle)
        self.T = t0
        self.moves = 0
        self.in_cycle = 0
        self.since_best = 0
        self.cycles = 1

    def next_chunk(self) -> int:
        """Moves in the next chunk (0: stop)."""
        if self.budget > 0:
            left = self.budget - self.moves
            if left <= 0:
                return 0
            if self.clock() > self.deadline:
                return 0
            return min(CHUNK, left)
        return 0 if self.clock() > self.deadline else CHUNK

    def after_chunk(self, k: int, improved: bool) -> bool:
        """Account for ``k`` moves; True when a new cycle (reheat + restart from best) begins."""
        self.moves += k
        self.in_cycle += k
        if self.auto and self.budget <= 0 and self.cycle == 1 << 62 and self.moves >= AUTO_PROBE_MOVES:
            now = self.clock()
            rate = self.moves / max(now - self.started, 1e-9)
            self.cycle = max(16 * CHUNK, int(rate * max(self.deadline - self.started, 0.0) / AUTO_CYCLES))
            self.alpha = T_END ** (CHUNK / self.cycle)
        self.since_best = 0 if improved else self.since_best + k
        self.T *= self.alpha
        if self.in_cycle >= self.cycle or self.since_best >= self.cycle // 2:
            self.in_cycle = 0
            self.since_best = 0
            self.cycles += 1
            self.T = self.t0 * 0.5
            return True
        return False


def calibrate(deltas: list[float]) -> float:
    """Initial temperature at which the mean uphill delta is accepted with probability 1/2."""
    up = [d for d in deltas if d > 0 and math.isfinite(d)]
    if not up:
        return 1.0
    return (sum(up) / len(up)) / math.log(2.0)


# ---------------------------------------------------------------------------------------- the loop
class Kernel:
    """The moves of one annealing neighbourhood; :func:`anneal` drives it.

    Contract: after ``__init__`` the kernel holds its start answer, ``best`` (the best *feasible*
    assignment so far, None while there is none), ``best_cost`` (its objective, inf when None)
    and ``accepted`` (accepted moves). :meth:`calibration_deltas` samples move deltas from the
    start answer (the only random draws before the first chunk); :meth:`chunk` runs ``k`` moves
    at temperature ``temp`` and returns whether ``best`` improved; :meth:`restart` resets the
    current answer to ``best`` (a new cycle); :meth:`settle` runs after every other chunk.
    Kernels never call ``on_best`` nor read the clock: the loop does.
    """

    best: list[int] | None = None
    best_cost: float = math.inf
    accepted: int = 0

    def extra_stats(self) -> dict[str, Any]:
        """Kernel-specific statistics added to :func:`anneal`'s answer."""
        return {}

    def calibration_deltas(self) -> list[float]:
        """Deltas of sampled moves from the start answer (for :func:`calibrate`)."""
        raise NotImplementedError

    def chunk(self, k: int, temp: float) -> bool:
        """Run ``k`` moves at temperature ``temp``; True when ``best`` improved."""
        raise NotImplementedError

    def restart(self) -> None:
        """A new cycle begins: continue from ``best``."""

    def settle(self) -> None:
        """A chunk ended without a restart (refresh running sums against drift)."""


def anneal(
    kernel: Kernel,
    *,
    budget: int,
    deadline: float,
    clock: Callable[[], float],
    cycle: int,
    on_best: Callable[[list[int], float], None],
) -> dict[str, Any]:
    """Run ``kernel`` under the shared schedule (see the module docstring) until ``budget`` moves
    (when > 0) or ``deadline`` on ``clock``.

    ``on_best(assign, cost)`` is called with the start answer when it is feasible, then at most
    once per chunk when the best feasible answer improves. Returns ``best`` (None if no feasible
    answer was found), ``best_cost``, ``moves``, ``accepted``, ``cycles``, ``t0`` and the kernel's
    :meth:`Kernel.extra_stats`.
    """
    if kernel.best is not None:
        on_best(kernel.best, kernel.best_cost)
    sched = Schedule(calibrate(kernel.calibration_deltas()), cycle, budget, deadline, clock)
    while True:
        k = sched.next_chunk()
        if k == 0:
            break
        improved = kernel.chunk(k, sched.T)
        if improved:
            assert kernel.best is not None
            on_best(kernel.best, kernel.best_cost)
        if sched.after_chunk(k, improved):
            kernel.restart()
        else:
            kernel.settle()
    out = {
        "best": kernel.best,
        "best_cost": kernel.best_cost,
        "moves": sched.moves,
        "accepted": kernel.accepted,
        "cycles": sched.cycles,
        "t0": sched.t0,
    }
    out.update(kernel.extra_stats())
    return out


# ---------------------------------------------------------------------------------------- GAP
#: A GAP answer whose normalised overload sum is at most this is feasible.
GAP_FEAS_TOL = 1e-12


class GapKernel(Kernel):
    """Min-cost generalised assignment with one resource; shift and swap moves.

    ``cost[j][g]`` is inf where job j may not use GPU g; ``dem[j][g]`` its demand (0 where not
    allowed), ``cap[g]`` the GPU's capacity *limit* (tolerance included); ``allowed[j]`` the GPUs
    job j may use. Capacity is relaxed with the penalty ``w * sum_g max(0, load_g - cap_g) / cap_g``
    (normalised overload); ``w`` adapts every chunk: x1.1 when the current answer is infeasible,
    /1.05 when it is feasible (bounded below by its start value ``w0``). O(1) per move: per-GPU
    loads and overloads are kept. ``best`` is the best *feasible* assignment (None until one is
    found); the statistics add ``final_weight`` (``w`` at the end).
    """

    def __init__(
        self,
        assign: list[int],
        cost: list[list[float]],
        dem: list[list[float]],
        cap: list[float],
        allowed: list[list[int]],
        rng: np.random.Generator,
        *,
        p_shift: float = 0.5,
    ) -> None:
        self.cost, self.dem, self.cap, self.allowed, self.rng, self.p_shift = cost, dem, cap, allowed, rng, p_shift
        self.n, self.G = len(cost), len(cap)
        self.icap = [1.0 / c if c > 0 else 1e12 for c in cap]
        self._set(list(assign))
        finite = [c for row in cost for c in row if math.isfinite(c)]
        spread = (max(finite) - min(finite)) if finite else 1.0
        self.w0 = max(spread, 1e-9) * 2.0
        self.w = self.w0
        self.moves = 0
        self.accepted = 0
        self.best = list(self.a) if self.tot_ex <= GAP_FEAS_TOL else None
        self.best_cost = self.tot_cost if self.best is not None else math.inf

    def _set(self, a: list[int]) -> None:
        """Make ``a`` the current answer: loads, overloads and running sums recomputed."""
        cost, dem, cap, icap = self.cost, self.dem, self.cap, self.icap
        load = [0.0] * self.G
        for j in range(self.n):
            load[a[j]] += dem[j][a[j]]
        self.a = a
        self.load = load
        self.exc = [max(0.0, load[g] - cap[g]) * icap[g] for g in range(self.G)]
        self.tot_cost = sum(cost[j][a[j]] for j in range(self.n))
        self.tot_ex = sum(self.exc)

    def extra_stats(self) -> dict[str, Any]:
        return {"final_weight": self.w}

    def calibration_deltas(self) -> list[float]:
        """Deltas of 2000 random shift moves from the start answer."""
        a, load, exc, cost, dem, cap, icap, allowed = (
            self.a,
            self.load,
            self.exc,
            self.cost,
            self.dem,
            self.cap,
            self.icap,
            self.allowed,
        )
        w = self.w
        deltas = []
        for j, u in zip(self.rng.integers(0, self.n, 2000).tolist(), self.rng.random(2000).tolist(), strict=True):
            opts = allowed[j]
            g2 = opts[int(u * len(opts))]
            g1 = a[j]
            if g2 == g1:
                continue
            n1 = load[g1] - dem[j][g1]
            n2 = load[g2] + dem[j][g2]
            e1 = (n1 - cap[g1]) * icap[g1] if n1 > cap[g1] else 0.0
            e2 = (n2 - cap[g2]) * icap[g2] if n2 > cap[g2] else 0.0
            deltas.append(cost[j][g2] - cost[j][a[j]] + w * (e1 + e2 - exc[g1] - exc[g2]))
        return deltas

    def chunk(self, k: int, temp: float) -> bool:
        """``k`` shift / swap moves, then the penalty weight adapts and the running sums are refreshed."""
        rng, n = self.rng, self.n
        J1 = rng.integers(0, n, k).tolist()
        J2 = rng.integers(0, n, k).tolist()
        U = rng.random(k).tolist()
        V = rng.random(k).tolist()
        E = rng.standard_exponential(k).tolist()
        T = temp
        a, load, exc, cost, dem, cap, icap, allowed = (
            self.a,
            self.load,
            self.exc,
            self.cost,
            self.dem,
            self.cap,
            self.icap,
            self.allowed,
        )
        p_shift, w, feas_tol = self.p_shift, self.w, GAP_FEAS_TOL
        tot_cost, tot_ex, accepted = self.tot_cost, self.tot_ex, self.accepted
        best, best_cost = self.best, self.best_cost
        improved = False
        for i in range(k):
            j = J1[i]
            g1 = a[j]
            if U[i] < p_shift:
                opts = allowed[j]
                g2 = opts[int(V[i] * len(opts))]
                if g2 == g1:
                    continue
                cj = cost[j]
                dc = cj[g2] - cj[g1]
                dj = dem[j]
                n1 = load[g1] - dj[g1]
                n2 = load[g2] + dj[g2]
                c1 = cap[g1]
                c2 = cap[g2]
                e1 = (n1 - c1) * icap[g1] if n1 > c1 else 0.0
                e2 = (n2 - c2) * icap[g2] if n2 > c2 else 0.0
                dx = e1 + e2 - exc[g1] - exc[g2]
                d = dc + w * dx
                if d > 0.0 and d > T * E[i]:
                    continue
                a[j] = g2
            else:
                j2 = J2[i]
                g2 = a[j2]
                if g2 == g1:
                    continue
                cj = cost[j]
                cj2 = cost[j2]
                dc = cj[g2] + cj2[g1] - cj[g1] - cj2[g2]
                if dc == math.inf:
                    continue
                dj = dem[j]
                dj2 = dem[j2]
                n1 = load[g1] - dj[g1] + dj2[g1]
                n2 = load[g2] - dj2[g2] + dj[g2]
                c1 = cap[g1]
                c2 = cap[g2]
                e1 = (n1 - c1) * icap[g1] if n1 > c1 else 0.0
                e2 = (n2 - c2) * icap[g2] if n2 > c2 else 0.0
                dx = e1 + e2 - exc[g1] - exc[g2]
                d = dc + w * dx
                if d > 0.0 and d > T * E[i]:
                    continue
                a[j] = g2
                a[j2] = g1
            accepted += 1
            load[g1] = n1
            load[g2] = n2
            exc[g1] = e1
            exc[g2] = e2
            tot_cost += dc
            tot_ex += dx
            if tot_ex <= feas_tol and tot_cost < best_cost - 1e-9:
                tot_ex = sum(exc)  # refresh against drift before trusting it
                if tot_ex <= feas_tol:
                    best_cost = tot_cost
                    best = list(a)
                    improved = True
        # adapt the penalty weight; refresh the running sums
        tot_ex = sum(exc)
        tot_cost = sum(cost[j][a[j]] for j in range(n)) if self.moves % (64 * CHUNK) == 0 else tot_cost
        self.w = w * 1.1 if tot_ex > feas_tol else max(self.w0, w / 1.05)
        self.moves += k
        self.tot_cost, self.tot_ex, self.accepted = tot_cost, tot_ex, accepted
        self.best, self.best_cost = best, best_cost
        return improved

    def restart(self) -> None:
        if self.best is not None:
            self._set(list(self.best))


# ---------------------------------------------------------------------------------------- R||Cmax
def _top3(L: list[float]) -> list[tuple[float, int]]:
    top = sorted(zip(L, range(len(L)), strict=True), reverse=True)[:3]
    while len(top) < 3:
        top.append((0.0, -1))
    return top


def _machines(a: list[int], p: list[list[float]], G: int) -> tuple[list[float], list[list[int]], list[int]]:
    """Per machine its load and job list, and per job its index in that list, for assignment ``a``."""
    L = [0.0] * G
    on: list[list[int]] = [[] for _ in range(G)]
    pos = [0] * len(a)
    for j, g in enumerate(a):
        L[g] += p[j][g]
        pos[j] = len(on[g])
        on[g].append(j)
    return L, on, pos


def _relocate(j: int, g: int, a: list[int], on: list[list[int]], pos: list[int]) -> None:
    """Move job ``j`` to machine ``g`` in ``a``/``on``/``pos`` in O(1) (loads are the caller's)."""
    src = on[a[j]]
    last = src.pop()
    if last != j:
        src[pos[j]] = last
        pos[last] = pos[j]
    pos[j] = len(on[g])
    on[g].append(j)
    a[j] = g


def _fastest_first(row: list[float], opts: list[int]) -> list[int]:
    """The machines ``opts`` by increasing processing time ``row[g]``, ties by index."""
    return sorted(opts, key=lambda g: (row[g], g))


class _MachinesKernel(Kernel):
    """R||Cmax state shared by both makespan kernels: ``a`` (machine per job), per machine its load
    ``L`` and job list ``on``, per job its index ``pos`` in that list, and per job its allowed
    machines sorted by its processing time (``fast``: targets are drawn at index
    ``floor(u^3 * count)``, u uniform, biased towards the machines where the job is fast)."""

    def __init__(
        self,
        assign: list[int],
        p: list[list[float]],
        allowed: list[list[int]],
        rng: np.random.Generator,
        *,
        p_shift: float,
        p_crit: float,
    ) -> None:
        self.p, self.allowed, self.rng, self.p_shift, self.p_crit = p, allowed, rng, p_shift, p_crit
        self.n, self.G = len(p), len(p[0]) if p else 0
        self.a = list(assign)
        self.L, self.on, self.pos = _machines(self.a, p, self.G)
        self.fast = [_fastest_first(p[j], allowed[j]) for j in range(self.n)]
        self.accepted = 0

    def _set(self, a: list[int]) -> None:
        self.a = a
        self.L, self.on, self.pos = _machines(a, self.p, self.G)


class CmaxKernel(_MachinesKernel):
    """Makespan on unrelated machines (R||Cmax, no releases); shift and swap moves.

    Objective ``Cmax + beta * sum_g load_g^2`` (the small second term breaks the plateaus of
    ``Cmax``; ``beta = 1 / (2 G Cmax0)``). With probability ``p_crit`` the moved job is taken
    from a critical (most loaded) machine. The target machine (shift), or the machine whose job
    is swapped in, is drawn from ``fast``. The delta needs the largest load of the machines the
    move leaves alone: the three largest loads are kept and recomputed (``O(G)``) only after an
    accepted move that touches one of them or passes the third, so evaluation is ``O(1)``.
    """

    def __init__(
        self,
        assign: list[int],
        p: list[list[float]],
        allowed: list[list[int]],
        rng: np.random.Generator,
        *,
        p_shift: float = 0.5,
        p_crit: float = 0.8,
    ) -> None:
        super().__init__(assign, p, allowed, rng, p_shift=p_shift, p_crit=p_crit)
        self.top = _top3(self.L)
        C0 = max(self.top[0][0], 1e-12)
        self.beta = 1.0 / (2.0 * self.G * C0)
        self.best = list(self.a)
        self.best_cost = self.top[0][0]

    def calibration_deltas(self) -> list[float]:
        """Deltas of 2000 random shift moves (uniform over the allowed machines) from the start answer."""
        a, p, L, top, beta = self.a, self.p, self.L, self.top, self.beta

        def delta(g1: int, g2: int, n1: float, n2: float) -> float:
            C, crit = top[0]
            if crit != g1 and crit != g2:
                newc = C if n1 <= C and n2 <= C else (n1 if n1 >= n2 else n2)
            else:
                other = 0.0
                for v, g in top:
                    if g != g1 and g != g2:
                        other = v
                        break
                newc = max(other, n1, n2)
            o1, o2 = L[g1], L[g2]
            return newc - C + beta * (n1 * n1 + n2 * n2 - o1 * o1 - o2 * o2)

        deltas = []
        for j, u in zip(self.rng.integers(0, self.n, 2000).tolist(), self.rng.random(2000).tolist(), strict=True):
            g2 = self.allowed[j][int(u * len(self.allowed[j]))]
            g1 = a[j]
            if g2 != g1:
                deltas.append(delta(g1, g2, L[g1] - p[j][g1], L[g2] + p[j][g2]))
        return deltas

    def chunk(self, k: int, temp: float) -> bool:
        rng, n = self.rng, self.n
        J1 = rng.integers(0, n, k).tolist()
        U = rng.random(k).tolist()
        V = rng.random(k).tolist()
        Wc = rng.random(k).tolist()
        X = rng.random(k).tolist()
        J2f = rng.random(k).tolist()
        E = rng.standard_exponential(k).tolist()
        T = temp
        a, p, L, on, pos, fast, top, beta = self.a, self.p, self.L, self.on, self.pos, self.fast, self.top, self.beta
        p_shift, p_crit = self.p_shift, self.p_crit
        best, best_c, accepted = self.best, self.best_cost, self.accepted
        improved = False
        for i in range(k):
            if Wc[i] < p_crit:
                crit_jobs = on[top[0][1]]
                if not crit_jobs:
                    continue
                j = crit_jobs[int(V[i] * len(crit_jobs))]
            else:
                j = J1[i]
            g1 = a[j]
            pj = p[j]
            if U[i] < p_shift:
                opts = fast[j]
                x = X[i]
                g2 = opts[int(x * x * x * len(opts))]  # biased towards the machines where j is fast
                if g2 == g1:
                    continue
                n1 = L[g1] - pj[g1]
                n2 = L[g2] + pj[g2]
                j2 = -1
            else:
                opts = fast[j]
                x = X[i]
                g2 = opts[int(x * x * x * len(opts))]
                there = on[g2]
                if g2 == g1 or not there:
                    continue
                j2 = there[int(J2f[i] * len(there))]
                pj2 = p[j2]
                if pj[g2] == math.inf or pj2[g1] == math.inf:
                    continue
                n1 = L[g1] - pj[g1] + pj2[g1]
                n2 = L[g2] - pj2[g2] + pj[g2]
            C, crit = top[0]
            if crit != g1 and crit != g2:
                newc = C if n1 <= C and n2 <= C else (n1 if n1 >= n2 else n2)
            else:
                v, g = top[1]  # the largest load off the move: top[0] is g1 or g2
                if g in (g1, g2):
                    v = top[2][0]
                newc = v if v >= n1 and v >= n2 else (n1 if n1 >= n2 else n2)
            o1 = L[g1]
            o2 = L[g2]
            d = newc - C + beta * (n1 * n1 + n2 * n2 - o1 * o1 - o2 * o2)
            if d > 0.0 and d > T * E[i]:
                continue
            accepted += 1
            src = on[g1]
            last = src.pop()
            if last != j:
                src[pos[j]] = last
                pos[last] = pos[j]
            dst = on[g2]
            pos[j] = len(dst)
            dst.append(j)
            a[j] = g2
            if j2 >= 0:
                _relocate(j2, g1, a, on, pos)
            L[g1] = n1
            L[g2] = n2
            t3 = top[2][0]
            if (
                g1 == top[0][1]
                or g1 == top[1][1]
                or g1 == top[2][1]
                or g2 == top[0][1]
                or g2 == top[1][1]
                or g2 == top[2][1]
                or n1 > t3
                or n2 > t3
            ):
                top = _top3(L)
            if newc < best_c - 1e-9:
                best_c = top[0][0]
                best = list(a)
                improved = True
        self.top, self.best, self.best_cost, self.accepted = top, best, best_c, accepted
        return improved

    def restart(self) -> None:
        assert self.best is not None
        self._set(list(self.best))
        self.top = _top3(self.L)


class CmaxTargetKernel(_MachinesKernel):
    """Makespan on unrelated machines by annealing a sequence of *decision* problems ``Cmax <= T``.

    The energy is the total excess ``F = sum_g max(0, load_g - T)`` over a target ``T`` (plus
    ``beta * sum_g load_g^2``, a tie-breaker towards balanced loads with ``beta = 1 / (8 G C0)``).
    Unlike ``Cmax`` itself, ``F`` sees every overloaded machine, so moves that unload a second or
    third critical machine are rewarded even while the first one stays at ``Cmax``: this is what
    the plain ``Cmax`` energy misses on instances with few jobs per machine. When ``F`` reaches 0
    the assignment has ``Cmax <= T``: it becomes the best, and the target drops to
    ``Cmax - step`` (``step`` 1 when every time is an integer, else ``1e-4 * Cmax``).

    With probability ``p_crit`` the moved job comes from an overloaded machine (a list of them is
    kept with O(1) updates); targets are drawn as in :class:`CmaxKernel`. Moves: shift; swap; and,
    in a fraction ``p_chain`` of the non-shift moves, a two-link ejection chain (j to machine g2,
    a job of g2 on to a third machine). O(1) per move.
    """

    def __init__(
        self,
        assign: list[int],
        p: list[list[float]],
        allowed: list[list[int]],
        rng: np.random.Generator,
        *,
        p_shift: float = 0.5,
        p_crit: float = 0.8,
        p_chain: float = 0.5,
    ) -> None:
        super().__init__(assign, p, allowed, rng, p_shift=p_shift, p_crit=p_crit)
        self.p_chain = p_chain
        self.integral = all(float(v).is_integer() for row in p for v in row if math.isfinite(v))
        self.best = list(self.a)
        self.best_cost = max(self.L)
        C0 = max(self.best_cost, 1e-12)
        self.beta = 1.0 / (8.0 * self.G * C0)
        self.target = self.best_cost - self._step(self.best_cost)
        self.over: list[int] = []
        self.opos = [-1] * self.G
        self.F = self._reset_over()

    def _step(self, c: float) -> float:
        return 1.0 if self.integral else max(1e-4 * c, 1e-9)

    def _reset_over(self) -> float:
        """Rebuild the list of machines over the target; return the total excess ``F``."""
        over, opos, L, T = self.over, self.opos, self.L, self.target
        over.clear()
        F = 0.0
        for g in range(self.G):
            if L[g] > T:
                opos[g] = len(over)
                over.append(g)
                F += L[g] - T
            else:
                opos[g] = -1
        return F

    def calibration_deltas(self) -> list[float]:
        """Excess deltas of 2000 random shift moves (uniform over the allowed machines) from the start."""
        a, p, L, T = self.a, self.p, self.L, self.target
        deltas = []
        for j, u in zip(self.rng.integers(0, self.n, 2000).tolist(), self.rng.random(2000).tolist(), strict=True):
            g2 = self.allowed[j][int(u * len(self.allowed[j]))]
            g1 = a[j]
            if g2 != g1:
                n1, n2 = L[g1] - p[j][g1], L[g2] + p[j][g2]
                deltas.append(max(0.0, n1 - T) + max(0.0, n2 - T) - max(0.0, L[g1] - T) - max(0.0, L[g2] - T))
        return deltas

    def chunk(self, k: int, temp: float) -> bool:  # noqa: C901 - one tight loop, see the docstring
        """``k`` shift / swap / ejection-chain moves at temperature ``temp``.

        One inlined loop on purpose: a call per move (or per move kind) would cost the moves/s that
        ``benchmarks/bench_annealing.py`` guards."""
        rng, n = self.rng, self.n
        J1 = rng.integers(0, n, k).tolist()
        U = rng.random(k).tolist()
        V = rng.random(k).tolist()
        Wc = rng.random(k).tolist()
        X = rng.random(k).tolist()
        J2f = rng.random(k).tolist()
        E = rng.standard_exponential(k).tolist()
        Y = rng.random(k).tolist()
        Z = rng.random(k).tolist()
        a, p, L, on, pos, fast, beta = self.a, self.p, self.L, self.on, self.pos, self.fast, self.beta
        p_shift, p_crit, p_chain = self.p_shift, self.p_crit, self.p_chain
        best, best_c, accepted, F = self.best, self.best_cost, self.accepted, self.F
        over, opos = self.over, self.opos
        T = self.target

        def set_over(g: int, v: float) -> None:
            if v > T:
                if opos[g] < 0:
                    opos[g] = len(over)
                    over.append(g)
            elif opos[g] >= 0:
                last = over.pop()
                if last != g:
                    over[opos[g]] = last
                    opos[last] = opos[g]
                opos[g] = -1

        improved = False
        for i in range(k):
            if over and Wc[i] < p_crit:
                src_jobs = on[over[int(V[i] * len(over))]]
                if not src_jobs:
                    continue
                j = src_jobs[int(J2f[i] * len(src_jobs))]
            else:
                j = J1[i]
            g1 = a[j]
            pj = p[j]
            opts = fast[j]
            x = X[i]
            g2 = opts[int(x * x * x * len(opts))]  # biased towards the machines where j is fast
            if g2 == g1:
                continue
            if U[i] < p_shift:
                n1 = L[g1] - pj[g1]
                n2 = L[g2] + pj[g2]
                j2 = -1
            else:
                there = on[g2]
                if not there:
                    continue
                j2 = there[int(V[i] * len(there))]
                pj2 = p[j2]
                if Y[i] < p_chain:  # ejection chain: j2 goes on to a third machine
                    o2s = fast[j2]
                    y = Z[i]
                    g3 = o2s[int(y * y * y * len(o2s))]
                    if g3 != g1 and g3 != g2:
                        n1 = L[g1] - pj[g1]
                        n2 = L[g2] - pj2[g2] + pj[g2]
                        n3 = L[g3] + pj2[g3]
                        o1 = L[g1]
                        o2 = L[g2]
                        o3 = L[g3]
                        dF = (
                            (n1 - T if n1 > T else 0.0)
                            + (n2 - T if n2 > T else 0.0)
                            + (n3 - T if n3 > T else 0.0)
                            - (o1 - T if o1 > T else 0.0)
                            - (o2 - T if o2 > T else 0.0)
                            - (o3 - T if o3 > T else 0.0)
                        )
                        d = dF + beta * (n1 * n1 + n2 * n2 + n3 * n3 - o1 * o1 - o2 * o2 - o3 * o3)
                        if d > 0.0 and d > temp * E[i]:
                            continue
                        accepted += 1
                        _relocate(j, g2, a, on, pos)
                        _relocate(j2, g3, a, on, pos)
                        L[g1] = n1
                        L[g2] = n2
                        L[g3] = n3
                        set_over(g1, n1)
                        set_over(g2, n2)
                        set_over(g3, n3)
                        F += dF
                        if not over:
                            c = max(L)
                            if c < best_c:
                                best_c = c
                                best = list(a)
                                improved = True
                            T = self.target = best_c - self._step(best_c)
                            F = self._reset_over()
                        continue
                if pj2[g1] == math.inf:
                    continue
                n1 = L[g1] - pj[g1] + pj2[g1]
                n2 = L[g2] - pj2[g2] + pj[g2]
            o1 = L[g1]
            o2 = L[g2]
            dF = (
                (n1 - T if n1 > T else 0.0)
                + (n2 - T if n2 > T else 0.0)
                - (o1 - T if o1 > T else 0.0)
                - (o2 - T if o2 > T else 0.0)
            )
            d = dF + beta * (n1 * n1 + n2 * n2 - o1 * o1 - o2 * o2)
            if d > 0.0 and d > temp * E[i]:
                continue
            accepted += 1
            src = on[g1]
            last = src.pop()
            if last != j:
                src[pos[j]] = last
                pos[last] = pos[j]
            dst = on[g2]
            pos[j] = len(dst)
            dst.append(j)
            a[j] = g2
            if j2 >= 0:
                _relocate(j2, g1, a, on, pos)
            L[g1] = n1
            L[g2] = n2
            set_over(g1, n1)
            set_over(g2, n2)
            F += dF
            if not over:  # every load <= T: a new best; lower the target
                c = max(L)
                if c < best_c:
                    best_c = c
                    best = list(a)
                    improved = True
                T = self.target = best_c - self._step(best_c)
                F = self._reset_over()
        self.best, self.best_cost, self.accepted, self.F = best, best_c, accepted, F
        return improved

    def restart(self) -> None:
        assert self.best is not None
        self._set(list(self.best))
        self.F = self._reset_over()

    def settle(self) -> None:
        self.F = self._reset_over()  # against drift
