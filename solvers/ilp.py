"""Exact MIP models solved with HiGHS (``highspy``): ``ilp-highs``.

The models (see ``solvers/_highs.py`` for the rows) are built as numpy arrays plus one scipy CSC
matrix and passed to HiGHS in one ``passModel`` call, integrality included: GAP with 5,000 jobs x
100 GPUs (500,000 binaries) builds in well under a second.

* placement ``min-cost`` (GAP), ``max-weight`` (multiple knapsack), ``min-gpus`` (vector bin
  packing with per-GPU ``y`` and symmetry breaking): x over usable (job, GPU) pairs.
* batch ``makespan`` with every release 0 (R||Cmax): x over usable (job, GPU) pairs, one
  continuous ``C``; the schedule runs each GPU's jobs back to back from time 0.

Only gang-1 instances are modelled (a gang > 1 job needs ``gang`` GPUs of one node chosen jointly,
not modelled here): on others, and on batch instances with a non-zero release, the solver returns
status ``unknown`` without a solution and says why in ``info["reason"]``.

Status: ``optimal`` when HiGHS proves optimality with a relative gap <= 1e-6 (``mip_rel_gap``
defaults to 1e-6); ``feasible`` with HiGHS's MIP dual bound as ``bound`` when stopped earlier;
``infeasible`` when HiGHS proves it. Incumbents found during the search are reported through
HiGHS's ``MipImprovingSolution`` callback (``report_incumbents``), each with the current dual bound.
The HiGHS time limit is ``context.remaining()`` minus a margin for decoding the answer.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.solver import Context, Param, Solver, SolveResult

from . import _highs as hx


def _margin(context: Context) -> float:
    return min(5.0, 0.3 + 0.05 * context.time_limit)


def _finite(v: Any) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class IlpHighs(Solver):
    """Exact MIP (GAP / multiple knapsack / vector bin packing / R||Cmax) solved with HiGHS."""

    name = "ilp-highs"
    family = "ilp"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {
        "placement": ("min-cost", "max-weight", "min-gpus"),
        "batch": ("makespan",),
    }
    params = (
        Param("mip_rel_gap", float, 1e-6, "HiGHS relative MIP gap at which it stops", minimum=0.0),
        Param("report_incumbents", bool, True, "report each improving MIP solution through the callback"),
    )
    requires = ("highspy", "scipy")
    deterministic = False  # stopped by the clock on hard instances
    description = "exact MIP with HiGHS: placement (gang 1) and batch makespan (R||Cmax, releases 0)"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        reason = hx.unsupported_reason(instance)
        if reason is not None:
            return SolveResult(None, "unknown", info={"reason": reason})
        _, _, has = hx.pairs(instance)
        all_jobs = instance.problem.objective != "max-weight"
        if all_jobs and not has.all():
            ids = [instance.jobs.ids[j] for j in np.flatnonzero(~has)[:5].tolist()]
            return SolveResult(None, "infeasible", info={"reason": f"job(s) {ids} fit no GPU they are eligible for"})
        model = hx.build(instance, integer=True)
        h = hx.new_highs(time_limit=context.remaining() - _margin(context), threads=context.threads,
                         seed=context.seed)
        h.setOptionValue("mip_rel_gap", float(context.params.get("mip_rel_gap", 1e-6)))
        hx.pass_model(h, model, integer=True)
        n = instance.n_jobs

        def answer(x: np.ndarray) -> tuple[dict[str, Any] | None, float | None]:
            gpu = hx.gpu_of_job(model, hx.chosen_pairs(model, x, n))
            if model.kind == "makespan":
                if (gpu < 0).any():
                    return None, None
                return hx.schedule_answer(instance, gpu)
            if hx.overloaded(instance, gpu).any():  # rounding of near-integral values: repair
                gpu = hx.repair_placement(instance, gpu, np.asarray(x[:model.n_pairs]))
            if all_jobs and (gpu < 0).any():
                return None, None
            return hx.placement_answer(instance, gpu)

        reported = [0]
        if context.params.get("report_incumbents", True):
            def on_improving(event: Any) -> None:
                try:
                    doc, _ = answer(np.asarray(event.data_out.mip_solution))
                    if doc is not None:
                        context.report(doc, _finite(event.data_out.mip_dual_bound))
                        reported[0] += 1
                except Exception:  # never let a report kill the search
                    pass

            h.cbMipImprovingSolution.subscribe(on_improving)
        t0 = time.perf_counter()
        h.run()
        solve_s = time.perf_counter() - t0
        status = hx.model_status(h)
        info = h.getInfo()
        details: dict[str, Any] = {
            "build_s": round(model.build_s, 4), "solve_s": round(solve_s, 4),
            "highs_status": status, "mip_gap": _finite(info.mip_gap), "nodes": int(info.mip_node_count),
            "columns": int(model.A.shape[1]), "rows": int(model.A.shape[0]), "nonzeros": int(model.A.nnz),
            "incumbents_reported": reported[0],
        }
        if status == "infeasible":
            return SolveResult(None, "infeasible", info=details)
        bound = _finite(info.mip_dual_bound)
        if int(info.primal_solution_status) != 2:  # no feasible solution
            details["reason"] = f"HiGHS found no feasible solution ({status})"
            return SolveResult(None, "unknown", bound=bound, info=details)
        doc, value = answer(np.asarray(h.getSolution().col_value))
        if doc is None:
            details["reason"] = "the HiGHS solution could not be decoded into a feasible answer"
            return SolveResult(None, "unknown", bound=bound, info=details)
        gap = details["mip_gap"]
        proven = status == "optimal" and gap is not None and gap <= hx.OPTIMAL_GAP + 1e-12
        if proven and value is not None and bound is not None:
            proven = abs(value - float(info.objective_function_value)) <= 1e-6 * max(1.0, abs(value))
        return SolveResult(doc, "optimal" if proven else "feasible", bound=bound, info=details)
