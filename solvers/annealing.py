"""Simulated annealing ``sa`` for min-cost GAP-like placement and R||Cmax batch makespan.

Annealed instances (``anneals``): ``placement``/``min-cost`` with every gang 1 and one resource
dimension (the generalised assignment problem: each GPU a bin), and ``batch``/``makespan`` with
every gang 1 and every release 0 (unrelated parallel machines, each GPU a machine). Other
instances of these two classes are declined through ``unsupported_reason`` (recorded
``unsupported`` by the harness, with the reason), so that a table never credits ``sa`` with a
constructive heuristic's answer; called directly, ``solve`` still returns ``regret``'s /
``list-ect``'s answer with ``info["annealed"] = False``.

* Initial answer: the ``regret`` heuristic (GAP; jobs it leaves unplaced go to their cheapest
  allowed GPU, infeasibly) or ``list-ect`` (R||Cmax).
* Moves: shift (one job to another allowed GPU) and swap (two jobs on different GPUs exchange);
  for R||Cmax also two-link ejection chains.
* GAP: capacity relaxed by an adaptive penalty on normalised overload; the best *feasible* answer
  is kept. R||Cmax (``energy="target"``, the default): the total excess of the loads over a
  makespan target that drops each time it is met (``_moves.CmaxTargetKernel``); with
  ``energy="cmax"``: ``Cmax`` plus a small sum-of-squared-loads term. Most moves take a job off an
  overloaded (critical) machine. Details and the temperature schedule: ``_moves.py``.
* Stopping: ``max_moves`` moves (when > 0; deterministic for a seed) or the time limit (less a
  small margin), whichever first. Improvements are reported with ``context.report`` (anytime).
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from schedbench.instances.gangs import FIT_ATOL, FIT_RTOL, usable_types
from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult

from ._lib.assignment import regret_assign, regret_placement
from ._lib.documents import batch_doc, placement_doc
from ._lib.packing import heuristic_placement
from ._lib.schedule import batch_order, heuristic_schedule, list_schedule
from ._moves import CmaxKernel, CmaxTargetKernel, GapKernel, anneal


class SimulatedAnnealing(Solver):
    """Simulated annealing with shift/swap moves for GAP (min-cost placement) and R||Cmax."""

    name = "sa"
    family = "annealing"
    version = "3"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"placement": ("min-cost",), "batch": ("makespan",)}
    params = (
        Param(
            "max_moves",
            int,
            0,
            "stop after this many moves (0: run until the time limit); "
            "with a budget the answer depends only on the seed",
            minimum=0,
        ),
        Param(
            "cycle_moves",
            int,
            0,
            "moves per cooling cycle before a reheat (0: automatic; GAP: a third of "
            "the run, by budget or measured move rate; R||Cmax: max(50000, 2000 x jobs))",
            minimum=0,
        ),
        Param("p_shift", float, 0.5, "probability of a shift move (else swap)", minimum=0.0, maximum=1.0),
        Param(
            "energy",
            str,
            "target",
            "R||Cmax energy: 'target' (total excess over a falling makespan target) "
            "or 'cmax' (Cmax plus a small sum of squared loads)",
            choices=("target", "cmax"),
        ),
        Param("margin", float, 0.2, "seconds kept back from the time limit to return the answer", minimum=0.0),
    )
    deterministic = False  # by default stopped by the clock; with max_moves > 0 the answer depends only on the seed
    description = "simulated annealing (shift/swap, calibrated T, reheats) for GAP min-cost and R||Cmax"

    @staticmethod
    def anneals(instance: Instance) -> bool:
        """Whether the instance is one ``sa`` anneals (GAP-like or R||Cmax); others get the heuristic's answer."""
        jobs = instance.jobs
        if instance.n_jobs == 0 or (jobs.gang != 1).any():
            return False
        if instance.problem.cls == "placement":
            return len(instance.resources) == 1 and jobs.cost is not None
        return jobs.time is not None and bool((jobs.release == 0).all())

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Declines instances it does not anneal (see the module docstring)."""
        reason = super().unsupported_reason(instance)
        if reason is None and not cls.anneals(instance):
            reason = "sa anneals GAP-like placement (gang 1, one resource, costs) and R||Cmax (gang 1, releases 0) only"
        return reason

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        p = self.resolve_params(context.params)
        if not self.anneals(instance):
            if instance.problem.cls == "placement":
                name, res = "regret", heuristic_placement(instance, "best", regret_placement)
            else:
                name, res = "list-ect", heuristic_schedule(instance, "lpt")
            res.info.update(annealed=False, reason=f"not GAP-like / R||Cmax: the {name} heuristic's answer")
            if res.solution is not None and res.status == "feasible":
                context.report(res.solution)
            return res
        rng = np.random.default_rng(context.seed)
        deadline = time.monotonic() + max(0.0, context.remaining() - p["margin"])
        if instance.problem.cls == "placement":  # automatic cycles: a third of the run each
            return self._gap(instance, context, rng, p, deadline, p["cycle_moves"])
        return self._cmax(instance, context, rng, p, deadline, p["cycle_moves"] or max(50_000, 2000 * instance.n_jobs))

    # ------------------------------------------------------------------ GAP
    def _gap(
        self, inst: Instance, context: Context, rng: np.random.Generator, p: dict[str, Any], deadline: float, cycle: int
    ) -> SolveResult:
        jobs = inst.jobs
        n = inst.n_jobs
        gtype = inst.gpu_type
        limit = inst.gpu_capacity[:, 0] * (1 + FIT_RTOL) + FIT_ATOL
        dem = np.nan_to_num(jobs.demand[:, gtype, 0], nan=0.0)
        ok = usable_types(inst)[:, gtype] & (dem <= limit[None, :])
        assert jobs.cost is not None
        cost = np.where(ok, np.nan_to_num(jobs.cost[:, gtype], nan=np.inf), np.inf)
        allowed = [np.flatnonzero(ok[j]).tolist() for j in range(n)]
        stuck = [j for j in range(n) if not allowed[j]]
        if stuck:
            return SolveResult(
                None,
                "infeasible",
                info={"reason": f"{len(stuck)} job(s) fit on no GPU, e.g. {[jobs.ids[j] for j in stuck[:5]]}"},
            )
        chosen = regret_assign(inst) or [None] * n
        start = [
            int(c[0]) if c is not None else allowed[j][int(np.argmin(cost[j, allowed[j]]))]
            for j, c in enumerate(chosen)
        ]

        def doc(a: list[int]) -> dict[str, Any]:
            return placement_doc(inst, [np.array([g]) for g in a])

        def on_best(a: list[int], value: float) -> None:
            context.report(doc(a))

        kernel = GapKernel(
            start, cost.tolist(), np.where(ok, dem, 0.0).tolist(), limit.tolist(), allowed, rng, p_shift=p["p_shift"]
        )
        out = anneal(
            kernel, budget=p["max_moves"], deadline=deadline, clock=time.monotonic, cycle=cycle, on_best=on_best
        )
        info = {k: v for k, v in out.items() if k != "best"}
        info["annealed"] = True
        if out["best"] is None:
            info["objective"] = None
            return SolveResult(None, "unknown", info={**info, "reason": "no feasible assignment found"})
        info["objective"] = float(out["best_cost"])
        return SolveResult(doc(out["best"]), "feasible", info=info)

    # ------------------------------------------------------------------ R||Cmax
    def _cmax(
        self, inst: Instance, context: Context, rng: np.random.Generator, p: dict[str, Any], deadline: float, cycle: int
    ) -> SolveResult:
        jobs = inst.jobs
        n = inst.n_jobs
        gtype = inst.gpu_type
        ok = usable_types(inst, need_time=True)[:, gtype]
        assert jobs.time is not None
        ptime = np.where(ok, np.nan_to_num(jobs.time[:, gtype], nan=np.inf), np.inf)
        allowed = [np.flatnonzero(ok[j]).tolist() for j in range(n)]
        stuck = [j for j in range(n) if not allowed[j]]
        if stuck:
            return SolveResult(
                None,
                "infeasible",
                info={"reason": f"{len(stuck)} job(s) have no usable GPU, e.g. {[jobs.ids[j] for j in stuck[:5]]}"},
            )
        init = list_schedule(inst, batch_order(inst, "lpt"))
        assert init is not None
        start = [int(g[0]) for g in init[0]]
        ptl = ptime.tolist()

        def doc(a: list[int]) -> dict[str, Any]:
            free = [0.0] * inst.n_gpus
            start = np.zeros(n)
            for j in range(n):  # on each GPU in job order, back to back
                g = a[j]
                start[j] = free[g]
                free[g] += ptl[j][g]
            return batch_doc(inst, [np.array([g]) for g in a], start)

        def on_best(a: list[int], value: float) -> None:
            context.report(doc(a))

        kind = CmaxTargetKernel if p["energy"] == "target" else CmaxKernel
        out = anneal(
            kind(start, ptl, allowed, rng, p_shift=p["p_shift"]),
            budget=p["max_moves"],
            deadline=deadline,
            clock=time.monotonic,
            cycle=cycle,
            on_best=on_best,
        )
        best = out["best"]
        loads = np.zeros(inst.n_gpus)
        for j, g in enumerate(best):
            loads[g] += ptl[j][g]
        info = {k: v for k, v in out.items() if k not in ("best", "best_cost")}
        info["annealed"] = True
        info["objective"] = float(loads.max())
        if not math.isfinite(info["objective"]):
            return SolveResult(None, "unknown", info=info)
        return SolveResult(doc(best), "feasible", info=info)
