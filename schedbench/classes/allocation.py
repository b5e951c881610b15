"""The ``allocation`` class: fractional time shares per GPU type (Gavel).

Rules and objectives: :mod:`schedbench.validator.allocation`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from schedbench.examples import example_jobs, make_example
from schedbench.instances.model import Instance, Problem
from schedbench.instances.problems import BaselineAnswer, Objective, ProblemClass
from schedbench.validator.allocation import allocation_bounds, validate_allocation


def _example() -> tuple[Instance, list[tuple[str, dict[str, Any]]]]:
    inst = make_example("example-allocation", Problem("allocation", "max-min-fairness"), example_jobs())
    return inst, [
        (
            "split",
            {
                "problem": "allocation",
                "allocation": {
                    "j0": {"V100": 0.25, "K80": 0.25},
                    "j1": {"K80": 0.5},
                    "j2": {"V100": 0.5},
                    "j3": {"V100": 0.25, "K80": 0.25},
                    "j4": {"K80": 0.5},
                },
            },
        ),
    ]


def _baseline(
    inst: Instance, rng: np.random.Generator, params: Mapping[str, Any], remaining: Callable[[], float]
) -> BaselineAnswer:
    """Per job a Dirichlet(1) split of a whole unit of time over the types it may use (eligible, at
    least ``gang`` GPUs), then each type's column scaled down to fit its GPU count. Always feasible."""
    jobs = inst.jobs
    counts = inst.gpus_per_type
    mask = jobs.eligible & (counts[None, :] >= jobs.gang[:, None])
    x = rng.exponential(size=mask.shape) * mask  # Dirichlet(1) over each job's usable types
    rows = x.sum(axis=1, keepdims=True)
    x = np.divide(x, rows, out=np.zeros_like(x), where=rows > 0)
    used = jobs.gang.astype(np.float64) @ x
    scale = np.divide(counts, used, out=np.ones_like(used), where=used > counts)
    x = x * np.minimum(1.0, scale)[None, :]
    types = inst.type_ids
    alloc = {
        jid: {types[t]: float(x[j, t]) for t in np.flatnonzero(x[j] > 0).tolist()} for j, jid in enumerate(jobs.ids)
    }
    return BaselineAnswer({"problem": "allocation", "allocation": alloc}, "feasible")


ALLOCATION = PROBLEM_CLASS = ProblemClass(
    name="allocation",
    description="fractional time shares per GPU type (Gavel): per job sum <= 1, per type gang-weighted sum <= GPUs",
    body_key="allocation",
    objectives=(
        Objective(
            "max-min-fairness", "max", ("time|throughput",), "minimum over jobs of throughput / equal-share throughput"
        ),
        Objective(
            "max-throughput", "max", ("time|throughput",), "sum over jobs of throughput / equal-share throughput"
        ),
        Objective(
            "proportional-fairness",
            "max",
            ("time|throughput",),
            "sum over jobs of log(throughput / equal-share throughput)",
        ),
    ),
    params=(),
    solution_body={
        "type": "object",
        "description": "job id -> {GPU type id: time fraction}",
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "number"}},
    },
    validate=validate_allocation,
    bounds=allocation_bounds,
    generator_params=(),
    example=_example,
    baseline=_baseline,
)
