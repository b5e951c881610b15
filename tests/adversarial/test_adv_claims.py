"""Wrong claims are never credited (issue #11): status ``wrong``, report column, bounds refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import adv_task

from schedbench.report.command import build_report, render
from schedbench.runs import RunRecord, RunTask
from schedbench.store import Store, views


def test_false_infeasible_with_nothing_known_is_taken_at_its_word(adv_executor, adv_files):
    rec = adv_executor.execute(adv_task(adv_files, "adv-false-infeasible"))
    assert rec.status == "infeasible"  # nothing contradicts it yet (the store re-grades later)


def test_false_infeasible_against_published_value_is_wrong(adv_executor, adv_files):
    rec = adv_executor.execute(adv_task(adv_files, "adv-false-infeasible", "published"))
    assert rec.status == "wrong" and rec.claimed_status == "infeasible"
    assert "infeasible_claim_contradicted" in rec.flags


def test_false_infeasible_against_planted_solution_is_wrong(adv_executor, adv_files):
    rec = adv_executor.execute(adv_task(adv_files, "adv-false-infeasible", "planted"))
    assert rec.status == "wrong" and "infeasible_claim_contradicted" in rec.flags
    assert "upper_bound" in rec.reason


def test_false_infeasible_regraded_when_a_later_answer_arrives(adv_executor, adv_files, tmp_path: Path):
    path = tmp_path / "s.sqlite"
    liar = adv_executor.execute(adv_task(adv_files, "adv-false-infeasible"))
    honest = adv_executor.execute(adv_task(adv_files, "test-good"))
    with Store(path) as store:
        store.write_run(liar)
        assert store.record(liar.run_id).status == "infeasible"
        store.write_run(honest)  # a validated answer arrives later
        again = store.record(liar.run_id)
        assert again.status == "wrong" and "infeasible_claim_contradicted" in again.flags
        assert again.claimed_status == "infeasible"
    summary = build_report(path)
    rows = {r.solver: r for r in summary.rows}
    assert rows["adv-false-infeasible"].wrong == 1 and rows["adv-false-infeasible"].solved == 0
    assert rows["test-good"].solved == 1
    assert "Wrong" in render(summary, "markdown") and "infeasible_claim_contradicted: 1" in render(summary, "csv")


def _record(seed: int, status: str, objective: float, bound: float | None = None) -> RunRecord:
    task = RunTask(
        instance_path="/x.json",
        instance_hash="c" * 64,
        instance_name="x",
        solver=f"s{seed}",
        solver_version="1",
        params={},
        seed=seed,
        time_limit=10.0,
    )
    return RunRecord(
        run_id=task.run_id,
        task=task,
        status=status,
        problem_class="placement",
        objective_name="min-cost",
        sense="min",
        objective=objective,
        claimed_status=status,
        bound=bound,
        feasible=True,
        wall_s=1.0,
        cpu_s=1.0,
        solution={"problem": "placement", "assignment": {}},
    )


def test_contradicted_optimal_is_wrong_at_once_and_when_regraded(adv_executor, adv_files, tmp_path: Path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.write_run(_record(1, "optimal", 110.0, bound=110.0))
        store.write_run(_record(2, "feasible", 100.0))  # a better answer arrives later
        recs = {r.task.solver: r for r in store.records()}
        assert recs["s1"].status == "wrong" and "optimal_claim_contradicted" in recs["s1"].flags
        assert "bound_contradicted" in recs["s1"].flags and recs["s1"].bound is None
        best = store.best_known("c" * 64)
        assert best["best_known"] == 100.0 and best["bound"] is None
    rows = {r.solver: r for r in build_report(path).rows}
    assert rows["s1"].optimal == 0 and rows["s1"].wrong == 1 and rows["s1"].solved == 0


def test_report_regrades_a_store_written_without_regrading(tmp_path: Path):
    """A store written by older code keeps a contradicted ``optimal``: the report re-grades it."""
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.write_run(_record(2, "feasible", 100.0))
        store.write_run(_record(1, "optimal", 110.0))
        store.conn.execute("UPDATE runs SET status = 'optimal', flags_json = '[]' WHERE status = 'wrong'")
    rows = {r.solver: r for r in build_report(path).rows}
    assert rows["s1"].wrong == 1 and rows["s1"].optimal == 0


def test_solvers_test_fails_a_solver_whose_claims_are_wrong(tmp_path: Path):
    import subprocess
    import sys

    from conftest import ADV_PLUGINS

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "schedbench.cli",
            "solvers",
            "test",
            "adv-false-infeasible",
            "--solvers-dir",
            str(ADV_PLUGINS),
            "--time-limit",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "wrong" in proc.stdout


def test_declined_runs_are_shown_apart_and_not_penalized(tmp_path: Path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.write_run(_record(1, "feasible", 100.0))
        task = RunTask(
            instance_path="/y.json",
            instance_hash="d" * 64,
            instance_name="y",
            solver="s1",
            solver_version="1",
            params={},
            seed=1,
            time_limit=10.0,
        )
        declined = RunRecord(
            run_id=task.run_id,
            task=task,
            status="unsupported",
            reason="gangs not modelled",
            problem_class="placement",
            objective_name="min-cost",
            sense="min",
        )
        store.write_run(declined)
    row = build_report(path).rows[0]
    assert (row.runs, row.declined, row.failures, row.solved) == (2, 1, 0, 1)
    assert row.sgm_time == pytest.approx(1.0)  # the declined run is not charged 10 x 10 s
    assert "1/1" in render(build_report(path), "markdown")


def test_nan_and_inf_bounds_are_dropped_and_flagged(adv_executor, adv_files, tmp_path: Path):
    nan = adv_executor.execute(adv_task(adv_files, "adv-nan-bound"))
    assert nan.bound is None and "bound_not_finite" in nan.flags and nan.status == "feasible"
    inf = adv_executor.execute(adv_task(adv_files, "adv-inf-bound"))
    assert inf.bound is None and "bound_not_finite" in inf.flags
    with Store(tmp_path / "s.sqlite") as store:
        store.write_run(nan)
        store.write_run(inf)
        best = store.best_known(adv_files["placement"][1])
        assert best["bound"] is None


def test_contradicted_bound_never_becomes_best_bound(adv_executor, adv_files, tmp_path: Path):
    rec = adv_executor.execute(adv_task(adv_files, "adv-high-bound"))
    assert rec.status == "wrong" and "bound_contradicted" in rec.flags and rec.bound is None
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.write_run(rec)
        assert store.best_known(adv_files["placement"][1])["bound"] is None
    frame = views.runs(path)
    assert list(frame["status"]) == ["wrong"]
    assert math.isnan(frame["best_bound"].iloc[0])
