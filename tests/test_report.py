"""The report: statistics on hand-computed values, the table's counts, the four output formats."""

from __future__ import annotations

import io
import math
import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schedbench.cli.report import print_report
from schedbench.errors import InputError
from schedbench.report import (
    FORMATS,
    Summary,
    build_report,
    gap_stats,
    penalized_times,
    render,
    shifted_geometric_mean,
    summarize,
)
from schedbench.report.render import CSV_COLUMNS, HEADERS, to_rich
from schedbench.report.summary import solver_labels
from schedbench.runs import RunRecord, RunTask
from schedbench.store import Store, views

LIMIT = 10.0


def _record(
    instance: str,
    cls: str,
    solver: str,
    seed: int,
    status: str,
    objective: float | None = None,
    wall: float | None = 1.0,
    params: dict | None = None,
) -> RunRecord:
    task = RunTask(
        f"/data/{instance}.json", instance * 64, f"{cls}-{instance}", solver, "1.0", params or {}, seed, LIMIT
    )
    feasible = True if objective is not None else (False if status == "invalid" else None)
    return RunRecord(
        run_id=task.run_id,
        task=task,
        status=status,
        problem_class=cls,
        objective_name="min-cost" if cls == "placement" else "makespan",
        sense="min",
        objective=objective,
        feasible=feasible,
        wall_s=wall,
        cpu_s=wall,
    )


# (instance, class, solver, seed, status, objective, wall)
RUNS = [
    ("p", "placement", "greedy", 0, "optimal", 100.0, 1.0),
    ("p", "placement", "greedy", 1, "feasible", 110.0, 3.0),
    ("p", "placement", "greedy", 2, "timeout", 120.0, 10.5),  # a validated incumbent at the limit
    ("p", "placement", "greedy", 3, "crashed", None, 0.2),
    ("p", "placement", "milp", 0, "optimal", 100.0, 5.0),
    ("p", "placement", "milp", 1, "optimal", 100.0, 7.0),
    ("p", "placement", "milp", 2, "memout", None, 4.0),
    ("p", "placement", "milp", 3, "invalid", None, 2.0),
    ("b", "batch", "greedy", 0, "feasible", 50.0, 2.0),
    ("b", "batch", "greedy", 1, "error", None, 0.1),
    ("b", "batch", "milp", 0, "timeout", None, 10.2),
    ("b", "batch", "milp", 1, "unknown", None, 3.0),
]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "campaign.sqlite"
    with Store(path) as store:
        cid = store.begin_campaign("smoke", {})
        for instance, cls, solver, seed, status, objective, wall in RUNS:
            store.write_run(_record(instance, cls, solver, seed, status, objective, wall), cid)
    return path


def _sgm(times: list[float], shift: float = 10.0) -> float:
    return math.exp(sum(math.log(t + shift) for t in times) / len(times)) - shift


# -- statistics --------------------------------------------------------------------------------------


def test_shifted_geometric_mean_hand_computed() -> None:
    # (10 * 20 * 40) ** (1/3) = 20
    assert shifted_geometric_mean([0.0, 10.0, 30.0], shift=10.0) == pytest.approx(10.0)
    assert shifted_geometric_mean([90.0]) == pytest.approx(90.0)
    assert shifted_geometric_mean([2.0, 8.0], shift=0.0) == pytest.approx(4.0)
    assert shifted_geometric_mean(np.array([5.0, 5.0, 5.0]), shift=1.0) == pytest.approx(5.0)
    # (1 + 10) * (121 + 10) ... = exp(mean(log(11), log(131))) - 10
    assert shifted_geometric_mean([1.0, 121.0]) == pytest.approx(math.sqrt(11.0 * 131.0) - 10.0)


@pytest.mark.parametrize("values", [[-1.0, 2.0], [float("nan")], [float("inf")], [], [[1.0, 2.0]]])
def test_shifted_geometric_mean_refuses_bad_values(values: list) -> None:
    with pytest.raises(ValueError):
        shifted_geometric_mean(values)


def test_shifted_geometric_mean_refuses_bad_shift() -> None:
    with pytest.raises(ValueError, match="shift"):
        shifted_geometric_mean([1.0], shift=-1.0)
    with pytest.raises(ValueError, match="shift"):
        shifted_geometric_mean([1.0], shift=float("nan"))
    with pytest.raises(ValueError, match="positive"):
        shifted_geometric_mean([0.0, 1.0], shift=0.0)


