"""The reference solvers ``greedy-bestfit`` and ``random-feasible``, called directly and graded by the validator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from factories import RES, feasible_allocation, feasible_batch, feasible_placement
from schedbench_solvers.baseline import RandomFeasible
from schedbench_solvers.greedy import GreedyBestFit

from schedbench import jsonio
from schedbench.generators import generate
from schedbench.instances import GpuType, Jobs, Node, Problem, content_hash, load, make_instance
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.plugins.solver import Context, SolveResult
from schedbench.validator import validate

SMOKE = sorted((Path(__file__).resolve().parents[1] / "instances" / "smoke").glob("*.json"))
ALL_JOBS = ("min-cost", "min-gpus")


def run(solver_cls, inst, seed: int = 0, time_limit: float = 30.0, **params) -> SolveResult:
    res = solver_cls().solve(inst, Context(time_limit, seed, solver_cls.resolve_params(params)))
    assert isinstance(res, SolveResult)
    return res


def graded(inst, res: SolveResult):
    assert res.solution is not None, res.info
    return validate(inst, res.solution)


def assert_feasible(inst, res: SolveResult) -> None:
    verdict = graded(inst, res)
    assert verdict.feasible, (inst.name, verdict.violation_counts, verdict.violations[:3])
    assert res.status == "feasible"
    assert verdict.objective is not None


def assert_feasible_or_only_unplaced(inst, res: SolveResult) -> None:
    """Placement heuristics may fail to place every job of a tight all-jobs instance; then they must
    say ``unknown`` and the only violations are unplaced jobs."""
    verdict = graded(inst, res)
    if verdict.feasible:
        assert res.status == "feasible"
        return
    assert inst.problem.objective in ALL_JOBS
    assert res.status == "unknown"
    assert set(verdict.violation_counts) == {"unplaced"}, verdict.violation_counts


def canonical(res: SolveResult) -> bytes:
    return jsonio.dumps_canonical(res.solution)


def test_smoke_instances_exist():
    assert len(SMOKE) >= 12


# ------------------------------------------------------------------ smoke: both solvers feasible
SMOKE_RUNS = [
    (cls, p) for cls in (GreedyBestFit, RandomFeasible) for p in SMOKE if p.stem.split("-")[0] in cls.problems
]


@pytest.mark.parametrize(("solver_cls", "path"), SMOKE_RUNS, ids=[f"{c.name}-{p.stem}" for c, p in SMOKE_RUNS])
def test_feasible_on_smoke(solver_cls, path):
    inst = load(path)
    assert solver_cls().supports(inst)
    for seed in (0, 1, 2):
        assert_feasible(inst, run(solver_cls, inst, seed))


@pytest.mark.parametrize("path", [p for p in SMOKE if p.stem.startswith("placement")], ids=lambda p: p.stem)
@pytest.mark.parametrize("params", [{"order": "input"}, {"score": "free"}, {"cost_first": False}])
def test_greedy_variants_feasible_on_smoke(path, params):
    inst = load(path)
    assert_feasible_or_only_unplaced(inst, run(GreedyBestFit, inst, **params))


@pytest.mark.parametrize("objective", ["max-throughput", "proportional-fairness"])
def test_baseline_other_allocation_objectives_on_smoke(objective):
    import dataclasses

    for path in [p for p in SMOKE if p.stem.startswith("allocation")]:
        inst = load(path)
        inst = dataclasses.replace(inst, problem=Problem("allocation", objective, {}))
        assert_feasible(inst, run(RandomFeasible, inst))


# ------------------------------------------------------------------ random instances
@pytest.mark.parametrize("objective", ["min-cost", "min-gpus", "max-weight"])
def test_placement_random_instances(objective):
    complete = {GreedyBestFit: 0, RandomFeasible: 0}
    for seed in range(25):
        insts = [
            feasible_placement(seed, objective, n=14)[0],
            generate("placement", {"jobs": 30, "cluster": "tiny", "objective": objective}, seed),
        ]
        if seed % 3 == 0:
            insts.append(
                generate(
                    "placement",
                    {
                        "jobs": 30,
                        "cluster": "tiny",
                        "objective": objective,
                        "problem_params": {"allow_multi_node": True},
                    },
                    seed,
                )
            )
        for inst in insts:
            for cls in complete:
                res = run(cls, inst, seed)
                assert_feasible_or_only_unplaced(inst, res)
                complete[cls] += graded(inst, res).feasible
    # the generated instances are planted with slack: the heuristics rarely fail there
    total = 25 * 2 + 9
    assert complete[GreedyBestFit] >= 0.85 * total and complete[RandomFeasible] >= 0.85 * total


def test_placement_planted_generated_instances_always_complete_for_greedy():
    for seed in range(20):
        for objective in ALL_JOBS:
            inst = generate("placement", {"jobs": 40, "cluster": "tiny", "objective": objective}, seed)
            assert_feasible(inst, run(GreedyBestFit, inst))


@pytest.mark.parametrize("objective", [o.name for o in PROBLEM_CLASSES["batch"].objectives])
def test_batch_random_instances_always_feasible(objective):
    for seed in range(20):
        insts = [
            feasible_batch(seed, objective)[0],
            generate(
                "batch",
                {
                    "jobs": 25,
                    "cluster": "tiny",
                    "objective": objective,
                    "deadline_slack": [1.2, 3.0],
                    "arrival_load": 0.9,
                },
                seed,
            ),
        ]
        if seed % 4 == 0:
            insts.append(
                generate(
                    "batch",
                    {
                        "jobs": 25,
                        "cluster": "tiny",
                        "objective": objective,
                        "problem_params": {"allow_multi_node": True},
                    },
                    seed,
                )
            )
        for inst in insts:
            assert_feasible(inst, run(RandomFeasible, inst, seed))


@pytest.mark.parametrize("objective", [o.name for o in PROBLEM_CLASSES["allocation"].objectives])
def test_allocation_random_instances_always_feasible(objective):
    for seed in range(20):
        for inst in (
            feasible_allocation(seed, objective)[0],
            generate("allocation", {"jobs": 25, "cluster": "tiny", "objective": objective}, seed),
        ):
            res = run(RandomFeasible, inst, seed)
            assert_feasible(inst, res)
            shares = res.solution["allocation"]
            assert all(sum(s.values()) <= 1 + 1e-9 for s in shares.values())


@pytest.mark.parametrize("objective", [o.name for o in PROBLEM_CLASSES["online"].objectives])
def test_online_random_instances_always_feasible(objective):
    for seed in range(12):
        params = {"jobs": 30, "cluster": "tiny", "objective": objective, "load": 1.2, "deadline_slack": [1.2, 3.0]}
        if seed % 3 == 0:
            params["problem_params"] = {"allow_multi_node": True, "allow_rejection": False}
        inst = generate("online", params, seed)
        res = run(RandomFeasible, inst, seed)
        assert_feasible(inst, res)
        events = res.solution["events"]
        kinds = [e["event"] for e in events]
        assert kinds.count("start") + kinds.count("reject") == inst.n_jobs
        assert set(kinds) <= {"start", "finish", "reject"}
        starts = {e["job"]: e["time"] for e in events if e["event"] == "start"}
        # first come, first served: start order follows release order
        order = sorted(starts, key=lambda j: starts[j])
        rel = [inst.jobs.release[inst.jobs.index[j]] for j in order]
        assert rel == sorted(rel)


# ------------------------------------------------------------------ multi-node gangs and proofs of infeasibility
def _wide_gang_instance(cls: str, objective: str, multi: bool):
    """Two 2-GPU nodes of one type and jobs needing 3 GPUs at once: only multi-node gangs fit."""
    types = (GpuType("t0", {"memory_gib": 16.0, "compute": 1.0}),)
    nodes = (Node("n0", "t0", ("n0/0", "n0/1")), Node("n1", "t0", ("n1/0", "n1/1")))
    n = 3
    jobs = Jobs.build(
        [f"j{i}" for i in range(n)],
        np.full((n, 1, 2), [4.0, 0.3]),
        gang=np.array([3, 1, 1]),
        time=np.full((n, 1), 10.0),
        cost=np.ones((n, 1)),
        release=np.array([0.0, 1.0, 1.0]),
    )
    params = {"allow_multi_node": multi}
    return make_instance(
        resources=RES,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem(cls, objective, params),
        metadata={"name": f"wide-{cls}"},
    )


@pytest.mark.parametrize(
    ("cls", "objective"),
    [("placement", "min-cost"), ("placement", "min-gpus"), ("batch", "makespan"), ("online", "mean-jct")],
)
def test_multi_node_gangs(cls, objective):
    inst = _wide_gang_instance(cls, objective, multi=True)
    for solver_cls in (GreedyBestFit, RandomFeasible):
        if solver_cls().supports(inst):
            res = run(solver_cls, inst)
            assert_feasible(inst, res)


@pytest.mark.parametrize(("cls", "objective"), [("placement", "min-cost"), ("batch", "makespan")])
def test_infeasible_instance_is_reported_not_answered(cls, objective):
    inst = _wide_gang_instance(cls, objective, multi=False)  # a 3-GPU gang on 2-GPU nodes
    for solver_cls in (GreedyBestFit, RandomFeasible):
        if solver_cls().supports(inst):
            res = run(solver_cls, inst)
            assert res.status == "infeasible" and res.solution is None
            assert "j0" in res.info["reason"]


def test_online_unusable_job_rejected_when_allowed():
    inst = _wide_gang_instance("online", "mean-jct", multi=False)
    res = run(RandomFeasible, inst)
    assert_feasible(inst, res)
    assert {"time": 0.0, "job": "j0", "event": "reject"} in res.solution["events"]


def test_max_weight_leaves_unplaceable_jobs_out():
    inst = _wide_gang_instance("placement", "max-weight", multi=False)
    for solver_cls in (GreedyBestFit, RandomFeasible):
        res = run(solver_cls, inst)
        assert_feasible(inst, res)
        assert res.solution["assignment"]["j0"] is None


# ------------------------------------------------------------------ determinism, purity, behaviour
@pytest.mark.parametrize("path", SMOKE, ids=lambda p: p.stem)
def test_deterministic_per_seed(path):
    inst = load(path)
    a, b = run(RandomFeasible, inst, seed=5), run(RandomFeasible, inst, seed=5)
    assert canonical(a) == canonical(b)
    if GreedyBestFit().supports(inst):
        assert canonical(run(GreedyBestFit, inst, seed=1)) == canonical(run(GreedyBestFit, inst, seed=2))


def test_baseline_depends_on_the_seed():
    inst = generate("batch", {"jobs": 30, "cluster": "tiny"}, 0)
    answers = {canonical(run(RandomFeasible, inst, seed=s)) for s in range(5)}
    assert len(answers) > 1


def test_solvers_never_mutate_the_instance():
    insts = [load(p) for p in SMOKE] + [feasible_placement(3, "min-cost")[0]]
    for inst in insts:
        before = content_hash(inst)
        arrays = {k: np.array(getattr(inst.jobs, k), copy=True) for k in ("demand", "gang", "weight", "eligible")}
        for solver_cls in (GreedyBestFit, RandomFeasible):
            if solver_cls().supports(inst):
                run(solver_cls, inst)
        assert content_hash(inst) == before
        for k, arr in arrays.items():
            np.testing.assert_array_equal(getattr(inst.jobs, k), arr)


def test_greedy_is_best_fit():
    """One job of demand 5 GiB: it goes to the GPU with the least room that still fits (best fit),
    and the article's defect of raising on a job that does not fit is gone."""
    types = (GpuType("t0", {"memory_gib": 16.0, "compute": 1.0}),)
    nodes = (Node("n0", "t0", ("a", "b", "c")),)
    jobs = Jobs.build(
        ["big1", "big2", "small", "huge"],
        np.array([[[10.0, 0.1]], [[4.0, 0.1]], [[5.0, 0.1]], [[17.0, 0.1]]]),
        cost=np.ones((4, 1)),
    )
    inst = make_instance(
        resources=RES,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("placement", "max-weight", {}),
        metadata={"name": "bf"},
    )
    res = run(GreedyBestFit, inst, order="input")
    a = res.solution["assignment"]
    # big1 -> a (all equal: lowest index), big2 -> a (best fit: 6 GiB left on a), small -> b, huge -> nowhere
    assert a["big1"] == ["a"] and a["big2"] == ["a"] and a["small"] == ["b"] and a["huge"] is None
    assert res.status == "feasible"


