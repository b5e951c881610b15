"""Recover the intact runs of a damaged results store: ``schedbench store salvage BAD -o GOOD``.

A store whose file is damaged (a disk error, a copy cut short, pages overwritten) is refused when
opened (``PRAGMA quick_check``). This reads what SQLite can still read of it, row by row, table by
table (runs by ``rowid`` ranges, so one unreadable page costs the rows on it, not the rest), and
writes a new store with every row that reads back whole and fits the schema: the instances,
solvers, environments and campaigns (ids kept), then each run whose solution, JSON columns and
references are sound. Best-known values and gaps are recomputed. The damaged file is only read.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedbench.store.core import Store, StoreError

#: Tables copied before the runs, with their columns (ids kept: runs refer to them).
_TABLES = {
    "instances": ("hash", "name", "class", "objective", "sense", "n_jobs", "n_gpus", "path", "known_json"),
    "solvers": ("id", "name", "version", "params_json"),
    "environments": ("id", "sha256", "doc_json", "created_at"),
    "campaigns": ("id", "name", "spec_json", "created_at", "updated_at"),
}
_JSON_RUN_COLUMNS = ("solvers_dirs_json", "flags_json", "violations_json", "trajectory_json", "info_json")
_STEP = 256  # rowids per range query


@dataclass
class SalvageReport:
    """What was recovered: rows copied and rows lost per table (lost: rows unreadable or refused,
    and rowids never returned, an upper bound when the table had gaps)."""

    copied: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line: per table, the rows kept and lost."""
        parts = [f"{t}: {self.copied.get(t, 0)} kept, {self.lost.get(t, 0)} lost" for t in (*_TABLES, "runs")]
        return "; ".join(parts)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _read_rows(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rep: SalvageReport) -> list[tuple]:
    """Every readable row of ``table``: by rowid ranges, then row by row inside a range that fails."""
    cols = ", ".join(columns)
    try:
        top = conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except sqlite3.DatabaseError as exc:
        rep.errors.append(f"{table}: {exc}")
        top = 0
    if top == 0:  # the index of rowids is unreadable: try a plain scan
        try:
            return list(conn.execute(f"SELECT {cols} FROM {table}"))
        except sqlite3.DatabaseError as exc:
            rep.errors.append(f"{table}: {exc}")
            return []
    rows: list[tuple] = []
    for start in range(1, top + 1, _STEP):
        end = min(top, start + _STEP - 1)
        try:
            rows += conn.execute(f"SELECT {cols} FROM {table} WHERE rowid BETWEEN ? AND ?", (start, end)).fetchall()
            continue
        except sqlite3.DatabaseError:
            pass
        for rid in range(start, end + 1):
            try:
                rows += conn.execute(f"SELECT {cols} FROM {table} WHERE rowid = ?", (rid,)).fetchall()
            except sqlite3.DatabaseError:
                continue
    # rowids never returned: rows on pages SQLite could not read (or gaps left by replaced rows,
    # so this is an upper bound)
    expected = top
    with contextlib.suppress(sqlite3.DatabaseError):  # the table's own count, when SQLite can walk it
        expected = max(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0], len(rows))
    rep.lost[table] = rep.lost.get(table, 0) + max(0, expected - len(rows))
    return rows


def _sound_run(row: dict[str, Any]) -> bool:
    try:
        for col in _JSON_RUN_COLUMNS:
            json.loads(row[col])
        if row["solution_zlib"] is not None:
            json.loads(zlib.decompress(row["solution_zlib"]))
        return isinstance(row["run_id"], str) and len(row["run_id"]) == 64 and isinstance(row["status"], str)
    except (TypeError, ValueError, zlib.error):
        return False


def salvage(bad: str | Path, good: str | Path) -> SalvageReport:
    """Copy the intact rows of the store ``bad`` into a new store ``good``.

    Raises:
        StoreError: ``bad`` is missing or not an SQLite file at all, or ``good`` exists.
    """
    bad, good = Path(bad), Path(good)
    if not bad.is_file():
        raise StoreError(str(bad), "an existing (damaged) results store", "no such file")
    if good.exists():
        raise StoreError(str(good), "a new file for the salvaged store", "an existing file (not overwritten)")
    rep = SalvageReport()
    src = sqlite3.connect(bad.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        try:
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(str(bad), "an SQLite file whose schema can be read", str(exc)) from None
        with Store(good) as dst:
            conn = dst.conn
            for table, columns in _TABLES.items():
                rows = _read_rows(src, table, columns, rep)
                kept = 0
                conn.execute("BEGIN IMMEDIATE")
                for row in rows:
                    try:
                        conn.execute(
                            f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES "
                            f"({', '.join('?' for _ in columns)})",
                            row,
                        )
                        kept += 1
                    except sqlite3.Error:
                        rep.lost[table] = rep.lost.get(table, 0) + 1
                conn.execute("COMMIT")
                rep.copied[table] = kept
            run_cols = tuple(c for c in _columns(conn, "runs"))
            rows = _read_rows(src, "runs", run_cols, rep)
            kept = 0
            insert = f"INSERT INTO runs ({', '.join(run_cols)}) VALUES ({', '.join('?' for _ in run_cols)})"
            conn.execute("BEGIN IMMEDIATE")
            for values in rows:
                if not _sound_run(dict(zip(run_cols, values, strict=True))):
                    rep.lost["runs"] = rep.lost.get("runs", 0) + 1
                    continue
                try:
                    conn.execute(insert, values)
                    kept += 1
                except sqlite3.Error:  # a reference lost with its row, a duplicate, a CHECK
                    rep.lost["runs"] = rep.lost.get("runs", 0) + 1
            conn.execute("COMMIT")
            rep.copied["runs"] = kept
            dst.recompute_gaps()
    finally:
        src.close()
    return rep
