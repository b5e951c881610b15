"""The ``batch`` class: time sharing, each GPU runs one job at a time, non-preemptively; jobs known up front.

Rules and objectives: :mod:`schedbench.validator.batch`.
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
from schedbench.instances.problems import BaselineAnswer, Objective, ProblemClass
from schedbench.validator.batch import batch_bounds, validate_batch

_GPUS = {"type": "array", "items": {"type": "string", "minLength": 1}}


def _example() -> tuple[Instance, list[tuple[str, dict[str, Any]]]]:
    inst = make_example(
        "example-batch", Problem("batch", "makespan"), example_jobs(release=np.array([0.0, 0.0, 0.0, 600.0, 600.0]))
    )
    return inst, [
        (
            "list",
            {
                "problem": "batch",
                "schedule": {
                    "j2": {"gpus": ["v0/0", "v0/1"], "start": 0},
                    "j0": {"gpus": ["v0/0"], "start": 5400},
                    "j1": {"gpus": ["k0/0"], "start": 0},
                    "j3": {"gpus": ["v0/1"], "start": 5400},
                    "j4": {"gpus": ["k0/1"], "start": 600},
                },
            },
        ),
        (
            "early-start",
            {
                "problem": "batch",
                "schedule": {
                    "j2": {"gpus": ["v0/0", "v0/1"], "start": 0},
                    "j0": {"gpus": ["v0/0"], "start": 5000},
                    "j1": {"gpus": ["k0/0"], "start": 0},
                    "j3": {"gpus": ["v0/1"], "start": 5400},
                    "j4": {"gpus": ["k0/1"], "start": 0},
                },
            },
        ),
    ]


def _baseline(
    inst: Instance, rng: np.random.Generator, params: Mapping[str, Any], remaining: Callable[[], float]
) -> BaselineAnswer:
    """Jobs in random order, each on a random usable gang group, on its ``gang`` GPUs free first,
    started at ``max(release, when those GPUs are free)``. Always feasible."""
    jobs = inst.jobs
    group, group_type, size = gang_groups(inst)
    options = usable_types(inst, need_time=True)[:, group_type] & (size[None, :] >= jobs.gang[:, None])  # (n, K)
    stuck = np.flatnonzero(~options.any(axis=1)).tolist()
    if stuck:
        ids = [inst.jobs.ids[j] for j in stuck[:5]]
        return BaselineAnswer(
            None,
            "infeasible",
            {
                "reason": f"{len(stuck)} job(s) have no usable GPU group "
                "(eligible type, demand within capacity, gang GPUs on "
                f"one group), e.g. {ids}"
            },
        )
    assert jobs.time is not None
    free = np.zeros(inst.n_gpus)
    schedule: dict[str, dict[str, Any]] = {}
    for j in rng.permutation(inst.n_jobs).tolist():
        opts = np.flatnonzero(options[j])
        k = opts[rng.integers(len(opts))]
        pick = earliest_free(free, np.flatnonzero(group == k), int(jobs.gang[j]), rng)
        start = max(float(jobs.release[j]), float(free[pick].max()))
        free[pick] = start + float(jobs.time[j, group_type[k]])
        schedule[jobs.ids[j]] = {"gpus": [inst.gpu_ids[g] for g in pick.tolist()], "start": start}
    return BaselineAnswer({"problem": "batch", "schedule": schedule}, "feasible")


BATCH = PROBLEM_CLASS = ProblemClass(
    name="batch",
    description="time-sharing: each GPU runs one job at a time, non-preemptively; jobs known up front",
    body_key="schedule",
    objectives=(
        Objective("makespan", "min", ("time",), "latest completion time"),
        Objective("weighted-completion", "min", ("time",), "sum of weight x completion time"),
        Objective("weighted-tardiness", "min", ("time",), "sum of weight x max(0, completion - deadline)"),
    ),
    params=(MULTI_NODE,),
    solution_body={
        "type": "object",
        "description": "job id -> its GPUs and start time (s)",
        "additionalProperties": {
            "type": "object",
            "required": ["gpus", "start"],
            "additionalProperties": False,
            "properties": {"gpus": _GPUS, "start": {"type": "number"}},
        },
    },
    validate=validate_batch,
    bounds=batch_bounds,
    generator_params=(
        S.ParamSpec(
            "arrival_load",
            None,
            "null: all jobs released at 0; else the offered load of the releases",
            S.optional_positive,
        ),
        S.DIURNAL,
        S.ARRIVALS,
    ),
    example=_example,
    baseline=_baseline,
)
