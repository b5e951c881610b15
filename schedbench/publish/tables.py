"""Per-set comparison tables in the style of Mittelmann's and qpbenchmark's reports.

A **set** is one (problem class, objective) of a result set (``placement/min-cost`` = GAP,
``batch/makespan`` = R||Cmax); within a set, rows are grouped by instance **family** (the name
without its trailing ``-<digits>``: ``gap4``, ``JobsCorre``), after an ``all`` group.

Columns, per solver configuration and group:

- ``runs``;
- ``success %``: runs with a counted answer (status in
  :data:`~schedbench.report.stats.SOLVED_STATUSES`) whose gap is at most ``success_gap`` (default
  1e-6: the best-known value reached);
- ``SGM time``: shifted geometric mean of wall times (shift 10 s), a run without success charged at
  its time limit; ``ratio``: that over the group's best (best = 1);
- ``mean gap %``, ``max gap %``: the project's one gap (:func:`schedbench.scoring.gap`, stored per
  run) over runs with a feasible answer;
- ``sig``: ``*`` when the solver's per-instance gaps are significantly worse than those of the
  group's best solver by mean gap (paired Wilcoxon signed-rank, Holm over the group's comparisons,
  alpha 0.05; failures rank worst).

The best value of ``success %``, ``ratio`` and ``mean gap %`` in each group is bold (LaTeX via pandas
``Styler``, Markdown with ``**``, the terminal in bold). Precision: percentages with 1 (success) or 3
(gaps) decimals, times and ratios with 2.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schedbench.plots.source import family_of, set_of
from schedbench.report.stats import SOLVED_STATUSES, shifted_geometric_mean

SHIFT = 10.0
COLUMNS = ("group", "solver", "runs", "success %", "SGM time (s)", "ratio", "mean gap %", "max gap %", "sig")
BOLD = {"success %": "max", "ratio": "min", "mean gap %": "min"}


@dataclass(frozen=True)
class SetTable:
    """One set's table: ``frame`` (numbers, one row per group and solver; NaN where undefined),
    ``bold`` (same shape, True where the cell is the group's best) and the set's name."""

    name: str
    frame: pd.DataFrame
    bold: pd.DataFrame
    success_gap: float
    intervals: pd.DataFrame | None = None

    def caption(self) -> str:
        """The table's caption: what each column means."""
        return (
            f"{self.name}: success = a counted answer within a gap of {self.success_gap:g} of the best known; "
            f"SGM time = shifted geometric mean of wall time (shift {SHIFT:g} s), a run without success "
            "charged at its time limit; ratio = SGM over the group's best (best = 1); gap = |objective - best "
            "known| / |best known| over feasible answers; * = per-instance gaps significantly worse than the "
            "group's best (paired Wilcoxon signed-rank, Holm, alpha 0.05); best values in bold."
        )


def _group_rows(runs: pd.DataFrame, group: str, success_gap: float) -> list[dict]:
    from schedbench.plots.data import gap_costs
    from schedbench.statistics import wilcoxon_holm

    rows = []
    for label, g in runs.groupby("label", sort=True):
        gap = g["gap"].astype(float)
        ok = g["status"].isin(SOLVED_STATUSES) & gap.notna() & (gap <= success_gap) & g["wall_s"].notna()
        times = np.where(ok, g["wall_s"].astype(float).fillna(0.0), g["time_limit"].astype(float))
        rows.append(
            {
                "group": group,
                "solver": str(label),
                "runs": len(g),
                "success %": 100.0 * ok.mean(),
                "SGM time (s)": shifted_geometric_mean(times, SHIFT),
                "mean gap %": 100.0 * gap.mean() if gap.notna().any() else np.nan,
                "max gap %": 100.0 * gap.max() if gap.notna().any() else np.nan,
                "sig": "",
            }
        )
    best_t = min(r["SGM time (s)"] for r in rows)
    for r in rows:
        r["ratio"] = r["SGM time (s)"] / best_t if best_t > 0 else np.nan
    with_gap = [r for r in rows if not np.isnan(r["mean gap %"])]
    costs = gap_costs(runs)
    if with_gap and costs.shape[0] >= 2 and costs.shape[1] >= 2:
        best = min(with_gap, key=lambda r: (r["mean gap %"], r["solver"]))["solver"]
        pairs = [(best, str(c)) for c in costs.columns if str(c) != best]
        for t in wilcoxon_holm(costs, pairs=pairs):
            if t.better == best:
                next(r for r in rows if r["solver"] == t.b)["sig"] = "*"
    return rows


def set_tables(runs: pd.DataFrame, *, success_gap: float = 1e-6, families: bool = True) -> list[SetTable]:
    """One :class:`SetTable` per (class, objective) of ``runs`` (a frame with a ``label`` column,
    as :func:`schedbench.plots.source.load` gives)."""
    out = []
    for (cls, obj), s in runs.groupby(["class", "objective_name"], sort=True):
        rows = _group_rows(s, "all", success_gap)
        if families:
            fam = s["instance"].map(family_of)
            if fam.nunique() > 1:
                for name in sorted(fam.unique(), key=_natural):
                    rows += _group_rows(s[fam == name], name, success_gap)
        frame = pd.DataFrame(rows)[list(COLUMNS)]
        bold = pd.DataFrame(False, index=frame.index, columns=frame.columns)
        for _, idx in frame.groupby("group", sort=False).groups.items():
            for col, how in BOLD.items():
                vals = frame.loc[idx, col]
                if vals.notna().any():
                    target = vals.max() if how == "max" else vals.min()
                    bold.loc[idx, col] = np.isclose(vals, target, rtol=1e-12, atol=1e-12)
        out.append(SetTable(set_of(str(cls), str(obj)), frame, bold, success_gap, bootstrap_intervals(s, success_gap)))
    return out


#: Columns of :func:`bootstrap_intervals`.
CI_COLUMNS = ("solver", "runs", "mean gap %", "gap low", "gap high", "SGM time (s)", "SGM low", "SGM high")
CI_RESAMPLES = 2000


def bootstrap_intervals(
    runs: pd.DataFrame, success_gap: float = 1e-6, *, level: float = 0.95, seed: int = 0
) -> pd.DataFrame | None:
    """Percentile bootstrap intervals (:func:`schedbench.statistics.bootstrap_ci`, :data:`CI_RESAMPLES`
    resamples, generator seed ``seed``) of each solver's mean gap (%) and SGM time (the table's
    definitions) over a set, resampling instances with all their seeds. None unless some solver has
    several seeds on an instance (one seed: the intervals would only reflect instance sampling)."""
    from schedbench.statistics import bootstrap_ci

    seeds = runs.groupby(["label", "instance"])["seed"].nunique()
    if seeds.empty or seeds.max() < 2:
        return None
    rows = []
    for label, g in runs.groupby("label", sort=True):
        gap = g["gap"].astype(float)
        ok = g["status"].isin(SOLVED_STATUSES) & gap.notna() & (gap <= success_gap) & g["wall_s"].notna()
        times = np.where(ok, g["wall_s"].astype(float).fillna(0.0), g["time_limit"].astype(float))
        t = bootstrap_ci(times, "sgm", level=level, n_boot=CI_RESAMPLES, seed=seed, groups=g["instance"].tolist())
        has = gap.notna().to_numpy()
        if has.any():
            gi = bootstrap_ci(
                100.0 * gap.to_numpy()[has],
                "mean",
                level=level,
                n_boot=CI_RESAMPLES,
                seed=seed,
                groups=g["instance"].to_numpy()[has].tolist(),
            )
            gcells = (gi.estimate, gi.low, gi.high)
        else:
            gcells = (np.nan, np.nan, np.nan)
        rows.append((str(label), len(g), *gcells, t.estimate, t.low, t.high))
    return pd.DataFrame(rows, columns=list(CI_COLUMNS))


def _ci_text(frame: pd.DataFrame) -> list[list[str]]:
    out = []
    for r in frame.itertuples(index=False):
        out.append(
            [r[0], str(r[1]), *(("-" if np.isnan(v) else f"{v:.3f}") for v in r[2:5]), *(f"{v:.2f}" for v in r[5:8])]
        )
    return out


def ci_caption() -> str:
    """The caption of the bootstrap-interval table."""
    return (
        f"95 % percentile bootstrap intervals ({CI_RESAMPLES} resamples of the instances, each with all "
        "its seeds; generator seed 0) of the mean gap (%) and of the SGM time (s)."
    )


def _natural(name: str) -> tuple:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


FORMATS_NUM = {
    "runs": "{:d}",
    "success %": "{:.1f}",
    "SGM time (s)": "{:.2f}",
    "ratio": "{:.2f}",
    "mean gap %": "{:.3f}",
    "max gap %": "{:.3f}",
}


def _cell(col: str, value: Any) -> str:  # a pandas cell: a number, None/NaN, or text
    if col in FORMATS_NUM:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return "-"
        return FORMATS_NUM[col].format(int(value) if col == "runs" else float(value))
    return str(value)


def text_cells(table: SetTable) -> list[list[str]]:
    """Every cell as text (consistent precision, ``-`` for undefined), in :data:`COLUMNS` order."""
    return [[_cell(c, table.frame.at[i, c]) for c in COLUMNS] for i in table.frame.index]


def to_markdown(table: SetTable) -> str:
    """A pipe table (bold with ``**``) with its caption."""
    lines = [
        f"### {table.name}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(":---" if c in ("group", "solver", "sig") else "---:" for c in COLUMNS) + "|",
    ]
    for i, cells in zip(table.frame.index, text_cells(table), strict=True):
        cells = [f"**{v}**" if table.bold.at[i, c] else v for c, v in zip(COLUMNS, cells, strict=True)]
        lines.append("| " + " | ".join(v.replace("|", "\\|") for v in cells) + " |")
    text = "\n".join(lines) + "\n\n*" + table.caption().replace("*", "\\*").replace("|", "\\|") + "*\n"
    if table.intervals is not None:
        ci = ["", "| " + " | ".join(CI_COLUMNS) + " |", "|:---|" + "---:|" * (len(CI_COLUMNS) - 1)]
        ci += ["| " + " | ".join(row) + " |" for row in _ci_text(table.intervals)]
        text += "\n".join(ci) + "\n\n*" + ci_caption() + "*\n"
    return text


def to_csv(table: SetTable) -> str:
    """Full-precision CSV with a ``set`` column first."""
    buf = io.StringIO()
    table.frame.assign(set=table.name)[["set", *COLUMNS]].to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def to_latex(table: SetTable) -> str:
    """A booktabs ``table`` via pandas ``Styler`` (best values ``\\textbf``); needs ``\\usepackage{booktabs}``."""
    from schedbench.report.render import latex_escape

    frame = table.frame.copy()
    frame["group"] = frame["group"].map(latex_escape)
    frame["solver"] = frame["solver"].map(latex_escape)
    frame.columns = [latex_escape(c) for c in frame.columns]
    bold = table.bold.copy()
    bold.columns = frame.columns
    styler = frame.style.hide(axis="index")
    styler = styler.format({latex_escape(c): (lambda v, c=c: _cell(c, v)) for c in FORMATS_NUM})
    styler = styler.apply(lambda _: np.where(bold, "textbf:--rwrap;", ""), axis=None)
    caption = latex_escape(table.caption())
    text = (
        styler.to_latex(
            hrules=True,
            caption=caption,
            position_float="centering",
            column_format="ll" + "r" * (len(COLUMNS) - 3) + "c",
            environment="table",
        )
        + "\n"
    )
    if table.intervals is not None:
        ci = table.intervals.copy()
        ci["solver"] = ci["solver"].map(latex_escape)
        ci.columns = [latex_escape(c) for c in ci.columns]
        cs = (
            ci.style.hide(axis="index")
            .format(precision=3)
            .format({latex_escape(c): "{:.2f}" for c in ("SGM time (s)", "SGM low", "SGM high")})
        )
        text += (
            cs.to_latex(
                hrules=True,
                caption=latex_escape(ci_caption()),
                position_float="centering",
                column_format="lr" + "r" * (len(CI_COLUMNS) - 2),
                environment="table",
            )
            + "\n"
        )
    return text


def to_rich(table: SetTable) -> object:
    """A rich table readable at 80 columns (short headers, no truncation); cells are data, never markup."""
    from rich.table import Table
    from rich.text import Text

    short = {"success %": "succ%", "SGM time (s)": "SGM s", "mean gap %": "gap%", "max gap %": "max%"}
    t = Table(title=Text(table.name), caption=Text(table.caption()), caption_justify="left", padding=(0, 1))
    for c in COLUMNS:
        t.add_column(
            short.get(c, c),
            justify="left" if c in ("group", "solver") else "right",
            no_wrap=c not in ("group", "solver"),
            overflow="fold",
        )
    for i, cells in zip(table.frame.index, text_cells(table), strict=True):
        t.add_row(*[Text(v, style="bold" if table.bold.at[i, c] else "") for c, v in zip(COLUMNS, cells, strict=True)])
    return t


def ci_rich(table: SetTable) -> object | None:
    """The bootstrap intervals as a rich table (None without intervals); cells are data, never markup."""
    from rich.table import Table
    from rich.text import Text

    if table.intervals is None:
        return None
    short = {"mean gap %": "gap%", "SGM time (s)": "SGM s"}
    t = Table(
        title=Text(f"{table.name}: bootstrap intervals"),
        caption=Text(ci_caption()),
        caption_justify="left",
        padding=(0, 1),
    )
    for c in CI_COLUMNS:
        t.add_column(short.get(c, c), justify="left" if c == "solver" else "right", no_wrap=c != "solver")
    for row in _ci_text(table.intervals):
        t.add_row(*(Text(v) for v in row))
    return t
