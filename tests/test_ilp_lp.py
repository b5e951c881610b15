"""ilp-highs, lp-round, lp-allocation (HiGHS) and export_model: answers validated, optima brute-forced."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("highspy")

from factories import feasible_allocation, feasible_batch, feasible_placement
from schedbench_solvers.ilp import IlpHighs
from schedbench_solvers.lp import LpAllocation, LpRound

from schedbench.cli.export_model import export_model_command
from schedbench.importers import IMPORTERS
from schedbench.importers.gap import gap_instance
from schedbench.instances import GpuType, Instance, Jobs, Node, Problem, Resource, make_instance, save
from schedbench.plugins.export_model import export_model
from schedbench.plugins.solver import Context
from schedbench.runner.execute import execute
from schedbench.runs import RunTask
from schedbench.validator import validate

VERSIONS = {c.name: c.version for c in (IlpHighs, LpRound, LpAllocation)}
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
    return make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
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
    """Optimum of a gang-1 single-GPU-per-agent instance by enumeration (None: infeasible)."""
    n, G = inst.n_jobs, inst.n_gpus
    obj = inst.problem.objective
    options = range(-1, G) if obj == "max-weight" else range(G)
    best = None
    for combo in itertools.product(options, repeat=n):
        gpu = np.array(combo)
        doc = {
            "problem": "placement",
            "assignment": {inst.jobs.ids[j]: None if g < 0 else [inst.gpu_ids[g]] for j, g in enumerate(combo)},
        }
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
    return make_instance(
        resources=[Resource("r")],
        gpu_types=[GpuType(f"m{i}", {"r": 1.0}) for i in range(m)],
        nodes=[Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m)],
        jobs=jobs,
        problem=Problem("batch", "makespan"),
        metadata={"name": f"tiny-rcmax-{seed}"},
    )


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
    assert opt is not None  # every tiny_gap(0..3) is feasible (infeasibility: test_ilp_proves_infeasibility)
    res = run(IlpHighs, inst)
    assert res.status == "optimal"
    assert checked(inst, res) == pytest.approx(opt)
    assert res.bound <= opt + 1e-6
    for key in ("build_s", "transfer_s", "solve_s", "mip_gap", "nodes"):
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
        assert opt is not None
        res = run(IlpHighs, inst)
        assert res.status == "optimal", res.info
        assert checked(inst, res) == pytest.approx(opt)


@pytest.mark.parametrize("seed", [1, 2])
def test_ilp_proves_infeasibility(seed):
    inst = tiny_gap(seed, tight=0.2)
    assert brute_placement(inst) is None
    res = run(IlpHighs, inst)
    assert res.status == "infeasible" and res.solution is None, res.info
    lp = run(LpRound, inst)
    assert lp.solution is None and lp.status in ("infeasible", "unknown"), lp.info


def test_incumbents_reported_within_the_time_limit():
    rng = np.random.default_rng(7)
    m, n = 10, 120
    use = rng.integers(5, 25, (m, n)).astype(float)
    inst = gap_instance(
        rng.integers(10, 50, (m, n)).astype(float), use, np.full(m, float(use.sum() / m * 0.85)), name="mid-gap"
    )
    reports = []
    ctx = Context(3.0, 0, IlpHighs.resolve_params({}), reporter=lambda sol, bound: reports.append((sol, bound)))
    res = IlpHighs().solve(inst, ctx)  # (wall time against the limit: the harness's hard limits; no
    assert res.status in ("optimal", "feasible")  # absolute timings in unit tests)
    assert res.info["highs_status"] in ("optimal", "time limit reached")
    value = checked(inst, res)
    assert res.bound <= value + 1e-6
    assert reports and res.info["incumbents_reported"] == len(reports)
    for sol, bound in reports:
        v = validate(inst, sol)
        assert v.feasible and (bound is None or bound <= v.objective + 1e-6)


def test_bulk_build_shapes():
    """A 100 x 5000 GAP goes to HiGHS in one call (speed: benchmarks/, as a ratio, not here)."""
    rng = np.random.default_rng(0)
    m, n = 100, 5000
    use = rng.integers(5, 25, (m, n)).astype(float)
    inst = gap_instance(rng.integers(10, 50, (m, n)).astype(float), use, np.full(m, float(use.sum() / m)), name="big")
    from schedbench_solvers import _highs as hx

    model = hx.build(inst)
    h = hx.new_highs(time_limit=None, threads=1, seed=0)
    hx.pass_model(h, model)
    assert model.A.shape == (n + m, n * m) and model.integrality.sum() == n * m
    assert h.getNumCol() == n * m and h.getNumRow() == n + m and h.getNumNz() == model.A.nnz


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
    gang1 = Jobs.build(
        inst.jobs.ids,
        inst.jobs.demand,
        eligible=inst.jobs.eligible,
        cost=inst.jobs.cost,
        weight=inst.jobs.weight,
        time=inst.jobs.time,
    )
    inst = make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=gang1,
        problem=inst.problem,
        metadata={"name": inst.name},
    )
    for objective in ("min-cost", "max-weight", "min-gpus"):
        one = with_problem(inst, "placement", objective)
        res = run(IlpHighs, one)  # feasible by construction (gang 1 on the first GPU of a feasible answer)
        assert res.status == "optimal", res.info
        checked(one, res)


def test_gang_above_one_is_declined_with_a_reason():
    for objective in ("weighted-completion", "makespan"):
        inst = with_gangs(feasible_batch(0, objective, n=8)[0])
        reason = IlpHighs.unsupported_reason(inst)
        assert reason is not None and "gang" in reason
        res = run(IlpHighs, inst)
        assert res.status == "unknown" and res.solution is None and "gang" in res.info["reason"]
    place = with_gangs(feasible_placement(1, "min-cost", n=10)[0])
    assert IlpHighs.unsupported_reason(place) is None
    assert "gang" in LpRound.unsupported_reason(place)
    res = run(LpRound, place)
    assert res.status == "unknown" and res.solution is None and "gang" in res.info["reason"]


def test_nonzero_release_is_declined_for_makespan():
    inst = tiny_rcmax(0)
    j = inst.jobs
    jobs = Jobs.build(j.ids, j.demand, time=j.time, release=np.arange(inst.n_jobs, dtype=float))
    inst = make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=jobs,
        problem=inst.problem,
        metadata={"name": "released"},
    )
    for solver in (IlpHighs, LpRound):
        assert "release" in solver.unsupported_reason(inst)
        res = run(solver, inst)
        assert res.status == "unknown" and "release" in res.info["reason"]


def test_oversized_time_indexed_model_is_declined():
    n, m = 400, 70  # 28,000 usable pairs x 8 periods > 200,000 columns
    time = np.full((n, m), 10.0)
    jobs = Jobs.build([f"j{i}" for i in range(n)], np.ones((n, m, 1)), time=time)
    inst = make_instance(
        resources=[Resource("r")],
        gpu_types=[GpuType(f"m{i}", {"r": 1.0}) for i in range(m)],
        nodes=[Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m)],
        jobs=jobs,
        problem=Problem("batch", "weighted-completion"),
        metadata={"name": "big-wct"},
    )
    reason = IlpHighs.unsupported_reason(inst)
    assert reason is not None and "too large" in reason


def test_declines_are_recorded_by_the_harness(tmp_path):
    inst = with_gangs(feasible_batch(0, "weighted-completion", n=8)[0])
    path = tmp_path / "gang-batch.json"
    digest = save(inst, path)
    rec = execute(
        RunTask(
            instance_path=str(path),
            instance_hash=digest,
            instance_name=inst.name,
            solver="ilp-highs",
            solver_version=IlpHighs.version,
            params={},
            seed=0,
            time_limit=10.0,
        )
    )
    assert rec.status == "unsupported" and "gang" in rec.reason


# ---------------------------------------------------------------------------------- gang placement
def with_gangs(inst: Instance) -> Instance:
    """The instance with job 0 given a gang of 2 on a node of >= 2 GPUs of an eligible type."""
    j = inst.jobs
    gang = j.gang.copy()
    sizes = {}
    for nd in inst.nodes:
        t = inst.type_index[nd.gpu_type]
        sizes[t] = max(sizes.get(t, 0), len(nd.gpus))
    elig = j.eligible.copy()
    big = [t for t, k in sizes.items() if k >= 2]
    if not big:
        pytest.skip("no node with 2 GPUs")
    elig[0, big[0]] = True
    gang[0] = 2
    demand = np.where(np.isnan(j.demand), 0.5, j.demand)

    def fill(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.where(np.isnan(a), 5.0, a)

    jobs = Jobs.build(
        j.ids,
        demand,
        eligible=elig,
        gang=gang,
        release=j.release,
        weight=j.weight,
        time=fill(j.time),
        cost=fill(j.cost),
        deadline=j.deadline,
    )
    return make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=jobs,
        problem=inst.problem,
        metadata={"name": inst.name + "-gang"},
    )


def tiny_gang(seed: int, objective: str, multi: bool = False, n: int = 5) -> Instance:
    rng = np.random.default_rng(seed)
    types = (
        GpuType("a", {"mem": 10.0, "cpu": 1.0}, cost_per_hour=1.0),
        GpuType("b", {"mem": 16.0, "cpu": 1.0}, cost_per_hour=3.0),
    )
    nodes = (
        Node("n0", "a", ("n0/0", "n0/1")),
        Node("n1", "a", ("n1/0", "n1/1", "n1/2")),
        Node("n2", "b", ("n2/0", "n2/1")),
    )
    gang = rng.choice([1, 1, 2, 2, 3], n)
    eligible = rng.random((n, 2)) < 0.8
    eligible[np.arange(n), rng.integers(0, 2, n)] = True
    eligible[gang == 3, 0] = True  # only type a has a 3-GPU node (with multi-node: 5 GPUs)
    demand = np.stack([rng.uniform(2.0, 9.0, (n, 2)).round(1), rng.uniform(0.2, 0.7, (n, 2)).round(2)], axis=2)
    cost = (rng.integers(1, 20, (n, 2)) * gang[:, None]).astype(float)
    jobs = Jobs.build(
        [f"j{i}" for i in range(n)],
        demand,
        eligible=eligible,
        gang=gang,
        cost=cost,
        weight=rng.integers(1, 6, n).astype(float),
    )
    params = {"allow_multi_node": True} if multi else {}
    if objective == "min-gpus" and seed % 2:
        params["measure"] = "cost"
    return make_instance(
        resources=[Resource("mem"), Resource("cpu")],
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("placement", objective, params),
        metadata={"name": f"tiny-gang-{objective}-{seed}-{multi}"},
    )


def brute_gang(inst: Instance) -> float | None:
    """Optimum by depth-first enumeration of every gang choice (None: infeasible). Independent of
    the solver's helpers: groups are nodes, or types with allow_multi_node."""
    jobs = inst.jobs
    obj = inst.problem.objective
    multi = inst.problem.params.get("allow_multi_node", False)
    groups: list[list[int]] = []
    for t in range(len(inst.gpu_types)):
        members = [g for g in range(inst.n_gpus) if inst.gpu_type[g] == t]
        if multi:
            groups.append(members)
        else:
            for k in range(len(inst.nodes)):
                on = [g for g in members if inst.gpu_node[g] == k]
                if on:
                    groups.append(on)
    cap = inst.gpu_capacity
    options: list[list[tuple[int, ...] | None]] = []
    for j in range(inst.n_jobs):
        opts: list[tuple[int, ...] | None] = [None] if obj == "max-weight" else []
        for grp in groups:
            t = int(inst.gpu_type[grp[0]])
            if jobs.eligible[j, t] and (jobs.demand[j, t] <= cap[grp[0]]).all():
                opts += list(itertools.combinations(grp, int(jobs.gang[j])))
        options.append(opts)
    prices = np.array([t.cost_per_hour for t in inst.gpu_types])
    best: list[float | None] = [None]
    load = np.zeros_like(cap)
    chosen: list[tuple[int, ...] | None] = []

    def value() -> float:
        if obj == "min-cost":
            return float(sum(jobs.cost[j, inst.gpu_type[c[0]]] for j, c in enumerate(chosen) if c))
        if obj == "max-weight":
            return float(sum(jobs.weight[j] for j, c in enumerate(chosen) if c))
        used = sorted({g for c in chosen if c for g in c})
        if inst.problem.params.get("measure") == "cost":
            return float(prices[inst.gpu_type[used]].sum())
        return float(len(used))

    def dfs(j: int) -> None:
        if j == inst.n_jobs:
            v = value()
            if best[0] is None or (v > best[0] if obj == "max-weight" else v < best[0]):
                best[0] = v
            return
        for c in options[j]:
            if c is not None:
                d = jobs.demand[j, inst.gpu_type[c[0]]]
                load[list(c)] += d
                if (load[list(c)] <= cap[list(c)] + 1e-9).all():
                    chosen.append(c)
                    dfs(j + 1)
                    chosen.pop()
                load[list(c)] -= d
            else:
                chosen.append(None)
                dfs(j + 1)
                chosen.pop()

    dfs(0)
    return best[0]


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("objective", ["min-cost", "max-weight", "min-gpus"])
def test_gang_placement_matches_brute_force(objective, multi):
    solved = 0
    for seed in range(4):
        inst = tiny_gang(seed, objective, multi)
        assert (inst.jobs.gang > 1).any()
        opt = brute_gang(inst)
        res = run(IlpHighs, inst)
        for key in ("build_s", "transfer_s", "solve_s"):
            assert key in res.info
        assert opt is not None  # every tiny_gang(0..3) is feasible (brute force)
        assert res.status == "optimal", (seed, res.info)
        assert checked(inst, res) == pytest.approx(opt)
        sense = 1 if objective != "max-weight" else -1
        assert sense * res.bound <= sense * opt + 1e-6
        solved += 1
    assert solved == 4


