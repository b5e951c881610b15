"""Where a figure's, table's, page's or report's numbers come from: a results store or its
parquet/CSV export (``schedbench export``). The one loader of result sets: ``plot``, ``tables``,
``publish``, ``report`` and ``export`` all read through :func:`read_set`.

:func:`read_set` returns the raw :class:`ResultSet` (runs, trajectories, environments, instances,
exactly as stored, optionally one campaign's); :func:`load` returns a :class:`Source` for plotting:
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

from schedbench.store.core import StoreError, gap

#: Columns every runs frame must have to be plotted or tabulated.
REQUIRED = ("instance", "class", "objective_name", "solver", "solver_version", "params", "seed", "status",
            "gap", "wall_s", "time_limit")


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


def _version_key(v: str) -> tuple[int, str]:
    return (int(v), "") if str(v).isdigit() else (-1, str(v))


def latest_versions(runs: pd.DataFrame) -> pd.DataFrame:
    """Only the runs of each solver's latest version (numeric versions compare as numbers)."""
    if runs.empty:
        return runs
    latest = runs.groupby("solver")["solver_version"].agg(lambda vs: max(vs, key=_version_key))
    return runs[runs["solver_version"] == runs["solver"].map(latest)].reset_index(drop=True)


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


def _sibling(path: Path, what: str) -> Path:
    ext = path.suffix
    return path.with_name(f"{path.name.removesuffix(ext)}.{what}{ext}")


EXPORT_SUFFIXES = (".parquet", ".csv")


def is_export(path: str | Path) -> bool:
    """Whether ``path`` names a parquet/CSV export (by its suffix) rather than a store."""
    return Path(path).suffix in EXPORT_SUFFIXES


def sibling(path: str | Path, what: str) -> Path:
    """The file ``what`` beside an export: ``NAME.trajectories.parquet`` for ``NAME.parquet``."""
    p = Path(path)
    ext = p.suffix
    return p.with_name(f"{p.name.removesuffix(ext)}.{what}{ext}")



def _text_columns() -> dict[str, type]:
    from schedbench.store import views as results

    columns = (*results.RUN_COLUMNS, *results.INSTANCE_COLUMNS, *results.TRAJECTORY_COLUMNS,
               *results.ENVIRONMENT_COLUMNS, ("file", "str"))
    return {name: str for name, kind in columns if kind == "str"}


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        frame = pd.read_csv(path, dtype=_text_columns())
    except (OSError, ValueError) as exc:
        raise StoreError(str(path), "a readable parquet or CSV export", f"{type(exc).__name__}: {exc}") from None
    text = [c for c in frame.columns if c in _text_columns()]
    for column in text:  # missing text is None, as in a store's frame; no flags is ''
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    if "flags" in frame.columns:
        frame["flags"] = frame["flags"].fillna("")
    return frame


@dataclass
class ResultSet:
    """A result set as stored, before any filtering for plots.

    Attributes:
        path: the file it came from.
        runs: :func:`schedbench.store.views.runs` columns, one row per run.
        trajectories: ``run_id, t, objective, bound`` of those runs (None when an export has none).
        environments: :func:`schedbench.store.views.environments` (None when an export has none).
        instances: :func:`schedbench.store.views.instances` of those runs' instances (an export's adds
            ``file``, the copied instance file relative to the export's folder; None when absent).
        store: the SQLite store path, or None for an export.
    """

    path: Path
    runs: pd.DataFrame
    trajectories: pd.DataFrame | None
    environments: pd.DataFrame | None
    instances: pd.DataFrame | None
    store: Path | None


def read_set(path: str | Path, *, campaign: str | int | None = None) -> ResultSet:
    """Read a store (``.sqlite``/``.db`` or any SQLite file) or an export (``.parquet``, ``.csv``),
    optionally only one campaign's runs (and their trajectories).

    Raises:
        StoreError: the file is missing, unreadable, not a store, lacks required columns, or the
            campaign is not in it.
    """
    from schedbench.store import views as results

    p = Path(path)
    if not p.exists():
        raise StoreError(str(p), "an existing results store or parquet/CSV export", "no such file")
    if is_export(p):
        runs = _read_table(p)
        missing = [c for c in REQUIRED if c not in runs.columns]
        if missing:
            raise StoreError(str(p), f"a runs table with the columns {list(REQUIRED)}", f"missing {missing}")
        traj_path, env_path, inst_path = sibling(p, "trajectories"), sibling(p, "environments"), sibling(p, "instances")
        trajectories = _read_table(traj_path) if traj_path.exists() else None
        environments = _read_table(env_path) if env_path.exists() else None
        instances = _read_table(inst_path) if inst_path.exists() else None
        if campaign is not None:
            names = runs["campaign"] if "campaign" in runs.columns else pd.Series([], dtype=object)
            keep = names.astype(str) == str(campaign)
            if not keep.any():
                known = sorted({str(n) for n in names.dropna()})
                raise StoreError(str(p), f"a campaign of the export (one of {known})", repr(campaign), "--campaign")
            runs = runs[keep.to_numpy()].reset_index(drop=True)
            if trajectories is not None:
                trajectories = trajectories[trajectories["run_id"].isin(runs["run_id"])].reset_index(drop=True)
        return ResultSet(p, runs, trajectories, environments, instances, None)
    runs = results.runs(p, campaign=campaign)
    instances = results.instances(p)
    instances = instances[instances["instance_hash"].isin(runs["instance_hash"])].reset_index(drop=True)
    return ResultSet(p, runs, results.trajectories(p, campaign=campaign), results.environments(p), instances, p)


def read_runs(path: str | Path, *, campaign: str | int | None = None) -> pd.DataFrame:
    """The runs frame of a store or an export (of one campaign): :func:`read_set`'s ``runs``."""
    return read_set(path, campaign=campaign).runs


def load(path: str | Path, *, all_versions: bool = False) -> Source:
    """Load a store (``.sqlite``/``.db`` or any SQLite file) or an export (``.parquet``, ``.csv``)
    for plotting: every run (of each solver's latest version unless ``all_versions``), labelled.

    Raises:
        StoreError: the file is missing, unreadable, not a store, or lacks required columns.
    """
    rs = read_set(path)
    runs = rs.runs
    missing = [c for c in REQUIRED if c not in runs.columns]
    if missing:
        raise StoreError(str(rs.path), f"a runs table with the columns {list(REQUIRED)}", f"missing {missing}")
    if not all_versions:
        runs = latest_versions(runs)
    runs = add_labels(runs.reset_index(drop=True))
    return Source(rs.path, runs, rs.trajectories, rs.environments, rs.store)


def trajectory_gaps(runs: pd.DataFrame, trajectories: pd.DataFrame) -> pd.DataFrame:
    """The trajectories of ``runs`` as gaps (``run_id, t, gap``), with the project's one gap
    definition (:func:`schedbench.store.core.gap`) against each run's ``best_known``; points whose
    objective is missing are dropped."""
    best = runs.set_index("run_id")["best_known"] if "best_known" in runs else pd.Series(dtype=float)
    traj = trajectories[trajectories["run_id"].isin(runs["run_id"])].dropna(subset=["objective"])
    b = traj["run_id"].map(best)
    gaps = [gap(float(o), None if pd.isna(x) else float(x)) for o, x in zip(traj["objective"], b, strict=True)]
    out = pd.DataFrame({"run_id": traj["run_id"].to_numpy(), "t": traj["t"].astype(float).to_numpy(),
                        "gap": pd.array(gaps, dtype="float64")})
    return out.dropna(subset=["gap"]).sort_values(["run_id", "t"], kind="stable").reset_index(drop=True)
