"""A result set to files that stand alone (the command: ``schedbench export SOURCE --format parquet|csv [-o OUT]``).

``SOURCE`` is a store or an earlier export (read by :func:`schedbench.store.views.read_set`). For
``OUT = NAME.parquet`` (or ``.csv``) it writes, beside each other:

- ``NAME.parquet``: the runs (:func:`schedbench.store.views.runs` columns);
- ``NAME.environments.parquet``: the environments the runs ran in;
- ``NAME.trajectories.parquet``: the anytime incumbents (``run_id, t, objective, bound``);
- ``NAME.instances.parquet``: the runs' instances (:func:`schedbench.store.views.instances` columns,
  ``path`` as stored, plus ``file``: the instance file copied into the folder ``NAME.instances/``,
  relative to ``OUT``'s folder, or empty when the file was missing or no longer hashes to the
  stored ``instance_hash``);
- ``NAME.instances/``: those instance files (named as the originals; the hash's first 12 digits
  in front when two share a name).

So a published set is re-reported (``schedbench report NAME.parquet``), re-plotted (``schedbench
plot NAME.parquet ecdf-time``) and its runs re-validated from these files alone. Parquet keeps the
column types (pyarrow engine); CSV is plain UTF-8 with a header row, empty fields for missing
values and floats written in full precision.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from schedbench.store.core import StoreError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("parquet", "csv")


def environments_path(out_path: Path, fmt: str) -> Path:
    """Where the environments go for a runs file ``out_path``."""
    return out_path.with_name(f"{out_path.name.removesuffix('.' + fmt)}.environments.{fmt}")


def side_path(out_path: Path, fmt: str, what: str) -> Path:
    """``NAME.<what>.<fmt>`` beside the runs file ``NAME.<fmt>``."""
    return out_path.with_name(f"{out_path.name.removesuffix('.' + fmt)}.{what}.{fmt}")


def instances_dir(out_path: Path, fmt: str) -> Path:
    """The folder of copied instance files: ``NAME.instances/`` beside ``NAME.<fmt>``."""
    return out_path.with_name(f"{out_path.name.removesuffix('.' + fmt)}.instances")


def _uniform(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing value types (environment fields differing between machines) as text,
    so that parquet can type them; missing values stay missing."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            types = {type(v) for v in out[column] if v is not None and not (isinstance(v, float) and v != v)}
            if len(types) > 1:
                out[column] = [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in out[column]]
    return out


def _copy_instances(instances: pd.DataFrame, origin: Path, out: Path, fmt: str) -> tuple[pd.DataFrame, int]:
    """Copy each instance's file into :func:`instances_dir`, checking its content hash; returns the
    table with the ``file`` column and the number of files copied. ``origin`` is the folder an
    export's relative ``file`` entries are relative to (None entries fall back to ``path``)."""
    import shutil

    import pandas as pd

    from schedbench.errors import InputError
    from schedbench.instances.io import content_hash, load

    folder = instances_dir(out, fmt)
    table = instances.copy()
    if "file" not in table.columns:
        table["file"] = None
    names = [Path(str(p)).name for p in table["path"].fillna("")]
    files: list[str | None] = []
    copied = 0
    for rel, path, digest, name in zip(table["file"], table["path"], table["instance_hash"], names, strict=True):
        candidates = [origin / str(rel)] if isinstance(rel, str) and rel else []
        if isinstance(path, str) and path:
            candidates.append(Path(path))
        source = next((c for c in candidates if c.is_file()), None)
        target_name = name if names.count(name) == 1 else f"{str(digest)[:12]}-{name}"
        try:
            ok = source is not None and content_hash(load(source)) == digest
        except (InputError, OSError, ValueError):
            ok = False
        if not ok or source is None:
            files.append(None)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / target_name
        if source.resolve() != target.resolve():
            try:
                shutil.copyfile(source, target)
            except OSError as exc:
                raise StoreError(str(target), "a writable instance file", f"{type(exc).__name__}: {exc}") from None
        files.append(f"{folder.name}/{target_name}")
        copied += 1
    table["file"] = pd.Series(files, dtype=object)
    return table, copied


def export(
    store_path: str | Path,
    out_path: str | Path,
    fmt: str = "parquet",
    *,
    campaign: str | int | None = None,
    copy_instances: bool = True,
) -> list[Path]:
    """Write the runs (of one campaign), environments, trajectories and instances (files copied
    into ``NAME.instances/`` unless ``copy_instances`` is False: then the table alone, paths and
    hashes, ``file`` empty) of a store or an export; returns the table files written (runs first).

    Raises:
        StoreError: the source is missing, not a store or export, or the campaign is unknown.
        StoreError: an unknown format, or an output that cannot be written.
    """
    import pandas as pd

    from schedbench.store import views
    from schedbench.store.views import read_set

    if fmt not in FORMATS:
        raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
    out = Path(out_path)
    rs = read_set(store_path, campaign=campaign)
    trajectories = rs.trajectories
    if trajectories is None:  # an export written before trajectories were exported
        trajectories = pd.DataFrame(
            {name: pd.Series(dtype="float64" if kind == "float" else object) for name, kind in views.TRAJECTORY_COLUMNS}
        )
    frames: list[tuple[Path, pd.DataFrame]] = [(out, rs.runs)]
    if rs.environments is not None:
        frames.append((environments_path(out, fmt), _uniform(rs.environments)))
    frames.append((side_path(out, fmt, "trajectories"), trajectories))
    out.parent.mkdir(parents=True, exist_ok=True)
    if rs.instances is not None:
        origin = rs.path.parent
        if copy_instances:
            instances, _ = _copy_instances(rs.instances, origin, out, fmt)
        else:
            instances = rs.instances.assign(file=pd.Series([None] * len(rs.instances), dtype=object))
        frames.append((side_path(out, fmt, "instances"), instances))
    for path, frame in frames:
        try:
            if fmt == "parquet":
                frame.to_parquet(path, engine="pyarrow", index=False)
            else:
                frame.to_csv(path, index=False)
        except OSError as exc:
            raise StoreError(str(path), "a writable output file", f"{type(exc).__name__}: {exc}") from None
    return [path for path, _ in frames]
