"""``schedbench store``: maintenance of results stores (``check``, ``salvage``).

Mounted by :mod:`schedbench.cli.app` as ``schedbench store``. Bad input (a missing file, an existing
output) is one ``error:`` line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schedbench.cli.console import guarded, out
from schedbench.errors import InputError

app = typer.Typer(
    help="Results-store maintenance: integrity check, salvage of a damaged store.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
@guarded()
def check(store: Annotated[Path, typer.Argument(help="Results store (SQLite).")]) -> int:
    """Check a store's integrity (exit 0 intact; 2 damaged or not a store, with one line)."""
    from schedbench.store import Store

    with Store(store, readonly=True) as s:
        result = s.integrity_check()
    if result != "ok":
        raise InputError(str(store), "<store>", "an intact results store", result.splitlines()[0])
    out.print(f"{store}: intact ({s.path})")
    return 0


@app.command()
@guarded()
def salvage(
    store: Annotated[Path, typer.Argument(help="The damaged results store (read only).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="New store receiving the intact runs.")],
) -> int:
    """Copy the intact runs (and instances, solvers, environments, campaigns) of a damaged store
    into a new one (exit 0 all recovered, 1 some lost)."""
    from schedbench.store.salvage import salvage

    rep = salvage(store, output)
    out.print(f"salvaged {store} into {output}: {rep.line()}")
    for text in rep.errors[:5]:
        out.print(f"  unreadable: {text}")
    return 1 if any(rep.lost.values()) else 0
