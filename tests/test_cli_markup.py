"""User and data text is never parsed as rich markup: names, arguments and table cells print verbatim."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.runs import RunRecord, RunTask
from schedbench.store import Store

runner = CliRunner()
MARKUP = "bad[/]name[bold]"


def _invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", MARKUP],
        ["show", MARKUP],
        ["generate", MARKUP, "-o", "x.json"],
        ["import", MARKUP, "a.txt", "-o", "out"],
        ["schema", MARKUP],
        ["solve", MARKUP, MARKUP],
        ["simulate", MARKUP, MARKUP],
        ["report", MARKUP],
        ["export", MARKUP],
        ["export-model", MARKUP],
        ["compare", MARKUP, MARKUP],
        ["suite", "verify", MARKUP],
        ["catalogue", "show", MARKUP],
        ["solvers", "test", MARKUP],
        ["store", "check", MARKUP],
        ["generate", "placement", "-o", "x.json", "--param", MARKUP],
        ["run", "--solver", "greedy-bestfit", "--param", MARKUP],
    ],
)
def test_an_argument_with_markup_is_a_clean_error(argv: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = _invoke(*argv)
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "error:" in res.output
    assert MARKUP in res.output.replace("\n", ""), res.output  # echoed verbatim, tags not swallowed


def test_a_real_process_echoes_markup_verbatim(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "schedbench.cli", "show", str(tmp_path / "[/]x.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "[/]x.json" in proc.stderr


def _record(solver: str, params: dict, seed: int, objective: float) -> RunRecord:
    task = RunTask("/data/p.json", "a" * 64, "placement-p", solver, "1.0", params, seed, 10.0)
    return RunRecord(
        run_id=task.run_id,
        task=task,
        status="feasible",
        problem_class="placement",
        objective_name="min-cost",
        sense="min",
        objective=objective,
        feasible=True,
        wall_s=1.0,
        cpu_s=1.0,
    )


@pytest.fixture
def param_store(tmp_path: Path) -> Path:
    """greedy-bestfit with two parameter sets, plus a solver name that looks like markup."""
    path = tmp_path / "params.sqlite"
    with Store(path) as store:
        cid = store.begin_campaign("params", {})
        for seed in range(2):
            store.write_run(_record("greedy-bestfit", {"order": "input"}, seed, 12.0), cid)
            store.write_run(_record("greedy-bestfit", {"order": "decreasing"}, seed, 10.0), cid)
            store.write_run(_record("odd[/]solver", {}, seed, 11.0), cid)
    return path


def test_report_table_shows_each_parameter_set_as_its_own_row(param_store: Path) -> None:
    res = _invoke("report", str(param_store))
    assert res.exit_code == 0, res.output
    rows = [line for line in res.output.splitlines() if "greedy-bestfit" in line]
    assert any("greedy-bestfit[order=input]" in r for r in rows), res.output
    assert any("greedy-bestfit[order=decreasing]" in r for r in rows), res.output
    assert len(rows) == 2
    assert "odd[/]solver" in res.output


def test_tables_and_compare_keep_labels(param_store: Path) -> None:
    for fmt in ("table", "markdown"):
        res = _invoke("tables", str(param_store), "--format", fmt)
        assert res.exit_code == 0, res.output
        text = re.sub(r"[\s│]+", "", res.output) if fmt == "table" else res.output
        for label in ("odd[/]solver", "[order=decre", "[order=input"):
            assert label in text, res.output
    res = _invoke("compare", str(param_store), str(param_store))
    assert res.exit_code == 0, res.output
    for label in ('greedy-bestfit[order="input"]', 'greedy-bestfit[order="decreasing"]', "odd[/]solver"):
        assert label in res.output, res.output


def test_demo_prints_styled_words_not_tags() -> None:
    res = _invoke("demo")
    assert res.exit_code == 0, res.output
    assert "feasible" in res.output and "[green]" not in res.output and "[/]" not in res.output
