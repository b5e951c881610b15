"""The built-ins' internal library (``solvers/_lib``): plugins share it instead of importing each other."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from factories import feasible_batch
from schedbench_solvers._lib.assignment import regret_by_desirability
from schedbench_solvers._lib.packing import best_gangs
from schedbench_solvers._lib.schedule import left_shift, list_schedule

from schedbench.importers.gap import gap_instance
from schedbench.validator import validate

SOLVERS = Path(__file__).resolve().parents[1] / "solvers"


def relative_imports(path: Path) -> set[str]:
    """The first component of every ``from .x import ...`` / ``from . import x`` in ``path``."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
    return out


@pytest.mark.parametrize("path", sorted(SOLVERS.rglob("*.py")), ids=lambda p: str(p.relative_to(SOLVERS)))
def test_no_module_imports_a_plugin_module(path: Path) -> None:
    plugins = {p.stem for p in SOLVERS.glob("*.py") if not p.stem.startswith("_")}
    assert not relative_imports(path) & plugins, f"{path.name} imports a plugin module; use solvers/_lib"


def test_library_never_imports_outside_itself_in_solvers() -> None:
    for path in (SOLVERS / "_lib").glob("*.py"):
        assert relative_imports(path) <= {p.stem for p in (SOLVERS / "_lib").glob("*.py")}, path.name


def test_best_gangs_picks_the_lowest_summed_score_per_group() -> None:
    group = np.array([0, 0, 0, 1, 1, 2])
    cand = np.array([0, 1, 2, 3, 4, 5])
    score = np.array([0.5, 0.1, 0.3, 0.2, 0.2, 0.0])
    ok, total, first, members = best_gangs(cand, score, group, 2, 3)
    assert ok.tolist() == [0, 1]  # group 2 has a single GPU
    assert total.tolist() == pytest.approx([0.4, 0.4])
    assert first.tolist() == [1, 3]  # each group's best candidate
    assert members(0).tolist() == [1, 2] and members(1).tolist() == [3, 4]


def test_regret_by_desirability_places_the_job_with_one_option_first() -> None:
    # two agents of capacity 10; job 0 can only use agent 0, job 1 prefers agent 0 slightly
    inst = gap_instance(
        np.array([[1.0, 1.0], [1.0, 1.0]]),
        np.array([[8.0, 8.0], [8.0, 8.0]]),
        np.array([10.0, 10.0]),
        name="regret-toy",
    )
    want = np.array([[1.0, -np.inf], [1.0, 0.9]])
    gpu = regret_by_desirability(inst, want)
    assert gpu.tolist() == [0, 1]


def test_left_shift_keeps_each_gpu_sequence_and_never_starts_later() -> None:
    inst, _ = feasible_batch(3)
    out = list_schedule(inst, np.arange(inst.n_jobs))
    assert out is not None
    gpus, start = out
    delayed = start + 5.0  # the same per-GPU sequences, every job later
    order = np.lexsort((np.arange(inst.n_jobs), delayed))
    shifted = left_shift(inst, gpus, order)
    assert (shifted <= start + 1e-9).all()  # list scheduling's starts are already as early as they get
    doc = {
        "problem": "batch",
        "schedule": {
            jid: {"gpus": [inst.gpu_ids[g] for g in gpus[j].tolist()], "start": float(shifted[j])}
            for j, jid in enumerate(inst.jobs.ids)
        },
    }
    assert validate(inst, doc).feasible
