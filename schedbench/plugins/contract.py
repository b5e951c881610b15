"""The plugin contract tests: what ``schedbench solvers test NAME`` and ``tests/test_contract.py`` check.

:func:`contract_checks` runs them for one registered solver and returns one :class:`Check` per
verdict:

1. ``declaration``: the class loads and declares a valid name, family, version, problems and
   params (defaults valid, the given parameters accepted), and can be instantiated;
2. ``answer``: it answers the smoke instances (:func:`smoke_instances`) of each class it declares,
   each run through the harness (the ``runner`` given, an isolated worker with hard limits; the
   validator grades), and every answer is feasible. An instance whose objective the solver
   does not declare is re-targeted to the first objective it declares for that class (same jobs
   and cluster; ``objective=`` picks one instead); a re-targeted instance may be infeasible under
   its new objective (a max-weight instance whose jobs do not all fit, as min-cost), so there an
   honest ``unknown`` or ``infeasible`` without an answer passes too. A run the solver declines
   through ``Solver.unsupported_reason`` (gang jobs, release times a formulation does not model)
   passes as *declined*, with the reason shown, provided at least one instance is answered;
3. ``time-limit``: every run took at most the time limit + :data:`TIME_SLACK_S`;
4. ``determinism`` (solvers declaring ``deterministic``): a second run with the same seed gives
   the identical solution.

Nothing here prints or exits: the CLI (:mod:`schedbench.cli.solvers`) renders the checks.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from schedbench.instances.model import Instance

if TYPE_CHECKING:
    from schedbench.runs import RunRecord, RunTask

__all__ = ["TIME_SLACK_S", "Check", "Runner", "contract_checks", "retarget", "smoke_instances"]

#: Seconds a run may exceed its time limit in the ``time-limit`` check.
TIME_SLACK_S = 1.0


class Runner(Protocol):
    """What runs the contract tests' tasks: the harness's isolated worker
    (:class:`schedbench.runner.execute.Executor`), which the plugin layer does not import."""

    def execute(self, task: RunTask) -> RunRecord:
        """Run ``task`` in isolation under its limits and grade it with the validator."""
        ...


@dataclass
class Check:
    """One contract check's outcome: which check, on what (an instance, a solver), passed or not, why."""

    check: str
    subject: str
    ok: bool
    detail: str = ""


def smoke_instances() -> tuple[list[Path], str]:
    """The smoke instances' files and their folder: the bundled ``smoke/`` beside the suite manifests
    (``instances/smoke/`` in the source tree, shipped in the wheel), never a local override.

    Raises:
        InputError: the folder holds no instance (a broken install).
    """
    from schedbench.errors import InputError
    from schedbench.suites import bundled_dir

    folder = bundled_dir() / "smoke"
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InputError(str(folder), "$", "the bundled smoke instances", "no *.json file")
    return files, str(folder)


def _has_fields(inst: Instance, requires: tuple[str, ...]) -> bool:
    """Whether the instance's jobs carry the fields an objective requires (``a|b``: either)."""
    jobs = inst.jobs
    return all(any(getattr(jobs, f) is not None for f in req.split("|")) for req in requires)


def retarget(inst: Instance, objectives: Sequence[str]) -> Instance | None:
    """The instance itself when its objective is among ``objectives``, else a copy with the first of
    them its jobs can carry (same jobs and cluster), renamed ``NAME@OBJECTIVE`` and with its known
    values dropped (they belong to the original objective); None when none fits."""
    from schedbench.instances.model import Problem
    from schedbench.instances.problems import PROBLEM_CLASSES

    cls = inst.problem.cls
    if inst.problem.objective in objectives:
        return inst
    spec = PROBLEM_CLASSES[cls]
    for obj in objectives:
        o = spec.objective(obj)
        if o is not None and _has_fields(inst, o.requires):
            meta = dict(inst.metadata)
            meta["name"] = f"{inst.name}@{obj}"
            meta.pop("known", None)
            return dataclasses.replace(inst, problem=Problem(cls, obj, dict(inst.problem.params)), metadata=meta)
    return None


def _canonical(solution: Any) -> bytes | None:
    from schedbench import jsonio

    return None if solution is None else jsonio.dumps_canonical(solution)


@dataclass
class _Plan:
    """The runs of a contract test: the tasks, the names of the re-targeted instances, where the instances came from."""

    tasks: list[RunTask]
    retargeted: set[str]
    source: str


