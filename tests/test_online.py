"""The online validator: an event log is replayed; metrics match a hand computation; injected
violations are named; malformed logs raise DataError with the JSON path."""

from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedbench import jsonio
from schedbench.errors import DataError
from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance
from schedbench.validator import validate

RES = (Resource("memory_gib", "GiB"), Resource("compute"))
TYPES = (GpuType("A", {"memory_gib": 16.0, "compute": 1.0}), GpuType("B", {"memory_gib": 16.0, "compute": 1.0}))
NODES = (Node("a0", "A", ("a0/0", "a0/1")), Node("a1", "A", ("a1/0", "a1/1")), Node("b0", "B", ("b0/0", "b0/1")))
PARAMS = {"preempt_overhead_s": 5.0, "migrate_overhead_s": 2.0, "slowdown_threshold_s": 10.0}

# id, release, gang, time (A, B), memory GiB, compute, deadline
JOBS = [
    ("j0", 0.0, 1, (100.0, 200.0), 10.0, 0.6, 300.0),
    ("j1", 15.0, 2, (50.0, 80.0), 8.0, 0.5, 90.0),
    ("j2", 10.0, 1, (40.0, 60.0), 10.0, 0.5, math.nan),
    ("j3", 30.0, 1, (20.0, 20.0), 4.0, 0.3, 100.0),
    ("j4", 0.0, 1, (30.0, 30.0), 10.0, 0.5, math.nan),
]


def make(objective: str = "mean-jct", **params):
    n = len(JOBS)
    demand = np.zeros((n, 2, 2))
    for i, (_, _, _, _, mem, comp, _) in enumerate(JOBS):
        demand[i, :, 0] = mem
        demand[i, :, 1] = comp
    jobs = Jobs.build(
        [j[0] for j in JOBS],
        demand,
        time=np.array([j[3] for j in JOBS]),
        gang=np.array([j[2] for j in JOBS]),
        release=np.array([j[1] for j in JOBS]),
        deadline=np.array([j[6] for j in JOBS]),
    )
    return make_instance(
        resources=RES,
        gpu_types=TYPES,
        nodes=NODES,
        jobs=jobs,
        problem=Problem("online", objective, {**PARAMS, **params}),
        metadata={"name": "online-test"},
    )


def ev(time, job, event, gpus=None):
    out = {"time": time, "job": job, "event": event}
    if gpus is not None:
        out["gpus"] = gpus
    return out


# j4 migrates B -> A (10 s of 30 on B, then 2 s overhead + 20 s on A); j0 is preempted after 20 s
# of 100 on A and resumed on B (5 s overhead + 0.8 x 200 s); a0/0 and b0/1 are handed over
# back to back; j3 is rejected.
LOG = [
    ev(0, "j0", "start", ["a0/0"]),
    ev(0, "j4", "start", ["b0/0"]),
    ev(10, "j4", "migrate", ["a1/0"]),
    ev(15, "j1", "start", ["b0/0", "b0/1"]),
    ev(20, "j0", "preempt"),
    ev(20, "j2", "start", ["a0/0"]),
    ev(30, "j3", "reject"),
    ev(32, "j4", "finish"),
    ev(60, "j2", "finish", []),
    ev(95, "j1", "finish"),
    ev(95, "j0", "resume", ["b0/1"]),
    ev(260, "j0", "finish"),
]


def solution(events):
    return {"problem": "online", "events": copy.deepcopy(events)}


def kinds(res) -> set[str]:
    return set(res.violation_counts)


def replace(events, index, **changes):
    out = copy.deepcopy(events)
    out[index].update(changes)
    return out


# ---------------------------------------------------------------- feasible log, metrics by hand

JCT = {"j0": 260.0, "j1": 80.0, "j2": 50.0, "j4": 32.0}
P_BEST = {"j0": 100.0, "j1": 50.0, "j2": 40.0, "j4": 30.0}
# n_j x gang_j / G at release: j0, j4 (t=0): 2 jobs; j2 (t=10): 3; j1 (t=15): 4 jobs x gang 2 / 6 GPUs
SHARE = {"j0": 1.0, "j4": 1.0, "j2": 1.0, "j1": 8.0 / 6.0}


