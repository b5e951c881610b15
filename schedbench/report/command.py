"""Body of ``schedbench report STORE [--format table|markdown|csv|latex|json] [--shift S] [--timeout-penalty P]``."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from schedbench.cli.choices import REPORT_FORMATS as FORMATS
from schedbench.report.render import to_csv, to_json, to_latex, to_markdown, to_rich
from schedbench.report.stats import DEFAULT_PENALTY, DEFAULT_SHIFT
from schedbench.report.summary import Summary, summarize
from schedbench.store.core import StoreError


def build_report(store: str | Path, *, shift: float = DEFAULT_SHIFT, penalty: float = DEFAULT_PENALTY,
                 campaign: str | None = None) -> Summary:
    """The summary of a store or of its parquet/CSV export (of one campaign).

    Raises:
        StoreError: a missing file, not a store or export, an unknown campaign, or a bad shift or penalty.
    """
    from schedbench.plots.source import read_runs

    _check_parameters(shift, penalty)
    frame = read_runs(store, campaign=campaign)
    try:
        return summarize(frame, shift=shift, penalty=penalty, campaign=campaign)
    except ValueError as exc:  # e.g. a non-positive time limit stored by hand
        raise StoreError(str(store), "runs the report can summarise", str(exc)) from None


def _check_parameters(shift: float, penalty: float) -> None:
    if not (shift == shift and 0.0 <= shift < float("inf")):
        raise StoreError("--shift", "a finite number >= 0 (seconds)", repr(shift))
    if not (penalty == penalty and 1.0 <= penalty < float("inf")):
        raise StoreError("--timeout-penalty", "a finite number >= 1 (a factor of the time limit)", repr(penalty))


def render(summary: Summary, fmt: str) -> str:
    """The summary as Markdown, CSV, LaTeX or strict JSON text (``table`` is printed by :func:`report_command`)."""
    if fmt == "json":
        return to_json(summary)
    if fmt == "markdown":
        return to_markdown(summary)
    if fmt == "csv":
        return to_csv(summary)
    if fmt == "latex":
        return to_latex(summary)
    raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))


def report_command(store: Path, fmt: str = "table", shift: float = DEFAULT_SHIFT, penalty: float = DEFAULT_PENALTY,
                   campaign: str | None = None, *, console: Console | None = None,
                   err_console: Console | None = None) -> int:
    """Print the report of a store. Returns 0, or 1 when the store holds no runs (with a message on
    stderr). Bad input (missing store, not a store, unknown format or campaign, a shift below 0, a
    penalty below 1) raises StoreError, an InputError: the CLI prints it and exits 2."""
    if fmt not in FORMATS:
        raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
    summary = build_report(store, shift=shift, penalty=penalty, campaign=campaign)
    if not summary.rows:
        err = err_console or Console(stderr=True, highlight=False, soft_wrap=True)
        scope = f" for campaign {campaign!r}" if campaign else ""
        err.print(f"no runs in {store}{scope}: nothing to report (run a campaign into it first: schedbench run SPEC)",
                  markup=False)
        if fmt == "json":  # a consumer still gets one valid document
            sys.stdout.write(render(summary, fmt))
        return 1
    if fmt == "table":
        console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        console.print(to_rich(summary))
    else:
        sys.stdout.write(render(summary, fmt))
    return 0
