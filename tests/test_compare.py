"""``schedbench compare``: pairing, statistics and verdicts on hand-built frames, and the CLI's exit
status on real campaigns where one solver was deliberately degraded."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.compare import (
    DEFAULT_TOLERANCE,
    CompareError,
    compare,
    compare_frames,
    parse_tolerances,
    read_runs,
    to_rich,
)
from schedbench.scoring import gap

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "instances" / "smoke"


def _run(
    instance: str,
    solver: str,
    seed: int,
    status: str,
    objective: float | None,
    wall: float,
    best: float,
    params: str = "{}",
    cls: str = "placement",
    sense: str = "min",
) -> dict:
    return {
        "campaign": "c",
        "instance": instance,
        "instance_hash": instance * 8,
        "class": cls,
        "sense": sense,
        "solver": solver,
        "solver_version": "1",
        "params": params,
        "seed": seed,
        "time_limit": 10.0,
        "memory_limit_mb": None,
        "threads": 1,
        "status": status,
        "objective": objective,
        "feasible": objective is not None,
        "best_known": best,
        "wall_s": wall,
    }


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


BASE = [
    _run("a", "heur", 0, "feasible", 110.0, 1.0, 100.0),
    _run("b", "heur", 0, "feasible", 220.0, 1.0, 200.0),
    _run("a", "exact", 0, "optimal", 100.0, 2.0, 100.0),
    _run("b", "exact", 0, "optimal", 200.0, 4.0, 200.0),
]


def test_equal_frames_have_no_regression() -> None:
    result = compare_frames(_frame(BASE), _frame(BASE))
    assert not result.regressed
    heur = next(r for r in result.rows if r.solver == "heur")
    assert heur.matched == 2 and heur.baseline == heur.candidate
    assert heur.baseline.mean_gap == pytest.approx((0.1 + 0.1) / 2)
    assert heur.time_ratio == pytest.approx(1.0) and heur.gap_delta == 0.0


def test_worse_gap_is_a_regression_measured_against_one_reference() -> None:
    # the exact solver got worse on b: the candidate store's own best known for b is now 210, so its
    # stored gaps would flatter it; compare measures both sides against the better best known (200)
    cand = [dict(r) for r in BASE]
    cand[3] = _run("b", "exact", 0, "feasible", 210.0, 4.0, 210.0)
    cand[1] = _run("b", "heur", 0, "feasible", 220.0, 1.0, 210.0)
    result = compare_frames(_frame(BASE), _frame(cand))
    rows = {r.solver: r for r in result.rows}
    assert rows["exact"].regressions == ("optimal", "gap")
    assert rows["exact"].candidate.mean_gap == pytest.approx((0.0 + gap(210.0, 200.0, "min")) / 2)
    assert rows["heur"].regressions == () and rows["heur"].gap_delta == pytest.approx(0.0)
    assert result.regressed
    # within a generous tolerance the same change passes
    loose = parse_tolerances(["optimal=1", "gap=0.05"])
    assert not compare_frames(_frame(BASE), _frame(cand), tolerance=loose).regressed


def test_slower_beyond_the_ratio_is_a_regression() -> None:
    cand = [dict(r, wall_s=r["wall_s"] * 3) if r["solver"] == "exact" else dict(r) for r in BASE]
    strict = compare_frames(_frame(BASE), _frame(cand), shift=0.0)
    rows = {r.solver: r for r in strict.rows}
    assert rows["exact"].regressions == ("time",)
    assert rows["exact"].time_ratio == pytest.approx(3.0)
    assert rows["heur"].regressions == ()
    assert not compare_frames(_frame(BASE), _frame(cand), shift=0.0, tolerance=parse_tolerances(["time=3.5"])).regressed
    # faster is an improvement, never a regression
    better = compare_frames(_frame(cand), _frame(BASE), shift=0.0)
    assert not better.regressed and {r.solver: r for r in better.rows}["exact"].improvements == ("time",)


def test_millisecond_noise_is_damped_by_the_shift() -> None:
    fast = [dict(r, wall_s=0.01) for r in BASE]
    slower = [dict(r, wall_s=0.03) for r in BASE]
    result = compare_frames(_frame(fast), _frame(slower))  # default shift 10 s
    assert not result.regressed
    assert result.rows[0].time_ratio == pytest.approx(10.03 / 10.01)
    assert compare_frames(_frame(fast), _frame(slower), shift=0.0).regressed


def test_lost_solves_and_missing_solvers_regress() -> None:
    cand = [dict(r) for r in BASE]
    cand[0] = _run("a", "heur", 0, "timeout", None, 10.5, 100.0)
    result = compare_frames(_frame(BASE), _frame(cand))
    heur = {r.solver: r for r in result.rows}["heur"]
    assert "solved" in heur.regressions and heur.candidate.solved == 1
    gone = compare_frames(_frame(BASE), _frame(cand[2:]))
    assert {r.solver: r for r in gone.rows}["heur"].regressions == ("missing",)
    assert gone.notes and "2 baseline" in gone.notes[0]


def test_runs_pair_by_identity_without_the_version() -> None:
    cand = [dict(r, solver_version="2") for r in BASE] + [_run("c", "exact", 0, "optimal", 5.0, 1.0, 5.0)]
    result = compare_frames(_frame(BASE), _frame(cand))
    exact = {r.solver: r for r in result.rows}["exact"]
    assert exact.matched == 2 and exact.candidate_only == 1 and not result.regressed


def test_no_common_runs_and_bad_tolerances_are_input_errors() -> None:
    other = [dict(r, instance_hash="z" + r["instance_hash"]) for r in BASE]
    with pytest.raises(CompareError, match="runs in common"):
        compare_frames(_frame(BASE), _frame(other))
    for bad in (["time=0.5"], ["gap=-1"], ["speed=2"], ["gap"], ["time=nan"]):
        with pytest.raises(CompareError, match="--tolerance"):
            parse_tolerances(bad)
    assert parse_tolerances(None) == DEFAULT_TOLERANCE


def test_table_cells_are_not_markup() -> None:
    odd = [dict(r, solver=f"[bold]{r['solver']}[/]") for r in BASE]
    table = to_rich(compare_frames(_frame(odd), _frame(odd)))
    cells = [str(c) for col in table.columns for c in col._cells]
    assert "[bold]heur[/]" in cells


# -- end to end: two real campaigns ----------------------------------------------------------------

PROBE = textwrap.dedent('''
    """A test plugin: best fit, or (DEGRADED) the seeded random baseline's answer under the same name."""
    from schedbench_solvers.baseline import RandomFeasible
    from schedbench_solvers.greedy import GreedyBestFit
    from schedbench.plugins.solver import Solver

    DEGRADED = {degraded}

    class Probe(Solver):
        name = "probe"
        family = "greedy"
        version = "1"
        problems = {{"placement": ("min-cost",)}}

        def solve(self, instance, context):
            inner = RandomFeasible if DEGRADED else GreedyBestFit
            context.params = inner.resolve_params({{}})
            return inner().solve(instance, context)
