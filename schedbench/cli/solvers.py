"""``schedbench solvers``: list the registered solver plugins and run the plugin contract tests.

``schedbench solvers list [--json] [--solvers-dir PATH]`` prints every solver with its family,
version, classes and objectives, availability (or the reason it is unavailable) and origin.

``schedbench solvers test NAME [--solvers-dir PATH] [--time-limit S] [--param key=value]`` runs the
contract tests a plugin author runs before publishing:

1. ``declaration``: the class loads and declares a valid name, family, version, problems and
   params (defaults valid), and can be instantiated;
2. ``answer``: it answers every smoke instance (``instances/smoke/*.json``; from a wheel install,
   the smoke suite is generated) of each class it declares, each run through the harness
   (:func:`schedbench.runner.execute.execute`: isolated process, hard limits, the validator), and
   every answer is feasible. An instance whose objective the solver does not declare is re-targeted
   to the first objective it declares for that class (same jobs and cluster); a re-targeted
   instance may be infeasible under its new objective (a max-weight instance whose jobs do not all
   fit, as min-cost), so there an honest ``unknown`` or ``infeasible`` without an answer passes too.
   A run the solver declines through ``Solver.unsupported_reason`` (gang jobs, release times a
   formulation does not model) passes as *declined*, with the reason shown, provided at least one
   smoke instance is answered;
3. ``time-limit``: every run took at most the time limit + 1 s;
4. ``determinism`` (solvers declaring ``deterministic``): a second run with the same seed gives the
   identical solution.

Exit status: 0 when every check passes, 1 when one fails, 2 on bad input (unknown solver, registry
error). Mount with ``app.add_typer(solvers_cli.app, name="solvers")``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from schedbench.cli.console import guard
from schedbench.errors import InputError

app = typer.Typer(help="Solver plugins: list them, run the plugin contract tests.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120, soft_wrap=True)
err = Console(stderr=True, highlight=False)

#: Seconds a run may exceed its time limit in the ``time-limit`` check.
TIME_SLACK_S = 1.0
#: The committed smoke instances of a checkout (absent from a wheel install).
SMOKE_DIR = Path(__file__).resolve().parents[1] / "instances" / "smoke"

#: A copy of ``instances/smoke.toml``, used where the manifest is not installed (a wheel install);
#: tests/test_registry.py checks that it matches the manifest.
SMOKE_MANIFEST = '''\
description = "All four classes on a 8-GPU cluster, a few jobs each (embedded copy of instances/smoke.toml)."

[[generate]]
id = "placement-cost"
class = "placement"
seeds = [0, 1]
params = { jobs = 12, cluster = "tiny", objective = "min-cost" }

[[generate]]
id = "placement-gpus"
class = "placement"
seeds = [0]
params = { jobs = 12, cluster = "tiny", objective = "min-gpus" }

[[generate]]
id = "placement-weight"
class = "placement"
seeds = [0]
params = { jobs = 12, cluster = "tiny", objective = "max-weight", weights = { "1" = 2, "2" = 1, "4" = 1 } }

[[generate]]
id = "batch-makespan"
class = "batch"
seeds = [0, 1]
params = { jobs = 10, cluster = "tiny" }

[[generate]]
id = "batch-wct"
class = "batch"
seeds = [0]
params = { jobs = 10, cluster = "tiny", objective = "weighted-completion", arrival_load = 0.9, weights = { "1" = 1, "2" = 1, "4" = 1 } }

[[generate]]
id = "batch-tardiness"
class = "batch"
seeds = [0]
params = { jobs = 10, cluster = "tiny", objective = "weighted-tardiness", deadline_slack = [1.2, 3.0] }

[[generate]]
id = "allocation-mmf"
class = "allocation"
seeds = [0, 1]
params = { jobs = 8, cluster = "tiny" }

[[generate]]
id = "online-jct"
class = "online"
seeds = [0, 1]
params = { jobs = 20, cluster = "tiny", load = 0.8, deadline_slack = [1.5, 4.0] }
'''  # noqa: E501


class _UsageError(Exception):
    pass


def _guard(fn: Callable[[], int | None]) -> None:
    """Run a command body; bad input (files, registry, usage) becomes one line on stderr and exit 2."""
    from schedbench.plugins.registry import RegistryError

    guard(fn, err, (InputError, RegistryError, _UsageError, KeyError))


_SOLVERS_DIR = typer.Option("--solvers-dir", help="Extra plugin folder (*.py plugins, *.toml command solvers) or "
                            "file; repeatable.")


def _dirs(solvers_dir: list[Path] | None) -> tuple[str, ...]:
    return tuple(str(Path(d).resolve()) for d in solvers_dir or ())


def _param_doc(p: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": p.name, "type": p.kind.__name__, "default": p.default, "help": p.help}
    if p.choices:
        doc["choices"] = list(p.choices)
    if p.minimum is not None:
        doc["minimum"] = p.minimum
    if p.maximum is not None:
        doc["maximum"] = p.maximum
    return doc


def entry_doc(entry: Any) -> dict[str, Any]:
    """A registry entry as JSON-ready data."""
    return {"name": entry.name, "family": entry.family, "version": entry.version,
            "problems": {c: list(o) for c, o in entry.problems.items()},
            "params": [_param_doc(p) for p in entry.params], "deterministic": entry.deterministic,
            "description": entry.description, "available": entry.available, "reason": entry.reason,
            "origin": entry.origin}


@app.command("list")
def list_solvers(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    solvers_dir: Annotated[list[Path] | None, _SOLVERS_DIR] = None,
) -> None:
    """List the registered solvers: family, version, classes/objectives, availability, origin."""

    def body() -> int:
        from schedbench.plugins.registry import get_registry

        entries = get_registry(_dirs(solvers_dir)).entries()
        if as_json:
            sys.stdout.write(json.dumps([entry_doc(e) for e in entries], indent=2, sort_keys=True) + "\n")
            return 0
        table = Table(title="solvers")
        for col in ("name", "family", "version", "classes / objectives", "available", "origin"):
            table.add_column(col, overflow="fold")
        for e in entries:
            status = "[green]yes[/]" if e.available else f"[red]no[/]: {e.reason}"
            table.add_row(e.name, e.family, e.version, e.problems_text().replace("; ", "\n"), status, e.origin)
        out.print(table)
        return 0

    _guard(body)


# --------------------------------------------------------------------------- contract tests
@dataclass
class Check:
    """One contract check's outcome."""

    check: str
    subject: str
    ok: bool
    detail: str = ""


