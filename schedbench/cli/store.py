"""``schedbench store``: maintenance of results stores (``check``, ``salvage``).

Mount with ``app.add_typer(store_cli.app, name="store")``. Bad input (a missing file, an existing
output) is one ``error:`` line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from schedbench.cli.console import guard
from schedbench.errors import InputError

app = typer.Typer(help="Results-store maintenance: integrity check, salvage of a damaged store.",
                  no_args_is_help=True, add_completion=False)
_err = Console(stderr=True, highlight=False, markup=False)


@app.command()
def check(store: Annotated[Path, typer.Argument(help="Results store (SQLite).")]) -> None:
    """Check a store's integrity (exit 0 intact; 2 damaged or not a store, with one line)."""

    def body() -> int:
        from schedbench.store import Store

        with Store(store, readonly=True) as s:
            result = s.integrity_check()
        if result != "ok":
            raise InputError(str(store), "<store>", "an intact results store", result.splitlines()[0])
        typer.echo(f"{store}: intact ({s.path})")
        return 0

    guard(body, _err)


@app.command()
def salvage(
    store: Annotated[Path, typer.Argument(help="The damaged results store (read only).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="New store receiving the intact runs.")],
) -> None:
    """Copy the intact runs (and instances, solvers, environments, campaigns) of a damaged store
    into a new one (exit 0 all recovered, 1 some lost)."""

    def body() -> int:
        from schedbench.store.salvage import salvage_command

        return salvage_command(store, output)

    guard(body, _err)
