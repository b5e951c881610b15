"""cpsat (OR-Tools CP-SAT): answers validated, optima brute-forced on tiny instances (gangs, releases,
multi-node), bounds checked against the optima, scaling soundness, anytime reports, the harness."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ortools")

from factories import feasible_batch, feasible_placement
from schedbench_solvers import cpsat as cp
from schedbench_solvers.cpsat import CpSat, assign_gpus

from schedbench.importers import IMPORTERS
from schedbench.importers.gap import gap_instance
from schedbench.instances import GpuType, Instance, Jobs, Node, Problem, Resource, make_instance, save
from schedbench.plugins.solver import Context
from schedbench.runner.execute import execute
from schedbench.runs import RunTask
from schedbench.validator import validate

EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"


def run(inst: Instance, limit: float = 10.0, seed: int = 0, reporter=None, **params):
    return CpSat().solve(inst, Context(limit, seed, CpSat.resolve_params(params), reporter=reporter))


def checked(inst: Instance, res) -> float:
    """The answer is feasible, its claimed objective is the validator's, the bound is on the right side."""
    assert res.solution is not None, res.info
    v = validate(inst, res.solution)
    assert v.feasible, v.violations
    assert v.objective == pytest.approx(res.solution["objective"], rel=1e-9, abs=1e-9)
    if res.bound is not None:
        if inst.problem.objective == "max-weight":
            assert res.bound >= v.objective - 1e-6
        else:
            assert res.bound <= v.objective + 1e-6
    return float(v.objective)


def bound_ok(inst: Instance, bound: float | None, opt: float) -> None:
    if bound is None:
        return
    if inst.problem.objective == "max-weight":
        assert bound >= opt - 1e-6
    else:
        assert bound <= opt + 1e-6


# ------------------------------------------------------------------------------------ brute force
def gang_options(inst: Instance, j: int) -> list[tuple[int, ...]]:
    """Every set of ``gang`` GPUs a job may get: one eligible type, one node unless multi-node."""
    jobs = inst.jobs
    multi = inst.problem.params.get("allow_multi_node", False)
    groups: dict[object, list[int]] = {}
    for g in range(inst.n_gpus):
        key = int(inst.gpu_type[g]) if multi else int(inst.gpu_node[g])
        groups.setdefault(key, []).append(g)
    out = []
    for members in groups.values():
        t = int(inst.gpu_type[members[0]])
        if not jobs.eligible[j, t]:
            continue
        if (jobs.demand[j, t] > inst.type_capacity[t]).any():
            continue
        out += list(itertools.combinations(members, int(jobs.gang[j])))
    return out


def brute_placement(inst: Instance) -> float | None:
    """Optimum by enumerating every job's GPU sets (None: infeasible); exact arithmetic + 1e-9 tolerance."""
    jobs = inst.jobs
    obj = inst.problem.objective
    opts = [gang_options(inst, j) + ([None] if obj == "max-weight" else []) for j in range(inst.n_jobs)]
    cap = inst.gpu_capacity
    prices = np.array([t.cost_per_hour or 0.0 for t in inst.gpu_types])
    best = None
    for combo in itertools.product(*opts):
        load = np.zeros_like(cap)
        for j, gs in enumerate(combo):
            if gs is not None:
                load[list(gs)] += jobs.demand[j, inst.gpu_type[gs[0]]]
        if (load > cap * (1 + 1e-9) + 1e-9).any():
            continue
        if obj == "min-cost":
            v = sum(jobs.cost[j, inst.gpu_type[gs[0]]] for j, gs in enumerate(combo))
        elif obj == "max-weight":
            v = sum(jobs.weight[j] for j, gs in enumerate(combo) if gs is not None)
        else:
            used = sorted({g for gs in combo for g in gs})
            v = prices[inst.gpu_type[used]].sum() if inst.problem.params.get("measure") == "cost" else len(used)
        if best is None or (v > best if obj == "max-weight" else v < best):
            best = float(v)
    return best


