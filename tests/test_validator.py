"""The validator: injected violations are caught and named; objectives match a recomputation."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from factories import feasible_allocation, feasible_batch, feasible_placement
from hypothesis import given, settings
from hypothesis import strategies as st

from schedbench.errors import DataError
from schedbench.validator import bounds, validate

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
    movers = [j for j, gpus in asg.items() if full not in gpus and jobs.gang[jobs.index[j]] == 1
              and jobs.eligible[jobs.index[j], t]]
    if not movers:
        return
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
    text = '{"problem": "placement", "assignment": {' + ", ".join(
        f'"{j}": {g!r}'.replace("'", '"') for j, g in sol["assignment"].items()
    ) + f', "{job}": {sol["assignment"][job]!r}'.replace("'", '"') + "}}"
    path = tmp_path / "dup.json"
    path.write_text(text)
    res = validate_file(inst, path)
    assert "duplicate-job" in kinds(res)
    assert any(v.job == job for v in res.violations)


def test_gang_split_across_types_and_nodes():
    from schedbench.examples import examples

    inst = examples()[0][0]  # j2 is a gang of 2, V100 only
    sol = {"problem": "placement", "assignment": {"j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "k0/0"],
                                                  "j3": ["k0/1"], "j4": ["k0/1"]}}
    res = validate(inst, sol)
    assert {"gang-mixed-types", "gang-multi-node"} <= kinds(res)
    assert all(v.job == "j2" for v in res.violations if v.constraint.startswith("gang"))


def test_ineligible_type_is_named():
    from schedbench.examples import examples

    inst = examples()[0][0]
    sol = {"problem": "placement", "assignment": {"j0": ["v0/0"], "j1": ["k0/1"], "j2": ["k0/0", "k0/1"],
                                                  "j3": ["k0/1"], "j4": ["k0/1"]}}
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
        if not others:
            return
        other = data.draw(st.sampled_from(others))
        mid = sched[job]["start"] + jobs.time[jobs.index[job], t] / 2
        bad["schedule"][other] = {"gpus": [g], "start": max(mid, float(jobs.release[jobs.index[other]]))}
        end = sched[job]["start"] + jobs.time[jobs.index[job], t]
        if bad["schedule"][other]["start"] >= end:
            return
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
    expect = {"max-min-fairness": min(rho), "max-throughput": sum(rho),
              "proportional-fairness": sum(math.log(r) for r in rho) if min(rho) > 0 else None}[objective]
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
        if sum(1 for jid in inst.jobs.ids if inst.jobs.eligible[inst.jobs.index[jid], inst.type_index[t]]) \
                <= inst.gpus_per_type[inst.type_index[t]]:
            return
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
