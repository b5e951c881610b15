"""The solver registry, command solvers, packaging and ``schedbench solvers list/test``.

Note: every ``*.py`` file in a ``--solvers-dir`` folder is imported, so the scripts that command
solvers run live in a subfolder (``bin/``) here, as they should in real plugin folders.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench.cli import solvers as solvers_cli
from schedbench.instances import content_hash, load
from schedbench.plugins import contract
from schedbench.plugins.command import CommandSolverError, load_config
from schedbench.plugins.registry import (
    ENTRY_POINT_GROUP,
    Registry,
    RegistryError,
    SolverEntry,
    clear_cache,
    get_registry,
)
from schedbench.plugins.solver import Context, Param, Solver
from schedbench.validator import validate

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "instances" / "smoke"
CMD_DIR = ROOT / "tests" / "data" / "command_solver"
runner = CliRunner()

GOOD_PLUGIN = """
from schedbench.plugins.solver import Param, Solver, SolveResult


class {cls}(Solver):
    name = "{name}"
    family = "greedy"
    version = "2"
    problems = {{"placement": ["max-weight"]}}
    params = (Param("k", int, 3, "a knob", minimum=1),)
    deterministic = True
    requires = {requires}

    def solve(self, instance, context):
        return SolveResult({{"problem": "placement", "assignment": {{}}}}, "feasible")
