"""Run one task in isolation and grade it: :func:`execute` and :class:`Executor`.

An :class:`Executor` owns one persistent zygote worker process (see :mod:`.worker` for the
process model and how each limit is enforced) and runs one task at a time in a fresh child
forked from it. Everything that decides a run's status happens here, in the calling process,
never in the worker: the registry checks (``unavailable``), the problem check
(``unsupported``: class and objective, or the solver's own
``unsupported_reason``; no process needed), and the validation of the final answer and of every kept
incumbent with :func:`schedbench.validator.validate`.

Statuses: ``wrong`` (a contradicted claim: see :func:`_check_claims`),
``invalid`` (an answer the validator finds infeasible or malformed, or a claim of
``optimal``/``feasible`` without an answer; a partial answer claimed ``unknown`` is recorded as
``unknown``, not as a lie), ``error`` (solve raised; the traceback's tail),
``crashed`` (the process died: signal or exit code), ``timeout`` (the last feasible incumbent
reported before the limit is kept, else the last one), ``memout`` (same), ``unsupported``,
``unavailable``, else the solver's claimed status. Flags: ``claim_mismatch``,
``optimal_claim_contradicted``, ``infeasible_claim_contradicted``, ``bound_contradicted``,
``trajectory_thinned`` (more than :data:`~.worker.MAX_TRAJECTORY_POINTS` incumbents: an even
subset, the latest included, is kept and validated), ``version_mismatch`` (the registry's
solver version is not the task's).

The solver registry is :func:`schedbench.plugins.registry.get_registry`; a different factory
(``module:function`` or ``/path/file.py:function``, called with ``extra_dirs=[...]``) can be
injected with ``Executor(registry=...)``, ``LocalPool(registry=...)`` or the environment
variable ``SCHEDBENCH_RUNNER_REGISTRY``, which worker processes inherit.
"""

from __future__ import annotations

import atexit
import contextlib
import json
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

from schedbench.errors import DataError
from schedbench.instances.model import Instance
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.runner import worker as _w
from schedbench.runs import MAX_TIME_LIMIT_S, RunRecord, RunTask

#: Seconds to wait for a worker to import its libraries, the registry and the instance.
LOAD_TIMEOUT_S = 600.0
#: Seconds past time limit + grace after which an unresponsive worker is killed by the caller.
BACKSTOP_S = 30.0
#: Relative tolerance of the claim checks.
RTOL = 1e-6

_HOST = socket.gethostname()


class Executor:
    """One persistent preloaded worker process; runs tasks one at a time (thread-safe: calls
    are serialised). A worker that died or was killed is replaced on the next task.

    Args:
        preload: modules the worker imports before forking (missing ones are skipped).
        registry: registry factory ``module:function`` (default: see :func:`.worker.registry_spec`).
        grace: seconds between SIGTERM and SIGKILL at the time limit.
    """

    def __init__(self, preload: tuple[str, ...] = _w.DEFAULT_PRELOAD, *, registry: str | None = None,
                 grace: float = _w.GRACE_S) -> None:
        self.preload = tuple(preload)
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
                pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, close_fds=True)
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
                    return {"kind": "timeout", "reason": f"the worker did not answer {BACKSTOP_S:g} s past the "
                            f"time limit of {float(task.time_limit):g} s; worker and run killed"}
                return {"kind": "crashed", "reason": "the worker hung before starting the run (loading the "
                        "solver plugin or the instance); killed"}
            except (EOFError, OSError) as exc:
                code = self._proc.poll() if self._proc is not None else None
                with contextlib.suppress(Exception):
                    if self._proc is not None and code is None:
                        code = self._proc.wait(2)
                self._kill()
                return {"kind": "crashed", "reason": f"the worker process died (exit code {code}) "
                        f"{'during the run' if started else 'before the run started'}: {exc}"}
            except BaseException:
                self._kill()  # KeyboardInterrupt and the like: leave nothing running
                raise

    def execute(self, task: RunTask) -> RunRecord:
        """Run a task in isolation and grade it (never raises for anything a plugin does)."""
        try:
            return _execute(self, task)
        except Exception:
            return RunRecord(task.run_id, task, "error",
                             reason="harness error: " + traceback.format_exc()[-_w.TRACEBACK_TAIL:], host=_HOST)


# ---------------------------------------------------------------------------------------------
# caches of the calling process: registries and instances

_registries: dict[tuple[str, tuple[str, ...]], Any] = {}
_instances: dict[tuple[str, str], Instance] = {}
_cache_lock = threading.Lock()