def test_gang_model_columns_and_decode():
    inst = tiny_gang(0, "min-cost")
    from schedbench_solvers import _highs as hx

    m = hx.build(inst)
    Z = len(m.grp_job)
    assert Z > 0 and m.z_col0 == m.n_pairs and m.A.shape[1] == m.n_pairs + Z
    assert (inst.jobs.gang[m.grp_job] > 1).all()
    assert (m.integrality == 1).all()
    # all-zero columns encode no answer for an all-jobs objective
    assert hx.decode(inst, m, np.zeros(m.A.shape[1])) is None


# ---------------------------------------------------------------------------------- time-indexed batch
def tiny_batch(seed: int, objective: str, n: int = 5, scale: float = 1.0) -> Instance:
    rng = np.random.default_rng(seed)
    types = (GpuType("a", {"mem": 16.0}), GpuType("b", {"mem": 16.0}))
    nodes = (Node("n0", "a", ("n0/0",)), Node("n1", "b", ("n1/0", "n1/1")))
    time = rng.integers(1, 9, (n, 2)).astype(float) * scale
    eligible = rng.random((n, 2)) < 0.85
    eligible[np.arange(n), rng.integers(0, 2, n)] = True
    release = rng.integers(0, 7, n).astype(float) * scale
    deadline = np.where(rng.random(n) < 0.8, release + rng.integers(2, 10, n) * scale, np.nan)
    weight = rng.integers(0, 5, n).astype(float)
    jobs = Jobs.build(
        [f"j{i}" for i in range(n)],
        np.ones((n, 2, 1)),
        eligible=eligible,
        time=time,
        release=release,
        deadline=deadline,
        weight=weight,
    )
    return make_instance(
        resources=[Resource("mem")],
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("batch", objective),
        metadata={"name": f"tiny-{objective}-{seed}"},
    )


