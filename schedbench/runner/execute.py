"""Run one task in isolation and grade it: :func:`execute` and :class:`Executor`.

An :class:`Executor` owns one persistent zygote worker process (see :mod:`.worker` for the
process model and how each limit is enforced) and runs one task at a time in a fresh child
forked from it. Measuring and grading are two steps: the worker returns a
:class:`~.grade.Measurement` (:meth:`Executor.measure`), and the pure
:func:`~.grade.grade` turns it into an :class:`~.grade.Outcome` in the calling process, never in
the worker. Before anything runs, this module decides the statuses that need no process: the
registry checks (``unavailable``) and the problem check (``unsupported``: class and objective, or
the solver's own ``unsupported_reason``), and flags ``version_mismatch`` (the registry's solver
version is not the task's). See :mod:`.grade` for the statuses and flags of a graded run.

The solver registry is :func:`schedbench.plugins.registry.get_registry`; a different factory
(``module:function`` or ``/path/file.py:function``, called with ``extra_dirs=[...]``) can be
injected with ``Executor(registry=...)``, ``LocalPool(registry=...)`` or the environment
variable ``SCHEDBENCH_RUNNER_REGISTRY``, which worker processes inherit. Registries, solver
classes and instances are cached in :data:`CACHE` (:class:`~.cache.LoadCache`).
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from schedbench.instances.model import Instance
from schedbench.runner import worker as _w
from schedbench.runner.cache import LoadCache
from schedbench.runner.grade import Measurement, Outcome, grade, objective_of
from schedbench.runs import MAX_TIME_LIMIT_S, RunRecord, RunTask
from schedbench.scoring import known_values

#: Seconds to wait for a worker to import its libraries, the registry and the instance.
LOAD_TIMEOUT_S = 600.0
#: Seconds past time limit + grace after which an unresponsive worker is killed by the caller.
BACKSTOP_S = 30.0

_HOST = socket.gethostname()


class Executor:
    """One persistent preloaded worker process; runs tasks one at a time (thread-safe: calls
    are serialised). A worker that died or was killed is replaced on the next task.

    Args:
        preload: modules the worker imports before forking (missing ones are skipped); default
            :func:`.worker.default_preload` (derived from the solvers' ``requires``).
        registry: registry factory ``module:function`` (default: see :func:`.worker.registry_spec`).
        grace: seconds between SIGTERM and SIGKILL at the time limit.
    """

    def __init__(
        self, preload: tuple[str, ...] | None = None, *, registry: str | None = None, grace: float = _w.GRACE_S
    ) -> None:
        self.preload = _w.default_preload() if preload is None else tuple(preload)
        self.registry = _w.registry_spec(registry)
        self.grace = float(grace)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._threads: int | None = None
        self._ready = False
        self._child: int | None = None
        self.preloaded: list[str] = []
        self.starts = 0
        self.closed = False

    # -- worker process management ----------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The worker (zygote) process id, when one is running."""
        return self._proc.pid if self._proc is not None else None

    def start(self, threads: int = 1) -> None:
        """Start the worker now (without waiting for its imports); a no-op when it runs with ``threads``."""
        if self._proc is not None and self._threads == threads and self._proc.poll() is None:
            return
        self._kill()
        parent, child = socket.socketpair()
        env = dict(os.environ)
        for var in _w.THREAD_VARS:
            env[var] = str(threads)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONUNBUFFERED"] = "0"
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "schedbench.runner.worker", str(child.fileno()), ",".join(self.preload)],
                pass_fds=(child.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            child.close()
        self._sock = parent
        self._threads = threads
        self._ready = False
        self.starts += 1

    def _wait_ready(self) -> None:
        if self._ready:
            return
        assert self._sock is not None
        msg = _w.recv_msg(self._sock, time.monotonic() + LOAD_TIMEOUT_S)
        if msg[0] != "ready":
            raise EOFError(f"unexpected first message from the worker: {msg[0]!r}")
        self.preloaded = list(msg[2])
        self._ready = True

    def _kill(self) -> None:
        """Stop the worker and the run it may be supervising (SIGKILL; the run also has PDEATHSIG)."""
        proc, sock, child = self._proc, self._sock, self._child
        self._proc = self._sock = self._child = None
        self._ready = False
        if child is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child, signal.SIGKILL)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):  # stopped, it reports nothing while its run is killed
                os.kill(proc.pid, signal.SIGSTOP)
            with contextlib.suppress(Exception):  # whatever runs below the worker (new sessions too)
                _w.sweep_descendants(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.wait(5)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
            sock.close()

    def close(self) -> None:
        """Stop the worker (asks it to quit; kills it if it is busy or does not). Tasks given to a
        closed executor come back ``crashed`` without running."""
        self.closed = True
        proc, sock = self._proc, self._sock
        if proc is not None and sock is not None and self._lock.acquire(blocking=False):
            try:
                with contextlib.suppress(OSError):
                    _w.send_msg(sock, ("quit",))
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(2)
            finally:
                self._lock.release()
        self._kill()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running ------------------------------------------------------------------------------

    def run_raw(self, task: RunTask) -> dict[str, Any]:
        """Run a task in a fresh child of the worker; the worker's raw outcome (not yet graded)."""
        with self._lock:
            if self.closed:
                return {"kind": "crashed", "reason": "not run: the executor was closed"}
            self.start(max(1, int(task.threads)))
            started = False
            try:
                self._wait_ready()
                sock = self._sock  # close() from another thread sets self._sock to None
                if sock is None:
                    raise EOFError("the executor was closed")
                _w.send_msg(sock, ("run", task, self.registry, self.grace))
                msg = _w.recv_msg(sock, time.monotonic() + LOAD_TIMEOUT_S)
                if msg[0] == "started":
                    started = True
                    self._child = msg[1]
                    backstop = time.monotonic() + float(task.time_limit) + self.grace + BACKSTOP_S
                    msg = _w.recv_msg(sock, backstop)
                self._child = None
                if msg[0] != "done":
                    raise EOFError(f"unexpected message from the worker: {msg[0]!r}")
                return msg[1]
            except TimeoutError:
                self._kill()
                if started:
                    return {
                        "kind": "timeout",
                        "reason": f"the worker did not answer {BACKSTOP_S:g} s past the "
                        f"time limit of {float(task.time_limit):g} s; worker and run killed",
                    }
                return {
                    "kind": "crashed",
                    "reason": "the worker hung before starting the run (loading the "
                    "solver plugin or the instance); killed",
                }
            except (EOFError, OSError) as exc:
                code = self._proc.poll() if self._proc is not None else None
                with contextlib.suppress(Exception):
                    if self._proc is not None and code is None:
                        code = self._proc.wait(2)
                self._kill()
                return {
                    "kind": "crashed",
                    "reason": f"the worker process died (exit code {code}) "
                    f"{'during the run' if started else 'before the run started'}: {exc}",
                }
            except BaseException:
                self._kill()  # KeyboardInterrupt and the like: leave nothing running
                raise

    def measure(self, task: RunTask) -> Measurement:
        """Run a task in a fresh child of the worker and return what was measured (not graded)."""
        return Measurement.from_worker(self.run_raw(task))

    def execute(self, task: RunTask) -> RunRecord:
        """Run a task in isolation and grade it (never raises for anything a plugin does)."""
        try:
            return _execute(self, task)
        except Exception:
            return RunRecord(
                task.run_id,
                task,
                "error",
                reason="harness error: " + traceback.format_exc()[-_w.TRACEBACK_TAIL :],
                host=_HOST,
            )


# ---------------------------------------------------------------------------------------------
# the calling process's cache of registries, solver classes and instances

#: Registries, solver classes and instances of the calling process (the worker has its own).
CACHE = LoadCache(max_instances=8)


def get_entry(spec: str, dirs: tuple[str, ...], name: str) -> Any:
    """The registry entry of solver ``name`` (registries cached per factory and plugin dirs).

    Raises:
        KeyError: no such solver.
    """
    return CACHE.entry(spec, tuple(dirs), name)


def task_for(
    entry: Any,
    instance_path: str | Path,
    inst: Instance,
    params: dict[str, Any],
    *,
    seed: int,
    time_limit: float,
    memory_limit_mb: int | None,
    threads: int,
    solvers_dirs: tuple[str, ...],
) -> RunTask:
    """The task of one run of the solver of registry ``entry`` on ``inst`` (read from ``instance_path``):
    ``params`` resolved against the solver's declared parameters when it is available (an unavailable
    solver keeps them as given and is recorded as such when run).

    Raises:
        UsageError: a parameter the solver rejects.
    """
    from schedbench.errors import UsageError
    from schedbench.instances.io import content_hash

    resolved: dict[str, Any] = dict(params)
    if entry.available:
        try:
            resolved = entry.load().resolve_params(resolved)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return RunTask(
        instance_path=str(Path(instance_path).resolve()),
        instance_hash=content_hash(inst),
        instance_name=inst.name,
        solver=entry.name,
        solver_version=str(entry.version),
        params=resolved,
        seed=int(seed),
        time_limit=float(time_limit),
        memory_limit_mb=memory_limit_mb,
        threads=int(threads),
        solvers_dirs=solvers_dirs,
    )


def load_instance(path: str, digest: str) -> Instance:
    """Load an instance (cached, a few at a time) and check its content hash against ``digest``."""
    return CACHE.instance(path, digest)


def clear_caches() -> None:
    """Forget cached registries, solver classes and instances (e.g. after plugin files changed)."""
    CACHE.clear()


# ---------------------------------------------------------------------------------------------
# checks before the run, then measure and grade


def _execute(ex: Any, task: RunTask) -> RunRecord:
    """Check, measure (``ex.measure(task)``: an :class:`Executor`, or the API's in-process runner)
    and grade one task."""
    rec = RunRecord(task.run_id, task, "error", host=_HOST)
    try:
        entry = get_entry(ex.registry, tuple(task.solvers_dirs), task.solver)
    except KeyError:
        rec.status = "unavailable"
        rec.reason = f"no solver named {task.solver!r} in the registry"
        return rec
    except Exception as exc:  # the registry itself cannot be built (name collision, bad plugin folder...)
        rec.reason = f"cannot build the solver registry: {type(exc).__name__}: {exc}"
        return rec
    if not entry.available:
        rec.status = "unavailable"
        rec.reason = str(entry.reason or "the registry lists the solver as unavailable")
        return rec
    try:
        inst = load_instance(task.instance_path, task.instance_hash)
    except Exception as exc:
        rec.reason = f"cannot load the instance: {exc}"
        return rec
    rec.problem_class = inst.problem.cls
    rec.objective_name, rec.sense = objective_of(inst)
    try:
        cls = entry.load()
        problems = dict(cls.problems)
        declined = cls.unsupported_reason(inst) if hasattr(cls, "unsupported_reason") else None
    except Exception:
        rec.reason = "cannot load the solver: " + traceback.format_exc()[-_w.TRACEBACK_TAIL :]
        return rec
    if declined is None and inst.problem.objective not in problems.get(inst.problem.cls, ()):
        declined = f"{task.solver} does not solve {inst.problem.cls}/{inst.problem.objective}; it solves " + (
            ", ".join(f"{c}/{o}" for c, objs in sorted(problems.items()) for o in objs) or "nothing"
        )
    if declined is not None:
        rec.status = "unsupported"
        rec.reason = str(declined)
        return rec
    if str(getattr(entry, "version", task.solver_version)) != str(task.solver_version):
        rec.flags.append("version_mismatch")
    if not (0 < float(task.time_limit) <= MAX_TIME_LIMIT_S and math.isfinite(float(task.time_limit))):
        rec.reason = f"time limit must be a positive number of seconds <= {MAX_TIME_LIMIT_S:g}, not {task.time_limit!r}"
        return rec
    measurement = ex.measure(task)
    outcome = grade(task, inst, measurement, known_values(inst.metadata.get("known")))
    return fill_record(rec, measurement, outcome)


def fill_record(rec: RunRecord, measurement: Measurement, outcome: Outcome) -> RunRecord:
    """``rec`` (identity, task, the instance's objective, the flags found before the run) completed
    with what was measured and the verdict; returns it."""
    rec.wall_s, rec.cpu_s, rec.peak_rss_mb = measurement.wall_s, measurement.cpu_s, measurement.peak_rss_mb
    rec.log_tail = measurement.log_tail
    rec.status, rec.reason = outcome.status, outcome.reason
    rec.objective, rec.claimed_objective, rec.claimed_status = (
        outcome.objective,
        outcome.claimed_objective,
        outcome.claimed_status,
    )
    rec.bound, rec.feasible, rec.violation_counts = outcome.bound, outcome.feasible, outcome.violation_counts
    rec.flags = [*rec.flags, *outcome.flags]
    rec.trajectory, rec.solution, rec.info = outcome.trajectory, outcome.solution, outcome.info
    return rec


# ---------------------------------------------------------------------------------------------
# the convenience entry point

_default: Executor | None = None
_default_lock = threading.Lock()


def default_executor() -> Executor:
    """A process-wide executor (started on first use, stopped at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Executor()
            atexit.register(_default.close)
        return _default


def execute(task: RunTask, *, executor: Executor | None = None) -> RunRecord:
    """Run one task in an isolated process under its limits and grade it (blocking).

    Args:
        task: the run.
        executor: the worker to use; default a process-wide one (created on first use).

    Returns:
        The graded record; misbehaving solvers give records (``timeout``, ``crashed``...), not
        exceptions.
    """
    return (executor or default_executor()).execute(task)
