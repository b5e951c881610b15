"""Suites from an installed package: bundled manifests found with importlib.resources, local folders
that add or override, the user cache, names that cannot leave their folder, concurrent builds."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
import textwrap
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench import jsonio
from schedbench.cli.app import app
from schedbench.errors import InputError, UsageError
from schedbench.instances import content_hash, load
from schedbench.suites import (
    LockMismatchError,
    build,
    bundled_campaigns_dir,
    bundled_dir,
    cache_dir,
    check_name,
    find_campaign,
    list_suites,
    load_suite,
    search_path,
    suite_cache,
)
from schedbench.suites.paths import CACHE_ENV, INSTANCES_ENV

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

SMALL_MANIFEST = textwrap.dedent("""\
    description = "a local suite"

    [[generate]]
    id = "mine"
    class = "placement"
    seeds = [0]
    params = { jobs = 4, cluster = "tiny", objective = "min-cost" }
""")


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory away from the checkout, with no local-folder or cache variable set."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv(INSTANCES_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return cwd


# ------------------------------------------------------------------ bundled data
def test_bundled_data_is_the_source_trees_folders():
    """In a checkout (editable install) the data packages are the top-level instances/ and campaigns/."""
    assert bundled_dir().resolve() == (ROOT / "instances").resolve()
    assert bundled_campaigns_dir().resolve() == (ROOT / "campaigns").resolve()
    assert Path(str(resources.files("schedbench.suites.manifests"))) == bundled_dir()


def test_package_data_ships_every_committed_data_file():
    """Every file of instances/ and campaigns/ that git tracks (bar the data packages' __init__.py)
    matches a package-data pattern, so a wheel carries it."""
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    st = doc["tool"]["setuptools"]
    for package, folder in (("schedbench.suites.manifests", "instances"), ("schedbench.suites.campaigns", "campaigns")):
        assert st["package-dir"][package] == folder and package in st["packages"]
        patterns = st["package-data"][package]
        tracked = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True).stdout.split()
        if not tracked:
            pytest.skip("not a git checkout")
        for name in tracked:
            rel = str(Path(name).relative_to(folder))
            if rel == "__init__.py":
                continue
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), f"{name} is not shipped: add it to package-data"


def test_bundled_suites_are_found_from_any_directory(elsewhere: Path):
    names = {s.name: s for s in list_suites()}
    assert {"smoke", "small", "medium", "large"} <= set(names)
    assert all(s.bundled and s.lock_path.is_file() for s in names.values())
    assert search_path() == [bundled_dir()]
    smoke = load_suite("smoke")
    assert smoke.path == bundled_dir() / "smoke.toml"
    report = build(smoke, suite_cache("smoke", smoke.path))
    assert report.written and all(p.parent == elsewhere.parent / "cache" / "suites" / "smoke" for p in report.written)


def test_committed_smoke_instances_are_the_smoke_suite():
    lock = json.loads((bundled_dir() / "smoke.lock").read_text())["instances"]
    files = sorted((bundled_dir() / "smoke").glob("*.json"))
    assert {f.stem: content_hash(load(f)) for f in files} == lock


# ------------------------------------------------------------------ local folders
def _local_suite(folder: Path, name: str, manifest: str = SMALL_MANIFEST, *, lock: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text(manifest, encoding="utf-8")
    if lock:
        from schedbench.suites import write_lock

        suite = load_suite(name, folder)
        write_lock(suite, build(suite, check_lock=False).hashes)


def test_local_instances_folder_adds_and_overrides(elsewhere: Path):
    local = elsewhere / "instances"
    _local_suite(local, "mine")
    _local_suite(local, "smoke")  # same name as a bundled suite: the local one wins
    suites = {s.name: s for s in list_suites()}
    assert suites["mine"].path == local / "mine.toml" and not suites["mine"].bundled
    assert suites["smoke"].path == local / "smoke.toml" and suites["smoke"].description == "a local suite"
    assert suites["small"].bundled  # the bundled suites the folder does not name are still there
    report = build(load_suite("smoke"), suite_cache("smoke", local / "smoke.toml"))
    assert set(report.hashes) == {"mine-s0"}
    # a local override never shares its cache folder with the bundled suite of the same name
    assert suite_cache("smoke", local / "smoke.toml") != suite_cache("smoke", bundled_dir() / "smoke.toml")


def test_explicit_folder_beats_the_variable_which_beats_dot_instances(elsewhere: Path, monkeypatch):
    for folder, desc in (("instances", "dot"), ("env", "env"), ("opt", "option")):
        _local_suite(elsewhere / folder, "mine", SMALL_MANIFEST.replace("a local suite", desc), lock=False)
    assert load_suite("mine").description == "dot"
    monkeypatch.setenv(INSTANCES_ENV, str(elsewhere / "env"))
    assert load_suite("mine").description == "env"
    assert load_suite("mine", elsewhere / "opt").description == "option"


def test_cli_list_and_run_use_the_local_folder(elsewhere: Path):
    local = elsewhere.parent / "mine"
    _local_suite(local, "mine")
    res = runner.invoke(app, ["suite", "list", "--dir", str(local)])
    assert res.exit_code == 0, res.output
    rows = {line.split("│")[1].strip(): line for line in res.output.splitlines() if line.count("│") > 3}
    assert "bundled" not in rows["mine"] and "a local suite" in rows["mine"] and "bundled" in rows["smoke"]
    store = elsewhere.parent / "s.sqlite"
    res = runner.invoke(
        app,
        [
            "run",
            "--suite",
            "mine",
            "--instances-dir",
            str(local),
            "--solver",
            "greedy-bestfit",
            "--seeds",
            "1",
            "--store",
            str(store),
            "--quiet",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        runner.invoke(app, ["run", "--suite", "mine", "--solver", "greedy-bestfit", "--store", str(store)]).exit_code
        == 2
    )  # not found without the folder


def test_local_suite_without_lock_is_refused_until_locked(elsewhere: Path):
    _local_suite(elsewhere / "instances", "mine", lock=False)
    with pytest.raises(InputError, match="lock file"):
        build(load_suite("mine"))
    res = runner.invoke(app, ["suite", "lock", "mine"])
    assert res.exit_code == 0, res.output
    assert build(load_suite("mine")).hashes.keys() == {"mine-s0"}
    changed = SMALL_MANIFEST.replace("jobs = 4", "jobs = 5")
    (elsewhere / "instances" / "mine.toml").write_text(changed, encoding="utf-8")
    with pytest.raises(LockMismatchError):
        build(load_suite("mine"))


def test_unknown_suite_names_the_known_ones(elsewhere: Path):
    with pytest.raises(InputError, match=r"known suites: .*smoke"):
        load_suite("no-such-suite")


# ------------------------------------------------------------------ names
@pytest.mark.parametrize(
    "name",
    ["../x", "../../etc/passwd", "/etc/passwd", "a/b", "a\\b", "", ".", "..", ".hidden", "smoke/../smoke", "~root"],
)
def test_suite_names_cannot_leave_their_folder(name: str):
    with pytest.raises(UsageError, match="not a plain name"):
        check_name(name)
    with pytest.raises(UsageError):
        load_suite(name)


@pytest.mark.parametrize(
    "args",
    [
        ["suite", "build", "../x"],
        ["suite", "verify", "/etc/passwd"],
        ["suite", "lock", "../smoke"],
        ["run", "--suite", "../smoke", "--solver", "greedy-bestfit", "--quiet"],
    ],
)
def test_cli_refuses_a_path_as_suite_name_with_exit_2(args: list[str], elsewhere: Path):
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "not a plain name" in res.output and "Traceback" not in res.output
    assert not (elsewhere / "results").exists() and not list(elsewhere.iterdir())


def test_plain_names_pass():
    for name in ("smoke", "my-suite_2", "v1.2"):
        assert check_name(name) == name


# ------------------------------------------------------------------ cache
def test_cache_dir_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "schedbench"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "schedbench"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "opt") == tmp_path / "opt"


def test_cli_run_builds_suites_in_the_user_cache_not_the_current_directory(elsewhere: Path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(elsewhere.parent / "xdg"))
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
        str(elsewhere.parent / "s.sqlite"),
        "--quiet",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert len(list((elsewhere.parent / "xdg" / "schedbench" / "suites" / "smoke").glob("*.json"))) == 12
    assert list(elsewhere.iterdir()) == []  # no ./.cache
    res = runner.invoke(app, [*args, "--cache-dir", str(elsewhere.parent / "opt")])
    assert res.exit_code == 0, res.output
    assert len(list((elsewhere.parent / "opt" / "suites" / "smoke").glob("*.json"))) == 12


def test_suite_build_defaults_to_the_cache(elsewhere: Path):
    res = runner.invoke(app, ["suite", "build", "smoke", "--quiet"])
    assert res.exit_code == 0, res.output
    built = elsewhere.parent / "cache" / "suites" / "smoke"
    assert len(list(built.glob("*.json"))) == 12 and list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------ atomic writes, concurrent builds
_WRITER = """
import sys
from pathlib import Path
from schedbench import jsonio
path, tag, n = Path(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3])
Path(sys.argv[4]).touch()
while not Path(sys.argv[5]).exists():
    pass