def brute_batch(inst: Instance) -> float:
    """Optimum of a gang-1 batch sum objective: every assignment, every order per GPU, each job as
    early as its release and its predecessor allow (some optimum is of that form)."""
    jobs = inst.jobs
    obj = inst.problem.objective
    d = jobs.deadline if jobs.deadline is not None else np.full(inst.n_jobs, np.nan)

    def job_cost(j: int, c: float) -> float:
        if obj == "weighted-completion":
            return jobs.weight[j] * c
        return 0.0 if np.isnan(d[j]) else jobs.weight[j] * max(0.0, c - d[j])

    def gpu_best(g: int, js: list[int]) -> float:
        best = np.inf
        for order in itertools.permutations(js):
            t, total = 0.0, 0.0
            for j in order:
                t = max(t, jobs.release[j]) + jobs.time[j, inst.gpu_type[g]]
                total += job_cost(j, t)
            best = min(best, total)
        return best

    opts = [[g for g in range(inst.n_gpus) if jobs.eligible[j, inst.gpu_type[g]]] for j in range(inst.n_jobs)]
    best = np.inf
    for combo in itertools.product(*opts):
        total = sum(gpu_best(g, [j for j, h in enumerate(combo) if h == g]) for g in range(inst.n_gpus))
        best = min(best, total)
    return float(best)


