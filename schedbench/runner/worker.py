"""Worker processes: a preloaded persistent *zygote* that forks one fresh child per run.

Process model::

    main process (Executor / LocalPool threads)          validates, builds RunRecords
        |  socketpair, length-prefixed pickles of plain data (tasks down, outcomes up)
    zygote  (``python -m schedbench.runner.worker``)     persistent, one per pool slot
        |  pre-imports numpy, scipy and the solvers' ``requires`` that are installed
        |  (:func:`default_preload`), with BLAS/OpenMP thread caps set before those imports;
        |  caches the solver registry, solver classes and loaded instances
        |  fork() per run; two pipes: messages (data-only frames: a JSON head and raw JSON
        |  blobs, never pickles: a run cannot make the zygote execute anything) and output
        |  (fds 1 and 2)
    child   one run, then ``os._exit``                   own process group, limits, solve()

Why this design: ``fork`` of a preloaded process costs about a millisecond, so the per-run
overhead is milliseconds although importing pyomo or cvxpy costs seconds; and every run still
gets a brand-new process (no state leaks between runs, limits apply per run, a crash or a kill
takes only the child). The zygote never runs plugin ``solve`` code and stays single-threaded
(its supervision loop is a ``selectors`` loop, not threads), so forking it is safe.

How the limits are enforced (by the zygote, which is the child's parent):

* wall clock: at ``time_limit`` the child's whole process group gets SIGTERM, and SIGKILL
  :data:`GRACE_S` later if anything of it is still alive; a solver blocked in C code or ignoring
  SIGTERM is killed all the same. Incumbents reported (``context.report``) at or before the limit
  are kept. The child also has ``PR_SET_PDEATHSIG=SIGKILL``, so it dies with the zygote.
* memory: ``RLIMIT_AS`` is set in the child before ``solve`` to the address space the child
  already has (the preloaded image: about 230 MB with numpy and scipy, more with pyomo or
  cvxpy; none of it the solver's doing) **plus** ``memory_limit_mb``. So the limit is the
  memory the run may add, and it does not depend on which optional libraries are preloaded.
  ``MemoryError`` raised out of ``solve`` is a ``memout``; so is a SIGKILL the harness did not send
  (the kernel's OOM killer sends SIGKILL).
* threads: the zygote is started with ``OMP_NUM_THREADS`` & co. equal to the task's ``threads``
  (a task with another thread count restarts the zygote), the child sets them again and, when
  threadpoolctl is installed, applies ``threadpool_limits(threads)``.
* output: fds 1 and 2 of the child are the write end of a pipe that the zygote drains into a
  ring buffer keeping the last :data:`LOG_TAIL_BYTES`; nothing is written to disk, so a plugin
  printing gigabytes costs time, not disk or memory.
* time and memory measures, all taken by the zygote, never read from the child (a plugin may
  overwrite anything in its own process): wall seconds from just before the fork to the
  moment the answer is read (or the child's exit), CPU seconds and peak memory from the
  child's ``wait4`` rusage (CPU includes the subprocesses it reaped; peak memory is
  ``ru_maxrss`` as the kernel counts it after the fork). A child that answered in time is
  measured from /proc by the zygote (CPU of its threads from ``schedstat``, of its reaped
  children from ``stat``; peak ``VmHWM``), then killed at once (its output is already in the
  pipe: it flushes before answering) and reaped before the next fork, which saves waiting for
  the teardown of its address space (tens of milliseconds on a loaded machine). The child waits
  for that kill after answering (:func:`_await_kill`): had it exited by itself, its memory would
  be gone before the measurement and the zygote would wait for the teardown after all.
* cleanup: the zygote is a child subreaper (``PR_SET_CHILD_SUBREAPER``), so a process a run
  started in a new session (``setsid``, ``start_new_session=True``, a double fork) stays below
  it. When the run ends, its process group gets SIGKILL and then every remaining descendant of
  the zygote is killed and reaped (:func:`sweep_descendants`) before the next fork; the
  outcome counts them (``strays``, ``escaped`` for those outside the run's group) and the
  record gets the flag ``stray_processes_killed``.
* incumbents: the child sends each ``context.report`` as (bound, solution JSON); the zygote
  timestamps it when it reads it; those read after the limit are dropped; beyond :data:`MAX_TRAJECTORY_POINTS` (or
  :data:`MAX_TRAJECTORY_BYTES`) the kept ones are thinned evenly, the latest always kept, so the
  caller's validation of every kept incumbent stays bounded.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import os
import pickle
import resource
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from typing import Any

#: Seconds between SIGTERM and SIGKILL at the time limit.
GRACE_S = 1.0
#: Bytes of a run's stdout+stderr kept (the end).
LOG_TAIL_BYTES = 64 * 1024
#: Most incumbents kept (and validated) per run; beyond it the trajectory is thinned evenly,
#: always keeping the latest one.
MAX_TRAJECTORY_POINTS = 128
#: Most bytes of incumbent solutions kept per run (thinned the same way beyond it).
MAX_TRAJECTORY_BYTES = 128 << 20
#: Characters of a traceback kept in a record's reason.
TRACEBACK_TAIL = 4000
#: Environment variables that cap solver-library and BLAS threads.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
#: Exit code of a child that hit MemoryError and could not even report it.
EXIT_MEMOUT = 86
#: Default registry factory: ``module:function`` (or ``/path/file.py:function``) called with
#: ``extra_dirs=[...]``. ``SCHEDBENCH_RUNNER_REGISTRY`` overrides it (tests use this).
DEFAULT_REGISTRY = "schedbench.plugins.registry:get_registry"

_HEADER = struct.Struct("!Q")
_HEAD = struct.Struct("!I")
#: Most bytes of one child -> supervisor frame (a larger length prefix is garbage, not a frame).
MAX_FRAME_BYTES = 1 << 31


# --------------------------------------------------------------------------------------------
# framing (main <-> zygote over a socket; child -> zygote over a pipe)


def send_msg(sock: socket.socket, obj: Any) -> None:
    """Send one length-prefixed pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks = []
    while n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the worker process")
            sock.settimeout(left)
        else:
            sock.settimeout(None)
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError("the worker process closed its connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_msg(sock: socket.socket, deadline: float | None = None) -> Any:
    """Receive one length-prefixed pickle (``deadline``: a ``time.monotonic`` value or None).

    Raises:
        EOFError: the peer closed the connection; TimeoutError: the deadline passed.
    """
    (n,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, deadline))
    return pickle.loads(_recv_exact(sock, n, deadline))


