"""``schedbench export STORE --format parquet|csv [-o OUT]``: the runs frame to a file.

Writes :func:`schedbench.results.runs` to ``OUT`` and :func:`schedbench.results.environments`
alongside it as ``<OUT without its suffix>.environments.<ext>`` (``results.parquet`` and
``results.environments.parquet``). Parquet keeps the column types (pyarrow engine); CSV is plain
UTF-8 with a header row, empty fields for missing values and floats written in full precision.
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


def export(store_path: str | Path, out_path: str | Path, fmt: str = "parquet", *,
           campaign: str | int | None = None) -> list[Path]:
    """Write the runs (of one campaign) and the environments; returns the files written.

    Raises:
        StoreError: the store is missing, not a store, or the campaign is unknown.
        StoreError: an unknown format.
    """
    from schedbench import results

    if fmt not in FORMATS:
        raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
    out = Path(out_path)
    frames = [(out, results.runs(store_path, campaign=campaign)),
              (environments_path(out, fmt), _uniform(results.environments(store_path)))]
    out.parent.mkdir(parents=True, exist_ok=True)
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
                   console: Console | None = None) -> int:
    """Body of ``schedbench export``: ``output`` defaults to the store's path with the format's
    suffix. Prints the files written; returns the exit code (0). Bad input raises StoreError (an InputError)."""
    if fmt not in FORMATS:
        raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
    out = output if output is not None else Path(store).with_suffix(f".{fmt}")
    if out.resolve() == Path(store).resolve():
        raise StoreError(str(out), "an output path other than the store itself", "the store's path", "-o")
    written = export(store, out, fmt, campaign=campaign)
    console = console or Console(highlight=False, soft_wrap=True)
    for path in written:
        console.print(f"wrote {path}", markup=False)
    return 0
