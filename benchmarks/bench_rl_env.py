"""Environment steps per second of the RL environments (docs/rl.md), W = 128, one core.

    python benchmarks/bench_rl_env.py [--steps 50000] [--window 128] [--json]

For each environment (``queue`` with window W, ``placement``) it steps one long episode with a
fixed, nearly free agent (the first allowed action; on the queue env the wait action every third
decision, so the queue grows and the window fills) and reports steps per second of CPU time
(``time.process_time``, the figure that does not depend on other processes sharing the machine)
and of wall-clock time, with the mean number of waiting jobs seen. Episodes are the online
generator's Philly-like jobs on its default heterogeneous cluster at load 1.1 (a queue builds up),
generated before timing starts (the reset that generates the instance is outside the timed loop).
As a same-process baseline it also times the ``fcfs`` policy through the bare simulator on the
same instance (simulator events per second), so the ratio shows the cost of decision points,
features and masks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def bench_env(kind: str, steps: int, window: int, jobs: int, seed: int) -> dict[str, float]:
    import torch

    from schedbench.generators import generate
    from schedbench.rl.envs import PlacementEnv, QueueEnv

    torch.set_num_threads(1)
    inst = generate("online", {"jobs": jobs, "load": 1.1}, seed)
    env = QueueEnv(inst, window=window) if kind == "queue" else PlacementEnv(inst)
    wait = env.n_actions - 1
    env.reset(seed=seed)
    n, waiting = 0, 0
    c0, w0 = time.process_time(), time.perf_counter()
    while n < steps:
        mask = env._mask
        a = wait if (n % 3 == 0 and mask[wait]) else int(np.argmax(mask))
        _, _, term, _, _ = env.step(a)
        n += 1
        if n % 256 == 0:
            waiting += len(env.policy.view.waiting)
        if term:
            c1, w1 = time.process_time(), time.perf_counter()
            env.reset()
            c0 += time.process_time() - c1  # the reset (instance generation happens once: same instance)
            w0 += time.perf_counter() - w1
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {
        "steps": n,
        "cpu_steps_per_s": n / cpu,
        "wall_steps_per_s": n / wall,
        "mean_waiting": waiting / max(1, n // 256),
    }


def bench_baseline(jobs: int, seed: int) -> dict[str, float]:
    from schedbench.generators import generate
    from schedbench.simulator import QueuePolicy, Simulator

    inst = generate("online", {"jobs": jobs, "load": 1.1}, seed)
    c0 = time.process_time()
    res = Simulator(inst, QueuePolicy("fifo"), predictor="noisy", seed=seed).run()
    cpu = time.process_time() - c0
    return {"event_times": res.event_times, "cpu_events_per_s": res.event_times / cpu}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    out = {
        "window": a.window,
        "queue": bench_env("queue", a.steps, a.window, a.jobs, a.seed),
        "placement": bench_env("placement", a.steps, a.window, a.jobs, a.seed),
        "fcfs_simulator": bench_baseline(a.jobs, a.seed),
    }
    if a.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{'environment':<12} {'steps':>8} {'steps/s (CPU)':>14} {'steps/s (wall)':>15} {'mean waiting':>13}")
    for k in ("queue", "placement"):
        r = out[k]
        print(
            f"{k:<12} {r['steps']:>8} {r['cpu_steps_per_s']:>14,.0f} {r['wall_steps_per_s']:>15,.0f} "
            f"{r['mean_waiting']:>13.1f}"
        )
    b = out["fcfs_simulator"]
    print(
        f"baseline: fcfs in the bare simulator, {b['cpu_events_per_s']:,.0f} event times/s (CPU); queue env "
        f"step / fcfs event time = {b['cpu_events_per_s'] / out['queue']['cpu_steps_per_s']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