def _num(value: float | None) -> float | str | None:
    """A float for the JSON head of a frame: non-finite ones as their repr (``nan``, ``inf``)."""
    if value is None or math.isfinite(value):
        return value
    return repr(value)


def encode_frame(meta: dict[str, Any], blobs: tuple[bytes, ...] = ()) -> bytes:
    """One child -> supervisor message: data only, never code.

    Layout: ``!Q`` length of the rest, ``!I`` length of the head, the head (strict JSON object
    with the kind ``k``, scalar fields and the blob lengths ``b``), then the blobs (solution and
    info JSON bytes, passed through untouched)."""
    head = json.dumps({**meta, "b": [len(b) for b in blobs]}, separators=(",", ":"), allow_nan=False).encode()
    body = _HEAD.pack(len(head)) + head + b"".join(blobs)
    return _HEADER.pack(len(body)) + body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_frame(body: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """The head and blobs of one frame body (see :func:`encode_frame`).

    Raises:
        ValueError: anything that is not such a frame (the supervisor notes it and goes on).
    """
    if len(body) < _HEAD.size:
        raise ValueError("frame shorter than its head length")
    (n,) = _HEAD.unpack_from(body)
    if _HEAD.size + n > len(body):
        raise ValueError("frame head longer than the frame")
    meta = json.loads(body[_HEAD.size : _HEAD.size + n], parse_constant=_refuse_constant)
    if not isinstance(meta, dict) or not isinstance(meta.get("k"), str):
        raise ValueError("frame head is not an object with a kind")
    lens = meta.get("b")
    if (
        not isinstance(lens, list)
        or not all(type(x) is int and x >= 0 for x in lens)
        or _HEAD.size + n + sum(lens) != len(body)
    ):
        raise ValueError("frame blob lengths do not add up")
    blobs, pos = [], _HEAD.size + n
    for x in lens:
        blobs.append(body[pos : pos + x])
        pos += x
    return meta, blobs


def _float_field(value: Any) -> float | None:
    """A bound or time read from a frame head (non-finite ones arrive as strings)."""
    if value is None:
        return None
    if type(value) in (int, float):
        return float(value)
    if value in ("nan", "inf", "-inf"):
        return float(value)
    raise ValueError(f"expected a number, found {value!r}")


def _write_frame(fd: int, meta: dict[str, Any], blobs: tuple[bytes, ...] = ()) -> None:
    view = memoryview(encode_frame(meta, blobs))
    while view:
        n = os.write(fd, view)
        view = view[n:]


def to_json_bytes(obj: Any) -> bytes:
    """Strict JSON text of a solution or info dict; numpy scalars and arrays become plain numbers/lists.

    Raises:
        TypeError: a value that is not JSON (a set, an object...); ValueError: NaN or infinity.
    """
    return json.dumps(obj, default=_json_default, separators=(",", ":"), allow_nan=False).encode()


def _finite(obj: Any) -> Any:
    """A copy with non-finite floats replaced by None (numpy values converted first)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if not isinstance(obj, (str, int, float, bool, type(None))):
        with contextlib.suppress(TypeError):
            return _finite(_json_default(obj))
        return obj
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _json_default(value: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, np.ndarray):
            return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _bound(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"bound must be a number or None, not {value!r}") from None


def resolve_factory(spec: str) -> Any:
    """The callable named by ``module:attr`` or ``/path/to/file.py:attr``."""
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise ValueError(f"registry factory must be 'module:function', got {spec!r}")
    if target.endswith(".py"):
        name = "_schedbench_registry_" + str(abs(hash(target)))
        module = sys.modules.get(name)
        if module is None:
            spec_obj = importlib.util.spec_from_file_location(name, target)
            if spec_obj is None or spec_obj.loader is None:
                raise ImportError(f"cannot load {target}")
            module = importlib.util.module_from_spec(spec_obj)
            sys.modules[name] = module
            spec_obj.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    return getattr(module, attr)


def registry_spec(given: str | None = None) -> str:
    """The registry factory in force: ``given``, else ``$SCHEDBENCH_RUNNER_REGISTRY``, else the default."""
    return given or os.environ.get("SCHEDBENCH_RUNNER_REGISTRY") or DEFAULT_REGISTRY


# --------------------------------------------------------------------------------------------
# the child: one run


_libc: Any = None
_threadpoolctl: bool | None = None


def _prepare_fork() -> None:
    """Done once in the zygote so that each child starts fast: load libc for prctl, look for
    threadpoolctl once, and freeze the garbage collector's view of the preloaded objects (a
    collection in a child would otherwise walk, and copy-on-write, the whole heap: ~40 ms)."""
    global _threadpoolctl
    _prepare_libc()
    if _threadpoolctl is None:
        _threadpoolctl = importlib.util.find_spec("threadpoolctl") is not None
    import gc

    gc.freeze()


def _prepare_libc() -> None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            _libc = ctypes.CDLL(None, use_errno=True)


def _pdeathsig() -> None:
    """Ask the kernel to SIGKILL this process when its parent (the zygote) dies (Linux only)."""
    if _libc is not None:
        with contextlib.suppress(Exception):  # the zygote's EOF handling still cleans up
            _libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _vm_size() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def limit_threads(threads: int) -> Any:
    """Cap BLAS/OpenMP threads in this process: environment variables and, if installed,
    threadpoolctl. Returns the threadpoolctl limiter (keep it alive) or None."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    available = _threadpoolctl if _threadpoolctl is not None else importlib.util.find_spec("threadpoolctl")
    if not available:
        return None
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=threads)
    except Exception:
        return None


