"""Constructive heuristics (``solvers/heuristics.py``), called directly and graded by the validator."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from factories import feasible_allocation, feasible_batch, feasible_placement
from schedbench_solvers.baseline import RandomFeasible
from schedbench_solvers.heuristics import (
    EDD,
    WSPT,
    BestFitDecreasing,
    FirstFitDecreasing,
    ListECT,
    Regret,
    WaterFill,
)

from schedbench.generators import generate, generate_planted
from schedbench.importers import IMPORTERS
from schedbench.instances import load
from schedbench.plugins.solver import Context, SolveResult
from schedbench.validator import validate

ROOT = Path(__file__).resolve().parents[1]
SMOKE = sorted((ROOT / "instances" / "smoke").glob("*.json"))
FORMATS = ROOT / "tests" / "data" / "formats"
SOLVERS = (FirstFitDecreasing, BestFitDecreasing, Regret, ListECT, WSPT, EDD, WaterFill)
PLACEMENT = (FirstFitDecreasing, BestFitDecreasing, Regret)
BATCH = (ListECT, WSPT, EDD)


def run(solver_cls, inst, seed: int = 0) -> SolveResult:
    res = solver_cls().solve(inst, Context(30.0, seed, solver_cls.resolve_params({})))
    assert isinstance(res, SolveResult)
    return res


def check(inst, res: SolveResult, *, must_be_feasible: bool):
    """The answer is graded; a ``feasible`` claim must hold; an ``unknown`` one may only miss jobs."""
    assert res.solution is not None, res.info
    verdict = validate(inst, res.solution)
    if res.status == "feasible" or must_be_feasible:
        assert verdict.feasible, (inst.name, res.status, verdict.violation_counts, verdict.violations[:3])
        assert res.status == "feasible"
        assert verdict.objective is not None
    else:
        assert res.status == "unknown"
        assert set(verdict.violation_counts) == {"unplaced"}, verdict.violation_counts
    return verdict


def test_declarations():
    names = {s.name for s in SOLVERS}
    assert names == {"ffd", "bfd", "regret", "list-ect", "wspt", "edd", "waterfill"}
    for s in BATCH:
        assert set(s.problems["batch"]) == {"makespan", "weighted-completion", "weighted-tardiness"}
        assert s.deterministic


@pytest.mark.parametrize("path", SMOKE, ids=[p.stem for p in SMOKE])
def test_smoke_instances(path):
    inst = load(path)
    ran = 0
    for s in SOLVERS:
        if s().supports(inst):
            check(inst, run(s, inst), must_be_feasible=s not in PLACEMENT or inst.problem.objective == "max-weight")
            ran += 1
    if inst.problem.cls in ("placement", "batch", "allocation") and inst.problem.objective != "max-throughput":
        assert ran or inst.problem.cls == "allocation"


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("objective", ["min-cost", "min-gpus", "max-weight"])
def test_placement_random_instances(seed, objective):
    inst, _ = feasible_placement(seed, objective, n=15, slack=1.5)
    for s in PLACEMENT:
        if s().supports(inst):
            check(inst, run(s, inst), must_be_feasible=objective == "max-weight")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("objective", ["min-cost", "min-gpus", "max-weight"])
def test_placement_planted_instances_are_solved(seed, objective):
    inst, _ = generate_planted("placement", {"jobs": 60, "objective": objective}, seed=seed)
    for s in PLACEMENT:
        if s().supports(inst):
            # feasible by construction; the heuristics find a complete answer on these seeds
            check(inst, run(s, inst), must_be_feasible=True)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("objective", ["makespan", "weighted-completion", "weighted-tardiness"])
def test_batch_always_feasible(seed, objective):
    inst, _ = feasible_batch(seed, objective, n=20)
    for s in BATCH:
        check(inst, run(s, inst), must_be_feasible=True)


@pytest.mark.parametrize("objective", ["makespan", "weighted-completion", "weighted-tardiness"])
def test_batch_generated(objective):
    inst = generate("batch", {"jobs": 80, "objective": objective}, seed=2)
    values = {s.name: check(inst, run(s, inst), must_be_feasible=True).objective for s in BATCH}
    if objective == "weighted-completion":
        assert values["wspt"] <= 1.5 * min(values.values())


def test_batch_releases_respected():
    inst, _ = feasible_batch(3, "makespan", n=25)
    res = run(ListECT, inst)
    check(inst, res, must_be_feasible=True)
    for jid, entry in res.solution["schedule"].items():
        assert entry["start"] >= inst.jobs.release[inst.jobs.index[jid]]


def test_formats_gap_and_rcmax():
    for inst in IMPORTERS["orlib-gap"].read(FORMATS / "orlib" / "tiny.txt"):
        for s in PLACEMENT:
            check(inst, run(s, inst), must_be_feasible=False)
        # regret reaches the known optimum on the tiny sample
        known = inst.metadata.get("known", {}).get("optimum")
        if known is not None:
            assert validate(inst, run(Regret, inst).solution).objective == known
    for inst in IMPORTERS["rcmax"].read(FORMATS / "rcmax" / "instancias1a100" / "7.txt"):
        for s in BATCH:
            check(inst, run(s, inst), must_be_feasible=True)


def test_regret_on_gap_prefers_cheap_answers():
    # a loose GAP: every job fits anywhere, so regret must give each job its cheapest agent
    from schedbench.importers.gap import gap_instance

    rng = np.random.default_rng(0)
    cost = rng.integers(1, 50, (4, 30)).astype(float)
    inst = gap_instance(cost, np.ones((4, 30)), np.full(4, 30.0), name="loose")
    v = check(inst, run(Regret, inst), must_be_feasible=True)
    assert v.objective == cost.min(axis=0).sum()


def test_determinism_and_no_mutation():
    inst, _ = feasible_batch(1, "weighted-tardiness", n=20)
    before = inst.jobs.time.copy()
    for s in BATCH:
        assert run(s, inst, seed=1).solution == run(s, inst, seed=2).solution
    assert np.array_equal(before, inst.jobs.time, equal_nan=True)
    pinst, _ = feasible_placement(2, "min-cost", n=15, slack=1.3)
    for s in PLACEMENT:
        assert run(s, pinst, seed=1).solution == run(s, pinst, seed=5).solution


@pytest.mark.parametrize("seed", range(8))
def test_waterfill_beats_random_feasible_allocations(seed):
    inst, sol = feasible_allocation(seed, "max-min-fairness", n=12)
    v = check(inst, run(WaterFill, inst), must_be_feasible=True)
    assert v.objective >= validate(inst, sol).objective - 1e-9
    for rs in range(3):
        rnd = RandomFeasible().solve(inst, Context(10, rs, RandomFeasible.resolve_params({})))
        assert v.objective >= validate(inst, rnd.solution).objective - 1e-9


def test_waterfill_generated_and_gangs():
    for seed in range(3):
        inst = generate("allocation", {"jobs": 40, "objective": "max-min-fairness"}, seed=seed)
        v = check(inst, run(WaterFill, inst), must_be_feasible=True)
        rnd = RandomFeasible().solve(inst, Context(10, 0, RandomFeasible.resolve_params({})))
        assert v.objective >= validate(inst, rnd.solution).objective - 1e-9


def test_speed_10000_jobs():
    inst = generate("batch", {"jobs": 10000, "objective": "makespan"}, seed=0)
    t = time.perf_counter()
    check(inst, run(ListECT, inst), must_be_feasible=True)
    assert time.perf_counter() - t < 10.0