"""


def plugin(folder: Path, filename: str, name: str, cls: str = "Plug", requires: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(GOOD_PLUGIN.format(cls=cls, name=name, requires=repr(tuple(requires))), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


# ------------------------------------------------------------------ built-ins and the API
def test_builtins_found_with_their_declarations():
    reg = get_registry()
    assert {"greedy-bestfit", "random-feasible"} <= set(reg.names())
    assert reg.names() == sorted(reg.names())
    assert [e.name for e in reg.entries()] == reg.names()
    greedy = reg.get("greedy-bestfit")
    assert isinstance(greedy, SolverEntry)
    assert greedy.available and greedy.reason is None
    assert greedy.family == "greedy" and greedy.deterministic is True and isinstance(greedy.version, str)
    assert greedy.problems == {"placement": ("min-cost", "min-gpus", "max-weight")}
    assert all(isinstance(p, Param) for p in greedy.params)
    assert "solvers/greedy.py" in greedy.origin.replace("\\", "/")
    cls = greedy.load()
    assert issubclass(cls, Solver) and cls.name == "greedy-bestfit"
    baseline = reg.get("random-feasible")
    assert set(baseline.problems) == {"placement", "batch", "allocation", "online"}
    with pytest.raises(AttributeError):
        greedy.name = "other"  # frozen


def test_unknown_name_lists_known_ones():
    with pytest.raises(KeyError, match="greedy-bestfit"):
        get_registry().get("no-such-solver")


def test_get_registry_is_cached_per_dirs(tmp_path):
    plugin(tmp_path / "a", "p.py", "cached-one")
    assert get_registry() is get_registry(())
    assert get_registry([tmp_path / "a"]) is get_registry((str(tmp_path / "a"),))
    assert get_registry([tmp_path / "a"]) is not get_registry()
    assert "cached-one" in get_registry([tmp_path / "a"]) and "cached-one" not in get_registry()


def test_builtins_importable_as_package():
    import schedbench_solvers.baseline
    import schedbench_solvers.greedy

    assert Path(schedbench_solvers.greedy.__file__).parent.name == "solvers"
    assert schedbench_solvers.baseline.RandomFeasible.name == "random-feasible"


# ------------------------------------------------------------------ extra folders
def test_folder_plugin_registered(tmp_path):
    plugin(tmp_path, "mine.py", "my-solver")
    (tmp_path / "_helper.py").write_text("raise RuntimeError('private helpers are not imported')")
    (tmp_path / "notes.txt").write_text("ignored")
    reg = Registry.build([tmp_path])
    e = reg.get("my-solver")
    assert e.available and e.version == "2" and e.problems == {"placement": ("max-weight",)}
    assert e.origin.startswith(str((tmp_path / "mine.py").resolve()))
    assert e.params[0].name == "k" and e.params[0].default == 3
    cls = e.load()
    assert cls.resolve_params({"k": "5"}) == {"k": 5}
    assert "greedy-bestfit" in reg  # built-ins still there


def test_single_file_accepted(tmp_path):
    path = plugin(tmp_path, "one.py", "single-file")
    assert "single-file" in Registry.build([path], builtins=False, entry_points=False)


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(RegistryError, match="not a folder"):
        Registry.build([tmp_path / "nope"])


def test_collision_refused_naming_both_origins(tmp_path):
    a = plugin(tmp_path / "a", "x.py", "twin")
    b = plugin(tmp_path / "b", "y.py", "twin")
    with pytest.raises(RegistryError) as info:
        Registry.build([tmp_path / "a", tmp_path / "b"])
    msg = str(info.value)
    assert "'twin'" in msg and str(a.resolve()) in msg and str(b.resolve()) in msg


def test_collision_with_builtin_refused(tmp_path):
    plugin(tmp_path, "x.py", "greedy-bestfit")
    with pytest.raises(RegistryError, match=r"greedy-bestfit.*solvers/greedy\.py"):
        Registry.build([tmp_path])


def test_same_folder_twice_is_not_a_collision(tmp_path):
    plugin(tmp_path, "x.py", "only-once")
    reg = Registry.build([tmp_path, tmp_path], builtins=False, entry_points=False)
    assert reg.names() == ["only-once"]


@pytest.mark.parametrize("bad", ["Upper", "-lead", "under_score", "", "sp ace"])
def test_invalid_name_refused(tmp_path, bad):
    plugin(tmp_path, "x.py", bad)
    with pytest.raises(RegistryError, match="name"):
        Registry.build([tmp_path], builtins=False, entry_points=False)


@pytest.mark.parametrize(
    ("attr", "source", "match"),
    [
        ("problems", '{"placement": ["no-such-objective"]}', "objectives of placement"),
        ("problems", '{"scheduling": ["makespan"]}', "problem classes"),
        ("problems", "{}", "non-empty mapping"),
        ("problems", '{"placement": "max-weight"}', "tuple of objective names"),
        ("family", '""', "family"),
        ("params", '(Param("k", int, "x"),)', "default"),
        ("params", '(Param("k", int, 1), Param("k", int, 2))', "unique"),
        ("deterministic", '"yes"', "boolean"),
        ("requires", '"numpy"', "module names"),
        ("requires", '("numpy..linalg",)', "module names"),
        ("preload", '"yes"', "boolean"),
        ("model_formats", '"mps"', "file formats"),
    ],
)
def test_invalid_declarations_refused(tmp_path, attr, source, match):
    path = plugin(tmp_path, "x.py", "decl")
    path.write_text(path.read_text() + f"\nPlug.{attr} = {source}\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=match):
        Registry.build([tmp_path], builtins=False, entry_points=False)


def test_failed_import_listed_unavailable_others_work(tmp_path):
    (tmp_path / "needs_dep.py").write_text("import schedbench_no_such_dependency\n", encoding="utf-8")
    (tmp_path / "broken_syntax.py").write_text("def oops(:\n", encoding="utf-8")
    plugin(tmp_path, "fine.py", "still-works")
    reg = Registry.build([tmp_path])
    dep = reg.get("needs-dep")
    assert not dep.available
    assert "schedbench_no_such_dependency" in dep.reason and "ModuleNotFoundError" in dep.reason
    assert str((tmp_path / "needs_dep.py").resolve()) in dep.origin
    assert not reg.get("broken-syntax").available and "SyntaxError" in reg.get("broken-syntax").reason
    with pytest.raises(RegistryError, match="unavailable"):
        dep.load()
    assert reg.get("still-works").available and reg.get("still-works").load().name == "still-works"
    assert reg.get("greedy-bestfit").available


def test_requires_missing_module_unavailable_without_importing_it(tmp_path):
    plugin(tmp_path, "a.py", "needs-missing", cls="A", requires=("schedbench_missing_mod", "json"))
    plugin(tmp_path, "b.py", "needs-present", cls="B", requires=("json", "numpy.linalg"))
    plugin(tmp_path, "c.py", "needs-missing-parent", cls="C", requires=("schedbench_nope.sub",))
    reg = Registry.build([tmp_path], builtins=False, entry_points=False)
    missing = reg.get("needs-missing")
    assert not missing.available and missing.reason == "missing module: schedbench_missing_mod"
    assert missing.problems == {"placement": ("max-weight",)}  # still described
    assert reg.get("needs-present").available
    assert not reg.get("needs-missing-parent").available
    assert "schedbench_missing_mod" not in sys.modules


def test_plugin_calling_sys_exit_on_import_is_contained(tmp_path):
    (tmp_path / "quitter.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    reg = Registry.build([tmp_path], builtins=False, entry_points=False)
    assert not reg.get("quitter").available and "sys.exit" in reg.get("quitter").reason


# ------------------------------------------------------------------ entry points
def _fake_entry_points(monkeypatch, *eps: importlib.metadata.EntryPoint) -> None:
    real = importlib.metadata.entry_points

    def fake(**kwargs):
        if kwargs.get("group") == ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints(eps)
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)


def test_entry_points_class_and_module(tmp_path, monkeypatch):
    pkg = tmp_path / "site"
    plugin(pkg, "ep_class_mod.py", "ep-class", cls="EpClass")
    plugin(pkg, "ep_module_mod.py", "ep-module", cls="EpModule")
    monkeypatch.syspath_prepend(str(pkg))
    EP = importlib.metadata.EntryPoint
    _fake_entry_points(
        monkeypatch,
        EP("cls", "ep_class_mod:EpClass", ENTRY_POINT_GROUP),
        EP("mod", "ep_module_mod", ENTRY_POINT_GROUP),
        EP("broken", "ep_no_such_module_xyz:Thing", ENTRY_POINT_GROUP),
        EP("again", "schedbench_solvers.greedy:GreedyBestFit", ENTRY_POINT_GROUP),
    )
    reg = Registry.build()
    assert reg.get("ep-class").available and "entry point 'cls'" in reg.get("ep-class").origin
    assert reg.get("ep-module").load().__name__ == "EpModule"
    broken = reg.get("broken")
    assert not broken.available and "ep_no_such_module_xyz" in broken.reason
    # the same class reached by the built-in scan and an entry point is not a collision
    assert "built-in" in reg.get("greedy-bestfit").origin


def test_entry_point_collision_names_both(tmp_path, monkeypatch):
    pkg = tmp_path / "site"
    plugin(pkg, "ep_twin.py", "twin-ep", cls="Twin")
    monkeypatch.syspath_prepend(str(pkg))
    _fake_entry_points(monkeypatch, importlib.metadata.EntryPoint("twin", "ep_twin:Twin", ENTRY_POINT_GROUP))
    other = plugin(tmp_path / "dir", "other.py", "twin-ep")
    with pytest.raises(RegistryError) as info:
        Registry.build([tmp_path / "dir"])
    assert "entry point 'twin'" in str(info.value) and str(other.resolve()) in str(info.value)


def test_entry_point_to_non_solver_refused(monkeypatch):
    _fake_entry_points(monkeypatch, importlib.metadata.EntryPoint("bad", "json:dumps", ENTRY_POINT_GROUP))
    with pytest.raises(RegistryError, match="Solver subclass"):
        Registry.build()


def test_entry_points_from_an_installed_distribution(tmp_path, monkeypatch):
    """A real distribution (dist-info with entry_points.txt) on sys.path, no monkeypatching of metadata."""
    site = tmp_path / "site"
    plugin(site, "sbtest_dist_plugin.py", "dist-solver", cls="DistSolver")
    info = site / "sbtest_dist_plugin-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sbtest-dist-plugin\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ndist = sbtest_dist_plugin:DistSolver\n")
    monkeypatch.syspath_prepend(str(site))
    entry = Registry.build().get("dist-solver")
    assert entry.available and "sbtest-dist-plugin 0.3" in entry.origin


# ------------------------------------------------------------------ command solvers
def test_command_solver_end_to_end():
    reg = get_registry([CMD_DIR])
    entry = reg.get("first-fit-cmd")
    assert entry.available and entry.family == "external" and entry.deterministic
    assert "first-fit.toml" in entry.origin
    assert [p.name for p in entry.params] == ["order"]
    cls = entry.load()
    for path in sorted(SMOKE.glob("placement-*.json")):
        inst = load(path)
        before = content_hash(inst)
        for order in ("decreasing", "input"):
            res = cls().solve(inst, Context(10, 1, cls.resolve_params({"order": order})))
            verdict = validate(inst, res.solution)
            if order == "decreasing":
                assert verdict.feasible, (path.name, verdict.violations)
                assert res.status == "feasible"
            else:  # plain first fit may fail the all-jobs objectives; then it claims nothing
                assert verdict.feasible or res.status == "unknown"
        assert content_hash(inst) == before


def test_command_solver_through_the_harness():
    from schedbench.runner.execute import execute
    from schedbench.runs import RunTask

    path = SMOKE / "placement-gpus-s0.json"
    inst = load(path)
    task = RunTask(
        instance_path=str(path),
        instance_hash=content_hash(inst),
        instance_name=inst.name,
        solver="first-fit-cmd",
        solver_version="1",
        params={"order": "decreasing"},
        seed=0,
        time_limit=20.0,
        solvers_dirs=(str(CMD_DIR),),
    )
    rec = execute(task)
    assert rec.status == "feasible" and rec.feasible, rec.reason
    assert "placed 12 of 12 jobs" in rec.log_tail


def test_command_argv_placeholders():
    cfg = load_config(CMD_DIR / "first-fit.toml")
    argv = cfg.argv(
        instance="/i.json", solution="/s.json", time_limit=2.5, seed=7, threads=2, params={"order": "input"}
    )
    assert argv == [
        sys.executable,
        "first_fit.py",
        "/i.json",
        "/s.json",
        "--time-limit",
        "2.5",
        "--seed",
        "7",
        "--order",
        "input",
    ]
    assert cfg.cwd == (CMD_DIR / "bin").resolve()


def write_toml(folder: Path, body: str, name: str = "cmd.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_command_failure_raises_with_stderr_tail(tmp_path):
    write_toml(
        tmp_path,
        """
        name = "always-fails"
        version = "1"
        problems = { placement = ["max-weight"] }
        command = ["{python}", "-c", "import sys; sys.stderr.write('boom: no license'); sys.exit(3)", "{instance}",
                   "{solution}"]
    """,
    )
    cls = Registry.build([tmp_path], builtins=False, entry_points=False).get("always-fails").load()
    inst = load(SMOKE / "placement-weight-s0.json")
    with pytest.raises(CommandSolverError, match=r"(?s)status 3.*boom: no license"):
        cls().solve(inst, Context(10, 0, {}))


def test_command_without_solution_file_raises(tmp_path):
    write_toml(
        tmp_path,
        """
        name = "writes-nothing"
        version = "1"
        problems = { placement = ["max-weight"] }
        command = ["{python}", "-c", "pass", "{instance}", "{solution}"]
    """,
    )
    cls = Registry.build([tmp_path], builtins=False, entry_points=False).get("writes-nothing").load()
    with pytest.raises(CommandSolverError, match="no solution file"):
        cls().solve(load(SMOKE / "placement-weight-s0.json"), Context(10, 0, {}))


def test_command_status_and_bound_from_the_solution(tmp_path):
    # the script sits in bin/: a .py file in the solvers folder itself would be imported as a plugin
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "say.py").write_text(
        "import json, sys\njson.dump({'status': 'infeasible', 'bound': 3}, open(sys.argv[2], 'w'))\n"
    )
    write_toml(
        tmp_path,
        """
        name = "says-infeasible"
        version = "1"
        problems = { placement = ["min-cost"] }
        command = ["{python}", "bin/say.py", "{instance}", "{solution}"]
    """,
    )
    cls = Registry.build([tmp_path], builtins=False, entry_points=False).get("says-infeasible").load()
    res = cls().solve(load(SMOKE / "placement-cost-s0.json"), Context(10, 0, {}))
    assert res.solution is None and res.status == "infeasible" and res.bound == 3.0


def test_command_timeout_kills_the_program(tmp_path):
    write_toml(
        tmp_path,
        """
        name = "sleeper"
        version = "1"
        problems = { placement = ["max-weight"] }
        command = ["{python}", "-c", "import time; time.sleep(60)", "{instance}", "{solution}"]
    """,
    )
    cls = Registry.build([tmp_path], builtins=False, entry_points=False).get("sleeper").load()
    with pytest.raises(CommandSolverError, match="did not finish"):
        cls().solve(load(SMOKE / "placement-weight-s0.json"), Context(1.0, 0, {}))


def test_command_program_not_found_is_unavailable(tmp_path):
    write_toml(
        tmp_path,
        """
        name = "ghost"
        version = "1"
        problems = { batch = ["makespan"] }
        command = ["./no-such-binary", "{instance}", "{solution}"]
    """,
    )
    entry = Registry.build([tmp_path], builtins=False, entry_points=False).get("ghost")
    assert not entry.available and "no-such-binary" in entry.reason


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('name = "x"\nversion = \n', "valid TOML"),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\n'
            'command = ["a", "{instance}", "{solution}"]'
            '\ncolour = "red"\n',
            "unknown field 'colour'",
        ),
        ('name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\n', "command"),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\ncommand = ["a", "{instance}"]\n',
            "solution",
        ),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\n'
            'command = ["a", "{instance}", "{solution}", "{colour}"]\n',
            "colour",
        ),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\n'
            'command = ["a", "{instance}", "{solution}", "{param:k}"]\n',
            "declared parameter",
        ),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\n'
            'command = ["a", "{instance}", "{solution}"]\n[[params]]\nname = "k"\ntype = "complex"\ndefault = 1\n',
            "type",
        ),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\n'
            'command = ["a", "{instance}", "{solution}"]\n[[params]]\nname = "k"\ntype = "int"\ndefault = "many"\n',
            "default",
        ),
        (
            'name = "Bad_Name"\nversion = "1"\nproblems = { placement = ["max-weight"] }\n'
            'command = ["a", "{instance}", "{solution}"]\n',
            "name",
        ),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["fastest"] }\n'
            'command = ["a", "{instance}", "{solution}"]\n',
            "objectives of placement",
        ),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\n'
            'command = ["a", "{instance}", "{solution}"]\ncwd = "no/such/dir"\n',
            "cwd",
        ),
        (
            'name = "x"\nversion = "1"\nproblems = { placement = ["max-weight"] }\ncommand = ["a {", "{instance}", '
            '"{solution}"]\n',
            "stray",
        ),
    ],
)
def test_bad_toml_gives_a_clear_error(tmp_path, body, match):
    path = write_toml(tmp_path, body, "bad.toml")
    with pytest.raises(RegistryError, match=match) as info:
        Registry.build([tmp_path], builtins=False, entry_points=False)
    assert str(path) in str(info.value)


def test_command_solver_given_by_path_and_params_converted(tmp_path):
    path = write_toml(
        tmp_path,
        """
        name = "by-path"
        version = 3
        problems = { allocation = ["max-throughput"] }
        command = ["{python}", "x.py", "{instance}", "{solution}", "--eps={param:eps}", "{{literal}}"]
        [[params]]
        name = "eps"
        type = "float"
        default = 1
        minimum = 0
    """,
    )
    entry = Registry.build([path], builtins=False, entry_points=False).get("by-path")
    assert entry.version == "3" and entry.params[0].default == 1.0 and isinstance(entry.params[0].default, float)
    cfg = load_config(path)
    argv = cfg.argv(instance="i", solution="s", time_limit=1, seed=0, threads=1, params={"eps": 0.5})
    assert argv[-2:] == ["--eps=0.5", "{literal}"]


# ------------------------------------------------------------------ variants, capabilities, derived lists
VARIANT_PLUGIN = """
from schedbench.plugins.solver import Param, Solver, SolveResult