def test_feasible_log_metrics_match_hand_computation():
    res = validate(make(), solution(LOG))
    assert res.feasible, res.violations
    m = res.metrics
    jct = sorted(JCT.values())  # 32, 50, 80, 260
    assert m["finished"] == 4 and m["rejected"] == 1
    assert m["preemptions"] == 1 and m["migrations"] == 1 and m["rejections"] == 1
    assert m["jct_mean"] == pytest.approx(422 / 4)
    assert m["jct_median"] == pytest.approx(65.0)
    assert m["jct_p95"] == pytest.approx(80 + 0.85 * 180)
    assert m["jct_p99"] == pytest.approx(80 + 0.97 * 180)
    assert jct == [32, 50, 80, 260]
    assert m["makespan"] == 260.0
    # GPU-seconds: j0 20 + 165, j1 2 x 80, j2 40, j4 10 + 22; 6 GPUs over [0, 260]
    assert m["utilisation"] == pytest.approx(417 / (6 * 260))
    # deadlines: j0 met (260 <= 300), j1 missed (95 > 90), j3 rejected
    assert m["deadline_met_fraction"] == pytest.approx(1 / 3)
    assert m["queueing_delay_mean"] == pytest.approx(10 / 4)
    bsd = [max(1.0, JCT[j] / max(P_BEST[j], 10.0)) for j in JCT]
    assert m["bounded_slowdown_mean"] == pytest.approx(sum(bsd) / 4)
    assert m["bounded_slowdown_mean"] == pytest.approx((2.6 + 1.6 + 1.25 + 32 / 30) / 4)
    rho = {j: JCT[j] / (P_BEST[j] * SHARE[j]) for j in JCT}
    assert rho["j1"] == pytest.approx(1.2)
    assert m["ftf_max"] == pytest.approx(2.6)
    assert m["ftf_mean"] == pytest.approx(sum(rho.values()) / 4)
    x = np.array([1 / r for r in rho.values()])
    assert m["jain_index"] == pytest.approx(x.sum() ** 2 / (4 * (x * x).sum()))
    assert res.objective == pytest.approx(105.5)
    expected_keys = {
        "finished",
        "rejected",
        "jct_mean",
        "jct_median",
        "jct_p95",
        "jct_p99",
        "makespan",
        "utilisation",
        "deadline_met_fraction",
        "queueing_delay_mean",
        "bounded_slowdown_mean",
        "ftf_max",
        "ftf_mean",
        "jain_index",
        "preemptions",
        "migrations",
        "rejections",
        "acceptance_rate",
        "wasted_gpu_seconds",
        "littles_law_l",
        "littles_law_lambda_w",
        "littles_law_error",
    }
    assert set(m) == expected_keys
    # j0's restore (5 s) and j4's migration (2 s), one GPU each; one job of five rejected
    assert m["wasted_gpu_seconds"] == 7.0 and m["acceptance_rate"] == pytest.approx(0.8)
    assert m["littles_law_error"] < 1e-12


@pytest.mark.parametrize(
    ("objective", "value"),
    [
        ("mean-jct", 105.5),
        ("p99-jct", 80 + 0.97 * 180),
        ("makespan", 260.0),
        ("mean-bounded-slowdown", (2.6 + 1.6 + 1.25 + 32 / 30) / 4),
        ("deadline-miss-rate", 2 / 3),
        ("max-ftf", 2.6),
    ],
)
def test_objectives(objective, value):
    res = validate(make(objective), solution(LOG))
    assert res.feasible, res.violations
    assert res.objective == pytest.approx(value)
    assert res.sense == "min"


def test_event_order_in_file_does_not_matter():
    shuffled = copy.deepcopy(LOG)
    random.Random(3).shuffle(shuffled)
    a, b = validate(make(), solution(LOG)), validate(make(), solution(shuffled))
    assert b.feasible and a.metrics == b.metrics and a.objective == b.objective


