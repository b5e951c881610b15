"""The plugin contract tests (:mod:`schedbench.plugins.contract`) over every registered built-in solver.

One test per (solver, class, objective) the solver declares: the first instance of the class that
the solver does not decline (re-targeted to the objective when it has another one) is run
through the harness (isolated worker, hard limits, the validator) and must be answered feasibly
within the time limit; a solver declaring ``deterministic`` must give the identical answer twice.
A solver whose optional dependency is missing here is skipped with the registry's reason. The
instances, in this order: the smoke suite's, each class's example, and a tiny GAP (3 GPUs, 6 jobs:
``sa`` anneals gang-1 single-resource placement only and declines the others).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schedbench.importers.gap import gap_instance
from schedbench.instances import save
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.plugins.contract import contract_checks, smoke_instances
from schedbench.plugins.registry import CORE_PRELOAD, Registry, get_registry
from schedbench.runner.execute import Executor

#: Seconds per run: the smoke instances are tiny, exact solvers prove optimality in well under this.
TIME_LIMIT = 5.0
#: Budgets that stop the anytime solvers well before the time limit (their defaults run to the clock).
SHORT_BUDGETS: dict[str, dict[str, Any]] = {
    "sa": {"max_moves": 20_000},
    "ga": {"max_evals": 2_000},
    "cpsat": {"deterministic_time": 1.0},
}


def _cases() -> Iterator[Any]:
    builtins = Registry.build(entry_points=False)
    for entry in builtins.entries():
        if not entry.origin.startswith("built-in"):
            continue
        marks = () if entry.available else (pytest.mark.skip(reason=f"{entry.name}: {entry.reason}"),)
        if not entry.problems and entry.reason and "ModuleNotFoundError" in entry.reason:
            yield pytest.param(entry.name, "-", "-", id=f"{entry.name}:-:-", marks=marks)  # a module lacking a dep
        for cls, objectives in entry.problems.items():
            for objective in objectives:
                yield pytest.param(entry.name, cls, objective, id=f"{entry.name}:{cls}:{objective}", marks=marks)


CASES = list(_cases())


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The smoke instances, then the classes' examples, then a tiny GAP."""
    folder = tmp_path_factory.mktemp("contract")
    made = [spec.example()[0] for spec in PROBLEM_CLASSES.values()]
    rng = np.random.default_rng(0)
    use = rng.integers(1, 10, (3, 6)).astype(float)
    made.append(
        gap_instance(
            rng.integers(1, 30, (3, 6)).astype(float),
            use,
            np.full(3, (use.sum() / 3 * 0.8).round()),
            name="contract-gap",
        )
    )
    paths = []
    for inst in made:
        paths.append(folder / f"{inst.name}.json")
        save(inst, paths[-1])
    return smoke_instances()[0] + paths


@pytest.fixture(scope="module")
def executor() -> Iterator[Executor]:
    """One worker for every case, preloading every solver's ``requires``: torch too, which the harness
    leaves to each RL run, and ``torch._dynamo``, which loading an agent imports (seconds): here the
    many short RL runs would each pay both."""
    entries = get_registry().entries()
    rl = ("torch._dynamo",) if get_registry().get("rl-ppo").available else ()
    with Executor(CORE_PRELOAD + tuple(m for e in entries if e.available for m in e.requires) + rl) as ex:
        yield ex


def test_every_builtin_is_covered() -> None:
    """Every built-in solver module contributes cases: a module failing to import is an unavailable
    entry without problems, skipped when a module it imports is not installed, a failure otherwise."""
    names = {p.values[0] for p in CASES}
    failed = [
        e.name
        for e in get_registry().entries()
        if e.origin.startswith("built-in") and not e.problems and "ModuleNotFoundError" not in (e.reason or "")
    ]
    assert not failed, f"built-in plugin modules that failed to import: {failed}"
    assert {"greedy-bestfit", "random-feasible", "ilp-highs", "sa", "ga", "fcfs"} <= names


@pytest.mark.parametrize(("solver", "cls", "objective"), CASES)
def test_contract(solver: str, cls: str, objective: str, instances: list[Path], executor: Executor) -> None:
    checks = contract_checks(
        solver,
        executor,
        time_limit=TIME_LIMIT,
        params=SHORT_BUDGETS.get(solver, {}),
        objective=(cls, objective),
        max_instances=1,
        instances=instances,
    )
    failed = [f"{c.check} {c.subject}: {c.detail}" for c in checks if not c.ok]
    assert not failed, "\n".join(failed)
    kinds = {c.check for c in checks}
    assert {"declaration", "answer", "time-limit"} <= kinds


def _export_cases() -> Iterator[Any]:
    for entry in Registry.build(entry_points=False).exporters():
        marks = () if entry.available else (pytest.mark.skip(reason=f"{entry.name}: {entry.reason}"),)
        for fmt in entry.model_formats:
            yield pytest.param(entry.name, fmt, id=f"{entry.name}:{fmt}", marks=marks)


@pytest.mark.parametrize(("solver", "fmt"), list(_export_cases()))
def test_model_export(solver: str, fmt: str, instances: list[Path], tmp_path: Path) -> None:
    """A solver declaring ``model_formats`` writes a non-empty model of every instance of its declared
    classes and objectives that it does not decline; an MPS or LP model reads back into HiGHS."""
    from schedbench.instances import load
    from schedbench.plugins.export_model import export_model

    entry = get_registry().get(solver)
    cls = entry.load()
    written = 0
    for path in instances:
        inst = load(path)
        if inst.problem.objective not in entry.problems.get(inst.problem.cls, ()):
            continue
        out = tmp_path / f"{inst.name}.{fmt}"
        if cls.unsupported_reason(inst) is not None:
            with pytest.raises(ValueError):
                export_model(inst, out, fmt, solver=solver)
            continue
        assert export_model(inst, out, fmt, solver=solver) == out and out.stat().st_size > 0
        written += 1
        if fmt in ("mps", "lp"):
            import highspy

            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.readModel(str(out))
            assert h.getNumCol() > 0, inst.name
    assert written, f"{solver} exported no instance"