def smoke_instances(workdir: Path) -> tuple[list[Path], str]:
    """The smoke instances' files and where they came from: the checkout's ``instances/smoke/``,
    else the smoke suite built into ``workdir`` from its manifest (the installed one, else the
    embedded copy :data:`SMOKE_MANIFEST`)."""
    from schedbench import suites

    folder = SMOKE_DIR
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if files:
        return files, str(folder)
    manifest_dir = suites.DEFAULT_DIR
    where = f"suite manifest {manifest_dir / 'smoke.toml'}"
    if not (manifest_dir / "smoke.toml").is_file():
        manifest_dir = workdir / "manifest"
        manifest_dir.mkdir(parents=True, exist_ok=True)
        (manifest_dir / "smoke.toml").write_text(SMOKE_MANIFEST, encoding="utf-8")
        where = "the embedded smoke suite manifest"
    suite = suites.load_suite("smoke", manifest_dir)
    report = suites.build(suite, workdir / "smoke", check_lock=False)
    return sorted(report.written), f"generated from {where}"


def _has_fields(inst: Any, requires: tuple[str, ...]) -> bool:
    jobs = inst.jobs
    return all(any(getattr(jobs, f) is not None for f in req.split("|")) for req in requires)


def _retarget(inst: Any, problems: dict[str, tuple[str, ...]]) -> Any | None:
    """The instance with an objective the solver declares (itself when it already has one), or None."""
    from schedbench.instances.model import Problem
    from schedbench.instances.problems import PROBLEM_CLASSES

    cls, objective = inst.problem.cls, inst.problem.objective
    declared = problems.get(cls, ())
    if objective in declared:
        return inst
    spec = PROBLEM_CLASSES[cls]
    for obj in declared:
        o = spec.objective(obj)
        if o is not None and _has_fields(inst, o.requires):
            meta = dict(inst.metadata)
            meta["name"] = f"{inst.name}@{obj}"
            meta.pop("known", None)  # known values belong to the original objective
            return dataclasses.replace(inst, problem=Problem(cls, obj, dict(inst.problem.params)), metadata=meta)
    return None


