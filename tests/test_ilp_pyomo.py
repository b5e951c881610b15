"""ilp-pyomo: the same model as ilp-highs (checked matrix against Pyomo model), the same optima, answers
validated, missing MIP solvers reported, the time budget honoured."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("highspy")
pytest.importorskip("pyomo")

from factories import feasible_batch, feasible_placement
from schedbench_solvers import _highs as hx
from schedbench_solvers import ilp_pyomo
from schedbench_solvers.ilp import IlpHighs
from schedbench_solvers.ilp_pyomo import IlpPyomo, availability, pyomo_model

from schedbench.importers.gap import gap_instance
from schedbench.instances import GpuType, Instance, Jobs, Node, Problem, Resource, load, make_instance, save
from schedbench.plugins.solver import Context
from schedbench.runner.execute import execute
from schedbench.runs import RunTask
from schedbench.validator import validate

SMOKE = Path(__file__).resolve().parents[1] / "instances" / "smoke"


def run(solver, inst: Instance, limit: float = 20.0, **params):
    return solver().solve(inst, Context(limit, 0, solver.resolve_params(params)))


def checked(inst: Instance, res) -> float:
    """Validate the answer; it must be feasible and its claimed objective the validator's."""
    assert res.solution is not None, res.info
    v = validate(inst, res.solution)
    assert v.feasible, v.violations
    assert v.objective == pytest.approx(res.solution["objective"], rel=1e-9, abs=1e-9)
    return float(v.objective)


def with_problem(inst: Instance, cls: str, objective: str, gpu_types=None, **params) -> Instance:
    return make_instance(
        resources=inst.resources,
        gpu_types=gpu_types or inst.gpu_types,
        nodes=inst.nodes,
        jobs=inst.jobs,
        problem=Problem(cls, objective, params),
        metadata={"name": inst.name},
    )


def tiny_gap(seed: int, m: int = 3, n: int = 6, tight: float = 0.8) -> Instance:
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 30, (m, n)).astype(float)
    use = rng.integers(1, 10, (m, n)).astype(float)
    cap = np.full(m, float(use.sum() / m * tight)).round()
    return gap_instance(cost, use, cap, name=f"tiny-gap-{seed}")


def brute_placement(inst: Instance) -> float | None:
    """Optimum of a gang-1 placement instance by enumeration (None: infeasible)."""
    obj = inst.problem.objective
    options = range(-1, inst.n_gpus) if obj == "max-weight" else range(inst.n_gpus)
    best = None
    for combo in itertools.product(options, repeat=inst.n_jobs):
        doc = {
            "problem": "placement",
            "assignment": {inst.jobs.ids[j]: None if g < 0 else [inst.gpu_ids[g]] for j, g in enumerate(combo)},
        }
        v = validate(inst, doc)
        if (
            v.feasible
            and v.objective is not None
            and (best is None or (v.objective > best if obj == "max-weight" else v.objective < best))
        ):
            best = v.objective
    return best


def tiny_rcmax(seed: int, n: int = 6, m: int = 3) -> Instance:
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 40, (n, m)).astype(float)
    jobs = Jobs.build([f"j{i}" for i in range(n)], np.ones((n, m, 1)), time=time)
    return make_instance(
        resources=[Resource("r")],
        gpu_types=[GpuType(f"m{i}", {"r": 1.0}) for i in range(m)],
        nodes=[Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m)],
        jobs=jobs,
        problem=Problem("batch", "makespan"),
        metadata={"name": f"tiny-rcmax-{seed}"},
    )


def gang1(inst: Instance) -> Instance:
    jobs = inst.jobs
    one = Jobs.build(jobs.ids, jobs.demand, eligible=jobs.eligible, cost=jobs.cost, weight=jobs.weight, time=jobs.time)
    return make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=one,
        problem=inst.problem,
        metadata={"name": inst.name},
    )


def same_answer(inst: Instance, **params) -> float:
    """ilp-pyomo and ilp-highs both prove the same optimum of a feasible ``inst``; returns it.
    (Infeasible instances: test_job_fitting_no_gpu_is_infeasible.)"""
    ref = run(IlpHighs, inst)
    res = run(IlpPyomo, inst, **params)
    assert ref.status == "optimal" and res.status == "optimal", (ref.info, res.info)
    value = checked(inst, res)
    assert value == pytest.approx(checked(inst, ref), rel=1e-9, abs=1e-9)
    assert res.bound == pytest.approx(value, rel=1e-6, abs=1e-6)
    for key in ("build_s", "pyomo_build_s", "transfer_s", "solve_s", "solve_call_s", "mip_gap", "termination"):
        assert key in res.info, key
    assert res.info["mip_solver"] == params.get("mip_solver", "highs")
    return value


