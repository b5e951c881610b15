"""Benchmark of ``ilp-highs`` / ``lp-round``: bulk model building and OR-Library gap1-gap12.

Usage::

    .venv/bin/python benchmarks/bench_ilp.py [--limit 60] [--files gap1,gap2,...] [--skip-build]

1. Builds the GAP model of a random 5,000 jobs x 100 GPUs instance (500,000 binaries) with the
   bulk path (numpy + one CSC matrix + one ``passModel`` call) and prints the times; then the same
   with 10% of the jobs given a gang of 2-4 on 25 nodes of 4 GPUs (z columns and link rows), and
   the time-indexed model of a 60 jobs x 8 GPUs weighted-completion instance at the default
   200,000-column budget.
2. Solves every problem of ``../shared/external/gap_orlib/gap<k>.txt`` with ``ilp-highs`` under a
   ``--limit`` second limit and prints value, bound, proven optimality, known optimum and time,
   plus ``lp-round``'s LP bound and rounded value. (``experiments/external_ilp.py`` covers gapa-d,
   R||Cmax and vector packing.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from schedbench_solvers import _highs as hx
from schedbench_solvers.ilp import IlpHighs
from schedbench_solvers.lp import LpRound

from schedbench.importers import IMPORTERS
from schedbench.importers.gap import gap_instance
from schedbench.plugins.solver import Context
from schedbench.validator import validate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "external" / "gap_orlib"


def bench_build(n: int = 5000, m: int = 100) -> None:
    rng = np.random.default_rng(0)
    cost = rng.integers(10, 50, (m, n)).astype(float)
    use = rng.integers(5, 25, (m, n)).astype(float)
    cap = np.full(m, float(use.sum() / m * 0.8))
    t0 = time.perf_counter()
    inst = gap_instance(cost, use, cap, name="random-gap-5000x100")
    t1 = time.perf_counter()
    model = hx.build(inst, integer=True)
    t2 = time.perf_counter()
    h = hx.new_highs(time_limit=None, threads=1, seed=0)
    hx.pass_model(h, model, integer=True)
    t3 = time.perf_counter()
    print(
        f"GAP {n}x{m}: instance {t1 - t0:.3f}s; build arrays+CSC {t2 - t1:.3f}s "
        f"({model.A.shape[1]} cols, {model.A.shape[0]} rows, {model.A.nnz} nnz); passModel {t3 - t2:.3f}s; "
        f"build+pass {t3 - t1:.3f}s"
    )


def bench_build_gang(n: int = 5000, nodes: int = 25, per_node: int = 4) -> None:
    from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance

    rng = np.random.default_rng(1)
    gang = np.where(rng.random(n) < 0.1, rng.integers(2, per_node + 1, n), 1)
    demand = rng.uniform(0.05, 0.4, (n, 1, 1))
    jobs = Jobs.build([f"j{i}" for i in range(n)], demand, gang=gang, cost=rng.integers(1, 50, (n, 1)).astype(float))
    inst = make_instance(
        resources=[Resource("r")],
        gpu_types=[GpuType("t", {"r": 1.0})],
        nodes=[Node(f"n{k}", "t", tuple(f"n{k}/{i}" for i in range(per_node))) for k in range(nodes)],
        jobs=jobs,
        problem=Problem("placement", "min-cost"),
        metadata={"name": "gang-gap"},
    )
    t1 = time.perf_counter()
    model = hx.build(inst, integer=True)
    t2 = time.perf_counter()
    h = hx.new_highs(time_limit=None, threads=1, seed=0)
    hx.pass_model(h, model, integer=True)
    t3 = time.perf_counter()
    print(
        f"gang GAP {n} jobs ({int((gang > 1).sum())} gangs) x {nodes * per_node} GPUs: build {t2 - t1:.3f}s "
        f"({model.A.shape[1]} cols of which {len(model.grp_job)} z, {model.A.shape[0]} rows, {model.A.nnz} nnz); "
        f"passModel {t3 - t2:.3f}s"
    )


def bench_build_time_indexed(n: int = 60, m: int = 8) -> None:
    from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance

    rng = np.random.default_rng(2)
    jobs = Jobs.build(
        [f"j{i}" for i in range(n)],
        np.ones((n, m, 1)),
        time=rng.uniform(10, 100, (n, m)).round(2),
        release=rng.uniform(0, 300, n).round(1),
        weight=rng.integers(1, 5, n).astype(float),
    )
    inst = make_instance(
        resources=[Resource("r")],
        gpu_types=[GpuType(f"m{i}", {"r": 1.0}) for i in range(m)],
        nodes=[Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m)],
        jobs=jobs,
        problem=Problem("batch", "weighted-completion"),
        metadata={"name": "ti"},
    )
    t1 = time.perf_counter()
    model = hx.build(inst, integer=True)
    t2 = time.perf_counter()
    h = hx.new_highs(time_limit=None, threads=1, seed=0)
    hx.pass_model(h, model, integer=True)
    t3 = time.perf_counter()
    print(
        f"time-indexed wct {n} jobs x {m} GPUs: period {model.period:.3f}s, build {t2 - t1:.3f}s "
        f"({model.n_pairs} x cols + {model.A.shape[1] - model.n_pairs} occupancy cols, {model.A.shape[0]} rows, "
        f"{model.A.nnz} nnz); passModel {t3 - t2:.3f}s"
    )


def bench_orlib(files: list[str], limit: float) -> None:
    print(
        f"{'instance':10} {'value':>8} {'bound':>10} {'optimal':>7} {'known':>6} {'time_s':>7} "
        f"{'lp_bound':>9} {'lp_round':>9}"
    )
    for f in files:
        path = DATA / f"{f}.txt"
        if not path.exists():
            print(f"{f}: missing {path}")
            continue
        for inst in IMPORTERS["orlib-gap"].read(path):
            t0 = time.perf_counter()
            res = IlpHighs().solve(inst, Context(limit, 0, IlpHighs.resolve_params({})))
            wall = time.perf_counter() - t0
            value = validate(inst, res.solution).objective if res.solution else None
            assert res.solution is None or validate(inst, res.solution).feasible
            lp = LpRound().solve(inst, Context(limit, 0, {}))
            lp_value = validate(inst, lp.solution).objective if lp.solution else None
            known = inst.metadata.get("known", {}).get("optimum")
            print(
                f"{inst.name:10} {value!s:>8} {res.bound!s:>10} {res.status == 'optimal'!s:>7} {known!s:>6} "
                f"{wall:7.2f} {lp.bound if lp.bound is None else round(lp.bound, 2)!s:>9} {lp_value!s:>9}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--files", default=",".join(f"gap{k}" for k in range(1, 13)))
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    if not args.skip_build:
        bench_build()
        bench_build_gang()
        bench_build_time_indexed()
    bench_orlib(args.files.split(","), args.limit)


if __name__ == "__main__":
    main()
