"""ilp-highs, lp-round, lp-allocation (HiGHS) and export_model: answers validated, optima brute-forced."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("highspy")

from factories import feasible_allocation, feasible_placement
from schedbench_solvers.ilp import IlpHighs
from schedbench_solvers.lp import LpAllocation, LpRound

from schedbench.export_model import export_model, export_model_command
from schedbench.importers import IMPORTERS
from schedbench.importers.gap import gap_instance
from schedbench.instances import GpuType, Instance, Jobs, Node, Problem, Resource, make_instance, save
from schedbench.runner.execute import execute
from schedbench.runner.record import RunTask
from schedbench.solver import Context
from schedbench.validator import validate

EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"


def run(solver, inst: Instance, limit: float = 20.0):
    return solver().solve(inst, Context(limit, 0, solver.resolve_params({})))


def checked(inst: Instance, res) -> float:
    """Validate the answer; it must be feasible and its claimed objective the validator's."""
    assert res.solution is not None, res.info
    v = validate(inst, res.solution)
    assert v.feasible, v.violations
    assert v.objective == pytest.approx(res.solution["objective"], rel=1e-9, abs=1e-9)
    return float(v.objective)


def with_problem(inst: Instance, cls: str, objective: str, **params) -> Instance:
    return make_instance(resources=inst.resources, gpu_types=inst.gpu_types, nodes=inst.nodes, jobs=inst.jobs,
                         problem=Problem(cls, objective, params), metadata={"name": inst.name})


def tiny_gap(seed: int, m: int = 3, n: int = 6, tight: float = 0.8) -> Instance:
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 30, (m, n)).astype(float)
    use = rng.integers(1, 10, (m, n)).astype(float)
    cap = np.full(m, float(use.sum() / m * tight)).round()
    return gap_instance(cost, use, cap, name=f"tiny-gap-{seed}")


def brute_placement(inst: Instance) -> float | None:
    """Optimum of a gang-1 single-GPU-per-agent instance by enumeration (None: infeasible)."""
    n, G = inst.n_jobs, inst.n_gpus
    obj = inst.problem.objective
    options = range(-1, G) if obj == "max-weight" else range(G)
    best = None
    for combo in itertools.product(options, repeat=n):
        gpu = np.array(combo)
        doc = {"problem": "placement", "assignment": {inst.jobs.ids[j]: None if g < 0 else [inst.gpu_ids[g]]
                                                      for j, g in enumerate(combo)}}
        v = validate(inst, doc)
        if not v.feasible or v.objective is None:
            continue
        del gpu
        if best is None or (v.objective > best if obj == "max-weight" else v.objective < best):
            best = v.objective
    return best


def tiny_rcmax(seed: int, n: int = 6, m: int = 3) -> Instance:
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 40, (n, m)).astype(float)
    jobs = Jobs.build([f"j{i}" for i in range(n)], np.ones((n, m, 1)), time=time)
    return make_instance(resources=[Resource("r")], gpu_types=[GpuType(f"m{i}", {"r": 1.0}) for i in range(m)],
                         nodes=[Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m)], jobs=jobs,
                         problem=Problem("batch", "makespan"), metadata={"name": f"tiny-rcmax-{seed}"})


def brute_rcmax(inst: Instance) -> float:
    t = inst.jobs.time
    best = np.inf
    for combo in itertools.product(range(inst.n_gpus), repeat=inst.n_jobs):
        load = np.zeros(inst.n_gpus)
        for j, g in enumerate(combo):
            load[g] += t[j, g]
        best = min(best, load.max())
    return float(best)


# ---------------------------------------------------------------------------------- ilp-highs
@pytest.mark.parametrize("seed", range(4))
def test_ilp_gap_matches_brute_force_and_lp_bound(seed):
    inst = tiny_gap(seed)
    opt = brute_placement(inst)
    res = run(IlpHighs, inst)
    if opt is None:
        assert res.status == "infeasible" and res.solution is None
        return
    assert res.status == "optimal"
    assert checked(inst, res) == pytest.approx(opt)
    assert res.bound <= opt + 1e-6
    for key in ("build_s", "solve_s", "mip_gap", "nodes"):
        assert key in res.info
    lp = run(LpRound, inst)
    assert lp.bound is not None and lp.bound <= opt + 1e-6
    if lp.solution is not None:
        assert checked(inst, lp) >= opt - 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_ilp_max_weight_and_min_gpus_match_brute_force(seed):
    for objective, tight in (("max-weight", 0.15), ("min-gpus", 0.8)):
        inst = with_problem(tiny_gap(seed + 10, m=3, n=5, tight=tight), "placement", objective)
        opt = brute_placement(inst)
        res = run(IlpHighs, inst)
        if opt is None:
            assert res.status == "infeasible"
            continue
        assert res.status == "optimal", res.info
        assert checked(inst, res) == pytest.approx(opt)


