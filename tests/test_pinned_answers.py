"""Pinned answers of ``sa`` and ``ga`` with a fixed budget and seed (fixed answers across refactorings).

Each case runs a solver with a move / evaluation budget (so the answer depends only on the seed,
never on the clock) and compares a hash of the solution document with the one recorded before the
solvers' shared library and annealing loop skeleton were introduced. A change of these hashes means
that the answers changed: bump the solver's ``version`` and re-pin them on purpose.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from schedbench_solvers.annealing import SimulatedAnnealing
from schedbench_solvers.genetic import GeneticAlgorithm

from schedbench.generators import generate
from schedbench.importers.gap import gap_instance
from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance
from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Solver
from schedbench.validator import validate


def gap(n: int, m: int, seed: int) -> Instance:
    """A GAP with Yagiura type-D style costs (``benchmarks/bench_annealing.py``'s generator)."""
    rng = np.random.default_rng(seed)
    use = rng.integers(1, 101, (m, n)).astype(float)
    cost = 111 - use + rng.integers(-10, 11, (m, n))
    cap = 0.8 * use.sum(axis=1) / m
    return gap_instance(cost, use, cap, name=f"pinned-gap-{n}")


def rcmax(n: int, m: int, seed: int) -> Instance:
    """Unrelated machines, integer times 1-100 (``benchmarks/bench_annealing.py``'s generator)."""
    rng = np.random.default_rng(seed)
    types = tuple(GpuType(f"m{i}", {"compute": 1.0}) for i in range(m))
    nodes = tuple(Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m))
    jobs = Jobs.build([f"j{k}" for k in range(n)], np.ones((n, m, 1)), time=rng.integers(1, 101, (n, m)).astype(float))
    return make_instance(
        resources=(Resource("compute"),),
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("batch", "makespan"),
        metadata={"name": f"pinned-rcmax-{n}"},
    )


CASES = {
    "sa-gap": (SimulatedAnnealing, lambda: gap(60, 6, 1), {"max_moves": 200_000}, "5c9de870aef6775e"),
    "sa-gap-cycles": (
        SimulatedAnnealing,
        lambda: gap(60, 6, 1),
        {"max_moves": 100_000, "cycle_moves": 5000},
        "52b558c0300f14a9",
    ),
    "sa-rcmax-target": (SimulatedAnnealing, lambda: rcmax(30, 10, 3), {"max_moves": 200_000}, "06b8b8e9ff7bf27d"),
    "sa-rcmax-cmax": (
        SimulatedAnnealing,
        lambda: rcmax(60, 8, 1),
        {"max_moves": 100_000, "energy": "cmax"},
        "4ad45366011f61f2",
    ),
    "ga-gap": (GeneticAlgorithm, lambda: gap(60, 6, 1), {"max_evals": 3000}, "cd85f0b56fbce615"),
    "ga-rcmax": (GeneticAlgorithm, lambda: rcmax(60, 8, 1), {"max_evals": 3000}, "547f29d4307c6592"),
    "ga-placement-gangs": (
        GeneticAlgorithm,
        lambda: generate("placement", {"jobs": 40, "cluster": "gavel", "objective": "min-cost", "tightness": 0.8}, 0),
        {"max_evals": 3000},
        "b5e1a639ddd9a0e6",
    ),
    "ga-batch-wct": (
        GeneticAlgorithm,
        lambda: generate("batch", {"jobs": 30, "cluster": "modern", "objective": "weighted-completion"}, 1),
        {"max_evals": 3000},
        "02fcffc88f68b307",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fixed_budget_answer_is_pinned(case: str) -> None:
    """A fixed-budget answer hashes to the value pinned before the refactoring."""
    solver_cls, build, params, pinned = CASES[case]
    inst = build()
    solver: Solver = solver_cls()
    res = solver.solve(inst, Context(60.0, 7, solver.resolve_params(params)))
    assert res.solution is not None and validate(inst, res.solution).feasible
    digest = hashlib.sha256(json.dumps(res.solution, sort_keys=True).encode()).hexdigest()[:16]
    assert digest == pinned, f"{case}: the answer changed ({digest})"
