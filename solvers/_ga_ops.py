"""Encodings, vectorised operators and the evolution loop of the genetic algorithm ``ga``.

Imported by ``solvers/genetic.py`` inside ``solve`` only (the registry never imports modules whose
name starts with ``_``), so DEAP is loaded when a ``ga`` run starts, not when solvers are listed.
DEAP's ``creator`` types are created once, when this module is first imported, under names of this
package (``SchedbenchGaFitness``, ``SchedbenchGaIndividual``), guarded by ``hasattr``: importing
the module twice or running many solves in one process neither warns nor redefines them, and a
pickled incumbent refers to a class that exists wherever this module is imported.

A *population* is a 2-D int64 array whose rows are the individuals; cloning is ``pop[idx]`` (a
fancy-indexed copy), and crossover, mutation, selection and fitness evaluation are numpy operations
over all rows at once. DEAP supplies the :class:`~deap.base.Toolbox` (every operator is registered
and called through it), :class:`~deap.tools.Statistics`, :class:`~deap.tools.Logbook` and the
:class:`~deap.tools.HallOfFame` of the incumbent.

Models (one per problem class) turn rows into ``(objective, true objective, violation)`` arrays:

* :class:`PlacementModel`: gene ``j`` = index of an *option* of job ``j``: a GPU (gang 1) or a
  window of ``gang`` consecutive GPUs of one gang group (gang > 1), plus, for ``max-weight``, a
  last "unplaced" option. Capacity is relaxed; the violation is the total normalised overload
  ``sum_{gpu, r} max(0, load - capacity) / capacity``.
* :class:`BatchModel`: ``assignment`` (gene ``j`` = gang group of job ``j``; each group's jobs are
  sequenced in one fixed rule order) or ``permutation`` (list scheduling: each job in permutation
  order goes to the group where it completes earliest). Within a group a job takes the ``gang``
  GPUs that become free first. Every decoded schedule is feasible (violation 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from deap import base, creator, tools

from schedbench.instances.gangs import FIT_ATOL, FIT_RTOL, gang_groups, usable_types
from schedbench.instances.model import Instance
from schedbench.validator.placement import gpu_type_prices

from ._lib.assignment import regret_assign
from ._lib.documents import batch_doc, placement_doc
from ._lib.packing import pack, placement_order
from ._lib.schedule import batch_order, list_schedule

if not hasattr(creator, "SchedbenchGaFitness"):
    creator.create("SchedbenchGaFitness", base.Fitness, weights=(-1.0,))
if not hasattr(creator, "SchedbenchGaIndividual"):
    creator.create("SchedbenchGaIndividual", np.ndarray, fitness=creator.SchedbenchGaFitness)

#: Window options per gang > 1 job are capped at this many cells of the option table.
MAX_OPTION_CELLS = 50_000_000


# ------------------------------------------------------------------------------------ operators
def sel_tournament(fit: np.ndarray, k: int, tournsize: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` tournament winners (smallest ``fit``; ties: the first drawn)."""
    idx = rng.integers(0, len(fit), (k, tournsize))
    return idx[np.arange(k), np.argmin(fit[idx], axis=1)]