def test_penalty_applies_to_runs_not_solved() -> None:
    times = penalized_times([2.0, 5.0, float("nan")], [True, False, False], [10.0, 10.0, 20.0], penalty=10.0)
    assert times.tolist() == [2.0, 100.0, 200.0]
    assert penalized_times([2.0], [False], [10.0], penalty=1.0).tolist() == [10.0]
    with pytest.raises(ValueError, match="penalty"):
        penalized_times([1.0], [True], [10.0], penalty=0.5)
    with pytest.raises(ValueError, match="solved runs"):
        penalized_times([float("nan")], [True], [10.0])
    with pytest.raises(ValueError, match="length"):
        penalized_times([1.0, 2.0], [True], [10.0])
    with pytest.raises(ValueError, match="positive"):
        penalized_times([1.0], [True], [0.0])


def test_gap_stats() -> None:
    stats = gap_stats([0.0, 0.1, 0.2, 0.5])
    assert stats.n == 4 and stats.mean == pytest.approx(0.2) and stats.median == pytest.approx(0.15)
    assert gap_stats([]) == type(stats)(0, None, None)
    with pytest.raises(ValueError):
        gap_stats([0.1, float("nan")])
    with pytest.raises(ValueError):
        gap_stats([-0.1])


# -- the table ----------------------------------------------------------------------------------------


def test_table_counts_per_solver_and_class(store_path: Path) -> None:
    summary = build_report(store_path)
    rows = {(r.solver, r.problem_class): r for r in summary.rows}
    assert [(r.problem_class, r.solver) for r in summary.rows] == [
        ("batch", "greedy"),
        ("batch", "milp"),
        ("placement", "greedy"),
        ("placement", "milp"),
    ]
    p_greedy = rows["greedy", "placement"]
    assert (
        p_greedy.runs,
        p_greedy.feasible,
        p_greedy.optimal,
        p_greedy.timeouts,
        p_greedy.failures,
        p_greedy.solved,
    ) == (4, 3, 1, 1, 1, 2)
    assert (
        p_greedy.gap_runs == 3 and p_greedy.mean_gap == pytest.approx(0.1) and p_greedy.median_gap == pytest.approx(0.1)
    )
    assert p_greedy.sgm_time == pytest.approx(_sgm([1.0, 3.0, 100.0, 100.0]))  # timeout and crash: 10 x 10 s
    p_milp = rows["milp", "placement"]
    assert (p_milp.runs, p_milp.feasible, p_milp.optimal, p_milp.timeouts, p_milp.failures, p_milp.solved) == (
        4,
        2,
        2,
        0,
        2,
        2,
    )
    assert p_milp.mean_gap == 0.0 and p_milp.sgm_time == pytest.approx(_sgm([5.0, 7.0, 100.0, 100.0]))
    b_greedy = rows["greedy", "batch"]
    assert (b_greedy.runs, b_greedy.feasible, b_greedy.failures, b_greedy.solved) == (2, 1, 1, 1)
    b_milp = rows["milp", "batch"]
    assert (b_milp.feasible, b_milp.timeouts, b_milp.failures, b_milp.solved) == (0, 1, 0, 0)
    assert b_milp.mean_gap is None and b_milp.median_gap is None
    assert b_milp.sgm_time == pytest.approx(100.0)


def test_shift_and_penalty_change_the_time(store_path: Path) -> None:
    summary = build_report(store_path, shift=1.0, penalty=2.0)
    row = next(r for r in summary.rows if (r.solver, r.problem_class) == ("greedy", "placement"))
    assert row.sgm_time == pytest.approx(_sgm([1.0, 3.0, 20.0, 20.0], shift=1.0))
    assert "shift 1 s" in summary.caption() and "2 × their time limit" in summary.caption()


def test_summarize_is_pure_on_a_frame(store_path: Path) -> None:
    frame = views.runs(store_path)
    assert summarize(frame) == build_report(store_path)
    with pytest.raises(ValueError, match="columns"):
        summarize(frame.drop(columns=["status"]))


def test_solver_labels_show_what_differs() -> None:
    configs = [
        ("milp", "1.0", '{"threads":1}'),
        ("milp", "1.0", '{"threads":4}'),
        ("greedy", "1.0", "{}"),
        ("cp", "1.0", '{"a":1}'),
        ("cp", "2.0", '{"a":1}'),
    ]
    labels = solver_labels(configs)
    assert labels[configs[0]] == "milp[threads=1]" and labels[configs[1]] == "milp[threads=4]"
    assert labels[configs[2]] == "greedy"
    assert labels[configs[3]] == "cp@1.0" and labels[configs[4]] == "cp@2.0"