@pytest.mark.parametrize("objective", ["weighted-completion", "weighted-tardiness"])
def test_time_indexed_exact_matches_brute_force(objective):
    for seed in range(5):
        inst = tiny_batch(seed, objective)
        opt = brute_batch(inst)
        res = run(IlpHighs, inst)
        assert res.info["kind"] == "time-indexed" and res.info["period"] == 1.0
        assert res.info["exact_discretisation"] is True
        assert res.status == "optimal", res.info
        assert checked(inst, res) == pytest.approx(opt)
        assert res.bound <= opt + 1e-6
        for key in ("build_s", "transfer_s", "solve_s"):
            assert key in res.info


@pytest.mark.parametrize("objective", ["weighted-completion", "weighted-tardiness"])
def test_time_indexed_rounded_is_feasible_with_a_valid_bound(objective):
    for seed in range(3):
        inst = tiny_batch(seed, objective, scale=1.37)  # non-integer data: rounded up, not exact
        opt = brute_batch(inst)
        for period in (0.0, 2.0):
            res = IlpHighs().solve(inst, Context(20, 0, IlpHighs.resolve_params({"period": period})))
            assert res.info["exact_discretisation"] is False
            assert res.status == "feasible"
            assert checked(inst, res) >= opt - 1e-6
            assert res.bound is not None and res.bound <= opt + 1e-6