class Base(Solver):
    name = "knob"
    family = "greedy"
    problems = {"placement": ("max-weight",)}
    params = (Param("k", int, 3, "a knob", minimum=1), Param("mode", str, "a", choices=("a", "b")))

    def solve(self, instance, context):
        return SolveResult({"problem": "placement", "assignment": {}}, "feasible", info=dict(context.params))


KnobB = Base.variant("knob-b", mode="b", k=7)
"""


def test_one_implementation_under_several_names(tmp_path):
    (tmp_path / "v.py").write_text(VARIANT_PLUGIN, encoding="utf-8")
    reg = Registry.build([tmp_path], builtins=False, entry_points=False)
    assert reg.names() == ["knob", "knob-b"]
    base, variant = reg.get("knob"), reg.get("knob-b")
    assert [p.default for p in base.params] == [3, "a"] and [p.default for p in variant.params] == [7, "b"]
    assert variant.description == "knob with mode='b', k=7"
    cls = variant.load()
    assert issubclass(cls, base.load()) and cls.resolve_params({}) == {"k": 7, "mode": "b"}
    assert cls.resolve_params({"mode": "a"}) == {"k": 7, "mode": "a"}  # still a parameter
    with pytest.raises(ValueError, match="no parameter 'colour'"):
        base.load().variant("x", colour="red")
    with pytest.raises(ValueError, match="expected one of"):
        base.load().variant("x", mode="c")
    (tmp_path / "w.py").write_text(
        VARIANT_PLUGIN.replace('"knob"', '"knob-b"').replace("KnobB = ", "# "), encoding="utf-8"
    )
    with pytest.raises(RegistryError, match="registered twice"):  # a variant's name collides like any other
        Registry.build([tmp_path], builtins=False, entry_points=False)


def test_dotted_requires_check_the_top_level_package_without_importing(tmp_path):
    plugin(tmp_path, "a.py", "deep-missing", cls="A", requires=("schedbench_absent_pkg.sub.mod",))
    plugin(tmp_path, "b.py", "deep-present", cls="B", requires=("json.decoder",))
    reg = Registry.build([tmp_path], builtins=False, entry_points=False)
    assert reg.get("deep-missing").reason == "missing module: schedbench_absent_pkg"
    assert reg.get("deep-present").available and reg.get("deep-present").requires == ("json.decoder",)


def test_preload_and_recorded_versions_derive_from_requires():
    from schedbench.plugins.registry import CORE_PRELOAD, preload_modules, required_distributions
    from schedbench.runner.env import environment
    from schedbench.runner.execute import Executor
    from schedbench.runner.worker import default_preload

    entries = get_registry().entries()
    preload = preload_modules()
    assert preload[: len(CORE_PRELOAD)] == CORE_PRELOAD and len(set(preload)) == len(preload)
    for e in entries:
        if e.available and e.preload:
            assert set(e.requires) <= set(preload), e.name
    assert get_registry().get("ilp-highs").requires[0] in preload
    rl = get_registry().get("rl-ppo")
    assert rl.preload is False and "torch" in rl.requires and "torch" not in preload  # too large for every worker
    assert default_preload() == preload and Executor().preload == preload
    dists = required_distributions()
    assert dists[0] == "schedbench" and {"numpy", "scipy", "highspy", "deap", "torch"} <= set(dists)
    assert "sb3-contrib" in dists or "sb3_contrib" in dists  # a distribution's name, not the module's, when installed
    assert set(environment()["packages"]) == set(dists)
    fake = [
        SolverEntry("a", "greedy", "1", {}, (), True, "", "test", requires=("m1.sub", "m2")),
        SolverEntry("b", "greedy", "1", {}, (), True, "", "test", requires=("m3",), preload=False),
        SolverEntry("c", "greedy", "1", {}, (), True, "", "test", available=False, requires=("m4",)),
    ]
    assert preload_modules(fake) == (*CORE_PRELOAD, "m1.sub", "m2")
    assert required_distributions(fake)[-4:] == ("m1", "m2", "m3", "m4")  # recorded (as missing) all the same


EXPORTER_PLUGIN = """
from pathlib import Path

