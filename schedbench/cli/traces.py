"""``schedbench traces``: fit distributions to published traces and show the shipped fits.

Mounted by :mod:`schedbench.cli.app` as ``schedbench traces``; runs on its own as ``app()``.
Exit codes: 0 success; 1 ``fit-all --check`` found a difference; 2 bad input (malformed file,
unknown kind, wrong usage), printed as one line without a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from schedbench.cli.console import guarded, out, print_json

app = typer.Typer(
    name="traces",
    help="Distributions fitted to published GPU-cluster traces (Philly, Gavel, Alibaba openb, Acme).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _short(value: Any, limit: int = 8) -> str:
    if isinstance(value, list):
        shown = ", ".join(_short(v) for v in value[:limit])
        return f"[{shown}{', ...' if len(value) > limit else ''}]" + (
            f" ({len(value)} values)" if len(value) > limit else ""
        )
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "-"
    return str(value)


def _rows(doc: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten a fit into (dotted key, short value) rows; lists of objects are numbered."""
    rows: list[tuple[str, str]] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            rows.extend(_rows(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(doc, list) and doc and all(isinstance(v, dict) for v in doc):
        for i, value in enumerate(doc):
            rows.extend(_rows(value, f"{prefix}[{i}]"))
    else:
        rows.append((prefix, _short(doc)))
    return rows


def _table(title: str, fit: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in _rows(fit):
        table.add_row(key, value)
    return table


@app.command()
@guarded(ValueError, KeyError)
def fit(
    kind: Annotated[str, typer.Argument(help="arrival | duration | gpus | fractional | outcomes")],
    files: Annotated[
        list[Path], typer.Argument(help="Trace file(s); fractional takes a pod list and optionally its node list.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the fit as JSON.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Also write the fit (canonical JSON).")] = None,
) -> int:
    """Fit KIND on trace FILE(s) (format detected from the header) and print the parameters."""
    from schedbench import jsonio
    from schedbench.traces.fit import fit as run_fit

    result = run_fit(kind, *files)
    if output is not None:
        jsonio.write_bytes(output, jsonio.dumps_canonical(result))
    if as_json:
        print_json(result)
    else:
        out.print(_table(f"{kind} fit of {', '.join(p.name for p in files)}", result))
        if output is not None:
            out.print(f"wrote {output}")
    return 0


@app.command()
@guarded(ValueError, KeyError)
def show(
    key: Annotated[str | None, typer.Argument(help="One fit, e.g. duration/philly (default: list them all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> int:
    """Print the shipped fits (schedbench/data/trace_fits.json) with their sources."""
    from schedbench.traces.models import load_fits, shipped_fit

    if key is not None:
        one = shipped_fit(key)
        if as_json:
            print_json(one)
        else:
            out.print(_table(key, one))
        return 0
    doc = load_fits()
    if as_json:
        print_json(doc)
        return 0
    table = Table(title="shipped trace fits")
    for col in ("fit", "method", "n", "file", "licence"):
        table.add_column(col, overflow="fold")
    for name, f in doc["fits"].items():
        table.add_row(name, f["method"], str(f["data"].get("n", "-")), f["source"]["file"], f["source"]["licence"])
    out.print(table)
    out.print("`schedbench traces show KEY` prints one fit; citations are in each fit's source.")
    return 0


@app.command("fit-all")
@guarded(ValueError, KeyError)
def fit_all(
    folder: Annotated[Path, typer.Argument(help="Folder holding the published trace files (e.g. ../shared/traces).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the fits document here.")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Compare with the shipped fits; exit 1 on a difference.")
    ] = False,
) -> int:
    """Re-compute every shipped fit from the published files (maintainers: refresh trace_fits.json)."""
    from schedbench import jsonio
    from schedbench.traces.fit import fit_all as run_all
    from schedbench.traces.models import load_fits

    doc = run_all(folder)
    data = jsonio.dumps_canonical(doc)
    if output is not None:
        jsonio.write_bytes(output, data)
        out.print(f"wrote {output} ({len(doc['fits'])} fits)")
    if check:
        shipped = load_fits()
        differ = [
            k
            for k in doc["fits"]
            if jsonio.dumps_canonical(doc["fits"][k]) != jsonio.dumps_canonical(shipped["fits"].get(k))
        ]
        if differ:
            out.print(Text("differs from the shipped fits", style="red") + f": {', '.join(differ)}")
            return 1
        out.print(Text("the shipped fits agree", style="green"))
    if output is None and not check:
        sys.stdout.write(data.decode("utf-8") + "\n")
    return 0
