"""Speed of ``convex-allocation`` (max-min fairness) and ``convex-qp-wspt``: build, compile and solve
time per backend, and the re-solve time of the reusable :class:`AllocationProgram`.

    .venv/bin/python benchmarks/bench_convex.py                 # 1,000 and 10,000 jobs
    .venv/bin/python benchmarks/bench_convex.py --jobs 1000 --backends clarabel highs

Instances: ``schedbench generate allocation`` with the ``gavel-fairness`` preset (Gavel's cluster,
36 K80 + 36 P100 + 36 V100, Gavel's job mix, gangs 1/2/4), seed 0, at the given job counts. Columns:
``build`` = numpy arrays + cvxpy expressions, ``compile`` = cvxpy canonicalisation (DPP) on the first
solve, ``solve`` = the backend's own time (cvxpy ``solver_stats.solve_time``), ``resolve`` = the
whole second ``solve`` call after changing the capacities (parameters only, no recompilation), and
``lp-allocation`` (HiGHS via highspy, the existing LP solver) as the baseline in the same process.
Every answer is checked with the validator. Single-threaded backends.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schedbench_solvers.convex import ConvexQpWspt, allocation_program
from schedbench_solvers.lp import LpAllocation

from schedbench.generators import generate
from schedbench.generators.presets import PRESETS
from schedbench.plugins.solver import Context
from schedbench.validator import validate


def allocation_instance(n: int, objective: str = "max-min-fairness"):
    cls, params = PRESETS["gavel-fairness"]
    return generate(cls, {**params, "jobs": n, "objective": objective}, seed=0)


def bench_allocation(n: int, backends: list[str]) -> list[dict]:
    inst = allocation_instance(n)
    rows = []
    t0 = time.perf_counter()
    lp = LpAllocation().solve(inst, Context(600, 0, LpAllocation.resolve_params({"method": "ipm"})))
    lp_total = time.perf_counter() - t0
    lp_value = validate(inst, lp.solution).objective
    rows.append(
        {
            "jobs": n,
            "backend": "lp-allocation (highspy ipm)",
            "build": lp.info["build_s"],
            "compile": 0.0,
            "solve": lp.info["solve_s"],
            "first": lp_total,
            "resolve": None,
            "value": lp_value,
            "ok": True,
        }
    )
    for backend in backends:
        t0 = time.perf_counter()
        prog = allocation_program(inst)
        build = time.perf_counter() - t0
        out = prog.solve(backend, time_limit=600)
        first = time.perf_counter() - t0
        x = np.zeros((inst.n_jobs, len(inst.gpu_types)))
        x[prog.pair_job, prog.pair_type] = out.x
        doc = {
            "problem": "allocation",
            "allocation": {
                inst.jobs.ids[j]: {inst.type_ids[t]: float(x[j, t]) for t in np.flatnonzero(x[j] > 0).tolist()}
                for j in range(inst.n_jobs)
            },
        }
        v = validate(inst, doc)
        ok = v.feasible and abs(v.objective - lp_value) <= 1e-6 * max(1.0, abs(lp_value))
        # re-solve: one GPU fewer of each type (parameters only)
        prog.set(capacity=inst.gpus_per_type - 1.0)
        t1 = time.perf_counter()
        again = prog.solve(backend, time_limit=600)
        resolve = time.perf_counter() - t1
        rows.append(
            {
                "jobs": n,
                "backend": f"convex-allocation {backend}",
                "build": build,
                "compile": max(0.0, out.total_s - out.solve_s),
                "solve": out.solve_s,
                "first": first,
                "resolve": resolve,
                "resolve_solve": again.solve_s,
                "value": v.objective,
                "ok": ok,
                "gap": (out.bound - out.value) if out.bound is not None and out.value is not None else None,
            }
        )
    return rows


def bench_qp(n: int) -> dict:
    cls, params = PRESETS["gavel-makespan"]
    inst = generate(
        cls,
        {
            **params,
            "jobs": n,
            "objective": "weighted-completion",
            "gang": {"1": 1},
            "weights": {"1": 1, "2": 1, "4": 1},
        },
        seed=0,
    )
    t0 = time.perf_counter()
    res = ConvexQpWspt().solve(inst, Context(600, 0, ConvexQpWspt.resolve_params({})))
    wall = time.perf_counter() - t0
    v = validate(inst, res.solution)
    return {
        "jobs": n,
        "gpus": inst.n_gpus,
        "wall": wall,
        "build": res.info["build_s"],
        "qp": res.info["qp_s"],
        "solve": res.info["solve_s"],
        "value": v.objective,
        "bound": res.bound,
        "feasible": v.feasible,
        "gap": (v.objective - res.bound) / res.bound,
    }


def warm_up() -> None:
    """Import cvxpy and the backends and compile a tiny program, so that import time is not measured."""
    inst = allocation_instance(20)
    for backend in ("clarabel", "ecos", "highs"):
        allocation_program(inst).solve(backend)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--backends", nargs="+", default=["clarabel", "ecos", "highs"])
    ap.add_argument("--qp-jobs", type=int, nargs="*", default=[200, 1000])
    args = ap.parse_args()
    warm_up()
    print("allocation max-min-fairness (gavel-fairness preset, seed 0), seconds")
    print(
        f"{'jobs':>6} {'solver':<30} {'build':>7} {'compile':>8} {'solve':>7} {'first':>7} {'resolve':>8} "
        f"{'objective':>12} {'ok':>3} {'cert gap':>9}"
    )
    for n in args.jobs:
        for r in bench_allocation(n, args.backends):
            res = "-" if r["resolve"] is None else f"{r['resolve']:.3f}"
            gap = "-" if r.get("gap") is None else f"{r['gap']:.1e}"
            print(
                f"{r['jobs']:>6} {r['backend']:<30} {r['build']:>7.3f} {r['compile']:>8.3f} {r['solve']:>7.3f} "
                f"{r['first']:>7.3f} {res:>8} {r['value']:>12.8g} {'yes' if r['ok'] else 'NO':>3} {gap:>9}",
                flush=True,
            )
    if args.qp_jobs:
        print("\nconvex-qp-wspt (gavel-makespan preset as weighted-completion, gang 1, releases 0), seconds")
        print(
            f"{'jobs':>6} {'gpus':>5} {'build':>7} {'qp':>7} {'solve':>7} {'wall':>7} {'objective':>14} "
            f"{'bound':>14} {'gap':>7}"
        )
        for n in args.qp_jobs:
            r = bench_qp(n)
            print(
                f"{r['jobs']:>6} {r['gpus']:>5} {r['build']:>7.3f} {r['qp']:>7.3f} {r['solve']:>7.3f} "
                f"{r['wall']:>7.3f} {r['value']:>14.8g} {r['bound']:>14.8g} {r['gap']:>7.2%}",
                flush=True,
            )


if __name__ == "__main__":
    main()
