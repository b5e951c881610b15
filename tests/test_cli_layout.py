"""The command line is one package: only ``schedbench/cli`` imports typer or ``schedbench.cli``; its
shared helpers (error guard, ``key=value`` parser) behave as documented."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer

from schedbench.cli.console import fail, guarded, parse_pairs
from schedbench.errors import InputError, UsageError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (ROOT / "schedbench", ROOT / "solvers")


def _imports(path: Path) -> set[str]:
    """Every module name ``path`` imports (absolute imports; ``from x import y`` gives ``x`` and ``x.y``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _outside_cli() -> list[Path]:
    files = [p for pkg in PACKAGES for p in sorted(pkg.rglob("*.py"))]
    return [p for p in files if (ROOT / "schedbench" / "cli") not in p.parents]


def test_the_scan_sees_the_packages() -> None:
    files = _outside_cli()
    assert len(files) > 50
    assert "typer" in _imports(ROOT / "schedbench" / "cli" / "app.py")


def test_no_module_outside_the_cli_imports_typer_or_the_cli() -> None:
    offenders = {}
    for path in _outside_cli():
        parts = [n.split(".") for n in _imports(path)]
        bad = sorted(".".join(p) for p in parts if p[0] == "typer" or p[:2] == ["schedbench", "cli"])
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_guarded_maps_bad_input_to_exit_2_and_returns_to_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    @guarded(KeyError)
    def command(what: str) -> int:
        if what == "input":
            raise InputError("f.json", "$.jobs", "an array", "null")
        if what == "key":
            raise KeyError("unknown solver 'x[/]'")
        if what == "usage":
            fail("--param expects key=value, got 'x'")
        if what == "bug":
            raise RuntimeError("a bug keeps its traceback")
        return 1 if what == "one" else 0

    assert command("ok") is None
    with pytest.raises(typer.Exit) as exit_one:
        command("one")
    assert exit_one.value.exit_code == 1
    for what, text in (
        ("input", "f.json: at $.jobs: expected an array, found null"),
        ("key", "unknown solver 'x[/]'"),
        ("usage", "--param expects key=value, got 'x'"),
    ):
        with pytest.raises(typer.Exit) as exit_two:
            command(what)
        assert exit_two.value.exit_code == 2
        assert capsys.readouterr().err.strip() == f"error: {text}"
    with pytest.raises(RuntimeError):
        command("bug")


def test_parse_pairs() -> None:
    assert parse_pairs(None) == {}
    assert parse_pairs([" a =1", "b=x=y", "a=2", "c="]) == {"a": "2", "b": "x=y", "c": ""}
    assert parse_pairs(["n=3"], convert=int) == {"n": 3}
    for bad in ("novalue", "=1", " =1"):
        with pytest.raises(UsageError, match=r"--option expects key=value, got"):
            parse_pairs([bad], "--option")
    assert isinstance(UsageError("x"), InputError) and str(UsageError("x")) == "x"
