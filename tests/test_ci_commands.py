"""CI-grade commands (issue #15): ``report --format json``, ``report``/``export`` on an export,
exports that carry trajectories and instances, choices in ``--help``, shell completion, progress."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.instances.io import content_hash, load
from schedbench.runs import RunRecord, RunTask
from schedbench.store import Store

SMOKE = Path(__file__).resolve().parents[1] / "instances" / "smoke"
LIMIT = 5.0
runner = CliRunner()


def _records(path: Path, digest: str, name: str) -> list[RunRecord]:
    """Two solvers on one instance: ``good`` reaches 100 at 1 s, ``slow`` 120 then 110; ``bad`` crashes."""
    out = []
    for solver, status, objective, wall, traj in (
        ("good", "feasible", 100.0, 1.0, [[0.1, 130.0, None], [1.0, 100.0, None]]),
        ("slow", "timeout", 110.0, LIMIT, [[0.5, 120.0, None], [4.0, 110.0, None]]),
        ("bad", "crashed", None, 0.2, []),
    ):
        task = RunTask(str(path), digest, name, solver, "1", {}, 0, LIMIT)
        out.append(
            RunRecord(
                run_id=task.run_id,
                task=task,
                status=status,
                problem_class="batch",
                objective_name="makespan",
                sense="min",
                objective=objective,
                feasible=None if objective is None else True,
                wall_s=wall,
                cpu_s=wall,
                trajectory=traj,
            )
        )
    return out


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store with two real instance files (copied into tmp_path/inst) and three runs on each."""
    inst_dir = tmp_path / "inst"
    inst_dir.mkdir()
    path = tmp_path / "set.sqlite"
    with Store(path) as store:
        cid = store.begin_campaign("ci", {})
        for name in ("batch-makespan-s0.json", "batch-makespan-s1.json"):
            file = inst_dir / name
            shutil.copy(SMOKE / name, file)
            inst = load(file)
            digest = store.add_instance(inst, file)
            for record in _records(file, digest, inst.name):
                store.write_run(record, cid)
    return path


# -- 1. report --format json ----------------------------------------------------------------------------


