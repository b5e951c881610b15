"""Greedy placement: best fit with the seed article's utilisation score, vectorised over GPUs.

The article this project starts from places tasks one by one on the feasible GPU whose remaining
memory and compute fractions after placement are smallest (best fit). Its sketch had defects this
implementation does not share: it keyed a dict by (unhashable) job dicts, subtracted from its input
and raised on the first task that did not fit. Here the instance is never modified (the load lives
in a separate array), jobs are keyed by index, and a job that fits nowhere is left unplaced while
the others go on.

Score of placing job j on GPU g (``score=capacity``, the default)::

    sum over resources r of (capacity[g, r] - load[g, r] - demand[j, r]) / capacity[g, r]

i.e. the fraction of the GPU left free after placement; ``score=free`` divides by the room that
was free before placement instead (the article's literal formula). A gang of ``gang`` GPUs must be
of one type on one node (one type anywhere with ``allow_multi_node``): per node the ``gang``
best-scoring GPUs that fit are taken, and the node with the smallest summed score wins. For
``min-cost`` the cheapest type among the feasible nodes is preferred first (``cost_first``), best
fit deciding within it; ties go to the lowest GPU index, so the solver is deterministic.

Job order (``order``): ``decreasing`` sorts by size = gang x the smallest, over eligible types, of
the largest demand/capacity ratio (first-fit-decreasing style; for ``max-weight`` by weight per
size), ``input`` keeps the instance's order.

``min-cost`` and ``min-gpus`` need every job placed. When the first pass leaves jobs unplaced, a
second pass tries plain best fit by decreasing size (cost only breaking ties); if jobs still
remain unplaced the partial assignment is returned with status ``unknown`` (no claim) and the
validator marks it infeasible (``unplaced``). If some job fits on no GPU group even of an empty
cluster, the instance is infeasible and the solver says so (status ``infeasible``, no solution).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult

from ._lib.documents import placement_doc
from ._lib.packing import best_fit, infeasible_placement, placement_order, places_every_job


class GreedyBestFit(Solver):
    """Best-fit greedy placement (the seed article's utilisation score), vectorised over GPUs."""

    name = "greedy-bestfit"
    family = "greedy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"placement": ("min-cost", "min-gpus", "max-weight")}
    params = (
        Param(
            "order",
            str,
            "decreasing",
            "job order: decreasing size (max-weight: weight per size) or input",
            choices=("decreasing", "input"),
        ),
        Param(
            "score",
            str,
            "capacity",
            "best-fit score: free fraction of capacity after placement, or of the room "
            "free before it (free: the article's formula)",
            choices=("capacity", "free"),
        ),
        Param(
            "cost_first",
            bool,
            True,
            "min-cost: cheapest feasible type first, best fit within it (false: best fit, cost breaking ties)",
        ),
    )
    deterministic = True
    description = "best-fit greedy placement (article's utilisation score); never mutates the instance"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        import time

        p = self.resolve_params(context.params)  # defaults filled in when called directly
        all_jobs = places_every_job(instance)
        infeasible = infeasible_placement(instance)
        if infeasible is not None:
            return infeasible
        deadline = time.monotonic() + max(0.0, context.remaining() - 0.5)
        min_cost = instance.problem.objective == "min-cost"
        attempts = [(p["order"], p["cost_first"] and min_cost)]
        if all_jobs and attempts[0] != ("decreasing", False):
            attempts.append(("decreasing", False))
        best: list[np.ndarray | None] | None = None
        best_unplaced = -1
        tried = 0
        for order, cost_first in attempts:
            chosen, complete = best_fit(
                instance,
                placement_order(instance, order),
                score_mode=p["score"],
                cost_first=cost_first,
                deadline=deadline,
                clock=time.monotonic,
            )
            tried += 1
            unplaced = sum(c is None for c in chosen)
            if best is None or unplaced < best_unplaced:
                best, best_unplaced = chosen, unplaced
            if not complete or not all_jobs or unplaced == 0:
                break
        assert best is not None
        status = "unknown" if all_jobs and best_unplaced else "feasible"
        return SolveResult(placement_doc(instance, best), status, info={"passes": tried, "unplaced": best_unplaced})
