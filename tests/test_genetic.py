"""Genetic algorithm ``ga`` (``solvers/genetic.py``, ``solvers/_ga_ops.py``): validity, determinism,
anytime reports, operators and the vectorised evaluation against the validator."""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from factories import feasible_batch, feasible_placement
from schedbench_solvers import _ga_ops as ops
from schedbench_solvers.genetic import GeneticAlgorithm
from schedbench_solvers.heuristics import EDD, WSPT, BestFitDecreasing, FirstFitDecreasing, ListECT, Regret

from schedbench.importers import IMPORTERS
from schedbench.importers.gap import gap_instance
from schedbench.instances import load
from schedbench.plugins.solver import Context
from schedbench.validator import validate

ROOT = Path(__file__).resolve().parents[1]
SMOKE = sorted((ROOT / "instances" / "smoke").glob("*.json"))
FORMATS = ROOT / "tests" / "data" / "formats"
EXTERNAL = ROOT.parent / "shared" / "external"
PLACEMENT_CASES = list(itertools.product(("min-cost", "max-weight", "min-gpus"), range(3)))


def solve(inst, seed: int = 0, evals: int = 4000, time_limit: float = 60.0, **params):
    """Run ``ga``; every report is validated; returns the result and the reported objectives."""
    reports: list[float] = []

    def reporter(sol, bound):
        v = validate(inst, sol)
        assert v.feasible, v.violation_counts
        reports.append(v.objective)

    ctx = Context(time_limit, seed, GeneticAlgorithm.resolve_params({"max_evals": evals, **params}), reporter=reporter)
    return GeneticAlgorithm().solve(inst, ctx), reports


def graded(inst, res, reports):
    """The answer is feasible, its objective is the one claimed and the last one reported, and the
    reports improve strictly."""
    assert res.status == "feasible", res.info
    v = validate(inst, res.solution)
    assert v.feasible, (inst.name, v.violation_counts, v.violations[:3])
    assert v.objective == pytest.approx(res.info["objective"], rel=1e-9, abs=1e-9)
    assert reports and reports[-1] == pytest.approx(v.objective, rel=1e-12)
    better = (lambda a, b: b > a) if inst.problem.objective == "max-weight" else (lambda a, b: b < a)
    assert all(better(a, b) for a, b in itertools.pairwise(reports)), reports
    return v


def heuristic_best(inst, solvers) -> float | None:
    vals = []
    for cls in solvers:
        if not cls().supports(inst):
            continue
        res = cls().solve(inst, Context(10, 0, {}))
        if res.solution is not None:
            v = validate(inst, res.solution)
            if v.feasible:
                vals.append(v.objective)
    if not vals:
        return None
    return max(vals) if inst.problem.objective == "max-weight" else min(vals)


def random_gap(n: int, m: int, seed: int, tight: float = 0.8):
    rng = np.random.default_rng(seed)
    use = rng.integers(5, 26, (m, n)).astype(float)
    cost = rng.integers(10, 51, (m, n)).astype(float)
    cap = np.maximum(tight * use.sum(axis=1) / m, use.max(axis=1))
    return gap_instance(cost, use, cap, name=f"rand-gap-{seed}")


# --------------------------------------------------------------------------------- whole solver
SUPPORTED = [p for p in SMOKE if GeneticAlgorithm().supports(load(p))]


def test_smoke_instances_declined_are_exactly_the_undeclared_classes():
    """The smoke instances left out of test_smoke_instances are those of undeclared classes, and the
    solver declines them with a reason (so no parameter combination is silently skipped)."""
    declined = [load(p) for p in SMOKE if p not in SUPPORTED]
    assert {i.problem.cls for i in declined} == {"online", "allocation"}
    for inst in declined:
        assert GeneticAlgorithm.unsupported_reason(inst), inst.name


@pytest.mark.parametrize("path", SUPPORTED, ids=[p.stem for p in SUPPORTED])
def test_smoke_instances(path):
    inst = load(path)
    encodings = ("assignment", "permutation") if inst.problem.cls == "batch" else ("auto",)
    for enc in encodings:
        res, reports = solve(inst, encoding=enc)
        graded(inst, res, reports)
        assert res.info["stopped_by"] == "max_evals"


@pytest.mark.parametrize(("objective", "seed"), PLACEMENT_CASES)
def test_placement_random_with_gangs(objective, seed):
    inst, _ = feasible_placement(seed, objective, n=14, slack=1.2)
    res, reports = solve(inst, seed=seed)
    v = graded(inst, res, reports)
    seeds = [x for x in res.info["seed_values"] if x is not None]
    if seeds:  # the incumbent is never worse than the best feasible heuristic seed
        assert v.objective >= max(seeds) if objective == "max-weight" else v.objective <= min(seeds)


