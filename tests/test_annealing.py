"""Simulated annealing ``sa`` (``solvers/annealing.py``): validity, determinism, anytime reports."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from factories import feasible_batch, feasible_placement
from schedbench_solvers.annealing import SimulatedAnnealing
from schedbench_solvers.heuristics import ListECT

from schedbench.importers import IMPORTERS
from schedbench.importers.gap import gap_instance
from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, load, make_instance
from schedbench.plugins.solver import Context
from schedbench.validator import validate

ROOT = Path(__file__).resolve().parents[1]
SMOKE = sorted((ROOT / "instances" / "smoke").glob("*.json"))
FORMATS = ROOT / "tests" / "data" / "formats"
EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"


def solve(inst, seed: int = 0, moves: int = 20_000, time_limit: float = 30.0, **params):
    reports: list[float | None] = []

    def reporter(sol, bound):
        v = validate(inst, sol)
        assert v.feasible, v.violation_counts
        reports.append(v.objective)

    ctx = Context(
        time_limit, seed, SimulatedAnnealing.resolve_params({"max_moves": moves, **params}), reporter=reporter
    )
    res = SimulatedAnnealing().solve(inst, ctx)
    return res, reports


def graded(inst, res):
    assert res.status == "feasible", res.info
    v = validate(inst, res.solution)
    assert v.feasible, (inst.name, v.violation_counts, v.violations[:3])
    assert v.objective == pytest.approx(res.info["objective"], rel=1e-9, abs=1e-9)
    return v


def random_gap(n: int, m: int, seed: int, tight: float = 0.8):
    rng = np.random.default_rng(seed)
    use = rng.integers(5, 26, (m, n)).astype(float)
    cost = rng.integers(10, 51, (m, n)).astype(float)
    cap = np.maximum(tight * use.sum(axis=1) / m, use.max(axis=1))
    return gap_instance(cost, use, cap, name=f"rand-gap-{seed}")


def random_rcmax(n: int, m: int, seed: int):
    rng = np.random.default_rng(seed)
    types = tuple(GpuType(f"m{i}", {"compute": 1.0}) for i in range(m))
    nodes = tuple(Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m))
    elig = rng.random((n, m)) < 0.8
    elig[np.arange(n), rng.integers(0, m, n)] = True
    jobs = Jobs.build(
        [f"j{k}" for k in range(n)], np.ones((n, m, 1)), eligible=elig, time=rng.integers(1, 100, (n, m)).astype(float)
    )
    return make_instance(
        resources=(Resource("compute"),),
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("batch", "makespan"),
        metadata={"name": f"rand-rcmax-{seed}"},
    )


def test_anneals_and_falls_back():
    assert SimulatedAnnealing.anneals(random_gap(10, 3, 0))
    assert SimulatedAnnealing.anneals(random_rcmax(10, 3, 0))
    binst, _ = feasible_batch(0, "makespan")  # releases > 0
    pinst, _ = feasible_placement(0, "min-cost", slack=1.5)  # two resources
    for inst in (binst, pinst):
        assert not SimulatedAnnealing.anneals(inst)
        assert "anneals GAP-like" in SimulatedAnnealing.unsupported_reason(inst)
        res, reports = solve(inst)
        assert res.info["annealed"] is False
        assert res.status == "feasible", res.info  # the fallback heuristic's answer, reported once
        assert validate(inst, res.solution).feasible
        assert len(reports) == 1


SUPPORTED = [p for p in SMOKE if SimulatedAnnealing().supports(load(p))]


def test_smoke_instances_declined_are_exactly_the_undeclared_classes():
    """The smoke instances left out of test_smoke_instances are those of undeclared problems, and the
    solver declines them with a reason (so no parameter combination is silently skipped)."""
    declined = [load(p) for p in SMOKE if p not in SUPPORTED]
    assert {(i.problem.cls, i.problem.objective) for i in declined} == {
        ("batch", "weighted-tardiness"),
        ("batch", "weighted-completion"),
        ("online", "mean-jct"),
        ("placement", "min-gpus"),
        ("placement", "max-weight"),
        ("allocation", "max-min-fairness"),
    }
    for inst in declined:
        assert SimulatedAnnealing.unsupported_reason(inst), inst.name


@pytest.mark.parametrize("path", SUPPORTED, ids=[p.stem for p in SUPPORTED])
def test_smoke_instances(path):
    inst = load(path)
    res, reports = solve(inst)
    v = validate(inst, res.solution)
    assert v.feasible, v.violation_counts
    if res.info["annealed"]:
        graded(inst, res)
    assert all(b < a for a, b in itertools.pairwise(reports)), reports
    assert reports[-1] == v.objective


@pytest.mark.parametrize("seed", range(5))
def test_gap_random_feasible_monotone_deterministic(seed):
    inst = random_gap(40, 5, seed)
    res, reports = solve(inst, seed=seed)
    v = graded(inst, res)
    assert reports, "the initial or an improved answer is reported"
    assert all(b < a for a, b in itertools.pairwise(reports)), reports
    assert reports[-1] == v.objective
    again, _ = solve(inst, seed=seed)
    assert again.solution == res.solution
    assert again.info["moves"] == res.info["moves"] == 20_000


@pytest.mark.parametrize("energy", ["target", "cmax"])
@pytest.mark.parametrize("seed", range(5))
def test_rcmax_random_feasible_monotone_deterministic(seed, energy):
    inst = random_rcmax(40, 6, seed)
    res, reports = solve(inst, seed=seed, energy=energy)
    v = graded(inst, res)
    assert all(b < a for a, b in itertools.pairwise(reports)), reports
    assert reports[-1] == v.objective
    start = validate(inst, ListECT().solve(inst, Context(10, 0, {})).solution).objective
    assert v.objective <= start
    again, _ = solve(inst, seed=seed, energy=energy)
    assert again.solution == res.solution


def test_gap_improves_on_a_loose_instance_to_the_optimum():
    # capacities so loose that the optimum is each job on its cheapest agent
    rng = np.random.default_rng(3)
    cost = rng.integers(1, 100, (4, 25)).astype(float)
    inst = gap_instance(cost, np.ones((4, 25)), np.full(4, 25.0), name="loose")
    res, _ = solve(inst, moves=5000)
    assert graded(inst, res).objective == cost.min(axis=0).sum()


def test_formats_samples():
    for inst in IMPORTERS["orlib-gap"].read(FORMATS / "orlib" / "tiny.txt"):
        res, _reports = solve(inst, moves=5000)
        v = graded(inst, res)
        known = inst.metadata.get("known", {})
        if "optimum" in known:
            assert v.objective == known["optimum"]
    for inst in IMPORTERS["rcmax"].read(FORMATS / "rcmax" / "instancias1a100" / "7.txt"):
        res, _ = solve(inst, moves=5000)
        assert graded(inst, res).objective == inst.metadata["known"]["optimum"]


def test_time_limit_mode_stops():
    """With no move budget the run stops on the clock: a fake clock (1 ms per reading) makes the
    stop deterministic and independent of the machine's speed."""
    inst = random_gap(60, 6, 1)
    readings = [0]

    def clock() -> float:
        readings[0] += 1
        return readings[0] * 1e-3

    ctx = Context(0.6, 0, SimulatedAnnealing.resolve_params({"max_moves": 0, "margin": 0.1}), clock=clock)
    res = SimulatedAnnealing().solve(inst, ctx)
    graded(inst, res)
    assert res.info["moves"] > 1000
    assert readings[0] <= 600  # stopped once the clock passed the limit (less the margin)


