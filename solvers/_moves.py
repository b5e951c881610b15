"""Simulated-annealing kernels (pure Python over lists; numpy only draws the random numbers).

Both kernels share one schedule (see ``docs/solvers-heuristics.md``): the initial temperature
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


# ---------------------------------------------------------------------------------------- GAP
def anneal_gap(assign: list[int], cost: list[list[float]], dem: list[list[float]], cap: list[float],
               allowed: list[list[int]], rng: np.random.Generator, *, budget: int, deadline: float,
               clock: Callable[[], float], cycle: int, on_best: Callable[[list[int], float], None],
               p_shift: float = 0.5) -> dict[str, Any]:
    """Min-cost generalised assignment with one resource; shift and swap moves.

    ``cost[j][g]`` is inf where job j may not use GPU g; ``dem[j][g]`` its demand (0 where not
    allowed), ``cap[g]`` the GPU's capacity *limit* (tolerance included). Capacity is relaxed with
    the penalty ``w * sum_g max(0, load_g - cap_g) / cap_g`` (normalised overload); ``w`` adapts
    every chunk: x1.1 when the current answer is infeasible, /1.05 when it is feasible (bounded
    below by its start value ``w0``). O(1) per move: per-GPU loads and overloads are kept.
    ``on_best(assign, cost)`` is called (once per chunk at most) when the best *feasible* answer
    improves. Returns statistics and the best feasible assignment (None if none was found).
    """
    n, G = len(cost), len(cap)
    a = list(assign)
    icap = [1.0 / c if c > 0 else 1e12 for c in cap]
    load = [0.0] * G
    for j in range(n):
        load[a[j]] += dem[j][a[j]]
    exc = [max(0.0, load[g] - cap[g]) * icap[g] for g in range(G)]
    tot_cost = sum(cost[j][a[j]] for j in range(n))
    tot_ex = sum(exc)
    finite = [c for row in cost for c in row if math.isfinite(c)]
    spread = (max(finite) - min(finite)) if finite else 1.0
    w0 = max(spread, 1e-9) * 2.0
    w = w0
    feas_tol = 1e-12

    best: list[int] | None = list(a) if tot_ex <= feas_tol else None
    best_cost = tot_cost if best is not None else math.inf
    if best is not None:
        on_best(best, best_cost)
    # calibration: deltas of random shift moves from the initial answer
    deltas = []
    for j, u in zip(rng.integers(0, n, 2000).tolist(), rng.random(2000).tolist(), strict=True):
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
    sched = Schedule(calibrate(deltas), cycle, budget, deadline, clock)
    accepted = 0
    while True:
        k = sched.next_chunk()
        if k == 0:
            break
        J1 = rng.integers(0, n, k).tolist()
        J2 = rng.integers(0, n, k).tolist()
        U = rng.random(k).tolist()
        V = rng.random(k).tolist()
        E = rng.standard_exponential(k).tolist()
        T = sched.T
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
        tot_cost = sum(cost[j][a[j]] for j in range(n)) if sched.moves % (64 * CHUNK) == 0 else tot_cost
        w = w * 1.1 if tot_ex > feas_tol else max(w0, w / 1.05)
        if improved:
            assert best is not None
            on_best(best, best_cost)
        if sched.after_chunk(k, improved) and best is not None:
            a = list(best)
            load = [0.0] * G
            for j in range(n):
                load[a[j]] += dem[j][a[j]]
            exc = [max(0.0, load[g] - cap[g]) * icap[g] for g in range(G)]
            tot_cost = sum(cost[j][a[j]] for j in range(n))
            tot_ex = sum(exc)
    return {"best": best, "best_cost": best_cost, "moves": sched.moves, "accepted": accepted,
            "cycles": sched.cycles, "t0": sched.t0, "final_weight": w}


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


def anneal_cmax(assign: list[int], p: list[list[float]], allowed: list[list[int]], rng: np.random.Generator, *,
                budget: int, deadline: float, clock: Callable[[], float], cycle: int,
                on_best: Callable[[list[int], float], None], p_shift: float = 0.5,
                p_crit: float = 0.8) -> dict[str, Any]:
    """Makespan on unrelated machines (R||Cmax, no releases); shift and swap moves.

    Objective ``Cmax + beta * sum_g load_g^2`` (the small second term breaks the plateaus of
    ``Cmax``; ``beta = 1 / (2 G Cmax0)``). With probability ``p_crit`` the moved job is taken
    from a critical (most loaded) machine. The target machine (shift), or the machine whose job
    is swapped in, is drawn from the job's allowed machines sorted by its processing time, at
    index ``floor(u^3 * count)`` (u uniform): biased towards the machines where the job is fast.
    The delta needs the largest load of the machines the move leaves alone: the three largest
    loads are kept and recomputed (``O(G)``) only after an accepted move that touches one of
    them or passes the third, so evaluation is ``O(1)``.
    """
    n, G = len(p), len(p[0]) if p else 0
    a = list(assign)
    L, on, pos = _machines(a, p, G)
    top = _top3(L)
    fast = [sorted(allowed[j], key=lambda g, row=p[j]: (row[g], g)) for j in range(n)]
    C0 = max(top[0][0], 1e-12)
    beta = 1.0 / (2.0 * G * C0)
    best = list(a)
    best_c = top[0][0]
    on_best(best, best_c)

    def delta(g1: int, g2: int, n1: float, n2: float) -> tuple[float, float]:
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
        return newc - C + beta * (n1 * n1 + n2 * n2 - o1 * o1 - o2 * o2), newc

    deltas = []
    for j, u in zip(rng.integers(0, n, 2000).tolist(), rng.random(2000).tolist(), strict=True):
        g2 = allowed[j][int(u * len(allowed[j]))]
        g1 = a[j]
        if g2 != g1:
            deltas.append(delta(g1, g2, L[g1] - p[j][g1], L[g2] + p[j][g2])[0])
    sched = Schedule(calibrate(deltas), cycle, budget, deadline, clock)
    accepted = 0
    while True:
        k = sched.next_chunk()
        if k == 0:
            break
        J1 = rng.integers(0, n, k).tolist()
        U = rng.random(k).tolist()
        V = rng.random(k).tolist()
        Wc = rng.random(k).tolist()
        X = rng.random(k).tolist()
        J2f = rng.random(k).tolist()
        E = rng.standard_exponential(k).tolist()
        T = sched.T
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
            if (g1 == top[0][1] or g1 == top[1][1] or g1 == top[2][1] or g2 == top[0][1] or g2 == top[1][1]
                    or g2 == top[2][1] or n1 > t3 or n2 > t3):
                top = _top3(L)
            if newc < best_c - 1e-9:
                best_c = top[0][0]
                best = list(a)
                improved = True
        if improved:
            on_best(best, best_c)
        if sched.after_chunk(k, improved):
            a = list(best)
            L, on, pos = _machines(a, p, G)
            top = _top3(L)
    return {"best": best, "best_cost": best_c, "moves": sched.moves, "accepted": accepted,
            "cycles": sched.cycles, "t0": sched.t0}


def anneal_cmax_target(assign: list[int], p: list[list[float]], allowed: list[list[int]], rng: np.random.Generator,
                       *, budget: int, deadline: float, clock: Callable[[], float], cycle: int,
                       on_best: Callable[[list[int], float], None], p_shift: float = 0.5,
                       p_crit: float = 0.8, p_chain: float = 0.5) -> dict[str, Any]:
    """Makespan on unrelated machines by annealing a sequence of *decision* problems ``Cmax <= T``.

    The energy is the total excess ``F = sum_g max(0, load_g - T)`` over a target ``T`` (plus
    ``beta * sum_g load_g^2``, a tie-breaker towards balanced loads with ``beta = 1 / (8 G C0)``).
    Unlike ``Cmax`` itself, ``F`` sees every overloaded machine, so moves that unload a second or
    third critical machine are rewarded even while the first one stays at ``Cmax``: this is what
    the plain ``Cmax`` energy misses on instances with few jobs per machine. When ``F`` reaches 0
    the assignment has ``Cmax <= T``: it becomes the best, and the target drops to
    ``Cmax - step`` (``step`` 1 when every time is an integer, else ``1e-4 * Cmax``).

    With probability ``p_crit`` the moved job comes from an overloaded machine (a list of them is
    kept with O(1) updates); targets are drawn as in :func:`anneal_cmax`. Moves: shift; swap; and,
    in a fraction ``p_chain`` of the non-shift moves, a two-link ejection chain (j to machine g2,
    a job of g2 on to a third machine). O(1) per move.
    """
    n, G = len(p), len(p[0]) if p else 0
    a = list(assign)
    L, on, pos = _machines(a, p, G)
    fast = [sorted(allowed[j], key=lambda g, row=p[j]: (row[g], g)) for j in range(n)]
    integral = all(float(v).is_integer() for row in p for v in row if math.isfinite(v))
    best = list(a)
    best_c = max(L)
    on_best(best, best_c)
    C0 = max(best_c, 1e-12)
    beta = 1.0 / (8.0 * G * C0)

    def step_of(c: float) -> float:
        return 1.0 if integral else max(1e-4 * c, 1e-9)

    T = best_c - step_of(best_c)
    over: list[int] = []
    opos = [-1] * G

    def reset_over() -> float:
        over.clear()
        F = 0.0
        for g in range(G):
            if L[g] > T:
                opos[g] = len(over)
                over.append(g)
                F += L[g] - T
            else:
                opos[g] = -1
        return F

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

    F = reset_over()
    deltas = []
    for j, u in zip(rng.integers(0, n, 2000).tolist(), rng.random(2000).tolist(), strict=True):
        g2 = allowed[j][int(u * len(allowed[j]))]
        g1 = a[j]
        if g2 != g1:
            n1, n2 = L[g1] - p[j][g1], L[g2] + p[j][g2]
            deltas.append(max(0.0, n1 - T) + max(0.0, n2 - T) - max(0.0, L[g1] - T) - max(0.0, L[g2] - T))
    sched = Schedule(calibrate(deltas), cycle, budget, deadline, clock)
    accepted = 0
    while True:
        k = sched.next_chunk()
        if k == 0:
            break
        J1 = rng.integers(0, n, k).tolist()
        U = rng.random(k).tolist()
        V = rng.random(k).tolist()
        Wc = rng.random(k).tolist()
        X = rng.random(k).tolist()
        J2f = rng.random(k).tolist()
        E = rng.standard_exponential(k).tolist()
        Y = rng.random(k).tolist()
        Z = rng.random(k).tolist()
        temp = sched.T
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
                        dF = ((n1 - T if n1 > T else 0.0) + (n2 - T if n2 > T else 0.0) + (n3 - T if n3 > T else 0.0)
                              - (o1 - T if o1 > T else 0.0) - (o2 - T if o2 > T else 0.0)
                              - (o3 - T if o3 > T else 0.0))
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
                            T = best_c - step_of(best_c)
                            F = reset_over()
                        continue
                if pj2[g1] == math.inf:
                    continue
                n1 = L[g1] - pj[g1] + pj2[g1]
                n2 = L[g2] - pj2[g2] + pj[g2]
            o1 = L[g1]
            o2 = L[g2]
            dF = ((n1 - T if n1 > T else 0.0) + (n2 - T if n2 > T else 0.0)
                  - (o1 - T if o1 > T else 0.0) - (o2 - T if o2 > T else 0.0))
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
                T = best_c - step_of(best_c)
                F = reset_over()
        if improved:
            on_best(best, best_c)
        if sched.after_chunk(k, improved):
            a = list(best)
            L, on, pos = _machines(a, p, G)
            F = reset_over()
        elif k:
            F = reset_over()  # against drift
    return {"best": best, "best_cost": best_c, "moves": sched.moves, "accepted": accepted,
            "cycles": sched.cycles, "t0": sched.t0}
