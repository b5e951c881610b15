"""The ``ilp-highs`` models written in Pyomo, with the MIP solver as a parameter: ``ilp-pyomo``.

Identical formulations by construction: the Pyomo model is built from the very matrix model that
``ilp-highs`` passes to HiGHS (``_highs.build(instance, integer=True)``: cost vector, column and row
bounds, CSC matrix, integrality), and its column values are decoded by the same ``_highs.decode``,
so two MIP solvers run on ``ilp-pyomo`` -- or ``ilp-pyomo`` and ``ilp-highs`` -- solve the same
model, column for column and row for row, and turn its solutions into the same answers. Models (see
``solvers/_highs.py`` for the rows): placement ``min-cost`` (GAP), ``max-weight`` (multiple
knapsack), ``min-gpus`` (vector bin packing), gang jobs included where ``_highs.build`` models them
(z columns per gang group); batch ``makespan`` (R||Cmax, gang 1, every release 0).

The Pyomo model is built the way a Pyomo user writes it, as fast as Pyomo allows: one ``Var``
indexed by column (domain ``Binary``/``Integers``/``NonNegativeReals``/``Reals`` from the
integrality and bounds), one ``Constraint`` indexed by row whose rule makes a
``LinearExpression`` from the row's CSR slice, one ``Objective`` (a ``LinearExpression`` over the
non-zero costs). This is per-element Python work inside Pyomo and is measured, not avoided: the
point of the solver is to compare MIP solvers on one model *and* to show what the modelling layer
costs (see ``benchmarks/bench_pyomo.py``).

MIP solvers (``mip_solver``):

* ``highs`` (default): Pyomo's persistent HiGHS interface
  (``pyomo.contrib.solver.solvers.highs.Highs``); ``set_instance`` (the transfer of the Pyomo
  model into HiGHS) is timed apart from the solve, and the time limit is computed after it.
* ``cbc``, ``glpk``, ``scip``, ``gurobi``, ``cplex``: Pyomo's classic ``SolverFactory(name)`` (the
  executables ``cbc``, ``glpsol``, ``scip``/AMPL, ``gurobi_cl``, ``cplex``). The time limit, relative
  gap, threads and seed are passed as each solver's own options (see :data:`_SHELL_OPTIONS`); the
  transfer (writing the problem file, reading the answer) happens inside ``solve`` and is estimated
  as the solve call's time minus the solver-reported time. These interfaces are not exercised by the
  test suite unless the executable is installed. A solver that is not available is detected before
  any model is built: status ``unknown``, no solution, ``info["reason"]`` says which and why.

Declines: classes/objectives outside ``problems``, then whatever ``ilp-highs`` declines
(``unsupported_reason`` asks the shared models, ``_highs.unsupported_reason``). ``ilp-highs``'s time-indexed
batch models (``weighted-completion``, ``weighted-tardiness``) are not offered here: their status and
bound depend on the discretisation and an extra LP bound that belong to ``ilp-highs``.

Time: the MIP solver's limit is ``context.remaining()`` (which already excludes the matrix and
Pyomo building time) minus a margin for decoding; for the file-based solvers also minus an estimate
of writing the file (the Pyomo building time). When nothing is left the solver returns ``unknown``
with its timings rather than starting the MIP solver.

``info``: ``build_s`` (matrix model, as in ``ilp-highs``), ``pyomo_build_s`` (Pyomo model
construction), ``transfer_s`` (Pyomo model into the solver: ``set_instance`` for ``highs``; solve
call minus solver time otherwise), ``solve_s`` (solver-reported time), ``solve_call_s`` (the whole
solve call), ``mip_solver``, ``termination``, ``mip_gap`` (from incumbent and bound), model size.

Status: ``optimal`` only when the solver's termination condition says optimal and the gap between
the incumbent and the solver's dual bound is at most 1e-6 (relative, or absolute below 1; when a
file-based solver reports no bound, its termination condition is taken with ``mip_rel_gap``
passed to it); otherwise ``feasible`` with the dual bound as ``bound`` where the solver reports
one; ``infeasible`` when the solver proves it (or a row with no columns cannot hold); ``unknown``
without an answer. No incumbents are reported while the MIP solver runs (Pyomo offers no
solver-independent callback).
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult

from . import _highs as hx
from ._lib.mip import finite_or_none, solve_margin

#: MIP solvers reachable through ``mip_solver``.
MIP_SOLVERS = ("highs", "cbc", "glpk", "scip", "gurobi", "cplex")

#: Per file-based solver, its option names for (time limit, relative gap, threads, seed); None: not set.
_SHELL_OPTIONS: dict[str, tuple[str, str, str | None, str | None]] = {
    "cbc": ("sec", "ratioGap", "threads", "randomCbcSeed"),
    "glpk": ("tmlim", "mipgap", None, None),
    "scip": ("limits/time", "limits/gap", None, "randomization/randomseedshift"),
    "gurobi": ("TimeLimit", "MIPGap", "Threads", "Seed"),
    "cplex": ("timelimit", "mip_tolerances_mipgap", "threads", "randomseed"),
}

#: Below this many seconds for the MIP solver the run gives up before starting it.
MIN_SOLVE_S = 0.05


def _margin(context: Context) -> float:
    return solve_margin(context.time_limit)


_finite = finite_or_none


def _gap(value: float | None, bound: float | None) -> float | None:
    """Relative gap ``|value - bound| / max(1, |value|)`` (None when either is missing)."""
    if value is None or bound is None:
        return None
    return abs(value - bound) / max(1.0, abs(value))


def pyomo_model(m: hx.Model) -> tuple[Any, list[Any]]:
    """The Pyomo ``ConcreteModel`` of the matrix model ``m`` and its column variables in order.

    ``x[i]`` is column ``i`` (domain from ``m.integrality`` and the bounds); ``rows[i]`` is row ``i``
    of ``m.A`` with its bounds (equality when they are equal; rows without columns are skipped, see
    :func:`empty_row_conflict`); the objective is ``m.cost`` with sense ``m.sense``.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    ncol, nrow = int(m.A.shape[1]), int(m.A.shape[0])
    integ = (np.asarray(m.integrality) != 0).tolist()
    lo = [None if not math.isfinite(v) else v for v in np.asarray(m.col_lower, dtype=np.float64).tolist()]
    up = [None if not math.isfinite(v) else v for v in np.asarray(m.col_upper, dtype=np.float64).tolist()]

    def domain(_: Any, i: int) -> Any:
        if integ[i]:
            return pyo.Binary if lo[i] == 0.0 and up[i] == 1.0 else pyo.Integers
        low = lo[i]
        return pyo.NonNegativeReals if low is not None and low >= 0.0 else pyo.Reals

    model = pyo.ConcreteModel(name="schedbench")
    model.x = pyo.Var(range(ncol), domain=domain, bounds=lambda _, i: (lo[i], up[i]))
    xs = list(model.x.values())
    csr = m.A.tocsr()
    csr.sort_indices()
    indptr = csr.indptr.tolist()
    indices = csr.indices.tolist()
    data = csr.data.astype(np.float64).tolist()
    rlo = [None if not math.isfinite(v) else v for v in np.asarray(m.row_lower, dtype=np.float64).tolist()]
    rup = [None if not math.isfinite(v) else v for v in np.asarray(m.row_upper, dtype=np.float64).tolist()]

    def row(_: Any, i: int) -> Any:
        a, b = indptr[i], indptr[i + 1]
        if a == b:
            return pyo.Constraint.Skip
        expr = LinearExpression(linear_coefs=data[a:b], linear_vars=[xs[k] for k in indices[a:b]])
        if rlo[i] is not None and rlo[i] == rup[i]:
            return expr == rlo[i]
        return (rlo[i], expr, rup[i])

    model.rows = pyo.Constraint(range(nrow), rule=row)
    nz = np.flatnonzero(np.asarray(m.cost) != 0)
    obj = LinearExpression(
        linear_coefs=np.asarray(m.cost, dtype=np.float64)[nz].tolist(), linear_vars=[xs[k] for k in nz.tolist()]
    )
    model.obj = pyo.Objective(expr=obj, sense=pyo.minimize if m.sense == 1 else pyo.maximize)
    return model, xs


