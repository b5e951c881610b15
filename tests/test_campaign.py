"""Campaigns: specs, planning, execution into the store, resume, kill-and-resume, Dask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.errors import InputError
from schedbench.runner.campaign import load_spec, run_campaign, spec_from_dict
from schedbench.store import Store

PLUGINS = Path(__file__).parent / "data" / "campaign_plugins"
ROOT = Path(__file__).resolve().parents[1]


def smoke_spec(tmp_path: Path, **extra) -> dict:
    doc = {
        "name": "t",
        "store": str(tmp_path / "s.sqlite"),
        "suites": ["smoke"],
        "seeds": 1,
        "time_limit": 5.0,
        "workers": 2,
        "solvers": [{"name": "greedy-bestfit"}, {"name": "random-feasible"}],
    }
    doc.update(extra)
    return doc


def test_spec_errors_name_the_key(tmp_path):
    with pytest.raises(InputError, match="seeds"):
        spec_from_dict({"suites": ["smoke"], "solvers": ["x"], "seeds": 0})
    with pytest.raises(InputError, match="solvers"):
        spec_from_dict({"suites": ["smoke"]})
    with pytest.raises(InputError, match=r"unknown|one of"):
        spec_from_dict({"suites": ["smoke"], "solvers": ["x"], "colour": "blue"})
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(InputError, match="valid TOML"):
        load_spec(bad)


def test_grid_expands_and_resume_skips_finished(tmp_path):
    spec = spec_from_dict(
        smoke_spec(tmp_path, solvers=[{"name": "greedy-bestfit", "params": {"order": ["input", "decreasing"]}}])
    )
    first = run_campaign(spec, cache=tmp_path / "cache")
    # 4 placement smoke instances x 2 parameter values x 1 seed
    assert first.plan.total == 4 * 2 and len(first.plan.tasks) == 8
    assert sum(first.counts.values()) == 8
    again = run_campaign(spec, cache=tmp_path / "cache")
    assert again.plan.already_done == 8 and not again.plan.tasks
    redo = run_campaign(spec, rerun=["feasible"], cache=tmp_path / "cache")
    assert len(redo.plan.tasks) == first.counts["feasible"]
    with Store(spec.store, readonly=True) as store:
        assert store.count() == 8


def test_every_record_is_validated_and_stored(tmp_path):
    spec = spec_from_dict(smoke_spec(tmp_path))
    result = run_campaign(spec, cache=tmp_path / "cache")
    assert result.plan.tasks
    from schedbench.store import views

    df = views.runs(spec.store)
    assert len(df) == len(result.plan.tasks)
    # greedy-bestfit declines nothing on the 4 placement instances; random-feasible answers all 12;
    # neither proves optimality, and every answer is valid
    assert len(df) == 4 + 12
    assert (df["status"] == "feasible").all(), df[["instance", "solver", "status", "reason"]]
    assert df["feasible"].all() and df["objective"].notna().all()
    assert (df.groupby("solver").size().to_dict()) == {"greedy-bestfit": 4, "random-feasible": 12}
    assert (df["flags"].fillna("") == "").all(), df["flags"]


def test_cli_run_prints_the_report_and_resumes(tmp_path):
    runner = CliRunner()
    store = tmp_path / "cli.sqlite"
    args = [
        "run",
        "--suite",
        "smoke",
        "--solver",
        "greedy-bestfit",
        "--seeds",
        "1",
        "--time-limit",
        "5",
        "--store",
        str(store),
        "--quiet",
    ]
    res = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "greedy-bestfit" in res.output and "placement" in res.output
    res2 = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert res2.exit_code == 0 and "0 to run" in res2.output.replace("\n", " ")
    bad = runner.invoke(app, ["run", "--suite", "smoke", "--solver", "no-such-solver", "--store", str(store)])
    assert bad.exit_code == 2


def test_killed_campaign_loses_only_runs_in_flight_and_resumes(tmp_path):
    store = tmp_path / "kill.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "schedbench.cli",
        "run",
        "--suite",
        "smoke",
        "--solver",
        "slow-first-fit",
        "--seeds",
        "3",
        "--workers",
        "1",
        "--time-limit",
        "5",
        "--store",
        str(store),
        "--solvers-dir",
        str(PLUGINS),
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    written = 0
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if store.exists():
            try:
                with Store(store, readonly=True) as s:
                    written = s.count()
            except Exception:  # the store is being created
                continue
            if written >= 3:
                break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert written >= 3
    with Store(store, readonly=True) as s:
        before = s.count()
        assert s.integrity_check() == "ok"
    # 4 batch + 1 max-weight smoke instances x 3 seeds
    total = 5 * 3
    assert before < total
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Store(store, readonly=True) as s:
        assert s.count() == total
    from schedbench.store import views

    df = views.runs(store)
    assert df["run_id"].is_unique and len(df) == total


def test_dask_executor_matches_local(tmp_path):
    pytest.importorskip("distributed")
    local = spec_from_dict(
        smoke_spec(tmp_path, store=str(tmp_path / "local.sqlite"), solvers=[{"name": "greedy-bestfit"}])
    )
    run_campaign(local, cache=tmp_path / "cache")
    dask_spec = spec_from_dict(
        smoke_spec(tmp_path, store=str(tmp_path / "dask.sqlite"), executor="dask", solvers=[{"name": "greedy-bestfit"}])
    )
    result = run_campaign(dask_spec, cache=tmp_path / "cache")
    assert sum(result.counts.values()) == 4
    from schedbench.store import views

    a = views.runs(local.store).set_index("run_id")["objective"].sort_index()
    b = views.runs(dask_spec.store).set_index("run_id")["objective"].sort_index()
    assert list(a.index) == list(b.index)
    assert a.tolist() == b.tolist()