@pytest.mark.parametrize(
    ("objective", "seed"), list(itertools.product(("makespan", "weighted-completion", "weighted-tardiness"), range(2)))
)
def test_batch_random_gangs_releases_beats_heuristics(objective, seed):
    inst, _ = feasible_batch(seed, objective, n=16)
    ref = heuristic_best(inst, (ListECT, WSPT, EDD))
    for enc in ("assignment", "permutation"):
        res, reports = solve(inst, seed=seed, encoding=enc)
        v = graded(inst, res, reports)
        if enc == "permutation":  # its seeds are the heuristics' orders, decoded the same way
            assert v.objective <= ref * (1 + 1e-9) + 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_gap_never_worse_than_regret_and_deterministic(seed):
    inst = random_gap(30, 5, seed)
    res, reports = solve(inst, seed=seed)
    v = graded(inst, res, reports)
    ref = heuristic_best(inst, (Regret, FirstFitDecreasing, BestFitDecreasing))
    if ref is not None:
        assert v.objective <= ref
    again, reports2 = solve(inst, seed=seed)
    assert again.solution == res.solution and reports2 == reports
    assert again.info["evals"] == res.info["evals"]


@pytest.mark.parametrize("objective", ["makespan", "weighted-tardiness"])
def test_batch_same_seed_same_answer(objective):
    inst, _ = feasible_batch(4, objective, n=14)
    for enc in ("assignment", "permutation"):
        a, ra = solve(inst, seed=7, evals=3000, encoding=enc)
        b, rb = solve(inst, seed=7, evals=3000, encoding=enc)
        assert a.solution == b.solution and ra == rb


def test_loose_gap_reaches_the_optimum():
    rng = np.random.default_rng(3)
    cost = rng.integers(1, 100, (4, 25)).astype(float)
    inst = gap_instance(cost, np.ones((4, 25)), np.full(4, 25.0), name="loose")
    res, reports = solve(inst, evals=2000)
    assert graded(inst, res, reports).objective == cost.min(axis=0).sum()


def test_formats_orlib_sample_reaches_the_optimum():
    for inst in IMPORTERS["orlib-gap"].read(FORMATS / "orlib" / "tiny.txt"):
        res, reports = solve(inst, evals=20_000)
        v = graded(inst, res, reports)
        known = inst.metadata.get("known", {})
        if "optimum" in known:
            assert v.objective == known["optimum"]


def test_time_limit_mode():
    inst = random_gap(40, 5, 1)
    res, reports = solve(inst, evals=0, time_limit=0.5, margin=0.1)
    graded(inst, res, reports)
    assert res.info["stopped_by"] == "time" and res.info["evals"] > 0


def test_infeasible_and_unknown():
    # job 2 fits on no agent: infeasible without a search
    inst = gap_instance(
        np.ones((2, 3)), np.array([[1.0, 1.0, 5.0], [1.0, 1.0, 5.0]]), np.array([2.0, 2.0]), name="stuck"
    )
    res, reports = solve(inst, evals=500)
    assert res.status == "infeasible" and res.solution is None and reports == []
    # every job fits alone but not all together: no feasible individual exists
    inst = gap_instance(np.ones((2, 3)), np.full((2, 3), 2.0), np.array([2.0, 2.0]), name="over")
    res, reports = solve(inst, evals=2000)
    assert res.status == "unknown" and res.solution is None and reports == []


def test_permutation_encoding_refused_on_placement():
    inst, _ = feasible_placement(0, "min-cost")
    with pytest.raises(ValueError, match="batch instances only"):
        solve(inst, encoding="permutation")


def test_max_weight_drops_jobs_that_do_not_fit():
    # two agents of capacity 3, four jobs of size 2: at most two placed
    inst = gap_instance(np.ones((2, 4)), np.full((2, 4), 2.0), np.array([3.0, 3.0]), name="knap")
    inst = type(inst)(
        inst.resources,
        inst.gpu_types,
        inst.nodes,
        inst.jobs,
        type(inst.problem)("placement", "max-weight", dict(inst.problem.params)),
        inst.metadata,
    )
    res, reports = solve(inst, evals=2000)
    assert graded(inst, res, reports).objective == 2.0