def test_numpy_numbers_are_accepted():
    log = [
        dict(e, time=np.float64(e["time"])) if i % 2 else dict(e, time=np.int64(e["time"])) for i, e in enumerate(LOG)
    ]
    res = validate(make(), solution(log))
    assert res.feasible and res.objective == pytest.approx(105.5)


def test_back_to_back_reuse_of_a_gpu_is_feasible():
    # 10 + 10 GiB do not fit a 16 GiB GPU: any overlap on b0/0 would be a capacity violation.
    # Acquisitions are listed before the releases at the same instant; j4 leaves b0/0 by migrating.
    log = [
        ev(10, "j2", "start", ["b0/0"]),
        ev(0, "j4", "start", ["b0/0"]),
        ev(10, "j4", "migrate", ["a1/0"]),
        ev(32, "j4", "finish"),
        ev(70, "j0", "start", ["b0/0"]),
        ev(70, "j2", "finish"),
        ev(270, "j0", "finish"),
        ev(15, "j1", "reject"),
        ev(30, "j3", "reject"),
    ]
    res = validate(make(), solution(log))
    assert res.feasible, res.violations
    # a hand-over within the 1e-6 s time tolerance is still back to back
    assert validate(make(), solution(replace(log, 0, time=10 - 1e-7))).feasible
    # one second of overlap is not
    res = validate(make(), solution(replace(log, 2, time=11)))
    assert kinds(res) == {"capacity"}
    assert violations_of(res, "capacity")[0].gpu == "b0/0"


def test_space_sharing_within_capacity_is_feasible():
    # j3 (4 GiB, 0.3) shares a1/0 with j4 (10 GiB, 0.5) instead of being rejected
    log = [e for e in LOG if e["job"] != "j3"] + [ev(30, "j3", "start", ["a1/0"]), ev(50, "j3", "finish")]
    res = validate(make(), solution(log))
    assert res.feasible, res.violations
    assert res.metrics["rejected"] == 0 and res.metrics["finished"] == 5


# ---------------------------------------------------------------- injected violations


def violations_of(res, kind):
    return [v for v in res.violations if v.constraint == kind]


def test_start_before_release():
    res = validate(make(), solution(replace(LOG, 5, time=5)))  # j2 released at 10
    assert not res.feasible and kinds(res) == {"release", "capacity"}  # also overlaps j0 on a0/0
    assert violations_of(res, "release")[0].job == "j2"


def test_reject_before_release():
    res = validate(make(), solution(replace(LOG, 6, time=29)))
    assert kinds(res) == {"release"}


def test_overlap_beyond_capacity_names_gpu_resource_and_time():
    log = replace(LOG, 5, gpus=["a1/0"])  # j2 (10 GiB) joins j4 (10 GiB) on a1/0 at 20
    res = validate(make(), solution(log))
    assert kinds(res) == {"capacity"}
    (v,) = violations_of(res, "capacity")
    assert v.gpu == "a1/0" and "memory_gib" in v.message and "time 20" in v.message
    assert "20" in v.message and "j2" in v.message and "j4" in v.message


def test_demand_beyond_capacity_alone_is_a_capacity_violation():
    inst = make()
    jobs = inst.jobs
    demand = jobs.demand.copy()
    demand[2, :, 0] = 20.0  # j2 needs 20 GiB per GPU; GPUs have 16
    big = make_instance(
        resources=RES,
        gpu_types=TYPES,
        nodes=NODES,
        jobs=Jobs.build(jobs.ids, demand, time=jobs.time, gang=jobs.gang, release=jobs.release, deadline=jobs.deadline),
        problem=inst.problem,
        metadata={"name": "big"},
    )
    res = validate(big, solution(LOG))
    assert kinds(res) == {"capacity"}
    assert violations_of(res, "capacity")[0].gpu == "a0/0"


def test_finish_before_work_done():
    res = validate(make(), solution(replace(LOG, 8, time=50)))  # j2 needs 40 s, gets 30
    assert kinds(res) == {"finish-before-work-done"}
    (v,) = violations_of(res, "finish-before-work-done")
    assert v.job == "j2" and "0.75" in v.message


