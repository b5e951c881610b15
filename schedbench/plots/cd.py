"""Demšar's critical-difference diagram of a Friedman/Nemenyi test (:mod:`schedbench.statistics`).

The statistics are computed in :mod:`schedbench.statistics`; this module only draws them (matplotlib,
extra ``[plot]``, imported lazily through :mod:`schedbench.plots.figures`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from schedbench.statistics import FriedmanResult, cliques, friedman_nemenyi


def cd_diagram(result: FriedmanResult, *, title: str | None = None) -> Any:
    """Demšar's critical-difference diagram: the rank axis (best at the left), each solver's
    average rank, the CD bar, and thick lines joining solvers not significantly different."""
    from schedbench.plots.colors import solver_color
    from schedbench.plots.figures import _new

    avg = result.avg_ranks
    k = result.k
    fig, ax = _new(6.4, 1.2 + 0.3 * k)
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-(k // 2 + 2.5), 1.5)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black", lw=1)
    for t in range(1, k + 1):
        ax.vlines(t, 0, 0.15, color="black", lw=1)
        ax.text(t, 0.25, str(t), ha="center", va="bottom", fontsize="small")
    ax.hlines(1.0, 1, 1 + result.cd, color="black", lw=2)
    ax.text(
        1 + result.cd / 2,
        1.1,
        f"CD = {result.cd:.2f} (α = {result.alpha:g})",
        ha="center",
        va="bottom",
        fontsize="small",
    )
    half = (k + 1) // 2
    for i, (name, r) in enumerate(avg.items()):
        left = i < half
        y = -(i + 1) if left else -(k - i)
        x_text = 0.6 if left else k + 0.4
        ax.plot([r, r, x_text], [0, y, y], color=solver_color(str(name)), lw=1)
        ax.text(
            x_text,
            y,
            f"{name} ({r:.2f})",
            ha="left" if not left else "right",
            va="center",
            fontsize="small",
            clip_on=False,
        )
    for i, group in enumerate(cliques(avg, result.cd)):
        lo, hi = avg[list(group)].min(), avg[list(group)].max()
        ax.hlines(-0.4 - 0.25 * i, lo - 0.03, hi + 0.03, color="black", lw=3)
    ax.set_title(title or f"Average ranks over {result.n} instances (Friedman p = {result.p:.2g})", fontsize="medium")
    return fig


def cd_figure_from_runs(runs: pd.DataFrame, *, title: str | None = None) -> tuple[Any, FriedmanResult]:
    """The CD diagram of the ranks on ``1 + gap`` at the limit (failures rank last) of a runs frame."""
    from schedbench.plots.data import gap_costs

    costs = gap_costs(runs)
    if costs.shape[0] < 2 or costs.shape[1] < 2:
        from schedbench.store.core import StoreError

        raise StoreError(
            "<runs>", "at least 2 instances and 2 solvers for a CD diagram", f"{costs.shape[0]} x {costs.shape[1]}"
        )
    res = friedman_nemenyi(costs)
    return cd_diagram(res, title=title), res
