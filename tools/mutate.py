#!/usr/bin/env python3
"""Mutation testing for the judge: the validator (``schedbench/validator/*.py``) and the strict
instance loader (``schedbench/instances/io.py``).

One mutation at a time is applied to one module, and that module's focused tests are run against
it (``pytest -x -q``, one process, a per-mutant timeout). A mutant is *killed* when the tests fail,
*survived* when they pass, *timeout* when they run past the limit (counted as killed: the change was
noticed), *error* when the run could not be judged (pytest usage error, collection error of an
unrelated kind are still failures and count as killed).

Mutations (each applied alone; locations are the original file's line:column):

* ``cmp``: ``<``/``<=``, ``>``/``>=`` swapped; ``==``/``!=``, ``is``/``is not``, ``in``/``not in``
  negated;
* ``arith``: ``+``/``-`` swapped (also ``+=``/``-=``);
* ``bool``: ``and``/``or`` swapped; ``bit``: ``&``/``|`` swapped;
* ``tol``: a float literal with ``0 < |x| <= 1e-3`` (every tolerance: ``RTOL``, ``ATOL``,
  ``TIME_ATOL``, ``SHARE_TOL``, inline ``1e-9`` ...) multiplied by 10 or divided by 10;
* ``del``: a statement deleted (replaced by ``pass``): a ``raise``, or a call statement whose method
  is ``add``/``add_many``/``add_count``/``append``/``extend`` (reporting a violation, collecting).

The working tree is never written: the tests run in a child ``pytest`` that loads this file as a
plugin (``-p mutate``); the plugin installs an import hook that compiles the mutated module from a
snapshot of its source taken when the run started (so helpers editing the tree meanwhile do not
change the mutants), under the original file name. Hypothesis runs derandomized without its example
database, so a run is deterministic and one mutant's counterexample never leaks into another's run.

Known survivors that are equivalent (no observable change) or change only a message are listed in
``tools/mutation_equivalents.txt`` (TAB-separated: file, change, source line, reason); they are reported as
``equivalent`` and left out of the score. Documentation: ``docs/testing.md``.

Usage::

    .venv/bin/python tools/mutate.py                       # every mutant, every target
    .venv/bin/python tools/mutate.py --files schedbench/validator/batch.py --json out.json
    .venv/bin/python tools/mutate.py --list                # the mutants, without running them
    .venv/bin/python tools/mutate.py --files schedbench/instances/io.py --ops del,tol --only 3,7-12
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.abc
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Target module -> focused test files that must kill its mutants. Any ``schedbench/validator/*.py``
#: not listed uses :data:`VALIDATOR_TESTS`.
VALIDATOR_TESTS = ("tests/test_validator.py",)
TESTS: dict[str, tuple[str, ...]] = {
    "schedbench/validator/online.py": ("tests/test_online.py", "tests/test_validator.py"),
    "schedbench/validator/overheads.py": ("tests/test_online.py", "tests/test_validator.py"),
    "schedbench/validator/common.py": ("tests/test_validator.py", "tests/test_online.py"),
    "schedbench/validator/result.py": ("tests/test_validator.py", "tests/test_online.py"),
    "schedbench/instances/io.py": ("tests/test_instances.py",),
}
DEFAULT_TARGETS = ("schedbench/validator/*.py", "schedbench/instances/io.py")
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents.txt"
OPS = ("cmp", "arith", "bool", "bit", "tol", "del")

_CMP_SWAP: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_BIN_SWAP: dict[type, tuple[str, type]] = {
    ast.Add: ("arith", ast.Sub),
    ast.Sub: ("arith", ast.Add),
    ast.BitAnd: ("bit", ast.BitOr),
    ast.BitOr: ("bit", ast.BitAnd),
}
_SYMBOL = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Add: "+",
    ast.Sub: "-",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.And: "and",
    ast.Or: "or",
}
_DELETABLE_CALLS = {"add", "add_many", "add_count", "append", "extend"}
_STMT_FIELDS = ("body", "orelse", "finalbody")


@dataclass(frozen=True)
class Mutant:
    """One mutation of one file. ``node``/``sub`` locate it in :func:`_nodes`' order of a fresh parse."""

    file: str  # repository-relative path
    index: int  # position in the file's mutant list
    node: int
    sub: int
    op: str  # cmp | arith | bool | bit | tol | del
    change: str  # e.g. "< -> <=", "1e-09 -> 1e-08", "delete viol.add_many(...)"
    line: int
    col: int
    source: str  # the original source line, stripped

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col + 1}"


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` in a deterministic order (ast.walk's breadth-first order)."""
    return list(ast.walk(tree))


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _deletable(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Raise):
        return "raise"
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        fn = stmt.value.func
        name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else None
        if name in _DELETABLE_CALLS:
            return name
    return None


def _in_type_checking_or_annotation(tree: ast.AST) -> set[int]:
    """ids of nodes inside annotations (mutating them changes nothing at run time)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        anns = []
        if isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None:
            anns.append(node.annotation)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            anns.append(node.returns)
        for ann in anns:
            skip.update(id(n) for n in ast.walk(ann))
    return skip


_Found = tuple[int, int, int, int, str, str]  # line, col, node index, sub, op, change


def _expression_mutants(node: ast.AST, i: int, docs: set[int]) -> list[_Found]:
    """The cmp, arith, bit, bool and tol mutants of expression node ``node`` (number ``i`` in walk order)."""
    if isinstance(node, ast.Compare):
        return [
            (node.lineno, node.col_offset, i, k, "cmp", f"{_SYMBOL[type(cop)]} -> {_SYMBOL[_CMP_SWAP[type(cop)]]}")
            for k, cop in enumerate(node.ops)
        ]
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BIN_SWAP:
        op, new = _BIN_SWAP[type(node.op)]
        aug = "=" if isinstance(node, ast.AugAssign) else ""
        return [(node.lineno, node.col_offset, i, 0, op, f"{_SYMBOL[type(node.op)]}{aug} -> {_SYMBOL[new]}{aug}")]
    if isinstance(node, ast.BoolOp):
        new_name = "or" if isinstance(node.op, ast.And) else "and"
        return [(node.lineno, node.col_offset, i, 0, "bool", f"{_SYMBOL[type(node.op)]} -> {new_name}")]
    if (
        isinstance(node, ast.Constant)
        and type(node.value) is float
        and id(node) not in docs
        and 0 < abs(node.value) <= 1e-3
    ):
        return [
            (node.lineno, node.col_offset, i, 0, "tol", f"{node.value:g} -> {node.value * 10:g}"),
            (node.lineno, node.col_offset, i, 1, "tol", f"{node.value:g} -> {node.value / 10:g}"),
        ]
    return []


def _deletion_mutants(node: ast.AST, i: int) -> list[_Found]:
    """The del mutants of the statements directly in ``node``'s bodies and exception handlers."""
    found: list[_Found] = []
    for fld in _STMT_FIELDS:
        body = getattr(node, fld, None)
        if not isinstance(body, list):
            continue
        for k, stmt in enumerate(body):
            what = _deletable(stmt) if isinstance(stmt, ast.stmt) else None
            if what is not None:
                sub = _STMT_FIELDS.index(fld) * 100_000 + k
                text = ast.unparse(stmt).splitlines()[0]
                found.append((stmt.lineno, stmt.col_offset, i, sub, "del", f"delete {text[:60]}"))
    if isinstance(node, ast.Try):
        for h_i, handler in enumerate(node.handlers):
            for k, stmt in enumerate(handler.body):
                if _deletable(stmt) is not None:
                    text = ast.unparse(stmt).splitlines()[0]
                    found.append(
                        (stmt.lineno, stmt.col_offset, i, 1_000_000 + h_i * 10_000 + k, "del", f"delete {text[:60]}")
                    )
    return found


def mutants_of(rel: str, source: str) -> list[Mutant]:
    """Every mutant of ``source`` (the text of repository file ``rel``), in a stable order."""
    tree = ast.parse(source)
    lines = source.splitlines()
    docs = _docstring_nodes(tree)
    skip = _in_type_checking_or_annotation(tree)
    found: list[_Found] = []
    for i, node in enumerate(_nodes(tree)):
        if id(node) in skip:
            continue
        found += _expression_mutants(node, i, docs)
        found += _deletion_mutants(node, i)
    found.sort(key=lambda f: (f[0], f[1], f[2], f[3], f[5]))
    return [
        Mutant(rel, n, node, sub, op, change, line, col, lines[line - 1].strip())
        for n, (line, col, node, sub, op, change) in enumerate(found)
    ]


def mutated_tree(source: str, m: Mutant) -> ast.Module:
    """``source`` parsed, with mutant ``m`` applied."""
    tree = ast.parse(source)
    node = _nodes(tree)[m.node]
    if m.op == "cmp":
        assert isinstance(node, ast.Compare)
        node.ops[m.sub] = _CMP_SWAP[type(node.ops[m.sub])]()
    elif m.op in ("arith", "bit"):
        assert isinstance(node, (ast.BinOp, ast.AugAssign))
        node.op = _BIN_SWAP[type(node.op)][1]()
    elif m.op == "bool":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif m.op == "tol":
        assert isinstance(node, ast.Constant) and type(node.value) is float
        node.value = node.value * 10 if m.sub == 0 else node.value / 10
    elif m.op == "del":
        if m.sub >= 1_000_000:
            assert isinstance(node, ast.Try)
            h_i, k = divmod(m.sub - 1_000_000, 10_000)
            body = node.handlers[h_i].body
        else:
            fld, k = divmod(m.sub, 100_000)
            body = getattr(node, _STMT_FIELDS[fld])
        body[k] = ast.copy_location(ast.Pass(), body[k])
    else:  # pragma: no cover
        raise ValueError(m.op)
    return ast.fix_missing_locations(tree)


# ------------------------------------------------------------------------------------------ plugin
class _MutantLoader(importlib.abc.Loader):
    def __init__(self, code: Any) -> None:
        self.code = code

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        exec(self.code, module.__dict__)


class _MutantFinder(importlib.abc.MetaPathFinder):
    """Serves the mutated module in place of the original (same name, same ``__file__``)."""

    def __init__(self, name: str, origin: str, code: Any) -> None:
        self.name, self.origin, self.code = name, origin, code

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        package = self.origin.endswith("__init__.py")
        spec = importlib.util.spec_from_loader(
            fullname, _MutantLoader(self.code), origin=self.origin, is_package=package
        )
        assert spec is not None
        spec.has_location = True  # so the module gets __file__ (and a package its __path__)
        if package:
            spec.submodule_search_locations = [str(Path(self.origin).parent)]
        return spec


def _install_from_environment() -> None:
    """Plugin mode (``-p mutate`` in the child pytest): install the mutant named by $MUTATE_SPEC."""
    spec = os.environ.get("MUTATE_SPEC")
    if spec:
        _install(json.loads(spec))


def _install(info: dict[str, Any]) -> None:
    """Serve the mutant ``info["mutant"]`` of the snapshot ``info["snapshot"]`` to later imports."""
    source = Path(info["snapshot"]).read_text()
    m = Mutant(**info["mutant"])
    origin = str(ROOT / m.file)
    code = compile(mutated_tree(source, m), origin, "exec")
    name = m.file[:-3].replace("/", ".").removesuffix(".__init__")
    if name in sys.modules:  # imported before the plugin: the run would test the original
        raise RuntimeError(f"mutate: {name} was imported before the mutant could be installed")
    sys.meta_path.insert(0, _MutantFinder(name, origin, code))
    import hypothesis

    hypothesis.settings.register_profile("mutate", database=None, derandomize=True, deadline=None, print_blob=False)
    hypothesis.settings.load_profile("mutate")


if __name__ != "__main__":
    _install_from_environment()


# ------------------------------------------------------------------------------------------ driver
@dataclass
class Outcome:
    mutant: Mutant
    result: str  # killed | survived | timeout | equivalent | error
    seconds: float
    detail: str = ""


def load_equivalents(path: Path = EQUIVALENTS) -> dict[tuple[str, str, str], str]:
    """``(file, change, source line) -> reason`` from the equivalents list: four TAB-separated fields a
    line (``|`` occurs in changes and source lines), ``#`` comments allowed."""
    out: dict[tuple[str, str, str], str] = {}
    if not path.exists():
        return out
    for raw in path.read_text().splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in raw.split("\t")]
        if len(parts) != 4:
            raise SystemExit(
                f"{path}: expected 4 TAB-separated fields (file, change, source line, reason), got {raw!r}"
            )
        out[(parts[0], parts[1], parts[2])] = parts[3]
    return out


def tests_for(rel: str) -> tuple[str, ...]:
    if rel in TESTS:
        return TESTS[rel]
    if rel.startswith("schedbench/validator/"):
        return VALIDATOR_TESTS
    raise SystemExit(f"no focused tests known for {rel}; pass --tests")


_PYTEST_ARGS = ("-x", "-q", "--no-header", "-p", "no:cacheprovider", "-p", "no:randomly", "-o", "addopts=")
#: Imported once by the driver before forking (fork mode): the start-up cost a mutant run skips. Never
#: anything that imports a target module.
_PRELOAD = (
    "numpy",
    "scipy.sparse",
    "scipy.optimize",
    "hypothesis",
    "hypothesis.strategies",
    "pytest",
    "jsonschema",
    "_pytest.python",
    "_pytest.assertion.rewrite",
)


def _preload() -> None:
    import importlib

    for name in _PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for name in sys.modules:
        if name == "schedbench" or name.startswith("schedbench."):
            raise RuntimeError(f"mutate: preloading imported {name}; fork mode would test the original")


def _forked(tests: tuple[str, ...], info: dict[str, Any] | None, timeout: float) -> tuple[str, float, str]:
    """Fork mode: run pytest in a forked child of this (preloaded) process; same result as :func:`_pytest`."""
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - shared with the forked child, closed below
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        code = 3
        try:
            os.setsid()
            os.chdir(ROOT)
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            if info is not None:
                _install(info)
            import pytest

            code = int(pytest.main([*_PYTEST_ARGS, *tests]))
        except BaseException:  # report anything as an error of this run
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = t0 + timeout
    status = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", time.perf_counter() - t0, ""
        time.sleep(0.02)
    dt = time.perf_counter() - t0
    log.seek(0)
    tail = "\n".join(log.read().strip().splitlines()[-3:])
    log.close()
    rc = os.waitstatus_to_exitcode(status)
    if rc == 0:
        return "passed", dt, tail
    if rc in (1, 2):
        return "failed", dt, tail
    return "error", dt, tail


def _pytest(tests: tuple[str, ...], env: dict[str, str], timeout: float) -> tuple[str, float, str]:
    """Run pytest in a child process group; (``passed``|``failed``|``timeout``|``error``, seconds, tail)."""
    cmd = [sys.executable, "-m", "pytest", *_PYTEST_ARGS, "-p", "mutate", *tests]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", time.perf_counter() - t0, ""
    dt = time.perf_counter() - t0
    tail = "\n".join(out.strip().splitlines()[-3:])
    # pytest exit codes: 0 passed, 1 tests failed, 2 interrupted/collection error, 3 internal error,
    # 4 usage error, 5 no tests collected
    if proc.returncode == 0:
        return "passed", dt, tail
    if proc.returncode in (1, 2):
        return "failed", dt, tail
    return "error", dt, tail


def _parse_only(text: str | None) -> set[int] | None:
    if not text:
        return None
    out: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def _plan(files: list[str], ops: set[str], only: set[int] | None) -> list[tuple[str, Path, list[Mutant]]]:
    """Per target file: its name, a snapshot of its text (the tree may change during the run), its selected mutants."""
    snapdir = Path(tempfile.mkdtemp(prefix="schedbench-mutate-"))
    plan: list[tuple[str, Path, list[Mutant]]] = []
    for rel in files:
        source = (ROOT / rel).read_text()
        snap = snapdir / rel.replace("/", "__")
        snap.write_text(source)
        ms = [m for m in mutants_of(rel, source) if m.op in ops and (only is None or m.index in only)]
        plan.append((rel, snap, ms))
    return plan


def _run_mutant(
    m: Mutant,
    snap: Path,
    tests: tuple[str, ...],
    fork: bool,
    env_base: dict[str, str],
    limit: float,
    equivalents: dict[tuple[str, str, str], str],
) -> Outcome:
    """Run ``tests`` against mutant ``m`` (of the snapshot ``snap``) and classify the result."""
    info = {"snapshot": str(snap), "mutant": asdict(m)}
    if fork:
        state, dt, tail = _forked(tests, info, timeout=limit)
    else:
        env = dict(env_base)
        env["MUTATE_SPEC"] = json.dumps(info)
        state, dt, tail = _pytest(tests, env, timeout=limit)
    result = {"failed": "killed", "passed": "survived", "timeout": "timeout", "error": "error"}[state]
    reason = equivalents.get((m.file, m.change, m.source))
    if result == "survived" and reason is not None:
        result, tail = "equivalent", reason
    return Outcome(m, result, round(dt, 2), tail if result in ("error", "equivalent") else "")


def _report(
    plan: list[tuple[str, Path, list[Mutant]]],
    outcomes: list[Outcome],
    total_s: float,
    baselines: dict[str, float],
    json_path: Path | None,
    argv: list[str],
) -> dict[str, int]:
    """Print the summary and the score, write the JSON report when asked; returns the counts per result."""
    counts = {k: sum(o.result == k for o in outcomes) for k in ("killed", "timeout", "survived", "equivalent", "error")}
    judged = counts["killed"] + counts["timeout"] + counts["survived"]
    score = (counts["killed"] + counts["timeout"]) / judged if judged else 1.0
    per_file = {}
    for rel, _, _ in plan:
        os_ = [o for o in outcomes if o.mutant.file == rel]
        if os_:
            per_file[rel] = {k: sum(o.result == k for o in os_) for k in counts}
    print(
        f"\n{len(outcomes)} mutants in {total_s:.0f} s: {counts['killed']} killed, {counts['timeout']} timed out, "
        f"{counts['survived']} survived, {counts['equivalent']} equivalent (listed), {counts['error']} errors"
    )
    print(f"score: {100 * score:.1f} % of non-equivalent mutants killed ({judged - counts['survived']}/{judged})")
    if json_path:
        report = {
            "score": score,
            "counts": counts,
            "per_file": per_file,
            "seconds": round(total_s, 1),
            "baseline_seconds": baselines,
            "argv": argv,
            "mutants": [
                {
                    **asdict(o.mutant),
                    "where": o.mutant.where,
                    "result": o.result,
                    "seconds": o.seconds,
                    "detail": o.detail,
                }
                for o in outcomes
            ],
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1) + "\n")
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--files",
        help="comma-separated target files (default: schedbench/validator/*.py and schedbench/instances/io.py)",
    )
    ap.add_argument("--ops", help=f"comma-separated mutation kinds among {','.join(OPS)} (default: all)")
    ap.add_argument("--only", help="mutant indices within each file, e.g. 0,4,10-20")
    ap.add_argument("--tests", help="comma-separated test files overriding the focused selection")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--json", type=Path, help="write the full report here")
    ap.add_argument(
        "--timeout-factor",
        type=float,
        default=4.0,
        help="per-mutant timeout = factor x the unmutated run's time + 10 s (default 4)",
    )
    ap.add_argument("--verbose", "-v", action="store_true", help="print every mutant, not only survivors")
    ap.add_argument(
        "--subprocess",
        action="store_true",
        help="start a fresh python per mutant instead of forking a preloaded driver (slower)",
    )
    args = ap.parse_args(argv)

    if args.files:
        files = [f.strip() for f in args.files.split(",") if f.strip()]
    else:
        files = sorted(str(p.relative_to(ROOT)) for pat in DEFAULT_TARGETS for p in ROOT.glob(pat))
    ops = set(args.ops.split(",")) if args.ops else set(OPS)
    if ops - set(OPS):
        ap.error(f"unknown --ops {sorted(ops - set(OPS))}; choose among {OPS}")
    only = _parse_only(args.only)
    equivalents = load_equivalents()

    missing = [rel for rel in files if not (ROOT / rel).is_file()]
    if missing:
        ap.error(f"no such file: {missing[0]}")
    plan = _plan(files, ops, only)
    if args.list:
        for _, _, ms in plan:
            for m in ms:
                print(f"{m.index:4d} {m.where:45s} {m.op:5s} {m.change:30s} | {m.source}")
        print(f"{sum(len(ms) for *_, ms in plan)} mutants")
        return 0

    env_base = dict(os.environ)
    env_base["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tools"), env_base.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env_base.pop("MUTATE_SPEC", None)
    fork = not args.subprocess and hasattr(os, "fork")
    if fork:
        _preload()
        sys.path.insert(0, str(ROOT))
    outcomes: list[Outcome] = []
    baselines: dict[str, float] = {}
    t_start = time.perf_counter()
    for rel, snap, ms in plan:
        if not ms:
            continue
        tests = tuple(t.strip() for t in args.tests.split(",")) if args.tests else tests_for(rel)
        if fork:
            state, base_s, tail = _forked(tests, None, timeout=900)
        else:
            state, base_s, tail = _pytest(tests, env_base, timeout=900)
        if state != "passed":
            print(f"{rel}: the unmutated tests do not pass ({state}):\n{tail}", file=sys.stderr)
            return 2
        baselines[rel] = round(base_s, 2)
        limit = args.timeout_factor * base_s + 10
        print(
            f"{rel}: {len(ms)} mutants, tests {' '.join(tests)} ({base_s:.1f} s unmutated, timeout {limit:.0f} s)",
            flush=True,
        )
        for m in ms:
            outcome = _run_mutant(m, snap, tests, fork, env_base, limit, equivalents)
            outcomes.append(outcome)
            result = outcome.result
            if args.verbose or result in ("survived", "error"):
                print(f"  {result.upper():10s} #{m.index:<4d} {m.where:45s} {m.change:30s} | {m.source}", flush=True)
                if result == "error":
                    print("    " + outcome.detail.replace("\n", "\n    "), flush=True)
    total_s = time.perf_counter() - t_start

    counts = _report(plan, outcomes, total_s, baselines, args.json, sys.argv[1:] if argv is None else argv)
    return 1 if counts["survived"] or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