def test_resume_overhead_makes_finish_too_early():
    # without the 5 s restore overhead j0 would be done at 255
    res = validate(make(), solution(replace(LOG, 11, time=255)))
    assert kinds(res) == {"finish-before-work-done"}
    assert "0.975" in violations_of(res, "finish-before-work-done")[0].message
    assert validate(make(preempt_overhead_s=0.0), solution(replace(LOG, 11, time=255))).feasible


def test_migrate_overhead_makes_finish_too_early():
    res = validate(make(), solution(replace(LOG, 7, time=30)))  # j4 on A: 2 s overhead + 20 s
    assert kinds(res) == {"finish-before-work-done"}
    assert violations_of(res, "finish-before-work-done")[0].job == "j4"
    assert validate(make(migrate_overhead_s=0.0), solution(replace(LOG, 7, time=30))).feasible


def test_overhead_longer_than_segment_gives_no_progress():
    # j0 preempted again 3 s after its resume (overhead 5): that segment contributes nothing
    log = [*LOG[:-1], ev(98, "j0", "preempt"), ev(100, "j0", "resume", ["b0/1"]), ev(265, "j0", "finish")]
    res = validate(make(), solution(log))
    assert res.feasible, res.violations
    assert res.metrics["preemptions"] == 2
    short = [*LOG[:-1], ev(98, "j0", "preempt"), ev(100, "j0", "resume", ["b0/1"]), ev(264, "j0", "finish")]
    assert kinds(validate(make(), solution(short))) == {"finish-before-work-done"}


def test_late_finish_is_allowed():
    res = validate(make(), solution(replace(LOG, 7, time=40)))  # j4 idles on a1/0 from 32 to 40
    assert res.feasible and res.metrics["jct_mean"] == pytest.approx((422 + 8) / 4)


def test_resume_without_preempt_is_an_invalid_transition():
    res = validate(make(), solution([*LOG, ev(30, "j2", "resume", ["a0/1"])]))
    assert kinds(res) == {"invalid-transition"}
    (v,) = violations_of(res, "invalid-transition")
    assert v.job == "j2" and "'resume'" in v.message and "'running'" in v.message and "30" in v.message


def test_events_after_finish_are_invalid_transitions():
    res = validate(make(), solution([*LOG, ev(40, "j4", "preempt"), ev(50, "j4", "start", ["a1/1"])]))
    assert kinds(res) == {"invalid-transition"}
    assert res.violation_counts["invalid-transition"] == 2
    assert all("'finished'" in v.message for v in res.violations)


def test_start_twice_and_finish_while_pending():
    res = validate(make(), solution([*LOG, ev(1, "j0", "start", ["a0/1"])]))
    assert kinds(res) == {"invalid-transition"}
    log = [e for e in LOG if e["job"] != "j2"] + [ev(60, "j2", "finish")]
    res = validate(make(), solution(log))
    assert kinds(res) == {"invalid-transition", "unfinished"}


def test_unknown_job():
    res = validate(make(), solution([*LOG, ev(5, "ghost", "start", ["a0/1"])]))
    assert kinds(res) == {"unknown-job"}
    assert violations_of(res, "unknown-job")[0].job == "ghost"


def test_unknown_gpu():
    res = validate(make(), solution(replace(LOG, 5, gpus=["zz/9"])))
    assert "unknown-gpu" in kinds(res)
    assert violations_of(res, "unknown-gpu")[0].gpu == "zz/9"


def test_unfinished_job_gives_no_objective_but_metrics():
    log = [e for e in LOG if not (e["job"] == "j1" and e["event"] == "finish")]
    log = [e for e in log if not (e["job"] == "j0" and e["event"] != "start" and e["time"] > 20)]
    res = validate(make(), solution(log))
    assert kinds(res) == {"unfinished"}
    assert {v.job for v in res.violations} == {"j0", "j1"}
    assert res.objective is None
    assert res.metrics["finished"] == 2 and res.metrics["jct_mean"] == pytest.approx((50 + 32) / 2)