for i in range(n):
    jsonio.write_bytes(path, tag * 4096)
"""


def test_concurrent_writers_of_one_file_never_collide(tmp_path: Path):
    """Two processes replace one file thousands of times at once: no error (a fixed temporary name
    made one writer's rename fail with FileNotFoundError), one whole version in the end, no leftovers."""
    target = tmp_path / "out" / "x.json"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(target), tag, "3000", str(tmp_path / f"ready{tag}"), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    while not all((tmp_path / f"ready{t}").exists() for t in ("a", "b")):
        if any(p.poll() is not None for p in procs):
            break
    go.touch()
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert target.read_bytes() in (b"a" * 4096, b"b" * 4096)
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


_BUILDER = """
import sys
from pathlib import Path
from schedbench.suites import build, load_suite
Path(sys.argv[2]).touch()
while not Path(sys.argv[3]).exists():
    pass
for _ in range(3):
    build(load_suite("smoke"), Path(sys.argv[1]))
"""


def test_two_processes_build_one_suite_at_once(tmp_path: Path):
    out = tmp_path / "suites" / "smoke"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILDER, str(out), str(tmp_path / f"ready{i}"), str(go)],
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
        if any(p.poll() is not None for p in procs):
            break
    go.touch()
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    lock = json.loads((bundled_dir() / "smoke.lock").read_text())["instances"]
    assert {f.stem: content_hash(load(f)) for f in out.iterdir()} == lock  # no temporary file left either


