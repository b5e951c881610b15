"""Load and validation time of large instances (the foundation's speed claims).

Run: ``python benchmarks/bench_foundation.py [--jobs 100000]``. Prints seconds for each step and
ratios against ``json.loads`` of the same file in the same process (a baseline that moves with
the machine's speed, since these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, load, make_instance, save
from schedbench.validator import validate, validate_file


def build(n: int, cls: str, objective: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    types = (
        GpuType("K80", {"memory_gib": 12, "compute": 1}),
        GpuType("P100", {"memory_gib": 16, "compute": 1}),
        GpuType("V100", {"memory_gib": 32, "compute": 1}),
        GpuType("A100", {"memory_gib": 80, "compute": 1}),
    )
    T = len(types)
    K = max(8, n // 100)  # nodes of 4 GPUs
    nodes = tuple(Node(f"n{k}", types[k % T].id, tuple(f"n{k}/{g}" for g in range(4))) for k in range(K))
    node = np.arange(n) % K
    home = node % T
    eligible = rng.random((n, T)) < 0.7
    eligible[np.arange(n), home] = True
    gang = rng.choice([1, 1, 1, 2, 4], n)
    time_ = rng.lognormal(7, 1, (n, T)).round(1) + 1
    demand = np.stack([rng.uniform(1, 12, (n, T)).round(2), np.full((n, T), 1.0)], axis=2)
    jobs = Jobs.build(
        [f"j{i}" for i in range(n)],
        demand,
        eligible=eligible,
        gang=gang,
        time=time_,
        cost=time_.round(0),
        release=np.zeros(n),
        weight=rng.integers(1, 5, n).astype(float),
    )
    inst = make_instance(
        resources=(Resource("memory_gib", "GiB"), Resource("compute")),
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem(cls, objective),
        metadata={"name": f"bench-{n}"},
    )
    return inst, node, home, gang, time_


def batch_solution(node, home, gang, time_):
    n = len(node)
    dur = time_[np.arange(n), home]
    order = np.lexsort((np.arange(n), node))
    start = np.zeros(n)
    d_sorted = dur[order]
    csum = np.cumsum(d_sorted)
    first = np.r_[True, node[order][1:] != node[order][:-1]]
    base = np.maximum.accumulate(np.where(first, csum - d_sorted, 0.0))
    start[order] = csum - d_sorted - base
    return {
        "problem": "batch",
        "schedule": {
            f"j{i}": {"gpus": [f"n{node[i]}/{g}" for g in range(gang[i])], "start": float(start[i])} for i in range(n)
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    n = args.jobs
    with tempfile.TemporaryDirectory() as tmp:
        inst, node, home, gang, time_ = build(n, "batch", "makespan")
        path = Path(tmp) / "inst.json"
        t0 = time.perf_counter()
        save(inst, path)
        t_save = time.perf_counter() - t0
        t0 = time.perf_counter()
        json.loads(path.read_bytes())
        t_json = time.perf_counter() - t0
        t0 = time.perf_counter()
        loaded = load(path)
        t_load = time.perf_counter() - t0
        sol = batch_solution(node, home, gang, time_)
        spath = Path(tmp) / "sol.json"
        spath.write_text(json.dumps(sol))
        t0 = time.perf_counter()
        res = validate_file(loaded, spath)
        t_val = time.perf_counter() - t0
        assert res.feasible, res.violations[:3]
        t0 = time.perf_counter()
        validate(loaded, sol)
        t_val_mem = time.perf_counter() - t0
        size = path.stat().st_size / 1e6
        print(f"batch instance: {n} jobs, {loaded.n_gpus} GPUs, {size:.1f} MB")
        print(f"  save            {t_save:7.3f} s")
        print(f"  json.loads      {t_json:7.3f} s  (baseline)")
        print(f"  load + check    {t_load:7.3f} s  ({t_load / t_json:.2f}x baseline)")
        print(f"  validate file   {t_val:7.3f} s  ({t_val / t_json:.2f}x baseline)  makespan {res.objective:.6g}")
        print(f"  validate dict   {t_val_mem:7.3f} s")
        # online: the same schedule as an event log (start + finish per job)
        oinst, *_ = build(n, "online", "mean-jct")
        events = []
        for jid, entry in sol["schedule"].items():
            j = int(jid[1:])
            events.append({"time": entry["start"], "job": jid, "event": "start", "gpus": entry["gpus"]})
            events.append({"time": entry["start"] + float(time_[j, home[j]]), "job": jid, "event": "finish"})
        opath = Path(tmp) / "events.json"
        opath.write_text(json.dumps({"problem": "online", "events": events}))
        t0 = time.perf_counter()
        ores = validate_file(oinst, opath)
        t_on = time.perf_counter() - t0
        assert ores.feasible, ores.violations[:3]
        print(f"  online log file {t_on:7.3f} s  ({len(events)} events, mean JCT {ores.objective:.6g})")
        # placement: every job on its node's first gang GPUs, capacity generous
        place = {"problem": "placement", "assignment": {k: v["gpus"] for k, v in sol["schedule"].items()}}
        pinst, *_ = build(n, "placement", "max-weight")
        t0 = time.perf_counter()
        pres = validate(pinst, place)
        print(
            f"  placement check {time.perf_counter() - t0:7.3f} s  ({pres.violation_counts.get('capacity', 0)} "
            "over-capacity GPUs)"
        )


if __name__ == "__main__":
    main()
