"""Hostile solver plugins, one per attack on the harness's trust boundary (tests/adversarial/).

They answer the placement example of :func:`schedbench.examples.examples` (``PACKED`` is feasible,
min-cost 10.2525). Each docstring says what the attack tries; the tests say what must happen.
"""

from __future__ import annotations

import math
import os
import pickle
import struct
import subprocess
import sys
import time

from schedbench.plugins.solver import Param, Solver, SolveResult

PACKED = {
    "problem": "placement",
    "assignment": {"j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/1"]},
}
PACKED_COST = 10.2525


class _Base(Solver):
    family = "baseline"
    problems = {"placement": ("min-cost",)}  # noqa: RUF012
    description = "adversarial test plugin"


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


class FakeTime(_Base):
    """Overwrites the worker's timing function (and the clocks) to record 0.0001 s for 0.8 s of work."""

    name = "adv-fake-time"

    def solve(self, instance, context):
        for mod in list(sys.modules.values()):  # the worker runs as __main__: patch every copy
            if callable(getattr(mod, "_measure", None)) and hasattr(mod, "_solve_and_send"):
                mod._measure = lambda *a, **k: (0.0001, 0.0001)
        _busy(0.8)
        fake = time.monotonic()
        time.monotonic = lambda: fake  # type: ignore[assignment]
        time.process_time = lambda: 0.0  # type: ignore[assignment]
        return SolveResult(dict(PACKED), status="feasible")


class FalseInfeasible(_Base):
    """Claims at once that a feasible instance is infeasible."""

    name = "adv-false-infeasible"

    def solve(self, instance, context):
        return SolveResult(None, status="infeasible")


class NanBound(_Base):
    """Returns the feasible answer with a NaN bound."""

    name = "adv-nan-bound"

    def solve(self, instance, context):
        return SolveResult(dict(PACKED), status="feasible", bound=math.nan)


class InfBound(_Base):
    """Returns the feasible answer with an infinite bound (better than anything, for min)."""

    name = "adv-inf-bound"

    def solve(self, instance, context):
        return SolveResult(dict(PACKED), status="feasible", bound=math.inf)


class HighBound(_Base):
    """Claims a lower bound of 1000 for a min-cost answer of 10.25 (a contradicted bound)."""

    name = "adv-high-bound"

    def solve(self, instance, context):
        return SolveResult(dict(PACKED), status="feasible", bound=1000.0)


def _message_fd() -> int:
    """The run's message pipe, found the way a plugin would: a local of a caller's frame."""
    frame = sys._getframe()
    while frame is not None:
        for name in ("msg_w", "msg_fd"):
            if isinstance(frame.f_locals.get(name), int):
                return frame.f_locals[name]
        frame = frame.f_back
    raise RuntimeError("message pipe not found")


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class PickleInjection(_Base):
    """Writes a pickle frame that runs ``touch MARKER`` into the message pipe, then answers."""

    name = "adv-pickle"
    params = (Param("marker", str, "/nonexistent/adv-pickle-marker", "file the payload would create"),)

    def solve(self, instance, context):
        fd = _message_fd()
        data = pickle.dumps(("report", _Payload(context.params["marker"]), None, b"{}"))
        os.write(fd, struct.pack("!Q", len(data)) + data)
        data = pickle.dumps(_Payload(context.params["marker"]))
        os.write(fd, struct.pack("!Q", len(data)) + data)
        return SolveResult(dict(PACKED), status="feasible")


class Garbage(_Base):
    """Writes random bytes into the message pipe (no valid framing), then answers."""

    name = "adv-garbage"

    def solve(self, instance, context):
        fd = _message_fd()
        os.write(fd, struct.pack("!Q", 40) + os.urandom(40))
        return SolveResult(dict(PACKED), status="feasible")


class SetsidEscape(_Base):
    """Starts long sleepers that leave the run's process group: ``start_new_session=True`` and a
    double-forked ``setsid`` daemon; writes their pids to the ``pids`` file, then answers."""

    name = "adv-setsid"
    params = (
        Param("pids", str, "/dev/null", "file receiving the escaped pids"),
        Param("hang", bool, False, "hang instead of answering (run ends at the time limit)"),
    )

    def solve(self, instance, context):
        pids = [subprocess.Popen(["sleep", "300"], start_new_session=True).pid]
        r, w = os.pipe()
        if os.fork() == 0:  # double fork: the grandchild is adopted by whoever reaps orphans
            os.setsid()
            pid = os.fork()
            if pid == 0:
                os.execvp("sleep", ["sleep", "301"])
            os.write(w, str(pid).encode())
            os._exit(0)
        os.close(w)
        pids.append(int(os.read(r, 64)))
        with open(context.params["pids"], "w") as fh:
            fh.write(" ".join(map(str, pids)))
        if context.params["hang"]:
            while True:
                time.sleep(10)
        return SolveResult(dict(PACKED), status="feasible", info={"escaped": pids})


class StopSelf(_Base):
    """Sends itself SIGSTOP (the supervisor's SIGTERM cannot be handled; SIGKILL must follow)."""

    name = "adv-sigstop"

    def solve(self, instance, context):
        import signal

        os.kill(os.getpid(), signal.SIGSTOP)
        return dict(PACKED)


class Abort(_Base):
    name = "adv-abort"

    def solve(self, instance, context):
        os.abort()


class BusyLoop(_Base):
    """Spins in pure Python until killed."""

    name = "adv-busy"

    def solve(self, instance, context):
        while True:
            pass


class KillParent(_Base):
    """SIGKILLs its parent (the supervising worker) and then hangs."""

    name = "adv-kill-parent"

    def solve(self, instance, context):
        import signal

        os.kill(os.getppid(), signal.SIGKILL)
        while True:
            time.sleep(10)


class SlowGood(_Base):
    """Answers feasibly after 0.3 s; appends "instance seed worker-pid" to ``$ADV_COUNT`` when set
    (campaigns sharing a store: every execution is counted)."""

    name = "adv-slow-good"

    def solve(self, instance, context):
        time.sleep(0.3)
        log = os.environ.get("ADV_COUNT")
        if log:
            with open(log, "a") as fh:
                fh.write(f"{instance.name} {context.seed} {os.getppid()}\n")
        return SolveResult(dict(PACKED), status="feasible")