def test_report_json_is_strict_and_complete(store_path: Path) -> None:
    result = runner.invoke(app, ["report", str(store_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert doc["shift_s"] == 10.0 and doc["timeout_penalty"] == 10.0 and "shifted geometric mean" in doc["caption"]
    rows = {r["solver"]: r for r in doc["rows"]}
    assert set(rows) == {"good", "slow", "bad"}
    assert rows["good"]["runs"] == 2 and rows["good"]["mean_gap"] == 0.0 and rows["good"]["solved"] == 2
    assert rows["slow"]["timeouts"] == 2 and rows["slow"]["mean_gap"] == pytest.approx(0.1)
    # no feasible answer: the gaps are missing, written as null (never NaN)
    assert rows["bad"]["failures"] == 2 and rows["bad"]["mean_gap"] is None and rows["bad"]["median_gap"] is None
    # shifted geometric mean of (1 + 10, 1 + 10) - 10 = 1 s for good
    assert rows["good"]["sgm_time_s"] == pytest.approx(1.0)


def test_report_json_of_an_empty_store_is_still_a_document(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    Store(path).close()
    result = runner.invoke(app, ["report", str(path), "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rows"] == []
    assert "nothing to report" in result.stderr


def test_report_json_never_writes_nan() -> None:
    from schedbench.report.render import to_json
    from schedbench.report.summary import Summary, SummaryRow

    row = SummaryRow(
        solver="x",
        problem_class="batch",
        runs=1,
        feasible=0,
        optimal=0,
        timeouts=0,
        failures=1,
        gap_runs=0,
        mean_gap=float("nan"),
        median_gap=None,
        solved=0,
        sgm_time=float("inf"),
    )
    doc = json.loads(to_json(Summary((row,))))
    assert doc["rows"][0]["mean_gap"] is None and doc["rows"][0]["sgm_time_s"] is None


# -- 4. choices in --help, shell completion -------------------------------------------------------------


def _help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_choices_are_listed_in_help() -> None:
    assert "table|markdown|csv|latex|json" in _help("report")
    assert "parquet|csv" in _help("export") and "mps" not in _help("export")
    assert "mps|lp" in _help("export-model")
    assert "local|dask" in _help("run")


def test_choice_enums_match_what_the_commands_accept() -> None:
    from schedbench.cli import choices as cli_choices
    from schedbench.plugins.export_model import FORMATS as MODEL_FORMATS
    from schedbench.report.command import FORMATS as REPORT_FORMATS
    from schedbench.store.export import FORMATS as EXPORT_FORMATS

    assert tuple(f.value for f in cli_choices.ReportFormat) == REPORT_FORMATS
    assert tuple(f.value for f in cli_choices.ExportFormat) == EXPORT_FORMATS
    assert tuple(f.value for f in cli_choices.ModelFormat) == MODEL_FORMATS
    assert {e.value for e in cli_choices.Executor} == {"local", "dask"}


def test_a_choice_outside_the_list_is_a_usage_error(store_path: Path) -> None:
    result = runner.invoke(app, ["report", str(store_path), "--format", "html"])
    assert result.exit_code == 2 and "html" in result.output
    result = runner.invoke(app, ["run", "--executor", "slurm", "--solver", "edd"])
    assert result.exit_code == 2 and "slurm" in result.output


def test_shell_completion_is_on() -> None:
    text = _help()
    assert "--install-completion" in text and "--show-completion" in text
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0 and "complete" in result.stdout


# -- 2. report and export read an export -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_report_of_an_export_equals_the_report_of_its_store(store_path: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "pub" / f"set.{fmt}"
    assert runner.invoke(app, ["export", str(store_path), "--format", fmt, "-o", str(out)]).exit_code == 0
    for report_fmt in ("json", "csv", "markdown"):
        from_store = runner.invoke(app, ["report", str(store_path), "--format", report_fmt])
        from_export = runner.invoke(app, ["report", str(out), "--format", report_fmt])
        assert from_store.exit_code == from_export.exit_code == 0, from_export.output
        assert from_export.stdout == from_store.stdout
    one = runner.invoke(app, ["report", str(out), "--format", "json", "--campaign", "ci"])
    assert one.exit_code == 0 and len(json.loads(one.stdout)["rows"]) == 3
    bad = runner.invoke(app, ["report", str(out), "--campaign", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.stderr and "ci" in bad.stderr and "Traceback" not in bad.output


def test_a_csv_export_keeps_text_columns_as_text(tmp_path: Path) -> None:
    from schedbench.store.views import read_runs

    path = tmp_path / "runs.csv"
    path.write_text(
        "run_id,instance,class,objective_name,solver,solver_version,params,seed,status,gap,wall_s,"
        "time_limit,flags\nr1,i,batch,makespan,x,1.10,{},0,feasible,0.0,1.0,5.0,\n"
    )
    runs = read_runs(path)
    assert runs.loc[0, "solver_version"] == "1.10" and runs.loc[0, "flags"] == ""


def test_an_export_that_is_not_one_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    result = runner.invoke(app, ["report", str(bad)])
    assert result.exit_code == 2 and "x.parquet" in result.stderr and "Traceback" not in result.output
    short = tmp_path / "y.csv"
    short.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["report", str(short)])
    assert result.exit_code == 2 and "missing" in result.stderr


# -- 3. an export stands alone: trajectories and instances beside the runs --------------------------------


def test_an_export_is_replotted_and_rereported_from_its_files_alone(store_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "pub" / "set.parquet"
    result = runner.invoke(app, ["export", str(store_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 instance files" in result.stdout
    expected = runner.invoke(app, ["report", str(store_path), "--format", "json"]).stdout
    # the published set alone: no store, no original instance files
    store_path.unlink()
    shutil.rmtree(tmp_path / "inst")
    figure = tmp_path / "ecdf.png"
    result = runner.invoke(app, ["plot", str(out), "ecdf-time", "-o", str(figure)])
    assert result.exit_code == 0, result.output
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 5000
    result = runner.invoke(app, ["report", str(out), "--format", "json"])
    assert result.exit_code == 0 and result.stdout == expected
    # trajectories: every incumbent of every run, as stored
    traj = pd.read_parquet(out.with_name("set.trajectories.parquet"))
    assert len(traj) == 8 and sorted(traj["objective"].unique()) == [100.0, 110.0, 120.0, 130.0]
    # instances: the table names the copied files, and each still hashes to the runs' instance_hash
    instances = pd.read_parquet(out.with_name("set.instances.parquet"))
    runs = pd.read_parquet(out)
    assert set(instances["instance_hash"]) == set(runs["instance_hash"])
    for rel, digest in zip(instances["file"], instances["instance_hash"], strict=True):
        assert rel.startswith("set.instances/")
        assert content_hash(load(out.parent / rel)) == digest


def test_an_export_of_an_export_carries_everything(store_path: Path, tmp_path: Path) -> None:
    first = tmp_path / "a" / "set.parquet"
    assert runner.invoke(app, ["export", str(store_path), "-o", str(first)]).exit_code == 0
    shutil.rmtree(tmp_path / "inst")
    second = tmp_path / "b" / "set.csv"
    result = runner.invoke(app, ["export", str(first), "--format", "csv", "-o", str(second)])
    assert result.exit_code == 0, result.output
    for what in ("environments", "trajectories", "instances"):
        assert (tmp_path / "b" / f"set.{what}.csv").exists()
    instances = pd.read_csv(tmp_path / "b" / "set.instances.csv")
    assert instances["file"].notna().all()
    assert all((tmp_path / "b" / f).is_file() for f in instances["file"])
    assert len(pd.read_csv(tmp_path / "b" / "set.trajectories.csv")) == 8


def test_a_changed_or_missing_instance_file_is_not_copied(store_path: Path, tmp_path: Path) -> None:
    changed = tmp_path / "inst" / "batch-makespan-s0.json"
    changed.write_text((SMOKE / "batch-makespan-s1.json").read_text())  # another instance under that name
    (tmp_path / "inst" / "batch-makespan-s1.json").unlink()
    out = tmp_path / "pub" / "set.parquet"
    result = runner.invoke(app, ["export", str(store_path), "-o", str(out)])
    assert result.exit_code == 0
    assert "2 instance file(s) missing or changed" in result.stderr
    assert pd.read_parquet(out.with_name("set.instances.parquet"))["file"].isna().all()
    assert not (tmp_path / "pub" / "set.instances").exists()


# -- 5. progress on stderr: run's start-up spinner, suite build/verify bars ---------------------------------


def _terminal() -> tuple[object, object]:
    import io

    from rich.console import Console

    buf = io.StringIO()
    return buf, Console(file=buf, force_terminal=True, width=100)


def test_run_startup_spinner_then_progress() -> None:
    from rich.progress import Progress

    from schedbench.cli.progress import Startup

    buf, console = _terminal()
    progress = Progress(console=console)
    with Startup(console, progress) as startup:
        assert startup.status is not None and "loading the instances" in str(startup.status.status)
        task = progress.add_task("camp", total=3)
        startup.planned(3, 2, "local")
        assert str(startup.status.status) == "starting 2 local worker(s) (preloading solver libraries), 3 runs to do"
        assert not progress.live.is_started
        startup.first_record()
        startup.first_record()  # idempotent
        progress.update(task, advance=1)
        assert progress.live.is_started
    text = buf.getvalue()
    assert "preloading solver libraries" in text  # the spinner's last text is drawn when it stops
    assert "camp" in text and not progress.live.is_started
    quiet_buf, quiet_console = _terminal()
    with Startup(quiet_console, Progress(console=quiet_console, disable=True), disable=True) as startup:
        startup.planned(3, 2, "local")
        startup.first_record()
    assert startup.status is None and quiet_buf.getvalue() == ""


def test_suite_progress_counts_every_instance() -> None:
    from schedbench.cli.progress import suite_progress

    buf, console = _terminal()
    with suite_progress(console, "tiny", 2) as advance:
        for name in ("a", "b", "c"):  # an imported third instance raises the total
            advance(name)
    assert "suite tiny" in buf.getvalue() and "3/3" in buf.getvalue()
    quiet_buf, quiet_console = _terminal()
    with suite_progress(quiet_console, "tiny", 2, disable=True) as advance:
        advance("a")
    assert quiet_buf.getvalue() == ""


def test_suite_build_reports_each_instance(tmp_path: Path) -> None:
    from schedbench.suites import build, expected_count, load_suite

    suite = load_suite("smoke")
    seen: list[str] = []
    report = build(suite, tmp_path / "out", progress=seen.append)
    assert seen == list(report.hashes) and len(seen) >= expected_count(suite)


def test_suite_verify_keeps_stdout_for_the_result() -> None:
    result = runner.invoke(app, ["suite", "verify", "smoke", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("suite smoke:") and result.stderr == ""


def test_no_instance_files_writes_paths_and_hashes_only(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "pub" / "set.parquet"
    result = runner.invoke(app, ["export", str(store_path), "-o", str(out), "--no-instance-files"])
    assert result.exit_code == 0 and result.stderr == ""
    instances = pd.read_parquet(out.with_name("set.instances.parquet"))
    assert instances["file"].isna().all() and len(instances) == 2
    assert all(Path(p).is_file() for p in instances["path"]) and instances["instance_hash"].str.len().min() == 64
    assert not (tmp_path / "pub" / "set.instances").exists()
