"""A results store read as pandas DataFrames.

Every function opens the store read-only (it may be read while a campaign writes it) and returns a
frame with the documented columns, in the documented order, also when the store holds no runs.

``runs`` columns (one row per run):

======================  ========  ==========================================================
run_id                  str       the run's identity (sha256)
campaign                str       campaign name (None for runs written without one)
instance                str       instance name
instance_hash           str       instance content hash
class                   str       problem class
objective_name          str       the instance's objective (``min-cost``, ``makespan``...)
sense                   str       ``min`` or ``max``
n_jobs, n_gpus          Int64     instance size (NA when the instance was never added)
solver, solver_version  str       solver name and version
params                  str       resolved solver parameters, canonical JSON
seed, solver_seed       Int64     repetition index and the seed the solver received
time_limit              float64   seconds
memory_limit_mb         Int64     NA when unlimited
threads                 Int64
status, reason          str       run status (:data:`schedbench.plugins.solver.RUN_STATUSES`) and why
objective               float64   validated objective (NaN without a feasible answer)
claimed_objective       float64   what the solver claimed
claimed_status          str
bound                   float64   the solver's proven bound
feasible                boolean   validator verdict (NA without an answer)
gap                     float64   :func:`schedbench.scoring.gap` against ``best_known`` (a fraction; 0 = best)
best_known, best_bound  float64   the instance's best-known value and tightest bound
wall_s, cpu_s           float64   measured times (solve only)
peak_rss_mb             float64
flags                   str       comma-separated flags ('' when none)
host                    str       machine that ran it
env_id                  Int64     row of :func:`environments`
finished_at             str       UTC ISO time of the write (informational)
======================  ========  ==========================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from schedbench.store.core import Store, StoreError

#: (column, kind) of :func:`runs`; kind is ``str``, ``float``, ``int`` or ``bool``.
RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "str"),
    ("campaign", "str"),
    ("instance", "str"),
    ("instance_hash", "str"),
    ("class", "str"),
    ("objective_name", "str"),
    ("sense", "str"),
    ("n_jobs", "int"),
    ("n_gpus", "int"),
    ("solver", "str"),
    ("solver_version", "str"),
    ("params", "str"),
    ("seed", "int"),
    ("solver_seed", "int"),
    ("time_limit", "float"),
    ("memory_limit_mb", "int"),
    ("threads", "int"),
    ("status", "str"),
    ("reason", "str"),
    ("objective", "float"),
    ("claimed_objective", "float"),
    ("claimed_status", "str"),
    ("bound", "float"),
    ("feasible", "bool"),
    ("gap", "float"),
    ("best_known", "float"),
    ("best_bound", "float"),
    ("wall_s", "float"),
    ("cpu_s", "float"),
    ("peak_rss_mb", "float"),
    ("flags", "str"),
    ("host", "str"),
    ("env_id", "int"),
    ("finished_at", "str"),
)
#: (column, kind) of :func:`instances`.
INSTANCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("instance_hash", "str"),
    ("instance", "str"),
    ("class", "str"),
    ("objective_name", "str"),
    ("sense", "str"),
    ("n_jobs", "int"),
    ("n_gpus", "int"),
    ("path", "str"),
    ("published_optimum", "float"),
    ("published_best_known", "float"),
    ("published_lower_bound", "float"),
    ("published_upper_bound", "float"),
    ("published_source", "str"),
    ("best_known", "float"),
    ("best_known_source", "str"),
    ("best_run_id", "str"),
    ("best_bound", "float"),
    ("best_bound_source", "str"),
    ("runs", "int"),
)
#: Fixed leading columns of :func:`environments` (the description's fields follow, flattened).
ENVIRONMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("env_id", "int"),
    ("sha256", "str"),
    ("created_at", "str"),
    ("runs", "int"),
    ("doc", "str"),
)
#: Columns of :func:`trajectories`.
TRAJECTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "str"),
    ("t", "float"),
    ("objective", "float"),
    ("bound", "float"),
)

_DTYPES = {"float": "float64", "int": "Int64", "bool": "boolean"}


def _frame(rows: list[Any], columns: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=[name for name, _ in columns])
    for name, kind in columns:
        if kind in _DTYPES:
            frame[name] = frame[name].astype(_DTYPES[kind])
        else:
            frame[name] = frame[name].astype(object)
    return frame


def _campaign_filter(store: Store, campaign: str | int | None) -> tuple[str, tuple[Any, ...]]:
    if campaign is None:
        return "", ()
    return "WHERE r.campaign_id = ?", (store.campaign_id(campaign),)


def runs(store_path: str | Path, *, campaign: str | int | None = None) -> pd.DataFrame:
    """One row per run (of one campaign, by name or id); columns as in the module's table.

    Raises:
        StoreError: the file is missing or not a store, or the campaign is unknown.
    """
    with Store(store_path, readonly=True) as store:
        where, args = _campaign_filter(store, campaign)
        sql = (
            "SELECT r.run_id, c.name, i.name, r.instance_hash, i.class, i.objective, i.sense, i.n_jobs, i.n_gpus, "
            "s.name, s.version, s.params_json, r.seed, r.solver_seed, r.time_limit, r.memory_limit_mb, r.threads, "
            "r.status, r.reason, r.objective, r.claimed_objective, r.claimed_status, r.bound, r.feasible, r.gap, "
            "i.best_known, i.best_bound, r.wall_s, r.cpu_s, r.peak_rss_mb, r.flags_json, r.host, r.env_id, "
            "r.finished_at FROM runs r JOIN instances i ON i.hash = r.instance_hash "
            "JOIN solvers s ON s.id = r.solver_id LEFT JOIN campaigns c ON c.id = r.campaign_id "
            f"{where} ORDER BY i.name, r.instance_hash, s.name, s.version, s.params_json, r.seed, r.run_id"
        )
        rows = [list(row) for row in store.conn.execute(sql, args)]
    flags = [name for name, _ in RUN_COLUMNS].index("flags")
    feasible = [name for name, _ in RUN_COLUMNS].index("feasible")
    for row in rows:
        row[flags] = ",".join(json.loads(row[flags]))
        row[feasible] = None if row[feasible] is None else bool(row[feasible])
    return _frame(rows, RUN_COLUMNS)


def instances(store_path: str | Path) -> pd.DataFrame:
    """One row per instance: identity, size, published known values, combined best-known values,
    number of runs."""
    with Store(store_path, readonly=True) as store:
        sql = (
            "SELECT i.hash, i.name, i.class, i.objective, i.sense, i.n_jobs, i.n_gpus, i.path, i.known_json, "
            "i.best_known, i.best_known_source, i.best_run_id, i.best_bound, i.best_bound_source, "
            "(SELECT count(*) FROM runs r WHERE r.instance_hash = i.hash) FROM instances i ORDER BY i.name, i.hash"
        )
        raw = store.conn.execute(sql).fetchall()
    rows = []
    for (
        digest,
        name,
        cls,
        obj,
        sense,
        n_jobs,
        n_gpus,
        path,
        known_json,
        best,
        best_src,
        best_run,
        bound,
        bound_src,
        n_runs,
    ) in raw:
        known = json.loads(known_json)
        rows.append(
            (
                digest,
                name,
                cls,
                obj,
                sense,
                n_jobs,
                n_gpus,
                path,
                known.get("optimum"),
                known.get("best_known"),
                known.get("lower_bound"),
                known.get("upper_bound"),
                known.get("source"),
                best,
                best_src,
                best_run,
                bound,
                bound_src,
                n_runs,
            )
        )
    return _frame(rows, INSTANCE_COLUMNS)


def _flat(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def environments(store_path: str | Path) -> pd.DataFrame:
    """One row per stored environment: ``env_id``, ``sha256``, ``created_at``, ``runs`` (runs that
    reference it), ``doc`` (its JSON), then its fields flattened (``cpu.model``...; lists as JSON)."""
    with Store(store_path, readonly=True) as store:
        raw = store.conn.execute(
            "SELECT e.id, e.sha256, e.created_at, (SELECT count(*) FROM runs r WHERE r.env_id = e.id), e.doc_json "
            "FROM environments e ORDER BY e.id"
        ).fetchall()
    frame = _frame([list(row) for row in raw], ENVIRONMENT_COLUMNS)
    if not raw:
        return frame
    docs = [json.loads(row[4]) for row in raw]
    flat = pd.json_normalize([d if isinstance(d, dict) else {"value": d} for d in docs], sep=".")
    flat = flat.map(_flat) if hasattr(flat, "map") else flat.applymap(_flat)
    flat.columns = [f"doc.{c}" if c in frame.columns else c for c in flat.columns]
    return pd.concat([frame, flat.reset_index(drop=True)], axis=1)


def trajectories(store_path: str | Path, *, campaign: str | int | None = None) -> pd.DataFrame:
    """Anytime trajectories, long form: one row per reported incumbent (``run_id``, ``t`` seconds,
    ``objective``, ``bound``), in run then time order."""
    with Store(store_path, readonly=True) as store:
        where, args = _campaign_filter(store, campaign)
        raw = store.conn.execute(
            f"SELECT r.run_id, r.trajectory_json FROM runs r {where} ORDER BY r.run_id", args
        ).fetchall()
    rows = []
    for run_id, text in raw:
        for point in json.loads(text):
            point = [*list(point), None, None, None][:3]
            rows.append((run_id, point[0], point[1], point[2]))
    return _frame(rows, TRAJECTORY_COLUMNS)


# ---------------------------------------------------------------------------------------------
# result sets: a store or its parquet/CSV export, read back

#: Columns every runs frame must have to be plotted or tabulated.
REQUIRED_RUN_COLUMNS = (
    "instance",
    "class",
    "objective_name",
    "solver",
    "solver_version",
    "params",
    "seed",
    "status",
    "gap",
    "wall_s",
    "time_limit",
)


def _version_key(v: str) -> tuple[int, str]:
    return (int(v), "") if str(v).isdigit() else (-1, str(v))


def latest_versions(runs: pd.DataFrame) -> pd.DataFrame:
    """Only the runs of each solver's latest version (numeric versions compare as numbers)."""
    if runs.empty:
        return runs
    latest = runs.groupby("solver")["solver_version"].agg(lambda vs: max(vs, key=_version_key))
    return runs[runs["solver_version"] == runs["solver"].map(latest)].reset_index(drop=True)


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
    columns = (*RUN_COLUMNS, *INSTANCE_COLUMNS, *TRAJECTORY_COLUMNS, *ENVIRONMENT_COLUMNS, ("file", "str"))
    return {name: str for name, kind in columns if kind == "str"}