def brute_batch(inst: Instance) -> float:
    """Optimum over every GPU-set assignment and every job order, each job started as early as its
    release and its GPUs allow (an optimal semi-active schedule is of this form)."""
    jobs = inst.jobs
    n = inst.n_jobs
    opts = [gang_options(inst, j) for j in range(n)]
    d = jobs.deadline if jobs.deadline is not None else np.full(n, np.nan)
    best = np.inf
    for combo in itertools.product(*opts):
        p = [float(jobs.time[j, inst.gpu_type[combo[j][0]]]) for j in range(n)]
        for perm in itertools.permutations(range(n)):
            free = np.zeros(inst.n_gpus)
            C = np.zeros(n)
            for j in perm:
                gs = list(combo[j])
                C[j] = max(float(jobs.release[j]), float(free[gs].max())) + p[j]
                free[gs] = C[j]
            if inst.problem.objective == "makespan":
                v = C.max()
            elif inst.problem.objective == "weighted-completion":
                v = float(np.dot(jobs.weight, C))
            else:
                v = float(np.dot(jobs.weight, np.where(np.isnan(d), 0.0, np.maximum(0.0, C - np.nan_to_num(d)))))
            best = min(best, v)
    return float(best)


# ------------------------------------------------------------------------------------ tiny instances
def tiny_gap(seed: int, m: int = 3, n: int = 6, tight: float = 0.8) -> Instance:
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 30, (m, n)).astype(float)
    use = rng.integers(1, 10, (m, n)).astype(float)
    cap = np.full(m, float(use.sum() / m * tight)).round()
    return gap_instance(cost, use, cap, name=f"tiny-gap-{seed}")


def with_problem(inst: Instance, objective: str, **params) -> Instance:
    return make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=inst.jobs,
        problem=Problem(inst.problem.cls, objective, params),
        metadata={"name": inst.name},
    )


def gang_cluster() -> tuple[list[GpuType], list[Node]]:
    types = [
        GpuType("a", {"mem": 10.0, "cpu": 1.0}, cost_per_hour=2.5),
        GpuType("b", {"mem": 16.0, "cpu": 1.0}, cost_per_hour=4.0),
    ]
    nodes = [Node("n0", "a", ("n0/0", "n0/1")), Node("n1", "a", ("n1/0", "n1/1")), Node("n2", "b", ("n2/0",))]
    return types, nodes


def tiny_gang_placement(seed: int, objective: str, n: int = 5, multi: bool = False) -> Instance:
    rng = np.random.default_rng(seed)
    types, nodes = gang_cluster()
    demand = np.stack([rng.integers(3, 9, (n, 2)).astype(float), rng.choice([0.25, 0.5, 0.75], (n, 2))], axis=2)
    gang = rng.choice([1, 1, 2, 3] if multi else [1, 1, 2], n)  # a gang of 3 spans both type-a nodes
    eligible = rng.random((n, 2)) < 0.8
    eligible[:, 0] |= gang > 1  # a gang of 2 needs type a (type b has one GPU)
    jobs = Jobs.build(
        [f"j{i}" for i in range(n)],
        demand,
        eligible=eligible,
        gang=gang,
        cost=rng.integers(1, 20, (n, 2)).astype(float),
        weight=rng.integers(1, 9, n).astype(float),
    )
    params = {"allow_multi_node": True} if multi else {}
    return make_instance(
        resources=[Resource("mem"), Resource("cpu")],
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("placement", objective, params),
        metadata={"name": f"gang-p-{seed}"},
    )


def tiny_batch(seed: int, objective: str, n: int = 4, unit: float = 0.5, multi: bool = False) -> Instance:
    rng = np.random.default_rng(seed)
    types, nodes = gang_cluster()
    time = rng.integers(2, 20, (n, 2)) * unit
    gang = rng.choice([1, 2, 3] if multi else [1, 1, 2], n)
    eligible = rng.random((n, 2)) < 0.8
    eligible[:, 0] |= gang > 1
    release = rng.integers(0, 6, n) * unit
    deadline = np.where(rng.random(n) < 0.75, release + rng.integers(3, 15, n) * unit, np.nan)
    jobs = Jobs.build(
        [f"j{i}" for i in range(n)],
        np.ones((n, 2, 2)),
        eligible=eligible,
        gang=gang,
        time=time,
        release=release,
        deadline=deadline,
        weight=rng.integers(1, 5, n).astype(float),
    )
    params = {"allow_multi_node": True} if multi else {}
    return make_instance(
        resources=[Resource("mem"), Resource("cpu")],
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("batch", objective, params),
        metadata={"name": f"gang-b-{seed}"},
    )


# ------------------------------------------------------------------------------------ placement
@pytest.mark.parametrize("seed", range(4))
def test_gap_matches_brute_force(seed):
    inst = tiny_gap(seed)
    opt = brute_placement(inst)
    assert opt is not None  # every tiny_gap(0..3) is feasible; infeasibility: test_infeasible_placement_is_proven
    res = run(inst)
    assert res.status == "optimal"
    assert checked(inst, res) == pytest.approx(opt)
    bound_ok(inst, res.bound, opt)