# --------------------------------------------------------------------------------- evaluation
@pytest.mark.parametrize(("objective", "seed"), PLACEMENT_CASES)
def test_placement_evaluation_matches_the_validator(objective, seed):
    inst, _ = feasible_placement(seed, objective, n=12, slack=1.5)
    model = ops.PlacementModel(inst)
    pop = model.random(40, np.random.default_rng(seed))
    _, true, viol = model.evaluate(pop)
    sign = -1.0 if objective == "max-weight" else 1.0
    for r in range(len(pop)):
        v = validate(inst, model.doc(pop[r]))
        assert v.feasible == (viol[r] <= 0), (r, viol[r], v.violation_counts)
        assert v.objective == pytest.approx(sign * true[r], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("objective", "seed"), list(itertools.product(("makespan", "weighted-completion", "weighted-tardiness"), range(3)))
)
def test_batch_vectorised_decoder_matches_the_scalar_one_and_the_validator(objective, seed):
    inst, _ = feasible_batch(seed, objective, n=20)
    for enc in ("assignment", "permutation"):
        model = ops.BatchModel(inst, enc)
        pop = model.random(15, np.random.default_rng(seed))
        _, true, viol = model.evaluate(pop)
        assert (viol == 0).all()
        for r in range(len(pop)):
            v = validate(inst, model.doc(pop[r]))
            assert v.feasible, v.violations[:3]
            assert v.objective == pytest.approx(true[r], rel=1e-9, abs=1e-9)


def test_local_search_never_worsens_and_keeps_options_valid():
    inst = random_gap(25, 4, 5, tight=0.7)
    model = ops.PlacementModel(inst)
    assert model.swaps
    X = model.random(6, np.random.default_rng(0))
    obj, _, viol = model.evaluate(X)
    lam = model.lam0
    Y, (o2, _, v2), used = model.local_search(X, obj + lam * viol, lam, steps=30)
    assert used >= len(X)
    assert ((o2 + lam * v2) <= (obj + lam * viol) + 1e-9).all()
    assert ((o2 + lam * v2) < (obj + lam * viol)).any()
    assert (model.upper[None, :] > Y).all() and (Y >= 0).all()
    ob, _, vb = model.evaluate(Y)
    np.testing.assert_allclose(ob + lam * vb, o2 + lam * v2)


# --------------------------------------------------------------------------------- operators
def test_permutation_operators_keep_permutations():
    rng = np.random.default_rng(1)
    pop = np.argsort(rng.random((30, 17)), axis=1)
    parents = pop.copy()
    ops.cx_uniform_order(pop, 1.0, rng)
    assert (np.sort(pop, axis=1) == np.arange(17)).all()
    assert not (pop == parents).all()
    # a child keeps its first parent's jobs where they stayed and the other jobs in the second's order
    ops.mut_swap(pop, 1.0, 0.2, rng)
    assert (np.sort(pop, axis=1) == np.arange(17)).all()


def test_assignment_operators_stay_in_range_and_mix_parents():
    rng = np.random.default_rng(2)
    upper = np.array([1, 2, 3, 5, 8] * 4)
    pop = (rng.random((20, 20)) * upper).astype(np.int64)
    before = pop.copy()
    ops.cx_uniform(pop, 1.0, rng)
    a, b = before[0::2], before[1::2]
    assert ((pop[0::2] == a) | (pop[0::2] == b)).all() and ((pop[1::2] == a) | (pop[1::2] == b)).all()
    np.testing.assert_array_equal(np.sort(np.stack([pop[0::2], pop[1::2]]), axis=0), np.sort(np.stack([a, b]), axis=0))
    ops.mut_reset(pop, upper, 1.0, 0.5, rng)
    assert ((pop >= 0) & (pop < upper)).all()
    idx = ops.sel_tournament(np.arange(20.0), 1000, 3, rng)
    assert idx.min() >= 0 and idx.max() < 20 and np.mean(idx) < 9.5  # biased to small fitness


# --------------------------------------------------------------------------------- DEAP integration
def test_creator_types_are_package_named_created_once_and_picklable():
    import importlib
    import warnings

    from deap import creator

    fitness_cls, ind_cls = creator.SchedbenchGaFitness, creator.SchedbenchGaIndividual
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # DEAP warns when a creator class is overwritten
        importlib.reload(ops)
    assert creator.SchedbenchGaFitness is fitness_cls and creator.SchedbenchGaIndividual is ind_cls
    ind = creator.SchedbenchGaIndividual([3, 1, 2])
    ind.fitness.values = (4.0,)
    back = pickle.loads(pickle.dumps(ind))
    assert list(back) == [3, 1, 2] and back.fitness.values == (4.0,)


def test_solver_module_import_does_not_load_deap():
    code = "import sys, schedbench_solvers.genetic; assert 'deap' not in sys.modules, 'deap imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------- published data
@pytest.mark.external
@pytest.mark.skipif(not EXTERNAL.is_dir(), reason=f"external data sets not available: {EXTERNAL}")
def test_gap1_within_one_percent_with_the_default_budget():
    for inst in IMPORTERS["orlib-gap"].read(EXTERNAL / "gap_orlib" / "gap1.txt"):
        res, reports = solve(inst, evals=30_000)
        v = graded(inst, res, reports)
        opt = inst.metadata["known"]["optimum"]
        assert v.objective <= 1.01 * opt, (inst.name, v.objective, opt)
