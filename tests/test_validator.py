"""The validator: injected violations are caught and named; objectives match a recomputation."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from factories import feasible_allocation, feasible_batch, feasible_placement
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schedbench import jsonio
from schedbench.errors import DataError
from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance
from schedbench.validator import bounds, validate
from schedbench.validator.allocation import SHARE_TOL
from schedbench.validator.common import RTOL, TIME_ATOL, as_number

SEEDS = st.integers(min_value=0, max_value=10_000)
FAST = settings(max_examples=40, deadline=None)


def kinds(result) -> set[str]:
    return set(result.violation_counts)


# ---------------------------------------------------------------- placement


def recompute_placement(inst, assignment) -> float:
    jobs = inst.jobs
    if inst.problem.objective == "min-cost":
        total = 0.0
        for jid, gpus in assignment.items():
            t = inst.gpu_type[inst.gpu_index[gpus[0]]]
            total += jobs.cost[jobs.index[jid], t]
        return total
    if inst.problem.objective == "min-gpus":
        return float(len({g for gpus in assignment.values() if gpus for g in gpus}))
    return float(sum(jobs.weight[jobs.index[j]] for j, g in assignment.items() if g))


@FAST
@given(SEEDS, st.sampled_from(["min-cost", "min-gpus", "max-weight"]))
def test_placement_objective_matches_recomputation(seed, objective):
    inst, sol = feasible_placement(seed, objective)
    res = validate(inst, sol)
    assert res.feasible, res.violations
    assert res.objective == pytest.approx(recompute_placement(inst, sol["assignment"]))
    b = bounds(inst)
    if "lower_bound" in b:
        assert b["lower_bound"] <= res.objective + 1e-9
    else:
        assert b["upper_bound"] >= res.objective - 1e-9


@FAST
@given(SEEDS, st.data())
def test_placement_over_capacity_is_named(seed, data):
    inst, sol = feasible_placement(seed, slack=1.0)
    jobs = inst.jobs
    # the most loaded GPU of some type is exactly full: add one more gang-1 job onto it
    asg = sol["assignment"]
    loads = {}
    for jid, gpus in asg.items():
        for g in gpus:
            loads[g] = loads.get(g, 0.0) + jobs.demand[jobs.index[jid], inst.gpu_type[inst.gpu_index[g]], 0]
    full = max(loads, key=loads.get)
    t = inst.gpu_type[inst.gpu_index[full]]
    movers = [
        j
        for j, gpus in asg.items()
        if full not in gpus and jobs.gang[jobs.index[j]] == 1 and jobs.eligible[jobs.index[j], t]
    ]
    assume(movers)
    mover = data.draw(st.sampled_from(movers))
    bad = copy.deepcopy(sol)
    bad["assignment"][mover] = [full]
    res = validate(inst, bad)
    assert not res.feasible
    assert any(v.constraint == "capacity" and v.gpu == full for v in res.violations)


@FAST
@given(SEEDS, st.data())
def test_placement_structural_violations_are_named(seed, data):
    inst, sol = feasible_placement(seed, slack=10.0)
    jobs = list(sol["assignment"])
    job = data.draw(st.sampled_from(jobs))
    kind = data.draw(st.sampled_from(["missing", "unknown-job", "unknown-gpu", "duplicate-gpu", "gang-size"]))
    bad = copy.deepcopy(sol)
    if kind == "missing":
        del bad["assignment"][job]
        expect = "unplaced"
    elif kind == "unknown-job":
        bad["assignment"]["no-such-job"] = bad["assignment"][job]
        expect = "unknown-job"
    elif kind == "unknown-gpu":
        bad["assignment"][job] = ["no-such-gpu", *bad["assignment"][job][1:]]
        expect = "unknown-gpu"
    elif kind == "duplicate-gpu":
        bad["assignment"][job] = bad["assignment"][job] + bad["assignment"][job][:1]
        expect = "duplicate-gpu"
    else:
        gang = inst.jobs.gang[inst.jobs.index[job]]
        node = next(nd for nd in inst.nodes if bad["assignment"][job][0] in nd.gpus)
        if gang == 1 and len(node.gpus) < 2:
            bad["assignment"][job] = []  # empty list = unplaced
            expect = "unplaced"
        elif gang == 1:
            bad["assignment"][job] = list(node.gpus[:2])
            expect = "gang-size"
        else:
            bad["assignment"][job] = bad["assignment"][job][:1]
            expect = "gang-size"
    res = validate(inst, bad)
    assert expect in kinds(res)
    named = [v for v in res.violations if v.constraint == expect]
    assert all(v.job in (job, "no-such-job") for v in named)


def test_duplicated_job_in_file_is_a_violation(tmp_path):
    from schedbench.validator import validate_file

    inst, sol = feasible_placement(3, slack=10.0)
    job = next(iter(sol["assignment"]))
    text = (
        '{"problem": "placement", "assignment": {'
        + ", ".join(f'"{j}": {g!r}'.replace("'", '"') for j, g in sol["assignment"].items())
        + f', "{job}": {sol["assignment"][job]!r}'.replace("'", '"')
        + "}}"
    )
    path = tmp_path / "dup.json"
    path.write_text(text)
    res = validate_file(inst, path)
    assert "duplicate-job" in kinds(res)
    assert any(v.job == job for v in res.violations)


def test_gang_split_across_types_and_nodes():
    from schedbench.examples import examples

    inst = examples()[0][0]  # j2 is a gang of 2, V100 only
    sol = {
        "problem": "placement",
        "assignment": {"j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "k0/0"], "j3": ["k0/1"], "j4": ["k0/1"]},
    }
    res = validate(inst, sol)
    assert {"gang-mixed-types", "gang-multi-node"} <= kinds(res)
    assert all(v.job == "j2" for v in res.violations if v.constraint.startswith("gang"))


def test_ineligible_type_is_named():
    from schedbench.examples import examples

    inst = examples()[0][0]
    sol = {
        "problem": "placement",
        "assignment": {"j0": ["v0/0"], "j1": ["k0/1"], "j2": ["k0/0", "k0/1"], "j3": ["k0/1"], "j4": ["k0/1"]},
    }
    res = validate(inst, sol)
    assert any(v.constraint == "ineligible-type" and v.job == "j2" for v in res.violations)


# ---------------------------------------------------------------- batch


def recompute_batch(inst, schedule) -> float:
    jobs = inst.jobs
    C = {}
    for jid, entry in schedule.items():
        t = inst.gpu_type[inst.gpu_index[entry["gpus"][0]]]
        C[jid] = entry["start"] + jobs.time[jobs.index[jid], t]
    obj = inst.problem.objective
    if obj == "makespan":
        return max(C.values())
    if obj == "weighted-completion":
        return sum(jobs.weight[jobs.index[j]] * c for j, c in C.items())
    total = 0.0
    for j, c in C.items():
        d = jobs.deadline[jobs.index[j]]
        if not math.isnan(d):
            total += jobs.weight[jobs.index[j]] * max(0.0, c - d)
    return total


@FAST
@given(SEEDS, st.sampled_from(["makespan", "weighted-completion", "weighted-tardiness"]))
def test_batch_objective_matches_recomputation(seed, objective):
    inst, sol = feasible_batch(seed, objective)
    res = validate(inst, sol)
    assert res.feasible, res.violations
    assert res.objective == pytest.approx(recompute_batch(inst, sol["schedule"]))
    assert bounds(inst)["lower_bound"] <= res.objective + 1e-6


@FAST
@given(SEEDS, st.data())
def test_batch_injected_violations_are_named(seed, data):
    inst, sol = feasible_batch(seed)
    sched = sol["schedule"]
    job = data.draw(st.sampled_from(sorted(sched)))
    jobs = inst.jobs
    kind = data.draw(st.sampled_from(["release", "overlap", "missing", "unknown-job", "unknown-gpu"]))
    bad = copy.deepcopy(sol)
    if kind == "release":
        bad["schedule"][job]["start"] = float(jobs.release[jobs.index[job]]) - 1.0
        expect = {"release"}
    elif kind == "overlap":
        # start another job on the same GPU in the middle of this one
        g = sched[job]["gpus"][0]
        t = inst.gpu_type[inst.gpu_index[g]]
        others = [o for o in sched if o != job and jobs.gang[jobs.index[o]] == 1 and jobs.eligible[jobs.index[o], t]]
        assume(others)
        other = data.draw(st.sampled_from(others))
        mid = sched[job]["start"] + jobs.time[jobs.index[job], t] / 2
        bad["schedule"][other] = {"gpus": [g], "start": max(mid, float(jobs.release[jobs.index[other]]))}
        end = sched[job]["start"] + jobs.time[jobs.index[job], t]
        assume(bad["schedule"][other]["start"] < end)
        expect = {"overlap"}
    elif kind == "missing":
        del bad["schedule"][job]
        expect = {"unscheduled"}
    elif kind == "unknown-job":
        bad["schedule"]["ghost"] = copy.deepcopy(sched[job])
        expect = {"unknown-job"}
    else:
        bad["schedule"][job]["gpus"] = ["ghost-gpu", *sched[job]["gpus"][1:]]
        expect = {"unknown-gpu"}
    res = validate(inst, bad)
    assert not res.feasible
    assert expect <= kinds(res)
    if kind == "overlap":
        assert any(v.constraint == "overlap" and v.gpu == g for v in res.violations)


def test_batch_back_to_back_is_feasible_and_demand_too_big_is_named():
    from schedbench.examples import examples

    inst, sols = examples()[1]
    res = validate(inst, sols[0][1])
    assert res.feasible and res.objective == 9000
    bad = validate(inst, sols[1][1])
    assert {"overlap", "release"} <= kinds(bad)


# ---------------------------------------------------------------- allocation


@FAST
@given(SEEDS, st.sampled_from(["max-min-fairness", "max-throughput", "proportional-fairness"]))
def test_allocation_objective_matches_recomputation(seed, objective):
    inst, sol = feasible_allocation(seed, objective)
    res = validate(inst, sol)
    assert res.feasible, res.violations
    jobs = inst.jobs
    N = inst.gpus_per_type.sum()
    c = min(1.0, N / jobs.gang.sum())
    rho = []
    for j, jid in enumerate(jobs.ids):
        thr = {inst.type_ids[t]: jobs.throughput[j, t] for t in range(len(inst.type_ids)) if jobs.eligible[j, t]}
        eq = sum(v * c * inst.gpus_per_type[inst.type_index[t]] / N for t, v in thr.items())
        got = sum(thr[t] * x for t, x in sol["allocation"].get(jid, {}).items())
        rho.append(got / eq)
    expect = {
        "max-min-fairness": min(rho),
        "max-throughput": sum(rho),
        "proportional-fairness": sum(math.log(r) for r in rho) if min(rho) > 0 else None,
    }[objective]
    if expect is None:
        assert res.objective is None
    else:
        assert res.objective == pytest.approx(expect)
        assert bounds(inst)["upper_bound"] >= res.objective - 1e-9


@FAST
@given(SEEDS, st.sampled_from(["job-share", "type-capacity", "negative", "unknown-type"]))
def test_allocation_injected_violations(seed, kind):
    inst, sol = feasible_allocation(seed)
    bad = copy.deepcopy(sol)
    job = inst.jobs.ids[0]
    t = inst.type_ids[int(np.flatnonzero(inst.jobs.eligible[0])[0])]
    if kind == "job-share":
        bad["allocation"][job] = {t: 1.5}
    elif kind == "type-capacity":
        for jid in inst.jobs.ids:
            j = inst.jobs.index[jid]
            if inst.jobs.eligible[j, inst.type_index[t]]:
                bad["allocation"][jid] = {t: 1.0}
        assume(
            sum(1 for jid in inst.jobs.ids if inst.jobs.eligible[inst.jobs.index[jid], inst.type_index[t]])
            > inst.gpus_per_type[inst.type_index[t]]
        )
    elif kind == "negative":
        bad["allocation"][job] = {t: -0.5}
        kind = "negative-share"
    else:
        bad["allocation"][job] = {"H9000": 0.5}
    res = validate(inst, bad)
    assert kind in kinds(res)


# ---------------------------------------------------------------- structure and claims


def test_malformed_solutions_raise_data_error_with_path():
    inst, sol = feasible_batch(1)
    job = next(iter(sol["schedule"]))
    bad = copy.deepcopy(sol)
    bad["schedule"][job]["start"] = "soon"
    with pytest.raises(DataError) as exc:
        validate(inst, bad, "sol.json")
    assert exc.value.path == f"$.schedule.{job}.start" and exc.value.file == "sol.json"
    with pytest.raises(DataError, match=r"\$\.problem"):
        validate(inst, {"problem": "placement", "assignment": {}})
    with pytest.raises(DataError, match="unknown field"):
        validate(inst, {**sol, "extra": 1})


def test_claimed_objective_is_checked():
    inst, sol = feasible_batch(2)
    res = validate(inst, sol)
    assert validate(inst, {**sol, "objective": res.objective}).claim_matches is True
    assert validate(inst, {**sol, "objective": res.objective * 0.5 - 1}).claim_matches is False


def test_violation_listing_is_capped_but_counted():
    from schedbench.validator.result import MAX_LISTED_PER_KIND

    inst, _sol = feasible_placement(5, n=12)
    bad = {"problem": "placement", "assignment": {f"ghost{i}": ["x"] for i in range(MAX_LISTED_PER_KIND + 50)}}
    res = validate(inst, bad)
    assert res.violation_counts["unknown-job"] == MAX_LISTED_PER_KIND + 50
    assert sum(v.constraint == "unknown-job" for v in res.violations) == MAX_LISTED_PER_KIND


# ---------------------------------------------------------------- hand-built instances: exact verdicts
# Small instances whose every verdict is known, so that each check of the validator (and each
# tolerance: RTOL, ATOL, TIME_ATOL, SHARE_TOL) is pinned: a value just inside its tolerance passes,
# one just outside fails, so moving a tolerance 10x either way, or flipping a comparison at its edge,
# fails a test (tools/mutate.py checks this).


def tiny(cls, objective, demand, *, caps=(10.0, 10.0), params=None, nodes=None, **fields):
    """Types A (GPUs a0, a1 on node nA) and B (b0 on nB), one resource ``m`` with capacities
    ``caps``; jobs j0.. with per-type ``demand`` (n, 2) and the given per-type ``fields``."""
    demand = np.asarray(demand, dtype=float)
    n = demand.shape[0]
    jobs = Jobs.build([f"j{i}" for i in range(n)], demand[:, :, None], **fields)
    nodes = nodes or [Node("nA", "A", ("a0", "a1")), Node("nB", "B", ("b0",))]
    types = [GpuType("A", {"m": caps[0]}), GpuType("B", {"m": caps[1]})]
    return make_instance(
        resources=[Resource("m")],
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem(cls, objective, params or {}),
        metadata={"name": "tiny"},
    )


def verdict(inst, body):
    return validate(inst, {"problem": inst.problem.cls, BODY[inst.problem.cls]: body})


BODY = {"placement": "assignment", "batch": "schedule", "allocation": "allocation"}


def one_job_batch(demand_a, cap_a, *, time=(100.0, 100.0), release=0.0):
    return tiny(
        "batch", "makespan", [[demand_a, 1.0]], caps=(cap_a, 10.0), time=np.array([time]), release=np.array([release])
    )


@pytest.mark.parametrize(
    ("demand", "cap", "ok"),
    [
        (10.0, 10.0, True),  # exactly full
        (1e6 * (1 + 0.5e-9), 1e6, True),
        (1e6 * (1 + 5e-9), 1e6, False),  # RTOL = 1e-9 (ATOL negligible)
        (0.5e-9, 0.0, True),
        (1e-9, 0.0, True),
        (5e-9, 0.0, False),  # ATOL = 1e-9 at capacity 0
        (11.0, 10.0, False),
    ],
)
def test_batch_capacity_tolerance_is_pinned(demand, cap, ok):
    inst = one_job_batch(demand, cap)
    res = verdict(inst, {"j0": {"gpus": ["a0"], "start": 0}})
    assert kinds(res) == (set() if ok else {"capacity"})
    assert res.objective == 100.0  # a capacity violation does not hide the objective
    if not ok:
        assert res.violations[0].job == "j0" and "needs" in res.violations[0].message


@pytest.mark.parametrize("placement_cls", ["placement", "batch"])
def test_capacity_is_checked_on_gpu_type_zero_and_one(placement_cls):
    """The overloaded GPU is of type 0 (A) or 1 (B); only that one is reported."""
    for gpu, t in (("a0", 0), ("b0", 1)):
        demand = [[1.0, 1.0], [1.0, 1.0]]
        demand[0][t] = 11.0
        if placement_cls == "placement":
            inst = tiny("placement", "max-weight", demand)
            res = verdict(inst, {"j0": [gpu], "j1": ["a1"]})
            assert kinds(res) == {"capacity"} and res.violations[0].gpu == gpu
        else:
            inst = tiny("batch", "makespan", demand, time=np.full((2, 2), 5.0))
            res = verdict(inst, {"j0": {"gpus": [gpu], "start": 0}, "j1": {"gpus": ["a1"], "start": 0}})
            assert kinds(res) == {"capacity"} and res.violations[0].job == "j0"


@pytest.mark.parametrize(
    ("start", "ok"), [(10.0, True), (10.0 - 0.5e-6, True), (10.0 - TIME_ATOL, True), (10.0 - 5e-6, False), (9.0, False)]
)
def test_batch_release_tolerance_is_pinned(start, ok):
    inst = one_job_batch(1.0, 10.0, release=10.0)
    res = verdict(inst, {"j0": {"gpus": ["a0"], "start": start}})
    assert kinds(res) == (set() if ok else {"release"})
    assert res.objective == pytest.approx(start + 100.0)


@pytest.mark.parametrize(
    ("p", "gap", "ok"),
    [
        (100.0, 0.0, True),
        (100.0, 0.5e-6, True),
        (100.0, 5e-6, False),  # TIME_ATOL (+1e-7 relative)
        (1e6, 0.5e-3, True),
        (1e6, 5e-3, False),  # RTOL x end time dominates at 1e6 s
        (1e6, "edge", True),
        (100.0, -1.0, True),
    ],
)
def test_batch_overlap_tolerance_is_pinned(p, gap, ok):
    inst = tiny("batch", "makespan", [[1.0, 1.0]] * 3, time=np.full((3, 2), p))
    start = p - (TIME_ATOL + RTOL * p) if gap == "edge" else p - gap
    res = verdict(
        inst,
        {
            "j0": {"gpus": ["a0"], "start": 0},
            "j1": {"gpus": ["a0"], "start": start},
            "j2": {"gpus": ["b0"], "start": 0},
        },
    )
    assert kinds(res) == (set() if ok else {"overlap"})
    if not ok:
        v = res.violations[0]
        assert v.gpu == "a0" and v.job == "j1"
        assert v.message == f"GPU 'a0': job 'j1' starts at {start:.9g} while job 'j0' runs until {p:.9g}"
    # the same jobs on different GPUs never overlap
    res = verdict(
        inst,
        {
            "j0": {"gpus": ["a0"], "start": 0},
            "j1": {"gpus": ["a1"], "start": start},
            "j2": {"gpus": ["b0"], "start": 0},
        },
    )
    assert res.feasible and res.objective == pytest.approx(start + p)


def test_batch_incomplete_schedule_has_no_objective():
    inst = tiny(
        "batch",
        "weighted-completion",
        [[1.0, 1.0], [1.0, 1.0]],
        time=np.full((2, 2), 3.0),
        eligible=np.array([[True, True], [False, True]]),
    )
    full = {"j0": {"gpus": ["a0"], "start": 0}, "j1": {"gpus": ["b0"], "start": 0}}
    res = verdict(inst, full)
    assert res.feasible and res.objective == 6.0 and res.metrics["scheduled_jobs"] == 2
    res = verdict(inst, {"j0": {"gpus": ["a0"], "start": 0}})  # j1 missing, j0 usable
    assert kinds(res) == {"unscheduled"} and res.objective is None and res.metrics["scheduled_jobs"] == 1
    res = verdict(inst, {**full, "j1": {"gpus": ["a1"], "start": 0}})  # all scheduled, j1 ineligible on A
    assert kinds(res) == {"ineligible-type"} and res.objective is None
    assert res.violations[0].job == "j1" and "'A'" in res.violations[0].message


@pytest.mark.parametrize("objective", ["makespan", "weighted-completion", "weighted-tardiness"])
def test_batch_objectives_on_a_known_schedule(objective):
    inst = tiny(
        "batch",
        objective,
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]],
        time=np.array([[4.0, 8.0]] * 3),
        weight=np.array([1.0, 2.0, 3.0]),
        release=np.array([0.0, 1.0, 0.0]),
        deadline=np.array([4.0, np.nan, 5.0]),
    )
    sched = {"j0": {"gpus": ["a0"], "start": 0}, "j1": {"gpus": ["a0"], "start": 4}, "j2": {"gpus": ["b0"], "start": 0}}
    res = verdict(inst, sched)  # C = 4, 8, 8: j0 finishes exactly at its deadline, j2 3 s late
    assert res.feasible
    assert res.objective == {"makespan": 8.0, "weighted-completion": 4 + 16 + 24, "weighted-tardiness": 9.0}[objective]
    assert res.metrics["makespan"] == 8.0 and res.metrics["total_completion"] == 20.0
    if objective == "weighted-tardiness":
        assert res.metrics["tardy_jobs"] == 1


def test_placement_capacity_and_tolerance_are_pinned():
    inst = tiny("placement", "max-weight", [[6.0, 1.0], [4.0, 1.0]])
    assert verdict(inst, {"j0": ["a0"], "j1": ["a0"]}).feasible  # 6 + 4 = 10: exactly full
    assert verdict(inst, {"j0": ["a0"], "j1": ["a0"]}).objective == 2.0
    for extra, ok in ((1e6 * 0.5e-9, True), (1e6 * 5e-9, False)):
        big = tiny("placement", "max-weight", [[5e5, 1.0], [5e5 + extra, 1.0]], caps=(1e6, 1.0))
        res = verdict(big, {"j0": ["a0"], "j1": ["a0"]})
        assert kinds(res) == (set() if ok else {"capacity"}), extra
    for d, ok in ((0.5e-9, True), (1e-9, True), (5e-9, False)):  # (1e-9: exactly ATOL, the edge)
        zero = tiny("placement", "max-weight", [[d / 2, 1.0], [d / 2, 1.0]], caps=(0.0, 1.0))
        res = verdict(zero, {"j0": ["a0"], "j1": ["a0"]})
        assert kinds(res) == (set() if ok else {"capacity"}), d
        if not ok:
            v = res.violations[0]
            assert v.gpu == "a0" and v.job is None and "j0, j1" in v.message


def test_eligibility_is_checked_on_gpu_type_zero():
    inst = tiny("placement", "max-weight", [[1.0, 1.0], [1.0, 1.0]], eligible=np.array([[False, True], [True, False]]))
    res = verdict(inst, {"j0": ["a0"]})
    assert kinds(res) == {"ineligible-type"} and res.violations[0].job == "j0"
    assert "'A'" in res.violations[0].message
    res = verdict(inst, {"j1": ["b0"]})
    assert kinds(res) == {"ineligible-type"} and res.violations[0].job == "j1"
    res = verdict(inst, {"j0": ["b0"], "j1": ["a1"]})
    assert res.feasible and res.objective == 2.0


def test_placement_objectives_need_every_job_placed():
    inst = tiny("placement", "min-cost", [[1.0, 1.0], [1.0, 1.0]], cost=np.array([[2.0, 5.0], [3.0, 7.0]]))
    res = verdict(inst, {"j0": ["a0"], "j1": ["b0"]})
    assert res.feasible and res.objective == 9.0
    assert res.metrics == {"placed_jobs": 2, "unplaced_jobs": 0, "gpus_used": 2}
    res = verdict(inst, {"j0": ["a0"], "j1": None})
    assert kinds(res) == {"unplaced"} and res.objective is None and res.violations[0].job == "j1"
    gpus = tiny("placement", "min-gpus", [[1.0, 1.0], [1.0, 1.0]])
    assert verdict(gpus, {"j0": ["a0"], "j1": ["a0"]}).objective == 1.0
    priced = make_instance(
        resources=gpus.resources,
        gpu_types=[GpuType("A", {"m": 10.0}, cost_per_hour=3.0), GpuType("B", {"m": 10.0}, cost_per_hour=2.0)],
        nodes=gpus.nodes,
        jobs=gpus.jobs,
        problem=Problem("placement", "min-gpus", {"measure": "cost"}),
        metadata={"name": "p"},
    )
    assert verdict(priced, {"j0": ["a0"], "j1": ["b0"]}).objective == 5.0
    assert verdict(priced, {"j0": ["a0"], "j1": ["a1"]}).objective == 6.0
    res = verdict(gpus, {"j0": ["a0"], "j1": []})
    assert kinds(res) == {"unplaced"}
    weight = tiny("placement", "max-weight", [[1.0, 1.0], [1.0, 1.0]], weight=np.array([2.0, 3.0]))
    res = verdict(weight, {"j0": None, "j1": ["b0"]})
    assert res.feasible and res.objective == 3.0 and res.metrics["unplaced_jobs"] == 1


def test_gang_checks_exactly():
    nodes = [Node("nA", "A", ("a0", "a1")), Node("nA2", "A", ("a2",)), Node("nB", "B", ("b0", "b1"))]
    inst = tiny("placement", "max-weight", [[1.0, 1.0]], nodes=nodes, gang=np.array([2]))
    assert verdict(inst, {"j0": ["a0", "a1"]}).feasible
    assert kinds(verdict(inst, {"j0": ["a0", "a0"]})) == {"duplicate-gpu", "gang-size"}
    assert kinds(verdict(inst, {"j0": ["a0"]})) == {"gang-size"}
    assert kinds(verdict(inst, {"j0": ["a0", "a1", "a2"]})) == {"gang-size", "gang-multi-node"}
    res = verdict(inst, {"j0": ["a0", "a2"]})
    assert kinds(res) == {"gang-multi-node"}
    assert res.violations[0].message == "job 'j0' spans nodes ['nA', 'nA2'] (allow_multi_node is false)"
    res = verdict(inst, {"j0": ["a0", "b0"]})
    assert kinds(res) == {"gang-mixed-types", "gang-multi-node"}
    assert {v.message for v in res.violations} == {
        "job 'j0' spans GPU types ['A', 'B']",
        "job 'j0' spans nodes ['nA', 'nB'] (allow_multi_node is false)",
    }
    assert kinds(verdict(inst, {"j0": ["a0", "zz"]})) == {"unknown-gpu", "gang-size"}
    multi = tiny(
        "placement", "max-weight", [[1.0, 1.0]], nodes=nodes, gang=np.array([2]), params={"allow_multi_node": True}
    )
    assert verdict(multi, {"j0": ["a0", "a2"]}).feasible
    assert kinds(verdict(multi, {"j0": ["a0", "b0"]})) == {"gang-mixed-types"}


def test_envelope_and_structure_errors():
    inst = tiny("placement", "max-weight", [[1.0, 1.0]])
    ok = {"problem": "placement", "assignment": {"j0": ["a0"]}}
    for bad, where in (
        ([], "$"),
        ({"problem": "batch", "assignment": {}}, "$.problem"),
        ({"problem": "placement"}, "$.assignment"),
        ({**ok, "objective": "1"}, "$.objective"),
        ({**ok, "objective": True}, "$.objective"),
        ({**ok, "notes": 1}, "$.notes"),
        ({"problem": "placement", "assignment": []}, "$.assignment"),
        ({"problem": "placement", "assignment": {"j0": "a0"}}, "$.assignment.j0"),
        ({"problem": "placement", "assignment": {"j0": ["a0", 1]}}, "$.assignment.j0"),
    ):
        with pytest.raises(DataError) as exc:
            validate(inst, bad, "s.json")
        assert exc.value.path == where
    res = validate(inst, {**ok, "objective": 1, "status": "optimal", "solver": "x", "bound": 1, "metadata": {}})
    assert res.feasible and res.claimed_objective == 1.0 and res.claim_matches is True
    batch = one_job_batch(1.0, 10.0)
    for body, where in (
        ([], "$.schedule"),
        ({"j0": []}, "$.schedule.j0"),
        ({"j0": {"gpus": ["a0"]}}, "$.schedule.j0"),
        ({"j0": {"start": 0}}, "$.schedule.j0"),
        ({"j0": {"gpus": "a0", "start": 0}}, "$.schedule.j0.gpus"),
    ):
        with pytest.raises(DataError) as exc:
            validate(batch, {"problem": "batch", "schedule": body})
        assert exc.value.path == where
    alloc = tiny("allocation", "max-throughput", [[1.0, 1.0]], throughput=np.array([[1.0, 2.0]]))
    for body, where in (
        ([], "$.allocation"),
        ({"j0": [0.5]}, "$.allocation.j0"),
        ({"j0": {"A": "x"}}, "$.allocation.j0.A"),
    ):
        with pytest.raises(DataError) as exc:
            validate(alloc, {"problem": "allocation", "allocation": body})
        assert exc.value.path == where


def test_as_number():
    assert as_number(1) == 1.0 and as_number(2.5) == 2.5 and as_number(np.int64(3)) == 3.0
    assert as_number(np.float32(0.5)) == 0.5
    for bad in (True, np.bool_(False), float("nan"), float("inf"), 10**400, "1", None, [1]):
        assert as_number(bad) is None, bad


def test_claim_tolerance_is_pinned():
    inst = tiny("placement", "max-weight", [[1.0, 1.0]] * 3, weight=np.array([1e3, 1e3, 1e3]))
    body = {"j0": ["a0"], "j1": ["a1"], "j2": ["b0"]}
    value = verdict(inst, body).objective
    assert value == 3000.0
    for claim, match in ((3000 * (1 + 0.5e-6), True), (3000 * (1 + 5e-6), False), (3000 * (1 - 5e-6), False)):
        res = validate(inst, {"problem": "placement", "assignment": body, "objective": claim})
        assert res.claim_matches is match, claim
    small = tiny("placement", "max-weight", [[1.0, 1.0]], weight=np.array([0.0]))  # scale max(1, |0|) = 1
    for claim, match in ((0.5e-6, True), (1e-6, True), (5e-6, False)):  # 1e-6: exactly at the edge
        res = validate(small, {"problem": "placement", "assignment": {"j0": ["a0"]}, "objective": claim})
        assert res.claim_matches is match
    res = validate(small, {"problem": "placement", "assignment": {"j0": ["a0"]}})
    assert res.claim_matches is None
    d = res.to_dict()
    assert d["claim_matches"] is None and d["violations"] == [] and d["objective"] == 0.0


def test_violation_to_dict_and_counts():
    from schedbench.validator.result import Violations

    v = Violations()
    v.add("x", "m1", job="j")
    v.add("x", "m2", gpu="g")
    v.add_count("x", 0)
    v.add_count("y", -1)
    assert v.counts == {"x": 2} and v.total == 2 and bool(v)
    assert [e.to_dict() for e in v.listed] == [
        {"constraint": "x", "message": "m1", "job": "j"},
        {"constraint": "x", "message": "m2", "gpu": "g"},
    ]
    v.add_count("x", 3)
    assert v.counts["x"] == 5 and v.total == 5
    assert not Violations()
    from schedbench.validator.result import MAX_LISTED_PER_KIND

    many = Violations()
    many.add("y", "first")
    many.add_many("y", list(range(MAX_LISTED_PER_KIND + 10)), lambda k: (f"m{k}", None, None))
    assert many.counts["y"] == MAX_LISTED_PER_KIND + 11 and len(many.listed) == MAX_LISTED_PER_KIND
    assert many.room("y") == 0 and many.room("z") == MAX_LISTED_PER_KIND


# ---------------------------------------------------------------- allocation, exact


def alloc_inst(objective="max-throughput", gang=(1, 1), eligible=((True, True), (True, False))):
    return tiny(
        "allocation",
        objective,
        [[1.0, 1.0], [1.0, 1.0]],
        throughput=np.array([[1.0, 2.0], [3.0, 4.0]]),
        gang=np.array(gang),
        eligible=np.array(eligible),
    )


@pytest.mark.parametrize(("share", "ok"), [(0.5e-6, True), (SHARE_TOL, True), (5e-6, False), (0.5, False)])
def test_allocation_ineligible_share_tolerance_is_pinned(share, ok):
    inst = alloc_inst()
    res = verdict(inst, {"j0": {"A": 0.5}, "j1": {"A": 0.5, "B": share}})
    assert kinds(res) == (set() if ok else {"ineligible-type"})
    if not ok:
        assert res.violations[0].job == "j1" and "'B'" in res.violations[0].message


def test_allocation_gang_larger_than_a_type_is_blocked():
    # j0 has gang 2: type B has only one GPU, so any share of B is a violation; type A (2 GPUs) is fine
    inst = alloc_inst(gang=(2, 1), eligible=((True, True), (True, True)))
    assert verdict(inst, {"j0": {"A": 0.5}, "j1": {"B": 1.0}}).feasible
    res = verdict(inst, {"j0": {"A": 0.5, "B": 0.1}, "j1": {"A": 0.5}})
    assert kinds(res) == {"ineligible-type"} and res.violations[0].job == "j0"


@pytest.mark.parametrize(("share", "ok"), [(-0.5e-6, True), (-SHARE_TOL, True), (-5e-6, False)])
def test_allocation_negative_share_tolerance_is_pinned(share, ok):
    res = verdict(alloc_inst(), {"j0": {"A": share}, "j1": {"A": 0.5}})
    assert kinds(res) == (set() if ok else {"negative-share"})


@pytest.mark.parametrize(("extra", "ok"), [(0.0, True), (0.5e-6, True), (SHARE_TOL, True), (5e-6, False)])
def test_allocation_job_share_tolerance_is_pinned(extra, ok):
    res = verdict(alloc_inst(), {"j0": {"A": 1.0 + extra}, "j1": {"A": 0.5}})
    assert kinds(res) == (set() if ok else {"job-share"})
    if extra != SHARE_TOL:  # (the exact edge is not representable as a sum of two shares)
        res = verdict(alloc_inst(), {"j0": {"A": 0.25, "B": 0.75 + extra}, "j1": {"A": 0.5}})  # summed over types
        assert kinds(res) == (set() if ok else {"job-share"})


@pytest.mark.parametrize(("extra", "ok"), [(0.0, True), (1.5e-6, True), (5e-6, False)])
def test_allocation_type_capacity_tolerance_is_pinned(extra, ok):
    # type B has one GPU: shares of B sum to 1 + extra (tolerance 1e-6 relative + 1e-6 absolute)
    inst = alloc_inst(eligible=((True, True), (True, True)))
    res = verdict(inst, {"j0": {"B": 0.5}, "j1": {"B": 0.5 + extra}})
    assert kinds(res) == (set() if ok else {"type-capacity"})
    assert res.metrics["type_utilisation"]["B"] == pytest.approx(1.0 + extra)


def test_allocation_duplicate_and_unknown_types():
    inst = alloc_inst()
    doc = jsonio.loads(
        '{"problem": "allocation", "allocation": {"j0": {"A": 0.25, "A": 0.5}, "j1": {"A": 0.5}}}', duplicates="record"
    )
    res = validate(inst, doc)
    assert kinds(res) == {"duplicate-type"} and res.violations[0].job == "j0"
    res = verdict(inst, {"j0": {"A": 0.5, "Z": 0.1}, "j1": {"A": 0.5}})
    assert kinds(res) == {"unknown-type"} and res.violations[0].job == "j0"


def test_allocation_objectives_exactly():
    # 3 GPUs, gangs sum to 2: c = 1, equal share = (2/3, 1/3) of (A, B);
    # j0: eq = 1*2/3 + 2*1/3 = 4/3; j1 (A only): eq = 3*2/3 = 2
    body = {"j0": {"B": 1.0}, "j1": {"A": 1.0}}  # j0 gets 2 (rho 1.5), j1 gets 3 (rho 1.5)
    expect = {"max-throughput": 3.0, "max-min-fairness": 1.5, "proportional-fairness": 2 * math.log(1.5)}
    for objective, value in expect.items():
        res = verdict(alloc_inst(objective), body)
        assert res.feasible and res.objective == pytest.approx(value)
        assert res.metrics["min_normalised_throughput"] == pytest.approx(1.5)
    res = verdict(alloc_inst("proportional-fairness"), {"j1": {"A": 1.0}})
    assert res.feasible and res.objective is None  # j0 gets nothing: log 0
    b = bounds(alloc_inst("max-throughput"))  # best: j0 all of B (2 / (4/3)), j1 all of A (3 / 2)
    assert b == {"upper_bound": pytest.approx(1.5 + 1.5)}
    assert bounds(alloc_inst("max-min-fairness")) == {"upper_bound": pytest.approx(1.5)}


# ---------------------------------------------------------------- online, exact edge cases


def online(
    objective="mean-jct",
    *,
    release=(0.0,),
    time=((10.0, 10.0),),
    demand=None,
    gang=None,
    caps=(10.0, 10.0),
    deadline=None,
    **params,
):
    n = len(release)
    return tiny(
        "online",
        objective,
        demand if demand is not None else [[1.0, 1.0]] * n,
        caps=caps,
        time=np.array(time, dtype=float),
        release=np.array(release, dtype=float),
        gang=None if gang is None else np.array(gang),
        deadline=None if deadline is None else np.array(deadline, dtype=float),
        params=params,
    )


def run_log(inst, *events):
    return validate(
        inst,
        {
            "problem": "online",
            "events": [
                {"time": t, "job": j, "event": e, **({"gpus": g} if g is not None else {})} for t, j, e, g in events
            ],
        },
    )


def test_online_utilisation_when_the_first_release_is_not_zero():
    inst = online(release=(10.0,))
    res = run_log(inst, (10, "j0", "start", ["a0"]), (20, "j0", "finish", None))
    assert res.feasible and res.metrics["makespan"] == 20.0
    assert res.metrics["utilisation"] == pytest.approx(10 / (3 * 10))  # 3 GPUs over [10, 20]
    assert res.metrics["queueing_delay_mean"] == 0.0 and res.objective == 10.0
    late = run_log(inst, (12, "j0", "start", ["a0"]), (25, "j0", "finish", None))
    assert late.metrics["utilisation"] == pytest.approx(13 / (3 * 15))
    assert late.metrics["queueing_delay_mean"] == 2.0 and late.objective == 15.0


@pytest.mark.parametrize(
    ("finish", "met"),
    [(20.0, True), (20.0 + 0.5e-6, True), (20.0 + TIME_ATOL, True), (20.0 + 5e-6, False), (21.0, False)],
)
def test_online_deadline_met_exactly_at_the_deadline(finish, met):
    inst = online("deadline-miss-rate", release=(0.0, 0.0), time=((10.0, 10.0), (10.0, 10.0)), deadline=(20.0, np.nan))
    res = run_log(
        inst,
        (10, "j0", "start", ["a0"]),
        (finish, "j0", "finish", None),
        (0, "j1", "start", ["b0"]),
        (10, "j1", "finish", None),
    )
    assert res.feasible
    assert res.metrics["deadline_met_fraction"] == (1.0 if met else 0.0)
    assert res.objective == (0.0 if met else 1.0)


def test_online_rejected_and_unfinished_jobs_miss_their_deadline():
    inst = online(
        "deadline-miss-rate", release=(0.0, 0.0, 0.0), time=((10.0, 10.0),) * 3, deadline=(100.0, 100.0, 100.0)
    )
    res = run_log(
        inst,
        (0, "j0", "start", ["a0"]),
        (10, "j0", "finish", None),
        (0, "j1", "reject", None),
        (0, "j2", "start", ["b0"]),
    )
    assert kinds(res) == {"unfinished"} and res.objective is None
    assert res.metrics["deadline_met_fraction"] == pytest.approx(1 / 3)
    assert res.metrics["rejected"] == 1 and res.metrics["acceptance_rate"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(("reject_at", "ftf_j0"), [(2.0, 1.0), (15.0, 0.75)])
def test_online_finish_time_fairness_with_a_rejected_job(reject_at, ftf_j0):
    # j0: gang 2 on A, released at 10, runs 10 s. j1 (released 0) is rejected before or after 10:
    # only in the second case is it in the system at j0's release, so n_0 = 2 and
    # T_ideal = 10 * max(1, 2 * 2 / 3 GPUs) = 40/3 -> rho = 0.75; else n_0 = 1 and rho = 1.
    # (j0 would be faster on B, but B has 1 GPU: its best usable time is A's 10 s)
    inst = online("max-ftf", release=(10.0, 0.0, 0.0), time=((10.0, 5.0), (10.0, 10.0), (5.0, 5.0)), gang=(2, 1, 1))
    res = run_log(
        inst,
        (10, "j0", "start", ["a0", "a1"]),
        (20, "j0", "finish", None),
        (reject_at, "j1", "reject", None),
        (0, "j2", "start", ["b0"]),
        (5, "j2", "finish", None),
    )
    assert res.feasible
    # j2: released at 0 with j1 (rejected later) -> n = 2, 2 * 1 / 3 < 1 -> rho = 5 / 5 = 1
    assert res.metrics["ftf_max"] == pytest.approx(1.0)
    assert res.metrics["ftf_mean"] == pytest.approx((ftf_j0 + 1.0) / 2)
    assert res.objective == pytest.approx(1.0)
    assert res.metrics["jain_index"] == pytest.approx((1 / ftf_j0 + 1) ** 2 / (2 * (1 / ftf_j0**2 + 1)))


@pytest.mark.parametrize(("hold", "overload"), [(0.5e-6, False), (TIME_ATOL, False), (5e-6, True)])
def test_online_zero_length_holdings_put_no_load(hold, overload):
    # j0 starts on a0 and moves to b0 after `hold` seconds; j1 takes a0 at the same instant j0 started.
    inst = online(
        release=(0.0, 0.0), time=((10.0, 10.0), (10.0, 10.0)), demand=[[6.0, 6.0], [6.0, 6.0]], allow_migration=True
    )
    res = run_log(
        inst,
        (0, "j0", "start", ["a0"]),
        (hold, "j0", "migrate", ["b0"]),
        (20, "j0", "finish", None),
        (0, "j1", "start", ["a0"]),
        (10, "j1", "finish", None),
    )
    assert kinds(res) == ({"capacity"} if overload else set())
    if overload:
        assert res.violations[0].gpu == "a0" and "j0, j1" in res.violations[0].message


@pytest.mark.parametrize(("gap", "overload"), [(0.0, False), (0.5e-6, False), (5e-6, True)])
def test_online_hand_over_tolerance_is_pinned(gap, overload):
    inst = online(release=(0.0, 0.0), time=((10.0, 10.0), (10.0, 10.0)), demand=[[6.0, 6.0], [6.0, 6.0]])
    res = run_log(
        inst,
        (0, "j0", "start", ["a0"]),
        (10, "j0", "finish", None),
        (10 - gap, "j1", "start", ["a0"]),
        (30, "j1", "finish", None),
    )
    assert kinds(res) == ({"capacity"} if overload else set())
    assert res.metrics["utilisation"] == pytest.approx((10 + 20 + gap) / (3 * 30))


@pytest.mark.parametrize(
    ("demand", "cap", "ok"),
    [
        (10.0, 10.0, True),
        (1e6 * (1 + 0.5e-9), 1e6, True),
        (1e6 * (1 + 5e-9), 1e6, False),
        (1e-9, 0.0, True),
        (5e-9, 0.0, False),
    ],
)
def test_online_capacity_tolerance_is_pinned(demand, cap, ok):
    inst = online(demand=[[demand, 1.0]], caps=(cap, 10.0))
    res = run_log(inst, (0, "j0", "start", ["a0"]), (10, "j0", "finish", None))
    assert kinds(res) == (set() if ok else {"capacity"})


@pytest.mark.parametrize(
    ("p", "early", "ok"),
    [
        (100.0, 0.0, True),
        (100.0, 0.5e-6, True),
        (100.0, 5e-6, False),  # TIME_ATOL / p
        (1e6, 1e6 * 0.5e-9, True),
        (1e6, 1e6 * 5e-9, False),  # RTOL dominates for long jobs
        (1.0, "edge", True),
    ],
)  # work exactly 1 - RTOL - TIME_ATOL / p
def test_online_finish_work_tolerance_is_pinned(p, early, ok):
    inst = online(time=((p, p),))
    finish = 1.0 - RTOL - TIME_ATOL / 1.0 if early == "edge" else p - early
    res = run_log(inst, (0, "j0", "start", ["a0"]), (finish, "j0", "finish", None))
    assert kinds(res) == (set() if ok else {"finish-before-work-done"})


@pytest.mark.parametrize(
    ("start", "ok"), [(5.0, True), (5.0 - 0.5e-6, True), (5.0 - TIME_ATOL, True), (5.0 - 5e-6, False)]
)
def test_online_release_tolerance_is_pinned(start, ok):
    inst = online(release=(5.0,))
    res = run_log(inst, (start, "j0", "start", ["a0"]), (start + 10, "j0", "finish", None))
    assert kinds(res) == (set() if ok else {"release"})
    res = run_log(inst, (start, "j0", "reject", None))
    assert kinds(res) == (set() if ok else {"release"})
    if not ok:
        assert res.violations[0].message.startswith(f"job 'j0' is rejected at time {start:.9g} before its release 5")


# ---------------------------------------------------------------- bounds, exact


def test_bounds_placement_exact():
    cost = np.array([[2.0, 5.0], [3.0, 1.0], [4.0, 6.0]])
    # j1 cannot use B (demand above B's capacity), j2 is a gang of 2 and B has one GPU
    demand = [[1.0, 10.0], [1.0, 10.0 * (1 + 5e-9)], [1.0, 1.0]]
    inst = tiny("placement", "min-cost", demand, cost=cost, gang=np.array([1, 1, 2]))
    assert bounds(inst) == {"lower_bound": 2.0 + 3.0 + 4.0}
    inside = tiny(
        "placement",
        "min-cost",
        [[1.0, 10.0], [1.0, 10.0 * (1 + 0.5e-9)], [1.0, 1.0]],
        cost=cost,
        gang=np.array([1, 1, 1]),
    )
    assert bounds(inside) == {"lower_bound": 2.0 + 1.0 + 4.0}  # within 1e-9 relative: j1 fits B
    weight = tiny("placement", "max-weight", [[1.0, 1.0], [11.0, 11.0], [10.0, 10.0]], weight=np.array([1.0, 2.0, 4.0]))
    assert bounds(weight) == {"upper_bound": 5.0}  # j1 fits nowhere; j2 exactly fills a GPU
    # gangs of 2: A has exactly 2 GPUs, B one; j1's demand does not fit A, so j1 fits nowhere
    gang = tiny(
        "placement", "max-weight", [[1.0, 1.0], [11.0, 1.0]], weight=np.array([1.0, 2.0]), gang=np.array([2, 2])
    )
    assert bounds(gang) == {"upper_bound": 1.0}


@pytest.mark.parametrize(
    ("total", "count"), [(20.0, 2), (20.0 * (1 + 0.5e-9), 2), (20.0 * (1 + 5e-9), 3), (21.0, 3), (5.0, 1)]
)
def test_bounds_min_gpus_exact(total, count):
    # four jobs whose demands sum to `total` on 10-unit GPUs: ceil(total / 10) GPUs (1e-9 tolerance)
    inst = tiny("placement", "min-gpus", [[total / 4, total / 4]] * 4, caps=(10.0, 10.0))
    assert bounds(inst) == {"lower_bound": float(count)}
    priced = make_instance(
        resources=inst.resources,
        gpu_types=[GpuType("A", {"m": 10.0}, cost_per_hour=3.0), GpuType("B", {"m": 10.0}, cost_per_hour=2.0)],
        nodes=inst.nodes,
        jobs=inst.jobs,
        problem=Problem("placement", "min-gpus", {"measure": "cost"}),
        metadata={"name": "p"},
    )
    assert bounds(priced) == {"lower_bound": 2.0 * count}
    gang = tiny("placement", "min-gpus", [[1.0, 1.0]], gang=np.array([2]))
    assert bounds(gang) == {"lower_bound": 2.0}  # a gang of 2 needs 2 GPUs however small
    zero = tiny("placement", "min-gpus", [[0.0, 0.0]], caps=(0.0, 0.0))
    assert bounds(zero) == {"lower_bound": 1.0}


@pytest.mark.parametrize("cls", ["batch", "online"])
def test_bounds_time_exact(cls):
    # j0: best 4 (A), released 1; j1: best 3 (B only usable: gang 1, A ineligible), released 0;
    # j2: gang 2, so only A (2 GPUs): 6, released 2
    fields = dict(
        time=np.array([[4.0, 5.0], [9.0, 3.0], [6.0, 1.0]]),
        release=np.array([1.0, 0.0, 2.0]),
        gang=np.array([1, 1, 2]),
        eligible=np.array([[True, True], [False, True], [True, True]]),
        weight=np.array([1.0, 2.0, 3.0]),
        deadline=np.array([4.0, np.nan, 5.0]),
    )
    demand = [[1.0, 1.0]] * 3
    earliest = np.array([5.0, 3.0, 8.0])
    if cls == "online":
        assert bounds(tiny("online", "mean-jct", demand, **fields)) == {"lower_bound": pytest.approx(13 / 3)}
        assert bounds(tiny("online", "makespan", demand, **fields)) == {"lower_bound": 8.0}
        assert bounds(tiny("online", "max-ftf", demand, **fields)) == {}
        return
    # makespan: max(earliest completion 8, first release 0 + work (4 + 3 + 2 x 6) / 3 GPUs)
    assert bounds(tiny("batch", "makespan", demand, **fields)) == {"lower_bound": max(8.0, 19 / 3)}
    wide = dict(fields, time=np.array([[40.0, 50.0], [90.0, 30.0], [60.0, 10.0]]))
    assert bounds(tiny("batch", "makespan", demand, **wide)) == {"lower_bound": pytest.approx(190 / 3)}
    assert bounds(tiny("batch", "weighted-completion", demand, **fields)) == {
        "lower_bound": float(np.dot([1, 2, 3], earliest))
    }
    assert bounds(tiny("batch", "weighted-tardiness", demand, **fields)) == {"lower_bound": 1 * 1.0 + 3 * 3.0}
    no_deadline = dict(fields)
    del no_deadline["deadline"]
    assert bounds(tiny("batch", "weighted-tardiness", demand, **no_deadline)) == {"lower_bound": 0.0}


def test_allocation_throughput_from_time_and_exact_type_capacity_edge():
    # no throughput: the rate is 1 / time; j0 is 2x faster on A than j1
    inst = tiny("allocation", "max-throughput", [[1.0, 1.0]] * 3, time=np.array([[2.0, 4.0], [4.0, 4.0], [4.0, 8.0]]))
    # A has 2 GPUs; shares of A sum EXACTLY to the tolerance edge 2 (1 + 1e-6) + 1e-6 (feasible)
    edge = 2 * (1 + SHARE_TOL) + SHARE_TOL
    res = verdict(inst, {"j0": {"A": 1.0}, "j1": {"A": 0.5}, "j2": {"A": edge - 1.5}})
    assert res.feasible, res.violations
    # equal share: c = 1 (3 GPUs, 3 jobs), 2/3 of A and 1/3 of B each
    eq = np.array([(2 / 3) / 2 + (1 / 3) / 4, (2 / 3) / 4 + (1 / 3) / 4, (2 / 3) / 4 + (1 / 3) / 8])
    got = np.array([1.0 / 2, 0.5 / 4, (edge - 1.5) / 4])
    assert res.objective == pytest.approx(float((got / eq).sum()))
    assert res.metrics["type_utilisation"] == {"A": pytest.approx(edge / 2), "B": 0.0}


def test_batch_gang_violation_hides_the_objective():
    inst = tiny("batch", "makespan", [[1.0, 1.0], [1.0, 1.0]], time=np.full((2, 2), 5.0))
    res = verdict(inst, {"j0": {"gpus": ["a0", "a1"], "start": 0}, "j1": {"gpus": ["b0"], "start": 0}})
    assert kinds(res) == {"gang-size"} and res.objective is None and res.violations[0].job == "j0"
    res = verdict(inst, {"j0": {"gpus": ["a0", "b0"], "start": 0}, "j1": {"gpus": ["a1"], "start": 0}})
    assert kinds(res) == {"gang-size", "gang-mixed-types", "gang-multi-node"} and res.objective is None


def test_online_well_formed_logs_take_the_fast_path(monkeypatch):
    """The column-wise parser must accept every well-formed log by itself (the event-by-event parser
    is only for naming the first malformed event); same verdict either way."""
    import schedbench.validator.online as online_mod

    inst = online(release=(0.0, 0.0, 0.0), time=((10.0, 10.0),) * 3)
    events = [
        (0, "j0", "start", ["a0"]),
        (2, "j0", "preempt", None),
        (3, "j0", "resume", ["a1"]),
        (5, "j0", "migrate", ["b0"]),
        (20, "j0", "finish", []),
        (0.5, "j1", "start", ["a0"]),
        (10.5, "j1", "finish", None),
        (1, "j2", "reject", []),
    ]
    body = [{"time": t, "job": j, "event": e, **({"gpus": g} if g is not None else {})} for t, j, e, g in events]
    slow = online_mod._parse_slow(body, "<log>")
    fast = online_mod._parse(body, "<log>")
    for a, b in zip(slow, fast, strict=True):
        assert (np.asarray(a) == np.asarray(b)).all() if isinstance(a, np.ndarray) else a == b

    def refuse(*args, **kwargs):
        raise AssertionError("a well-formed log went through the event-by-event parser")

    monkeypatch.setattr(online_mod, "_parse_slow", refuse)
    res = run_log(inst, *events)
    assert res.feasible, res.violations


def test_an_objective_overflowing_double_precision_is_refused():
    from schedbench.validator import ObjectiveOverflowError

    inst = tiny("placement", "min-cost", [[1.0, 1.0]] * 2, cost=np.full((2, 2), 1e308))
    with pytest.raises(ObjectiveOverflowError) as exc:
        verdict(inst, {"j0": ["a0"], "j1": ["a1"]})
    assert exc.value.path == "$" and "inf" in str(exc.value)
    assert verdict(inst, {"j0": ["a0"], "j1": None}).objective is None  # unplaced: no objective, no overflow


def test_bounds_min_gpus_with_a_zero_capacity_resource():
    # resource r0 has capacity 0 everywhere and nobody needs it; r1 needs 25.5 / 10 -> 3 GPUs
    jobs = Jobs.build(["j0", "j1", "j2"], np.array([[[0.0, 8.5]] * 2] * 3))
    inst = make_instance(
        resources=[Resource("r0"), Resource("r1")],
        gpu_types=[GpuType("A", {"r0": 0.0, "r1": 10.0}), GpuType("B", {"r0": 0.0, "r1": 10.0})],
        nodes=[Node("nA", "A", ("a0", "a1")), Node("nB", "B", ("b0",))],
        jobs=jobs,
        problem=Problem("placement", "min-gpus", {}),
        metadata={"name": "zero-r"},
    )
    assert bounds(inst) == {"lower_bound": 3.0}


def test_online_littles_law_metrics_exactly():
    # released at 10: j0 finishes at 20, j1 is rejected at 15, j2 never runs (unfinished: not counted)
    inst = online(release=(10.0, 10.0, 10.0), time=((10.0, 10.0),) * 3)
    res = run_log(inst, (10, "j0", "start", ["a0"]), (20, "j0", "finish", None), (15, "j1", "reject", None))
    assert kinds(res) == {"unfinished"}
    m = res.metrics  # in system: 2 jobs over [10, 15], 1 over [15, 20]: L = 15 / 10; lambda W = 2/10 x 7.5
    assert (m["littles_law_l"], m["littles_law_lambda_w"], m["littles_law_error"]) == (1.5, 1.5, 0.0)
    # every job rejected at its release: lambda W = 0, error 0 (not 0/0)
    both = online(release=(0.0, 5.0), time=((10.0, 10.0),) * 2)
    m = run_log(both, (0, "j0", "reject", None), (5, "j1", "reject", None)).metrics
    assert (m["littles_law_l"], m["littles_law_lambda_w"], m["littles_law_error"]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("hold", [0.5e-6, "edge"])
def test_online_zero_length_holding_does_not_split_an_overload(hold):
    # j1 + j2 overload a0 over [0, 100]; j0 holds a0 for <= TIME_ATOL at t0 in the middle, then moves
    # to b0: still ONE overload episode (a kept zero-length holding would dip the load at t0)
    t0 = TIME_ATOL  # (t0 + x) - t0 == x exactly only for tiny t0)
    t1 = 2 * TIME_ATOL if hold == "edge" else t0 + hold
    assert (t1 - t0 == TIME_ATOL) if hold == "edge" else (t1 - t0 < TIME_ATOL)
    inst = online(release=(0.0, 0.0, 0.0), time=((100.0, 100.0),) * 3, demand=[[6.0, 6.0]] * 3)
    res = run_log(
        inst,
        (0, "j1", "start", ["a0"]),
        (100, "j1", "finish", None),
        (0, "j2", "start", ["a0"]),
        (100, "j2", "finish", None),
        (t0, "j0", "start", ["a0"]),
        (t1, "j0", "migrate", ["b0"]),
        (t0 + 200, "j0", "finish", None),
    )
    assert res.violation_counts == {"capacity": 1}
    assert res.violations[0].message == "GPU 'a0' m: load 12 exceeds capacity 10 at time 0 (jobs j1, j2)"


def test_sia_restore_time_takes_the_longest_matching_prefix():
    from schedbench.validator.overheads import SIA_DEFAULT_S, sia_restore_s

    assert sia_restore_s("resnet50") == 25.0 and sia_restore_s("resnet18-cifar") == 20.0
    assert sia_restore_s("transformerxl-large") == 75.0 and sia_restore_s("transformer-big") == 30.0
    assert sia_restore_s("bert-base-uncased") == 45.0
    assert sia_restore_s("unknown-model") == sia_restore_s(None) == sia_restore_s("") == SIA_DEFAULT_S


def test_overhead_presets_per_job():
    from schedbench.validator.overheads import SIA_DEFAULT_S, job_overheads

    gang = np.array([1, 2, 8, 9])
    expect = {"zero": [0, 0, 0, 0], "helios": [7, 30, 30, 60], "lucid": [40, 40, 40, 60], "pollux": [30] * 4}
    for model, values in expect.items():
        resume, migrate = job_overheads({"overhead_model": model}, gang, None)
        assert resume.tolist() == values and migrate.tolist() == values, model
    resume, migrate = job_overheads({"overhead_model": "sia"}, gang, ["resnet50", None, "bert-large", "x"])
    assert resume.tolist() == migrate.tolist() == [25.0, SIA_DEFAULT_S, 75.0, SIA_DEFAULT_S]
    assert job_overheads({"overhead_model": "sia"}, gang, None)[0].tolist() == [SIA_DEFAULT_S] * 4
    resume, migrate = job_overheads({"preempt_overhead_s": 5.0, "migrate_overhead_s": 2.0}, gang, None)  # fixed
    assert resume.tolist() == [5.0] * 4 and migrate.tolist() == [2.0] * 4
    with pytest.raises(ValueError, match="unknown overhead_model 'nope'"):
        job_overheads({"overhead_model": "nope"}, gang, None)


@pytest.mark.parametrize(("d", "fits"), [(0.5e-9, True), (1e-9, True), (5e-9, False)])
def test_bounds_usable_absolute_tolerance_is_pinned(d, fits):
    # type A has capacity 0: a demand within 1e-9 (absolute) still fits it, making the cheap A usable
    inst = tiny("placement", "min-cost", [[d, 1.0]], caps=(0.0, 10.0), cost=np.array([[1.0, 5.0]]))
    assert bounds(inst) == {"lower_bound": 1.0 if fits else 5.0}


def test_a_repeated_top_level_field_is_a_data_error():
    inst = tiny("placement", "max-weight", [[1.0, 1.0]])
    doc = jsonio.loads('{"problem": "placement", "assignment": {}, "assignment": {"j0": ["a0"]}}', duplicates="record")
    with pytest.raises(DataError) as exc:
        validate(inst, doc, "s.json")
    assert exc.value.path == "$.assignment" and "repeated" in str(exc.value)