# ---------------------------------------------------------------------------------- identical model
def matrix_of(pm, ncol: int, nrow: int):
    """Rebuild (A, row bounds, cost, column bounds, integrality) from the Pyomo model."""
    import pyomo.environ as pyo
    from pyomo.repn import generate_standard_repn

    pos = {id(v): i for i, v in enumerate(pm.x[i] for i in range(ncol))}
    A = np.zeros((nrow, ncol))
    lo, up = np.full(nrow, -np.inf), np.full(nrow, np.inf)
    for i, c in pm.rows.items():
        repn = generate_standard_repn(c.body)
        assert repn.is_linear() and repn.constant == 0
        for coef, v in zip(repn.linear_coefs, repn.linear_vars, strict=True):
            A[i, pos[id(v)]] += coef
        lo[i] = -np.inf if c.lower is None else pyo.value(c.lower)
        up[i] = np.inf if c.upper is None else pyo.value(c.upper)
    repn = generate_standard_repn(pm.obj.expr)
    cost = np.zeros(ncol)
    for coef, v in zip(repn.linear_coefs, repn.linear_vars, strict=True):
        cost[pos[id(v)]] += coef
    cl = np.array([-np.inf if pm.x[i].lb is None else pm.x[i].lb for i in range(ncol)])
    cu = np.array([np.inf if pm.x[i].ub is None else pm.x[i].ub for i in range(ncol)])
    integ = np.array([pm.x[i].is_integer() for i in range(ncol)], dtype=np.int32)
    return A, lo, up, cost, cl, cu, integ


@pytest.mark.parametrize("case", ["min-cost", "max-weight", "min-gpus", "makespan", "gang"])
def test_pyomo_model_is_the_matrix_model(case):
    import pyomo.environ as pyo

    if case == "makespan":
        inst = tiny_rcmax(3)
    elif case == "gang":
        inst = feasible_placement(2, "min-cost", n=9)[0]
        assert (inst.jobs.gang > 1).any()
    else:
        inst = with_problem(gang1(feasible_placement(2, "min-cost", n=9)[0]), "placement", case)
    m = hx.build(inst, integer=True)
    pm, xs = pyomo_model(m)
    nrow, ncol = m.A.shape
    assert len(xs) == ncol and list(pm.x.values()) == xs
    A, lo, up, cost, cl, cu, integ = matrix_of(pm, ncol, nrow)
    nonempty = np.diff(m.A.tocsr().indptr) > 0
    assert len(pm.rows) == int(nonempty.sum())
    np.testing.assert_array_equal(A, m.A.toarray())
    np.testing.assert_array_equal(lo[nonempty], m.row_lower[nonempty])
    np.testing.assert_array_equal(up[nonempty], m.row_upper[nonempty])
    np.testing.assert_array_equal(cost, m.cost)
    np.testing.assert_array_equal(cl, m.col_lower)
    np.testing.assert_array_equal(cu, m.col_upper)
    np.testing.assert_array_equal(integ, m.integrality)
    assert pm.obj.sense == (pyo.minimize if m.sense == 1 else pyo.maximize)


# ---------------------------------------------------------------------------------- same optima
@pytest.mark.parametrize("seed", range(4))
def test_gap_same_optimum_as_ilp_highs_and_brute_force(seed):
    inst = tiny_gap(seed)
    value, opt = same_answer(inst), brute_placement(inst)
    assert opt is not None and value == pytest.approx(opt)


@pytest.mark.parametrize("seed", range(3))
def test_max_weight_and_min_gpus_same_optimum(seed):
    for objective, tight in (("max-weight", 0.15), ("min-gpus", 0.8)):
        inst = with_problem(tiny_gap(seed + 10, m=3, n=5, tight=tight), "placement", objective)
        value, opt = same_answer(inst), brute_placement(inst)
        assert opt is not None and value == pytest.approx(opt)


def test_min_gpus_priced_by_cost_per_hour():
    inst = gang1(feasible_placement(4, "min-gpus", n=10, slack=1.3)[0])
    priced = tuple(dataclasses.replace(t, cost_per_hour=1.5 + k) for k, t in enumerate(inst.gpu_types))
    same_answer(with_problem(inst, "placement", "min-gpus", gpu_types=priced, measure="cost"))


@pytest.mark.parametrize("seed", range(3))
def test_multiresource_placements_same_optimum(seed):
    inst = gang1(feasible_placement(seed, "min-cost", n=14, slack=1.2)[0])
    for objective in ("min-cost", "max-weight", "min-gpus"):
        same_answer(with_problem(inst, "placement", objective))


@pytest.mark.parametrize("seed", range(3))
def test_rcmax_same_optimum(seed):
    same_answer(tiny_rcmax(seed))


def test_job_fitting_no_gpu_is_infeasible():
    inst = tiny_gap(0)
    demand = inst.jobs.demand.copy()
    demand[0] = 1e6  # eligible everywhere, fits nowhere
    jobs = Jobs.build(inst.jobs.ids, demand, eligible=inst.jobs.eligible, cost=inst.jobs.cost)
    bad = make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=jobs,
        problem=inst.problem,
        metadata={"name": "no-gpu"},
    )
    res = run(IlpPyomo, bad)
    assert res.status == "infeasible" and res.solution is None and "no columns" in res.info["reason"]
    assert run(IlpHighs, bad).status == "infeasible"