def random_bits(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Fair random booleans of ``shape`` from random bytes (8 per byte)."""
    h, n = shape
    raw = rng.integers(0, 256, (h, (n + 7) // 8), dtype=np.uint8)
    return np.unpackbits(raw, axis=1, count=n).view(bool)


def cx_uniform(pop: np.ndarray, cxpb: float, rng: np.random.Generator) -> None:
    """Uniform crossover in place on consecutive row pairs; each pair mates with probability ``cxpb``."""
    h = len(pop) // 2
    a, b = pop[0 : 2 * h : 2], pop[1 : 2 * h : 2]
    swap = random_bits(rng, a.shape) & (rng.random((h, 1)) < cxpb)
    tmp = np.where(swap, b, a)
    pop[1 : 2 * h : 2] = np.where(swap, a, b)
    pop[0 : 2 * h : 2] = tmp


def mut_reset(pop: np.ndarray, upper: np.ndarray, mutpb: float, indpb: float, rng: np.random.Generator) -> None:
    """In place: each row mutates with probability ``mutpb``; a mutating row resets each gene with
    probability ``indpb`` (at least one gene) to a uniform option in ``[0, upper[j])``."""
    P, n = pop.shape
    rows = np.flatnonzero(rng.random(P) < mutpb)
    if not len(rows) or not n:
        return
    hit = rng.random((len(rows), n), dtype=np.float32) < indpb
    hit[np.arange(len(rows)), rng.integers(0, n, len(rows))] = True
    r, c = np.nonzero(hit)
    pop[rows[r], c] = (rng.random(len(c)) * upper[c]).astype(np.int64)


def cx_uniform_order(pop: np.ndarray, cxpb: float, rng: np.random.Generator) -> None:
    """Uniform order-based crossover (Davis) in place on consecutive permutation pairs.

    Child of ``(a, b)``: ``a``'s jobs at a random half of the positions, the other positions filled
    with the remaining jobs in ``b``'s order (and symmetrically for the second child)."""
    h = len(pop) // 2
    if not h:
        return
    n = pop.shape[1]
    a, b = pop[0 : 2 * h : 2].copy(), pop[1 : 2 * h : 2].copy()
    mate = rng.random(h) < cxpb
    keep = rng.random((h, n)) < 0.5
    rows = np.arange(h)[:, None]
    pos = np.arange(n)[None, :]
    slot_order = np.argsort(keep, axis=1, kind="stable")  # free positions ascending, then kept ones

    def child(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        inv_x = np.empty_like(x)
        inv_x[rows, x] = pos
        inv_y = np.empty_like(y)
        inv_y[rows, y] = pos
        kept_job = np.zeros_like(keep)
        kept_job[rows, x] = keep  # job x[r, i] is kept iff position i is
        key = np.where(kept_job, n + inv_x, inv_y)
        jobs_order = np.argsort(key, axis=1, kind="stable")
        out = np.empty_like(x)
        out[rows, slot_order] = jobs_order
        return out

    c1, c2 = child(a, b), child(b, a)
    pop[0 : 2 * h : 2] = np.where(mate[:, None], c1, a)
    pop[1 : 2 * h : 2] = np.where(mate[:, None], c2, b)


def mut_swap(pop: np.ndarray, mutpb: float, indpb: float, rng: np.random.Generator) -> None:
    """In place: each row mutates with probability ``mutpb`` by ``max(1, round(indpb * n))`` random
    position swaps (the expected number of DEAP's ``mutShuffleIndexes``)."""
    P, n = pop.shape
    rows = np.flatnonzero(rng.random(P) < mutpb)
    if not len(rows) or n < 2:
        return
    for _ in range(max(1, round(indpb * n))):
        i = rng.integers(0, n, len(rows))
        k = rng.integers(0, n, len(rows))
        vi, vk = pop[rows, i], pop[rows, k]
        pop[rows, i] = vk
        pop[rows, k] = vi


# ------------------------------------------------------------------------------------ placement
def _gang_windows(gang: np.ndarray, group: np.ndarray, size: np.ndarray, G: int) -> dict[int, np.ndarray]:
    """Per gang value of the jobs, every run of ``gang`` consecutive GPUs (by index) of one gang
    group, ``(W, gang)`` (gang 1: every GPU)."""
    win_gpus: dict[int, np.ndarray] = {}
    for g in np.unique(gang).tolist():
        if g == 1:
            win_gpus[1] = np.arange(G)[:, None]
            continue
        rows = []
        for k in np.flatnonzero(size >= g).tolist():
            members = np.flatnonzero(group == k)
            rows.append(np.lib.stride_tricks.sliding_window_view(members, g))
        win_gpus[g] = np.concatenate(rows) if rows else np.zeros((0, g), dtype=np.int64)
    return win_gpus


class PlacementModel:
    """Assignment encoding of a placement instance (see the module docstring).

    Attributes:
        n: genes per individual. upper: options per job ``(n,)``. infeasible_jobs: jobs with no option
        (for ``min-cost``/``min-gpus`` the instance then has no answer).
    """

    permutation = False
    additive = True  # objective is a sum over jobs (local search applies)

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        jobs = inst.jobs
        n, G, R = inst.n_jobs, inst.n_gpus, len(inst.resources)
        self.n, self.G, self.R = n, G, R
        self.objective = inst.problem.objective
        group, _, size = gang_groups(inst)
        usable = usable_types(inst)
        gtype = inst.gpu_type
        gang = jobs.gang
        gmax = int(gang.max()) if n else 1
        win_gpus = _gang_windows(gang, group, size, G)
        masks = {}
        for g, w in win_gpus.items():
            sel = np.flatnonzero(gang == g)
            wt = gtype[w[:, 0]] if len(w) else np.zeros(0, dtype=np.int64)
            masks[g] = (sel, usable[sel][:, wt])
        count = np.zeros(n, dtype=np.int64)
        for sel, m in masks.values():
            count[sel] = m.sum(axis=1)
        self.infeasible_jobs = np.flatnonzero(count == 0)
        nullable = self.objective == "max-weight"
        upper = count + (1 if nullable else 0)
        n_opt = max(int(upper.max()) if n else 1, 1)
        if n * n_opt * gmax > MAX_OPTION_CELLS:
            raise MemoryError(f"option table of {n} x {n_opt} x {gmax} cells is too large")
        opt_gpus = np.full((n, n_opt, gmax), G, dtype=np.int64)  # G: a sink GPU that never overloads
        opt_type = np.full((n, n_opt), -1, dtype=np.int64)
        for g, w in win_gpus.items():
            sel, m = masks[g]
            if not len(sel) or not len(w):
                continue
            order = np.argsort(~m, axis=1, kind="stable")[:, :n_opt]  # usable windows first, by index
            valid = np.take_along_axis(m, order, axis=1)
            ww = w[order]  # (s, n_opt, g)
            block = np.where(valid[:, :, None], ww, G)
            opt_gpus[sel[:, None], np.arange(order.shape[1])[None, :], :g] = block
            opt_type[sel[:, None], np.arange(order.shape[1])] = np.where(valid, gtype[ww[:, :, 0]], -1)
        self.upper = np.maximum(upper, 1)
        self.opt_gpus = opt_gpus
        self.opt_type = opt_type
        jj = np.arange(n)[:, None]
        t = np.maximum(opt_type, 0)
        real = opt_type >= 0
        self.opt_dem = np.where(real[:, :, None], np.nan_to_num(jobs.demand[jj, t], nan=0.0), 0.0)
        if self.objective == "min-cost":
            assert jobs.cost is not None
            cost = np.where(real, np.nan_to_num(jobs.cost[jj, t], nan=0.0), 0.0)
        elif self.objective == "max-weight":
            cost = np.where(real, -jobs.weight[:, None], 0.0)
        else:
            cost = np.zeros((n, n_opt))
        self.opt_cost = cost
        cap = inst.gpu_capacity
        self.limit = np.vstack([cap * (1 + FIT_RTOL) + FIT_ATOL, np.full((1, R), np.inf)])  # (G+1, R)
        inv = np.where(cap > 0, 1.0 / np.where(cap > 0, cap, 1.0), 1.0)
        self.invcap = np.vstack([inv, np.zeros((1, R))])
        self.capx = np.vstack([cap, np.ones((1, R))])
        if self.objective == "min-gpus":
            self.additive = False
            if inst.problem.params.get("measure") == "cost":
                price = gpu_type_prices(inst)
                self.price = np.nan_to_num(price[gtype], nan=0.0)
            else:
                self.price = np.ones(G)
            pos = self.price[self.price > 0]
            self.guide = (float(pos.min()) if len(pos) else 1.0) / (G + 1)
        # swap moves (local search) for gang-1 instances of moderate size: per job and GPU its option
        self.swaps = bool(n >= 2 and gmax == 1 and n * n * max(R, 1) <= 200_000)
        if self.swaps:
            gpu_opt = np.full((n, G + 1), -1, dtype=np.int64)
            oi = np.broadcast_to(np.arange(n_opt)[None, :], (n, n_opt))
            real_gpu = opt_gpus[:, :, 0] < G
            gpu_opt[np.broadcast_to(jj, (n, n_opt))[real_gpu], opt_gpus[:, :, 0][real_gpu]] = oi[real_gpu]
            if nullable:  # column G (the sink) = the "unplaced" option
                gpu_opt[:, G] = upper - 1
            self.gpu_opt = gpu_opt  # (n, G + 1): option of job j on GPU g, -1 where none
            ok = gpu_opt >= 0
            self.cost_g = np.where(ok, np.take_along_axis(cost, np.maximum(gpu_opt, 0), axis=1), np.inf)
            dem = np.concatenate([np.nan_to_num(jobs.demand[:, gtype], nan=0.0), np.zeros((n, 1, R))], axis=1)
            self.dem_g = np.where(ok[:, :, None], dem, 0.0)  # (n, G + 1, R)
        # penalty scale: a typical cost difference per unit of normalised demand
        frac = (self.opt_dem * self.invcap[np.minimum(opt_gpus[:, :, 0], G)]).max(axis=2) if R else np.zeros((n, n_opt))
        fr = frac[real]
        mean_frac = float(fr.mean()) if fr.size else 1.0
        if self.objective == "min-cost":
            hi = np.where(real, cost, -np.inf).max(axis=1)
            spread = np.where(real.any(axis=1), hi - np.where(real, cost, np.inf).min(axis=1), 0.0)
            delta = float(spread.mean()) if n else 1.0
            delta = delta or float(np.abs(cost).mean() or 1.0)
        elif self.objective == "max-weight":
            delta = float(jobs.weight.mean()) if n else 1.0
        else:
            delta = float(self.price.max()) if G else 1.0
        self.lam0 = max(delta, 1e-9) / max(mean_frac, 1e-9)
        # ravelled option tables for 1-D gathers: option o of job j is row j * n_opt + o
        self.row_off = (np.arange(n) * n_opt)[None, :]
        self.f_cost = cost.ravel()
        self.f_gpus = opt_gpus.reshape(n * n_opt, gmax)
        self.f_dem = self.opt_dem.reshape(n * n_opt, R)
        self.simple = gmax == 1 and R == 1
        self.f_gpu1 = opt_gpus[:, :, 0].ravel()
        self.f_dem1 = self.opt_dem[:, :, 0].ravel() if R else np.zeros(n * n_opt)

    # -- evaluation
    def loads(self, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row its load ``(P, G + 1, R)`` (row ``G``: the sink), the GPU index array ``(P, n, gang)``
        and the flat option indices ``(P, n)`` (into the ravelled option tables)."""
        P = len(pop)
        G1, R = self.G + 1, self.R
        flat = pop + self.row_off
        off = np.arange(0, P * G1, G1)
        if self.simple:  # gang 1, one resource: 1-D gathers and one weighted bincount
            g = self.f_gpu1.take(flat)
            load = np.bincount((g + off[:, None]).ravel(), weights=self.f_dem1.take(flat).ravel(), minlength=P * G1)
            return load.reshape(P, G1, 1), g[:, :, None], flat
        gp = self.f_gpus[flat]  # (P, n, gang)
        dm = self.f_dem[flat]  # (P, n, R)
        idx = gp + off[:, None, None]
        if R == 1:
            w = np.broadcast_to(dm[:, :, None, 0], idx.shape)
            load = np.bincount(idx.ravel(), weights=w.ravel(), minlength=P * G1)
        else:
            idx2 = idx[..., None] * R + np.arange(R)
            w = np.broadcast_to(dm[:, :, None, :], idx2.shape)
            load = np.bincount(idx2.ravel(), weights=w.ravel(), minlength=P * G1 * R)
        return load.reshape(P, G1, R), gp, flat

    def evaluate(self, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(guided objective, true objective, violation)`` per row, all minimised (``max-weight``:
        minus the placed weight; ``min-gpus``: the measure less a small bonus for full GPUs)."""
        load, gp, flat = self.loads(pop)
        viol = (np.maximum(load - self.limit, 0.0) * self.invcap).sum(axis=(1, 2))
        if self.objective != "min-gpus":
            true = self.f_cost.take(flat).sum(axis=1)
            return true, true, viol
        cnt = np.bincount(
            (gp + (np.arange(len(pop)) * (self.G + 1))[:, None, None]).ravel(), minlength=len(pop) * (self.G + 1)
        ).reshape(len(pop), self.G + 1)[:, : self.G]
        used = cnt > 0
        true = used.astype(np.float64) @ self.price
        if self.R:
            fill = np.minimum((load[:, : self.G] / self.capx[None, : self.G]).max(axis=2), 1.0)
        else:
            fill = np.zeros((len(pop), self.G))
        return true - self.guide * (fill**2).sum(axis=1), true, viol

    def local_search(
        self, X: np.ndarray, fit: np.ndarray, lam: float, steps: int
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray], int]:
        """Steepest-descent shift (and swap) moves on the rows of ``X`` under ``objective + lam * violation``.

        Each step, per row: the move of one job to another option with the smallest estimated change
        (overlaps of a gang's source and target windows ignored in the estimate) or, on gang-1
        instances of moderate size (``n^2 R <= 200,000``), the exchange of two jobs on different GPUs
        if that is estimated better; the moved rows are
        re-evaluated exactly and a move is kept only if it lowers the exact penalised fitness; a row
        stops at its first non-improving step. Returns the rows, their evaluation and the number of
        exact evaluations spent."""
        X = X.copy()
        E, n = X.shape
        res = self.evaluate(X)
        obj, true, viol = (a.copy() for a in res)
        cur = obj + lam * viol
        evals = E
        live = np.ones(E, dtype=bool)
        jj = np.arange(n)[None, :]
        oo = np.arange(self.opt_gpus.shape[1])[None, :]
        invalid = oo >= self.upper[:, None]  # (n, n_opt)

        def pen(L: np.ndarray, lim: np.ndarray, inv: np.ndarray) -> np.ndarray:
            return (np.maximum(L - lim, 0.0) * inv).sum(axis=-1)

        for _ in range(steps):
            rows = np.flatnonzero(live)
            if not len(rows):
                break
            Xr = X[rows]
            load, gp, _ = self.loads(Xr)
            e = np.arange(len(rows))
            d_src = self.opt_dem[jj, Xr][:, :, None, :]  # (e, n, 1, R)
            L_src = load[e[:, None, None], gp]  # (e, n, g, R)
            lim_s, inv_s = self.limit[gp], self.invcap[gp]
            dsrc = (pen(L_src - d_src, lim_s, inv_s) - pen(L_src, lim_s, inv_s)).sum(axis=-1)  # (e, n)
            tg = self.opt_gpus  # (n, n_opt, g)
            L_t = load[:, tg]  # (e, n, n_opt, g, R)
            d_t = self.opt_dem[None, :, :, None, :]
            lim_t, inv_t = self.limit[tg][None], self.invcap[tg][None]
            dtgt = (pen(L_t + d_t, lim_t, inv_t) - pen(L_t, lim_t, inv_t)).sum(axis=-1)  # (e, n, n_opt)
            cur_cost = self.opt_cost[jj, Xr]
            delta = self.opt_cost[None] - cur_cost[:, :, None] + lam * (dsrc[:, :, None] + dtgt)
            delta[:, invalid] = np.inf
            delta[e[:, None], jj, Xr] = np.inf
            flat = delta.reshape(len(rows), -1)
            best = np.argmin(flat, axis=1)
            gain = flat[e, best]
            trial = X[rows]
            j, o = np.divmod(best, self.opt_gpus.shape[1])
            trial[e, j] = o
            if self.swaps:  # exchange two jobs on different GPUs
                gi = gp[:, :, 0]  # (e, n)
                A = self.cost_g[jj.T[None], gi[:, None, :]]  # A[e, i, k]: cost of i on k's GPU
                D = self.dem_g[jj.T[None], gi[:, None, :]]  # (e, i, k, R): demand of i on k's GPU
                own = np.diagonal(D, axis1=1, axis2=2).transpose(0, 2, 1)  # (e, n, R)
                L = load[e[:, None], gi]  # (e, n, R)
                lim, inv = self.limit[gi], self.invcap[gi]
                base_pen = pen(L, lim, inv)
                rest = L - own
                p_i = pen(rest[:, :, None, :] + D.transpose(0, 2, 1, 3), lim[:, :, None], inv[:, :, None])
                d_sw = (
                    A
                    + A.transpose(0, 2, 1)
                    - cur_cost[:, :, None]
                    - cur_cost[:, None, :]
                    + lam * (p_i + p_i.transpose(0, 2, 1) - base_pen[:, :, None] - base_pen[:, None, :])
                )
                d_sw[gi[:, :, None] == gi[:, None, :]] = np.inf
                sflat = d_sw.reshape(len(rows), -1)
                sb = np.argmin(sflat, axis=1)
                sgain = sflat[e, sb]
                use = sgain < gain
                if use.any():
                    i, k = np.divmod(sb[use], n)
                    eu = e[use]
                    trial[eu] = X[rows[use]]
                    trial[eu, i] = self.gpu_opt[i, gi[eu, k]]
                    trial[eu, k] = self.gpu_opt[k, gi[eu, i]]
                    gain = np.where(use, sgain, gain)
            good = gain < -1e-9 * np.maximum(1.0, np.abs(cur[rows]))
            live[rows[~good]] = False
            rows, trial = rows[good], trial[good]
            if not len(rows):
                break
            t_obj, t_true, t_viol = self.evaluate(trial)
            evals += len(rows)
            t_fit = t_obj + lam * t_viol
            ok = t_fit < cur[rows]
            keep = rows[ok]
            X[keep] = trial[ok]
            obj[keep], true[keep], viol[keep], cur[keep] = t_obj[ok], t_true[ok], t_viol[ok], t_fit[ok]
            live[rows[~ok]] = False
        return X, (obj, true, viol), evals

    # -- seeds and answers
    def option_of(self, j: int, gpus: np.ndarray | None) -> int | None:
        """The option of job ``j`` holding exactly ``gpus`` (or, for a gang, the window of that group
        starting at the lowest of them; the window ending there when none starts there); None: none."""
        if gpus is None:
            return int(self.upper[j] - 1) if self.objective == "max-weight" else None
        first = self.opt_gpus[j, : self.upper[j], 0]
        hit = np.flatnonzero(first == int(gpus[0]))
        if len(hit):
            return int(hit[0])
        member = np.flatnonzero((self.opt_gpus[j, : self.upper[j]] == int(gpus[0])).any(axis=1))
        return int(member[0]) if len(member) else None

    def seeds(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Rows from the constructive heuristics (``regret``/``ffd``/``bfd``); a job they leave
        unplaced gets its cheapest option (``max-weight``: unplaced)."""
        inst = self.inst
        answers: list[list[np.ndarray | None]] = []
        if self.objective == "min-cost":
            reg = regret_assign(inst)
            if reg is not None:
                answers.append(reg)
        order = placement_order(inst)
        for mode in ("first", "best"):
            answers.append(pack(inst, order, mode))
            if self.objective == "min-cost":
                answers.append(pack(inst, order, mode, cost_first=False))
        cheapest = np.argmin(
            np.where(np.arange(self.opt_cost.shape[1])[None, :] < self.upper[:, None], self.opt_cost, np.inf), axis=1
        )
        rows = []
        for chosen in answers:
            row = cheapest.copy()
            for j, g in enumerate(chosen):
                o = self.option_of(j, g)
                if o is not None:
                    row[j] = o
            rows.append(row)
        rows.append(cheapest)
        return rows

    def random(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return (rng.random((k, self.n)) * self.upper[None, :]).astype(np.int64)

    def doc(self, row: np.ndarray) -> dict[str, Any]:
        """The placement document of ``row`` (the sink option: unplaced)."""
        chosen: list[np.ndarray | None] = []
        for j, o in enumerate(row.tolist()):
            g = self.opt_gpus[j, o]
            g = g[g < self.G]
            chosen.append(g if len(g) else None)
        return placement_doc(self.inst, chosen)

    def crossover(self, pop: np.ndarray, cxpb: float, rng: np.random.Generator) -> None:
        cx_uniform(pop, cxpb, rng)

    def mutate(self, pop: np.ndarray, mutpb: float, indpb: float, rng: np.random.Generator) -> None:
        mut_reset(pop, self.upper, mutpb, indpb, rng)


# ------------------------------------------------------------------------------------ batch
SEQUENCE_RULES = ("auto", "release", "lpt", "wspt", "edd")


class BatchModel:
    """Assignment or permutation encoding of a batch instance (see the module docstring)."""

    additive = False

    def __init__(self, inst: Instance, encoding: str, sequence: str = "auto") -> None:
        self.inst = inst
        jobs = inst.jobs
        n = inst.n_jobs
        self.n = n
        self.permutation = encoding == "permutation"
        self.objective = inst.problem.objective
        group, group_type, size = gang_groups(inst)
        K = len(group_type)
        S = int(size.max()) if K else 1
        usable = usable_types(inst, need_time=True)
        ok = usable[:, group_type] & (size[None, :] >= jobs.gang[:, None])  # (n, K)
        self.infeasible_jobs = np.flatnonzero(~ok.any(axis=1))
        t = np.nan_to_num(jobs.time, nan=np.inf) if jobs.time is not None else np.full((n, len(inst.gpu_types)), np.inf)
        self.dur = np.where(ok, t[:, group_type], np.inf)  # (n, K)
        # slots: group k's GPUs in index order, padded
        order = np.lexsort((np.arange(len(group)), group))
        slot_gpu = np.full((K, S), -1, dtype=np.int64)
        sg = group[order]
        rank = np.arange(len(order)) - np.searchsorted(sg, sg, side="left")
        slot_gpu[sg, rank] = order
        self.slot_gpu = slot_gpu
        self.free0 = np.where(slot_gpu >= 0, 0.0, np.inf)  # (K, S)
        self.K, self.S = K, S
        self.gang = jobs.gang.astype(np.int64)
        self.gang1 = bool((self.gang == 1).all())
        self.release = jobs.release.astype(np.float64)
        self.weight = jobs.weight.astype(np.float64)
        d = jobs.deadline if jobs.deadline is not None else np.full(n, np.nan)
        self.has_due = ~np.isnan(d)
        self.due = np.nan_to_num(d, nan=0.0)
        # options of the assignment encoding: usable groups of each job, by index
        cnt = ok.sum(axis=1)
        n_opt = max(int(cnt.max()) if n else 1, 1)
        self.opt_group = np.argsort(~ok, axis=1, kind="stable")[:, :n_opt]
        self.upper = np.maximum(cnt, 1) if not self.permutation else np.full(n, n)
        self.opt_index = np.full((n, K), -1, dtype=np.int64)
        self.opt_index[np.arange(n)[:, None], self.opt_group] = np.where(
            np.arange(n_opt)[None, :] < cnt[:, None], np.arange(n_opt)[None, :], -1
        )
        if sequence == "auto":
            sequence = {"makespan": "release", "weighted-completion": "wspt"}.get(self.objective, "edd")
        self.sequence = sequence
        self.seq = self.rule_order(sequence)
        best = self.dur.min(axis=1) if K else np.full(n, np.inf)
        self.tie = 1e-3 / max(n, 1)  # makespan guide: + tie * sum C (prefers early completions)
        self.best_time = best

    def rule_order(self, rule: str) -> np.ndarray:
        if rule == "release":
            p = self.dur.min(axis=1) if self.K else np.zeros(self.n)
            return np.lexsort((np.arange(self.n), -p, self.release))
        return batch_order(self.inst, rule)

    # -- decoding
    def completions(self, pop: np.ndarray) -> np.ndarray:
        """Completion times ``(P, n)`` of the decoded schedules, vectorised over the rows.

        Per row and group only the sorted multiset of its GPUs' free times is kept (padding slots
        +inf at the end): a job's ready time in group ``k`` is the ``gang``-th smallest entry; placing
        it sets its ``gang`` smallest entries to its completion time, and the group is re-sorted."""
        P, n = pop.shape
        K, S = self.K, self.S
        free = np.broadcast_to(self.free0, (P, K, S)).copy()
        C = np.empty((P, n))
        ar = np.arange(P)
        kk = np.arange(K)[None, :]
        s_idx = np.arange(S)[None, :]
        for step in range(n):
            J: Any
            if self.permutation:
                J = pop[:, step]
                g = self.gang[J]
                kth = free[:, :, 0] if self.gang1 else free[ar[:, None], kk, (g - 1)[:, None]]
                comp = np.maximum(self.release[J][:, None], kth) + self.dur[J]
                k = np.argmin(comp, axis=1)
                end = comp[ar, k]
                gj = 1 if self.gang1 else None
            else:
                j = int(self.seq[step])
                J = j
                gj = int(self.gang[j])
                k = self.opt_group[j, pop[:, j]]
                end = np.maximum(self.release[j], free[ar, k, gj - 1]) + self.dur[j, k]
            if S == 1:
                free[ar, k, 0] = end
            else:
                row = free[ar, k]
                if gj == 1:
                    row[:, 0] = end
                else:
                    take = s_idx < (g[:, None] if gj is None else gj)
                    row = np.where(take, end[:, None], row)
                row.sort(axis=1)
                free[ar, k] = row
            if self.permutation:
                C[ar, J] = end
            else:
                C[:, J] = end
        return C

    def schedule(self, row: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """One row decoded with GPU identities: per job its start and GPU indices. The times are those
        of :meth:`completions` (same arithmetic; among GPUs free at the same time the lowest slot)."""
        n = self.n
        free = self.free0.copy()  # per group and slot (slot order = GPU index order), unsorted
        starts = np.zeros(n)
        gpus: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n
        for step in range(n):
            if self.permutation:
                j = int(row[step])
                g = int(self.gang[j])
                kth = np.sort(free, axis=1)[:, g - 1]
                ready = np.maximum(self.release[j], kth)
                k = int(np.argmin(ready + self.dur[j]))
            else:
                j = int(self.seq[step])
                g = int(self.gang[j])
                k = int(self.opt_group[j, row[j]])
                ready = np.maximum(self.release[j], np.sort(free, axis=1)[:, g - 1])
            st = float(ready[k])
            slots = np.argsort(free[k], kind="stable")[:g]
            free[k, slots] = st + float(self.dur[j, k])
            starts[j] = st
            gpus[j] = np.sort(self.slot_gpu[k, slots])
        return starts, gpus

    def evaluate(self, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(guided objective, true objective, 0)`` per row from :meth:`completions`."""
        C = self.completions(pop)
        if self.objective == "makespan":
            true = C.max(axis=1) if self.n else np.zeros(len(pop))
            guided = true + self.tie * C.sum(axis=1)
        elif self.objective == "weighted-completion":
            true = guided = C @ self.weight
        else:
            late = np.where(self.has_due[None, :], np.maximum(C - self.due[None, :], 0.0), 0.0)
            true = late @ self.weight
            guided = true + self.tie * (C @ self.weight) / max(float(self.weight.sum()), 1e-9)
        return guided, true, np.zeros(len(pop))

    def doc(self, row: np.ndarray) -> dict[str, Any]:
        """The batch document of ``row`` (:meth:`schedule`)."""
        starts, gpus = self.schedule(row)
        return batch_doc(self.inst, gpus, starts)

    def seeds(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Permutation: the ``lpt``/``wspt``/``edd``/release orders. Assignment: the groups of the
        ``list-ect``/``wspt``/``edd`` heuristics' schedules, and each job's fastest group."""
        orders = [self.rule_order(r) for r in ("lpt", "wspt", "edd", "release")]
        if self.permutation:
            return orders
        group = gang_groups(self.inst)[0]
        rows = []
        for order in orders[:3]:
            out = list_schedule(self.inst, order)
            if out is None:
                continue
            k = np.array([group[g[0]] for g in out[0]], dtype=np.int64)
            rows.append(np.maximum(self.opt_index[np.arange(self.n), k], 0))
        rows.append(
            np.argmin(
                np.where(
                    np.arange(self.opt_group.shape[1])[None, :] < self.upper[:, None],
                    self.dur[np.arange(self.n)[:, None], self.opt_group],
                    np.inf,
                ),
                axis=1,
            )
        )
        return rows

    def random(self, k: int, rng: np.random.Generator) -> np.ndarray:
        if self.permutation:
            return np.argsort(rng.random((k, self.n)), axis=1)
        return (rng.random((k, self.n)) * self.upper[None, :]).astype(np.int64)

    def crossover(self, pop: np.ndarray, cxpb: float, rng: np.random.Generator) -> None:
        (cx_uniform_order if self.permutation else cx_uniform)(pop, cxpb, rng)

    def mutate(self, pop: np.ndarray, mutpb: float, indpb: float, rng: np.random.Generator) -> None:
        if self.permutation:
            mut_swap(pop, mutpb, indpb, rng)
        else:
            mut_reset(pop, self.upper, mutpb, indpb, rng)


# ------------------------------------------------------------------------------------ evolution
def evolve(
    model: PlacementModel | BatchModel,
    p: dict[str, Any],
    rng: np.random.Generator,
    clock: Callable[[], float],
    deadline: float,
    on_improve: Callable[[np.ndarray, float], None],
) -> dict[str, Any]:
    """Generational GA with elitism, adaptive penalty and (placement) memetic local search.

    Each generation: penalised fitness ``objective + lam * violation``; the ``elite`` best rows survive
    unchanged; ``pop_size - elite`` children are tournament winners (``select``) cloned by fancy
    indexing, mated (``mate``) and mutated (``mutate``), then evaluated at once (``evaluate``). Every
    ``ls_every`` generations the ``ls_size`` best distinct rows get ``ls_steps`` local-search steps
    (Lamarckian: improved rows replace them). ``lam`` grows by 10 % after a generation whose best row
    is infeasible and shrinks by 5 % otherwise. After ``restart`` generations without a new incumbent
    every row but the ``max(elite, 1)`` best is replaced by a random one. The best feasible row by true
    objective is the incumbent (``on_improve`` on each strict improvement).

    Stops when ``max_evals`` (> 0) evaluations have been spent (local-search evaluations included)
    or ``clock() >= deadline``, whichever first.
    """
    P = p["pop_size"]
    elite = min(p["elite"], P - 2)
    n = model.n
    indpb = p["indpb"] if p["indpb"] > 0 else min(1.0, 2.0 / max(n, 1))
    budget = p["max_evals"]
    toolbox = base.Toolbox()
    toolbox.register("evaluate", model.evaluate)
    toolbox.register("select", sel_tournament, tournsize=p["tournsize"], rng=rng)
    toolbox.register("mate", model.crossover, cxpb=p["cxpb"], rng=rng)
    toolbox.register("mutate", model.mutate, mutpb=p["mutpb"], indpb=indpb, rng=rng)
    toolbox.register("random", model.random, rng=rng)
    use_ls = p["ls_size"] > 0 and isinstance(model, PlacementModel) and model.additive
    if use_ls:
        assert isinstance(model, PlacementModel)
        toolbox.register("local_search", model.local_search, steps=p["ls_steps"] or max(2 * n, 10))
    stats = tools.Statistics()
    stats.register("min", np.min)
    stats.register("avg", np.mean)
    stats.register("max", np.max)
    logbook = tools.Logbook()
    logbook.header = ["gen", "evals", "lam", "feasible", "best", *stats.fields]
    hof = tools.HallOfFame(1, similar=np.array_equal)

    row_key = np.random.default_rng(12345).integers(1, 2**62, n)  # row hash for de-duplication (wraps)
    seeds = model.seeds(rng)
    pop = np.vstack([*seeds[:P], toolbox.random(max(P - len(seeds), 0))]).astype(np.int64)
    obj, true, viol = toolbox.evaluate(pop)
    evals = P
    lam = float(getattr(model, "lam0", 1.0))
    best_true = np.inf
    gen = stall = restarts = 0

    def track(rows: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        nonlocal best_true
        feas = np.flatnonzero(v <= 0)
        if not len(feas):
            return
        i = feas[np.argmin(t[feas])]
        if t[i] < best_true - 1e-9 * max(1.0, abs(best_true) if np.isfinite(best_true) else 1.0):
            best_true = float(t[i])
            ind = creator.SchedbenchGaIndividual(rows[i].tolist())
            ind.fitness.values = (best_true,)
            hof.update([ind])
            on_improve(rows[i], best_true)

    track(pop, true, viol)
    seed_values = [
        float(x) if v <= 0 else None
        for x, v in zip(true[: len(seeds)].tolist(), viol[: len(seeds)].tolist(), strict=True)
    ]
    while (budget <= 0 or evals < budget) and clock() < deadline:
        gen += 1
        fit = obj + lam * viol
        order = np.argsort(fit, kind="stable")
        keep = order[:elite]
        parents = toolbox.select(fit, P - elite)
        kids = pop[parents]  # the clone: one fancy-indexed copy
        toolbox.mate(kids)
        toolbox.mutate(kids)
        k_obj, k_true, k_viol = toolbox.evaluate(kids)
        evals += len(kids)
        pop = np.vstack([pop[keep], kids])
        obj = np.concatenate([obj[keep], k_obj])
        true = np.concatenate([true[keep], k_true])
        viol = np.concatenate([viol[keep], k_viol])
        if use_ls and gen % p["ls_every"] == 0:
            fit = obj + lam * viol
            order = np.argsort(fit, kind="stable")
            _, first = np.unique(pop[order] @ row_key, return_index=True)
            pick = order[np.sort(first)][: p["ls_size"]]
            X, (o2, t2, v2), used = toolbox.local_search(pop[pick], fit[pick], lam)
            evals += used
            pop[pick], obj[pick], true[pick], viol[pick] = X, o2, t2, v2
        before = best_true
        track(pop, true, viol)
        stall = 0 if best_true < before else stall + 1
        fit = obj + lam * viol
        b = int(np.argmin(fit))
        lam = lam * 1.1 if viol[b] > 0 else lam / 1.05
        lam = min(max(lam, getattr(model, "lam0", 1.0) * 1e-3), getattr(model, "lam0", 1.0) * 1e9)
        if gen % p["log_every"] == 0:
            logbook.record(
                gen=gen, evals=evals, lam=lam, feasible=int((viol <= 0).sum()), best=best_true, **stats.compile([fit])
            )
        if p["restart"] and stall >= p["restart"]:
            fit = obj + lam * viol
            keep = np.argsort(fit, kind="stable")[: max(elite, 1)]
            fresh = toolbox.random(P - len(keep))
            f_obj, f_true, f_viol = toolbox.evaluate(fresh)
            evals += len(fresh)
            pop = np.vstack([pop[keep], fresh])
            obj = np.concatenate([obj[keep], f_obj])
            true = np.concatenate([true[keep], f_true])
            viol = np.concatenate([viol[keep], f_viol])
            track(pop, true, viol)
            stall, restarts = 0, restarts + 1
    logbook.record(
        gen=gen,
        evals=evals,
        lam=lam,
        feasible=int((viol <= 0).sum()),
        best=best_true,
        **stats.compile([obj + lam * viol]),
    )

    def plain(v: Any) -> Any:
        v = v.item() if isinstance(v, np.generic) else v
        return None if isinstance(v, float) and not np.isfinite(v) else v

    return {
        "best": np.asarray(hof[0]) if len(hof) else None,
        "best_value": best_true if len(hof) else None,
        "generations": gen,
        "evals": evals,
        "restarts": restarts,
        "lam": plain(lam),
        "seed_values": seed_values,
        "logbook": [{k: plain(v) for k, v in r.items()} for r in logbook[-5:]],
        "log_entries": len(logbook),
    }
