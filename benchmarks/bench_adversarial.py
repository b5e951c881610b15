"""The trust-boundary figures of issue #11: what each attack of tests/adversarial/plugins achieves.

Run: ``python benchmarks/bench_adversarial.py [--quick]`` (``--quick`` prints 64 MiB instead of 1 GiB).

Prints one line per attack: the record's status and the figure that matters (recorded vs. real
wall time, peak memory of the run's process, processes left alive, whether the pickle payload
ran, the best bound the store took). Used for the before/after table of the issue.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

from schedbench.examples import examples
from schedbench.instances import save
from schedbench.runner.execute import Executor
from schedbench.runs import RunTask

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tests" / "adversarial" / "plugins"


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="schedbench-adv-"))
    inst = examples()[0][0]
    path = tmp / "placement.json"
    digest = save(inst, path)

    def task(solver: str, **kw) -> RunTask:
        base = dict(
            instance_path=str(path),
            instance_hash=digest,
            instance_name="placement",
            solver=solver,
            solver_version="1",
            params={},
            seed=0,
            time_limit=5.0,
            solvers_dirs=(str(PLUGINS),),
        )
        base.update(kw)
        return RunTask(**base)

    with Executor(("numpy", "scipy")) as ex:

        def run(t: RunTask):
            t0 = time.monotonic()
            rec = ex.execute(t)
            return rec, time.monotonic() - t0

        rec, real = run(task("adv-fake-time"))
        print(
            f"fake-time: status {rec.status}, recorded wall {rec.wall_s:.4g} s cpu {rec.cpu_s:.4g} s, real {real:.3g} s"
        )
        for name in ("adv-busy", "adv-sigstop"):
            rec, real = run(task(name, time_limit=1.0))
            print(f"{name} at 1 s: status {rec.status}, recorded wall {rec.wall_s:.3g} s, call {real:.3g} s")
        rec, real = run(task("adv-cmd-orphan", time_limit=5.0))
        print(
            f"cmd-orphan at 5 s: status {rec.status}, wall {rec.wall_s:.3g} s, call {real:.3g} s, "
            f"objective {rec.objective}"
        )
        mib = 64 if args.quick else 1024
        rec, real = run(task("adv-cmd-chatty", params={"mib": mib}, time_limit=120.0))
        print(
            f"cmd-chatty {mib} MiB: status {rec.status}, peak rss {rec.peak_rss_mb:.4g} MB, call {real:.3g} s, "
            f"log {len(rec.log_tail)} chars"
        )
        rec, real = run(task("adv-cmd-chatty", params={"mib": mib}, time_limit=120.0, memory_limit_mb=512))
        print(
            f"cmd-chatty {mib} MiB --memory-limit 512: status {rec.status}, reason "
            f"{(rec.reason or '').strip().splitlines()[-1:]}"
        )
        rec, real = run(task("adv-cmd-memhog", memory_limit_mb=512))
        print(f"cmd-memhog --memory-limit 512: status {rec.status}")
        marker = tmp / "shell-marker"
        rec, _ = run(task("adv-cmd-shell", params={"label": f"x; touch {marker}"}))
        print(f"cmd-shell injection: status {rec.status}, payload ran: {marker.exists()}")
        marker = tmp / "pickle-marker"
        rec, _ = run(task("adv-pickle", params={"marker": str(marker)}))
        print(f"pickle on the message pipe: status {rec.status}, payload ran: {marker.exists()}")
        for hang in (False, True):
            pidfile = tmp / f"pids-{hang}"
            rec, _ = run(task("adv-setsid", params={"pids": str(pidfile), "hang": hang}, time_limit=2.0))
            time.sleep(0.3)
            pids = [int(p) for p in pidfile.read_text().split()]
            left = [p for p in pids if alive(p)]
            print(
                f"setsid escape (hang={hang}): status {rec.status}, {len(left)} of {len(pids)} left alive, "
                f"flags {rec.flags}"
            )
            for p in left:
                with contextlib.suppress(OSError):
                    os.kill(p, 9)
        for name in ("adv-false-infeasible", "adv-nan-bound", "adv-inf-bound", "adv-high-bound"):
            rec, _ = run(task(name))
            print(f"{name}: status {rec.status}, bound {rec.bound}, flags {rec.flags}")


if __name__ == "__main__":
    sys.exit(main())