def empty_row_conflict(m: hx.Model) -> int | None:
    """A row without columns whose bounds exclude 0 (the model is then infeasible), or None."""
    counts = np.diff(m.A.tocsr().indptr)
    bad = (counts == 0) & ((m.row_lower > 0) | (m.row_upper < 0))
    hit = np.flatnonzero(bad)
    return int(hit[0]) if len(hit) else None


def _v2_highs() -> Any:
    """Pyomo's persistent HiGHS interface class (module path of Pyomo 6.10, then older ones)."""
    try:
        from pyomo.contrib.solver.solvers.highs import Highs
    except ImportError:  # pragma: no cover - Pyomo < 6.9.3
        from pyomo.contrib.solver.highs import Highs
    return Highs


def availability(mip_solver: str) -> str | None:
    """Why ``mip_solver`` cannot run here (None: it can). Imports Pyomo (so later timings exclude that)."""
    import pyomo.environ as pyo

    if mip_solver not in MIP_SOLVERS:
        return f"unknown MIP solver {mip_solver!r}; choose one of {list(MIP_SOLVERS)}"
    if mip_solver == "highs":
        try:
            ok = bool(_v2_highs()().available())
        except Exception as exc:  # a broken highspy or Pyomo install
            return f"Pyomo's HiGHS interface is not usable: {type(exc).__name__}: {exc}"
        return None if ok else "Pyomo's HiGHS interface reports highspy unavailable"
    try:
        opt = pyo.SolverFactory(mip_solver)
        ok = bool(opt.available(exception_flag=False))
    except Exception as exc:
        return f"MIP solver {mip_solver!r} is not available: {type(exc).__name__}: {exc}"
    if not ok:
        return (
            f"MIP solver {mip_solver!r} is not available: Pyomo's SolverFactory({mip_solver!r}) finds no "
            "executable (install it on the PATH)"
        )
    return None


