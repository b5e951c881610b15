"""A seeded random-feasible baseline for every class: the floor any real solver should beat.

All randomness comes from ``numpy.random.default_rng(context.seed)``, so a fixed seed gives the
same answer. The answer itself is the problem class's
:attr:`~schedbench.instances.problems.ProblemClass.baseline` (``schedbench/classes/<class>.py``);
this plugin declares every registered class and objective and hands the instance to its class.
For the built-in classes:

* ``placement``: jobs in random order; each goes to a random gang group (a node, or a GPU type with
  ``allow_multi_node``) where at least ``gang`` GPUs still have room for it, on a random ``gang``
  of those GPUs; a job with no such group is left unplaced. For ``min-cost``/``min-gpus`` (every
  job placed) up to ``attempts`` attempts are made, each next order putting the jobs the last
  attempt left unplaced first (shuffled; "squeaky wheel"); the first complete one is returned, else
  the attempt with the fewest unplaced jobs with status ``unknown`` (the validator marks it
  infeasible).
* ``batch``: jobs in random order; each on a random gang group of a type it is eligible for, whose
  capacity its per-GPU demand fits and which has at least ``gang`` GPUs, on the ``gang`` GPUs of
  that group that are free first, started at ``max(release, when those GPUs are free)``. Always
  feasible.
* ``allocation``: per job a random split (Dirichlet(1)) of a whole unit of time over the types it
  may use (eligible, with at least ``gang`` GPUs), then each type's column scaled down so that its
  gang-weighted sum fits its GPU count. Always feasible.
* ``online``: first come, first served over releases (equal releases in random order), without
  backfilling (a job never starts before an earlier arrival) or preemption; each job on a random
  usable gang group, on its ``gang`` GPUs that are free first, holding them exclusively from
  ``start`` to ``start + time``. Always feasible.

When some job has no usable option at all (no eligible type whose capacity fits its demand with a
node of ``gang`` GPUs), every answer that must include it is infeasible: the solver returns status
``infeasible`` without a solution, except in ``online`` with ``allow_rejection``, where the job is
rejected at its release, and in ``placement``/``max-weight``, where it is simply not placed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.plugins.solver import Context, Param, Solver, SolveResult


class RandomFeasible(Solver):
    """Seeded random-feasible baseline for every class and objective."""

    name = "random-feasible"
    family = "baseline"
    version = "1"
    #: every class registered when the plugin is loaded, with all its objectives
    problems: ClassVar[dict[str, tuple[str, ...]]] = {
        c.name: tuple(o.name for o in c.objectives) for c in PROBLEM_CLASSES.values()
    }
    params = (
        Param(
            "attempts", int, 20, "placement min-cost/min-gpus: random orders tried until every job is placed", minimum=1
        ),
    )
    deterministic = True
    description = "seeded random feasible answer, every class (the floor to beat)"

    def solve(self, instance: Instance, context: Context) -> SolveResult | dict[str, Any]:
        """The instance's class's baseline answer, drawn with ``default_rng(context.seed)``."""
        rng = np.random.default_rng(context.seed)
        answer = PROBLEM_CLASSES[instance.problem.cls].baseline(instance, rng, context.params, context.remaining)
        return SolveResult(answer.solution, answer.status, info=dict(answer.info))
