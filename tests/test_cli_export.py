"""``export`` writes result sets (parquet/CSV) and ``export-model`` writes models (MPS/LP): two commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench.cli.app import app

SMOKE = Path(__file__).resolve().parents[1] / "instances" / "smoke"
runner = CliRunner()


@pytest.fixture
def placement(tmp_path: Path) -> Path:
    path = tmp_path / "placement-cost-s0.json"
    shutil.copy(SMOKE / path.name, path)
    return path


def test_export_model_writes_mps_and_lp(placement: Path) -> None:
    pytest.importorskip("highspy")
    res = runner.invoke(app, ["export-model", str(placement)])
    assert res.exit_code == 0, res.output
    mps = placement.with_suffix(".mps")
    assert f"wrote {mps} (mps)" in res.output and mps.read_text().startswith("NAME")
    lp = placement.parent / "model.lp"
    res = runner.invoke(app, ["export-model", str(placement), "--format", "lp", "-o", str(lp)])
    assert res.exit_code == 0, res.output
    assert lp.stat().st_size > 0


def test_export_model_refusals(placement: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["export-model", str(placement), "--solver", "no-such-solver"])
    assert res.exit_code == 2 and "error:" in res.output and "no-such-solver" in res.output
    res = runner.invoke(app, ["export-model", str(placement), "--solver", "greedy-bestfit"])
    assert res.exit_code == 1 and "exports no model" in res.output
    res = runner.invoke(app, ["export-model", str(SMOKE / "allocation-mmf-s0.json"), "-o", str(tmp_path / "a.mps")])
    assert res.exit_code == 1 and not (tmp_path / "a.mps").exists()
    res = runner.invoke(app, ["export-model", str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "error:" in res.output


def test_export_takes_result_formats_only(placement: Path) -> None:
    res = runner.invoke(app, ["export", str(placement), "--format", "mps"])
    assert res.exit_code == 2 and "--format" in res.output and "mps" in res.output
    assert not placement.with_suffix(".mps").exists()