def test_write_bytes_leaves_no_temporary_file_on_failure(tmp_path: Path, monkeypatch):
    def broken(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(jsonio.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        jsonio.write_bytes(tmp_path / "x.json", b"{}")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ bundled campaigns
def test_bundled_campaigns_are_found_by_name(elsewhere: Path):
    want = bundled_campaigns_dir() / "smoke.toml"
    for spec in ("smoke", "smoke.toml", "campaigns/smoke.toml"):
        assert find_campaign(spec) == want
    for spec in ("no-such", "../campaigns/smoke.toml", "/smoke.toml", "other/smoke.toml"):
        assert find_campaign(spec) is None
    (elsewhere / "smoke.toml").write_text("name = 'mine'\n")
    assert find_campaign("smoke.toml") is None  # an existing file is the user's


def test_cli_runs_a_bundled_campaign_relative_to_the_current_directory(elsewhere: Path):
    res = runner.invoke(app, ["run", "campaigns/smoke.toml", "--solver", "greedy-bestfit", "--seeds", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "bundled example smoke.toml" in res.output
    # the spec's store is ../results/smoke.sqlite: as if the spec were ./campaigns/smoke.toml
    assert (elsewhere / "results" / "smoke.sqlite").is_file()


def test_cli_names_the_bundled_campaigns_when_the_spec_is_missing(elsewhere: Path):
    res = runner.invoke(app, ["run", "no-such-campaign.toml"])
    assert res.exit_code == 2 and "bundled campaign: " in res.output and "smoke" in res.output, res.output


def test_a_named_local_folder_must_exist(elsewhere: Path, monkeypatch):
    with pytest.raises(InputError, match="no such folder"):
        list_suites(elsewhere / "absent")
    monkeypatch.setenv(INSTANCES_ENV, str(elsewhere / "absent-too"))
    with pytest.raises(InputError, match="SCHEDBENCH_INSTANCES_DIR"):
        load_suite("smoke")
    res = runner.invoke(app, ["suite", "list", "--dir", str(elsewhere / "absent")])
    assert res.exit_code == 2, res.output


def test_files_that_are_no_plain_name_are_no_suites(elsewhere: Path):
    _local_suite(elsewhere / "instances", "mine", lock=False)
    (elsewhere / "instances" / "my suite.toml").write_text(SMALL_MANIFEST, encoding="utf-8")
    names = {s.name for s in list_suites()}
    assert "mine" in names and "my suite" not in names


def test_a_missing_data_package_says_how_to_fix_it(monkeypatch):
    from schedbench.suites import paths

    monkeypatch.setattr(paths, "MANIFESTS_PACKAGE", "schedbench.suites.no_such_data")
    with pytest.raises(InputError, match="pip install -e"):
        paths.bundled_dir()