def test_time_indexed_zero_cost_jobs_only():
    inst = tiny_batch(3, "weighted-tardiness")
    j = inst.jobs
    jobs = Jobs.build(
        j.ids,
        np.nan_to_num(j.demand, nan=1.0),
        eligible=j.eligible,
        time=j.time,
        release=j.release,
        weight=np.zeros(inst.n_jobs),
    )
    inst = make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=jobs,
        problem=inst.problem,
        metadata={"name": "no-weights"},
    )
    res = run(IlpHighs, inst)
    assert res.status == "optimal" and checked(inst, res) == 0.0 and res.bound == 0.0


def test_time_indexed_period_param_limits():
    inst = tiny_batch(1, "weighted-completion")
    res = IlpHighs().solve(inst, Context(20, 0, IlpHighs.resolve_params({"period": 0.001, "max_columns": 100})))
    assert res.status == "unknown" and res.solution is None and "columns" in res.info["reason"]


def test_time_indexed_decode_of_the_start_solution():
    from schedbench_solvers import _highs as hx

    inst, _ = feasible_batch(2, "weighted-tardiness", n=10)
    inst = make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=Jobs.build(
            inst.jobs.ids,
            np.nan_to_num(inst.jobs.demand, nan=1.0),
            eligible=inst.jobs.eligible,
            time=np.nan_to_num(inst.jobs.time, nan=5.0),
            release=inst.jobs.release,
            deadline=inst.jobs.deadline,
            weight=inst.jobs.weight,
        ),
        problem=inst.problem,
        metadata={"name": "gang1"},
    )
    m = hx.build(inst)
    assert m.kind == "time-indexed" and m.start is not None
    doc = hx.decode(inst, m, m.start)
    v = validate(inst, doc)
    assert v.feasible and v.objective == pytest.approx(doc["objective"])
    # the left-shifted answer is never worse than the start solution's MIP objective
    assert doc["objective"] <= float(m.cost @ m.start) + 1e-6
    res = run(IlpHighs, inst, limit=5.0)
    assert res.status in ("optimal", "feasible")
    assert checked(inst, res) <= doc["objective"] + 1e-6