def _child(task: Any, cls: type, inst: Any, msg_w: int, log_w: int, close: tuple[int, ...]) -> None:
    """Run one task in the freshly forked child; never returns."""
    code = 0
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        _pdeathsig()
        for fd in close:
            with contextlib.suppress(OSError):
                os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(log_w, 1)
        os.dup2(log_w, 2)
        os.close(log_w)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        with contextlib.suppress(Exception):
            sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
            sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        import faulthandler

        faulthandler.enable(file=sys.stderr)  # a segfault leaves a Python traceback in the log
        code = _solve_and_send(task, cls, inst, msg_w)
    except MemoryError:
        code = EXIT_MEMOUT
    except BaseException:
        code = 70
        with contextlib.suppress(BaseException):
            _write_frame(msg_w, {"k": "error", "text": traceback.format_exc()[-TRACEBACK_TAIL:]})
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


def _limit_memory(memory_limit_mb: int | None) -> None:
    """RLIMIT_AS of the run: what it has mapped now plus ``memory_limit_mb`` (never above the hard limit)."""
    if not memory_limit_mb:
        return
    limit = _vm_size() + int(memory_limit_mb) * (1 << 20)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _answer_bytes(solution: Any, info: Any) -> tuple[bytes | None, str | None, bytes]:
    """(solution JSON bytes or None, why the solution is not JSON or None, info JSON bytes): a
    solution that is not JSON is reported, never raised; info that is not JSON is kept as best it can."""
    sol_bytes = sol_error = None
    if solution is not None:
        try:
            sol_bytes = to_json_bytes(solution)
        except (TypeError, ValueError) as exc:
            sol_error = f"the returned solution is not JSON: {exc}"
    try:
        info_bytes = to_json_bytes(info if isinstance(info, dict) else {"info": info})
    except ValueError:  # NaN or infinity in the info: kept as null (strict JSON)
        info_bytes = to_json_bytes(_finite(info if isinstance(info, dict) else {"info": info}))
    except TypeError:
        info_bytes = to_json_bytes({"unserialisable_info": repr(info)[:2000]})
    return sol_bytes, sol_error, info_bytes