def test_incumbents_reported_and_time_limit_respected():
    import time

    rng = np.random.default_rng(7)
    m, n = 10, 120
    use = rng.integers(5, 25, (m, n)).astype(float)
    inst = gap_instance(rng.integers(10, 50, (m, n)).astype(float), use, np.full(m, float(use.sum() / m * 0.85)),
                        name="mid-gap")
    reports = []
    ctx = Context(3.0, 0, IlpHighs.resolve_params({}), reporter=lambda sol, bound: reports.append((sol, bound)))
    t0 = time.monotonic()
    res = IlpHighs().solve(inst, ctx)
    assert time.monotonic() - t0 < 3.0
    assert res.status in ("optimal", "feasible")
    value = checked(inst, res)
    assert res.bound <= value + 1e-6
    assert reports and res.info["incumbents_reported"] == len(reports)
    for sol, bound in reports:
        v = validate(inst, sol)
        assert v.feasible and (bound is None or bound <= v.objective + 1e-6)


def test_bulk_build_is_fast():
    import time

    rng = np.random.default_rng(0)
    m, n = 100, 5000
    use = rng.integers(5, 25, (m, n)).astype(float)
    inst = gap_instance(rng.integers(10, 50, (m, n)).astype(float), use, np.full(m, float(use.sum() / m)), name="big")
    from schedbench_solvers import _highs as hx

    t0 = time.perf_counter()
    model = hx.build(inst)
    h = hx.new_highs(time_limit=None, threads=1, seed=0)
    hx.pass_model(h, model)
    assert model.A.shape == (n + m, n * m) and model.integrality.sum() == n * m
    assert time.perf_counter() - t0 < 3.0  # ~0.15 s on the development machine


@pytest.mark.parametrize("seed", range(4))
def test_ilp_and_lp_round_rcmax(seed):
    inst = tiny_rcmax(seed)
    opt = brute_rcmax(inst)
    res = run(IlpHighs, inst)
    assert res.status == "optimal"
    assert checked(inst, res) == pytest.approx(opt)
    lp = run(LpRound, inst)
    assert lp.bound <= opt + 1e-6
    assert checked(inst, lp) >= opt - 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_ilp_random_multiresource_placements(seed):
    inst, _ = feasible_placement(seed, "min-cost", n=14, slack=1.2)
    gang1 = Jobs.build(inst.jobs.ids, inst.jobs.demand, eligible=inst.jobs.eligible, cost=inst.jobs.cost,
                       weight=inst.jobs.weight, time=inst.jobs.time)
    inst = make_instance(resources=inst.resources, gpu_types=inst.gpu_types, nodes=inst.nodes, jobs=gang1,
                         problem=inst.problem, metadata={"name": inst.name})
    for objective in ("min-cost", "max-weight", "min-gpus"):
        one = with_problem(inst, "placement", objective)
        res = run(IlpHighs, one)
        if res.status == "infeasible":
            continue
        assert res.status == "optimal", res.info
        checked(one, res)


def test_gang_above_one_is_declined_with_a_reason():
    for seed in range(10):
        inst, _ = feasible_placement(seed, "min-cost", n=10)
        if (inst.jobs.gang > 1).any():
            break
    else:
        pytest.skip("no gang > 1 job drawn")
    for solver in (IlpHighs, LpRound):
        res = run(solver, inst)
        assert res.status == "unknown" and res.solution is None
        assert "gang" in res.info["reason"]


def test_nonzero_release_is_declined():
    inst = tiny_rcmax(0)
    j = inst.jobs
    jobs = Jobs.build(j.ids, j.demand, time=j.time, release=np.arange(inst.n_jobs, dtype=float))
    inst = make_instance(resources=inst.resources, gpu_types=inst.gpu_types, nodes=inst.nodes, jobs=jobs,
                         problem=inst.problem, metadata={"name": "released"})
    res = run(IlpHighs, inst)
    assert res.status == "unknown" and "release" in res.info["reason"]


