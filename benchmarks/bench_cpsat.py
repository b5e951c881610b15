"""Benchmark of ``cpsat`` (OR-Tools CP-SAT, one worker) on published instances with known values.

Usage::

    .venv/bin/python benchmarks/bench_cpsat.py FORMAT GLOB [GLOB...] [--limit 10] [--max N] [--workers 1]

``FORMAT`` is an importer name (``orlib-gap``, ``gap``, ``rcmax``, ``vbp``); each ``GLOB`` is
resolved relative to ``../shared/external`` (or taken as is when absolute). Examples::

    .venv/bin/python benchmarks/bench_cpsat.py orlib-gap 'gap_orlib/gap[1-4].txt' 'gap_orlib/gap12.txt' --limit 10
    .venv/bin/python benchmarks/bench_cpsat.py rcmax 'rcmax_fanjul_ruiz/instancias1a100/11[1-5].txt' --limit 10

Every answer is graded by the validator. Per instance it prints the value, the proven bound, the
status, the known value (``metadata["known"]``: optimum, else best known), the gap to it, and the
wall time; then a summary line: instances, how many reached the known value, how many were proven
optimal, the shifted geometric mean time (shift 1 s) and the mean gap.
"""

from __future__ import annotations

import argparse
import glob
import math
import time
from pathlib import Path

from schedbench_solvers.cpsat import CpSat

from schedbench.importers import IMPORTERS
from schedbench.plugins.solver import Context
from schedbench.validator import validate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "external"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("format", choices=sorted(IMPORTERS))
    ap.add_argument("globs", nargs="+")
    ap.add_argument("--limit", type=float, default=10.0, help="seconds per instance")
    ap.add_argument("--max", type=int, default=0, help="at most this many instances (0: all)")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    files: list[str] = []
    for g in args.globs:
        files += sorted(glob.glob(g if Path(g).is_absolute() else str(DATA / g)))
    if not files:
        raise SystemExit(f"no file matches {args.globs} under {DATA}")
    insts = [inst for f in files for inst in IMPORTERS[args.format].read(f)]
    if args.max:
        insts = insts[: args.max]
    params = CpSat.resolve_params({"workers": args.workers})
    head = (
        f"{'instance':<22}{'jobs':>6}{'gpus':>6}{'value':>12}{'bound':>12}{'status':>10}{'known':>10}"
        f"{'gap':>9}{'time s':>8}"
    )
    print(head)
    print("-" * len(head))
    reached = proven = 0
    times: list[float] = []
    gaps: list[float] = []
    for inst in insts:
        t0 = time.perf_counter()
        res = CpSat().solve(inst, Context(args.limit, 0, params))
        wall = time.perf_counter() - t0
        times.append(wall)
        known = inst.metadata.get("known", {})
        ref = known.get("optimum", known.get("best_known"))
        value = None
        if res.solution is not None:
            v = validate(inst, res.solution)
            if not v.feasible:
                raise SystemExit(f"{inst.name}: infeasible answer {v.violations[:3]}")
            value = float(v.objective)
        gap = None
        if value is not None and ref is not None:
            gap = abs(value - ref) / max(1e-9, abs(ref))
            gaps.append(gap)
            reached += gap <= 1e-9
        proven += res.status == "optimal"
        bound = "-" if res.bound is None else f"{res.bound:.6g}"
        print(
            f"{inst.name:<22}{inst.n_jobs:>6}{inst.n_gpus:>6}{'-' if value is None else f'{value:.6g}':>12}"
            f"{bound:>12}{res.status:>10}{'-' if ref is None else f'{ref:g}':>10}"
            f"{'-' if gap is None else f'{gap:.2%}':>9}{wall:>8.2f}"
        )
    sgm = math.exp(sum(math.log(t + 1.0) for t in times) / len(times)) - 1.0
    mean_gap = sum(gaps) / len(gaps) if gaps else float("nan")
    print(
        f"\n{len(insts)} instances, limit {args.limit:g} s, workers {args.workers}: reached known value "
        f"{reached}/{len(insts)}, proven optimal {proven}, shifted geomean time {sgm:.2f} s, "
        f"mean gap {mean_gap:.2%}, total {sum(times):.1f} s"
    )


if __name__ == "__main__":
    main()
