"""``schedbench plot SOURCE KIND -o FILE``: one figure of a result set (:func:`schedbench.plots.make.make_figure`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schedbench.cli.console import guarded, out


@guarded()
def plot(
    source: Annotated[
        Path, typer.Argument(help="Results store, or its parquet/CSV export; an instance file with --solution.")
    ],
    kind: Annotated[
        str,
        typer.Argument(
            help="profile-time, profile-gap, ecdf-limit, ecdf-time, anytime, gantt, "
            "jct-cdf, load-sweep, utilisation or cd (docs/outputs.md)."
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Figure file: .pdf, .png or .svg.")],
    cls: Annotated[str | None, typer.Option("--class", help="Only runs of this problem class.")] = None,
    objective: Annotated[str | None, typer.Option(help="Only runs on instances with this objective.")] = None,
    solver: Annotated[list[str] | None, typer.Option("--solver", help="Only these solvers (repeatable).")] = None,
    instance: Annotated[str | None, typer.Option(help="The instance (anytime, gantt, utilisation).")] = None,
    run: Annotated[str | None, typer.Option(help="A run id or its prefix (gantt, utilisation).")] = None,
    solution: Annotated[Path | None, typer.Option(help="A solution file; SOURCE is then its instance.")] = None,
    target_gap: Annotated[float | None, typer.Option(help="profile-time: solved = gap at most this.")] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Keep every solver version, not only the latest.")
    ] = False,
    title: Annotated[str | None, typer.Option(help="Figure title.")] = None,
) -> int:
    """Draw a figure (performance profile, ECDF, anytime, Gantt, JCT CDF, load sweep, utilisation, CD)."""
    from schedbench.plots import figures
    from schedbench.plots.make import PlotOptions, make_figure

    opts = PlotOptions(
        cls=cls,
        objective=objective,
        solvers=list(solver or []),
        instance=instance,
        run=run,
        solution=solution,
        target_gap=target_gap,
        all_versions=all_versions,
        title=title,
    )
    fig, _ = make_figure(source, kind, opts)
    figures.save(fig, output)
    out.print(f"wrote {output}")
    return 0
