"""Genetic algorithm ``ga`` (family ``genetic``) on DEAP with numpy-vectorised populations.

Solves ``placement`` (``min-cost``, ``max-weight``, ``min-gpus``) and ``batch`` (``makespan``,
``weighted-completion``, ``weighted-tardiness``), gang jobs and release times included. DEAP and
the operators are imported inside ``solve`` (from ``_ga_ops``), so listing solvers stays cheap.
Details: ``docs/solvers-genetic.md``.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult

#: Declared parameters (operators, rates, stopping).
GA_PARAMS = (
    Param(
        "encoding",
        str,
        "auto",
        "auto (placement: assignment, batch: permutation), assignment (an option per "
        "job) or permutation (batch only: list scheduling of a job order)",
        choices=("auto", "assignment", "permutation"),
    ),
    Param(
        "sequence",
        str,
        "auto",
        "assignment decoder's job order (auto: release/WSPT/EDD by objective)",
        choices=("auto", "release", "lpt", "wspt", "edd"),
    ),
    Param("pop_size", int, 100, "individuals per generation", minimum=4),
    Param("cxpb", float, 0.8, "probability that a pair of parents mates", minimum=0.0, maximum=1.0),
    Param("mutpb", float, 0.3, "probability that a child mutates", minimum=0.0, maximum=1.0),
    Param("indpb", float, 0.0, "per-gene mutation probability (0: 2 / jobs)", minimum=0.0, maximum=1.0),
    Param("tournsize", int, 3, "tournament size of the selection", minimum=1),
    Param("elite", int, 2, "best individuals copied unchanged into the next generation", minimum=0),
    Param(
        "ls_size",
        int,
        4,
        "best distinct individuals improved by local search (placement min-cost and max-weight; 0: none)",
        minimum=0,
    ),
    Param("ls_every", int, 1, "generations between local searches", minimum=1),
    Param("ls_steps", int, 0, "local-search moves per individual (0: 2 x jobs)", minimum=0),
    Param(
        "restart",
        int,
        100,
        "generations without progress before the non-elite population is re-drawn (0: never)",
        minimum=0,
    ),
    Param(
        "max_evals",
        int,
        100_000,
        "stop after this many fitness evaluations (0: time limit only); "
        "the answer then depends only on the seed and parameters",
        minimum=0,
    ),
    Param("margin", float, 0.2, "seconds kept back from the time limit to return the answer", minimum=0.0),
    Param("log_every", int, 50, "generations between Logbook records", minimum=1),
)


class GeneticAlgorithm(Solver):
    """Generational genetic algorithm with elitism, numpy-array individuals and DEAP's toolbox.

    **Encodings.** ``placement``: an *assignment vector*, gene ``j`` = an option of job ``j``: one
    usable GPU (gang 1) or a window of ``gang`` consecutive GPUs (by index) of one node (one GPU type
    with ``allow_multi_node``) for a gang job; ``max-weight`` adds an "unplaced" option. ``batch``
    with ``encoding="assignment"``: gene ``j`` = the gang group (node, or type with
    ``allow_multi_node``) of job ``j``; the decoder takes jobs in one fixed rule order (``sequence``:
    ``auto`` = release dates for makespan, WSPT for weighted completion, EDD for weighted tardiness)
    and starts each at ``max(release, the time its group's gang earliest-free GPUs are free)`` on
    those GPUs. ``batch`` with ``encoding="permutation"``: list scheduling of the permutation, each
    job going to the group (and its gang earliest-free GPUs) where it completes earliest.
    ``encoding="auto"`` (default) is the assignment vector for placement and the permutation for
    batch (better per evaluation and per second on the generated batch instances measured, see the
    docs); ``encoding="permutation"`` on a placement instance raises ``ValueError`` (run status
    ``error``).

    **Capacity** (placement): an *adaptive penalty*, no repair. Fitness = objective + ``lam`` x
    total normalised overload (``sum max(0, load - capacity) / capacity`` over GPUs and resources);
    ``lam`` grows 10 % after a generation whose best individual is infeasible and shrinks 5 %
    otherwise. Only feasible individuals (no overload within half the validator's tolerance) become
    incumbents. Batch schedules are feasible by construction. ``min-gpus`` fitness is the number (or
    price) of used GPUs less a bonus < one GPU for well-filled GPUs; makespan adds ``1e-3`` x the mean
    completion time as a tie-breaker (the reported objective is always the true one).

    **Search.** Initial population: the constructive heuristics' answers (``regret``, ``ffd``,
    ``bfd`` for placement; ``list-ect``/``wspt``/``edd`` schedules or LPT/WSPT/EDD/release orders for
    batch) plus random individuals. Each generation keeps the ``elite`` best, fills the rest with
    tournament winners (``tournsize``) mated by uniform crossover (assignment) or uniform
    order-based crossover (permutation) with probability ``cxpb``, mutated with probability
    ``mutpb`` (reset of each gene with probability ``indpb`` / ``round(indpb x n)`` swaps), all
    evaluated at once with numpy. For additive placement objectives (``min-cost``, ``max-weight``),
    every ``ls_every`` generations the ``ls_size`` best distinct individuals get a vectorised
    steepest-descent shift local search (memetic, Lamarckian). After ``restart`` generations without
    progress the non-elite population is re-drawn at random.

    **Stopping.** After ``max_evals`` fitness evaluations (local search included; default 100,000;
    the answer then depends only on the seed and parameters) or when ``context.remaining()`` falls
    below ``margin`` seconds, whichever comes first; ``max_evals = 0``: the time limit only.
    ``deterministic = True`` describes the default, budget-stopped behaviour: on instances so large
    that the budget is not spent within the time limit the clock stops the run and two runs may
    differ (``info["stopped_by"]`` says which). All randomness comes from
    ``numpy.random.default_rng(context.seed)``.

    **Anytime.** Every strictly better feasible individual is reported with ``context.report``.

    **Statuses.** ``feasible`` with the best feasible answer; ``infeasible`` (no solution) when a job
    of a ``min-cost``/``min-gpus`` placement or of a batch has no usable GPU group even on an empty
    cluster; ``unknown`` (no solution) when no feasible individual was found. It never claims
    ``optimal``. It declines nothing within its classes and objectives.
    """

    name = "ga"
    family = "genetic"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {
        "placement": ("min-cost", "max-weight", "min-gpus"),
        "batch": ("makespan", "weighted-completion", "weighted-tardiness"),
    }
    params: ClassVar[tuple[Param, ...]] = GA_PARAMS
    requires = ("deap.base", "deap.tools")
    deterministic = True
    description = "genetic algorithm (DEAP toolbox, numpy populations, adaptive penalty, memetic shift search)"

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Solve ``instance`` as the class docstring describes; never modifies it."""
        from ._ga_ops import BatchModel, PlacementModel, evolve

        p = self.resolve_params(context.params)
        t0 = time.perf_counter()
        if instance.problem.cls == "placement":
            if p["encoding"] == "permutation":
                raise ValueError(
                    "ga: encoding='permutation' applies to batch instances only; placement uses the "
                    "assignment encoding ('auto' or 'assignment')"
                )
            model: PlacementModel | BatchModel = PlacementModel(instance)
            must_place = instance.problem.objective in ("min-cost", "min-gpus")
            encoding = "assignment"
        else:
            encoding = "permutation" if p["encoding"] == "auto" else p["encoding"]
            model = BatchModel(instance, encoding, p["sequence"])
            must_place = True
        info: dict[str, Any] = {"encoding": encoding}
        if must_place and len(model.infeasible_jobs):
            ids = [instance.jobs.ids[j] for j in model.infeasible_jobs[:5].tolist()]
            return SolveResult(
                None,
                "infeasible",
                info={
                    **info,
                    "reason": f"{len(model.infeasible_jobs)} job(s) "
                    f"fit on no GPU group even of an empty cluster, e.g. {ids}",
                },
            )
        if instance.n_jobs == 0:
            doc = model.doc(np.zeros(0, dtype=np.int64))
            context.report(doc)
            return SolveResult(doc, "feasible", info={**info, "objective": 0.0})
        rng = np.random.default_rng(context.seed)
        deadline = time.monotonic() + max(0.0, context.remaining() - p["margin"])
        sign = -1.0 if instance.problem.objective == "max-weight" else 1.0

        def on_improve(row: np.ndarray, value: float) -> None:
            context.report(model.doc(row))

        out = evolve(model, p, rng, time.monotonic, deadline, on_improve)
        wall = time.perf_counter() - t0
        info.update({k: v for k, v in out.items() if k not in ("best", "best_value")})
        info["stopped_by"] = "max_evals" if p["max_evals"] and out["evals"] >= p["max_evals"] else "time"
        info["evals_per_s"] = out["evals"] / wall if wall > 0 else None
        if out["best"] is None:
            return SolveResult(None, "unknown", info={**info, "reason": "no feasible individual found"})
        info["objective"] = sign * float(out["best_value"])
        if instance.problem.objective == "max-weight":
            info["seed_values"] = [None if v is None else -v for v in info["seed_values"]]
        return SolveResult(model.doc(out["best"]), "feasible", info=info)