from schedbench.plugins.solver import Param, Solver, SolveResult


class Exporter(Solver):
    name = "txt-exporter"
    family = "ilp"
    problems = {"placement": ("min-cost",)}
    params = (Param("scale", float, 1.0),)
    model_formats = ("txt",)
    requires = REQUIRES

    def solve(self, instance, context):
        return None

    def export_model(self, instance, path, fmt, params):
        path.write_text(f"{fmt} {instance.name} {params['scale']}\\n")
        return path
"""


def test_export_model_is_an_optional_capability(tmp_path):
    from schedbench.plugins.export_model import DEFAULT_SOLVER, export_model

    inst = load(SMOKE / "placement-cost-s0.json")
    reg = get_registry()
    assert DEFAULT_SOLVER in [e.name for e in reg.exporters("mps")] and reg.get(DEFAULT_SOLVER).model_formats
    assert "greedy-bestfit" not in [e.name for e in reg.exporters()]
    with pytest.raises(ValueError, match=r"'greedy-bestfit' exports no model; solvers exporting mps: .*ilp-highs"):
        export_model(inst, tmp_path / "m.mps", "mps", solver="greedy-bestfit")
    with pytest.raises(KeyError, match="unknown solver"):
        export_model(inst, tmp_path / "m.mps", "mps", solver="no-such-solver")
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "exp.py").write_text(EXPORTER_PLUGIN.replace("REQUIRES", "()"), encoding="utf-8")
    out = export_model(
        inst, tmp_path / "m.txt", "txt", solver="txt-exporter", params={"scale": "2.5"}, solvers_dirs=[folder]
    )
    assert out.read_text() == f"txt {inst.name} 2.5\n"
    with pytest.raises(ValueError, match="writes txt"):
        export_model(inst, tmp_path / "m.mps", "mps", solver="txt-exporter", solvers_dirs=[folder])
    with pytest.raises(ValueError, match="parameter 'scale'"):
        export_model(
            inst, tmp_path / "m.txt", "txt", solver="txt-exporter", params={"scale": "big"}, solvers_dirs=[folder]
        )
    lacking = tmp_path / "lacking"
    lacking.mkdir()
    (lacking / "exp.py").write_text(EXPORTER_PLUGIN.replace("REQUIRES", '("schedbench_absent_lp",)'), encoding="utf-8")
    with pytest.raises(ImportError, match="schedbench_absent_lp"):
        export_model(inst, tmp_path / "m.txt", "txt", solver="txt-exporter", solvers_dirs=[lacking])
    with pytest.raises(NotImplementedError):
        Solver.export_model(reg.get("greedy-bestfit").load()(), inst, tmp_path / "x", "mps", {})


def test_plugin_layer_imports_no_cycle_and_no_plugin():
    """The command solvers do not import the registry (the registry reads their files), and no
    module of the plugin layer imports a built-in plugin's module."""
    import ast

    def imports(path: Path) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        return found

    layer = ROOT / "schedbench" / "plugins"
    assert not any(m.startswith("schedbench.plugins.registry") for m in imports(layer / "command.py"))
    assert not any(m.startswith("schedbench.plugins.registry") for m in imports(layer / "declarations.py"))
    for f in layer.glob("*.py"):
        assert not any(m.startswith("schedbench_solvers") for m in imports(f)), f.name


