"""``schedbench report``: per solver and problem class, the runs, feasible, optimal, timeouts,
failures, mean and median gap to the best-known value and the shifted geometric mean time (shift
and timeout penalty explicit and printed, the number solved beside it).

Layout: :mod:`~schedbench.report.stats` (pure statistics with validated input),
:mod:`~schedbench.report.summary` (the table's dataclasses, built from a runs frame),
:mod:`~schedbench.report.render` (rich, Markdown, CSV, LaTeX) and
:mod:`~schedbench.report.command` (the report of a store; the command is :mod:`schedbench.cli.report`).
"""

from schedbench.report.command import FORMATS, build_report, render
from schedbench.report.stats import (
    DEFAULT_PENALTY,
    DEFAULT_SHIFT,
    FAILURE_STATUSES,
    SOLVED_STATUSES,
    TIMEOUT_STATUSES,
    GapStats,
    gap_stats,
    penalized_times,
    shifted_geometric_mean,
)
from schedbench.report.summary import Summary, SummaryRow, summarize

__all__ = [
    "DEFAULT_PENALTY",
    "DEFAULT_SHIFT",
    "FAILURE_STATUSES",
    "FORMATS",
    "SOLVED_STATUSES",
    "TIMEOUT_STATUSES",
    "GapStats",
    "Summary",
    "SummaryRow",
    "build_report",
    "gap_stats",
    "penalized_times",
    "render",
    "shifted_geometric_mean",
    "summarize",
]
