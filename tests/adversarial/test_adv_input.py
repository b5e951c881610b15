"""Out-of-range input is refused with one line and exit 2; every JSON written is strict (#11)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADV_PLUGINS

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "instances" / "smoke" / "placement-cost-s0.json"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "schedbench.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def strict(text: str):
    """json.loads that refuses NaN and Infinity."""

    def refuse(name: str):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Error:" not in proc.stderr.replace("error:", "")
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("oor")
    doc = json.loads(SMOKE.read_text())
    text = json.dumps(doc)
    gang = folder / "gang.json"
    gang.write_text(text.replace('"gang": [1,', '"gang": [1000000000000000000000000000000,', 1))
    for per in doc["jobs"]["per_type"].values():
        per["cost"] = [None if c is None else 1e308 for c in per["cost"]]
    cost = folder / "cost.json"
    cost.write_text(json.dumps(doc))
    return {"gang": gang, "cost": cost, "folder": folder}


@pytest.fixture(scope="module")
def solution(bad) -> Path:
    out = bad["folder"] / "sol.json"
    proc = cli("solve", "greedy-bestfit", str(SMOKE), "--time-limit", "10", "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    strict(out.read_text())
    return out


def test_integer_beyond_int64_is_refused(bad):
    line = one_line_error(cli("validate", str(bad["gang"])))  # before #11: valid (gang -2^63)
    assert "$.jobs.gang[0]" in line and "64-bit" in line


def test_overflowing_objective_is_an_error_not_inf(bad, solution):
    line = one_line_error(cli("validate", str(bad["cost"]), str(solution)))  # before: min-cost = inf, exit 0
    assert "finite" in line and "inf" in line
    proc = cli("solve", "greedy-bestfit", str(bad["cost"]), "--time-limit", "10", "--json")
    doc = strict(proc.stdout)  # before: "objective": Infinity
    assert proc.returncode == 1 and doc["status"] == "error" and doc["objective"] is None


def test_solution_with_a_repeated_top_level_key_is_refused(bad, solution):
    text = solution.read_text().strip()
    body = text[text.index('"assignment"') : text.rindex("}")]
    dup = bad["folder"] / "dup.json"
    dup.write_text(text[:-1] + ", " + body + "}")
    line = one_line_error(cli("validate", str(SMOKE), str(dup)))  # before: read last-wins
    assert "$.assignment" in line and "repeated" in line


@pytest.mark.parametrize(
    "args",
    [
        ("solve", "greedy-bestfit", str(SMOKE), "--time-limit", "1e308"),  # before: OverflowError traceback
        ("solve", "greedy-bestfit", str(SMOKE), "--time-limit", "nan"),
        ("solve", "greedy-bestfit", str(SMOKE), "--memory-limit", str(1 << 40)),
        ("solve", "greedy-bestfit", str(SMOKE), "--threads", "100000"),
        (
            "run",
            "--instances",
            str(SMOKE),
            "--solver",
            "ffd",
            "--time-limit",
            "1e308",
            "--store",
            "/nonexistent/x.sqlite",
        ),
    ],
)
def test_unreasonable_limits_are_refused(args):
    one_line_error(cli(*args))


@pytest.mark.parametrize(
    "args",
    [
        ("schema", "[/]"),
        ("generate", "[/]", "-o", "x.json"),
        ("validate", "[/]"),
        ("report", "[/]"),
        ("solve", "[/]", str(SMOKE)),
    ],
)
def test_rich_markup_in_arguments_is_not_interpreted(args):
    line = one_line_error(cli(*args))  # before: MarkupError traceback (schema)
    assert "[/]" in line


def test_every_json_output_is_strict(tmp_path: Path):
    """NaN and infinite bounds and info values reach no JSON output as NaN/Infinity."""
    from schedbench.examples import examples
    from schedbench.instances import save

    inst = tmp_path / "p.json"
    save(examples()[0][0], inst)
    sol = tmp_path / "s.json"
    store = tmp_path / "c.sqlite"
    proc = cli("solve", "adv-nan-bound", str(inst), "--solvers-dir", str(ADV_PLUGINS), "--json", "-o", str(sol))
    doc = strict(proc.stdout)
    assert doc["bound"] is None and "bound_not_finite" in doc["flags"]
    strict(sol.read_text())
    strict(cli("validate", str(inst), str(sol), "--json").stdout)
    strict(cli("solvers", "list", "--json", "--solvers-dir", str(ADV_PLUGINS)).stdout)
    proc = cli(
        "run",
        "--instances",
        str(inst),
        "--solver",
        "adv-nan-bound",
        "--solver",
        "adv-inf-bound",
        "--solvers-dir",
        str(ADV_PLUGINS),
        "--store",
        str(store),
        "--time-limit",
        "5",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    con = sqlite3.connect(store)
    for table, columns in (
        ("runs", ("flags_json", "violations_json", "trajectory_json", "info_json")),
        ("instances", ("known_json",)),
        ("environments", ("doc_json",)),
        ("campaigns", ("spec_json",)),
    ):
        for row in con.execute(f"SELECT {', '.join(columns)} FROM {table}"):
            for text in row:
                strict(text)
    con.close()
