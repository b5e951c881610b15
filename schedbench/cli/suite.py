"""``schedbench suite list | build | verify | lock``: named instance suites and their lock files.

Suites are the bundled ones (shipped with the package), plus those of a local folder of manifests
(``--dir``, else ``$SCHEDBENCH_INSTANCES_DIR``, else ``./instances``), which add or override; builds
go to the user cache (see :mod:`schedbench.suites.paths`).

Exit codes: 0 success; 1 a hash that differs from the lock (or, with ``--strict``, missing source
files); 2 bad input (unknown suite, a suite name that is a path, malformed manifest).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from schedbench.cli.console import err, error_line, fail, guarded, out

app = typer.Typer(help="Named instance suites: list, build, verify against their lock files.", no_args_is_help=True)
_SUITE_DIR = typer.Option(
    "--dir",
    "--instances-dir",
    help="Local folder of suite manifests, adding to or "
    "overriding the bundled suites (default: $SCHEDBENCH_INSTANCES_DIR, else ./instances when "
    "it exists).",
)
_CACHE_DIR = typer.Option(
    "--cache-dir",
    help="Cache folder (default: $SCHEDBENCH_CACHE_DIR, else $XDG_CACHE_HOME/schedbench, else ~/.cache/schedbench).",
)


@app.command("list")
@guarded()
def suite_list(directory: Annotated[Path | None, _SUITE_DIR] = None) -> int:
    """List the suites with their sizes, where their manifest is (bundled, or a local folder) and descriptions."""
    from schedbench.suites import list_suites

    table = Table(title="suites")
    for col in ("suite", "generated", "imports", "lock", "source", "description"):
        table.add_column(col)
    for s in list_suites(directory):
        gen_count = sum(len(g["seeds"]) for g in s.generate)
        table.add_row(
            *(
                Text(c)
                for c in (
                    s.name,
                    str(gen_count),
                    str(sum(len(m["paths"]) for m in s.imports)),
                    "yes" if s.lock_path.exists() else "no",
                    "bundled" if s.bundled else str(s.path.parent),
                    s.description,
                )
            )
        )
    out.print(table)
    return 0


def _suite_run(name: str, directory: Path | None, out_dir: Path | None, strict: bool, quiet: bool = False) -> int:
    from schedbench.cli.progress import suite_progress
    from schedbench.suites import LockMismatchError, build, expected_count, load_suite

    suite = load_suite(name, directory)
    t0 = time.perf_counter()
    try:
        with suite_progress(err, name, expected_count(suite), disable=quiet) as advance:
            report = build(suite, out_dir, progress=advance)
    except LockMismatchError as exc:
        err.print(error_line(str(exc)))
        return 1
    msg = f"suite {name}: {len(report.hashes)} instance(s) match {suite.lock_path.name}"
    if out_dir is not None:
        msg += f", written to {out_dir}"
    out.print(f"{msg} ({time.perf_counter() - t0:.1f} s)")
    if report.missing:
        out.print(Text(f"missing source files (skipped): {', '.join(report.missing)}", style="yellow"))
        if strict:
            return 1
    return 0


@app.command("build")
@guarded()
def suite_build(
    name: Annotated[str, typer.Argument(help="Suite name (a manifest NAME.toml, bundled or in the local folder).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Directory for the instance files (default: suites/NAME in the cache folder)."
        ),
    ] = None,
    directory: Annotated[Path | None, _SUITE_DIR] = None,
    cache_dir: Annotated[Path | None, _CACHE_DIR] = None,
    strict: Annotated[bool, typer.Option(help="Fail when imported source files are missing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar (on stderr).")] = False,
) -> int:
    """Materialise a suite deterministically and check every hash against its lock (exit 1 on a mismatch)."""
    from schedbench.suites import load_suite, suite_cache

    return _suite_run(
        name, directory, output or suite_cache(name, load_suite(name, directory).path, cache_dir), strict, quiet
    )


@app.command("verify")
@guarded()
def suite_verify(
    name: Annotated[str, typer.Argument(help="Suite name.")],
    directory: Annotated[Path | None, _SUITE_DIR] = None,
    strict: Annotated[bool, typer.Option(help="Fail when imported source files are missing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar (on stderr).")] = False,
) -> int:
    """Rebuild a suite in memory and check every hash against its lock (exit 1 naming each mismatch)."""
    return _suite_run(name, directory, None, strict, quiet)


@app.command("lock")
@guarded()
def suite_lock(
    name: Annotated[str, typer.Argument(help="Suite name.")],
    directory: Annotated[Path | None, _SUITE_DIR] = None,
) -> int:
    """(Re)write a suite's lock file from a fresh build. Commit it with the change that moved the hashes."""
    from schedbench.suites import build, load_suite, write_lock

    suite = load_suite(name, directory)
    report = build(suite, check_lock=False)
    if report.missing:
        fail(f"cannot lock suite {name}: source files missing: {', '.join(report.missing)}")
    write_lock(suite, report.hashes)
    out.print(f"wrote {suite.lock_path} ({len(report.hashes)} instances)")
    return 0