# ---------------------------------------------------------------------------------- other MIP solvers
@pytest.mark.parametrize("mip_solver", ["cbc", "glpk", "scip", "gurobi", "cplex"])
def test_other_mip_solver_same_optimum_or_clear_unavailable(mip_solver):
    missing = availability(mip_solver)
    inst = tiny_gap(1)
    if missing is not None:
        res = run(IlpPyomo, inst, mip_solver=mip_solver)
        assert res.status == "unknown" and res.solution is None
        assert res.info["reason"] == missing and mip_solver in missing and "not available" in missing
        return
    same_answer(inst, mip_solver=mip_solver)
    same_answer(tiny_rcmax(2), mip_solver=mip_solver)
    same_answer(with_problem(tiny_gap(11, m=3, n=5, tight=0.15), "placement", "max-weight"), mip_solver=mip_solver)


def test_missing_solver_through_the_harness(tmp_path):
    name = next((s for s in ("cplex", "gurobi", "scip", "glpk", "cbc") if availability(s) is not None), None)
    if name is None:
        pytest.skip("every MIP solver is installed here")
    inst = tiny_gap(2)
    path = tmp_path / "inst.json"
    digest = save(inst, path)
    rec = execute(
        RunTask(
            instance_path=str(path),
            instance_hash=digest,
            instance_name=inst.name,
            solver="ilp-pyomo",
            solver_version="1",
            params={"mip_solver": name},
            seed=0,
            time_limit=20.0,
        )
    )
    assert rec.status == "unknown", (rec.status, rec.reason)
    assert name in str(rec.reason) or name in str(rec.info), (rec.reason, rec.info)
    with pytest.raises(ValueError, match="mip_solver"):
        IlpPyomo.resolve_params({"mip_solver": "not-a-solver"})


def test_runs_through_the_harness(tmp_path):
    inst = tiny_rcmax(4)
    path = tmp_path / "inst.json"
    digest = save(inst, path)
    rec = execute(
        RunTask(
            instance_path=str(path),
            instance_hash=digest,
            instance_name=inst.name,
            solver="ilp-pyomo",
            solver_version="1",
            params={},
            seed=0,
            time_limit=20.0,
        )
    )
    assert rec.status == "optimal" and rec.feasible and not rec.flags, (rec.status, rec.reason, rec.flags)


# ---------------------------------------------------------------------------------- declining, time budget
def test_declines_what_ilp_highs_declines():
    cases = [load(path) for path in sorted(SMOKE.glob("*.json"))]
    cases += [
        feasible_batch(seed, objective)[0] for seed in range(3) for objective in ("makespan", "weighted-completion")
    ]
    declined = 0
    for inst in cases:
        ours = IlpPyomo.unsupported_reason(inst)
        if inst.problem.objective in IlpPyomo.problems.get(inst.problem.cls, ()):
            assert (ours is None) == (IlpHighs.unsupported_reason(inst) is None), inst.name
        else:
            assert ours is not None, inst.name
        if ours is not None:
            declined += 1
            res = run(IlpPyomo, inst)
            assert res.status == "unknown" and res.solution is None and res.info["reason"] == ours
    assert declined >= 3  # batch makespan with releases (feasible_batch draws them), allocation, online


@pytest.mark.parametrize("seed", range(3))
def test_gang_placements_same_optimum_where_ilp_highs_models_them(seed):
    inst, _ = feasible_placement(seed, "min-cost", n=8, slack=1.2)
    assert (inst.jobs.gang > 1).any()
    for objective in ("min-cost", "max-weight", "min-gpus"):
        one = with_problem(inst, "placement", objective)
        assert IlpHighs.unsupported_reason(one) is None and IlpPyomo.unsupported_reason(one) is None
        same_answer(one)


class SteppingClock:
    """A clock that advances ``step`` seconds at each reading."""

    def __init__(self, step: float) -> None:
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def test_no_time_left_after_building_gives_unknown_with_timings():
    ctx = Context(2.0, 0, IlpPyomo.resolve_params({}), clock=SteppingClock(5.0))
    res = IlpPyomo().solve(tiny_gap(0), ctx)
    assert res.status == "unknown" and res.solution is None
    assert "no time left" in res.info["reason"]
    for key in ("build_s", "pyomo_build_s", "transfer_s"):
        assert key in res.info


def test_time_limit_passed_to_the_mip_solver_excludes_building(monkeypatch):
    seen: dict[str, float] = {}
    real = ilp_pyomo._v2_highs()

    class Spy(real):
        def solve(self, model, **kwds):
            seen["time_limit"] = kwds["time_limit"]
            seen["threads"] = kwds["threads"]
            return super().solve(model, **kwds)

    monkeypatch.setattr(ilp_pyomo, "_v2_highs", lambda: Spy)
    clock = SteppingClock(0.25)
    ctx = Context(30.0, 0, IlpPyomo.resolve_params({}), threads=1, clock=clock)
    res = IlpPyomo().solve(tiny_gap(3), ctx)
    assert res.status == "optimal", res.info  # tiny_gap(3) is feasible
    margin = ilp_pyomo._margin(ctx)
    # the limit was computed after at least one clock reading past the start, minus the margin
    assert 0 < seen["time_limit"] <= 30.0 - 0.25 - margin + 1e-9
    assert seen["threads"] == 1
