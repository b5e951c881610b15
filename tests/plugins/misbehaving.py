"""Test solver plugins, most of them misbehaving on purpose (tests/test_runner.py).

They all answer the placement example of :func:`schedbench.examples.examples` (jobs j0..j4 on
GPUs v0/0, v0/1, k0/0, k0/1): ``PACKED`` is feasible (min-cost 10.2525), ``OVERPACKED`` breaks
two capacity constraints.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import subprocess
import sys
import time

from schedbench.plugins.solver import Param, Solver, SolveResult

PLACEMENT = {"placement": ("min-cost",)}
PACKED = {
    "problem": "placement",
    "assignment": {"j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/1"]},
}
OVERPACKED = {
    "problem": "placement",
    "assignment": {"j0": ["v0/0"], "j1": ["v0/0"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/0"]},
}
PACKED_COST = 10.2525


class _Base(Solver):
    family = "baseline"
    problems = PLACEMENT
    description = "test plugin"


class Good(_Base):
    """Returns the feasible answer at once; also reports what the worker gave it."""

    name = "test-good"
    params = (Param("note", str, "none", "free text"),)

    def solve(self, instance, context):
        info = {
            "seed": context.seed,
            "random": random.random(),
            "threads": context.threads,
            "env": {
                v: os.environ.get(v)
                for v in (
                    "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS",
                )
            },
            "pid": os.getpid(),
            "params": context.params,
        }
        return SolveResult(dict(PACKED), status="feasible", info=info)


class PlainDict(_Base):
    """Returns a plain solution dict (taken as status feasible)."""

    name = "test-plain-dict"

    def solve(self, instance, context):
        return dict(PACKED)


class SleepForever(_Base):
    name = "test-sleep"

    def solve(self, instance, context):
        while True:
            time.sleep(10)


class IgnoreTerm(_Base):
    """Ignores SIGTERM and blocks inside a C call (libc sleep)."""

    name = "test-ignore-term"

    def solve(self, instance, context):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        libc = ctypes.CDLL(None)
        while True:
            libc.sleep(1000)


class ReportThenHang(_Base):
    """Reports an infeasible incumbent, then a feasible one with a bound, then hangs."""

    name = "test-report-hang"

    def solve(self, instance, context):
        context.report(OVERPACKED)
        context.report(PACKED, bound=9.5)
        print("reported, now hanging", flush=True)
        while True:
            time.sleep(10)


class Segfault(_Base):
    name = "test-segfault"

    def solve(self, instance, context):
        context.report(PACKED)
        ctypes.string_at(0)
        return PACKED


class ExitHard(_Base):
    name = "test-exit"

    def solve(self, instance, context):
        os._exit(3)


class MemoryHog(_Base):
    """Allocates 2 GB with numpy."""

    name = "test-memhog"

    def solve(self, instance, context):
        import numpy as np

        block = np.ones(1 << 28)  # 2 GiB of float64
        return SolveResult(PACKED, info={"sum": float(block.sum())})


class Infeasible(_Base):
    name = "test-infeasible"

    def solve(self, instance, context):
        return SolveResult(OVERPACKED, status="feasible")


class PartialUnknown(_Base):
    """Returns an over-packed partial answer but claims nothing: recorded as ``unknown``, not ``invalid``."""

    name = "test-partial-unknown"

    def solve(self, instance, context):
        return SolveResult(OVERPACKED, status="unknown")


class Declines(_Base):
    """Declines every instance through ``unsupported_reason``: recorded ``unsupported``, never started."""

    name = "test-declines"

    @classmethod
    def unsupported_reason(cls, instance):
        return super().unsupported_reason(instance) or "gang jobs are not modelled (test)"

    def solve(self, instance, context):
        raise AssertionError("never called")


class Liar(_Base):
    """Claims an objective of 5 for an answer that costs 10.2525."""

    name = "test-liar"

    def solve(self, instance, context):
        return SolveResult({**PACKED, "objective": 5.0}, status="feasible")


class FalseOptimal(_Base):
    """Claims optimal for the packed answer (worse than a known optimum of 9 in the test instance)."""

    name = "test-false-optimal"

    def solve(self, instance, context):
        return SolveResult(dict(PACKED), status="optimal", bound=PACKED_COST)


class Chatty(_Base):
    """Prints about 1 GiB to stdout, then answers."""

    name = "test-chatty"

    def solve(self, instance, context):
        line = "x" * ((1 << 20) - 1) + "\n"
        for _ in range(1024):
            sys.stdout.write(line)
        print("END-OF-CHATTER", flush=True)
        print("to stderr too", file=sys.stderr, flush=True)
        return dict(PACKED)


class Raises(_Base):
    name = "test-raise"

    def solve(self, instance, context):
        raise RuntimeError("kaboom-42 from the plugin")


class Orphan(_Base):
    """Leaves a long-running subprocess that holds the output pipe, then answers at once."""

    name = "test-orphan"

    def solve(self, instance, context):
        proc = subprocess.Popen(["sleep", "300"])
        return SolveResult(dict(PACKED), info={"orphan": proc.pid})


class Malformed(_Base):
    name = "test-malformed"

    def solve(self, instance, context):
        return {"problem": "batch", "schedule": {}}


class NoAnswerOptimal(_Base):
    name = "test-no-answer"

    def solve(self, instance, context):
        return SolveResult(None, status="optimal")


class BatchOnly(_Base):
    name = "test-batch-only"
    problems = {"batch": ("makespan",)}  # noqa: RUF012 (the plugin contract is a plain class attribute)

    def solve(self, instance, context):
        return {"problem": "batch", "schedule": {}}


class Unavailable(_Base):
    name = "test-unavailable"
    requires = ("no_such_module_for_schedbench_tests",)

    def solve(self, instance, context):
        return dict(PACKED)


class ManyReports(_Base):
    """Reports the feasible answer 1000 times (the trajectory is thinned)."""

    name = "test-many-reports"

    def solve(self, instance, context):
        for _ in range(1000):
            context.report(PACKED)
        return dict(PACKED)
