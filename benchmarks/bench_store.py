"""Store write latency per run (committed one by one, with the best-known and gap update).

Run: ``python benchmarks/bench_store.py``. Prints mean/median/p99 ms per run for several solution
sizes, beside the baseline of one empty SQLite transaction (WAL, synchronous=NORMAL) measured in
the same process.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from schedbench.runs import RunRecord, RunTask
from schedbench.store import Store

ENV = {"python": "3", "platform": "bench"}


def record(i: int, jobs: int) -> RunRecord:
    task = RunTask(
        instance_path="x.json",
        instance_hash="0" * 64,
        instance_name="bench",
        solver="bench",
        solver_version="1",
        params={},
        seed=i,
        time_limit=10.0,
    )
    sol = {"problem": "placement", "assignment": {f"j{k}": [f"g{k % 50}"] for k in range(jobs)}}
    return RunRecord(
        task.run_id,
        task,
        "feasible",
        problem_class="placement",
        objective_name="min-cost",
        objective=float(1000 - i % 7),
        feasible=True,
        wall_s=0.01,
        solution=sol,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = sqlite3.connect(Path(tmp) / "base.sqlite", isolation_level=None)
        base.execute("PRAGMA journal_mode=WAL")
        base.execute("PRAGMA synchronous=NORMAL")
        base.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        times = []
        for i in range(500):
            t0 = time.perf_counter()
            base.execute("BEGIN IMMEDIATE")
            base.execute("INSERT INTO t VALUES (?, ?)", (i, "x"))
            base.execute("COMMIT")
            times.append(time.perf_counter() - t0)
        baseline = statistics.median(times)
        print(f"baseline: one-row transaction, median {baseline * 1000:.3f} ms")
        for jobs in (5, 200, 5000):
            with Store(Path(tmp) / f"s{jobs}.sqlite") as store:
                env = store.add_environment(ENV)
                n = 300 if jobs < 5000 else 60
                recs = [record(i, jobs) for i in range(n)]
                times = []
                for r in recs:
                    t0 = time.perf_counter()
                    store.write_run(r, None, env)
                    times.append(time.perf_counter() - t0)
            times.sort()
            med = statistics.median(times)
            p99 = times[int(0.99 * len(times))]
            print(
                f"solution of {jobs:5d} jobs: mean {statistics.mean(times) * 1000:.2f} ms, median "
                f"{med * 1000:.2f} ms ({med / baseline:.1f}x baseline), p99 {p99 * 1000:.2f} ms"
            )


if __name__ == "__main__":
    main()