# ---------------------------------------------------------------------------------- LST rounding
@pytest.mark.parametrize("seed", range(4))
def test_lst_is_within_twice_its_threshold(seed):
    inst = tiny_rcmax(seed, n=7, m=3)
    opt = brute_rcmax(inst)
    res = run(LpRound, inst)
    t_star = res.info["lst_threshold"]
    assert res.info["lst_complete"]
    assert res.bound == pytest.approx(t_star) and t_star <= opt + 1e-6
    assert checked(inst, res) <= 2 * t_star * (1 + 1e-9)
    assert res.bound >= res.info["lp_value"] - 1e-9  # the threshold dominates the plain LP bound


def test_lst_on_a_larger_instance():
    rng = np.random.default_rng(5)
    n, m = 60, 8
    time = rng.integers(1, 100, (n, m)).astype(float)
    time[rng.random((n, m)) < 0.2] *= 10  # a few slow pairs that the pruning removes
    jobs = Jobs.build([f"j{i}" for i in range(n)], np.ones((n, m, 1)), time=time)
    inst = make_instance(
        resources=[Resource("r")],
        gpu_types=[GpuType(f"m{i}", {"r": 1.0}) for i in range(m)],
        nodes=[Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m)],
        jobs=jobs,
        problem=Problem("batch", "makespan"),
        metadata={"name": "rcmax-60x8"},
    )
    res = run(LpRound, inst)
    value = checked(inst, res)
    assert res.info["lst_complete"] and value <= 2 * res.bound * (1 + 1e-9)
    ilp = run(IlpHighs, inst, limit=10.0)
    assert res.bound <= checked(inst, ilp) + 1e-6
    for key in ("build_s", "transfer_s", "solve_s"):
        assert key in res.info


