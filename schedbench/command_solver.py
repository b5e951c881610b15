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
:class:`CommandSolverError` with the tail of the program's stderr. The program's output is passed
on to the worker's stdout/stderr (bounded).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from schedbench.solver import SOLVER_STATUSES, Context, Param, Solver, SolveResult

__all__ = ["CommandConfig", "CommandSolver", "CommandSolverError", "load_config"]

_KINDS: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}
_FIELDS = {"name", "family", "version", "description", "problems", "command", "params", "deterministic", "cwd"}
_PARAM_FIELDS = {"name", "type", "default", "help", "choices", "minimum", "maximum"}
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_SIMPLE = ("instance", "solution", "time_limit", "seed", "threads", "python")
#: Characters of the program's output kept in an error message / passed on to the worker's streams.
STDERR_TAIL = 4000
OUTPUT_TAIL = 20000


class CommandSolverError(RuntimeError):
    """The program failed (non-zero exit, no solution file, unreadable solution, timeout)."""


def _bad(file: str, where: str, expected: str, found: Any) -> Exception:
    from schedbench.registry import RegistryError

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

    @property
    def origin(self) -> str:
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

    def entry(self) -> Any:
        """The registry entry (unavailable when the program is not found)."""
        from schedbench.registry import SolverEntry

        problem = self.program_problem()
        cls = self.solver_class()
        return SolverEntry(name=self.name, family=self.family, version=self.version, problems=dict(self.problems),
                           params=self.params, deterministic=self.deterministic, description=self.description,
                           origin=self.origin, available=problem is None, reason=problem, _loader=lambda: cls)

    def argv(self, *, instance: str, solution: str, time_limit: float, seed: int, threads: int,
             params: dict[str, Any]) -> list[str]:
        """The command with its placeholders filled in."""
        values = {"instance": instance, "solution": solution, "time_limit": _fmt(float(time_limit)),
                  "seed": str(int(seed)), "threads": str(int(threads)), "python": sys.executable}

        def sub(m: re.Match) -> str:
            tok = m.group(0)
            if tok in ("{{", "}}"):
                return tok[0]
            key = m.group(1)
            if key.startswith("param:"):
                return _fmt(params[key[6:]])
            return values[key]

        return [_PLACEHOLDER.sub(sub, a) for a in self.command]


def load_config(path: str | Path) -> CommandConfig:
    """Read and check a command-solver TOML file.

    Raises:
        RegistryError: unreadable or invalid TOML, an unknown or missing field, a bad value, an
            unknown placeholder (the message names the file and the field).
    """
    from schedbench.registry import check_declarations

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
    params: list[Param] = []
    raw_params = doc.get("params", [])
    if not isinstance(raw_params, list):
        raise _bad(file, "params", "an array of tables ([[params]])", raw_params)
    for i, rp in enumerate(raw_params):
        where = f"params[{i}]"
        if not isinstance(rp, dict):
            raise _bad(file, where, "a table", rp)
        for key in rp:
            if key not in _PARAM_FIELDS:
                raise _bad(file, f"{where}.{key}", f"one of the fields {sorted(_PARAM_FIELDS)}",
                           f"unknown field {key!r}")
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
        prm = Param(rp["name"], kind, rp["default"], rp.get("help", ""), tuple(choices), rp.get("minimum"),
                    rp.get("maximum"))
        try:
            prm = Param(prm.name, kind, prm.convert(rp["default"]), prm.help, tuple(prm.convert(c) for c in choices),
                        prm.minimum, prm.maximum)
        except ValueError as exc:
            raise _bad(file, f"{where}.default", f"a valid {rp['type']} value", f"{rp['default']!r} ({exc})") from None
        params.append(prm)
    names = {prm.name for prm in params}
    for i, arg in enumerate(command):
        try:
            keys = _placeholders(arg)
        except ValueError as exc:
            raise _bad(file, f"command[{i}]", "placeholders {instance}, {solution}, ...", f"{arg!r}: {exc}") from None
        for key in keys:
            if key.startswith("param:"):
                if key[6:] not in names:
                    raise _bad(file, f"command[{i}]", f"{{param:NAME}} of a declared parameter {sorted(names)}",
                               f"{{{key}}}")
            elif key not in _SIMPLE:
                raise _bad(file, f"command[{i}]", "placeholders among {" + "}, {".join(_SIMPLE) + "}, {param:NAME}",
                           f"{{{key}}}")
    joined = " ".join(command)
    for needed in ("{instance}", "{solution}"):
        if needed not in joined:
            raise _bad(file, "command", f"an argument with the placeholder {needed}", command)
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
    probe = type("_Probe", (), {
        "name": doc["name"], "family": doc.get("family", "external"), "version": str(version),
        "problems": doc["problems"], "params": tuple(params), "requires": (),
        "deterministic": doc.get("deterministic", True), "description": doc.get("description", ""),
        "__doc__": None})
    decl = check_declarations(probe, f"{file} (command solver)")
    return CommandConfig(path=p.resolve(), name=decl["name"], family=decl["family"], version=decl["version"],
                         description=decl["description"] or f"command: {' '.join(command)}",
                         problems=decl["problems"], command=tuple(command), params=decl["params"],
                         deterministic=decl["deterministic"], cwd=cwd)


