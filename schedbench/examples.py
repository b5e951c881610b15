"""Small illustrative instances of each problem class with hand-made solutions.

Each class's example is its :attr:`~schedbench.instances.problems.ProblemClass.example`, built on
the shared two-node cluster and five jobs defined here. They drive ``schedbench demo`` (the
Quickstart's main job) and the CLI tests. Their numbers are illustrative, chosen by hand to be
plausible for the named models and GPUs; they are not measurements (the measured catalogue is a
separate module). Each solution is validated by the
independent validator, never trusted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from schedbench.instances import GpuType, Instance, Jobs, Node, Problem, Resource, load, make_instance, save
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.validator import bounds, validate

RESOURCES = (Resource("memory_gib", "GiB"), Resource("compute", "GPU"))
GPU_TYPES = (
    GpuType("V100", {"memory_gib": 16.0, "compute": 1.0}, cost_per_hour=2.48, peak_tflops=15.7),
    GpuType("K80", {"memory_gib": 12.0, "compute": 1.0}, cost_per_hour=0.45, peak_tflops=4.1),
)
NODES = (Node("v0", "V100", ("v0/0", "v0/1")), Node("k0", "K80", ("k0/0", "k0/1")))
_META = {"description": "illustrative example, hand-written numbers (not measurements)"}

# job, model, gang, memory GiB (V100, K80), compute share, time s (V100, K80)
_JOBS = [
    ("j0", "resnet50", 1, (9.0, 9.0), 0.6, (3600.0, 9400.0)),
    ("j1", "lstm-lm", 1, (5.0, 5.0), 0.4, (1800.0, 3100.0)),
    ("j2", "transformer", 2, (12.0, None), 0.8, (5400.0, None)),
    ("j3", "cyclegan", 1, (4.0, 4.0), 0.3, (2400.0, 7900.0)),
    ("j4", "resnet18", 1, (3.0, 3.0), 0.3, (900.0, 2100.0)),
]


def example_jobs(**extra: Any) -> Jobs:
    """The five example jobs (memory, compute share, time and cost per type); ``extra`` goes to :meth:`Jobs.build`."""
    n = len(_JOBS)
    demand = np.zeros((n, 2, 2))
    time = np.zeros((n, 2))
    eligible = np.ones((n, 2), dtype=bool)
    for i, (_, _, _, mem, comp, t) in enumerate(_JOBS):
        for k in range(2):
            if mem[k] is None:
                eligible[i, k] = False
                continue
            demand[i, k] = (mem[k], comp)
            time[i, k] = t[k]
    cost = time * np.array([t.cost_per_hour or 0.0 for t in GPU_TYPES]) / 3600.0
    cost *= np.array([j[2] for j in _JOBS])[:, None]
    return Jobs.build(
        [j[0] for j in _JOBS],
        demand,
        eligible=eligible,
        time=time,
        cost=np.round(cost, 4),
        gang=np.array([j[2] for j in _JOBS]),
        job_type=[j[1] for j in _JOBS],
        **extra,
    )


def make_example(name: str, problem: Problem, jobs: Jobs) -> Instance:
    """An example instance on the shared two-node cluster (:data:`RESOURCES`, :data:`GPU_TYPES`, :data:`NODES`)."""
    return make_instance(
        resources=RESOURCES,
        gpu_types=GPU_TYPES,
        nodes=NODES,
        jobs=jobs,
        problem=problem,
        metadata={"name": name, **_META},
    )


def examples() -> list[tuple[Instance, list[tuple[str, dict[str, Any]]]]]:
    """The example instance of every registered problem class, each with named solutions (some
    deliberately infeasible), in registration order."""
    return [cls.example() for cls in PROBLEM_CLASSES.values()]


def run_demo(console: Console, directory: Path | None = None) -> int:
    """Write the examples to disk, read them back, validate every solution and print a table.

    Returns 0: the verdicts are shown, not judged (some example solutions are infeasible on purpose).
    """
    table = Table(title="schedbench demo: example instances, validated solutions")
    for col in ("instance", "objective", "jobs×GPUs", "solution", "verdict", "value", "bound"):
        table.add_column(col)
    with tempfile.TemporaryDirectory() as tmp:
        root = directory or Path(tmp)
        for inst, solutions in examples():
            path = root / f"{inst.name}.json"
            save(inst, path)
            loaded = load(path)
            bound = bounds(loaded)
            bound_s = ", ".join(f"{'≥' if k == 'lower_bound' else '≤'} {v:.6g}" for k, v in bound.items()) or "-"
            for sol_name, sol in solutions:
                res = validate(loaded, sol, sol_name)
                verdict = (
                    Text("feasible", style="green")
                    if res.feasible
                    else Text("infeasible", style="red") + ": " + ", ".join(sorted(res.violation_counts))
                )
                obj = "-" if res.objective is None else f"{res.objective:.6g}"
                table.add_row(
                    inst.name, inst.problem.objective, f"{inst.n_jobs}×{inst.n_gpus}", sol_name, verdict, obj, bound_s
                )
    console.print(table)
    return 0