def get_entry(spec: str, dirs: tuple[str, ...], name: str) -> Any:
    """The registry entry of solver ``name`` (registries cached per factory and plugin dirs).

    Raises:
        KeyError: no such solver.
    """
    key = (spec, tuple(dirs))
    with _cache_lock:
        reg = _registries.get(key)
        if reg is None:
            reg = _w.resolve_factory(spec)(extra_dirs=list(dirs))
            _registries[key] = reg
    return reg.get(name)


def load_instance(path: str, digest: str) -> Instance:
    """Load an instance (cached, a few at a time) and check its content hash against ``digest``."""
    key = (path, digest)
    with _cache_lock:
        inst = _instances.get(key)
        if inst is not None:
            return inst
        from schedbench.instances.io import content_hash, load

        inst = load(path)
        if digest and content_hash(inst) != digest:
            raise ValueError(f"instance file {path} does not match the task: content hash "
                             f"{content_hash(inst)} is not {digest}")
        if len(_instances) >= 8:
            _instances.pop(next(iter(_instances)))
        _instances[key] = inst
        return inst


def clear_caches() -> None:
    """Forget cached registries and instances (e.g. after plugin files changed)."""
    with _cache_lock:
        _registries.clear()
        _instances.clear()


# ---------------------------------------------------------------------------------------------
# grading


def _execute(ex: Executor, task: RunTask) -> RunRecord:
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
    objective = PROBLEM_CLASSES[inst.problem.cls].objective(inst.problem.objective)
    assert objective is not None
    rec.objective_name, rec.sense = objective.name, objective.sense
    try:
        cls = entry.load()
        problems = dict(cls.problems)
        declined = cls.unsupported_reason(inst) if hasattr(cls, "unsupported_reason") else None
    except Exception:
        rec.reason = "cannot load the solver: " + traceback.format_exc()[-_w.TRACEBACK_TAIL:]
        return rec
    if declined is None and inst.problem.objective not in problems.get(inst.problem.cls, ()):
        declined = (f"{task.solver} does not solve {inst.problem.cls}/{inst.problem.objective}; it solves "
                    + (", ".join(f"{c}/{o}" for c, objs in sorted(problems.items()) for o in objs) or "nothing"))
    if declined is not None:
        rec.status = "unsupported"
        rec.reason = str(declined)
        return rec
    if str(getattr(entry, "version", task.solver_version)) != str(task.solver_version):
        rec.flags.append("version_mismatch")
    if not (0 < float(task.time_limit) <= MAX_TIME_LIMIT_S and math.isfinite(float(task.time_limit))):
        rec.reason = (f"time limit must be a positive number of seconds <= {MAX_TIME_LIMIT_S:g}, "
                      f"not {task.time_limit!r}")
        return rec
    raw = ex.run_raw(task)
    try:
        grade(rec, inst, raw)
    except _InstanceOverflowError as exc:
        rec.status, rec.objective, rec.feasible = "error", None, None
        rec.reason = f"the instance cannot be graded: {exc}"
    return rec


def _validate(inst: Instance, data: bytes) -> tuple[Any, Any, str | None]:
    """(solution, ValidationResult or None, error text or None)."""
    from schedbench.validator import ObjectiveOverflowError, validate

    try:
        sol = json.loads(data)
    except ValueError as exc:
        return None, None, f"the solution is not JSON: {exc}"
    try:
        return sol, validate(inst, sol), None
    except ObjectiveOverflowError as exc:
        raise _InstanceOverflowError(str(exc)) from None
    except DataError as exc:
        return sol, None, f"malformed solution: {exc}"
    except Exception as exc:
        return sol, None, f"the validator failed on the solution: {type(exc).__name__}: {exc}"


class _InstanceOverflowError(Exception):
    """An answer's objective is not finite: the instance is at fault, the run is an ``error``."""


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _worse(a: float, b: float, sense: str) -> bool:
    """``a`` is worse than ``b`` beyond tolerance."""
    tol = RTOL * max(1.0, abs(b))
    return a > b + tol if sense == "min" else a < b - tol