''')


def _campaign(tmp: Path, name: str, degraded: bool) -> Path:
    plugins = tmp / f"plugins-{name}"
    plugins.mkdir()
    (plugins / "probe.py").write_text(PROBE.format(degraded=degraded))
    store = tmp / f"{name}.sqlite"
    args = [
        "run",
        "--instances",
        str(SMOKE / "placement-cost-s0.json"),
        "--instances",
        str(SMOKE / "placement-cost-s1.json"),
        "--solver",
        "probe",
        "--solver",
        "greedy-bestfit",
        "--seeds",
        "2",
        "--time-limit",
        "20",
        "--workers",
        "1",
        "--solvers-dir",
        str(plugins),
        "--store",
        str(store),
        "--quiet",
        "--name",
        "nightly",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return store


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("compare")
    return {
        "good": _campaign(tmp, "good", False),
        "again": _campaign(tmp, "again", False),
        "worse": _campaign(tmp, "worse", True),
    }


def test_cli_fails_on_a_degraded_solver(stores: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["compare", str(stores["good"]), str(stores["worse"]), "--tolerance", "time=100"])
    assert result.exit_code == 1, result.output
    assert "REGRESSION" in result.output and "WORSE" in result.output
    doc = json.loads(
        CliRunner()
        .invoke(app, ["compare", str(stores["good"]), str(stores["worse"]), "--json", "--tolerance", "time=100"])
        .output
    )
    assert doc["regressed"] is True
    rows = {r["solver"]: r for r in doc["rows"]}
    assert "gap" in rows["probe"]["regressions"]
    assert rows["probe"]["candidate"]["mean_gap"] > rows["probe"]["baseline"]["mean_gap"]
    assert rows["greedy-bestfit"]["regressions"] == []


def test_cli_equal_results_exit_zero(stores: dict[str, Path]) -> None:
    # the same store, and an independent re-run of the same campaign (deterministic solvers)
    for candidate in (stores["good"], stores["again"]):
        result = CliRunner().invoke(app, ["compare", str(stores["good"]), str(candidate), "--tolerance", "time=100"])
        assert result.exit_code == 0, result.output
        assert "no regression" in result.output


def test_cli_reads_exports_and_reports_bad_input(stores: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "worse.parquet"
    assert CliRunner().invoke(app, ["export", str(stores["worse"]), "-o", str(out)]).exit_code == 0
    assert len(read_runs(out)) == len(read_runs(stores["worse"]))
    assert compare(stores["good"], out, tolerance=parse_tolerances(["time=100"])).regressed
    assert CliRunner().invoke(app, ["compare", str(stores["good"]), str(out), "--tolerance", "time=100"]).exit_code == 1
    missing = CliRunner().invoke(app, ["compare", str(stores["good"]), str(tmp_path / "nope.sqlite")])
    assert missing.exit_code == 2 and "nope.sqlite" in missing.output and "Traceback" not in missing.output
    not_store = tmp_path / "x.sqlite"
    shutil.copy(ROOT / "README.md", not_store)
    bad = CliRunner().invoke(app, ["compare", str(stores["good"]), str(not_store)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    tol = CliRunner().invoke(app, ["compare", str(stores["good"]), str(stores["good"]), "--tolerance", "time=0.1"])
    assert tol.exit_code == 2 and "--tolerance" in tol.output
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n1,2\n")
    cols = CliRunner().invoke(app, ["compare", str(empty), str(stores["good"])])
    assert cols.exit_code == 2 and "columns" in cols.output