# ------------------------------------------------------------------ packaging
def test_pyproject_lists_every_package():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    st = doc["tool"]["setuptools"]
    assert st["package-dir"]["schedbench_solvers"] == "solvers"
    listed = set(st["packages"])
    found = {
        ".".join(p.relative_to(ROOT).parts)
        for p in (ROOT / "schedbench").rglob("*")
        if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))
    }
    found.add("schedbench")
    found |= {
        ".".join(("schedbench_solvers", *p.relative_to(ROOT / "solvers").parts))
        for p in (ROOT / "solvers").rglob("*")
        if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))
    }
    missing = sorted(found - listed)
    assert not missing, (
        f"add {missing} to [tool.setuptools] packages in pyproject.toml, or a wheel install will lack them"
    )
    assert "schedbench_solvers" in listed


def test_smoke_instances_are_the_bundled_smoke_suite():
    """The contract tests' instances are the bundled smoke folder, and they are the smoke suite's
    build: the same names and hashes as its lock."""
    files, source = contract.smoke_instances()
    assert Path(source) == ROOT / "instances" / "smoke"
    lock = json.loads((ROOT / "instances" / "smoke.lock").read_text())["instances"]
    assert {f.stem: content_hash(load(f)) for f in files} == lock


# ------------------------------------------------------------------ CLI
def invoke(*args: object):
    result = runner.invoke(solvers_cli.app, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_cli_list_table_and_json(tmp_path):
    (tmp_path / "needs_dep.py").write_text("import schedbench_no_such_dependency\n", encoding="utf-8")
    res = invoke("list", "--solvers-dir", tmp_path)
    assert res.exit_code == 0, res.output
    assert "greedy-bestfit" in res.output and "needs-dep" in res.output and "ModuleNotFoundError" in res.output
    res = invoke("list", "--json", "--solvers-dir", tmp_path)
    (dep,) = [d for d in json.loads(res.output) if d["name"] == "needs-dep"]
    assert dep["available"] is False and "schedbench_no_such_dependency" in dep["reason"]
    res = invoke("list", "--json", "--solvers-dir", CMD_DIR)
    assert res.exit_code == 0
    docs = {d["name"]: d for d in json.loads(res.output)}
    assert docs["random-feasible"]["problems"]["online"][0] == "mean-jct"
    assert docs["first-fit-cmd"]["params"][0] == {
        "name": "order",
        "type": "str",
        "default": "decreasing",
        "help": "job order: decreasing size, or the instance's",
        "choices": ["decreasing", "input"],
    }
    assert docs["greedy-bestfit"]["available"] is True
    assert docs["greedy-bestfit"]["model_formats"] == [] and docs["ilp-highs"]["model_formats"] == ["mps", "lp"]
    assert "highspy" in docs["ilp-highs"]["requires"]


def test_cli_list_collision_is_exit_2(tmp_path):
    plugin(tmp_path, "x.py", "greedy-bestfit")
    res = invoke("list", "--solvers-dir", tmp_path)
    assert res.exit_code == 2 and "registered twice" in res.output


@pytest.mark.parametrize("name", ["greedy-bestfit", "random-feasible"])
def test_cli_contract_tests_pass_for_builtins(name):
    res = invoke("test", name, "--json", "--time-limit", "20")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["passed"] is True
    kinds = {c["check"] for c in doc["checks"]}
    assert kinds == {"declaration", "answer", "time-limit", "determinism"}
    answered = {c["subject"] for c in doc["checks"] if c["check"] == "answer"}
    smoke = {p.stem for p in SMOKE.glob("*.json")}
    if name == "random-feasible":
        assert answered == smoke
    else:
        assert answered == {s for s in smoke if s.startswith("placement")}


def test_cli_contract_tests_of_the_command_solver():
    res = invoke("test", "first-fit-cmd", "--solvers-dir", CMD_DIR, "--time-limit", "20")
    assert res.exit_code == 0, res.output
    assert "all 10 checks passed" in res.output


BAD_PLUGINS = """
import os

from schedbench.plugins.solver import Solver, SolveResult


class Cheater(Solver):
    name = "cheater"
    family = "baseline"
    problems = {"placement": ("min-cost",)}

    def solve(self, instance, context):  # places nothing: infeasible for min-cost
        return SolveResult({"problem": "placement", "assignment": {}}, "feasible")


class Fickle(Solver):
    name = "fickle"
    family = "baseline"
    problems = {"allocation": ("max-throughput", "max-min-fairness")}
    deterministic = True

    def solve(self, instance, context):  # claims determinism but ignores the seed
        j = instance.jobs.ids[0]
        t = instance.type_ids[int(instance.jobs.eligible[0].argmax())]
        share = int.from_bytes(os.urandom(4), "big") / 2**32 * 1e-3
        return {"problem": "allocation", "allocation": {j: {t: share}}}
"""


def test_cli_contract_failures_exit_1(tmp_path):
    (tmp_path / "bad.py").write_text(BAD_PLUGINS, encoding="utf-8")
    res = invoke("test", "cheater", "--solvers-dir", tmp_path, "--json")
    assert res.exit_code == 1
    doc = json.loads(res.output)
    failed = [c for c in doc["checks"] if not c["ok"]]
    assert failed and all(c["check"] in ("answer", "determinism") for c in failed)
    assert any("unplaced" in c["detail"] for c in failed)
    res = invoke("test", "fickle", "--solvers-dir", tmp_path, "--json")
    assert res.exit_code == 1
    doc = json.loads(res.output)
    answers = [c for c in doc["checks"] if c["check"] == "answer"]
    # allocation-mmf-* has max-min-fairness, declared; both answered and feasible
    assert answers and all(c["ok"] for c in answers)
    assert any(c["check"] == "determinism" and not c["ok"] for c in doc["checks"])


def test_cli_contract_retargets_undeclared_objectives(tmp_path):
    (tmp_path / "tp.py").write_text(
        BAD_PLUGINS.replace('("max-throughput", "max-min-fairness")', '("max-throughput",)'), encoding="utf-8"
    )
    res = invoke("test", "fickle", "--solvers-dir", tmp_path, "--json")
    doc = json.loads(res.output)
    subjects = [c["subject"] for c in doc["checks"] if c["check"] == "answer"]
    assert subjects == ["allocation-mmf-s0@max-throughput", "allocation-mmf-s1@max-throughput"]
    assert all("max-throughput" in c["detail"] for c in doc["checks"] if c["check"] == "answer")


def test_cli_contract_unavailable_and_bad_input(tmp_path):
    plugin(tmp_path, "p.py", "lacks-dep", requires=("schedbench_missing_mod",))
    res = invoke("test", "lacks-dep", "--solvers-dir", tmp_path, "--json")
    assert res.exit_code == 1
    (check,) = json.loads(res.output)["checks"]
    assert check["check"] == "declaration" and not check["ok"] and "schedbench_missing_mod" in check["detail"]
    res = invoke("test", "no-such-solver")
    assert res.exit_code == 2 and "unknown solver" in res.output
    res = invoke("test", "greedy-bestfit", "--param", "order=sideways")
    assert res.exit_code == 2 and "order" in res.output
    res = invoke("test", "greedy-bestfit", "--time-limit", "0")
    assert res.exit_code == 2
