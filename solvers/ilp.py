"""Exact MIP models solved with HiGHS (``highspy``): ``ilp-highs``.

The models (see ``solvers/_highs.py`` for the rows) are built as numpy arrays plus one scipy CSC
matrix and passed to HiGHS in one ``passModel`` call, integrality included: GAP with 5,000 jobs x
100 GPUs (500,000 binaries) builds in well under a second (``benchmarks/bench_ilp.py build``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult

from . import _highs as hx
from ._lib.mip import finite_or_none, solve_margin


def _margin(context: Context) -> float:
    return solve_margin(context.time_limit)


_finite = finite_or_none


class IlpHighs(Solver):
    """Exact MIP solved with HiGHS: placement (any gang), R||Cmax, time-indexed batch sums.

    Formulations (rows in ``solvers/_highs.py``):

    * placement ``min-cost`` (GAP), ``max-weight`` (multiple knapsack), ``min-gpus`` (vector bin
      packing): binaries x over usable (job, GPU) pairs; a gang-1 job's x is its choice, a job with
      gang > 1 also chooses one gang group (a node; a GPU type with ``allow_multi_node``) with a
      binary z and takes exactly ``gang`` GPUs of it. Cost and weight count once per job (on z for
      gangs), as the validator counts them. ``min-gpus``: y per GPU, symmetry breaking among
      interchangeable GPUs (and, with every gang 1, the bin-order restriction of job j to the first
      ``rank_j + 1`` GPUs of a type). Exact: ``optimal`` is claimed when HiGHS proves it.
    * batch ``makespan`` with gang 1 and every release 0 (R||Cmax): x over pairs and a continuous
      C. Exact.
    * batch ``weighted-completion`` / ``weighted-tardiness`` with gang 1 (releases allowed): a
      time-indexed model, x[j,g,s] = job j starts on GPU g at period s, processing times and
      releases rounded UP to whole periods, so every integer solution decodes into a feasible
      continuous schedule (then left-shifted, which never makes it worse). It is meant for
      n*G*H <= ``max_columns`` (default 200,000) columns; the period is chosen to fit (``period``
      overrides it). Exact only with period 1 s and integer times and releases: only then is
      ``optimal`` claimed and HiGHS's dual bound reported; otherwise the MIP optimum is optimal for
      the discretised problem only, whose bound is NOT a bound of the continuous problem (rounding
      up removes schedules), so the status is ``feasible`` and the bound (``ti_bound``) is the LP
      relaxation of the same model with times and releases rounded DOWN — a relaxation, since any
      continuous schedule with starts rounded down to periods is feasible for it at no higher cost.
      The MIP then gets 80% of the time and the bound LP what is left (no bound if it runs out).

    Declines (``unsupported_reason``): batch instances with a gang > 1 job; batch makespan with a
    non-zero release (needs sequencing); time-indexed instances with more than
    200,000 / 8 usable (job, GPU) pairs.

    Status: ``optimal`` as above (HiGHS gap <= 1e-6 with the default ``mip_rel_gap``);
    ``feasible`` with a valid bound when stopped earlier; ``infeasible`` when HiGHS proves it (or a
    job fits nowhere). Incumbents found during the search are reported through HiGHS's
    ``MipImprovingSolution`` callback, each with the dual bound where that bound is valid. The
    HiGHS time limit is ``context.remaining()`` minus a margin for decoding. ``info`` has
    ``build_s`` (arrays + CSC), ``transfer_s`` (``passModel``), ``solve_s`` (HiGHS's own run time),
    ``wall_s`` of the ``run`` call, sizes, nodes, gap.
    """

    name = "ilp-highs"
    family = "ilp"
    version = "2"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {
        "placement": ("min-cost", "max-weight", "min-gpus"),
        "batch": ("makespan", "weighted-completion", "weighted-tardiness"),
    }
    params = (
        Param("mip_rel_gap", float, 1e-6, "HiGHS relative MIP gap at which it stops", minimum=0.0),
        Param("report_incumbents", bool, True, "report each improving MIP solution through the callback"),
        Param("period", float, 0.0, "time-indexed period in seconds (0: chosen to fit max_columns)", minimum=0.0),
        Param("max_columns", int, hx.TI_MAX_COLUMNS, "column budget of the time-indexed model", minimum=100),
        Param("ti_bound", bool, True, "time-indexed, inexact period: bound from the rounded-down LP"),
    )
    requires = ("highspy", "scipy")
    deterministic = False  # stopped by the clock on hard instances
    description = (
        "exact MIP with HiGHS: placement (gangs), R||Cmax (releases 0), time-indexed weighted "
        "completion/tardiness (gang 1)"
    )

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Declines what the formulation does not model (see the class docstring)."""
        return super().unsupported_reason(instance) or hx.unsupported_reason(instance, "ilp")

    model_formats: ClassVar[tuple[str, ...]] = ("mps", "lp")

    def export_model(self, instance: Instance, path: Path, fmt: str, params: Mapping[str, Any]) -> Path:
        """Write the MIP built for ``instance`` as MPS or CPLEX-LP with ``Highs.writeModel`` (the
        time-indexed period: the ``period`` parameter, 0 chosen as by default). Column names are
        HiGHS's (``c0, c1, ...``); their meaning is :class:`_highs.Model`'s."""
        reason = self.unsupported_reason(instance)
        if reason is not None:
            raise ValueError(reason)
        model = hx.build(instance, integer=True, period=float(params.get("period", 0.0)) or None)
        h = hx.new_highs(time_limit=None, threads=1, seed=0)
        hx.pass_model(h, model, integer=True)
        # HiGHS picks the format from the file's extension: write under the right one, then move
        with tempfile.TemporaryDirectory() as tmp:
            tmp_file = Path(tmp) / f"model.{fmt}"
            status = h.writeModel(str(tmp_file))
            if str(status) not in ("HighsStatus.kOk", "HighsStatus.kWarning") or not tmp_file.exists():
                raise RuntimeError(f"HiGHS could not write the model: {status}")
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(tmp_file), str(path))
        return path

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        reason = self.unsupported_reason(instance)
        if reason is not None:
            return SolveResult(None, "unknown", info={"reason": reason})
        params = context.params
        built = self._build(instance, params)
        if isinstance(built, SolveResult):
            return built
        model, plan, details = built
        timed = model.kind == "time-indexed"
        bound_valid = not timed or model.exact  # is HiGHS's dual bound one of the instance?
        extra_bound: float | None = None
        want_bound = False
        if timed:
            details.update(period=model.period, exact_discretisation=model.exact, mip_jobs=len(model.ti_jobs))
            if not len(model.ti_jobs):  # every job costs 0 wherever it runs: any schedule is optimal
                doc = hx.decode(instance, model, np.zeros(0))
                return SolveResult(doc, "optimal", bound=0.0, info=details)
            want_bound = not model.exact and bool(params.get("ti_bound", True)) and plan is not None
        # with a rounded-down bound LP to solve after the MIP, the MIP gets 80% of the time left
        share = 0.8 if want_bound else 1.0
        h = hx.new_highs(
            time_limit=share * (context.remaining() - _margin(context)), threads=context.threads, seed=context.seed
        )
        h.setOptionValue("mip_rel_gap", float(params.get("mip_rel_gap", 1e-6)))
        t1 = time.perf_counter()
        hx.pass_model(h, model, integer=True)
        details["transfer_s"] = round(time.perf_counter() - t1, 4)
        if model.start is not None:
            details["start_solution"] = hx.set_start(h, model.start)

        def answer(x: np.ndarray) -> tuple[dict[str, Any] | None, float | None]:
            doc = hx.decode(instance, model, x)
            return (None, None) if doc is None else (doc, float(doc["objective"]))

        reported = [0]
        if params.get("report_incumbents", True):

            def on_improving(event: Any) -> None:
                try:
                    doc, _ = answer(np.asarray(event.data_out.mip_solution))
                    if doc is not None:
                        bound = _finite(event.data_out.mip_dual_bound) if bound_valid else extra_bound
                        context.report(doc, bound)
                        reported[0] += 1
                except Exception:  # never let a report kill the search
                    pass

            h.cbMipImprovingSolution.subscribe(on_improving)
        t2 = time.perf_counter()
        h.run()
        details["wall_s"] = round(time.perf_counter() - t2, 4)
        details["solve_s"] = round(float(h.getRunTime()), 4)
        status = hx.model_status(h)
        info = h.getInfo()
        details.update(
            highs_status=status,
            mip_gap=_finite(info.mip_gap),
            nodes=int(info.mip_node_count),
            incumbents_reported=reported[0],
        )
        if want_bound and plan is not None:
            extra_bound = self._relaxed_bound(instance, plan, context, details)
        bound = _finite(info.mip_dual_bound) if bound_valid else extra_bound
        return self._outcome(model, status, info, bound, answer, h, details)

    @staticmethod
    def _build(instance: Instance, params: Any) -> tuple[hx.Model, hx.TiPlan | None, dict[str, Any]] | SolveResult:
        """The MIP of ``instance`` (time-indexed for batch weighted objectives), its time-indexed plan
        and the build details; or the answer when there is nothing to solve (a job fits nowhere, the
        discretisation is refused)."""
        _, _, has = hx.pairs(instance)
        all_jobs = instance.problem.objective != "max-weight"
        if all_jobs and not has.all():
            ids = [instance.jobs.ids[j] for j in np.flatnonzero(~has)[:5].tolist()]
            return SolveResult(None, "infeasible", info={"reason": f"job(s) {ids} fit no GPU they are eligible for"})
        t0 = time.perf_counter()
        plan = None
        try:
            if instance.problem.cls == "batch" and instance.problem.objective != "makespan":
                plan = hx.plan_time_indexed(
                    instance,
                    period=float(params.get("period", 0.0)) or None,
                    max_columns=int(params.get("max_columns", hx.TI_MAX_COLUMNS)),
                )
                model = hx.build_time_indexed(instance, plan=plan)
            else:
                model = hx.build(instance, integer=True)
        except ValueError as exc:
            return SolveResult(None, "unknown", info={"reason": str(exc)})
        model.build_s = time.perf_counter() - t0
        details: dict[str, Any] = {
            "build_s": round(model.build_s, 4),
            "columns": int(model.A.shape[1]),
            "rows": int(model.A.shape[0]),
            "nonzeros": int(model.A.nnz),
            "kind": model.kind,
        }
        return model, plan, details

    @staticmethod
    def _outcome(
        model: hx.Model,
        status: str,
        info: Any,
        bound: float | None,
        answer: Callable[[np.ndarray], tuple[dict[str, Any] | None, float | None]],
        h: Any,
        details: dict[str, Any],
    ) -> SolveResult:
        """The result once HiGHS stopped: the decoded incumbent, ``optimal`` only when proven for the
        instance itself (not only for its discretisation), a bound never beyond the answer's value."""
        timed = model.kind == "time-indexed"
        if status == "infeasible":
            if timed:  # the start solution is feasible, so this cannot happen short of a bug: claim nothing
                details["reason"] = "HiGHS reported the time-indexed model infeasible"
                return SolveResult(None, "unknown", info=details)
            return SolveResult(None, "infeasible", info=details)
        if int(info.primal_solution_status) != 2:  # no feasible solution
            details["reason"] = f"HiGHS found no feasible solution ({status})"
            return SolveResult(None, "unknown", bound=bound, info=details)
        doc, value = answer(np.asarray(h.getSolution().col_value))
        if doc is None:
            details["reason"] = "the HiGHS solution could not be decoded into a feasible answer"
            return SolveResult(None, "unknown", bound=bound, info=details)
        gap = details["mip_gap"]
        proven = status == "optimal" and gap is not None and gap <= hx.OPTIMAL_GAP + 1e-12
        if proven and value is not None:
            proven = abs(value - float(info.objective_function_value)) <= 1e-6 * max(1.0, abs(value))
        if timed:
            details["discretised_optimal"] = proven
            proven = proven and model.exact
        if bound is not None and value is not None:  # never claim a bound beyond the answer's value
            bound = min(bound, value) if model.sense == 1 else max(bound, value)
        return SolveResult(doc, "optimal" if proven else "feasible", bound=bound, info=details)

    @staticmethod
    def _relaxed_bound(instance: Instance, plan: hx.TiPlan, context: Context, details: dict[str, Any]) -> float | None:
        """LP value of the time-indexed model with times and releases rounded DOWN (a valid lower
        bound, see the class docstring), within the remaining time; None if unsolved."""
        t0 = time.perf_counter()
        down = hx.ti_plan_at(instance, plan.period, "down", ub=plan.ub)
        limit = int(context.params.get("max_columns", hx.TI_MAX_COLUMNS))
        if down.columns > limit:
            details["bound_note"] = "rounded-down model exceeds max_columns; no bound"
            return None
        lp = hx.build_time_indexed(instance, plan=down)
        h = hx.new_highs(
            time_limit=max(0.05, context.remaining() - _margin(context)), threads=context.threads, seed=context.seed
        )
        hx.pass_model(h, lp, integer=False)
        h.run()
        status = hx.model_status(h)
        details["bound_lp_s"] = round(time.perf_counter() - t0, 4)
        details["bound_lp_status"] = status
        if status != "optimal":
            return None
        return _finite(h.getInfo().objective_function_value)