@pytest.mark.parametrize("seed", range(3))
def test_max_weight_and_min_gpus_match_brute_force(seed):
    for objective, tight, params in (
        ("max-weight", 0.15, {}),
        ("min-gpus", 0.8, {}),
        ("min-gpus", 0.8, {"measure": "cost"}),
    ):
        base = tiny_gap(seed + 10, m=3, n=5, tight=tight)
        if params:
            types = [GpuType(t.id, t.capacity, cost_per_hour=1.5 + i) for i, t in enumerate(base.gpu_types)]
            base = make_instance(
                resources=base.resources,
                gpu_types=types,
                nodes=base.nodes,
                jobs=base.jobs,
                problem=base.problem,
                metadata={"name": base.name},
            )
        inst = with_problem(base, objective, **params)
        opt = brute_placement(inst)
        assert opt is not None  # all nine are feasible (brute force)
        res = run(inst, symmetry=objective == "min-gpus")
        assert res.status == "optimal", res.info
        assert checked(inst, res) == pytest.approx(opt)
        bound_ok(inst, res.bound, opt)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("objective", ["min-cost", "max-weight", "min-gpus"])
def test_gang_placement_matches_brute_force(seed, objective):
    for multi in (False, True):
        inst = tiny_gang_placement(seed, objective, multi=multi)
        opt = brute_placement(inst)
        for symmetry in (False, True) if objective == "min-gpus" else (False,):
            res = run(inst, symmetry=symmetry)
            if opt is None:
                assert res.status == "infeasible", res.info
                continue
            assert res.status == "optimal", res.info
            assert checked(inst, res) == pytest.approx(opt)
            bound_ok(inst, res.bound, opt)


def test_infeasible_placement_is_proven():
    # three jobs of 6 on two GPUs of capacity 10: no GPU holds two
    inst = gap_instance(np.ones((2, 3)), np.full((2, 3), 6.0), np.array([10.0, 10.0]), name="too-tight")
    res = run(inst)
    assert res.status == "infeasible" and res.solution is None
    assert res.info["cpsat_status"] == "INFEASIBLE" and res.info["capacity_scaling_exact"]


def test_job_without_usable_group_is_infeasible_without_solving():
    inst = gap_instance(np.ones((2, 2)), np.array([[11.0, 1.0], [12.0, 1.0]]), np.array([10.0, 10.0]), name="big")
    res = run(inst)
    assert res.status == "infeasible" and "j0" in res.info["reason"]


def test_inexact_capacity_scaling_is_sound():
    """Demands of 1/3 do not scale exactly: the rounded model is a restriction, answers stay feasible,
    ``optimal`` is not claimed and the bound is the instance's cheap bound (valid)."""
    third = 1.0 / 3.0
    use = np.array([[third, third, third, 0.5], [third, third, third, 0.5]])
    inst = gap_instance(
        np.array([[1.0, 1.0, 1.0, 1.0], [5.0, 5.0, 5.0, 1.0]]), use, np.array([1.0, 1.0]), name="thirds"
    )
    opt = brute_placement(inst)
    assert opt == 4.0  # all thirds on a0 (they fit exactly); the rounded model fits only two there
    for hint in (True, False):
        res = run(inst, hint=hint)
        assert res.info["capacity_scaling_exact"] is False
        assert res.status == "feasible"
        value = checked(inst, res)
        assert value >= opt - 1e-9 and (hint or value == 8.0)
        bound_ok(inst, res.bound, opt)


def test_inexact_cost_scaling_keeps_a_valid_bound():
    inst = tiny_gap(3)
    jobs = inst.jobs
    odd = Jobs.build(jobs.ids, jobs.demand, cost=jobs.cost / 3.0)
    inst = make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=odd,
        problem=inst.problem,
        metadata={"name": "thirds-cost"},
    )
    opt = brute_placement(inst)
    res = run(inst)
    assert res.info["objective_scaling_exact"] is False and res.status == "feasible"
    assert checked(inst, res) == pytest.approx(opt, rel=1e-5)
    bound_ok(inst, res.bound, opt)


@pytest.mark.parametrize("seed", range(3))
def test_random_multiresource_gang_placements(seed):
    for objective in ("min-cost", "max-weight", "min-gpus"):
        inst, _ = feasible_placement(seed, objective, n=14, slack=1.1)
        res = run(inst, limit=5.0)
        assert res.status in ("optimal", "feasible"), res.info
        checked(inst, res)


