"""The notebook API: schedbench.load / generate / solve / validate / runs, and Instance's reprs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import schedbench as sb
from schedbench.errors import InputError
from schedbench.instances import io

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "instances" / "smoke"


def test_load_and_short_reprs() -> None:
    inst = sb.load(SMOKE / "batch-makespan-s0.json")
    text = repr(inst)
    assert text.startswith("<Instance 'batch-makespan-s0' batch/makespan: ") and len(text) < 150
    big = sb.generate("batch", seed=0, jobs=100)
    assert big.n_jobs == 100 and len(repr(big)) < 150
    html = big._repr_html_()
    assert html.startswith("<table>") and "<td>100</td>" in html and len(html) < 2000


def test_generate_is_the_cli_generator(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from schedbench.cli.app import app

    a = sb.generate("placement", preset="gap-like", seed=3)
    out = tmp_path / "g.json"
    res = CliRunner().invoke(app, ["generate", "placement", "--preset", "gap-like", "--seed", "3", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert io.content_hash(a) == io.content_hash(io.load(out))
    assert io.content_hash(sb.generate("placement", preset="gap-like", seed=4)) != io.content_hash(a)
    with pytest.raises(KeyError, match="preset"):
        sb.generate("placement", preset="nope")


def test_solve_isolated_and_in_process_agree() -> None:
    inst = sb.load(SMOKE / "batch-makespan-s0.json")
    iso = sb.solve("list-ect", inst, time_limit=5)
    local = sb.solve("list-ect", SMOKE / "batch-makespan-s0.json", time_limit=5, isolated=False)
    assert iso.run_id == local.run_id  # same task: same identity and derived seed
    assert iso.status == local.status == "feasible"
    assert iso.objective == pytest.approx(local.objective)
    check = sb.validate(inst, iso.solution)
    assert check.feasible and check.objective == pytest.approx(iso.objective)


def test_solve_grades_like_the_harness() -> None:
    inst = sb.load(SMOKE / "placement-cost-s0.json")
    rec = sb.solve("sa", inst, time_limit=2, isolated=False)  # sa declines what it does not anneal
    iso = sb.solve("sa", inst, time_limit=2)
    assert rec.status == iso.status
    if rec.status == "unsupported":
        assert rec.reason == iso.reason


def test_solve_bad_input() -> None:
    inst = sb.load(SMOKE / "batch-makespan-s0.json")
    with pytest.raises(InputError, match="unknown solver"):
        sb.solve("no-such-solver", inst)
    with pytest.raises(InputError, match="time_limit"):
        sb.solve("list-ect", inst, time_limit=0)


def test_runs_reads_stores_and_exports(tmp_path: Path) -> None:
    from schedbench.runner.campaign import run_campaign, spec_from_dict

    spec = spec_from_dict(
        {
            "name": "api",
            "store": str(tmp_path / "api.sqlite"),
            "instances": [str(SMOKE / "batch-makespan-s0.json")],
            "time_limit": 2.0,
            "workers": 1,
            "solvers": [{"name": "list-ect"}],
        }
    )
    run_campaign(spec, cache=tmp_path / "cache")
    frame = sb.runs(tmp_path / "api.sqlite")
    assert isinstance(frame, pd.DataFrame) and list(frame["solver"]) == ["list-ect"]
    frame.to_parquet(tmp_path / "api.parquet")
    assert sb.runs(tmp_path / "api.parquet")["run_id"].tolist() == frame["run_id"].tolist()
