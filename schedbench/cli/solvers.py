"""``schedbench solvers``: list the registered solver plugins and run the plugin contract tests.

``schedbench solvers list [--json] [--solvers-dir PATH]`` prints every solver with its family,
version, classes and objectives, availability (or the reason it is unavailable) and origin.

``schedbench solvers test NAME [--solvers-dir PATH] [--time-limit S] [--param key=value]`` runs the
contract tests a plugin author runs before publishing (:mod:`schedbench.plugins.contract`:
declaration, an answer on each smoke instance of the declared classes, the time limit,
determinism).

Exit status: 0 when every check passes, 1 when one fails, 2 on bad input (unknown solver, registry
error). Mount with ``app.add_typer(solvers_cli.app, name="solvers")``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from schedbench.cli.console import err, guarded, out, parse_pairs
from schedbench.errors import UsageError
from schedbench.plugins.contract import Check, contract_checks
from schedbench.plugins.registry import RegistryError

app = typer.Typer(
    help="Solver plugins: list them, run the plugin contract tests.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


_SOLVERS_DIR = typer.Option(
    "--solvers-dir", help="Extra plugin folder (*.py plugins, *.toml command solvers) or file; repeatable."
)


def _dirs(solvers_dir: list[Path] | None) -> tuple[str, ...]:
    return tuple(str(Path(d).resolve()) for d in solvers_dir or ())


def _param_doc(p: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": p.name, "type": p.kind.__name__, "default": p.default, "help": p.help}
    if p.choices:
        doc["choices"] = list(p.choices)
    if p.minimum is not None:
        doc["minimum"] = p.minimum
    if p.maximum is not None:
        doc["maximum"] = p.maximum
    return doc


def entry_doc(entry: Any) -> dict[str, Any]:
    """A registry entry as JSON-ready data."""
    return {
        "name": entry.name,
        "family": entry.family,
        "version": entry.version,
        "problems": {c: list(o) for c, o in entry.problems.items()},
        "params": [_param_doc(p) for p in entry.params],
        "deterministic": entry.deterministic,
        "description": entry.description,
        "available": entry.available,
        "reason": entry.reason,
        "origin": entry.origin,
        "requires": list(entry.requires),
        "model_formats": list(entry.model_formats),
    }


@app.command("list")
@guarded(KeyError, RegistryError)
def list_solvers(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    solvers_dir: Annotated[list[Path] | None, _SOLVERS_DIR] = None,
) -> int:
    """List the registered solvers: family, version, classes/objectives, availability, origin."""
    from schedbench.plugins.registry import get_registry

    entries = get_registry(_dirs(solvers_dir)).entries()
    if as_json:
        sys.stdout.write(json.dumps([entry_doc(e) for e in entries], indent=2, sort_keys=True) + "\n")
        return 0
    table = Table(title="solvers")
    for col in ("name", "family", "version", "classes / objectives", "available", "origin"):
        table.add_column(col, overflow="fold")
    for e in entries:
        status = Text("yes", style="green") if e.available else Text("no", style="red") + f": {e.reason}"
        table.add_row(e.name, e.family, e.version, e.problems_text().replace("; ", "\n"), status, e.origin)
    out.print(table)
    return 0


# --------------------------------------------------------------------------- contract tests
# the checks themselves live in schedbench.plugins.contract; this module renders them


def _parse_params(items: list[str] | None) -> dict[str, Any]:
    from schedbench.generators.spec import parse_cli_value

    return parse_pairs(items, "--param", convert=parse_cli_value)


@app.command("test")
@guarded(KeyError, RegistryError)
def test_solver(
    name: Annotated[str, typer.Argument(help="Registry name of the solver.")],
    solvers_dir: Annotated[list[Path] | None, _SOLVERS_DIR] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per run.")] = 10.0,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="key=value solver parameter (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> int:
    """Contract tests of a solver plugin on the smoke instances (exit 0 all pass, 1 a failure, 2 bad input)."""
    if not time_limit > 0:
        raise UsageError("--time-limit must be a positive number of seconds")
    params = _parse_params(param)
    from schedbench.plugins.registry import get_registry

    entry = get_registry(_dirs(solvers_dir)).get(name)
    if entry.available:
        try:
            entry.load().resolve_params(params)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def progress(c: Check) -> None:
        if not as_json and err.is_terminal:
            err.print(f"  {'pass' if c.ok else 'FAIL'} {c.check} {c.subject}")

    from schedbench.runner.execute import Executor

    with Executor() as ex:
        checks = contract_checks(name, ex, _dirs(solvers_dir), time_limit, params, progress)
    passed = all(c.ok for c in checks)
    if as_json:
        sys.stdout.write(
            json.dumps({"solver": name, "passed": passed, "checks": [dataclasses.asdict(c) for c in checks]}, indent=2)
            + "\n"
        )
    else:
        table = Table(title=Text(f"contract tests of {name}"))
        for col in ("check", "subject", "result", "detail"):
            table.add_column(col, overflow="fold")
        for c in checks:
            result = Text("pass", style="green") if c.ok else Text("FAIL", style="red")
            table.add_row(c.check, c.subject, result, c.detail)
        out.print(table)
        failed = sum(not c.ok for c in checks)
        out.print(
            f"{name}: all {len(checks)} checks passed" if passed else f"{name}: {failed} of {len(checks)} checks failed"
        )
    return 0 if passed else 1
