"""The import graph of schedbench's top-level modules and subpackages is acyclic.

Every module of the package is parsed (AST, so imports inside functions count too) and each import
of ``schedbench.X...`` becomes an edge from the importer's top-level node (``schedbench.store`` for
``schedbench/store/core.py``, ``schedbench.runs`` for ``schedbench/runs.py``) to ``schedbench.X``.
Imports under ``if TYPE_CHECKING:`` are left out (annotations only: they never run). The graph must
be acyclic, so that data flows one way (catalogue/traces -> generators -> instances -> plugins ->
runner -> validator -> store -> statistics/report/plots -> publish -> cli), and nothing imports
:mod:`schedbench.cli`.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "schedbench"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _node(module: str) -> str:
    """The graph node of a module: ``schedbench.<top>``."""
    return ".".join(module.split(".")[:2])


def _type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks (their ``else`` kept)."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        if _type_checking(node):
            assert isinstance(node, ast.If)
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def imported_modules(path: Path) -> set[str]:
    """Every ``schedbench...`` module that ``path`` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            # ``from schedbench import store`` imports the subpackage schedbench.store
            out.update(f"{target}.{alias.name}" for alias in node.names if target == "schedbench")
    return {m for m in out if m == "schedbench" or m.startswith("schedbench.")}


def import_graph() -> dict[str, dict[str, list[str]]]:
    """``{node: {imported node: [importing files]}}`` over every module of the package (self-edges
    and imports of the package root ``schedbench`` itself left out)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(PKG.rglob("*.py")):
        src = _node(_module_name(path))
        edges = graph.setdefault(src, {})
        for target in imported_modules(path):
            dst = _node(target)
            if dst != src and dst != "schedbench":
                edges.setdefault(dst, []).append(str(path.relative_to(PKG.parent)))
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle of the graph as ``[a, b, ..., a]``, or None when it is acyclic (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def _describe(graph: dict[str, dict[str, list[str]]], cycle: list[str]) -> str:
    return "\n".join(f"  {a} -> {b}  ({', '.join(sorted(set(graph[a][b])))})" for a, b in itertools.pairwise(cycle))


def test_graph_is_found() -> None:
    graph = import_graph()
    # a few edges that must exist, so that an empty graph (a parsing mistake) cannot pass
    assert "schedbench.runs" in graph.get("schedbench.runner", {})
    assert "schedbench.instances" in graph.get("schedbench.validator", {})
    assert "schedbench.store" in graph.get("schedbench.cli", {})


def test_type_checking_imports_are_left_out(tmp_path: Path) -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
        "def f():\n    import c\n"
    )
    names = {alias.name for node in _runtime_nodes(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert names == {"b", "c"}


def test_find_cycle_reports_a_cycle() -> None:
    graph = {"a": {"b": ["a.py"]}, "b": {"c": ["b.py"]}, "c": {"a": ["c.py"]}, "d": {"a": ["d.py"]}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": ["a.py"]}, "b": {}}) is None


def test_no_import_cycles_between_subpackages() -> None:
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle is not None:
        pytest.fail("import cycle between schedbench's subpackages:\n" + _describe(graph, cycle))


def test_nothing_imports_the_cli() -> None:
    graph = import_graph()
    offenders = {src: files["schedbench.cli"] for src, files in graph.items() if "schedbench.cli" in files}
    assert not offenders, f"modules outside schedbench.cli import it: {offenders}"
