"""``ilp-highs`` and ``lp-round`` on the published instance sets in ``../shared/external``.

Usage (single thread; every answer is checked by the validator)::

    .venv/bin/python experiments/external_ilp.py gap   [--files gapa,gapb,gapc,gapd] [--limit 20]
    .venv/bin/python experiments/external_ilp.py rcmax [--per-class 3] [--jobs 100] [--limit 20]
    .venv/bin/python experiments/external_ilp.py vbp   [--max-items 40] [--every 10] [--limit 20]

* ``gap``: OR-Library GAP files (minimisation); per instance ilp-highs's value, bound, whether it
  proved optimality, the known optimum (``optima.csv`` ``opt_min``) and the wall time.
* ``rcmax``: Fanjul-Peyro & Ruiz R||Cmax, ``--per-class`` files with ``--jobs`` jobs from each of
  ``instancias1a100``, ``JobsCorre``, ``MaqCorre`` (one per machine count 10, 20, 30, ...); ilp-highs
  and lp-round (LST) values, bounds and gaps to ``best_known.csv``.
* ``vbp``: Panigrahy vector bin packing files with at most ``--max-items`` items, every
  ``--every``-th of them in name order; ilp-highs min-gpus value, bound, proven, and the known
  optimum (``Panigrahy_base_OPT.tsv``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from schedbench_solvers.ilp import IlpHighs
from schedbench_solvers.lp import LpRound

from schedbench.importers import IMPORTERS
from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context
from schedbench.validator import validate

EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"


def solve(solver: Any, inst: Instance, limit: float) -> tuple[Any, float | None, float]:
    """(result, validated value or None, wall seconds); raises if an answer is infeasible."""
    t0 = time.perf_counter()
    res = solver().solve(inst, Context(limit, 0, solver.resolve_params({}), threads=1))
    wall = time.perf_counter() - t0
    value = None
    if res.solution is not None:
        v = validate(inst, res.solution)
        if not v.feasible:
            raise AssertionError(f"{solver.name} on {inst.name}: infeasible answer {v.violations[:3]}")
        value = float(v.objective)
    return res, value, wall


def fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def known(inst: Instance, key: str) -> float | None:
    k = inst.metadata.get("known", {}) or {}
    return None if k.get(key) is None else float(k[key])


def bench_gap(files: list[str], limit: float) -> None:
    print(f"ilp-highs, {limit:g} s per instance, 1 thread")
    print(f"{'instance':10} {'value':>8} {'bound':>10} {'proven':>6} {'opt_min':>8} {'gap%':>6} {'time_s':>7}")
    n = proven = at_opt = 0
    for f in files:
        path = EXTERNAL / "gap_orlib" / f"{f}.txt"
        if not path.exists():
            print(f"{f}: missing {path}")
            continue
        for inst in IMPORTERS["orlib-gap"].read(path):
            res, value, wall = solve(IlpHighs, inst, limit)
            opt = known(inst, "optimum") or known(inst, "best_known")
            gap = None if value is None or res.bound is None else 100 * (value - res.bound) / max(1.0, abs(value))
            n += 1
            proven += res.status == "optimal"
            at_opt += value is not None and opt is not None and abs(value - opt) < 1e-6
            print(
                f"{inst.name:10} {fmt(value, 0):>8} {fmt(res.bound, 2):>10} {res.status == 'optimal'!s:>6} "
                f"{fmt(opt, 0):>8} {fmt(gap, 3):>6} {wall:7.2f}",
                flush=True,
            )
    print(f"{n} instances: {proven} proven optimal, {at_opt} at the known optimum")


def bench_rcmax(per_class: int, jobs: int, limit: float) -> None:
    print(f"ilp-highs and lp-round (LST), {limit:g} s each, 1 thread")
    print(
        f"{'instance':22} {'n':>4} {'m':>3} {'best':>6} {'ilp':>6} {'ilp_bnd':>8} {'ilp%':>6} {'ilp_s':>6} "
        f"{'lst':>6} {'T*':>8} {'lst%':>6} {'lst/T*':>6} {'lst_s':>6}"
    )
    for folder in ("instancias1a100", "JobsCorre", "MaqCorre"):
        seen_m: set[int] = set()
        for path in sorted((EXTERNAL / "rcmax_fanjul_ruiz" / folder).glob("*.txt"), key=lambda p: int(p.stem)):
            if len(seen_m) >= per_class:
                break
            head = path.read_text().split()
            n, m = int(head[0]), int(head[1])
            if n != jobs or m in seen_m:
                continue
            seen_m.add(m)
            (inst,) = IMPORTERS["rcmax"].read(path)
            best = known(inst, "best_known")
            ilp, iv, iw = solve(IlpHighs, inst, limit)
            lp, lv, lw = solve(LpRound, inst, limit)

            def pct(v: float | None, best: float | None = best) -> float | None:
                return None if v is None or best is None else 100 * (v - best) / best

            t_star = lp.info.get("lst_threshold")
            ratio = None if lv is None or not t_star else lv / t_star
            print(
                f"{inst.name:22} {n:4d} {m:3d} {fmt(best, 0):>6} {fmt(iv, 0):>6} {fmt(ilp.bound, 1):>8} "
                f"{fmt(pct(iv), 2):>6} {iw:6.1f} {fmt(lv, 0):>6} {fmt(t_star, 1):>8} {fmt(pct(lv), 2):>6} "
                f"{fmt(ratio, 3):>6} {lw:6.2f}",
                flush=True,
            )


def bench_vbp(max_items: int, every: int, limit: float) -> None:
    files = []
    for path in sorted((EXTERNAL / "vbp_panigrahy" / "instances").glob("*/*.vbp")):
        parts = path.stem.split("_")  # class<k>_<n>_<d>_<i>
        if len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) <= max_items:
            files.append(path)
    chosen = files[::every]
    print(
        f"{len(files)} files with <= {max_items} items; running every {every}-th: {len(chosen)}; "
        f"ilp-highs min-gpus, {limit:g} s each, 1 thread"
    )
    print(f"{'instance':22} {'value':>5} {'bound':>7} {'proven':>6} {'OPT':>4} {'LB':>4} {'time_s':>7}")
    hits = proven = with_opt = 0
    for path in chosen:
        (inst,) = IMPORTERS["vbp"].read(path)
        res, value, wall = solve(IlpHighs, inst, limit)
        opt = known(inst, "optimum")
        with_opt += opt is not None
        hits += value is not None and opt is not None and abs(value - opt) < 1e-9
        proven += res.status == "optimal"
        print(
            f"{inst.name:22} {fmt(value, 0):>5} {fmt(res.bound, 2):>7} {res.status == 'optimal'!s:>6} "
            f"{fmt(opt, 0):>4} {fmt(known(inst, 'lower_bound'), 0):>4} {wall:7.2f}",
            flush=True,
        )
    print(
        f"{len(chosen)} instances: {proven} proven optimal; {hits} of the {with_opt} with a published OPT "
        "reproduce it (OPT -1 = unknown in the TSV)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gap")
    g.add_argument("--files", default="gapa,gapb,gapc,gapd")
    g.add_argument("--limit", type=float, default=20.0)
    r = sub.add_parser("rcmax")
    r.add_argument("--per-class", type=int, default=3)
    r.add_argument("--jobs", type=int, default=100)
    r.add_argument("--limit", type=float, default=20.0)
    v = sub.add_parser("vbp")
    v.add_argument("--max-items", type=int, default=40)
    v.add_argument("--every", type=int, default=10)
    v.add_argument("--limit", type=float, default=20.0)
    args = ap.parse_args()
    if args.cmd == "gap":
        bench_gap(args.files.split(","), args.limit)
    elif args.cmd == "rcmax":
        bench_rcmax(args.per_class, args.jobs, args.limit)
    else:
        bench_vbp(args.max_items, args.every, args.limit)


if __name__ == "__main__":
    main()
