"""The ``online`` class: arrivals over time, simulated; a solution is an event log replayed by the validator.

Rules, metrics and objectives: :mod:`schedbench.validator.online`; overhead presets:
:mod:`schedbench.validator.overheads`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from schedbench.classes.placement import MULTI_NODE
from schedbench.examples import example_jobs, make_example
from schedbench.generators import spec as S  # noqa: N812 (short alias for the spec helpers)
from schedbench.instances.gangs import earliest_free, gang_groups, usable_types
from schedbench.instances.model import Instance, Problem
from schedbench.instances.problems import BaselineAnswer, ClassParam, Objective, ProblemClass
from schedbench.validator.online import online_bounds, validate_online

_EVENT = {
    "type": "object",
    "required": ["time", "job", "event"],
    "additionalProperties": False,
    "properties": {
        "time": {"type": "number"},
        "job": {"type": "string", "minLength": 1},
        "event": {"enum": ["start", "preempt", "resume", "migrate", "finish", "reject"]},
        "gpus": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
}


def _example() -> tuple[Instance, list[tuple[str, dict[str, Any]]]]:
    inst = make_example(
        "example-online",
        Problem("online", "mean-jct", {"preempt_overhead_s": 60.0}),
        example_jobs(release=np.array([0.0, 0.0, 300.0, 600.0, 900.0])),
    )
    return inst, [
        (
            "fcfs+preempt",
            {
                "problem": "online",
                "events": [
                    {"time": 0, "job": "j0", "event": "start", "gpus": ["v0/0"]},
                    {"time": 0, "job": "j1", "event": "start", "gpus": ["k0/0"]},
                    {"time": 300, "job": "j0", "event": "preempt"},
                    {"time": 300, "job": "j2", "event": "start", "gpus": ["v0/0", "v0/1"]},
                    {"time": 600, "job": "j3", "event": "start", "gpus": ["k0/1"]},
                    {"time": 3100, "job": "j1", "event": "finish"},
                    {"time": 3100, "job": "j4", "event": "start", "gpus": ["k0/0"]},
                    {"time": 5200, "job": "j4", "event": "finish"},
                    {"time": 5700, "job": "j2", "event": "finish"},
                    {"time": 5700, "job": "j0", "event": "resume", "gpus": ["v0/1"]},
                    {"time": 8500, "job": "j3", "event": "finish"},
                    {"time": 9060, "job": "j0", "event": "finish"},
                ],
            },
        ),
    ]


def _baseline(
    inst: Instance, rng: np.random.Generator, params: Mapping[str, Any], remaining: Callable[[], float]
) -> BaselineAnswer:
    """First come, first served over releases (equal releases in random order), no backfilling or
    preemption; each job on a random usable gang group, on its GPUs free first. A job that can run
    nowhere is rejected at its release when ``allow_rejection``, else the answer is ``infeasible``."""
    jobs = inst.jobs
    group, group_type, size = gang_groups(inst)
    options = usable_types(inst, need_time=True)[:, group_type] & (size[None, :] >= jobs.gang[:, None])
    stuck = np.flatnonzero(~options.any(axis=1)).tolist()
    may_reject = bool(inst.problem.params.get("allow_rejection", True))
    if stuck and not may_reject:
        ids = [inst.jobs.ids[j] for j in stuck[:5]]
        return BaselineAnswer(
            None,
            "infeasible",
            {"reason": f"{len(stuck)} job(s) have no usable GPU group (and allow_rejection is false), e.g. {ids}"},
        )
    assert jobs.time is not None
    free = np.zeros(inst.n_gpus)
    events: list[dict[str, Any]] = []
    last_start = -np.inf
    order = np.lexsort((rng.random(inst.n_jobs), jobs.release))
    for j in order.tolist():
        jid, release = jobs.ids[j], float(jobs.release[j])
        opts = np.flatnonzero(options[j])
        if not len(opts):
            events.append({"time": release, "job": jid, "event": "reject"})
            continue
        k = opts[rng.integers(len(opts))]
        pick = earliest_free(free, np.flatnonzero(group == k), int(jobs.gang[j]), rng)
        start = max(release, last_start, float(free[pick].max()))
        end = start + float(jobs.time[j, group_type[k]])
        last_start = start
        free[pick] = end
        gpus = [inst.gpu_ids[g] for g in pick.tolist()]
        events.append({"time": start, "job": jid, "event": "start", "gpus": gpus})
        events.append({"time": end, "job": jid, "event": "finish"})
    # by time; at equal times GPU releases (finish) first, as the validator replays them
    events.sort(key=lambda ev: (ev["time"], ev["event"] != "finish"))
    return BaselineAnswer({"problem": "online", "events": events}, "feasible")


ONLINE = PROBLEM_CLASS = ProblemClass(
    name="online",
    description="arrivals over time, simulated; a solution is an event log replayed by the validator",
    body_key="events",
    objectives=(
        Objective("mean-jct", "min", ("time",), "mean job completion time (finish - release)"),
        Objective("p99-jct", "min", ("time",), "99th percentile job completion time"),
        Objective("makespan", "min", ("time",), "latest finish time"),
        Objective("mean-bounded-slowdown", "min", ("time",), "mean bounded slowdown"),
        Objective(
            "deadline-miss-rate", "min", ("time",), "fraction of jobs with a deadline that miss it (rejected jobs miss)"
        ),
        Objective("max-ftf", "min", ("time",), "largest finish-time fairness ratio rho"),
    ),
    params=(
        MULTI_NODE,
        ClassParam(
            "preempt_overhead_s",
            float,
            0.0,
            "checkpoint/restore cost: seconds without progress after each resume",
            minimum=0.0,
        ),
        ClassParam("migrate_overhead_s", float, 0.0, "seconds without progress after each migration", minimum=0.0),
        ClassParam(
            "overhead_model",
            str,
            "fixed",
            "checkpoint/restore cost preset (schedbench/validator/overheads.py); fixed uses the two above",
            ("fixed", "zero", "helios", "lucid", "pollux", "sia"),
        ),
        ClassParam("allow_preemption", bool, True, "preempt/resume events are allowed"),
        ClassParam("allow_migration", bool, True, "migrate events are allowed"),
        ClassParam("allow_rejection", bool, True, "reject events (admission control) are allowed"),
        ClassParam(
            "slowdown_threshold_s",
            float,
            10.0,
            "tau of bounded slowdown max(1, JCT / max(best time, tau))",
            minimum=0.0,
        ),
    ),
    solution_body={"type": "array", "items": _EVENT},
    validate=validate_online,
    bounds=online_bounds,
    generator_params=(
        S.ParamSpec("load", 0.8, "offered load rho of the arrivals", S.positive_number),
        S.DIURNAL,
        S.ARRIVALS,
        S.ParamSpec(
            "load_basis",
            "sample",
            "sample: the arrival rate is set from the drawn jobs' work; model: "
            "from the duration and gang distributions' means (one GPU type, analytic durations, "
            "explicit gang pmf; for queueing-theory checks)",
            S.one_of("sample", "model"),
        ),
    ),
    example=_example,
    baseline=_baseline,
)
