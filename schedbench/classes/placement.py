"""The ``placement`` class: space sharing, one snapshot (GAP, vector bin packing, multiple knapsack).

Rules and objectives: :mod:`schedbench.validator.placement`. Generator: planted (see
:mod:`schedbench.generators.core`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from schedbench.examples import example_jobs, make_example
from schedbench.generators import spec as S  # noqa: N812 (short alias for the spec helpers)
from schedbench.instances.gangs import FIT_ATOL, FIT_RTOL, gang_groups, usable_types
from schedbench.instances.model import Instance, Problem
from schedbench.instances.problems import BaselineAnswer, ClassParam, Objective, ProblemClass
from schedbench.validator.placement import placement_bounds, validate_placement

#: Objectives that require every job placed.
ALL_JOBS_OBJECTIVES = ("min-cost", "min-gpus")

MULTI_NODE = ClassParam(
    "allow_multi_node",
    bool,
    False,
    "a gang may span several nodes (its GPUs must still share one GPU type)",
)

_GPUS = {"type": "array", "items": {"type": "string", "minLength": 1}}


def _example() -> tuple[Instance, list[tuple[str, dict[str, Any]]]]:
    inst = make_example("example-placement", Problem("placement", "min-cost"), example_jobs())
    return inst, [
        (
            "packed",
            {
                "problem": "placement",
                "assignment": {"j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/1"]},
            },
        ),
        (
            "overpacked",
            {
                "problem": "placement",
                "assignment": {"j0": ["v0/0"], "j1": ["v0/0"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/0"]},
            },
        ),
    ]


def _random_placement(inst: Instance, order: list[int], rng: np.random.Generator) -> list[np.ndarray | None]:
    """Place jobs in ``order``, each on a random gang of GPUs with room in a random gang group."""
    jobs = inst.jobs
    G, R = inst.n_gpus, len(inst.resources)
    gtype = inst.gpu_type
    group, group_type, _ = gang_groups(inst)
    K = len(group_type)
    limit = np.ascontiguousarray(inst.gpu_capacity.T) * (1 + FIT_RTOL) + FIT_ATOL  # (R, G)
    load = np.zeros((R, G))
    chosen: list[np.ndarray | None] = [None] * inst.n_jobs
    for j in order:
        dem_t = jobs.demand[j].T
        dem = np.empty((R, G))
        fit = np.ones(G, dtype=bool)
        for r in range(R):
            dem[r] = dem_t[r][gtype]
            fit &= load[r] + dem[r] <= limit[r]
        gang = int(jobs.gang[j])
        ok = np.flatnonzero(np.bincount(group[fit], minlength=K) >= gang)
        if not len(ok):
            continue
        k = ok[rng.integers(len(ok))]
        members = np.flatnonzero(fit & (group == k))
        pick = np.sort(rng.choice(members, size=gang, replace=False))
        load[:, pick] += dem[:, pick]
        chosen[j] = pick
    return chosen


def _baseline(
    inst: Instance, rng: np.random.Generator, params: Mapping[str, Any], remaining: Callable[[], float]
) -> BaselineAnswer:
    """Jobs in random order, each on a random gang group with room, on a random gang of its GPUs; for
    the all-jobs objectives up to ``attempts`` orders (squeaky wheel), see ``solvers/baseline.py``."""
    all_jobs = inst.problem.objective in ALL_JOBS_OBJECTIVES
    if all_jobs:
        stuck = np.flatnonzero(~usable_types(inst).any(axis=1)).tolist()
        if stuck:
            some = [inst.jobs.ids[j] for j in stuck[:5]]
            return BaselineAnswer(
                None,
                "infeasible",
                {"reason": f"{len(stuck)} job(s) have no usable GPU group (even on an empty cluster), e.g. {some}"},
            )
    best: list[np.ndarray | None] | None = None
    best_unplaced = -1
    tries = int(params.get("attempts", 20)) if all_jobs else 1
    done = 0
    order = rng.permutation(inst.n_jobs)
    for _ in range(tries):
        chosen = _random_placement(inst, order.tolist(), rng)
        done += 1
        unplaced = sum(c is None for c in chosen)
        if best is None or unplaced < best_unplaced:
            best, best_unplaced = chosen, unplaced
        if unplaced == 0 or remaining() < 0.5:
            break
        # next order: this attempt's unplaced jobs first (squeaky wheel), each part shuffled
        left = np.array([c is None for c in chosen])
        order = np.concatenate([rng.permutation(np.flatnonzero(left)), rng.permutation(np.flatnonzero(~left))])
    assert best is not None
    ids, gpus = inst.jobs.ids, inst.gpu_ids
    doc = {
        "problem": "placement",
        "assignment": {ids[j]: (None if g is None else [gpus[k] for k in g.tolist()]) for j, g in enumerate(best)},
    }
    status = "unknown" if all_jobs and best_unplaced else "feasible"
    return BaselineAnswer(doc, status, {"attempts": done, "unplaced": best_unplaced})


PLACEMENT = PROBLEM_CLASS = ProblemClass(
    name="placement",
    description="space-sharing snapshot: each job gets gang-size GPUs; summed demand per GPU fits capacity",
    body_key="assignment",
    objectives=(
        Objective("min-cost", "min", ("cost",), "sum of per-type job costs; all jobs placed (GAP)"),
        Objective(
            "min-gpus",
            "min",
            (),
            "GPUs used (or their cost per hour, measure=cost); all jobs placed (vector bin packing)",
        ),
        Objective("max-weight", "max", (), "total weight of placed jobs (multiple knapsack)"),
    ),
    params=(
        MULTI_NODE,
        ClassParam("measure", str, "count", "min-gpus counts GPUs or sums their cost_per_hour", ("count", "cost")),
    ),
    solution_body={
        "type": "object",
        "description": "job id -> GPU ids (null or omitted: unplaced)",
        "additionalProperties": {"oneOf": [_GPUS, {"type": "null"}]},
    },
    validate=validate_placement,
    bounds=placement_bounds,
    generator_params=(
        S.ParamSpec("tightness", 0.8, "planted GPU loads are at most this fraction of capacity", S.positive_number),
        S.ParamSpec("oversubscription", 1.5, "max-weight: jobs per planted job (>= 1)", S.positive_number),
    ),
    example=_example,
    baseline=_baseline,
    planted=True,
)