def test_greedy_min_cost_prefers_cheaper_type():
    types = (
        GpuType("cheap", {"memory_gib": 16.0, "compute": 1.0}),
        GpuType("dear", {"memory_gib": 16.0, "compute": 1.0}),
    )
    nodes = (Node("d", "dear", ("d/0",)), Node("c", "cheap", ("c/0",)))
    jobs = Jobs.build(["j"], np.array([[[8.0, 0.5], [2.0, 0.1]]]), cost=np.array([[1.0, 5.0]]))
    inst = make_instance(
        resources=RES,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("placement", "min-cost", {}),
        metadata={"name": "cost"},
    )
    assert run(GreedyBestFit, inst).solution["assignment"]["j"] == ["c/0"]
    # best fit first: the job fills the cheap GPU more (its demand there is larger), so it goes there too
    assert run(GreedyBestFit, inst, cost_first=False).solution["assignment"]["j"] == ["c/0"]
    jobs = Jobs.build(["j"], np.array([[[2.0, 0.1], [8.0, 0.5]]]), cost=np.array([[1.0, 5.0]]))
    inst = make_instance(
        resources=RES,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("placement", "min-cost", {}),
        metadata={"name": "cost"},
    )
    assert run(GreedyBestFit, inst).solution["assignment"]["j"] == ["c/0"]  # cheapest first
    assert run(GreedyBestFit, inst, cost_first=False).solution["assignment"]["j"] == ["d/0"]  # tightest fit


def test_greedy_handles_thousands_of_jobs():
    inst = generate("placement", {"jobs": 2000, "cluster": "gavel", "objective": "min-gpus"}, 0)
    res = run(GreedyBestFit, inst, time_limit=120)
    assert_feasible(inst, res)
    inst = generate(
        "placement", {"jobs": 2000, "cluster": "gavel", "objective": "max-weight", "oversubscription": 4}, 1
    )
    assert_feasible(inst, run(GreedyBestFit, inst, time_limit=120))
