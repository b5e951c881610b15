"""Per-run overhead of the isolated runner with a trivial solver (target: <= 20 ms per run).

Run: ``python benchmarks/bench_harness.py [--runs 200] [--workers 2] [--baseline-runs 20]``.

The trivial solver returns a fixed tiny placement answer, so everything measured is harness:
fork of the preloaded worker, limits, pipes, supervision, validation in the caller, the record.
Measured in the same process against a fresh-interpreter-per-run baseline
(``subprocess.run([python, '-c', 'import schedbench...; solve; validate'])``), i.e. what a runner
without persistent preloaded workers pays:

* latency: median milliseconds of one ``execute`` call, one worker, sequential runs, and the CPU
  time they cost per run (the caller, the worker and the runs it forked and reaped: on a shared
  machine the latency follows the load, the CPU time much less; most of it is the kernel's fork
  of the preloaded worker and the teardown of each run's address space);
* throughput: runs per second with ``--workers`` workers over ``--runs`` runs (``LocalPool``),
  and the baseline with as many subprocesses in parallel.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from schedbench.examples import examples
from schedbench.instances import save
from schedbench.runner.execute import Executor
from schedbench.runner.pool import LocalPool
from schedbench.runner.worker import default_preload
from schedbench.runs import RunTask

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = textwrap.dedent("""
    from schedbench.plugins.solver import Solver, SolveResult

    ANSWER = {"problem": "placement", "assignment": {
        "j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/1"]}}


    class Trivial(Solver):
        name = "bench-trivial"
        family = "baseline"
        problems = {"placement": ("min-cost",)}

        def solve(self, instance, context):
            return SolveResult(dict(ANSWER), status="feasible")
""")

BASELINE = textwrap.dedent("""
    import importlib.util, sys
    from schedbench.instances import load
    from schedbench.plugins.solver import Context
    from schedbench.validator import validate
    spec = importlib.util.spec_from_file_location("plugin", sys.argv[1])
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    inst = load(sys.argv[2])
    res = mod.Trivial().solve(inst, Context(10.0, 0, {}))
    assert validate(inst, res.solution).feasible
""")


def _worker_cpu_s(pid: int | None) -> float:
    """CPU seconds of a worker process and of the children it reaped (Linux /proc; 0.0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _registry() -> str | None:
    try:
        import schedbench.plugins.registry  # noqa: F401

        return None
    except ImportError:
        return f"{ROOT / 'tests' / 'plugins' / '_support' / 'standin_registry.py'}:get_registry"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-runs", type=int, default=20)
    parser.add_argument(
        "--preload", default=",".join(default_preload()), help="modules the workers preload (comma-separated)"
    )
    args = parser.parse_args()
    preload = tuple(m for m in args.preload.split(",") if m)
    registry = _registry()

    with tempfile.TemporaryDirectory() as tmp:
        plugins = Path(tmp) / "plugins"
        plugins.mkdir()
        plugin = plugins / "trivial.py"
        plugin.write_text(PLUGIN)
        inst_path = Path(tmp) / "placement.json"
        digest = save(examples()[0][0], inst_path)

        def task(i: int) -> RunTask:
            return RunTask(
                str(inst_path),
                digest,
                "example-placement",
                "bench-trivial",
                "1",
                {},
                i,
                10.0,
                solvers_dirs=(str(plugins),),
            )

        # latency: one worker, sequential
        with Executor(preload, registry=registry) as ex:
            t0 = time.perf_counter()
            first = ex.execute(task(0))
            startup = time.perf_counter() - t0
            assert first.status == "feasible", first.reason
            lat = []
            cpu0, worker0 = time.process_time(), _worker_cpu_s(ex.pid)
            for i in range(1, args.runs + 1):
                t0 = time.perf_counter()
                rec = ex.execute(task(i))
                lat.append(time.perf_counter() - t0)
                assert rec.status == "feasible", rec.reason
            caller_cpu = (time.process_time() - cpu0) / args.runs * 1000
            worker_cpu = (_worker_cpu_s(ex.pid) - worker0) / args.runs * 1000
            print(f"worker start (preloading {', '.join(ex.preloaded)}) + first run: {startup * 1000:.0f} ms")
        med = statistics.median(lat) * 1000
        p90 = sorted(lat)[int(0.9 * len(lat))] * 1000
        print(f"harness, 1 worker, sequential: median {med:.1f} ms/run, p90 {p90:.1f} ms ({len(lat)} runs)")
        print(
            f"CPU per run: caller {caller_cpu:.1f} ms, worker and its runs {worker_cpu:.1f} ms "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
        )

        # throughput: LocalPool
        with LocalPool(args.workers, preload, registry=registry) as pool:
            list(pool.map_unordered(task(-i - 1) for i in range(args.workers)))  # warm: workers ready
            t0 = time.perf_counter()
            recs = list(pool.map_unordered(task(i) for i in range(args.runs)))
            total = time.perf_counter() - t0
        assert all(r.status == "feasible" for r in recs)
        print(
            f"harness, LocalPool({args.workers}): {args.runs / total:.0f} runs/s "
            f"({total / args.runs * 1000:.1f} ms/run wall, {total / args.runs * args.workers * 1000:.1f} ms "
            f"per run per worker)"
        )

        # baseline: a fresh interpreter per run
        cmd = [sys.executable, "-c", BASELINE, str(plugin), str(inst_path)]

        def once(_: int) -> float:
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=ROOT)
            return time.perf_counter() - t0

        base = [once(i) for i in range(args.baseline_runs)]
        bmed = statistics.median(base) * 1000
        print(f"baseline, fresh interpreter, sequential: median {bmed:.0f} ms/run ({len(base)} runs)")
        with ThreadPoolExecutor(args.workers) as tp:
            t0 = time.perf_counter()
            list(tp.map(once, range(args.baseline_runs)))
            btotal = time.perf_counter() - t0
        print(f"baseline, {args.workers} in parallel: {args.baseline_runs / btotal:.1f} runs/s")
        print(
            f"speed-up: {bmed / med:.0f}x latency, {(args.runs / total) / (args.baseline_runs / btotal):.0f}x "
            f"throughput; target <= 20 ms/run: {'met' if med <= 20 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
