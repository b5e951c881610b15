"""Solution quality across commits: ``1 + gap`` of each solver on a small fixed instance set.

Deterministic by construction, so that a step in a series is a change in the code, not noise:

- ``sa``: a fixed move budget (``max_moves``) and seed; ``ga``: a fixed evaluation budget
  (``max_evals``) and seed;
- ``ilp-highs``: one thread, a fixed seed and a fixed branch-and-bound node limit
  (HiGHS ``mip_max_nodes``, set on the solver's own ``highspy.Highs`` object);
- ``cpsat``: one worker and a fixed ``deterministic_time`` (CP-SAT work units, not seconds);
- the constructive heuristics are deterministic as they are.

Every time limit is far above what the budget needs; a run that hits it anyway would make the
series noisy, so it is reported as a failure (see :func:`_check_not_timed_out`). Every answer is
graded by the validator; the gap is the project's (:func:`schedbench.scoring.gap`) to the published
optimum or best-known value (``metadata.known``), and asv records ``1 + gap`` (lower is better,
strictly positive, 1 = optimal).

Instances: the files in ``asv_bench/data/`` (generated once, optimum proven, see
``asv_bench/make_instances.py``) and three published ones when ``../shared/external`` exists
(OR-Library ``gap12-1`` 10x60 and ``gapd`` ``d05100`` 5x100, Fanjul-Peyro & Ruiz R||Cmax ``111``
100x10); a solver is skipped on instances whose class it does not solve.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from .common import (
    DATA,
    SMOKE,
    external_dir,
    gap,
    graded_objective,
    need,
    reference,
    scaled,
    solve,
    solver_class,
    supports,
)

GENERATED = ("gen-gap-like-60", "gen-gap-d-60x6", "gen-rcmax-40x5")
#: name -> (importer, file relative to the external folder, index of the problem in the file)
PUBLISHED = {
    "orlib-gap12-1": ("orlib-gap", "gap_orlib/gap12.txt", 0),
    "orlib-gapd-5x100": ("orlib-gap", "gap_orlib/gapd.txt", 0),
    "rcmax-111-100x10": ("rcmax", "rcmax_fanjul_ruiz/instancias1a100/111.txt", 0),
}
INSTANCES = (*GENERATED, *PUBLISHED)

#: The deterministic budget of each tracked configuration: solver name and parameters.
BUDGETS: dict[str, tuple[str, dict[str, Any]]] = {
    "sa": ("sa", {"max_moves": 200_000}),
    "ga": ("ga", {"max_evals": scaled(4_000, 2_000), "pop_size": 50}),
    "ilp-highs": ("ilp-highs", {}),
    "cpsat": ("cpsat", {"workers": 1, "deterministic_time": 0.05 if SMOKE else 0.5}),
    "greedy-bestfit": ("greedy-bestfit", {}),
    "regret": ("regret", {}),
    "list-ect": ("list-ect", {}),
    "lp-round": ("lp-round", {}),
}
#: HiGHS branch-and-bound nodes given to ``ilp-highs``.
ILP_NODE_LIMIT = scaled(50, 1)
#: (instance, solver) pairs not tracked: the best-fit and regret heuristics leave jobs unplaced on the
#: tight OR-Library GAPs (capacity 0.8 of the load), at every commit so far; an answer that is never
#: feasible carries no series.
NOT_TRACKED = {
    ("orlib-gap12-1", "greedy-bestfit"),
    ("orlib-gap12-1", "regret"),
    ("orlib-gapd-5x100", "greedy-bestfit"),
    ("orlib-gapd-5x100", "regret"),
}
#: Wall-clock limit given to every run: a safety net only, far above the budgets' needs.
TIME_LIMIT = 120.0

_cache: dict[str, Any] = {}


def load_instance(name: str) -> Any:
    """A quality instance by name (cached per process); skip when it cannot be had at this commit."""
    if name in _cache:
        return _cache[name]
    if name in PUBLISHED:
        fmt, rel, index = PUBLISHED[name]
        importers = need("schedbench.importers", "IMPORTERS").IMPORTERS
        if fmt not in importers:
            raise NotImplementedError(f"no {fmt} importer at this commit")
        inst = importers[fmt].read(external_dir() / rel)[index]
    else:
        load = need("schedbench.instances", "load").load
        try:
            inst = load(DATA / f"{name}.json")
        except Exception as exc:  # the format may be newer than this commit's reader
            raise NotImplementedError(f"this commit cannot read {name}.json: {exc}") from None
    _cache[name] = inst
    return inst


def _highs_node_limit(limit: int) -> Any:
    """Patch the solvers' HiGHS factory to add a node limit; returns the undo function."""
    hx = need("schedbench_solvers._highs", "new_highs")
    original = hx.new_highs

    def limited(**kwargs: Any) -> Any:
        h = original(**kwargs)
        h.setOptionValue("mip_max_nodes", int(limit))
        return h

    hx.new_highs = limited

    def undo() -> None:
        hx.new_highs = original

    return undo


