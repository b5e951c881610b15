"""Speed of the round-based policies (issue #13): one allocation re-solve of the kept LP versus a
rebuild of the same model in the same process, and a continuous-arrival simulation with 360 s rounds.

    .venv/bin/python benchmarks/bench_rounds.py resolve --jobs 1024 10000
    .venv/bin/python benchmarks/bench_rounds.py simulate --jobs 6000

``resolve``: Gavel's cluster (36 K80 + 36 P100 + 36 V100), ``n`` active jobs with Gavel-like
per-type speed-ups drawn per job; a round is modelled as 5 % of the jobs leaving and as many
arriving, then one re-solve by the kept allocator (for ``las`` at 256 jobs or more: Dantzig-Wolfe
from the previous round's prices; else the kept HiGHS LP from its previous basis) against a fresh
allocator for the same active set (cold prices / a model built from scratch) in the same process.
With ``--objective las`` the full LP (kept vs rebuilt) is also timed up to ``--lp-max`` jobs.
Prints median seconds of each and the ratio.
``simulate``: the ``gavel-online`` preset with ``--jobs`` jobs, one run of gavel-las (aware) with
360 s rounds; prints the simulation wall time and the allocation time inside it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def _jobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Gavel-like per-type speedups (K80 = 1): P100 ~ 1.5-4x, V100 ~ 2-7x; gangs 1, 2, 4, 8
    base = rng.lognormal(-8.0, 1.0, n)
    p100 = base * rng.uniform(1.5, 4.0, n)
    v100 = p100 * rng.uniform(1.1, 1.9, n)
    thr = np.stack([base, p100, v100], axis=1)
    gang = rng.choice([1.0, 1.0, 1.0, 1.0, 2.0, 4.0, 8.0], n)
    return thr, gang


def resolve(sizes: list[int], objective: str, rounds: int, lp_max: int) -> None:
    from schedbench_solvers.rounds import Allocator

    counts = np.array([36.0, 36.0, 36.0])
    for n in sizes:
        rng = np.random.default_rng([13, n])
        pool_thr, pool_gang = _jobs(4 * n, rng)
        left = rng.uniform(0.05, 1.0, 4 * n)
        since = np.zeros(4 * n)

        def call(
            a: Allocator,
            act: list[int],
            now: float,
            pool_thr: np.ndarray = pool_thr,
            pool_gang: np.ndarray = pool_gang,
            left: np.ndarray = left,
            since: np.ndarray = since,
        ) -> float:
            ja = np.asarray(act)
            t0 = time.perf_counter()
            a.allocate(now, act, pool_thr[ja], pool_gang[ja], left[ja], since[ja])
            return time.perf_counter() - t0

        variants = [("default", 256)] if objective == "las" else [("lp", 10**9)]
        if objective == "las" and n <= lp_max:
            variants.append(("lp", 10**9))
        for label, dw_min in variants:
            active, nxt = list(range(n)), n
            kept = Allocator(objective, counts, dw_min_jobs=dw_min)
            call(kept, active, 0.0)  # the first build
            warm, cold = [], []
            sub = np.random.default_rng([13, n, 1])
            for r in range(rounds):
                k = max(1, n // 20)
                out = set(sub.choice(len(active), k, replace=False).tolist())
                active = sorted([j for i, j in enumerate(active) if i not in out] + list(range(nxt, nxt + k)))
                nxt += k
                now = 360.0 * (r + 1)
                warm.append(call(kept, active, now))
                cold.append(call(Allocator(objective, counts, dw_min_jobs=dw_min), active, now))
            w, c = statistics.median(warm), statistics.median(cold)
            how = "Dantzig-Wolfe column generation" if label == "default" and n >= 256 else "HiGHS LP kept, warm basis"
            print(
                f"{objective} n={n} [{how}]: re-solve median {w:.4f} s (max {max(warm):.4f} s); from scratch "
                f"median {c:.4f} s; ratio {c / w:.1f}x ({rounds} rounds, 5 % of the jobs replaced per round)"
            )


def simulate(n: int, policy: str, load: float) -> None:
    from schedbench_solvers.rounds import RoundPolicy

    from schedbench.generators import generate
    from schedbench.generators.presets import resolve as resolve_preset
    from schedbench.simulator.engine import Simulator

    inst = generate("online", resolve_preset("online", "gavel-online", {"jobs": n, "load": load}), seed=1)
    pol = RoundPolicy(policy, aware=True, round_s=360.0)
    t0 = time.perf_counter()
    res = Simulator(inst, pol).run()
    wall = time.perf_counter() - t0
    a = pol.allocator
    assert a is not None
    print(
        f"gavel-{policy} {n} jobs, load {load}, 360 s rounds: {wall:.2f} s simulated wall ({res.status}); "
        f"{pol.rounds} rounds ({pol.idle_rounds} with no one waiting), {a.calls} allocations in {a.seconds:.2f} s"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("resolve")
    r.add_argument("--jobs", type=int, nargs="+", default=[1024, 10000])
    r.add_argument("--objective", default="las")
    r.add_argument("--rounds", type=int, default=5)
    r.add_argument("--lp-max", type=int, default=2048, help="also time the full LP up to this many jobs")
    s = sub.add_parser("simulate")
    s.add_argument("--jobs", type=int, default=6000)
    s.add_argument("--policy", default="las")
    s.add_argument("--load", type=float, default=0.8)
    a = ap.parse_args(argv)
    if a.cmd == "resolve":
        resolve(a.jobs, a.objective, a.rounds, a.lp_max)
    else:
        simulate(a.jobs, a.policy, a.load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
