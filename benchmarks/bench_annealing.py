"""Simulated annealing (``sa``): moves per second, and gaps to published optima / best knowns.

Run: ``python benchmarks/bench_annealing.py [--moves 1000000] [--limit 10] [--rcmax-count 150]
[--baseline DIR --repeat 3]``.

* moves/s on a random 200-job GAP (10 agents, Yagiura type-D style costs) and a random 200-job
  R||Cmax (20 machines, times 1-100) with a fixed move budget;
* with ``--baseline DIR`` (a copy of an older ``solvers/`` folder, e.g. ``git archive REV solvers | tar
  -x -C /tmp/old``, then ``--baseline /tmp/old/solvers``): both versions' ``sa`` on the same instances
  and budget, alternating in one process, ``--repeat`` times each; the medians of moves per CPU second
  (process time: robust on a shared machine) and their ratio (new / old; a refactoring must keep it
  above 0.9) and whether the answers are identical;
* with ``--limit L`` > 0 and ``../shared/external`` present: ``sa`` with an ``L``-second limit on
  OR-Library gap1-gap12 (60 instances, gap to ``optima.csv``'s optimum) and on the 100-199-job
  R||Cmax instances of Fanjul-Peyro & Ruiz (first ``--rcmax-count`` of them, gap to best known).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from schedbench_solvers.annealing import SimulatedAnnealing

from schedbench.importers import IMPORTERS
from schedbench.importers.gap import gap_instance
from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance
from schedbench.plugins.solver import Context
from schedbench.validator import validate

EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"


def random_gap(n: int = 200, m: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    use = rng.integers(1, 101, (m, n)).astype(float)
    cost = 111 - use + rng.integers(-10, 11, (m, n))
    cap = 0.8 * use.sum(axis=1) / m
    return gap_instance(cost, use, cap, name=f"bench-gap-{n}")


def random_rcmax(n: int = 200, m: int = 20, seed: int = 0):
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
        metadata={"name": f"bench-rcmax-{n}"},
    )


def rate(inst, moves: int, solver=SimulatedAnnealing, **params) -> float:
    return timed(inst, moves, solver, **params)[0]


def timed(inst, moves: int, solver=SimulatedAnnealing, clock=time.perf_counter, **params) -> tuple[float, dict]:
    """(moves per second of ``clock``, solution) of one ``sa`` run with a move budget (seed 0)."""
    t = clock()
    res = solver().solve(inst, Context(600, 0, solver.resolve_params({"max_moves": moves, **params})))
    dt = clock() - t
    assert validate(inst, res.solution).feasible
    return res.info["moves"] / dt, res.solution


def load_baseline(folder: Path):
    """The ``SimulatedAnnealing`` class of another copy of the ``solvers/`` folder (as package ``baseline_solvers``)."""
    spec = importlib.util.spec_from_file_location(
        "baseline_solvers", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_solvers"] = module
    spec.loader.exec_module(module)
    from baseline_solvers.annealing import SimulatedAnnealing as Baseline  # type: ignore[import-not-found]

    return Baseline


def compare(baseline: Path, moves: int, repeat: int) -> None:
    old_cls = load_baseline(baseline)
    cases = (
        ("GAP 200 jobs x 10 agents", random_gap(), {}),
        ("R||Cmax 200 jobs x 20 machines, energy=target", random_rcmax(), {}),
        ("R||Cmax 200 jobs x 20 machines, energy=cmax", random_rcmax(), {"energy": "cmax"}),
    )
    for label, inst, params in cases:
        rates: dict[str, list[float]] = {"old": [], "new": []}
        answers: dict[str, dict] = {}
        for _ in range(repeat):
            for name, cls in (("old", old_cls), ("new", SimulatedAnnealing)):
                r, answers[name] = timed(inst, moves, cls, time.process_time, **params)
                rates[name].append(r)
        old, new = statistics.median(rates["old"]), statistics.median(rates["new"])
        print(
            f"{label}: old {old:,.0f} moves/s, new {new:,.0f} moves/s, new/old {new / old:.3f}, answers "
            f"{'identical' if answers['old'] == answers['new'] else 'DIFFERENT'}",
            flush=True,
        )


def gaps(insts, limit: float) -> list[float]:
    out = []
    for inst in insts:
        known = inst.metadata.get("known", {})
        ref = known.get("optimum", known.get("best_known"))
        res = SimulatedAnnealing().solve(inst, Context(limit, 0, {}))
        v = validate(inst, res.solution) if res.solution else None
        if v is None or not v.feasible or ref is None:
            print(f"  {inst.name}: no feasible answer" if ref is not None else f"  {inst.name}: no reference")
            continue
        g = 100.0 * (v.objective - ref) / ref
        out.append(g)
        print(f"  {inst.name}: {v.objective:g} vs {ref:g} gap {g:.2f}%  moves {res.info['moves']}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=1_000_000)
    ap.add_argument("--limit", type=float, default=0.0, help="seconds per instance for the gap runs (0: skip)")
    ap.add_argument("--rcmax-count", type=int, default=150)
    ap.add_argument("--gap-files", default="1-12", help="OR-Library gap file range, e.g. 1-12 (0-0: none)")
    ap.add_argument("--baseline", type=Path, help="another copy of solvers/ to compare moves/s and answers with")
    ap.add_argument("--repeat", type=int, default=3, help="runs per version with --baseline (median)")
    args = ap.parse_args()
    if args.baseline is not None:
        compare(args.baseline, args.moves, args.repeat)
        return
    for label, inst in (("GAP 200 jobs x 10 agents", random_gap()), ("R||Cmax 200 jobs x 20 machines", random_rcmax())):
        print(f"{label}: {rate(inst, args.moves):,.0f} moves/s ({args.moves:,} moves)", flush=True)
    if args.limit <= 0 or not EXTERNAL.is_dir():
        return
    lo, hi = (int(x) for x in args.gap_files.split("-"))
    gap_insts = [
        i
        for k in range(lo, hi + 1)
        if k > 0
        for i in IMPORTERS["orlib-gap"].read(EXTERNAL / "gap_orlib" / f"gap{k}.txt")
    ]
    if gap_insts:
        print(f"OR-Library gap{lo}-gap{hi} ({len(gap_insts)} instances), {args.limit:g} s each:")
        g = gaps(gap_insts, args.limit) or [float("nan")]
        print(f"GAP: mean gap {statistics.mean(g):.3f}% max {max(g):.3f}% optimal {sum(x <= 1e-9 for x in g)}/{len(g)}")
    files = sorted((EXTERNAL / "rcmax_fanjul_ruiz").glob("*/1[0-9][0-9].txt"))[: args.rcmax_count]
    rc = [i for f in files for i in IMPORTERS["rcmax"].read(f)]
    print(f"R||Cmax 100-199-job files ({len(rc)} instances), {args.limit:g} s each:")
    if not rc:
        return
    g = gaps(rc, args.limit)
    print(
        f"R||Cmax: mean gap {statistics.mean(g):.3f}% max {max(g):.3f}% at best known {sum(x <= 1e-9 for x in g)}"
        f"/{len(g)}"
    )


if __name__ == "__main__":
    main()