def grade(rec: RunRecord, inst: Instance, raw: dict[str, Any]) -> None:
    """Fill ``rec`` from a worker's raw outcome: status, validation, flags, measures."""
    kind = raw.get("kind", "crashed")
    for key in ("wall_s", "cpu_s", "peak_rss_mb"):
        if raw.get(key) is not None:
            setattr(rec, key, float(raw[key]))
    rec.log_tail = raw.get("log_tail", "")
    if kind == "load_error":
        rec.status, rec.reason = "error", "the worker could not load the solver or the instance: " + raw["error"]
        return
    # incumbents: validate each kept one
    incumbents = []  # (t, bound, solution, ValidationResult|None, error)
    for t, bound, data in raw.get("trajectory", []):
        sol, vr, err = _validate(inst, data)
        incumbents.append((t, bound, sol, vr, err))
        obj = vr.objective if vr is not None and vr.feasible else None
        rec.trajectory.append([t, obj, bound])
    if raw.get("thinned"):
        rec.flags.append("trajectory_thinned")
    rec.bound = raw.get("last_bound")
    feasible_objs = [inc[3].objective for inc in incumbents
                     if inc[3] is not None and inc[3].feasible and inc[3].objective is not None]
    if kind == "result":
        res = raw["result"]
        rec.claimed_status = res["status"]
        if res["bound"] is not None:
            rec.bound = res["bound"]
        try:
            rec.info = json.loads(res["info"])
        except (TypeError, ValueError):
            rec.info = {}
        _grade_answer(rec, inst, res, feasible_objs)
    elif kind in ("timeout", "memout"):
        rec.status = kind
        reason = raw.get("reason") or ""
        if kind == "memout" and raw.get("error"):
            limit = rec.task.memory_limit_mb
            reason = (f"MemoryError under the memory limit of {limit} MB: " if limit else "MemoryError: ") + \
                _last_line(raw["error"])
        rec.reason = reason + _keep_incumbent(rec, incumbents)
    elif kind == "error":
        rec.status, rec.reason = "error", raw.get("error") or raw.get("reason") or "error"
    else:
        rec.status, rec.reason = "crashed", raw.get("reason") or "the run's process died"
    _check_claims(rec, inst, feasible_objs)
    _note_supervision(rec, raw)


def _note_supervision(rec: RunRecord, raw: dict[str, Any]) -> None:
    """Flags for what the supervisor had to clean up or ignore: processes the run left behind
    (killed; those that left the run's process group, e.g. with ``setsid``, counted apart) and
    messages on the run's pipe that were not frames of the protocol (ignored: data only)."""
    strays = int(raw.get("strays") or 0)
    if strays:
        rec.flags.append("stray_processes_killed")
        escaped = int(raw.get("escaped") or 0)
        _note(rec, f"{strays} process(es) the run left alive were killed"
              + (f" ({escaped} had left its process group)" if escaped else ""))
    if raw.get("protocol_error"):
        rec.flags.append("unreadable_message")
        _note(rec, f"ignored: {raw['protocol_error']}")


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def _keep_incumbent(rec: RunRecord, incumbents: list) -> str:
    """Keep the last feasible incumbent (else the last one); return a sentence for the reason."""
    if not incumbents:
        return "; no incumbent was reported"
    chosen = next((inc for inc in reversed(incumbents) if inc[3] is not None and inc[3].feasible), incumbents[-1])
    t, _bound, sol, vr, err = chosen
    rec.solution = sol
    if vr is None:
        rec.feasible = False
        return f"; the last incumbent ({t:.3g} s) is {err}"
    rec.feasible = vr.feasible
    rec.claimed_objective = vr.claimed_objective
    if vr.feasible:
        rec.objective = vr.objective
        if vr.claim_matches is False:
            rec.flags.append("claim_mismatch")
        return f"; kept the incumbent reported at {t:.3g} s (objective {vr.objective:.10g})"
    rec.violation_counts = dict(vr.violation_counts)
    return f"; the last incumbent ({t:.3g} s) is infeasible: {_kinds(vr.violation_counts)}"


def _grade_answer(rec: RunRecord, inst: Instance, res: dict[str, Any], feasible_objs: list[float]) -> None:
    claimed = res["status"]
    if res.get("solution_error"):
        rec.status, rec.reason, rec.feasible = "invalid", res["solution_error"], False
        return
    if res["solution"] is None:
        if claimed in ("optimal", "feasible"):
            rec.status, rec.reason = "invalid", f"claimed {claimed!r} but returned no solution"
        else:
            rec.status = claimed
            rec.reason = f"the solver claims the instance is {claimed}" if claimed != "unknown" else \
                "the solver found no solution and claims nothing"
        return
    sol, vr, err = _validate(inst, res["solution"])
    rec.solution = sol
    if vr is None:
        rec.status, rec.reason, rec.feasible = "invalid", err or "invalid solution", False
        return
    rec.feasible = vr.feasible
    rec.claimed_objective = vr.claimed_objective
    if not vr.feasible:
        rec.violation_counts = dict(vr.violation_counts)
        if claimed == "unknown":  # a partial answer that claims nothing: no answer, not a lie
            rec.status = "unknown"
            rec.reason = f"no feasible answer (the partial one returned has: {_kinds(vr.violation_counts)})"
            return
        rec.status = "invalid"
        rec.reason = f"infeasible answer: {_kinds(vr.violation_counts)}"
        return
    rec.status = claimed
    rec.objective = vr.objective
    if vr.objective is not None:
        feasible_objs.append(vr.objective)
    if vr.claim_matches is False:
        rec.flags.append("claim_mismatch")
        _note(rec, f"claimed objective {vr.claimed_objective!r} differs from the recomputed {vr.objective!r}")


