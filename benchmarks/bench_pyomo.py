"""Model-building cost of Pyomo against the bulk highspy path, on the same GAP model, in one process.

Usage::

    .venv/bin/python benchmarks/bench_pyomo.py [--sizes 500x20,5000x100] [--solve 0]

For each size (jobs x GPUs) a random GAP instance is made as in ``benchmarks/bench_ilp.py``, then:

* ``ilp-highs`` path: ``_highs.build`` (numpy + one CSC matrix) and one ``Highs.passModel``;
* ``ilp-pyomo`` path: the same ``_highs.build``, the Pyomo model from it (``ilp_pyomo.pyomo_model``)
  and its transfer into HiGHS (``set_instance`` of Pyomo's persistent HiGHS interface).

Each path is timed once after one untimed ``_highs.build`` warm-up, in wall-clock and in process CPU
seconds (the CPU figures hold on a loaded machine; the wall-clock ones do not). It prints each step
and the ratio (Pyomo build + model + transfer) / (highspy build + pass) in both.
With ``--solve S`` both paths then run HiGHS for at most S seconds (one thread) and print the
solver-reported time and objective, so that build, transfer and solve are recorded apart for every run.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
from schedbench_solvers import _highs as hx
from schedbench_solvers.ilp_pyomo import _v2_highs, pyomo_model

from schedbench.importers.gap import gap_instance


def gap(n: int, m: int):
    rng = np.random.default_rng(0)
    cost = rng.integers(10, 50, (m, n)).astype(float)
    use = rng.integers(5, 25, (m, n)).astype(float)
    cap = np.full(m, float(use.sum() / m * 0.8))
    return gap_instance(cost, use, cap, name=f"random-gap-{n}x{m}")


class Clock:
    """Wall-clock and process CPU seconds since the last ``lap`` (CPU time is robust on a shared machine)."""

    def __init__(self) -> None:
        self.w, self.c = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        w, c = time.perf_counter(), time.process_time()
        out = (w - self.w, c - self.c)
        self.w, self.c = w, c
        return out


def fmt(label: str, wc: tuple[float, float]) -> str:
    return f"{label} {wc[0]:8.3f} s ({wc[1]:7.3f} cpu)"


def bench(n: int, m: int, solve_s: float) -> None:
    inst = gap(n, m)
    hx.build(inst, integer=True)  # warm-up (first-call costs are not the model's)
    gc.collect()
    # bulk highspy path (ilp-highs)
    clock = Clock()
    model = hx.build(inst, integer=True)
    hs_build = clock.lap()
    h = hx.new_highs(time_limit=solve_s or None, threads=1, seed=0)
    hx.pass_model(h, model, integer=True)
    hs_pass = clock.lap()
    hs = (hs_build[0] + hs_pass[0], hs_build[1] + hs_pass[1])
    print(f"GAP {n}x{m}: {model.A.shape[1]} cols, {model.A.shape[0]} rows, {model.A.nnz} nnz", flush=True)
    print(f"  highspy : {fmt('build', hs_build)}  {fmt('passModel', hs_pass)}  {fmt('total', hs)}", flush=True)
    if solve_s:
        h.run()
        print(
            f"  highspy : solve (HiGHS-reported) {h.getRunTime():.3f} s  status {hx.model_status(h)}  "
            f"objective {h.getInfo().objective_function_value}",
            flush=True,
        )
    del h, model
    gc.collect()
    # Pyomo path (ilp-pyomo)
    import pyomo.environ  # noqa: F401  (import time is not model-building time)

    clock = Clock()
    model = hx.build(inst, integer=True)
    py_build = clock.lap()
    pm, _ = pyomo_model(model)
    py_model = clock.lap()
    opt = _v2_highs()()
    opt.set_instance(pm)
    py_transfer = clock.lap()
    py = tuple(a + b + c for a, b, c in zip(py_build, py_model, py_transfer, strict=True))
    print(
        f"  pyomo   : {fmt('build', py_build)}  {fmt('pyomo model', py_model)}  {fmt('set_instance', py_transfer)}  "
        f"{fmt('total', py)}",
        flush=True,
    )
    if solve_s:
        no_updates = {
            k: False
            for k in (
                "check_for_new_or_removed_constraints",
                "check_for_new_or_removed_vars",
                "check_for_new_or_removed_params",
                "check_for_new_objective",
                "update_constraints",
                "update_vars",
                "update_parameters",
                "update_named_expressions",
                "update_objective",
            )
        }
        t4 = time.perf_counter()
        res = opt.solve(
            pm,
            time_limit=solve_s,
            threads=1,
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
            auto_updates=no_updates,
            solver_options={"random_seed": 0},
        )
        t5 = time.perf_counter()
        print(
            f"  pyomo   : solve call {t5 - t4:.3f} s (HiGHS-reported {res.timing_info.highs_time:.3f} s)  "
            f"{res.termination_condition.name}  objective {res.incumbent_objective}",
            flush=True,
        )
    print(
        f"  ratio pyomo (build+model+transfer) / highspy (build+pass): wall {py[0] / hs[0]:.1f}x, "
        f"cpu {py[1] / max(hs[1], 1e-9):.1f}x",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="500x20,5000x100", help="comma-separated JOBSxGPUS")
    ap.add_argument("--solve", type=float, default=0.0, help="also solve each model for at most this many seconds")
    args = ap.parse_args()
    for size in args.sizes.split(","):
        n, m = (int(v) for v in size.lower().split("x"))
        bench(n, m, args.solve)


if __name__ == "__main__":
    main()