def test_empty_log():
    res = validate(make(), solution([]))
    assert res.violation_counts == {"unfinished": 5}
    assert res.objective is None and res.metrics["makespan"] is None and res.metrics["jct_mean"] is None


def test_many_unfinished_are_counted_not_all_listed():
    n = 450
    jobs = Jobs.build([f"x{i}" for i in range(n)], np.ones((n, 1, 2)), time=np.ones((n, 1)))
    inst = make_instance(
        resources=RES,
        gpu_types=TYPES[:1],
        nodes=NODES[:1],
        jobs=jobs,
        problem=Problem("online", "mean-jct"),
        metadata={"name": "many"},
    )
    res = validate(inst, solution([]))
    assert res.violation_counts == {"unfinished": n}
    assert len(res.violations) < n


@pytest.mark.parametrize(
    ("param", "kind"),
    [
        ("allow_preemption", "preemption-disallowed"),
        ("allow_migration", "migration-disallowed"),
        ("allow_rejection", "rejection-disallowed"),
    ],
)
def test_disallowed_events(param, kind):
    res = validate(make(**{param: False}), solution(LOG))
    assert kinds(res) == {kind}
    job = {"preemption-disallowed": "j0", "migration-disallowed": "j4", "rejection-disallowed": "j3"}[kind]
    assert violations_of(res, kind)[0].job == job


def test_gang_split_across_nodes():
    log = replace(LOG, 3, gpus=["a0/1", "a1/1"])  # j1 on A over two nodes; it idles until 95
    res = validate(make(), solution(log))
    assert kinds(res) == {"gang-multi-node"}
    assert validate(make(allow_multi_node=True), solution(log)).feasible


def test_gang_size_mixed_types_and_duplicates():
    assert "gang-size" in kinds(validate(make(), solution(replace(LOG, 3, gpus=["b0/0"]))))
    assert "gang-mixed-types" in kinds(validate(make(), solution(replace(LOG, 3, gpus=["a0/1", "b0/1"]))))
    assert "duplicate-gpu" in kinds(validate(make(), solution(replace(LOG, 3, gpus=["b0/0", "b0/0"]))))


# ---------------------------------------------------------------- malformed logs


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda e: {"not": "a list"}, "$.events"),
        (lambda e: e.__setitem__(3, 5) or e, "$.events[3]"),
        (lambda e: e[2].pop("time") and e, "$.events[2].time"),
        (lambda e: e[1].update(foo=1) or e, "$.events[1].foo"),
        (lambda e: e[4].update(time=float("nan")) or e, "$.events[4].time"),
        (lambda e: e[4].update(time=float("inf")) or e, "$.events[4].time"),
        (lambda e: e[4].update(time="5") or e, "$.events[4].time"),
        (lambda e: e[4].update(time=True) or e, "$.events[4].time"),
        (lambda e: e[4].update(time=10**400) or e, "$.events[4].time"),
        (lambda e: e[0].update(event="pause") or e, "$.events[0].event"),
        (lambda e: e[0].update(event=["start"]) or e, "$.events[0].event"),
        (lambda e: e[0].update(job=7) or e, "$.events[0].job"),
        (lambda e: e[0].pop("gpus") and e, "$.events[0].gpus"),
        (lambda e: e[0].update(gpus="a0/0") or e, "$.events[0].gpus"),
        (lambda e: e[0].update(gpus=[1]) or e, "$.events[0].gpus"),
        (lambda e: e[4].update(gpus=["a0/0"]) or e, "$.events[4].gpus"),
        (lambda e: e[4].update(gpus=None) or e, "$.events[4].gpus"),
    ],
)
def test_malformed_events_raise_data_error_with_path(mutate, path):
    events = mutate(copy.deepcopy(LOG))
    with pytest.raises(DataError) as err:
        validate(make(), {"problem": "online", "events": events}, "sol.json")
    assert err.value.path == path
    assert err.value.file == "sol.json"


