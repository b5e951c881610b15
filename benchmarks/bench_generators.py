"""Generator speed: a 1,000,000-job online instance, and 10,000 jobs of every class.

Run: ``python benchmarks/bench_generators.py [--jobs 1000000]``. Prints seconds per step and, as a
machine-independent figure, the ratio to a baseline run in the same process: drawing the same
number of log-normal variates with numpy and writing them with ``json.dumps``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from schedbench.generators import generate
from schedbench.instances import dumps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1_000_000)
    n = parser.parse_args().jobs
    t0 = time.perf_counter()
    json.dumps(np.random.default_rng(0).lognormal(7, 1, n).round(3).tolist())
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    inst = generate("online", {"jobs": n, "cluster": "gavel", "cluster_scale": max(1, n // 10_000)}, seed=0)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = dumps(inst)
    t_dump = time.perf_counter() - t0
    print(f"baseline (draw + json.dumps {n} floats): {base:.2f} s")
    print(
        f"online, {n} jobs, {inst.n_gpus} GPUs: generate {t_gen:.2f} s ({t_gen / base:.1f}x baseline), "
        f"canonical bytes {t_dump:.2f} s ({len(data) / 1e6:.0f} MB)"
    )
    for cls in ("placement", "batch", "allocation", "online"):
        t0 = time.perf_counter()
        inst = generate(cls, {"jobs": 10_000, "cluster_scale": 10}, seed=0)
        print(f"{cls:10s} 10,000 jobs: {time.perf_counter() - t0:.2f} s ({inst.n_gpus} GPUs)")


if __name__ == "__main__":
    main()