def _solve_and_send(task: Any, cls: type, inst: Any, msg_w: int) -> int:
    from schedbench.plugins.solver import SOLVER_STATUSES, Context, SolveResult

    threads = max(1, int(task.threads))
    _limiter = limit_threads(threads)
    _limit_memory(task.memory_limit_mb)
    seed = task.solver_seed
    import random

    random.seed(seed)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(seed)

    def reporter(solution: Any, bound: Any) -> None:
        # the time of a report is taken by the supervisor when it reads it, never from here
        _write_frame(msg_w, {"k": "report", "bound": _num(_bound(bound))}, (to_json_bytes(solution),))

    try:
        ctx = Context(task.time_limit, seed, task.params, threads, reporter=reporter)
        out = cls().solve(inst, ctx)
        if isinstance(out, SolveResult):
            solution, status, bound, info = out.solution, out.status, out.bound, out.info
        elif isinstance(out, dict):
            solution, status, bound, info = out, "feasible", None, {}
        else:
            raise TypeError(f"solve() returned {type(out).__name__}; expected a SolveResult or a solution dict")
        if status not in SOLVER_STATUSES:
            raise ValueError(f"solve() claimed status {status!r}; expected one of {SOLVER_STATUSES}")
        bound = _bound(bound)
    except MemoryError:
        _write_frame(msg_w, {"k": "memout", "text": traceback.format_exc()[-TRACEBACK_TAIL:]})
        return 0
    except BaseException as exc:
        text = traceback.format_exc()[-TRACEBACK_TAIL:]
        if isinstance(exc, SystemExit):
            text += f"\nsolve() called sys.exit({exc.code!r})"
        _write_frame(msg_w, {"k": "error", "text": text})
        return 0
    sol_bytes, sol_error, info_bytes = _answer_bytes(solution, info)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    _write_frame(
        msg_w,
        {
            "k": "result",
            "status": status,
            "bound": _num(bound),
            "solution_error": sol_error,
            "has_solution": sol_bytes is not None,
        },
        (sol_bytes or b"", info_bytes),
    )
    _await_kill()
    del _limiter  # not reached: the supervisor kills the run once it has read the answer
    return 0


def _await_kill() -> None:
    """Block the child after its answer until the supervisor, having measured it, kills it.

    The supervisor reads the child's CPU time and peak memory from /proc while the child is alive,
    then sends SIGKILL and reaps it later. A child that exited on its own right after answering
    would release its address space before that measurement (no ``VmHWM`` any more), and the
    supervisor would have to wait for the whole teardown with ``wait4`` (4 to 6 ms per run with
    the solver libraries preloaded, more under load). Nothing here is trusted: a plugin that exits
    anyway only costs that wait, and one that answers after the limit is stopped as a timeout.
    """
    while True:
        signal.pause()


# --------------------------------------------------------------------------------------------
# the zygote: supervision of one child


class _Trajectory:
    """Incumbents as (t, bound, solution bytes), thinned evenly beyond the caps, latest always kept."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float | None, bytes]] = []
        self.size = 0
        self.reports = 0
        self.thinned = False
        self.last_bound: float | None = None

    def add(self, t: float, bound: float | None, data: bytes) -> None:
        self.reports += 1
        if bound is not None:
            self.last_bound = bound
        self.points.append((t, bound, data))
        self.size += len(data)
        while len(self.points) > 2 and (len(self.points) > MAX_TRAJECTORY_POINTS or self.size > MAX_TRAJECTORY_BYTES):
            kept = [*self.points[:-1][::2], self.points[-1]]
            self.points = kept
            self.size = sum(len(p[2]) for p in kept)
            self.thinned = True


class _Ring:
    """The last :data:`LOG_TAIL_BYTES` of a stream, plus the total byte count."""

    def __init__(self, cap: int = LOG_TAIL_BYTES) -> None:
        self.cap = cap
        self.buf = bytearray()
        self.total = 0

    def feed(self, chunk: bytes | memoryview) -> None:
        n = len(chunk)
        self.total += n
        if n >= self.cap:
            self.buf[:] = chunk[n - self.cap :]
            return
        self.buf += chunk
        if len(self.buf) > 2 * self.cap:
            del self.buf[: len(self.buf) - self.cap]

    def text(self) -> str:
        tail = bytes(self.buf[-self.cap :])
        out = tail.decode("utf-8", errors="replace")
        dropped = self.total - len(tail)
        if dropped > 0:
            out = f"[schedbench: {dropped} earlier bytes of output dropped; the last {len(tail)} kept]\n" + out
        return out


def _rss_mb(maxrss: float) -> float:
    """``ru_maxrss`` in MB (kilobytes on Linux, bytes on macOS)."""
    return maxrss / (1 << 20) if sys.platform == "darwin" else maxrss / 1024.0


def _descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (children of all its threads, recursively), from
    ``/proc/PID/task/TID/children``; [] where /proc does not list children."""
    out: list[int] = []
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                    kids = fh.read().split()
            except OSError:
                continue
            for kid in kids:
                k = int(kid)
                out.append(k)
                stack.append(k)
    return out