def test_first_malformed_event_is_named():
    events = copy.deepcopy(LOG)
    events[7]["gpus"] = 3
    events[2]["time"] = None
    with pytest.raises(DataError) as err:
        validate(make(), solution(events))
    assert err.value.path == "$.events[2].time"


def test_repeated_field_in_event_is_a_data_error():
    text = '{"problem": "online", "events": [{"time": 0, "time": 1, "job": "j0", "event": "start", "gpus": ["a0/0"]}]}'
    doc = jsonio.loads(text, duplicates="record")
    with pytest.raises(DataError) as err:
        validate(make(), doc)
    assert err.value.path == "$.events[0].time"


# ---------------------------------------------------------------- property test: list scheduler


def list_schedule(seed: int, reject_some: bool):
    """A random instance and a feasible log: jobs in release order, each on the gang of GPUs that
    frees up first, run to completion; some jobs rejected at their release."""
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 3))
    types = tuple(GpuType(f"t{t}", {"memory_gib": 16.0, "compute": 1.0}) for t in range(T))
    nodes = tuple(
        Node(f"n{k}", f"t{k % T}", tuple(f"n{k}/g{i}" for i in range(int(rng.integers(1, 5)))))
        for k in range(int(rng.integers(T, T + 3)))
    )
    n = int(rng.integers(1, 30))
    biggest = {t: max(len(nd.gpus) for nd in nodes if nd.gpu_type == f"t{t}") for t in range(T)}
    gang = rng.integers(1, 4, n)
    eligible = rng.random((n, T)) < 0.7
    eligible[np.arange(n), rng.integers(0, T, n)] = True
    for j in range(n):  # every job fits some node of an eligible type
        gang[j] = min(gang[j], max(biggest[t] for t in range(T) if eligible[j, t]))
    release = np.sort(rng.uniform(0, 100, n)).round(3)
    time = rng.uniform(1, 50, (n, T)).round(3)
    demand = np.stack([rng.uniform(1, 16, (n, T)), rng.uniform(0.1, 1, (n, T))], axis=2).round(3)
    jobs = Jobs.build([f"job{j}" for j in range(n)], demand, eligible=eligible, gang=gang, release=release, time=time)
    inst = make_instance(
        resources=RES,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("online", "mean-jct"),
        metadata={"name": f"list-{seed}"},
    )
    free = {g: 0.0 for nd in nodes for g in nd.gpus}
    events, jct = [], []
    for j in range(n):
        jid = f"job{j}"
        if reject_some and rng.random() < 0.2:
            events.append(ev(float(release[j]), jid, "reject"))
            continue
        best = None
        for nd in nodes:
            t = int(nd.gpu_type[1:])
            if not eligible[j, t] or len(nd.gpus) < gang[j]:
                continue
            gpus = sorted(nd.gpus, key=lambda g: free[g])[: gang[j]]
            start = max(float(release[j]), *(free[g] for g in gpus))
            if best is None or start < best[0]:
                best = (start, gpus, t)
        start, gpus, t = best
        end = start + float(time[j, t])
        for g in gpus:
            free[g] = end
        events += [ev(start, jid, "start", gpus), ev(end, jid, "finish")]
        jct.append(end - float(release[j]))
    rng.shuffle(events)
    return inst, {"problem": "online", "events": events}, jct


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=100_000), st.booleans())
def test_list_schedules_are_feasible_and_mean_jct_matches(seed, reject_some):
    inst, sol, jct = list_schedule(seed, reject_some)
    res = validate(inst, sol)
    assert res.feasible, res.violations
    if jct:
        assert res.objective == pytest.approx(sum(jct) / len(jct))
        assert res.metrics["finished"] == len(jct)
        assert 0 < res.metrics["utilisation"] <= 1 + 1e-9
        assert 0 < res.metrics["jain_index"] <= 1 + 1e-9
        assert res.metrics["ftf_max"] >= res.metrics["ftf_mean"] > 0
    else:
        assert res.objective is None and res.metrics["rejected"] == inst.n_jobs