def _note(rec: RunRecord, text: str) -> None:
    rec.reason = f"{rec.reason}; {text}" if rec.reason else text


def known_values(inst: Instance) -> dict[str, float]:
    """The instance's finite known values (optimum, best_known, lower_bound, upper_bound)."""
    known = inst.metadata.get("known") or {}
    out = {}
    for key in ("optimum", "best_known", "lower_bound", "upper_bound"):
        value = known.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = float(value)
    return out


def primal_known(known: dict[str, float], sense: str) -> list[tuple[str, float]]:
    """The known values that some feasible answer attains: ``optimum``, ``best_known`` and the
    primal bound (``upper_bound`` for min, ``lower_bound`` for max: a generator's planted
    solution is published this way)."""
    keys = ("optimum", "best_known", "upper_bound" if sense == "min" else "lower_bound")
    return [(k, known[k]) for k in keys if k in known]


def _check_claims(rec: RunRecord, inst: Instance, feasible_objs: list[float]) -> None:
    """Check the claims against known values, the solver's bound and verified objectives.

    A contradicted claim is never credited: the run's status becomes ``wrong`` (its claim stays in
    ``claimed_status``) with the flag saying which claim: ``optimal_claim_contradicted`` (an
    optimal answer worse than a known attained value or than its own bound),
    ``infeasible_claim_contradicted`` (a feasible answer or a known attained value exists),
    ``bound_contradicted`` (a bound better than a verified objective or a known attained value;
    the bound is then not kept). A bound that is not a finite number is dropped and flagged
    ``bound_not_finite``. The store re-grades stored runs against answers that arrive later.
    """
    sense = rec.sense
    known = known_values(inst)
    attained = primal_known(known, sense)
    if rec.bound is not None and not math.isfinite(rec.bound):
        rec.flags.append("bound_not_finite")
        _note(rec, f"bound {rec.bound!r} is not a finite number: dropped")
        rec.bound = None
    wrong = False
    if rec.claimed_status == "optimal" and rec.objective is not None:
        flag = False
        for key, value in attained:
            if _worse(rec.objective, value, sense):
                flag = True
                _note(rec, f"claimed optimal but {rec.objective:.10g} is worse than the known {key} "
                      f"{value:.10g} ({sense})")
                break
        if rec.bound is not None and _worse(rec.objective, rec.bound, sense):
            flag = True
            _note(rec, f"claimed optimal but {rec.objective:.10g} is worse than its own bound {rec.bound:.10g}")
        if flag:
            rec.flags.append("optimal_claim_contradicted")
            wrong = True
    if rec.claimed_status == "infeasible":
        evidence = [f"a feasible solution ({v:.10g})" for v in feasible_objs[-1:]]
        evidence += [f"the known {k} {v:.10g}" for k, v in attained]
        if evidence:
            rec.flags.append("infeasible_claim_contradicted")
            _note(rec, "claimed infeasible, contradicted by " + evidence[0])
            wrong = True
    if rec.bound is not None:
        # a proven bound cannot be better than a verified objective or a known attained value
        refs = []
        if feasible_objs:
            refs.append(("verified objective", min(feasible_objs) if sense == "min" else max(feasible_objs)))
        refs += [(f"known {k}", v) for k, v in attained]
        for what, value in refs:
            if _worse(rec.bound, value, sense):  # a bound past an attained value cannot be proven
                rec.flags.append("bound_contradicted")
                _note(rec, f"bound {rec.bound:.10g} is better than the {what} {value:.10g} ({sense}): dropped")
                rec.bound = None
                wrong = True
                break
    if wrong and rec.status in ("optimal", "feasible", "infeasible", "unbounded", "unknown"):
        rec.status = "wrong"


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
