"""``schedbench export SOURCE --format parquet|csv [-o OUT]``: a result set to files that stand alone.

What is written is described in :mod:`schedbench.store.export`. An instance's ILP model (MPS, LP) is
``schedbench export-model`` (:mod:`schedbench.cli.export_model`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schedbench.cli.choices import ExportFormat
from schedbench.cli.console import err, guarded, out


def export_command(
    store: Path, fmt: str, output: Path | None = None, *, campaign: str | None = None, copy_instances: bool = True
) -> int:
    """Export ``store`` (a store or an export) as ``fmt``; ``output`` defaults to the store's path with
    the format's suffix. Prints the files written; returns the exit code (0).

    Raises:
        StoreError: (an InputError) an unknown format, an output path that is the store itself, a
            missing or unreadable store, an unwritable output.
    """
    from schedbench.store.core import StoreError
    from schedbench.store.export import FORMATS, export, instances_dir, side_path

    if fmt not in FORMATS:
        raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
    target = output if output is not None else Path(store).with_suffix(f".{fmt}")
    if target.resolve() == Path(store).resolve():
        raise StoreError(str(target), "an output path other than the store itself", "the store's path", "-o")
    written = export(store, target, fmt, campaign=campaign, copy_instances=copy_instances)
    for path in written:
        out.print(f"wrote {path}")
    table = side_path(target, fmt, "instances")
    if table in written and copy_instances:
        from schedbench.store.views import read_table as _read_table

        files = _read_table(table)["file"]
        copied = int(files.notna().sum())
        if copied:
            out.print(f"wrote {instances_dir(target, fmt)}/ ({copied} instance files)")
        if copied < len(files):
            err.print(
                f"warning: {len(files) - copied} instance file(s) missing or changed since the runs: not copied "
                f"(their rows in {table.name} have no file)"
            )
    return 0


@guarded()
def export(
    source: Annotated[Path, typer.Argument(help="Results store (SQLite) or its parquet/CSV export.")],
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format", help="parquet or csv: the runs, trajectories, environments and instances, beside each other."
        ),
    ] = ExportFormat.parquet,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output file (default: SOURCE with the format's suffix).")
    ] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's runs.")] = None,
    instance_files: Annotated[
        bool,
        typer.Option(
            "--instance-files/--no-instance-files",
            help="Copy the instance files into NAME.instances/ (off: the instance table only, paths and hashes).",
        ),
    ] = True,
) -> int:
    """Export a result set (runs, trajectories, environments, instances) as parquet or CSV
    (an instance's ILP model: `schedbench export-model`)."""
    return export_command(source, fmt.value, output, campaign=campaign, copy_instances=instance_files)
