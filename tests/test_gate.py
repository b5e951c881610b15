"""`schedbench run --fail-on` / `--json`: the campaign's runs decide the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.examples import examples
from schedbench.gate import DEFAULT_FAIL_ON, parse_fail_on
from schedbench.instances import make_instance, save

PLUGINS = Path(__file__).resolve().parent / "plugins"


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gate")
    placement = examples()[0][0]
    known = make_instance(
        resources=placement.resources,
        gpu_types=placement.gpu_types,
        nodes=placement.nodes,
        jobs=placement.jobs,
        problem=placement.problem,
        metadata={"name": "placement-known", "known": {"optimum": 9.0, "source": "test"}},
    )
    out = {}
    for name, inst in (("placement", placement), ("known", known)):
        out[name] = folder / f"{name}.json"
        save(inst, out[name])
    return out


def _run(tmp_path: Path, instance: Path, solver: str, *extra: str) -> tuple[int, str]:
    args = [
        "run",
        "--instances",
        str(instance),
        "--solver",
        solver,
        "--solvers-dir",
        str(PLUGINS),
        "--time-limit",
        "5",
        "--workers",
        "1",
        "--store",
        str(tmp_path / f"{solver}.sqlite"),
        "--quiet",
        *extra,
    ]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    return res.exit_code, res.output


def test_parse_fail_on() -> None:
    assert parse_fail_on(None) == DEFAULT_FAIL_ON
    assert parse_fail_on(["timeout,crashed", "memout"]) == ("timeout", "crashed", "memout")
    assert parse_fail_on(["none"]) == ()
    with pytest.raises(ValueError, match="--fail-on"):
        parse_fail_on(["exploded"])


def test_good_runs_exit_0_and_json(tmp_path: Path, instances: dict[str, Path]) -> None:
    code, out = _run(tmp_path, instances["placement"], "test-good", "--json")
    assert code == 0, out
    doc = json.loads(out[out.index("{") :])
    assert doc["statuses"] == {"feasible": 1} and doc["failing"] == {} and doc["exit_code"] == 0


def test_an_error_fails_the_run_unless_excluded(tmp_path: Path, instances: dict[str, Path]) -> None:
    code, out = _run(tmp_path, instances["placement"], "test-raise")
    assert code == 1 and "failing runs (--fail-on): error 1" in out
    # resumed: the stored error still fails the gate; --fail-on chooses
    assert _run(tmp_path, instances["placement"], "test-raise", "--fail-on", "none")[0] == 0
    assert _run(tmp_path, instances["placement"], "test-raise", "--fail-on", "timeout,memout")[0] == 0
    code, out = _run(tmp_path, instances["placement"], "test-raise", "--json")
    assert code == 1 and json.loads(out[out.index("{") :])["failing"] == {"error": 1}
    assert _run(tmp_path, instances["placement"], "test-raise", "--fail-on", "exploded")[0] == 2


def test_a_contradicted_claim_fails_the_run(tmp_path: Path, instances: dict[str, Path]) -> None:
    # claims optimal with 10.2525 against a known optimum of 9
    code, out = _run(tmp_path, instances["known"], "test-false-optimal", "--json")
    doc = json.loads(out[out.index("{") :])
    assert code == 1 and doc["failing"], doc