# ------------------------------------------------------------------------------------ batch
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("objective", ["makespan", "weighted-completion", "weighted-tardiness"])
def test_batch_with_gangs_and_releases_matches_brute_force(seed, objective):
    inst = tiny_batch(seed, objective, multi=seed == 4)
    opt = brute_batch(inst)
    res = run(inst)
    assert res.status == "optimal", res.info
    assert res.info["time_scaling_exact"]
    assert checked(inst, res) == pytest.approx(opt, abs=1e-6)
    bound_ok(inst, res.bound, opt)


@pytest.mark.parametrize("objective", ["makespan", "weighted-completion", "weighted-tardiness"])
def test_inexact_time_scaling_is_sound(objective):
    """Times in thirds cannot be scaled exactly: rounded up, the answer stays feasible (float left
    shift), optimal is not claimed, and the conservative bound stays below the optimum."""
    for seed in range(3):
        inst = tiny_batch(seed, objective, unit=1.0 / 3.0)
        opt = brute_batch(inst)
        res = run(inst)
        assert res.info["time_scaling_exact"] is False
        assert res.status == "feasible"
        value = checked(inst, res)
        assert value >= opt - 1e-6
        assert value <= opt * (1 + 1e-3) + 1e-3  # 1e-6 of the horizon per job at most
        bound_ok(inst, res.bound, opt)
        assert res.bound is not None
        if objective == "makespan":  # lam ~ s: the conservative bound stays close to the CP-SAT bound
            assert res.bound >= 0.9 * opt


@pytest.mark.parametrize("seed", range(3))
def test_random_batches_are_feasible(seed):
    for objective in ("makespan", "weighted-completion", "weighted-tardiness"):
        inst, sample = feasible_batch(seed, objective, n=10)
        res = run(inst, limit=1.5)
        assert res.status in ("optimal", "feasible")
        value = checked(inst, res)
        assert value <= res.info["hint_objective"] + 1e-6
        if res.status == "optimal":
            assert value <= validate(inst, sample).objective + 1e-6


def test_rcmax_pure_load_model():
    rng = np.random.default_rng(3)
    n, m = 7, 3
    time = rng.integers(1, 40, (n, m)).astype(float)
    jobs = Jobs.build([f"j{i}" for i in range(n)], np.ones((n, m, 1)), time=time)
    inst = make_instance(
        resources=[Resource("r")],
        gpu_types=[GpuType(f"m{i}", {"r": 1.0}) for i in range(m)],
        nodes=[Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m)],
        jobs=jobs,
        problem=Problem("batch", "makespan"),
        metadata={"name": "rcmax"},
    )
    best = min(
        max(sum(time[j, g] for j in range(n) if a[j] == g) for g in range(m))
        for a in itertools.product(range(m), repeat=n)
    )
    res = run(inst)
    assert res.info["pure_load"] and res.status == "optimal"
    assert checked(inst, res) == pytest.approx(best)


def test_assign_gpus_succeeds_on_cumulative_feasible_schedules():
    rng = np.random.default_rng(0)
    for _ in range(200):
        M = int(rng.integers(1, 5))
        n = int(rng.integers(1, 9))
        gang = rng.integers(1, M + 1, n)
        start = np.zeros(n, dtype=np.int64)
        end = np.zeros(n, dtype=np.int64)
        # a random cumulative-feasible schedule: each job at the earliest time its demand fits
        for j in range(n):
            dur = int(rng.integers(1, 6))
            t = int(rng.integers(0, 5))
            while True:
                busy = sum(gang[i] for i in range(j) if start[i] <= t < end[i] or t <= start[i] < t + dur)
                if busy + gang[j] <= M and all(
                    sum(gang[i] for i in range(j) if start[i] <= u < end[i]) + gang[j] <= M for u in range(t, t + dur)
                ):
                    break
                t += 1
            start[j], end[j] = t, t + dur
        got = assign_gpus(np.arange(n), start, end, gang, np.arange(10, 10 + M))
        assert got is not None
        for a, b in itertools.combinations(range(n), 2):
            if set(got[a].tolist()) & set(got[b].tolist()):
                assert end[a] <= start[b] or end[b] <= start[a]
        assert all(len(set(got[j].tolist())) == gang[j] for j in range(n))
    # over capacity: two gangs of 2 at once on 3 GPUs
    assert assign_gpus(np.arange(2), np.array([0, 1]), np.array([5, 5]), np.array([2, 2]), np.arange(3)) is None