def test_sample_orlib_file():
    path = Path(__file__).parent / "data" / "formats" / "orlib" / "tiny.txt"
    for inst in IMPORTERS["orlib-gap"].read(path):
        res = run(IlpHighs, inst)
        known = inst.metadata.get("known", {}).get("optimum")
        if res.status == "infeasible":
            assert known is None
            continue
        value = checked(inst, res)
        assert res.status == "optimal"
        if known is not None:
            assert value == pytest.approx(known)


# ---------------------------------------------------------------------------------- lp-allocation
@pytest.mark.parametrize("seed", range(4))
def test_lp_allocation_beats_random_feasible_allocations(seed):
    for objective in ("max-min-fairness", "max-throughput"):
        inst, sample = feasible_allocation(seed, objective)
        res = run(LpAllocation, inst)
        assert res.status == "optimal"
        value = checked(inst, res)
        assert value == pytest.approx(res.info["lp_value"], rel=1e-7, abs=1e-9)
        rng = np.random.default_rng(seed)
        others = [validate(inst, sample).objective]
        counts = inst.gpus_per_type
        ok = inst.jobs.eligible & (counts[None, :] >= inst.jobs.gang[:, None])
        for _ in range(30):
            x = rng.random(ok.shape) * ok
            x /= np.maximum(1.0, x.sum(axis=1, keepdims=True))
            used = inst.jobs.gang @ x
            x *= min(1.0, float(np.min(counts / np.maximum(used, 1e-12))))
            doc = {"problem": "allocation", "allocation": {
                jid: {inst.type_ids[t]: float(x[j, t]) for t in np.flatnonzero(x[j] > 0)}
                for j, jid in enumerate(inst.jobs.ids)}}
            v = validate(inst, doc)
            assert v.feasible
            others.append(v.objective)
        assert value >= max(others) - 1e-9


def test_lp_allocation_ipm_agrees_with_simplex():
    inst, _ = feasible_allocation(3, "max-min-fairness", n=30)
    a = LpAllocation().solve(inst, Context(20, 0, LpAllocation.resolve_params({"method": "simplex"})))
    b = LpAllocation().solve(inst, Context(20, 0, LpAllocation.resolve_params({"method": "ipm"})))
    assert checked(inst, a) == pytest.approx(checked(inst, b), rel=1e-6)


# ---------------------------------------------------------------------------------- export, harness
@pytest.mark.parametrize("fmt", ["mps", "lp"])
def test_export_model_roundtrip(tmp_path, fmt):
    import highspy

    inst = tiny_gap(1)
    out = export_model(inst, tmp_path / f"m.{fmt}.txt", fmt)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    src = tmp_path / f"copy.{fmt}"
    src.write_bytes(out.read_bytes())
    h.readModel(str(src))
    h.run()
    opt = brute_placement(inst)
    if opt is not None:
        assert h.getInfo().objective_function_value == pytest.approx(opt)
    inst_file = tmp_path / "inst.json"
    save(inst, inst_file)
    assert export_model_command(inst_file, fmt, tmp_path / "cmd.out") == 0
    assert (tmp_path / "cmd.out").stat().st_size > 0
    assert export_model_command(inst_file, "xls", tmp_path / "bad.out") == 1


def test_solvers_run_through_the_harness(tmp_path):
    cases = [("ilp-highs", tiny_gap(0)), ("lp-round", tiny_rcmax(1)),
             ("lp-allocation", feasible_allocation(0)[0])]
    for solver, inst in cases:
        path = tmp_path / f"{solver}.json"
        digest = save(inst, path)
        rec = execute(RunTask(instance_path=str(path), instance_hash=digest, instance_name=inst.name, solver=solver,
                              solver_version="1", params={}, seed=0, time_limit=20.0))
        assert rec.status in ("optimal", "feasible", "infeasible"), (solver, rec.status, rec.reason)
        assert not rec.flags, (solver, rec.flags, rec.reason)
        if rec.status != "infeasible":
            assert rec.feasible


# ---------------------------------------------------------------------------------- external data
@pytest.mark.external
@pytest.mark.skipif(not (EXTERNAL / "gap_orlib" / "gap1.txt").exists(), reason="shared/external data absent")
def test_gap1_solved_to_known_optima():
    insts = IMPORTERS["orlib-gap"].read(EXTERNAL / "gap_orlib" / "gap1.txt")
    assert len(insts) == 5
    for inst in insts:
        res = run(IlpHighs, inst, limit=30.0)
        assert res.status == "optimal"
        assert checked(inst, res) == pytest.approx(inst.metadata["known"]["optimum"])
