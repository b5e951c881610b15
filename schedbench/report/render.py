"""The summary in five formats: a rich table (terminal), Markdown, CSV, LaTeX (booktabs) and JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from typing import Any

from rich.table import Table
from rich.text import Text

from schedbench.report.summary import Summary, SummaryRow

HEADERS = (
    "Solver",
    "Class",
    "Runs",
    "Feasible",
    "Optimal",
    "Timeouts",
    "Failures",
    "Wrong",
    "Declined",
    "Mean gap",
    "Median gap",
    "Solved",
    "Time (SGM, s)",
    "Flags",
)
#: CSV columns: the row's fields, then the parameters of the time statistic.
CSV_COLUMNS = (
    "solver",
    "class",
    "runs",
    "feasible",
    "optimal",
    "timeouts",
    "failures",
    "wrong",
    "declined",
    "gap_runs",
    "mean_gap",
    "median_gap",
    "solved",
    "sgm_time_s",
    "flags",
    "shift_s",
    "timeout_penalty",
)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100.0 * value:.2f}%"


def _time(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _cells(row: SummaryRow) -> list[str]:
    return [
        row.solver,
        row.problem_class,
        str(row.runs),
        str(row.feasible),
        str(row.optimal),
        str(row.timeouts),
        str(row.failures),
        str(row.wrong),
        str(row.declined),
        _pct(row.mean_gap),
        _pct(row.median_gap),
        f"{row.solved}/{row.runs - row.declined}",
        _time(row.sgm_time),
        row.flags or "-",
    ]


def to_rich(summary: Summary) -> Table:
    """A rich table with the caption under it."""
    title = "Solver summary" + (f" (campaign {summary.campaign})" if summary.campaign else "")
    table = Table(title=Text(title), caption=Text(summary.caption()), caption_justify="left")
    for i, header in enumerate(HEADERS):
        table.add_column(header, justify="left" if i < 2 or i == len(HEADERS) - 1 else "right", no_wrap=i < 2)
    for row in summary.rows:
        table.add_row(*(Text(c) for c in _cells(row)))  # labels are data, never rich markup
    return table


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(summary: Summary) -> str:
    """A pipe table followed by its caption (italic paragraph)."""
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(":---" if i < 2 else "---:" for i in range(len(HEADERS))) + "|",
    ]
    lines += ["| " + " | ".join(_md(c) for c in _cells(row)) + " |" for row in summary.rows]
    return "\n".join(lines) + "\n\n*" + _md(summary.caption()).replace("*", "\\*") + "*\n"


def to_csv(summary: Summary) -> str:
    """One header row and one row per summary row; empty fields for missing gaps; full precision."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in summary.rows:
        writer.writerow(
            [
                r.solver,
                r.problem_class,
                r.runs,
                r.feasible,
                r.optimal,
                r.timeouts,
                r.failures,
                r.wrong,
                r.declined,
                r.gap_runs,
                "" if r.mean_gap is None else repr(r.mean_gap),
                "" if r.median_gap is None else repr(r.median_gap),
                r.solved,
                "" if r.sgm_time is None else repr(r.sgm_time),
                r.flags,
                repr(summary.shift),
                repr(summary.penalty),
            ]
        )
    return buf.getvalue()


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(summary: Summary) -> str:
    """A ``table`` with a ``booktabs`` tabular (needs ``\\usepackage{booktabs}``)."""
    caption = latex_escape(summary.caption(times="\x00")).replace("\x00", r"$\times$")
    spec = "ll" + "r" * (len(HEADERS) - 3) + "l"
    lines = [
        r"\begin{table}",
        r"\centering",
        rf"\caption{{{caption}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in HEADERS) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(latex_escape(c) for c in _cells(row)) + r" \\" for row in summary.rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def to_json_doc(summary: Summary) -> dict[str, Any]:
    """The summary as a JSON-ready dict: ``shift_s``, ``timeout_penalty``, ``campaign``, ``caption``
    and ``rows`` (one object per row, keys as :data:`CSV_COLUMNS` less the two parameters); a missing
    or non-finite number is ``None``."""
    rows = [
        {
            "solver": r.solver,
            "class": r.problem_class,
            "runs": r.runs,
            "feasible": r.feasible,
            "optimal": r.optimal,
            "timeouts": r.timeouts,
            "failures": r.failures,
            "wrong": r.wrong,
            "declined": r.declined,
            "gap_runs": r.gap_runs,
            "mean_gap": _finite(r.mean_gap),
            "median_gap": _finite(r.median_gap),
            "solved": r.solved,
            "sgm_time_s": _finite(r.sgm_time),
            "flags": r.flags,
        }
        for r in summary.rows
    ]
    return {
        "campaign": summary.campaign,
        "shift_s": _finite(summary.shift),
        "timeout_penalty": _finite(summary.penalty),
        "caption": summary.caption(),
        "rows": rows,
    }


def to_json(summary: Summary) -> str:
    """Strict JSON (RFC 8259: no NaN or Infinity, ``null`` for a missing value), one document and a newline."""
    return json.dumps(to_json_doc(summary), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


#: The text formats of the report, by name, in the order ``--format`` lists them (``table`` is
#: :func:`to_rich`). A new format is a function ``Summary -> str`` added here and its name in
#: :class:`schedbench.cli.choices.ReportFormat` (the CLI keeps its Enum free of imports;
#: ``tests/test_ci_commands.py`` checks that both list the same names).
RENDERERS: dict[str, Callable[[Summary], str]] = {
    "markdown": to_markdown,
    "csv": to_csv,
    "latex": to_latex,
    "json": to_json,
}
