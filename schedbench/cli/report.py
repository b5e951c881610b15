"""``schedbench report | compare | tables | publish``: what a result set says, in tables and pages.

Exit codes: 0 success; 1 ``report`` on a store without runs, ``compare`` with a regression; 2 bad
input (missing store, unknown format or campaign, bad shift or penalty).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from schedbench.cli.choices import ReportFormat
from schedbench.cli.console import err, guarded, make_console, out, print_json

#: Width of the report table when stdout is not a terminal (the report has many columns).
REPORT_PIPED_WIDTH = 160
#: Width of ``tables`` when stdout is not a terminal (the tables are laid out for 80 columns).
TABLES_PIPED_WIDTH = 80
#: Formats of ``schedbench tables``.
TABLE_FORMATS = ("table", "markdown", "csv", "latex")


def print_report(
    store: Path,
    fmt: str = "table",
    shift: float | None = None,
    penalty: float | None = None,
    campaign: str | None = None,
) -> int:
    """Print the report of a store (or its export) in ``fmt``. Returns 0, or 1 when it holds no runs
    (with a message on stderr; ``json`` still prints one valid document).

    Raises:
        StoreError: (an InputError) a missing store, not a store, an unknown format or campaign, a
            shift below 0, a penalty below 1.
    """
    from schedbench.report import FORMATS, build_report, render
    from schedbench.report.render import to_rich
    from schedbench.report.stats import DEFAULT_PENALTY, DEFAULT_SHIFT
    from schedbench.store.core import StoreError

    if fmt not in FORMATS:
        raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
    summary = build_report(
        store,
        shift=DEFAULT_SHIFT if shift is None else shift,
        penalty=DEFAULT_PENALTY if penalty is None else penalty,
        campaign=campaign,
    )
    if not summary.rows:
        scope = f" for campaign {campaign!r}" if campaign else ""
        err.print(f"no runs in {store}{scope}: nothing to report (run a campaign into it first: schedbench run SPEC)")
        if fmt == "json":  # a consumer still gets one valid document
            sys.stdout.write(render(summary, fmt))
        return 1
    if fmt == "table":
        make_console(piped_width=REPORT_PIPED_WIDTH).print(to_rich(summary))
    else:
        sys.stdout.write(render(summary, fmt))
    return 0


@guarded()
def report(
    store: Annotated[Path, typer.Argument(help="Results store (SQLite), or its parquet/CSV export.")],
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="Output format (json: strict, null for a missing value).")
    ] = ReportFormat.table,
    shift: Annotated[float, typer.Option(help="Shift of the shifted geometric mean time (s).")] = 10.0,
    penalty: Annotated[
        float, typer.Option("--timeout-penalty", help="Unsolved runs count as this many times their time limit.")
    ] = 10.0,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's runs.")] = None,
) -> int:
    """Per solver and class: runs, feasible, optimal, failures, gaps to best known, shifted geometric mean time."""
    return print_report(store, fmt.value, shift, penalty, campaign)


@guarded()
def compare(
    baseline: Annotated[Path, typer.Argument(help="Baseline results: a store (SQLite) or its parquet/csv export.")],
    candidate: Annotated[Path, typer.Argument(help="Candidate results of the same campaign (store or export).")],
    tolerance: Annotated[
        list[str] | None,
        typer.Option(
            "--tolerance",
            help="NAME=VALUE, repeatable: solved=RUNS, optimal=RUNS, gap=ABS (0.001 = 0.1 pp), "
            "time=RATIO (defaults 0, 0, 0.001, 1.25).",
        ),
    ] = None,
    shift: Annotated[float, typer.Option(help="Shift of the shifted geometric mean time (s).")] = 10.0,
    penalty: Annotated[
        float, typer.Option("--timeout-penalty", help="Unsolved runs count as this many times their time limit.")
    ] = 10.0,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's runs (both sides).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> int:
    """Quality and speed gate: exit 1 when CANDIDATE is worse than BASELINE beyond the tolerances."""
    from schedbench.compare import compare as compare_sets
    from schedbench.compare import parse_tolerances, to_rich

    result = compare_sets(
        baseline, candidate, tolerance=parse_tolerances(tolerance), shift=shift, penalty=penalty, campaign=campaign
    )
    if as_json:
        print_json(result.to_json())
    else:
        console = make_console(piped_width=REPORT_PIPED_WIDTH)
        console.print(to_rich(result))
        worse = [r for r in result.rows if r.regressions]
        summary = (
            f"REGRESSION: {len(worse)} of {len(result.rows)} solver/class groups worse beyond the tolerances"
            if worse
            else f"no regression in {len(result.rows)} solver/class groups"
        )
        console.print(Text(summary, style="bold red" if worse else "bold"))
    return 1 if result.regressed else 0


@guarded()
def tables(
    source: Annotated[Path, typer.Argument(help="Results store, or its parquet/CSV export.")],
    fmt: Annotated[str, typer.Option("--format", help="table, markdown, csv or latex.")] = "table",
    success_gap: Annotated[float, typer.Option(help="A run succeeds with a gap at most this.")] = 1e-6,
    families: Annotated[bool, typer.Option("--families/--no-families", help="Rows per instance family too.")] = True,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Keep every solver version.")] = False,
) -> int:
    """Per set and instance family: success rate, shifted geometric mean time (ratio to best), gaps, significance."""
    from schedbench.plots.source import load
    from schedbench.publish import tables as tb
    from schedbench.store.core import StoreError

    if fmt not in TABLE_FORMATS:
        raise StoreError("--format", f"one of {list(TABLE_FORMATS)}", repr(fmt))
    src = load(source, all_versions=all_versions)
    tabs = tb.set_tables(src.runs, success_gap=success_gap, families=families)
    if not tabs:
        raise StoreError(str(source), "runs to tabulate", "none")
    if fmt == "table":
        console = make_console(piped_width=TABLES_PIPED_WIDTH)
        for t in tabs:
            console.print(tb.to_rich(t))
            ci = tb.ci_rich(t)
            if ci is not None:
                console.print(ci)
        return 0
    render = {"markdown": tb.to_markdown, "csv": tb.to_csv, "latex": tb.to_latex}[fmt]
    parts = [render(t) for t in tabs]
    if fmt == "csv":  # one CSV: the header once
        parts = [parts[0]] + [p.split("\n", 1)[1] for p in parts[1:]]
    sys.stdout.write(("" if fmt == "csv" else "\n").join(parts))
    return 0


@guarded()
def publish(
    sources: Annotated[list[Path], typer.Argument(help="Results stores or parquet/CSV exports.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder (the site).")],
    success_gap: Annotated[float, typer.Option(help="A run succeeds with a gap at most this.")] = 1e-6,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Keep every solver version.")] = False,
) -> int:
    """Tables (Markdown, CSV, LaTeX), figures (PNG, PDF) and one self-contained HTML page per result set."""
    from schedbench.publish.site import publish as publish_site

    pages = publish_site(sources, output, success_gap=success_gap, all_versions=all_versions)
    for p in pages:
        out.print(f"wrote {output / (p.slug + '.html')} ({len(p.files)} files)")
    out.print(f"wrote {output / 'index.html'}")
    return 0
