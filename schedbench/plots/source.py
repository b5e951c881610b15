"""Where a figure's, table's or page's numbers come from: a results store or its parquet/CSV export
(``schedbench export``), read by :func:`schedbench.store.views.read_set` (the one loader of result
sets, which returns them exactly as stored); :func:`load` returns a :class:`Source` for plotting:
the runs frame (:func:`schedbench.store.views.runs` columns) with labels, the anytime trajectories and
environments when available, and the store path (needed for stored solutions: Gantt charts, online
event logs). An export ``NAME.parquet`` is read with ``NAME.environments.parquet``,
``NAME.trajectories.parquet`` and ``NAME.instances.parquet`` beside it when those exist; a CSV
export likewise, its text columns read as text (a version ``1.10`` stays ``1.10``).

By default only each solver's latest version is kept (a store resumed after a solver changed keeps
the older runs; ``experiments/published.py`` tabulates the same way); ``all_versions=True`` keeps all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from schedbench.scoring import gap
from schedbench.store.core import StoreError
from schedbench.store.views import REQUIRED_RUN_COLUMNS, latest_versions, read_set


@dataclass
class Source:
    """A result set loaded for plotting.

    Attributes:
        path: the file it came from.
        runs: one row per run, with an added ``label`` column (unique per solver configuration).
        trajectories: ``run_id, t, objective, bound`` (None when the source has none).
        environments: :func:`schedbench.store.views.environments` (None when absent).
        store: the SQLite store path, or None for an export (no stored solutions).
    """

    path: Path
    runs: pd.DataFrame
    trajectories: pd.DataFrame | None
    environments: pd.DataFrame | None
    store: Path | None


def add_labels(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with a ``label`` column: the report's solver label (name, plus version/parameters
    when a name has several configurations)."""
    from schedbench.report.summary import solver_labels

    configs = list(zip(runs["solver"], runs["solver_version"], runs["params"], strict=True))
    labels = solver_labels(configs)
    return runs.assign(label=[labels[c] for c in configs])


_TAIL = re.compile(r"[-_]\d+$")


def family_of(instance: str) -> str:
    """An instance's family: its name without a trailing ``-<digits>`` (``gap4-2`` -> ``gap4``,
    ``JobsCorre-111`` -> ``JobsCorre``)."""
    return _TAIL.sub("", str(instance)) or str(instance)


def set_of(cls: str, objective: str) -> str:
    """A result set's name from the class and objective: ``placement/min-cost``..."""
    return f"{cls}/{objective}"


def load(path: str | Path, *, all_versions: bool = False) -> Source:
    """Load a store (``.sqlite``/``.db`` or any SQLite file) or an export (``.parquet``, ``.csv``)
    for plotting: every run (of each solver's latest version unless ``all_versions``), labelled.

    Raises:
        StoreError: the file is missing, unreadable, not a store, or lacks required columns.
    """
    rs = read_set(path)
    runs = rs.runs
    missing = [c for c in REQUIRED_RUN_COLUMNS if c not in runs.columns]
    if missing:
        raise StoreError(
            str(rs.path), f"a runs table with the columns {list(REQUIRED_RUN_COLUMNS)}", f"missing {missing}"
        )
    if not all_versions:
        runs = latest_versions(runs)
    runs = add_labels(runs.reset_index(drop=True))
    return Source(rs.path, runs, rs.trajectories, rs.environments, rs.store)


def trajectory_gaps(runs: pd.DataFrame, trajectories: pd.DataFrame) -> pd.DataFrame:
    """The trajectories of ``runs`` as gaps (``run_id, t, gap``), with the project's one gap
    definition (:func:`schedbench.scoring.gap`) against each run's ``best_known``; points whose
    objective is missing are dropped."""
    indexed = runs.set_index("run_id")
    best = indexed["best_known"] if "best_known" in runs else pd.Series(dtype=float)
    sense = indexed["sense"] if "sense" in runs else pd.Series(dtype=object)
    traj = trajectories[trajectories["run_id"].isin(runs["run_id"])].dropna(subset=["objective"])
    b, s = traj["run_id"].map(best), traj["run_id"].map(sense).fillna("min")
    gaps = [
        gap(float(o), None if pd.isna(x) else float(x), str(d)) for o, x, d in zip(traj["objective"], b, s, strict=True)
    ]
    out = pd.DataFrame(
        {
            "run_id": traj["run_id"].to_numpy(),
            "t": traj["t"].astype(float).to_numpy(),
            "gap": pd.array(gaps, dtype="float64"),
        }
    )
    return out.dropna(subset=["gap"]).sort_values(["run_id", "t"], kind="stable").reset_index(drop=True)