def _state_and_pgid(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[2])
    except (OSError, IndexError, ValueError):
        return None


#: Children that answered and were killed but not yet reaped (reaped before the next fork).
_ZOMBIES: list[int] = []


def _reap_zombies() -> None:
    for pid in list(_ZOMBIES):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done == pid:
            _ZOMBIES.remove(pid)


class _ProcUsage:
    """``ru_utime``/``ru_stime``/``ru_maxrss`` of a live (or exiting) child read from /proc by its
    parent: CPU of its threads (``schedstat``, nanoseconds; at least ``stat``'s ticks, which keep
    exited threads) plus the children it reaped (``stat`` ticks); peak RSS ``VmHWM``."""

    def __init__(self, pid: int) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        utime, stime, cutime, cstime = (int(x) / tick for x in fields[11:15])
        threads = 0.0
        with contextlib.suppress(OSError, ValueError, IndexError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as fh:
                    threads += int(fh.read().split()[0]) / 1e9
        self.ru_utime = max(threads, utime + stime) + cutime + cstime
        self.ru_stime = 0.0
        self.ru_maxrss = 0.0
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    kb = int(line.split()[1])
                    self.ru_maxrss = kb * 1024.0 if sys.platform == "darwin" else float(kb)
                    break


def _answered_usage(pid: int) -> tuple[int, int, Any]:
    """(pid, status, rusage) of a child that answered, measured by this process without waiting
    for the teardown of its address space (tens of ms under load): ``wait4`` if it already exited,
    else /proc (:class:`_ProcUsage`) and then SIGKILL; it is reaped before the next fork."""
    wpid, status, usage = os.wait4(pid, os.WNOHANG)
    if wpid == pid:
        return wpid, status, usage
    try:
        proc_usage: Any = _ProcUsage(pid)
    except (OSError, ValueError, IndexError):
        proc_usage = None
    if proc_usage is None or not proc_usage.ru_maxrss:  # no /proc, or it is already exiting: wait
        _killpg(pid, signal.SIGKILL)
        return os.wait4(pid, 0)
    _killpg(pid, signal.SIGKILL)
    _ZOMBIES.append(pid)
    return pid, 0, proc_usage


def _reap_children() -> None:
    """Reap every exited child of this process (strays adopted as subreaper included)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep_descendants(root: int, rounds: int = 20, exclude: tuple[int, ...] = ()) -> int:
    """SIGKILL every descendant of ``root`` (but those in ``exclude``, already killed and reaped
    later) until none is left (a process forking while it is killed is caught on the next round);
    reap those that are ``root``'s children when ``root`` is this process. Returns the number of
    processes killed."""
    killed: set[int] = set()
    for _ in range(rounds):
        live = [
            p
            for p in _descendants(root)
            if p not in exclude and (st := _state_and_pgid(p)) is not None and st[0] not in "ZX"
        ]
        if root == os.getpid():
            _reap_children()
        if not live:
            break
        for p in live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)
            killed.add(p)
        time.sleep(0.001)
    if root == os.getpid():
        _reap_children()
    return len(killed)


def set_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``),
    so that a process a run started in a new session (``setsid``) or double-forked stays below it
    and is found by :func:`sweep_descendants`. Returns whether it worked."""
    _prepare_libc()
    if _libc is None:
        return False
    try:
        return _libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


class _Supervisor:
    """Forks the child for one task and watches it until it is gone; see the module docstring.

    Everything recorded about the run's time and resources is measured here, outside the run:
    wall from just before the fork to the answer (or to the exit), CPU and peak memory from the
    child's ``wait4`` rusage. The child's messages are data-only frames (:func:`decode_frame`).
    """

    def __init__(self, ctl: socket.socket, task: Any, cls: type, inst: Any, grace: float) -> None:
        self.ctl = ctl
        self.task = task
        self.cls = cls
        self.inst = inst
        self.grace = grace
        self.traj = _Trajectory()
        self.log = _Ring()
        self.final: tuple | None = None  # ("result", payload) / ("error", text) / ("memout", text)
        self.answered_at: float | None = None
        self.started = 0.0
        self.msgbuf = bytearray()
        self.readbuf = bytearray(1 << 20)
        self.protocol_error: str | None = None
        self.control_lost = False
        self.strays = 0
        self.escaped = 0

    def run(self) -> dict[str, Any]:
        task = self.task
        msg_r, msg_w = os.pipe()
        log_r, log_w = os.pipe()
        with contextlib.suppress(OSError, AttributeError):
            import fcntl

            fcntl.fcntl(log_r, 1031, 1 << 20)  # F_SETPIPE_SZ: fewer wake-ups for chatty solvers
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        _reap_zombies()
        _prepare_fork()
        self.started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child, measured by the tests through its effects
            _child(task, self.cls, self.inst, msg_w, log_w, (msg_r, log_r, self.ctl.fileno()))
        os.close(msg_w)
        os.close(log_w)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        send_msg(self.ctl, ("started", pid))
        try:
            return self._watch(pid, self.started, msg_r, log_r)
        finally:
            os.close(msg_r)
            os.close(log_r)

    def _on_event(self, sel: selectors.BaseSelector, what: str, pid: int, msg_r: int, log_r: int) -> str | None:
        """Handle one ready file of :meth:`_watch`: ``"exit"`` when the run's process exited,
        ``"killed"`` when the control socket closed (the run is killed), else None."""
        if what == "exit":
            return "exit"
        if what == "msg" and not self._read_msg(msg_r):
            sel.unregister(msg_r)
        elif what == "log" and not self._read_log(log_r):
            sel.unregister(log_r)
        elif what == "ctl":
            sel.unregister(self.ctl)
            self.control_lost = True
            _killpg(pid, signal.SIGKILL)
            return "killed"
        return None

    def _answered_in_time(self, term_at: float | None, deadline: float) -> bool:
        """The run sent its answer before the deadline (and was not stopped or cancelled)."""
        return (
            self.final is not None
            and self.final[0] == "result"
            and term_at is None
            and not self.control_lost
            and self.answered_at is not None
            and self.answered_at <= deadline
        )

    def _drain_log(self, log_r: int) -> None:
        """Read what is left in the output pipe of a run that answered (non-blocking)."""
        os.set_blocking(log_r, False)
        while True:
            try:
                n = os.readv(log_r, [self.readbuf])
            except BlockingIOError:
                break
            if not n:
                break
            self.log.feed(memoryview(self.readbuf)[:n])

    def _drain_pipes(self, sel: selectors.BaseSelector, pidfd: int | None, msg_r: int, log_r: int) -> None:
        """Read both pipes of a run that ended without an answer, for at most 2 s."""
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(self.ctl)
        if pidfd is not None:
            sel.unregister(pidfd)
        stop = time.monotonic() + 2.0
        while sel.get_map() and time.monotonic() < stop:
            for key, _ in sel.select(max(0.0, stop - time.monotonic())):
                ok = self._read_msg(msg_r) if key.data == "msg" else self._read_log(log_r)
                if not ok:
                    sel.unregister(key.fd)

    def _watch(self, pid: int, started: float, msg_r: int, log_r: int) -> dict[str, Any]:
        sel = selectors.DefaultSelector()
        sel.register(msg_r, selectors.EVENT_READ, "msg")
        sel.register(log_r, selectors.EVENT_READ, "log")
        sel.register(self.ctl, selectors.EVENT_READ, "ctl")
        pidfd = None
        with contextlib.suppress(OSError, AttributeError):
            pidfd = os.pidfd_open(pid)
            sel.register(pidfd, selectors.EVENT_READ, "exit")
        deadline = started + float(self.task.time_limit)
        term_at: float | None = None
        kill_at: float | None = None
        killed = answered = False
        waited: tuple[int, int, Any] | None = None
        try:
            while waited is None:
                now = time.monotonic()
                if term_at is None and now >= deadline:
                    _killpg(pid, signal.SIGTERM)
                    term_at = now
                    kill_at = now + self.grace
                elif kill_at is not None and not killed and now >= kill_at:
                    _killpg(pid, signal.SIGKILL)
                    killed = True
                wake = deadline if term_at is None else (kill_at if not killed else now + 1.0)
                assert wake is not None
                timeout = max(0.0, wake - now)
                if pidfd is None:
                    timeout = min(timeout, 0.005)
                exit_ready = pidfd is None
                for key, _ in sel.select(timeout):
                    event = self._on_event(sel, key.data, pid, msg_r, log_r)
                    exit_ready = exit_ready or event == "exit"
                    killed = killed or event == "killed"
                if self._answered_in_time(term_at, deadline):
                    # answered in time. The child flushed its output before sending the answer,
                    # so all it wrote is in the pipe: take it, kill the child and reap it for
                    # its rusage (its exit after the answer is not the run's time).
                    answered = True
                    break
                if not exit_ready:
                    continue
                wpid, status, usage = os.wait4(pid, os.WNOHANG)
                if wpid == pid:
                    waited = (wpid, status, usage)
            ended = time.monotonic()
            self._count_strays(pid)
            if answered:  # measured before the kill below (its memory is gone once killed)
                waited = _answered_usage(pid)
            # stragglers (grandchildren) of the run's group die with it; then drain both pipes
            _killpg(pid, signal.SIGKILL)
            if answered:
                self._drain_log(log_r)
            else:
                self._drain_pipes(sel, pidfd, msg_r, log_r)
        finally:
            sel.close()
            if pidfd is not None:
                os.close(pidfd)
            # every process the run left below the zygote (a new session included: the zygote
            # is their subreaper) is killed and reaped before the next run
            sweep_descendants(os.getpid(), exclude=(pid, *_ZOMBIES))
        assert waited is not None
        if answered:
            assert self.answered_at is not None
            return self._answered(self.answered_at - started, waited[2])
        return self._outcome(waited[1], waited[2], ended - started, term_at is not None, killed)

    def _count_strays(self, pid: int) -> None:
        """Note the processes the run left alive (the run's own process excluded) and how many of
        them left its process group."""
        for p in _descendants(os.getpid()):
            if p == pid or p in _ZOMBIES:  # the run itself, earlier runs killed and being torn down
                continue
            st = _state_and_pgid(p)
            if st is None or st[0] in "ZX":
                continue
            self.strays += 1
            self.escaped += st[1] != pid

    def _read_log(self, fd: int) -> bool:
        try:
            n = os.readv(fd, [self.readbuf])  # into one reused buffer: no allocation per chunk
        except BlockingIOError:
            return True
        if not n:
            return False
        self.log.feed(memoryview(self.readbuf)[:n])
        return True

    def _read_msg(self, fd: int) -> bool:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        if self.protocol_error is not None and self.protocol_error.startswith("unframed"):
            return True  # framing lost: nothing after it can be trusted to be a frame
        buf = self.msgbuf
        buf += chunk
        while len(buf) >= _HEADER.size:
            (n,) = _HEADER.unpack_from(buf)
            if n > MAX_FRAME_BYTES:
                self.protocol_error = f"unframed data on the message pipe (a length of {n} bytes)"
                buf.clear()
                return True
            if len(buf) < _HEADER.size + n:
                break
            body = bytes(buf[_HEADER.size : _HEADER.size + n])
            del buf[: _HEADER.size + n]
            try:
                self._frame(*decode_frame(body))
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                # the solver wrote into our pipe: note it, keep going (data only: nothing runs)
                self.protocol_error = f"unreadable message from the run: {exc}"
        return True

    def _frame(self, meta: dict[str, Any], blobs: list[bytes]) -> None:
        from schedbench.plugins.solver import SOLVER_STATUSES

        kind = meta["k"]
        now = time.monotonic()
        if kind == "report":
            t = now - self.started  # when the supervisor read it
            if t <= float(self.task.time_limit):
                self.traj.add(t, _float_field(meta.get("bound")), blobs[0])
            return
        if self.final is not None:
            return
        if kind == "result":
            status = meta["status"]
            if status not in SOLVER_STATUSES:
                raise ValueError(f"status {status!r}")
            error = meta.get("solution_error")
            self.final = (
                "result",
                {
                    "status": status,
                    "bound": _float_field(meta.get("bound")),
                    "solution": blobs[0] if meta.get("has_solution") is True else None,
                    "solution_error": None if error is None else str(error),
                    "info": blobs[1],
                },
            )
            self.answered_at = now
        elif kind in ("error", "memout"):
            self.final = (kind, str(meta["text"])[-TRACEBACK_TAIL:])
        else:
            raise ValueError(f"unknown message kind {kind!r}")

    def _base(self, elapsed: float, usage: Any) -> dict[str, Any]:
        return {
            "kind": "crashed",
            "reason": "",
            "result": None,
            "error": None,
            "trajectory": self.traj.points,
            "reports": self.traj.reports,
            "thinned": self.traj.thinned,
            "last_bound": self.traj.last_bound,
            "log_tail": self.log.text(),
            "log_bytes": self.log.total,
            "wall_s": elapsed,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": _rss_mb(usage.ru_maxrss),
            "exit_code": None,
            "signal": None,
            "strays": self.strays,
            "escaped": self.escaped,
            "protocol_error": self.protocol_error,
        }

    def _answered(self, elapsed: float, usage: Any) -> dict[str, Any]:
        assert self.final is not None
        out = self._base(elapsed, usage)
        out.update(kind="result", result=self.final[1])
        return out

    def _outcome(self, status: int, usage: Any, elapsed: float, limit_hit: bool, killed: bool) -> dict[str, Any]:
        out = self._base(elapsed, usage)
        out.update(
            exit_code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        )
        final = self.final
        limit = float(self.task.time_limit)
        if self.control_lost:
            out["kind"], out["reason"] = "crashed", "cancelled: the harness closed the worker during the run"
        elif final is not None and final[0] == "result" and not limit_hit:
            out.update(kind="result", result=final[1])
            if self.answered_at is not None:
                out["wall_s"] = min(elapsed, self.answered_at - self.started)
        elif limit_hit:
            how = f"SIGKILL after a {self.grace:.3g} s grace" if killed else "SIGTERM"
            out["kind"] = "timeout"
            out["reason"] = f"stopped at the time limit of {limit:g} s ({how})"
        elif final is not None and final[0] in ("error", "memout"):
            out["kind"] = final[0]
            out["error"] = final[1]
        elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_MEMOUT:
            out["kind"], out["reason"] = "memout", "MemoryError (the run could not even report it)"
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            out["kind"] = "memout"
            out["reason"] = (
                "killed by SIGKILL that the harness did not send: presumably the kernel's out-of-memory killer"
            )
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            out["reason"] = f"the run's process was killed by signal {_signame(sig)} ({sig})"
        else:
            out["reason"] = f"the run's process exited with code {os.WEXITSTATUS(status)} without an answer" + (
                f" ({self.protocol_error})" if self.protocol_error else ""
            )
        return out


# --------------------------------------------------------------------------------------------
# the zygote's main loop


class _Zygote:
    def __init__(self, ctl: socket.socket) -> None:
        from schedbench.runner.cache import LoadCache

        self.ctl = ctl
        self.cache = LoadCache(max_instances=4)  # the same cache class as the calling process's

    def serve(self) -> None:
        while True:
            try:
                msg = recv_msg(self.ctl)
            except (EOFError, OSError):
                return
            if msg[0] == "quit":
                return
            if msg[0] != "run":
                continue
            _, task, spec, grace = msg
            try:
                cls = self.cache.solver_class(spec, tuple(task.solvers_dirs), task.solver)
                inst = self.cache.instance(task.instance_path, task.instance_hash)
            except BaseException:
                send_msg(self.ctl, ("done", {"kind": "load_error", "error": traceback.format_exc()[-TRACEBACK_TAIL:]}))
                continue
            sup = _Supervisor(self.ctl, task, cls, inst, grace)
            outcome = sup.run()
            if sup.control_lost:
                return
            send_msg(self.ctl, ("done", outcome))


def default_preload() -> tuple[str, ...]:
    """The modules a zygote imports before forking when its caller names none: the core's
    numerical stack and the ``requires`` of the registered solvers that do not opt out
    (:func:`schedbench.plugins.registry.preload_modules`; built-ins and entry points, not extra
    plugin folders). Missing ones are skipped by :func:`preload`."""
    from schedbench.plugins.registry import preload_modules

    return preload_modules()


def preload(modules: tuple[str, ...]) -> list[str]:
    """Import each module whose top-level package is installed; return those imported."""
    done = []
    for name in modules:
        try:
            if importlib.util.find_spec(name.partition(".")[0]) is None:
                continue
            importlib.import_module(name)
            done.append(name)
        except Exception:  # a broken optional install must not stop the worker
            continue
    return done


def main(argv: list[str] | None = None) -> None:
    """Entry point of a zygote: ``python -m schedbench.runner.worker FD PRELOAD,...``."""
    args = sys.argv[1:] if argv is None else argv
    ctl = socket.socket(fileno=int(args[0]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    set_subreaper()  # orphans of a run (setsid, double fork) stay below the zygote, found and killed
    modules = tuple(m for m in (args[1] if len(args) > 1 else "").split(",") if m)
    loaded = preload(modules)
    import schedbench.instances.io
    import schedbench.plugins.solver  # noqa: F401

    send_msg(ctl, ("ready", os.getpid(), loaded))
    _Zygote(ctl).serve()


if __name__ == "__main__":
    main()