def _canonical(solution: Any) -> bytes | None:
    from schedbench import jsonio

    return None if solution is None else jsonio.dumps_canonical(solution)


def contract_checks(name: str, dirs: tuple[str, ...], time_limit: float, params: dict[str, Any],
                    progress: Callable[[Check], None] | None = None) -> list[Check]:
    """Run the contract tests of solver ``name`` (see the module docstring).

    Raises:
        KeyError: unknown solver. RegistryError: the registry cannot be built.
    """
    from schedbench.instances import content_hash, load, save
    from schedbench.plugins.registry import check_declarations, get_registry
    from schedbench.runner.execute import Executor, execute
    from schedbench.runs import RunTask

    checks: list[Check] = []

    def add(c: Check) -> None:
        checks.append(c)
        if progress is not None:
            progress(c)

    entry = get_registry(dirs).get(name)
    if not entry.available:
        add(Check("declaration", name, False, f"unavailable: {entry.reason}"))
        return checks
    try:
        cls = entry.load()
        decl = check_declarations(cls, entry.origin)
        problems = decl["problems"]
        if decl["name"] != entry.name:
            raise ValueError(f"the class declares name {decl['name']!r}, registered as {entry.name!r}")
        resolved = cls.resolve_params(params)
        cls()
    except Exception as exc:
        add(Check("declaration", name, False, f"{type(exc).__name__}: {exc}"))
        return checks
    n_obj = sum(len(o) for o in problems.values())
    add(Check("declaration", name, True, f"{decl['family']} v{decl['version']}, {len(problems)} class(es), "
              f"{n_obj} objective(s), {len(decl['params'])} param(s), "
              f"{'deterministic' if decl['deterministic'] else 'not deterministic'}"))
    with tempfile.TemporaryDirectory(prefix="schedbench-contract-") as tmp:
        files, source = smoke_instances(Path(tmp))
        tasks: list[RunTask] = []
        retargeted: set[str] = set()  # names of the instances given a declared objective
        for f in files:
            inst = load(f)
            if inst.problem.cls not in problems:
                continue
            target = _retarget(inst, problems)
            if target is None:
                add(Check("answer", inst.name, False, f"no declared {inst.problem.cls} objective can be set on this "
                          "instance (fields missing)"))
                continue
            path = f
            if target is not inst:
                retargeted.add(target.name)
                path = Path(tmp) / "retargeted" / f"{target.name}.json"
                path.parent.mkdir(exist_ok=True)
                save(target, path)
            tasks.append(RunTask(instance_path=str(path), instance_hash=content_hash(target),
                                 instance_name=target.name, solver=entry.name, solver_version=entry.version,
                                 params=resolved, seed=0, time_limit=time_limit, solvers_dirs=dirs))
        if not tasks and not any(c.check == "answer" for c in checks):
            add(Check("answer", "-", False, f"no smoke instance of the declared classes {sorted(problems)} "
                      f"({source})"))
            return checks
        walls: list[tuple[str, float]] = []
        with Executor() as ex:
            first: dict[str, bytes | None] = {}
            answered = started = 0
            for task in tasks:
                rec = execute(task, executor=ex)
                started += rec.status != "unsupported"
                ok = rec.status in ("optimal", "feasible") and rec.feasible is True
                answered += ok
                excused = rec.status == "unsupported" or (
                    task.instance_name in retargeted and rec.status in ("unknown", "infeasible"))
                obj = "-" if rec.objective is None else f"{rec.objective:.6g}"
                detail = f"{rec.status}, {rec.objective_name} = {obj}"
                if rec.wall_s is not None:
                    detail += f", {rec.wall_s:.2f} s"
                    walls.append((task.instance_name, rec.wall_s))
                if excused and not ok:
                    what = "declined" if rec.status == "unsupported" else "no answer on a re-targeted instance"
                    add(Check("answer", task.instance_name, True, f"{what}: {(rec.reason or '').strip()[:300]}"))
                    continue
                if rec.reason and not ok:
                    detail += f": {rec.reason.strip().splitlines()[-1][:300]}"
                add(Check("answer", task.instance_name, ok, detail))
                first[task.instance_name] = _canonical(rec.solution) if ok else None
            if not answered:
                add(Check("answer", "-", False, "no smoke instance was answered (every run declined or failed)"))
            slow = [(n, w) for n, w in walls if w > time_limit + TIME_SLACK_S]
            longest = max((w for _, w in walls), default=0.0)
            add(Check("time-limit", f"{len(walls)} run(s)", not slow and len(walls) >= started,
                      f"longest {longest:.2f} s (limit {time_limit:g} s + {TIME_SLACK_S:g} s)"
                      + (f"; over: {', '.join(f'{n} ({w:.2f} s)' for n, w in slow)}" if slow else "")
                      + ("" if len(walls) >= started else "; some runs have no time measured")))
            if decl["deterministic"]:
                for task in tasks:
                    if task.instance_name not in first:
                        continue  # declined or excused above
                    before = first.get(task.instance_name)
                    if before is None:
                        add(Check("determinism", task.instance_name, False, "skipped: the first run gave no "
                                  "feasible answer"))
                        continue
                    rec = execute(task, executor=ex)
                    same = _canonical(rec.solution) == before
                    add(Check("determinism", task.instance_name, same, "identical solution with the same seed"
                              if same else f"a second run with the same seed differs ({rec.status})"))
    return checks


