"""Online simulator speed and long queueing-theory checks.

Run: ``python benchmarks/bench_simulator.py [--part policies|scaling|theory|all] [--jobs N]``.

* ``policies``: ``--jobs`` (default 100,000) Philly-fitted jobs on the 1,024-GPU ``philly-1024``
  preset at load 0.9; simulation seconds of fcfs, fcfs-easy, sjf, srpt, las, tiresias (targets: the
  first four <= 2 s on one core, EASY <= 3 x FCFS), and the same FCFS model in SimPy (a FIFO
  ``Container`` of GPUs; the instance allows multi-node gangs so both count GPUs only), whose
  per-job waits must equal ours; ratios are measured in this one process.
* ``scaling``: FCFS on 10k and 100k jobs (1,024 GPUs) and 1M jobs (10,240 GPUs: 1,280 nodes x 8),
  each in a fresh subprocess reporting its peak memory (targets: 1M <= 30 s and <= 4 GB).
* ``theory``: M/M/c FCFS (c in 1, 4, 16; rho in 0.5, 0.8, 0.9) over ``--reps`` x ``--theory-jobs``
  jobs (default 10 x 1M, the issue's long version): relative error of the mean wait to Erlang C.

Times are the simulation loop's (``SimulationResult.wall_seconds``) and the process CPU time, which
is less disturbed by other processes on a shared machine.
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import time
from collections.abc import Generator
from typing import Any

import numpy as np

from schedbench.generators import generate
from schedbench.generators.presets import resolve
from schedbench.instances import Instance
from schedbench.simulator import QueuePolicy, SimulationResult, Simulator
from schedbench.simulator.build import from_arrays, mmc_arrays

POLICIES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("fcfs", "fifo", {}),
    ("fcfs-easy", "fifo", {"backfill": "easy"}),
    ("sjf", "pred", {}),
    ("srpt", "remaining", {}),
    ("las", "attained", {"quantum": 3600.0}),
    ("tiresias", "tiresias", {}),
)


def philly(jobs: int, nodes: int = 128, multi_node: bool = False, seed: int = 0) -> Instance:
    params = resolve("online", "philly-1024", {"jobs": jobs, "load": 0.9})
    params["cluster"] = [{"gpu_type": "V100", "nodes": nodes, "gpus_per_node": 8}]
    if multi_node:
        params["problem_params"] = {"allow_multi_node": True}
    return generate("online", params, seed=seed)


def timed(inst: Instance, policy: QueuePolicy) -> tuple[float, float, SimulationResult]:
    c0 = time.process_time()
    res = Simulator(inst, policy).run()
    return res.wall_seconds, time.process_time() - c0, res


def simpy_fcfs(inst: Instance) -> tuple[float, np.ndarray]:
    import simpy

    jobs = inst.jobs
    release, gang = jobs.release, jobs.gang
    assert jobs.time is not None
    size = np.nanmin(jobs.time, axis=1)
    waits = np.zeros(len(release))
    env = simpy.Environment()
    pool = simpy.Container(env, capacity=inst.n_gpus, init=inst.n_gpus)
    order = np.lexsort((np.arange(len(release)), release))

    def job(k: int) -> Generator[Any, Any, None]:
        yield pool.get(int(gang[k]))
        waits[k] = env.now - release[k]
        yield env.timeout(size[k])
        yield pool.put(int(gang[k]))

    def source() -> Generator[Any, Any, None]:
        for k in order.tolist():
            yield env.timeout(release[k] - env.now)
            env.process(job(k))

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0, waits


def part_policies(n: int) -> None:
    inst = philly(n)
    print(f"philly-1024, {n} jobs, {inst.n_gpus} GPUs, load 0.9")
    loop, cpus = {}, {}
    for name, key, kw in POLICIES:
        wall, cpu, res = timed(inst, QueuePolicy(key, **kw))
        loop[name], cpus[name] = wall, cpu
        print(
            f"  {name:10s} wall {wall:6.2f} s (loop {res.loop_seconds:6.2f} s)  cpu {cpu:6.2f} s  "
            f"events {len(res.events)}  preemptions {res.preemptions}",
            flush=True,
        )
    print(f"  EASY / FCFS = {loop['fcfs-easy'] / loop['fcfs']:.2f} (target <= 3)")
    # the shared machine's load moves absolute times; CPU time relative to FCFS in this process moves less
    print("  CPU / FCFS's: " + ", ".join(f"{k} {c / cpus['fcfs']:.2f}" for k, c in cpus.items() if k != "fcfs"))
    multi = philly(n, multi_node=True)
    wall, cpu, res = timed(multi, QueuePolicy("fifo"))
    c0 = time.process_time()
    t_simpy, waits = simpy_fcfs(multi)
    c_simpy = time.process_time() - c0
    start = {e["job"]: e["time"] for e in res.events if e["event"] == "start"}
    ours = np.array([start[j] for j in multi.jobs.ids]) - multi.jobs.release
    diff = float(np.abs(ours - waits).max())
    print(
        f"  FCFS multi-node {wall:.2f} s (cpu {cpu:.2f} s) vs SimPy {t_simpy:.2f} s (cpu {c_simpy:.2f} s): "
        f"SimPy / ours = {t_simpy / wall:.2f} wall, {c_simpy / cpu:.2f} cpu (target >= 5); "
        f"max |wait difference| {diff:.3g} s"
    )


def part_scaling() -> None:
    for n, nodes in ((10_000, 128), (100_000, 128), (1_000_000, 1280)):
        out = subprocess.run(
            [sys.executable, __file__, "--part", "one", "--jobs", str(n), "--nodes", str(nodes)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(out.stdout.strip(), flush=True)


def part_one(n: int, nodes: int) -> None:
    t0 = time.perf_counter()
    inst = philly(n, nodes)
    t_gen = time.perf_counter() - t0
    wall, cpu, _res = timed(inst, QueuePolicy("fifo"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"fcfs {n:>9d} jobs on {inst.n_gpus:>5d} GPUs: loop {wall:6.2f} s, cpu {cpu:6.2f} s, "
        f"{cpu / n * 1e6:.1f} us cpu/job, peak RSS {peak:.2f} GB (incl. generating the instance: {t_gen:.1f} s)"
    )


def erlang_c(c: int, lam: float, mu: float) -> float:
    a = lam / mu
    term, head = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        head += term
    tail = term * a / c / (1 - a / c)
    return tail / (head + tail) / (c * mu - lam)


def part_theory(reps: int, n: int) -> None:
    errors = []
    for c in (1, 4, 16):
        for rho in (0.5, 0.8, 0.9):
            means = []
            for rep in range(reps):
                release, size = mmc_arrays(n, c, rho, seed=rep)
                res = Simulator(from_arrays(release, size, gpus=c), QueuePolicy("fifo")).run()
                start = np.array([e["time"] for e in res.events if e["event"] == "start"])
                means.append(float((start - release)[n // 10 :].mean()))
            expected = erlang_c(c, rho * c, 1.0)
            rel = abs(np.mean(means) - expected) / expected
            half = 2.262 * np.std(means, ddof=1) / math.sqrt(reps)
            errors.append(rel)
            print(
                f"  M/M/{c:<2d} rho {rho}: mean wait {np.mean(means):.4f} vs Erlang C {expected:.4f} "
                f"(rel. error {rel:.2%}, 95% half-width {half:.4f})",
                flush=True,
            )
    print(f"  mean relative error {np.mean(errors):.2%} over {reps} x {n} jobs (target <= 2% at 10 x 1M)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="all", choices=("policies", "scaling", "theory", "all", "one"))
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--nodes", type=int, default=128)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--theory-jobs", type=int, default=1_000_000)
    a = ap.parse_args()
    if a.part == "one":
        part_one(a.jobs, a.nodes)
        return
    if a.part in ("policies", "all"):
        part_policies(a.jobs)
    if a.part in ("scaling", "all"):
        part_scaling()
    if a.part in ("theory", "all"):
        part_theory(a.reps, a.theory_jobs)


if __name__ == "__main__":
    main()