# ------------------------------------------------------------------------------------ anytime, params, harness
def test_incumbents_are_valid_and_bounds_below_them():
    rng = np.random.default_rng(7)
    m, n = 8, 60
    use = rng.integers(5, 25, (m, n)).astype(float)
    inst = gap_instance(
        rng.integers(10, 50, (m, n)).astype(float), use, np.full(m, float(use.sum() / m * 0.85)), name="mid-gap"
    )
    reports = []
    res = run(inst, limit=2.0, reporter=lambda sol, bound: reports.append((sol, bound)))
    assert res.status in ("optimal", "feasible")
    value = checked(inst, res)
    assert reports and res.info["incumbents_reported"] == len(reports)
    last = None
    for sol, bound in reports:
        v = validate(inst, sol)
        assert v.feasible
        assert bound is None or bound <= v.objective + 1e-6
        assert last is None or v.objective <= last + 1e-9  # improving
        last = v.objective
    assert value <= last + 1e-9


def test_deterministic_time_makes_runs_reproducible():
    rng = np.random.default_rng(11)
    m, n = 8, 50
    use = rng.integers(5, 25, (m, n)).astype(float)
    inst = gap_instance(
        rng.integers(10, 50, (m, n)).astype(float), use, np.full(m, float(use.sum() / m * 0.9)), name="det-gap"
    )
    a = run(inst, limit=20.0, deterministic_time=0.3, hint=False)
    b = run(inst, limit=20.0, deterministic_time=0.3, hint=False)
    assert a.info["reproducible"] and b.info["reproducible"]
    assert a.solution == b.solution and a.status == b.status


def test_no_hint_and_declines_huge(monkeypatch):
    inst = tiny_batch(1, "makespan")
    res = run(inst, hint=False)
    assert res.status == "optimal"
    checked(inst, res)
    assert CpSat.unsupported_reason(inst) is None
    monkeypatch.setattr(cp, "MAX_OPTIONS", 3)
    assert "too large" in CpSat.unsupported_reason(inst)


def test_runs_through_the_harness(tmp_path):
    for inst in (tiny_gang_placement(1, "min-cost"), tiny_batch(2, "weighted-tardiness")):
        path = tmp_path / f"{inst.name}.json"
        digest = save(inst, path)
        rec = execute(
            RunTask(
                instance_path=str(path),
                instance_hash=digest,
                instance_name=inst.name,
                solver="cpsat",
                solver_version=CpSat.version,
                params=CpSat.resolve_params({}),
                seed=0,
                time_limit=10.0,
            )
        )
        assert rec.status == "optimal", (rec.status, rec.reason)  # both are feasible and tiny
        assert not rec.flags, rec.flags
        assert rec.feasible


# ------------------------------------------------------------------------------------ external data
@pytest.mark.external
@pytest.mark.skipif(not (EXTERNAL / "gap_orlib" / "gap1.txt").exists(), reason="shared/external data absent")
def test_gap1_reaches_opt_min():
    with open(EXTERNAL / "gap_orlib" / "optima.csv", encoding="utf-8") as fh:
        rows = {r["instance"]: r for r in csv.DictReader(fh)}
    for inst in IMPORTERS["orlib-gap"].read(EXTERNAL / "gap_orlib" / "gap1.txt")[:3]:
        res = run(inst, limit=5.0)
        assert checked(inst, res) == pytest.approx(float(rows[inst.name]["opt_min"]))
        assert res.status == "optimal"


@pytest.mark.external
@pytest.mark.skipif(
    not (EXTERNAL / "rcmax_fanjul_ruiz" / "instancias1a100" / "111.txt").exists(), reason="shared/external data absent"
)
def test_rcmax_100_jobs_feasible_with_reported_gap():
    (inst,) = IMPORTERS["rcmax"].read(EXTERNAL / "rcmax_fanjul_ruiz" / "instancias1a100" / "111.txt")
    assert inst.n_jobs == 100
    res = run(inst, limit=3.0)
    value = checked(inst, res)
    best = inst.metadata["known"]["best_known"]
    print(
        f"R||Cmax 111 (100 jobs, 10 machines): cpsat {value:g} in 3 s, best known {best}, "
        f"gap {(value - best) / best:.2%}, bound {res.bound}"
    )
    assert value >= best - 1e-9 or res.status != "optimal"