def _plan(
    entry: Any,
    problems: Mapping[str, tuple[str, ...]],
    resolved: dict[str, Any],
    dirs: tuple[str, ...],
    time_limit: float,
    tmp: Path,
    objective: tuple[str, str] | None,
    instances: Sequence[Path] | None,
    add: Callable[[Check], None],
) -> _Plan:
    """One task per instance of a declared class (re-targeted where needed; see the module docstring)."""
    from schedbench.instances import content_hash, load, save
    from schedbench.runs import RunTask

    if instances is None:
        files, source = smoke_instances()
    else:
        files, source = list(instances), "the instances given"
    plan = _Plan([], set(), source)
    for f in files:
        inst = load(f)
        cls = inst.problem.cls
        if cls not in problems or (objective is not None and cls != objective[0]):
            continue
        target = retarget(inst, problems[cls] if objective is None else (objective[1],))
        if target is None:
            if objective is None:
                add(
                    Check(
                        "answer",
                        inst.name,
                        False,
                        f"no declared {cls} objective can be set on this instance (fields missing)",
                    )
                )
            continue
        path = f
        if target is not inst:
            plan.retargeted.add(target.name)
            path = tmp / "retargeted" / f"{target.name}.json"
            path.parent.mkdir(exist_ok=True)
            save(target, path)
        plan.tasks.append(
            RunTask(
                instance_path=str(path),
                instance_hash=content_hash(target),
                instance_name=target.name,
                solver=entry.name,
                solver_version=entry.version,
                params=resolved,
                seed=0,
                time_limit=time_limit,
                solvers_dirs=dirs,
            )
        )
    return plan


def contract_checks(
    name: str,
    runner: Runner,
    dirs: tuple[str, ...] = (),
    time_limit: float = 10.0,
    params: Mapping[str, Any] | None = None,
    progress: Callable[[Check], None] | None = None,
    *,
    objective: tuple[str, str] | None = None,
    max_instances: int | None = None,
    instances: Sequence[Path] | None = None,
) -> list[Check]:
    """Run the contract tests of solver ``name`` (see the module docstring); return every check.

    Args:
        name: registry name; ``dirs``: extra plugin folders (as ``--solvers-dir``).
        runner: runs each task through the harness (``with Executor() as ex``: pass ``ex``).
        time_limit: seconds per run; ``params``: solver parameters (``key: value``).
        progress: called with each check as it is decided.
        objective: ``(class, objective)``: test only that pair (instances of the class, re-targeted
            to the objective when needed); default: every class declared, each instance under its
            own objective when declared.
        max_instances: stop after this many instances not declined (default: all).
        instances: the instance files to run on, in order (default: :func:`smoke_instances`).

    Raises:
        KeyError: unknown solver. RegistryError: the registry cannot be built.
        InputError: the smoke instances cannot be found or built.
    """
    from schedbench.plugins.declarations import check_declarations
    from schedbench.plugins.registry import get_registry

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
        if objective is not None and objective[1] not in problems.get(objective[0], ()):
            raise ValueError(f"{objective[0]}/{objective[1]} is not declared in problems")
        resolved = cls.resolve_params(params or {})
        cls()
    except Exception as exc:
        add(Check("declaration", name, False, f"{type(exc).__name__}: {exc}"))
        return checks
    n_obj = sum(len(o) for o in problems.values())
    add(
        Check(
            "declaration",
            name,
            True,
            f"{decl['family']} v{decl['version']}, {len(problems)} class(es), "
            f"{n_obj} objective(s), {len(decl['params'])} param(s), "
            f"{'deterministic' if decl['deterministic'] else 'not deterministic'}",
        )
    )
    with tempfile.TemporaryDirectory(prefix="schedbench-contract-") as tmp:
        plan = _plan(entry, problems, resolved, dirs, time_limit, Path(tmp), objective, instances, add)
        if not plan.tasks:
            if not any(c.check == "answer" for c in checks):
                wanted = sorted(problems) if objective is None else "/".join(objective)
                add(Check("answer", "-", False, f"no instance of {wanted} ({plan.source})"))
            return checks
        _run_checks(plan, runner, time_limit, decl["deterministic"], max_instances, add)
    return checks


def _run_checks(
    plan: _Plan,
    ex: Runner,
    time_limit: float,
    deterministic: bool,
    max_instances: int | None,
    add: Callable[[Check], None],
) -> None:
    """The ``answer``, ``time-limit`` and ``determinism`` checks of a plan's runs (the runs stop once
    ``max_instances`` instances were not declined)."""
    walls: list[tuple[str, float]] = []
    first: dict[str, bytes | None] = {}
    answered = started = 0
    for task in plan.tasks:
        if max_instances is not None and started >= max_instances:
            break
        rec = ex.execute(task)
        started += rec.status != "unsupported"
        ok = rec.status in ("optimal", "feasible") and rec.feasible is True
        answered += ok
        excused = rec.status == "unsupported" or (
            task.instance_name in plan.retargeted and rec.status in ("unknown", "infeasible")
        )
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
    add(
        Check(
            "time-limit",
            f"{len(walls)} run(s)",
            not slow and len(walls) >= started,
            f"longest {longest:.2f} s (limit {time_limit:g} s + {TIME_SLACK_S:g} s)"
            + (f"; over: {', '.join(f'{n} ({w:.2f} s)' for n, w in slow)}" if slow else "")
            + ("" if len(walls) >= started else "; some runs have no time measured"),
        )
    )
    if not deterministic:
        return
    for task in plan.tasks:
        if task.instance_name not in first:
            continue  # declined or excused above
        before = first[task.instance_name]
        if before is None:
            add(Check("determinism", task.instance_name, False, "skipped: the first run gave no feasible answer"))
            continue
        rec = ex.execute(task)
        same = _canonical(rec.solution) == before
        add(
            Check(
                "determinism",
                task.instance_name,
                same,
                "identical solution with the same seed"
                if same
                else f"a second run with the same seed differs ({rec.status})",
            )
        )