def test_sample_orlib_file():
    path = Path(__file__).parent / "data" / "formats" / "orlib" / "tiny.txt"
    for inst in IMPORTERS["orlib-gap"].read(path):
        res = run(IlpHighs, inst)
        known = inst.metadata["known"]  # tiny-1: optimum 8; tiny-2: best known 90 (proven here)
        assert res.status == "optimal", res.info
        assert checked(inst, res) == pytest.approx(known.get("optimum", known.get("best_known")))
        assert res.bound >= known["lower_bound"] - 1e-6


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
            doc = {
                "problem": "allocation",
                "allocation": {
                    jid: {inst.type_ids[t]: float(x[j, t]) for t in np.flatnonzero(x[j] > 0)}
                    for j, jid in enumerate(inst.jobs.ids)
                },
            }
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

    cases = [
        tiny_gap(1),
        tiny_gang(2, "min-cost"),
        tiny_gang(3, "min-gpus", multi=True),
        tiny_batch(0, "weighted-completion"),
        tiny_batch(1, "weighted-tardiness"),
    ]
    for k, inst in enumerate(cases):
        out = export_model(inst, tmp_path / f"m{k}.{fmt}.txt", fmt)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        src = tmp_path / f"copy{k}.{fmt}"
        src.write_bytes(out.read_bytes())
        h.readModel(str(src))
        h.run()
        res = run(IlpHighs, inst)
        assert res.status == "optimal", (inst.name, res.info)  # every case is feasible
        assert h.modelStatusToString(h.getModelStatus()).lower() == "optimal"
        assert h.getInfo().objective_function_value == pytest.approx(checked(inst, res)), inst.name
    inst = tiny_gap(1)
    inst_file = tmp_path / "inst.json"
    save(inst, inst_file)
    assert export_model_command(inst_file, fmt, tmp_path / "cmd.out") == 0
    assert (tmp_path / "cmd.out").stat().st_size > 0
    assert export_model_command(inst_file, "xls", tmp_path / "bad.out") == 1
    declined = tmp_path / "declined.json"
    save(with_gangs(feasible_batch(0, "weighted-completion", n=8)[0]), declined)
    assert export_model_command(declined, fmt, tmp_path / "declined.out") == 1


def _run_plain_highs(threads: int | None) -> None:
    """Solve a one-column MIP with a plain highspy.Highs (``threads`` None: HiGHS's default), which
    sizes HiGHS's process-wide task scheduler (reset first: a previous test may have sized it)."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if threads is not None:
        h.setOptionValue("threads", threads)
    h.addVar(0.0, 3.0)
    h.changeColCost(0, -1.0)
    h.changeColIntegrality(0, highspy.HighsVarType.kInteger)
    assert str(h.run()) == "HighsStatus.kOk"
    assert h.getInfo().objective_function_value == -3.0


@pytest.mark.parametrize("first", [None, 1, 2], ids=["default", "one", "two"])
@pytest.mark.parametrize("threads", [1, 2])
def test_ilp_highs_after_another_highs_sized_the_scheduler(first, threads):
    """Regression: after any other Highs had run in the process (e.g. a default ``highspy.Highs()``),
    ilp-highs with another thread count got HiGHS's "Not Set" status and answered "unknown"."""
    inst = tiny_gap(1)
    expected = brute_placement(inst)
    assert expected is not None
    _run_plain_highs(first)
    res = IlpHighs().solve(inst, Context(20.0, 0, IlpHighs.resolve_params({}), threads=threads))
    assert res.status == "optimal", res.info
    assert checked(inst, res) == pytest.approx(expected)
    _run_plain_highs(None)  # a default Highs still runs after ilp-highs, and ilp-highs after it
    res = IlpHighs().solve(inst, Context(20.0, 0, IlpHighs.resolve_params({}), threads=threads))
    assert res.status == "optimal", res.info


def test_solvers_run_through_the_harness(tmp_path):
    cases = [("ilp-highs", tiny_gap(0)), ("lp-round", tiny_rcmax(1)), ("lp-allocation", feasible_allocation(0)[0])]
    for solver, inst in cases:
        path = tmp_path / f"{solver}.json"
        digest = save(inst, path)
        rec = execute(
            RunTask(
                instance_path=str(path),
                instance_hash=digest,
                instance_name=inst.name,
                solver=solver,
                solver_version=VERSIONS[solver],
                params={},
                seed=0,
                time_limit=20.0,
            )
        )
        # lp-round's rounded answer is not proven optimal: it says "feasible"
        expected = {"ilp-highs": "optimal", "lp-round": "feasible", "lp-allocation": "optimal"}[solver]
        assert rec.status == expected, (solver, rec.status, rec.reason)
        assert not rec.flags, (solver, rec.flags, rec.reason)
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
