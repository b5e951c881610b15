"""Genetic algorithm (``ga``): fitness evaluations per second, against DEAP's plain ``eaSimple``, and
gaps to the published OR-Library GAP optima.

Run: ``python benchmarks/bench_genetic.py [--evals 200000] [--limit 10] [--which first|all]``.

* evaluations/s of ``ga`` on a random 200-job x 10-GPU GAP (min-cost placement, Yagiura type-D
  style costs, capacity 0.8 x mean load), with a fixed evaluation budget: the plain GA
  (``ls_size=0``), the default memetic GA (local-search evaluations counted), and the bare
  vectorised fitness of a 100-row population;
* the same count for DEAP's ``algorithms.eaSimple`` on list individuals of 200 genes with a no-op
  fitness (``cxUniform``, ``mutUniformInt``, ``selTournament``, population 100), run in the same
  process, and the ratio;
* evaluations/s of the batch decoders (200 jobs x 10 GPUs, releases, weighted tardiness), both
  encodings;
* with ``--limit L`` > 0 and ``../shared/external`` present: ``ga`` (``max_evals=0``: time limit
  only) with an ``L``-second limit on OR-Library gap1-gap12 (``--which first``: the first instance
  of each file; ``all``: all 60), gap to ``optima.csv``'s minimisation optimum.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import numpy as np
from schedbench_solvers import _ga_ops as ops
from schedbench_solvers.genetic import GeneticAlgorithm

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


def random_batch(n: int = 200, m: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    types = tuple(GpuType(f"m{i}", {"compute": 1.0}) for i in range(m))
    nodes = tuple(Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m))
    time_ = rng.integers(1, 101, (n, m)).astype(float)
    release = rng.integers(0, 200, n).astype(float)
    jobs = Jobs.build(
        [f"j{k}" for k in range(n)],
        np.ones((n, m, 1)),
        time=time_,
        release=release,
        deadline=release + rng.integers(10, 100, n),
        weight=rng.integers(1, 10, n).astype(float),
    )
    return make_instance(
        resources=(Resource("compute"),),
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("batch", "weighted-tardiness"),
        metadata={"name": f"bench-batch-{n}"},
    )


def ga_rate(inst, evals: int, **params) -> tuple[float, float | None]:
    """(evaluations/s, objective) of one budget-stopped ``ga`` run."""
    t = time.perf_counter()
    res = GeneticAlgorithm().solve(
        inst, Context(600, 0, GeneticAlgorithm.resolve_params({"max_evals": evals, **params}))
    )
    dt = time.perf_counter() - t
    v = validate(inst, res.solution) if res.solution else None
    assert v is None or v.feasible
    return res.info["evals"] / dt, (v.objective if v else None)


def fitness_rate(inst, pop_size: int = 100, seconds: float = 1.0) -> float:
    model = ops.PlacementModel(inst)
    pop = model.random(pop_size, np.random.default_rng(0))
    count, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        model.evaluate(pop)
        count += pop_size
    return count / (time.perf_counter() - t)


def deap_easimple_rate(n: int = 200, m: int = 10, pop_size: int = 100, ngen: int = 100) -> float:
    """Evaluations/s of DEAP's eaSimple with list individuals and a no-op fitness."""
    from deap import algorithms, base, creator, tools

    if not hasattr(creator, "SchedbenchBenchListIndividual"):
        creator.create("SchedbenchBenchListIndividual", list, fitness=creator.SchedbenchGaFitness)
    random.seed(0)
    calls = 0

    def noop(ind):
        nonlocal calls
        calls += 1
        return (0.0,)

    tb = base.Toolbox()
    tb.register("gene", random.randrange, m)
    tb.register("individual", tools.initRepeat, creator.SchedbenchBenchListIndividual, tb.gene, n)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("evaluate", noop)
    tb.register("mate", tools.cxUniform, indpb=0.5)
    tb.register("mutate", tools.mutUniformInt, low=0, up=m - 1, indpb=2.0 / n)
    tb.register("select", tools.selTournament, tournsize=3)
    pop = tb.population(pop_size)
    t = time.perf_counter()
    algorithms.eaSimple(pop, tb, cxpb=0.8, mutpb=0.3, ngen=ngen, verbose=False)
    return calls / (time.perf_counter() - t)


def gaps(insts, limit: float) -> list[float]:
    out = []
    for inst in insts:
        opt = inst.metadata["known"]["optimum"]
        res = GeneticAlgorithm().solve(inst, Context(limit, 0, GeneticAlgorithm.resolve_params({"max_evals": 0})))
        v = validate(inst, res.solution) if res.solution else None
        if v is None or not v.feasible:
            print(f"  {inst.name}: no feasible answer", flush=True)
            out.append(float("inf"))
            continue
        g = 100.0 * (v.objective - opt) / opt
        out.append(g)
        print(
            f"  {inst.name}: {v.objective:g} vs {opt:g} gap {g:.2f}%  evals {res.info['evals']:,} "
            f"({res.info['evals_per_s']:,.0f}/s)",
            flush=True,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evals", type=int, default=200_000, help="evaluation budget of the rate runs")
    ap.add_argument("--limit", type=float, default=0.0, help="seconds per OR-Library instance (0: skip)")
    ap.add_argument("--which", choices=("first", "all"), default="first")
    args = ap.parse_args()
    gap = random_gap()
    plain, plain_obj = ga_rate(gap, args.evals, ls_size=0)
    memetic, mem_obj = ga_rate(gap, args.evals)
    bare = fitness_rate(gap)
    deap = deap_easimple_rate()
    print("GAP 200 jobs x 10 GPUs (min-cost placement), population 100:")
    print(f"  ga plain (ls_size=0):      {plain:>10,.0f} evals/s  objective {plain_obj}")
    print(f"  ga memetic (default):      {memetic:>10,.0f} evals/s  objective {mem_obj}")
    print(f"  vectorised fitness only:   {bare:>10,.0f} evals/s")
    print(f"  DEAP eaSimple, list, no-op:{deap:>10,.0f} evals/s")
    print(f"  ratio ga plain / eaSimple: {plain / deap:.1f}x   fitness only / eaSimple: {bare / deap:.1f}x")
    batch = random_batch()
    for enc in ("assignment", "permutation"):
        r, obj = ga_rate(batch, min(args.evals, 50_000), encoding=enc)
        print(f"batch 200 jobs x 10 GPUs weighted tardiness, {enc}: {r:,.0f} evals/s  objective {obj}")
    if args.limit <= 0 or not EXTERNAL.is_dir():
        return
    insts = []
    for k in range(1, 13):
        found = IMPORTERS["orlib-gap"].read(EXTERNAL / "gap_orlib" / f"gap{k}.txt")
        insts += found[:1] if args.which == "first" else found
    print(f"OR-Library gap1-gap12 ({len(insts)} instances), {args.limit:g} s each:")
    g = gaps(insts, args.limit)
    print(f"GAP: mean gap {statistics.mean(g):.3f}% max {max(g):.3f}% optimal {sum(x <= 1e-9 for x in g)}/{len(g)}")


if __name__ == "__main__":
    main()