def _parse_params(items: list[str] | None) -> dict[str, Any]:
    from schedbench.generators.spec import parse_cli_value

    params: dict[str, Any] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise _UsageError(f"--param expects key=value, got {item!r}")
        params[key] = parse_cli_value(value)
    return params


@app.command("test")
def test_solver(
    name: Annotated[str, typer.Argument(help="Registry name of the solver.")],
    solvers_dir: Annotated[list[Path] | None, _SOLVERS_DIR] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per run.")] = 10.0,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value solver parameter "
                                                    "(repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Contract tests of a solver plugin on the smoke instances (exit 0 all pass, 1 a failure, 2 bad input)."""

    def body() -> int:
        if not time_limit > 0:
            raise _UsageError("--time-limit must be a positive number of seconds")
        params = _parse_params(param)
        from schedbench.plugins.registry import get_registry

        entry = get_registry(_dirs(solvers_dir)).get(name)
        if entry.available:
            try:
                entry.load().resolve_params(params)
            except ValueError as exc:
                raise _UsageError(str(exc)) from None

        def progress(c: Check) -> None:
            if not as_json and err.is_terminal:
                err.print(f"  {'pass' if c.ok else 'FAIL'} {c.check} {c.subject}", markup=False)

        checks = contract_checks(name, _dirs(solvers_dir), time_limit, params, progress)
        passed = all(c.ok for c in checks)
        if as_json:
            sys.stdout.write(json.dumps({"solver": name, "passed": passed,
                                         "checks": [dataclasses.asdict(c) for c in checks]}, indent=2) + "\n")
        else:
            table = Table(title=f"contract tests of {name}")
            for col in ("check", "subject", "result", "detail"):
                table.add_column(col, overflow="fold")
            for c in checks:
                table.add_row(c.check, c.subject, "[green]pass[/]" if c.ok else "[red]FAIL[/]", c.detail)
            out.print(table)
            failed = sum(not c.ok for c in checks)
            out.print(f"{name}: all {len(checks)} checks passed" if passed else
                      f"{name}: {failed} of {len(checks)} checks failed")
        return 0 if passed else 1

    _guard(body)