class IlpPyomo(Solver):
    """The ``ilp-highs`` MIP models built in Pyomo and solved by a chosen MIP solver (see the module docstring)."""

    name = "ilp-pyomo"
    family = "ilp"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {
        "placement": ("min-cost", "max-weight", "min-gpus"),
        "batch": ("makespan",),
    }
    params = (
        Param("mip_solver", str, "highs", "MIP solver Pyomo calls", choices=MIP_SOLVERS),
        Param("mip_rel_gap", float, 1e-6, "relative MIP gap at which the solver stops", minimum=0.0),
    )
    requires = ("pyomo.environ", "highspy")
    deterministic = False  # stopped by the clock on hard instances
    description = "ilp-highs's models built in Pyomo; MIP solver as a parameter (highs, cbc, glpk, scip, gurobi, cplex)"

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Declines classes/objectives outside ``problems``, then whatever ``ilp-highs`` declines."""
        return super().unsupported_reason(instance) or hx.unsupported_reason(instance, "ilp")

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        reason = self.unsupported_reason(instance)
        if reason is not None:
            return SolveResult(None, "unknown", info={"reason": reason})
        mip_solver = str(context.params.get("mip_solver", "highs"))
        gap_param = float(context.params.get("mip_rel_gap", 1e-6))
        missing = availability(mip_solver)
        if missing is not None:
            return SolveResult(None, "unknown", info={"reason": missing, "mip_solver": mip_solver})
        model = hx.build(instance, integer=True)
        details: dict[str, Any] = {
            "mip_solver": mip_solver,
            "build_s": round(model.build_s, 4),
            "columns": int(model.A.shape[1]),
            "rows": int(model.A.shape[0]),
            "nonzeros": int(model.A.nnz),
        }
        bad = empty_row_conflict(model)
        if bad is not None:
            details["reason"] = f"row {bad} of the model has no columns and bounds excluding 0 (e.g. a job fits no GPU)"
            return SolveResult(None, "infeasible", info=details)
        t0 = time.perf_counter()
        pm, xs = pyomo_model(model)
        details["pyomo_build_s"] = round(time.perf_counter() - t0, 4)
        if mip_solver == "highs":
            run = self._run_highs(pm, context, gap_param, details)
        else:
            run = self._run_shell(pm, mip_solver, context, gap_param, details)
        if run is None:
            return SolveResult(None, "unknown", info=details)
        term, has_solution, incumbent, bound, optimal_tc = run
        bound = _finite(bound)
        details["termination"] = term
        if term in ("provenInfeasible", "infeasible"):
            return SolveResult(None, "infeasible", info=details)
        if not has_solution:
            details["reason"] = f"{mip_solver} found no feasible solution ({term})"
            return SolveResult(None, "unknown", bound=bound, info=details)
        x = np.array([0.0 if v.value is None else float(v.value) for v in xs])
        doc = hx.decode(instance, model, x)  # ilp-highs's decoder: same columns, same answer
        if doc is None:
            details["reason"] = f"the {mip_solver} solution could not be decoded into a feasible answer"
            return SolveResult(None, "unknown", bound=bound, info=details)
        value = float(doc["objective"])
        incumbent = _finite(incumbent)
        gap = _gap(incumbent, bound)
        details["mip_gap"] = gap
        if gap is None:  # only a file-based solver run with mip_rel_gap may omit its bound
            proven = optimal_tc and mip_solver != "highs"
        else:
            proven = optimal_tc and gap <= hx.OPTIMAL_GAP
        if proven and incumbent is not None:  # the decoded answer must be the solver's optimum (no repair moved it)
            proven = abs(value - incumbent) <= 1e-6 * max(1.0, abs(incumbent))
        if bound is not None:  # never claim a bound beyond the answer's value
            bound = min(bound, value) if model.sense == 1 else max(bound, value)
        return SolveResult(doc, "optimal" if proven else "feasible", bound=bound, info=details)

    @staticmethod
    def _run_highs(
        pm: Any, context: Context, gap: float, details: dict[str, Any]
    ) -> tuple[str, bool, Any, Any, bool] | None:
        """Solve with Pyomo's persistent HiGHS: (termination, has solution, incumbent, bound, optimal)."""
        from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

        opt = _v2_highs()()
        t0 = time.perf_counter()
        opt.set_instance(pm)
        details["transfer_s"] = round(time.perf_counter() - t0, 4)
        limit = context.remaining() - _margin(context)
        if limit < MIN_SOLVE_S:
            details["reason"] = (
                f"no time left for HiGHS after building ({details['build_s']}+"
                f"{details['pyomo_build_s']} s) and the transfer ({details['transfer_s']} s)"
            )
            return None
        no_updates = {
            "check_for_new_or_removed_constraints": False,
            "check_for_new_or_removed_vars": False,
            "check_for_new_or_removed_params": False,
            "check_for_new_objective": False,
            "update_constraints": False,
            "update_vars": False,
            "update_parameters": False,
            "update_named_expressions": False,
            "update_objective": False,
        }
        t1 = time.perf_counter()
        res = opt.solve(
            pm,
            time_limit=float(limit),
            threads=max(1, int(context.threads)),
            rel_gap=gap,
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
            auto_updates=no_updates,
            solver_options={"random_seed": int(context.seed) % 2147483647},
        )
        details["solve_call_s"] = round(time.perf_counter() - t1, 4)
        details["solve_s"] = _finite(getattr(res.timing_info, "highs_time", None))
        tc = res.termination_condition
        has = res.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
        if has:
            res.solution_loader.load_vars()
        return (
            tc.name,
            has,
            res.incumbent_objective,
            res.objective_bound,
            tc == TerminationCondition.convergenceCriteriaSatisfied,
        )

    @staticmethod
    def _run_shell(
        pm: Any, mip_solver: str, context: Context, gap: float, details: dict[str, Any]
    ) -> tuple[str, bool, Any, Any, bool] | None:
        """Solve with Pyomo's classic ``SolverFactory(mip_solver)`` (a file-based interface)."""
        import pyomo.environ as pyo
        from pyomo.opt import SolutionStatus, TerminationCondition

        opt = pyo.SolverFactory(mip_solver)
        limit = context.remaining() - _margin(context) - details["pyomo_build_s"]  # writing the file ~ building
        if limit < MIN_SOLVE_S:
            details["reason"] = (
                f"no time left for {mip_solver} after building ({details['build_s']}+{details['pyomo_build_s']} s)"
            )
            return None
        t_key, g_key, th_key, seed_key = _SHELL_OPTIONS[mip_solver]
        opt.options[t_key] = max(1, int(limit)) if mip_solver == "glpk" else float(limit)
        opt.options[g_key] = gap
        if th_key is not None:
            opt.options[th_key] = max(1, int(context.threads))
        if seed_key is not None:
            opt.options[seed_key] = int(context.seed) % 1000000
        t1 = time.perf_counter()
        res = opt.solve(pm, load_solutions=False, tee=False)
        call = time.perf_counter() - t1
        details["solve_call_s"] = round(call, 4)
        solver_time = _finite(getattr(res.solver, "wallclock_time", None)) or _finite(getattr(res.solver, "time", None))
        details["solve_s"] = solver_time
        details["transfer_s"] = None if solver_time is None else round(max(0.0, call - solver_time), 4)
        tc = res.solver.termination_condition
        sols = [
            s
            for s in res.solution
            if s.status
            in (
                SolutionStatus.optimal,
                SolutionStatus.feasible,
                SolutionStatus.bestSoFar,
                SolutionStatus.locallyOptimal,
                SolutionStatus.stoppedByLimit,
            )
        ]
        has = len(sols) > 0
        incumbent = bound = None
        if has:
            pm.solutions.load_from(res)
            incumbent = pyo.value(pm.obj)
        prob = res.problem[0] if len(res.problem) else None
        if prob is not None:
            minimise = pm.obj.sense == pyo.minimize
            bound = getattr(prob, "lower_bound" if minimise else "upper_bound", None)
        term = "infeasible" if tc == TerminationCondition.infeasible else str(tc)
        return term, has, incumbent, bound, tc == TerminationCondition.optimal
