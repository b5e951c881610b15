"""``schedbench export SOURCE --format parquet|csv [-o OUT]``: a result set to files that stand alone.

``SOURCE`` is a store or an earlier export (read by :func:`schedbench.plots.source.read_set`). For
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

from rich.console import Console

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
                out[column] = [None if v is None or (isinstance(v, float) and v != v) else str(v)
                               for v in out[column]]
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


def export(store_path: str | Path, out_path: str | Path, fmt: str = "parquet", *,
           campaign: str | int | None = None, copy_instances: bool = True) -> list[Path]:
    """Write the runs (of one campaign), environments, trajectories and instances (files copied
    into ``NAME.instances/`` unless ``copy_instances`` is False: then the table alone, paths and
    hashes, ``file`` empty) of a store or an export; returns the table files written (runs first).

    Raises:
        StoreError: the source is missing, not a store or export, or the campaign is unknown.
        StoreError: an unknown format, or an output that cannot be written.
    """
    import pandas as pd

    from schedbench.plots.source import read_set
    from schedbench.store import views as results

    if fmt not in FORMATS:
        raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
    out = Path(out_path)
    rs = read_set(store_path, campaign=campaign)
    trajectories = rs.trajectories
    if trajectories is None:  # an export written before trajectories were exported
        trajectories = pd.DataFrame({name: pd.Series(dtype="float64" if kind == "float" else object)
                                     for name, kind in results.TRAJECTORY_COLUMNS})
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


def export_command(store: Path, fmt: str, output: Path | None = None, *, campaign: str | None = None,
                   console: Console | None = None, copy_instances: bool = True) -> int:
    """Body of ``schedbench export``: ``output`` defaults to the store's path with the format's
    suffix. Prints the files written; returns the exit code (0). Bad input raises StoreError (an InputError)."""
    if fmt not in FORMATS:
        raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
    out = output if output is not None else Path(store).with_suffix(f".{fmt}")
    if out.resolve() == Path(store).resolve():
        raise StoreError(str(out), "an output path other than the store itself", "the store's path", "-o")
    written = export(store, out, fmt, campaign=campaign, copy_instances=copy_instances)
    console = console or Console(highlight=False, soft_wrap=True)
    for path in written:
        console.print(f"wrote {path}", markup=False)
    table = side_path(out, fmt, "instances")
    if table in written and copy_instances:
        from schedbench.plots.source import _read_table

        files = _read_table(table)["file"]
        copied = int(files.notna().sum())
        if copied:
            console.print(f"wrote {instances_dir(out, fmt)}/ ({copied} instance files)", markup=False)
        if copied < len(files):
            Console(stderr=True, highlight=False, soft_wrap=True).print(
                f"warning: {len(files) - copied} instance file(s) missing or changed since the runs: not copied "
                f"(their rows in {table.name} have no file)", markup=False)
    return 0
