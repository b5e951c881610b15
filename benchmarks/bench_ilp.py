"""Benchmark of ``ilp-highs`` / ``lp-round``: bulk model building and OR-Library gap1-gap12.

Usage::

    .venv/bin/python benchmarks/bench_ilp.py [--limit 60] [--files gap1,gap2,...] [--skip-build]

1. Builds the GAP model of a random 5,000 jobs x 100 GPUs instance (500,000 binaries) with the
   bulk path (numpy + one CSC matrix + one ``passModel`` call) and prints the times.
2. Solves every problem of ``../shared/external/gap_orlib/gap<k>.txt`` with ``ilp-highs`` under a
   ``--limit`` second limit and prints value, bound, proven optimality, known optimum and time,
   plus ``lp-round``'s LP bound and rounded value.
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
from schedbench.solver import Context
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
    print(f"GAP {n}x{m}: instance {t1 - t0:.3f}s; build arrays+CSC {t2 - t1:.3f}s "
          f"({model.A.shape[1]} cols, {model.A.shape[0]} rows, {model.A.nnz} nnz); passModel {t3 - t2:.3f}s; "
          f"build+pass {t3 - t1:.3f}s")


def bench_orlib(files: list[str], limit: float) -> None:
    print(f"{'instance':10} {'value':>8} {'bound':>10} {'optimal':>7} {'known':>6} {'time_s':>7} "
          f"{'lp_bound':>9} {'lp_round':>9}")
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
            print(f"{inst.name:10} {value!s:>8} {res.bound!s:>10} {res.status == 'optimal'!s:>7} {known!s:>6} "
                  f"{wall:7.2f} {lp.bound if lp.bound is None else round(lp.bound, 2)!s:>9} {lp_value!s:>9}",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--files", default=",".join(f"gap{k}" for k in range(1, 13)))
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    if not args.skip_build:
        bench_build()
    bench_orlib(args.files.split(","), args.limit)


if __name__ == "__main__":
    main()
