"""The command line: exit codes, messages without tracebacks, JSON output, fuzzed input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from schedbench import __version__
from schedbench.cli.app import app
from schedbench.errors import InputError
from schedbench.examples import examples
from schedbench.instances import content_hash, load, save
from schedbench.validator import validate_file

runner = CliRunner()


@pytest.fixture(scope="module")
def example_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("examples")
    files = []
    for inst, sols in examples():
        ipath = root / f"{inst.name}.json"
        save(inst, ipath)
        for name, sol in sols:
            spath = root / f"{inst.name}.{name}.sol.json"
            spath.write_text(json.dumps(sol))
            files.append((inst, ipath, name, spath))
    return files


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    # anything but a clean exit is a crash (a traceback for the user)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_version():
    assert __version__ in invoke("--version").output


def test_validate_exit_codes_and_json(example_files):
    for _inst, ipath, name, spath in example_files:
        res = invoke("validate", ipath, spath, "--json")
        doc = json.loads(res.output)
        assert {"feasible", "objective", "violations"} <= set(doc)
        assert res.exit_code == (0 if doc["feasible"] else 1), (name, res.output)
    feasible = next(f for f in example_files if f[2] == "packed")
    assert invoke("validate", feasible[1], feasible[3]).exit_code == 0
    infeasible = next(f for f in example_files if f[2] == "overpacked")
    res = invoke("validate", infeasible[1], infeasible[3])
    assert res.exit_code == 1 and "capacity" in res.output and "v0/0" in res.output


def test_validate_instance_only_and_show(example_files):
    inst, ipath, _, _ = example_files[0]
    assert invoke("validate", ipath).exit_code == 0
    res = invoke("show", ipath, "--json")
    doc = json.loads(res.output)
    assert doc["hash"] == content_hash(inst) and doc["jobs"] == inst.n_jobs
    assert "lower_bound" in doc["bounds"]
    assert invoke("show", ipath).exit_code == 0


def test_bad_input_exit_2_with_message(tmp_path, example_files):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "schedbench/instance/1"}')
    res = invoke("validate", bad)
    assert res.exit_code == 2 and "bad.json" in res.output and "$.metadata" in res.output
    _inst, ipath, _, _spath = example_files[0]
    wrong = tmp_path / "wrong.sol.json"
    wrong.write_text('{"problem": "batch", "schedule": {}}')
    res = invoke("validate", ipath, wrong)
    assert res.exit_code == 2 and "$.problem" in res.output
    assert invoke("schema", "nonsense").exit_code == 2
    assert invoke("import", "nonsense", bad, "-o", tmp_path).exit_code == 2


def test_schema_commands_print_json():
    for kind in ("instance", "solution"):
        doc = json.loads(invoke("schema", kind).output)
        assert doc["$schema"].startswith("https://json-schema.org/")


def test_demo_runs():
    res = invoke("demo")
    assert res.exit_code == 0
    assert "example-online" in res.output and "infeasible" in res.output


def test_real_process_prints_no_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = subprocess.run(
        [sys.executable, "-m", "schedbench.cli", "validate", str(bad)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "bad.json" in proc.stderr and "valid JSON" in proc.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_instance_files_never_crash(tmp_path_factory, example_files, data):
    _, ipath, _, _ = data.draw(st.sampled_from(example_files))
    raw = bytearray(ipath.read_bytes())
    for _ in range(data.draw(st.integers(1, 5))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[pos] = data.draw(st.sampled_from(list(b'{}[]",:0123456789-.enulltruefalse ')))
        elif op == "cut":
            del raw[pos : pos + data.draw(st.integers(1, 40))]
        else:
            raw[pos:pos] = data.draw(st.sampled_from([b"null", b"-1", b'"x"', b"[]", b"{}", b"1e999", b"0.5"]))
        if not raw:
            raw = bytearray(b"{")
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed.json"
    path.write_bytes(bytes(raw))
    res = invoke("validate", path)
    try:  # the exit code the loader's verdict implies
        load(path)
        expected = 0
    except InputError:
        expected = 2
    assert res.exit_code == expected, res.output
    if expected == 2:
        assert "fuzzed.json" in res.output and "Traceback" not in res.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_solution_files_never_crash(tmp_path_factory, example_files, data):
    _, ipath, _, spath = data.draw(st.sampled_from(example_files))
    doc = json.loads(spath.read_text())
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 10**6),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        st.lists(st.text(max_size=4), max_size=3),
    )
    body_key = next(k for k in doc if k != "problem")
    body = doc[body_key]
    if isinstance(body, dict) and body:
        key = data.draw(st.sampled_from(sorted(body)))
        if isinstance(body[key], dict) and body[key] and data.draw(st.booleans()):
            sub = data.draw(st.sampled_from(sorted(body[key])))
            body[key][sub] = data.draw(junk)
        else:
            body[key] = data.draw(junk)
    elif isinstance(body, list) and body:
        i = data.draw(st.integers(0, len(body) - 1))
        field = data.draw(st.sampled_from(sorted(body[i])))
        body[i][field] = data.draw(junk)
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed.sol.json"
    path.write_text(json.dumps(doc))
    res = invoke("validate", ipath, path)
    try:  # the exit code the validator's verdict implies: 0 feasible, 1 violations, 2 malformed
        verdict = validate_file(load(ipath), path)
        expected = 0 if verdict.feasible else 1
    except InputError:
        expected = 2
    assert res.exit_code == expected, res.output
    if expected == 2:
        assert "fuzzed.sol.json" in res.output and "Traceback" not in res.output
    elif expected == 1:
        assert next(iter(verdict.violation_counts)) in res.output
