"""Command solvers: a program in any language, declared in a TOML file, run as a solver plugin.

::

    name = "my-solver"                      # registry name, ^[a-z0-9][a-z0-9-]*$
    family = "external"                     # default "external"
    version = "1"                           # part of every run's identity: bump it when results change
    description = "first fit in C++"        # optional, one line
    problems = { placement = ["min-cost", "max-weight"] }
    command = ["./my-solver", "{instance}", "{solution}", "--time-limit", "{time_limit}", "--seed", "{seed}"]
    deterministic = true                    # optional, default true
    cwd = "."                               # optional, relative to this file (default: its folder)

    [[params]]                              # optional declared parameters, passed as {param:NAME}
    name = "order"
    type = "str"                            # int, float, bool or str
    default = "input"
    help = "job order"
    choices = ["input", "largest"]          # optional; minimum/maximum for numbers

Placeholders in ``command`` (whole arguments or parts of them): ``{instance}`` (path of the
instance JSON), ``{solution}`` (where the program must write its solution JSON), ``{time_limit}``
(seconds left, a decimal number), ``{seed}``, ``{threads}``, ``{python}`` (the interpreter running
schedbench, so that a Python script needs no path to it) and ``{param:NAME}`` (a declared
parameter; booleans as ``true``/``false``). ``{{`` and ``}}`` are literal braces.

At run time the instance is written to a temporary folder (canonical JSON) unless the context
names its file (``context.instance_path``); the command runs with ``cwd`` as its working folder,
under ``subprocess`` with a timeout of the time the run has left. The harness's own hard limit
stays the safety net: the program stays in the run's process group, which the harness kills at
the limit. Exit status 0 and a solution file are required; the file is read strictly (JSON only,
repeated keys kept visible to the validator) and returned as is. Its optional ``status`` field
(``optimal``, ``feasible``, ``infeasible``, ``unbounded``, ``unknown``) becomes the claimed status
(default ``feasible``), its ``bound`` the claimed bound. A solution without the class's body
(e.g. ``{"status": "infeasible"}``) is returned as no solution. A non-zero exit raises
:class:`CommandSolverError` with the head and tail of the program's stderr.

The run is over when the program exits: the program runs in its own process group, which is
killed as soon as it exits (or at the time limit), so a child it left holding its output does not
hold the answer back. Its stdout and stderr are streamed, chunk by chunk, to the run's own
streams (in the harness: the supervisor's bounded log); only a bounded head and tail of stderr is
kept for error messages, so a program printing gigabytes costs no memory. A program that fails
under the run's memory limit (``RLIMIT_AS`` is inherited) with an out-of-memory message
(``MemoryError``, ``std::bad_alloc``, ``Cannot allocate memory``, ``out of memory``) or is killed
by a SIGKILL nobody here sent is a ``memout`` (a :class:`MemoryError` is raised).

Shell templates: in ``["sh", "-c", "SCRIPT", ...]`` (also ``bash``, ``dash``, ``zsh``, ``ksh``)
the placeholders of SCRIPT are replaced by shell-quoted values (``shlex.quote``), so a parameter
value cannot inject commands; a placeholder written inside quotes in SCRIPT is refused when the
TOML is loaded (the quoting would be undone).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from schedbench.plugins.declarations import RegistryError, check_declarations
from schedbench.plugins.solver import SOLVER_STATUSES, Context, Param, Solver, SolveResult

__all__ = ["CommandConfig", "CommandSolver", "CommandSolverError", "load_config"]

_KINDS: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}
_FIELDS = {"name", "family", "version", "description", "problems", "command", "params", "deterministic", "cwd"}
_PARAM_FIELDS = {"name", "type", "default", "help", "choices", "minimum", "maximum"}
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_SIMPLE = ("instance", "solution", "time_limit", "seed", "threads", "python")
#: Characters of the program's output kept in an error message / passed on to the worker's streams.
STDERR_TAIL = 4000
#: Interpreters whose ``-c`` script gets shell-quoted placeholder values.
SHELLS = ("sh", "bash", "dash", "zsh", "ksh")
_OOM = re.compile(r"MemoryError|bad_alloc|Cannot allocate memory|out of memory|std::length_error", re.I)


class CommandSolverError(RuntimeError):
    """The program failed (non-zero exit, no solution file, unreadable solution, timeout)."""


def _bad(file: str, where: str, expected: str, found: Any) -> RegistryError:
    return RegistryError(f"{file}: at {where}: expected {expected}, found {found!r}")


def _placeholders(arg: str) -> list[str]:
    """The placeholder names in one argument (raises ValueError on a stray brace)."""
    out = []
    for m in _PLACEHOLDER.finditer(arg):
        tok = m.group(0)
        if tok in ("{{", "}}"):
            continue
        if m.group(1) is None:
            raise ValueError(f"a stray {tok!r} (write {tok * 2!r} for a literal brace)")
        out.append(m.group(1))
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class CommandConfig:
    """A parsed command-solver TOML file."""

    path: Path
    name: str
    family: str
    version: str
    description: str
    problems: dict[str, tuple[str, ...]]
    command: tuple[str, ...]
    params: tuple[Param, ...]
    deterministic: bool
    cwd: Path
    shell_args: tuple[int, ...] = ()  # indices of ``sh -c`` scripts (placeholder values shell-quoted)

    @property
    def origin(self) -> str:
        """Where the solver comes from, for listings and error messages."""
        return f"command solver {self.path}"

    def program_problem(self) -> str | None:
        """Why the program cannot run here (its executable is not found), or None."""
        head = self.command[0]
        if "{python}" in head:
            return None
        if "{" in head:
            return None  # chosen at run time
        if os.sep in head or (os.altsep and os.altsep in head):
            exe = (self.cwd / head) if not os.path.isabs(head) else Path(head)
            if not exe.exists():
                return f"program not found: {exe}"
            if not os.access(exe, os.X_OK):
                return f"program is not executable: {exe}"
            return None
        if shutil.which(head) is None:
            return f"program not found on PATH: {head}"
        return None

    def solver_class(self) -> type[CommandSolver]:
        """The dynamically made Solver subclass running this command."""
        return _class_for(self)

    def argv(
        self, *, instance: str, solution: str, time_limit: float, seed: int, threads: int, params: dict[str, Any]
    ) -> list[str]:
        """The command with its placeholders filled in."""
        values = {
            "instance": instance,
            "solution": solution,
            "time_limit": _fmt(float(time_limit)),
            "seed": str(int(seed)),
            "threads": str(int(threads)),
            "python": sys.executable,
        }

        def value(m: re.Match) -> str:
            tok = m.group(0)
            if tok in ("{{", "}}"):
                return tok[0]
            key = m.group(1)
            if key.startswith("param:"):
                return _fmt(params[key[6:]])
            return values[key]

        def quoted(m: re.Match) -> str:
            tok = m.group(0)
            return tok[0] if tok in ("{{", "}}") else shlex.quote(value(m))

        return [_PLACEHOLDER.sub(quoted if i in self.shell_args else value, a) for i, a in enumerate(self.command)]


def load_config(path: str | Path) -> CommandConfig:
    """Read and check a command-solver TOML file.

    Raises:
        RegistryError: unreadable or invalid TOML, an unknown or missing field, a bad value, an
            unknown placeholder (the message names the file and the field).
    """
    p = Path(path)
    file = str(p)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _bad(file, "$", "a readable TOML file", str(exc)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _bad(file, "$", "valid TOML", str(exc)) from None
    for key in doc:
        if key not in _FIELDS:
            raise _bad(file, key, f"one of the fields {sorted(_FIELDS)}", f"unknown field {key!r}")
    for key in ("name", "version", "problems", "command"):
        if key not in doc:
            raise _bad(file, key, "a value (required field)", "nothing")
    command = doc["command"]
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise _bad(file, "command", "a non-empty array of strings", command)
    raw_params = doc.get("params", [])
    if not isinstance(raw_params, list):
        raise _bad(file, "params", "an array of tables ([[params]])", raw_params)
    params = [_load_param(file, f"params[{i}]", rp) for i, rp in enumerate(raw_params)]
    shell_args = _check_command(file, command, {prm.name for prm in params})
    cwd_raw = doc.get("cwd", ".")
    if not isinstance(cwd_raw, str):
        raise _bad(file, "cwd", "a path relative to the TOML file", cwd_raw)
    cwd = (p.resolve().parent / cwd_raw).resolve()
    if not cwd.is_dir():
        raise _bad(file, "cwd", "an existing folder (relative to the TOML file)", str(cwd))
    for key, kind in (("family", str), ("description", str), ("deterministic", bool)):
        if key in doc and not isinstance(doc[key], kind):
            raise _bad(file, key, f"a {kind.__name__}", doc[key])
    version = doc["version"]
    if isinstance(version, bool) or not isinstance(version, (str, int)):
        raise _bad(file, "version", "a string", version)
    probe = type(
        "_Probe",
        (),
        {
            "name": doc["name"],
            "family": doc.get("family", "external"),
            "version": str(version),
            "problems": doc["problems"],
            "params": tuple(params),
            "requires": (),
            "deterministic": doc.get("deterministic", True),
            "description": doc.get("description", ""),
            "__doc__": None,
        },
    )
    decl = check_declarations(probe, f"{file} (command solver)")
    return CommandConfig(
        path=p.resolve(),
        name=decl["name"],
        family=decl["family"],
        version=decl["version"],
        description=decl["description"] or f"command: {' '.join(command)}",
        problems=decl["problems"],
        command=tuple(command),
        params=decl["params"],
        deterministic=decl["deterministic"],
        cwd=cwd,
        shell_args=shell_args,
    )


def _load_param(file: str, where: str, rp: Any) -> Param:
    """One ``[[params]]`` table checked and converted (default and choices of the declared type)."""
    if not isinstance(rp, dict):
        raise _bad(file, where, "a table", rp)
    for key in rp:
        if key not in _PARAM_FIELDS:
            raise _bad(file, f"{where}.{key}", f"one of the fields {sorted(_PARAM_FIELDS)}", f"unknown field {key!r}")
    for key in ("name", "type", "default"):
        if key not in rp:
            raise _bad(file, f"{where}.{key}", "a value (required field)", "nothing")
    if not isinstance(rp["name"], str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", rp["name"]):
        raise _bad(file, f"{where}.name", "a parameter name ([A-Za-z_][A-Za-z0-9_-]*)", rp["name"])
    kind = _KINDS.get(rp["type"]) if isinstance(rp["type"], str) else None
    if kind is None:
        raise _bad(file, f"{where}.type", f"one of {sorted(_KINDS)}", rp["type"])
    choices = rp.get("choices", [])
    if not isinstance(choices, list):
        raise _bad(file, f"{where}.choices", "an array", choices)
    for key in ("minimum", "maximum"):
        if key in rp and (isinstance(rp[key], bool) or not isinstance(rp[key], (int, float))):
            raise _bad(file, f"{where}.{key}", "a number", rp[key])
    if not isinstance(rp.get("help", ""), str):
        raise _bad(file, f"{where}.help", "a string", rp.get("help"))
    prm = Param(
        rp["name"], kind, rp["default"], rp.get("help", ""), tuple(choices), rp.get("minimum"), rp.get("maximum")
    )
    try:
        return Param(
            prm.name,
            kind,
            prm.convert(rp["default"]),
            prm.help,
            tuple(prm.convert(c) for c in choices),
            prm.minimum,
            prm.maximum,
        )
    except ValueError as exc:
        raise _bad(file, f"{where}.default", f"a valid {rp['type']} value", f"{rp['default']!r} ({exc})") from None


def _check_command(file: str, command: list[str], names: set[str]) -> tuple[int, ...]:
    """Check the placeholders of ``command`` (``names``: the declared parameters); return the
    indices of its shell scripts (``sh -c SCRIPT``)."""
    for i, arg in enumerate(command):
        try:
            keys = _placeholders(arg)
        except ValueError as exc:
            raise _bad(file, f"command[{i}]", "placeholders {instance}, {solution}, ...", f"{arg!r}: {exc}") from None
        for key in keys:
            if key.startswith("param:"):
                if key[6:] not in names:
                    raise _bad(
                        file, f"command[{i}]", f"{{param:NAME}} of a declared parameter {sorted(names)}", f"{{{key}}}"
                    )
            elif key not in _SIMPLE:
                raise _bad(
                    file,
                    f"command[{i}]",
                    "placeholders among {" + "}, {".join(_SIMPLE) + "}, {param:NAME}",
                    f"{{{key}}}",
                )
    shell_args = tuple(i for i in range(2, len(command)) if Path(command[0]).name in SHELLS and command[i - 1] == "-c")
    for i in shell_args:
        inside = _quoted_placeholder(command[i])
        if inside is not None:
            raise _bad(
                file,
                f"command[{i}]",
                "placeholders outside quotes in a shell script (schedbench quotes their values itself)",
                f"{{{inside}}} inside quotes",
            )
    joined = " ".join(command)
    for needed in ("{instance}", "{solution}"):
        if needed not in joined:
            raise _bad(file, "command", f"an argument with the placeholder {needed}", command)
    return shell_args


def _quoted_placeholder(script: str) -> str | None:
    """The first placeholder written inside single or double quotes of a shell script, or None."""
    quote: str | None = None
    i = 0
    while i < len(script):
        ch = script[i]
        if ch == "\\" and quote != "'":
            i += 2
            continue
        if quote is None and ch in "'\"":
            quote = ch
        elif quote is not None and ch == quote:
            quote = None
        elif ch == "{" and script.startswith("{{", i):
            i += 2
            continue
        elif ch == "{" and quote is not None:
            m = _PLACEHOLDER.match(script, i)
            if m is not None and m.group(1) is not None:
                return m.group(1)
        i += 1
    return None


class CommandSolver(Solver):
    """Base of the classes made from command-solver TOML files (see the module docstring)."""

    config: ClassVar[CommandConfig]

    def solve(self, instance: Any, context: Context) -> SolveResult:
        """Run the program on the instance (see the module docstring) and read its solution file."""
        from schedbench import jsonio
        from schedbench.instances import save
        from schedbench.instances.problems import PROBLEM_CLASSES

        cfg = self.config
        with tempfile.TemporaryDirectory(prefix="schedbench-cmd-", ignore_cleanup_errors=True) as tmp:
            given = getattr(context, "instance_path", None)
            if given and Path(given).is_file():
                inst_path = str(Path(given).resolve())
            else:
                inst_path = str(Path(tmp) / "instance.json")
                save(instance, inst_path)
            sol_path = Path(tmp) / "solution.json"
            remaining = context.remaining()
            argv = cfg.argv(
                instance=inst_path,
                solution=str(sol_path),
                time_limit=max(0.0, remaining),
                seed=context.seed,
                threads=context.threads,
                params=context.params,
            )
            code, err = _run(argv, cfg.cwd, max(0.1, remaining))
            if code is None:
                raise CommandSolverError(
                    f"command {cfg.name!r} did not finish within {remaining:.3g} s (killed); stderr:\n{err}"
                )
            if code != 0:
                limited = resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY
                if _OOM.search(err) or (limited and code == -signal.SIGKILL):
                    raise MemoryError(f"command {cfg.name!r} ran out of memory (exit status {code}); stderr:\n{err}")
                raise CommandSolverError(
                    f"command {cfg.name!r} exited with status {code}: {' '.join(argv)}\nstderr:\n{err or '(empty)'}"
                )
            if not sol_path.exists():
                raise CommandSolverError(f"command {cfg.name!r} exited 0 but wrote no solution file at {{solution}}")
            doc = jsonio.load(sol_path, duplicates="record")
        if not isinstance(doc, dict):
            raise CommandSolverError(f"command {cfg.name!r} wrote a solution that is not a JSON object")
        status = doc.get("status")
        if status not in SOLVER_STATUSES:
            status = "feasible"
        bound = doc.get("bound")
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            bound = None
        solution: dict[str, Any] | None = doc
        body_key = PROBLEM_CLASSES[instance.problem.cls].body_key
        if body_key not in doc and status in ("infeasible", "unbounded", "unknown"):
            solution = None
        return SolveResult(
            solution, status, None if bound is None else float(bound), info={"command": cfg.name, "returncode": code}
        )


class _HeadTail:
    """The first and last ``cap`` bytes of a stream (and how many were dropped between)."""

    def __init__(self, cap: int = STDERR_TAIL) -> None:
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk[-self.cap :]
            del self.tail[: -self.cap]

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        gap = f"\n[... {dropped} bytes dropped ...]\n" if dropped > 0 else ""
        return bytes(self.head).decode("utf-8", "replace") + gap + bytes(self.tail).decode("utf-8", "replace")


def _forward(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):  # our own output closed: the program's output is dropped
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]


def _run(argv: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Run a command until it exits or ``timeout`` seconds pass; returns (exit status, negative
    for a signal, or None when it was killed at the timeout; its stderr's head and tail).

    The program runs in a process group of its own, killed as soon as the program exits (or at
    the timeout), so that children it left holding its output neither outlive it nor hold the
    run. Its stdout and stderr are forwarded chunk by chunk to this process's fds 1 and 2 (in the
    harness, the supervisor's bounded log); nothing is accumulated beyond the stderr head/tail.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, process_group=0
        )
    except OSError as exc:
        raise CommandSolverError(f"cannot start {argv[0]!r}: {exc}") from None
    assert proc.stdout is not None and proc.stderr is not None
    err = _HeadTail()
    streams = {proc.stdout.fileno(): 1, proc.stderr.fileno(): 2}
    sel = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    try:
        code = _pump(proc, sel, streams, err, time.monotonic() + timeout)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the program (at the timeout) and whatever it left
        sel.close()
        proc.stdout.close()
        proc.stderr.close()
        with contextlib.suppress(Exception):
            proc.wait(5)
    return code, err.text()


def _pump(
    proc: subprocess.Popen, sel: selectors.BaseSelector, streams: dict[int, int], err: _HeadTail, deadline: float
) -> int | None:
    """Forward the program's output (fd -> our fd in ``streams``) until it exits or the deadline
    passes; return its exit status (None at the deadline)."""

    def drain(fd: int) -> int:
        """Forward one chunk: 1 when read, 0 at end of file, -1 when nothing is there now."""
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return -1
        if not chunk:
            return 0
        _forward(streams[fd], chunk)
        if streams[fd] == 2:
            err.feed(chunk)
        return 1

    code: int | None = None
    while True:
        code = proc.poll()
        if code is not None:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if not sel.get_map():  # both streams closed: wait for the exit
            time.sleep(min(left, 0.05))
            continue
        for key, _ in sel.select(min(left, 0.05)):
            if drain(key.fd) == 0:
                sel.unregister(key.fd)
    for key in list(sel.get_map().values()):  # what the program wrote before it exited
        for _ in range(64):  # bounded: a child it left may keep writing
            if drain(key.fd) != 1:
                break
    return code


_CLASSES: dict[tuple[Path, str, int], type[CommandSolver]] = {}


def _class_for(cfg: CommandConfig) -> type[CommandSolver]:
    key = (cfg.path, cfg.name, hash((cfg.command, cfg.version, cfg.cwd)))
    cls = _CLASSES.get(key)
    if cls is None:
        attrs = {
            "name": cfg.name,
            "family": cfg.family,
            "version": cfg.version,
            "problems": dict(cfg.problems),
            "params": cfg.params,
            "deterministic": cfg.deterministic,
            "description": cfg.description,
            "requires": (),
            "config": cfg,
            "__module__": __name__,
            "__doc__": f"Command solver {cfg.name!r} from {cfg.path}.",
        }
        cls = type(f"CommandSolver_{re.sub(r'[^0-9a-zA-Z]', '_', cfg.name)}", (CommandSolver,), attrs)
        _CLASSES[key] = cls
    return cls