def test_infeasible_gap_reports_no_feasible_answer():
    inst = gap_instance(np.ones((2, 3)), np.full((2, 3), 2.0), np.array([2.0, 2.0]), name="over")
    res, reports = solve(inst, moves=3000)
    assert res.solution is None and res.status == "unknown"
    assert reports == []


@pytest.mark.external
@pytest.mark.skipif(not EXTERNAL.is_dir(), reason=f"external data sets not available: {EXTERNAL}")
def test_gap1_reaches_the_optimum_within_one_percent():
    for inst in IMPORTERS["orlib-gap"].read(EXTERNAL / "gap_orlib" / "gap1.txt"):
        res, _ = solve(inst, seed=0, moves=100_000)
        v = graded(inst, res)
        opt = inst.metadata["known"]["optimum"]
        assert v.objective <= 1.01 * opt, (inst.name, v.objective, opt)


def test_loop_skeleton_drives_any_kernel():
    """``_moves.anneal`` owns the schedule: calibration, chunking to the budget, reports, restarts."""
    import math

    from schedbench_solvers._moves import CHUNK, Kernel, anneal

    class Toy(Kernel):
        def __init__(self) -> None:
            self.best, self.best_cost = [0], 10.0
            self.chunks: list[tuple[int, float]] = []
            self.restarts = self.settles = 0

        def calibration_deltas(self) -> list[float]:
            return [1.0, 2.0, -1.0, math.inf]  # mean uphill 1.5 (inf and downhill ignored)

        def chunk(self, k: int, temp: float) -> bool:
            self.chunks.append((k, temp))
            self.accepted += k
            if len(self.chunks) == 2:
                self.best, self.best_cost = [1], 5.0
                return True
            return False

        def restart(self) -> None:
            self.restarts += 1
            self.chunks.append((-1, math.nan))  # marks where a new cycle began

        def settle(self) -> None:
            self.settles += 1

        def extra_stats(self) -> dict:
            return {"toy": True}

    toy, reports = Toy(), []
    out = anneal(
        toy,
        budget=5 * CHUNK + 10,
        deadline=math.inf,
        clock=lambda: 0.0,
        cycle=4 * CHUNK,
        on_best=lambda a, c: reports.append((list(a), c)),
    )
    runs = [(k, t) for k, t in toy.chunks if k > 0]
    assert [k for k, _ in runs] == [CHUNK] * 5 + [10]
    assert reports == [([0], 10.0), ([1], 5.0)]  # the start answer, then each improvement once
    assert out["best"] == [1] and out["best_cost"] == 5.0 and out["moves"] == 5 * CHUNK + 10
    assert out["accepted"] == 5 * CHUNK + 10 and out["toy"] is True
    t0 = 1.5 / math.log(2.0)
    assert out["t0"] == pytest.approx(t0) and runs[0][1] == pytest.approx(t0)
    assert toy.restarts == out["cycles"] - 1 and toy.restarts + toy.settles == len(runs)
    assert toy.restarts >= 1  # no improvement for half a cycle ends it
    for i, (k, _) in enumerate(toy.chunks[:-1]):
        if k == -1:  # each new cycle reheats to T0 / 2
            assert toy.chunks[i + 1][1] == pytest.approx(t0 / 2)
    within = [(t, t2) for (k, t), (k2, t2) in zip(toy.chunks, toy.chunks[1:], strict=False) if k > 0 and k2 > 0]
    assert within and all(t2 < t for t, t2 in within)  # geometric cooling inside a cycle