def _check_not_timed_out(solver: str, inst: Any, wall: float) -> None:
    if wall >= 0.9 * TIME_LIMIT:
        raise RuntimeError(
            f"{solver} on {inst.name} ran {wall:.0f} s, near the {TIME_LIMIT:g} s safety limit: "
            "the answer depends on the clock, not the budget"
        )


class TrackGap:
    """``1 + gap`` of each solver configuration of :data:`BUDGETS` on each instance."""

    params: ClassVar[list[Any]] = [list(INSTANCES), list(BUDGETS)]
    param_names: ClassVar[list[str]] = ["instance", "solver"]
    unit = "1+gap"
    timeout = 600

    def setup(self, instance: str, solver: str) -> None:
        if (instance, solver) in NOT_TRACKED:
            raise NotImplementedError(f"{solver} on {instance} is not tracked (no feasible answer)")
        self.inst = load_instance(instance)
        name, self.params_ = BUDGETS[solver]
        self.cls = solver_class(name)
        supports(self.cls, self.inst)
        self.best = reference(self.inst)

    def track_gap(self, instance: str, solver: str) -> float:
        undo = _highs_node_limit(ILP_NODE_LIMIT) if solver == "ilp-highs" else None
        try:
            t0 = time.perf_counter()
            result = solve(self.cls, self.inst, self.params_, seed=0, time_limit=TIME_LIMIT)
            _check_not_timed_out(solver, self.inst, time.perf_counter() - t0)
        finally:
            if undo is not None:
                undo()
        return 1.0 + gap(graded_objective(self.inst, result), self.best)


class TrackOnlinePolicies:
    """Mean job completion time of each online queueing policy on a fixed online instance, once the
    online simulator exists (skipped before). Unit: seconds (lower is better)."""

    params: ClassVar[list[Any]] = [["fcfs", "fcfs-easy", "sjf", "srpt", "las", "tiresias", "edf", "priority"]]
    param_names: ClassVar[list[str]] = ["policy"]
    unit = "seconds"
    timeout = 600

    def setup(self, policy: str) -> None:
        need("schedbench.simulator")
        self.cls = solver_class(policy)
        generate = need("schedbench.generators", "generate").generate
        spec = {"jobs": scaled(500, 200), "cluster": "gavel", "load": 0.8, "objective": "mean-jct"}
        self.inst = generate("online", spec, seed=0)
        if self.inst.problem.objective != "mean-jct":
            raise NotImplementedError("this commit's online generator does not set the mean-jct objective")
        supports(self.cls, self.inst)

    def track_mean_jct(self, policy: str) -> float:
        result = solve(self.cls, self.inst, {}, seed=0, time_limit=TIME_LIMIT)
        return graded_objective(self.inst, result)