class CommandSolver(Solver):
    """Base of the classes made from command-solver TOML files (see the module docstring)."""

    config: ClassVar[CommandConfig]

    def solve(self, instance: Any, context: Context) -> SolveResult:
        from schedbench import jsonio
        from schedbench.instances import save
        from schedbench.validator.common import BODY_KEY

        cfg = self.config
        with tempfile.TemporaryDirectory(prefix="schedbench-cmd-") as tmp:
            given = getattr(context, "instance_path", None)
            if given and Path(given).is_file():
                inst_path = str(Path(given).resolve())
            else:
                inst_path = str(Path(tmp) / "instance.json")
                save(instance, inst_path)
            sol_path = Path(tmp) / "solution.json"
            remaining = context.remaining()
            argv = cfg.argv(instance=inst_path, solution=str(sol_path), time_limit=max(0.0, remaining),
                            seed=context.seed, threads=context.threads, params=context.params)
            code, out, err = _run(argv, cfg.cwd, max(0.1, remaining))
            _pass_on(out, sys.stdout)
            _pass_on(err, sys.stderr)
            if code is None:
                raise CommandSolverError(f"command {cfg.name!r} did not finish within {remaining:.3g} s "
                                         f"(killed); stderr tail:\n{err[-STDERR_TAIL:]}")
            if code != 0:
                raise CommandSolverError(f"command {cfg.name!r} exited with status {code}: {' '.join(argv)}\n"
                                         f"stderr tail:\n{err[-STDERR_TAIL:] or '(empty)'}")
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
        if BODY_KEY.get(instance.problem.cls) not in doc and status in ("infeasible", "unbounded", "unknown"):
            solution = None
        return SolveResult(solution, status, None if bound is None else float(bound),
                           info={"command": cfg.name, "returncode": code})


def _run(argv: list[str], cwd: Path, timeout: float) -> tuple[int | None, str, str]:
    """Run a command; kill it on timeout (returns code None).

    The program stays in the caller's process group, so the harness's kill of a run's process
    group at its hard limit takes the program and anything it started down too.
    """
    try:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except OSError as exc:
        raise CommandSolverError(f"cannot start {argv[0]!r}: {exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        try:  # children of the program may still hold the pipes open
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            out, err = b"", b"(output unavailable: the program's children kept running)"
        code = None
    except BaseException:  # e.g. KeyboardInterrupt: take the program down too
        proc.kill()
        raise
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _pass_on(text: str, stream: Any) -> None:
    if text:
        stream.write(text[-OUTPUT_TAIL:])
        stream.flush()


_CLASSES: dict[tuple[Path, str, int], type[CommandSolver]] = {}


def _class_for(cfg: CommandConfig) -> type[CommandSolver]:
    key = (cfg.path, cfg.name, hash((cfg.command, cfg.version, cfg.cwd)))
    cls = _CLASSES.get(key)
    if cls is None:
        attrs = {"name": cfg.name, "family": cfg.family, "version": cfg.version, "problems": dict(cfg.problems),
                 "params": cfg.params, "deterministic": cfg.deterministic, "description": cfg.description,
                 "requires": (), "config": cfg, "__module__": __name__,
                 "__doc__": f"Command solver {cfg.name!r} from {cfg.path}."}
        cls = type(f"CommandSolver_{re.sub(r'[^0-9a-zA-Z]', '_', cfg.name)}", (CommandSolver,), attrs)
        _CLASSES[key] = cls
    return cls