def test_same_solver_with_other_params_gets_its_own_row(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with Store(path) as store:
        for threads in (1, 4):
            store.write_run(_record("p", "placement", "milp", 0, "optimal", 10.0, 1.0, {"threads": threads}))
    assert {r.solver for r in build_report(path).rows} == {"milp[threads=1]", "milp[threads=4]"}


# -- formats ------------------------------------------------------------------------------------------


def _summary(store_path: Path) -> Summary:
    return build_report(store_path, campaign="smoke")


def test_markdown_parses(store_path: Path) -> None:
    text = render(_summary(store_path), "markdown")
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 4
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table]
    assert cells[0] == list(HEADERS)
    assert all(re.fullmatch(r":?-{3}:?", c) for c in cells[1])
    assert all(len(row) == len(HEADERS) for row in cells)
    col = {h: i for i, h in enumerate(HEADERS)}
    assert cells[4][:2] == ["greedy", "placement"] and cells[4][col["Solved"]] == "2/4"
    assert cells[4][col["Mean gap"]] == "10.00%"
    caption = lines[-1]
    assert "shift 10 s" in caption and "10 × their time limit" in caption and "Campaign smoke" in caption


def test_csv_parses_through_pandas(store_path: Path) -> None:
    summary = _summary(store_path)
    frame = pd.read_csv(io.StringIO(render(summary, "csv")))
    assert list(frame.columns) == list(CSV_COLUMNS)
    assert len(frame) == 4
    row = frame[(frame.solver == "greedy") & (frame["class"] == "placement")].iloc[0]
    expected = next(r for r in summary.rows if (r.solver, r.problem_class) == ("greedy", "placement"))
    assert (row.runs, row.feasible, row.optimal, row.timeouts, row.failures, row.solved) == (4, 3, 1, 1, 1, 2)
    assert row.sgm_time_s == expected.sgm_time and row.mean_gap == expected.mean_gap
    assert set(frame.shift_s) == {10.0} and set(frame.timeout_penalty) == {10.0}
    assert frame[(frame.solver == "milp") & (frame["class"] == "batch")].mean_gap.isna().all()


def test_latex_is_a_booktabs_table(store_path: Path) -> None:
    text = render(_summary(store_path), "latex")
    tabular = r"\begin{tabular}{ll" + "r" * (len(HEADERS) - 3) + "l}"
    for token in (tabular, r"\toprule", r"\midrule", r"\bottomrule", r"\end{table}"):
        assert token in text
    body = text[text.index(r"\midrule") + len(r"\midrule") : text.index(r"\bottomrule")].strip().splitlines()
    assert len(body) == 4 and all(line.count("&") == len(HEADERS) - 1 and line.endswith(r"\\") for line in body)
    assert r"10.00\%" in text and r"$\times$" in text
    caption = re.search(r"\\caption\{(.*)\}", text).group(1)
    assert "%" not in caption.replace(r"\%", "")  # special characters escaped


def test_latex_escapes_solver_names(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with Store(path) as store:
        store.write_run(_record("p", "placement", "my_solver&co", 0, "optimal", 1.0))
    assert r"my\_solver\&co" in render(build_report(path), "latex")


def test_print_report_prints_every_format(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in FORMATS:
        assert print_report(store_path, fmt) == 0
        out = capsys.readouterr().out
        assert "greedy" in out and "placement" in out
        if fmt in ("table", "markdown", "latex"):
            assert "shift 10 s" in re.sub(r"\s+", " ", out)
    rich_table = to_rich(_summary(store_path))
    assert rich_table.caption and "10 × their time limit" in str(rich_table.caption)


def test_print_report_bad_input(tmp_path: Path, store_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        print_report(tmp_path / "missing.sqlite")
    not_store = tmp_path / "x.sqlite"
    conn = sqlite3.connect(not_store)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(InputError, match="schedbench results store"):
        print_report(not_store)
    (tmp_path / "notes.txt").write_text("hello, not a database, long enough to have a header " * 4)
    with pytest.raises(InputError):
        print_report(tmp_path / "notes.txt")
    with pytest.raises(InputError, match="format"):
        print_report(store_path, "html")
    with pytest.raises(InputError, match="shift"):
        print_report(store_path, "csv", shift=-1.0)
    with pytest.raises(InputError, match="penalty"):
        print_report(store_path, "csv", penalty=0.5)
    with pytest.raises(InputError, match="campaign"):
        print_report(store_path, "csv", campaign="nope")


def test_empty_store_gives_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.sqlite"
    Store(path).close()
    assert print_report(path, "markdown") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no runs" in captured.err and "nothing to report" in captured.err