def read_table(path: Path) -> pd.DataFrame:
    """One table of an export (parquet or CSV; a CSV's text columns read as text, missing text as None).

    Raises:
        StoreError: the file cannot be read.
    """
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
    optionally only one campaign's runs (and their trajectories). The one loader of result sets:
    ``plot``, ``tables``, ``publish``, ``report`` and ``export`` all read through it.

    Raises:
        StoreError: the file is missing, unreadable, not a store, lacks required columns, or the
            campaign is not in it.
    """
    p = Path(path)
    if not p.exists():
        raise StoreError(str(p), "an existing results store or parquet/CSV export", "no such file")
    if is_export(p):
        frame = read_table(p)
        missing = [c for c in REQUIRED_RUN_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(
                str(p), f"a runs table with the columns {list(REQUIRED_RUN_COLUMNS)}", f"missing {missing}"
            )
        traj_path, env_path, inst_path = sibling(p, "trajectories"), sibling(p, "environments"), sibling(p, "instances")
        traj = read_table(traj_path) if traj_path.exists() else None
        envs = read_table(env_path) if env_path.exists() else None
        insts = read_table(inst_path) if inst_path.exists() else None
        if campaign is not None:
            names = frame["campaign"] if "campaign" in frame.columns else pd.Series([], dtype=object)
            keep = names.astype(str) == str(campaign)
            if not keep.any():
                known = sorted({str(n) for n in names.dropna()})
                raise StoreError(str(p), f"a campaign of the export (one of {known})", repr(campaign), "--campaign")
            frame = frame[keep.to_numpy()].reset_index(drop=True)
            if traj is not None:
                traj = traj[traj["run_id"].isin(frame["run_id"])].reset_index(drop=True)
        return ResultSet(p, frame, traj, envs, insts, None)
    frame = runs(p, campaign=campaign)
    insts = instances(p)
    insts = insts[insts["instance_hash"].isin(frame["instance_hash"])].reset_index(drop=True)
    return ResultSet(p, frame, trajectories(p, campaign=campaign), environments(p), insts, p)


def read_runs(path: str | Path, *, campaign: str | int | None = None) -> pd.DataFrame:
    """The runs frame of a store or an export (of one campaign): :func:`read_set`'s ``runs``."""
    return read_set(path, campaign=campaign).runs
