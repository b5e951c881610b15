"""The results store: one SQLite file (WAL mode) per campaign.

See :mod:`schedbench.store` for the schema and the guarantees. Everything here runs in the single
writer (the campaign's parent process); readers open the file with ``readonly=True`` and may run
at the same time as the writer.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from schedbench import jsonio
from schedbench.errors import InputError
from schedbench.instances.model import Instance
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.plugins.solver import RUN_STATUSES
from schedbench.runs import RunRecord, RunTask
from schedbench.scoring import CREDITED_STATUSES, combine_best, contradicted_by_best, gap
from schedbench.store.schema import APPLICATION, MIGRATIONS, SCHEMA_V1, SCHEMA_VERSION

#: Runs whose proven bound is not trusted for the instance's best bound (the run went wrong).
UNTRUSTED_BOUND_STATUSES = ("invalid", "error", "crashed", "wrong")
#: Statuses whose claims the store re-grades against every known answer (:meth:`Store._regrade`).
REGRADED_STATUSES = CREDITED_STATUSES
_CHUNK = 500  # ids per ``IN (...)`` query, well under SQLite's variable limit
#: Seconds between two heartbeats of a campaign's claims (:class:`ClaimHeartbeat`).
HEARTBEAT_S = 5.0
#: A claim whose heartbeat is older than this (seconds) is stale and may be taken over; so is one
#: whose owner is a process of this host that no longer exists.
STALE_S = 60.0
#: Auxiliary table of the runs claimed by running campaigns (created when a store is opened for
#: writing; not part of the versioned schema: readers never need it).
CLAIMS_DDL = (
    "CREATE TABLE IF NOT EXISTS claims (run_id TEXT PRIMARY KEY, claimed_by TEXT NOT NULL, heartbeat REAL NOT NULL)"
)


def claim_owner() -> str:
    """A unique owner id for one campaign process: ``host:pid:nonce``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_gone(owner: str) -> bool:
    """The owner is a process of this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class StoreError(InputError):
    """A file that is not a usable results store, or a bad request to one (CLI: exit 2)."""

    def __init__(self, file: str, expected: str, found: str, where: str = "") -> None:
        super().__init__(file, where or "<store>", expected, found)
        self.args = (f"{file}: {where + ': ' if where else ''}expected {expected}, found {found}",)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _plain(obj: Any) -> Any:
    """A JSON-ready copy: numpy converted, non-finite floats -> None, other objects -> str."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return str(obj)


def dumps_json(obj: Any) -> str:
    """Compact, key-sorted JSON text of a free-form value (never fails: see :func:`_plain`)."""
    return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def params_json(params: dict[str, Any]) -> str:
    """Solver parameters as stored: the same serialisation as the run identity's."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


# a JSON string, or an integral float as ``json.dumps`` writes it (``5400.0``) in group 1
_STRING_OR_INTEGRAL = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+)\.0(?![\d.eE])')
_EXACT_INT = 2**53


def _integral(match: re.Match[str]) -> str:
    digits = match.group(1)
    if digits is None:
        return match.group(0)  # a string: untouched
    value = int(digits)
    if abs(value) >= _EXACT_INT:
        return match.group(0)  # canonical form keeps large floats as floats
    return str(value)  # also turns -0.0 into 0


def canonical_bytes(obj: Any) -> bytes:
    """The bytes of :func:`schedbench.jsonio.dumps_canonical` for a JSON-ready document, ~10x
    faster on large ones: ``json.dumps`` in C, then integral floats rewritten as integers (the only
    difference of the canonical form for plain Python values). Documents holding numpy values or
    other types fall back to the canonical writer."""
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return jsonio.dumps_canonical(obj)
    if ".0" in text:  # cheap filter: most solutions hold no float at all
        text = _STRING_OR_INTEGRAL.sub(_integral, text)
    return text.encode("utf-8")


def compress_solution(solution: dict[str, Any] | None) -> bytes | None:
    """zlib-compressed canonical JSON of a solution (None stays None; a solution that is not
    valid JSON, e.g. with NaN, is stored with those values as null)."""
    if solution is None:
        return None
    try:
        data = canonical_bytes(solution)
    except (TypeError, ValueError):
        data = dumps_json(solution).encode("utf-8")
    return zlib.compress(data, 6)


def decompress_solution(blob: bytes | None) -> dict[str, Any] | None:
    """The solution of :func:`compress_solution`'s bytes (None stays None)."""
    if blob is None:
        return None
    return json.loads(zlib.decompress(blob).decode("utf-8"))


def _float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _num(value: float) -> str:
    """A number as SQLite writes a REAL as text (``%!.15g``: ``9.0``, ``10.25``, ``1.0e+20``), the form
    of the re-grading notes of stores written before the re-grading moved to Python."""
    text = f"{float(value):.15g}"
    if text[-1].isdigit() and "." not in text and "n" not in text:
        mantissa, e, exponent = text.partition("e")
        text = f"{mantissa}.0{e}{exponent}"
    return text


def instance_sense(problem_class: str, objective: str) -> str:
    """``min`` or ``max`` for a class's objective (``min`` when the pair is unknown)."""
    cls = PROBLEM_CLASSES.get(problem_class)
    obj = cls.objective(objective) if cls else None
    return obj.sense if obj else "min"


_RUN_COLUMNS = (
    "run_id",
    "campaign_id",
    "instance_hash",
    "solver_id",
    "env_id",
    "instance_path",
    "solvers_dirs_json",
    "seed",
    "solver_seed",
    "time_limit",
    "memory_limit_mb",
    "threads",
    "status",
    "reason",
    "objective",
    "claimed_objective",
    "claimed_status",
    "bound",
    "feasible",
    "gap",
    "flags_json",
    "violations_json",
    "wall_s",
    "cpu_s",
    "peak_rss_mb",
    "trajectory_json",
    "solution_zlib",
    "log_tail",
    "info_json",
    "host",
    "finished_at",
)
_INSERT_RUN = f"INSERT OR REPLACE INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' for _ in _RUN_COLUMNS)})"


class Store:
    """A campaign's results store (SQLite, WAL mode).

    Args:
        path: the store file; created with the schema when missing (unless ``readonly``).
        readonly: open an existing store for reading only (``results``, ``report``, ``export``);
            it may be read while a campaign writes it.
        timeout: seconds to wait for a lock held by another connection.

    Raises:
        StoreError: (an :class:`~schedbench.errors.InputError`) the file is missing (readonly),
            is not an SQLite file, is an SQLite file but not a schedbench store, or was written by
            an unknown schema version.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.readonly = readonly
        name = str(self.path)
        if self.path.is_dir():
            raise StoreError(name, "a schedbench results store (an SQLite file)", "a directory")
        if readonly:
            if not self.path.exists():
                raise StoreError(name, "an existing schedbench results store", "no such file")
            uri = self.path.resolve().as_uri() + "?mode=ro"
            self.conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        try:
            self._open(timeout)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(
                name, "a schedbench results store (an SQLite file)", f"a file SQLite cannot use ({exc})"
            ) from None
        except BaseException:
            self.conn.close()
            raise

    # -- opening -------------------------------------------------------------------------------

    def _open(self, timeout: float) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        tables = {row[0] for row in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if self.readonly:
            c.execute("PRAGMA query_only = ON")
        else:
            mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(str(self.path), "a file SQLite can switch to WAL mode", f"journal mode {mode}")
            c.execute("PRAGMA synchronous = NORMAL")
            c.execute("PRAGMA foreign_keys = ON")
            if not tables:
                self._create()
                self.conn.execute(CLAIMS_DDL)
                return
        self._check_version(tables)
        self._check_integrity()
        if not self.readonly:
            self.conn.execute(CLAIMS_DDL)

    def _check_integrity(self) -> None:
        """``PRAGMA quick_check``: a damaged file is refused (one line) before anything reads or
        appends to it; ``schedbench store salvage`` recovers its intact runs."""
        try:
            rows = self.conn.execute("PRAGMA quick_check(3)").fetchall()
            problem = None if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows).replace("\n", " ")
        except sqlite3.DatabaseError as exc:
            problem = str(exc)
        if problem is not None:
            raise StoreError(
                str(self.path),
                "an intact results store",
                f"a damaged SQLite file ({problem[:200]}); recover its intact runs with "
                f"`schedbench store salvage {self.path} -o NEW.sqlite`",
            )

    def _create(self) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            if c.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
                c.execute("ROLLBACK")  # another process created it meanwhile
                tables = {row[0] for row in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                self._check_version(tables)
                return
            for statement in SCHEMA_V1:
                c.execute(statement)
            c.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("application", APPLICATION), ("schema_version", str(SCHEMA_VERSION)), ("created_at", _now())],
            )
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    def _check_version(self, tables: set[str]) -> None:
        name = str(self.path)
        what = "a schedbench results store"
        if "meta" not in tables:
            found = "an empty SQLite file" if not tables else f"an SQLite database with tables {sorted(tables)}"
            raise StoreError(name, what, found)
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("application") != APPLICATION:
            raise StoreError(name, what, f"an SQLite database whose meta.application is {meta.get('application')!r}")
        try:
            version = int(meta.get("schema_version", ""))
        except ValueError:
            raise StoreError(
                name, "an integer schema_version in the meta table", repr(meta.get("schema_version"))
            ) from None
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION or version not in MIGRATIONS:
            raise StoreError(
                name,
                f"a store of schema version {SCHEMA_VERSION} (or an older one this schedbench can migrate)",
                f"schema version {version}; use the schedbench version that wrote it",
            )
        if self.readonly:
            raise StoreError(
                name,
                f"a store of schema version {SCHEMA_VERSION}",
                f"schema version {version}; open it once for writing to migrate it",
            )
        self._migrate(version)

    def _migrate(self, version: int) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version]:
                    c.execute(statement)
                version += 1
            c.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    # -- context manager -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _write(self) -> _Transaction:
        if self.readonly:
            raise StoreError(str(self.path), "a store opened for writing", "a store opened read-only")
        return _Transaction(self.conn)

    # -- instances, solvers, environments, campaigns -------------------------------------------

    def add_instance(self, inst: Instance, path: str | Path, *, content_hash: str | None = None) -> str:
        """Record an instance (its published known values included); returns its content hash.

        Adding it again updates the row (name, sizes, path, known values) and the best-known values.
        ``content_hash`` skips recomputing the hash when the caller has it.
        """
        from schedbench.instances.io import content_hash as _hash

        digest = content_hash or _hash(inst)
        cls, objective = inst.problem.cls, inst.problem.objective
        known = inst.metadata.get("known") or {}
        row = (
            digest,
            inst.name,
            cls,
            objective,
            instance_sense(cls, objective),
            inst.n_jobs,
            inst.n_gpus,
            str(path),
            dumps_json(known),
        )
        with self._write():
            self.conn.execute(
                "INSERT INTO instances (hash, name, class, objective, sense, n_jobs, n_gpus, path, known_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO UPDATE SET name = excluded.name, "
                "class = excluded.class, objective = excluded.objective, sense = excluded.sense, "
                "n_jobs = excluded.n_jobs, n_gpus = excluded.n_gpus, path = excluded.path, "
                "known_json = excluded.known_json",
                row,
            )
            self._refresh(digest, force=True)
        return digest

    def add_environment(self, env: dict[str, Any]) -> int:
        """Store an environment description once (keyed by the sha256 of its JSON); returns its id."""
        doc = dumps_json(env)
        digest = hashlib.sha256(doc.encode("utf-8")).hexdigest()
        with self._write():
            self.conn.execute(
                "INSERT OR IGNORE INTO environments (sha256, doc_json, created_at) VALUES (?, ?, ?)",
                (digest, doc, _now()),
            )
            return self.conn.execute("SELECT id FROM environments WHERE sha256 = ?", (digest,)).fetchone()[0]

    def environment(self, env_id: int) -> dict[str, Any]:
        """The environment description of id ``env_id``. Raises KeyError for an unknown id."""
        row = self.conn.execute("SELECT doc_json FROM environments WHERE id = ?", (env_id,)).fetchone()
        if row is None:
            raise KeyError(env_id)
        return json.loads(row[0])

    def begin_campaign(self, name: str, spec: dict[str, Any]) -> int:
        """The id of campaign ``name``: created, or (on resume) found, its spec updated to ``spec``."""
        now = _now()
        with self._write():
            self.conn.execute(
                "INSERT INTO campaigns (name, spec_json, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET spec_json = excluded.spec_json, updated_at = excluded.updated_at",
                (name, dumps_json(spec), now, now),
            )
            return self.conn.execute("SELECT id FROM campaigns WHERE name = ?", (name,)).fetchone()[0]

    def campaigns(self) -> list[dict[str, Any]]:
        """Every campaign: ``id``, ``name``, ``spec``, ``created_at``, ``updated_at``, in id order."""
        rows = self.conn.execute("SELECT id, name, spec_json, created_at, updated_at FROM campaigns ORDER BY id")
        return [{"id": i, "name": n, "spec": json.loads(s), "created_at": c, "updated_at": u} for i, n, s, c, u in rows]

    def campaign_id(self, campaign: str | int) -> int:
        """The id of a campaign given by name or id. Raises StoreError when there is none."""
        if isinstance(campaign, int):
            row = self.conn.execute("SELECT id FROM campaigns WHERE id = ?", (campaign,)).fetchone()
        else:
            row = self.conn.execute("SELECT id FROM campaigns WHERE name = ?", (campaign,)).fetchone()
        if row is None:
            names = [c["name"] for c in self.campaigns()]
            raise StoreError(str(self.path), f"one of the store's campaigns {names}", f"{campaign!r}", "campaign")
        return row[0]

    def _solver_id(self, name: str, version: str, params: dict[str, Any]) -> int:
        pj = params_json(params)
        self.conn.execute(
            "INSERT OR IGNORE INTO solvers (name, version, params_json) VALUES (?, ?, ?)", (name, version, pj)
        )
        return self.conn.execute(
            "SELECT id FROM solvers WHERE name = ? AND version = ? AND params_json = ?", (name, version, pj)
        ).fetchone()[0]

    # -- runs ----------------------------------------------------------------------------------

    def write_run(self, record: RunRecord, campaign_id: int | None = None, env_id: int | None = None) -> None:
        """Insert (or replace, by ``run_id``) one run and commit it at once.

        One transaction: the run row, its solver row (created on first use), a minimal instance row
        when :meth:`add_instance` was not called for it, and the instance's best-known values and
        gaps. A process killed at any point leaves either the whole run or none of it.

        Raises:
            ValueError: an unknown status, or a ``run_id`` that is not the task's identity.
        """
        task = record.task
        if record.status not in RUN_STATUSES:
            raise ValueError(f"run {record.run_id}: status must be one of {RUN_STATUSES}, not {record.status!r}")
        if record.run_id != task.run_id:
            raise ValueError(f"run {record.run_id}: not the identity of its task ({task.run_id})")
        feasible = None if record.feasible is None else int(bool(record.feasible))
        row = [  # serialised before the transaction: the write lock is held for the SQL only
            record.run_id,
            campaign_id,
            task.instance_hash,
            None,
            env_id,
            task.instance_path,
            dumps_json(list(task.solvers_dirs)),
            task.seed,
            task.solver_seed,
            float(task.time_limit),
            task.memory_limit_mb,
            task.threads,
            record.status,
            record.reason or "",
            _float(record.objective),
            _float(record.claimed_objective),
            record.claimed_status,
            _float(record.bound),
            feasible,
            None,
            dumps_json(list(record.flags)),
            dumps_json(record.violation_counts),
            _float(record.wall_s),
            _float(record.cpu_s),
            _float(record.peak_rss_mb),
            dumps_json(record.trajectory),
            compress_solution(record.solution),
            record.log_tail or "",
            dumps_json(record.info),
            record.host or "",
            _now(),
        ]
        with self._write():
            c = self.conn
            c.execute(
                "INSERT OR IGNORE INTO instances (hash, name, class, objective, sense, path) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    task.instance_hash,
                    task.instance_name,
                    record.problem_class,
                    record.objective_name,
                    record.sense if record.sense in ("min", "max") else "min",
                    task.instance_path,
                ),
            )
            row[3] = self._solver_id(task.solver, task.solver_version, task.params)
            c.execute(_INSERT_RUN, row)
            c.execute("DELETE FROM claims WHERE run_id = ?", (record.run_id,))
            self._refresh(task.instance_hash, run_id=record.run_id)

    def claim(self, run_id: str, owner: str, *, rerun: Iterable[str] = (), stale_s: float = STALE_S) -> bool:
        """Claim a run for ``owner`` before running it, so that campaigns sharing this store never
        run it twice. True when ``owner`` may run it: it is not in the store (or has a status in
        ``rerun``) and no other owner holds a live claim on it (one whose heartbeat is younger
        than ``stale_s`` and whose process, on this host, still exists). One transaction."""
        now = time.time()
        with self._write():
            c = self.conn
            row = c.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is not None and row[0] not in set(rerun):
                return False
            held = c.execute("SELECT claimed_by, heartbeat FROM claims WHERE run_id = ?", (run_id,)).fetchone()
            if held is not None and held[0] != owner and now - held[1] < stale_s and not _owner_gone(held[0]):
                return False
            c.execute(
                "INSERT OR REPLACE INTO claims (run_id, claimed_by, heartbeat) VALUES (?, ?, ?)", (run_id, owner, now)
            )
            return True

    def release_claims(self, owner: str) -> int:
        """Drop ``owner``'s remaining claims (runs it did not finish); returns how many."""
        with self._write():
            return self.conn.execute("DELETE FROM claims WHERE claimed_by = ?", (owner,)).rowcount

    def claims(self) -> list[tuple[str, str, float]]:
        """(run_id, owner, heartbeat) of every claim held."""
        return [tuple(r) for r in self.conn.execute("SELECT run_id, claimed_by, heartbeat FROM claims ORDER BY run_id")]

    def finished(self, run_ids: Iterable[str], rerun: Iterable[str] = frozenset()) -> set[str]:
        """The run ids among ``run_ids`` already in the store with a status not in ``rerun``.

        A campaign skips these (resume); ``rerun`` names statuses to run again (``--rerun``).

        Raises:
            StoreError: a status in ``rerun`` that is not a run status.
        """
        rerun = set(rerun)
        unknown = sorted(rerun - set(RUN_STATUSES))
        if unknown:
            raise StoreError(str(self.path), f"run statuses among {list(RUN_STATUSES)}", f"{unknown}", "--rerun")
        ids = list(dict.fromkeys(run_ids))
        done: set[str] = set()
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            sql = f"SELECT run_id, status FROM runs WHERE run_id IN ({', '.join('?' for _ in chunk)})"
            done.update(rid for rid, status in self.conn.execute(sql, chunk) if status not in rerun)
        return done

    def count(self, status: str | None = None) -> int:
        """Number of runs in the store (with that status)."""
        if status is None:
            return self.conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM runs WHERE status = ?", (status,)).fetchone()[0]

    def solution(self, run_id: str) -> dict[str, Any] | None:
        """The kept solution of a run (None when it had none). Raises KeyError for an unknown run."""
        row = self.conn.execute("SELECT solution_zlib FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        return decompress_solution(row[0])

    def record(self, run_id: str, *, with_solution: bool = True) -> RunRecord:
        """The run as a :class:`RunRecord` (as written). Raises KeyError for an unknown run."""
        records = list(self._records("WHERE r.run_id = ?", (run_id,), with_solution))
        if not records:
            raise KeyError(run_id)
        return records[0]

    def records(self, *, campaign: str | int | None = None, with_solution: bool = False) -> Iterator[RunRecord]:
        """Every run (of one campaign) as :class:`RunRecord` objects, in run-id order."""
        if campaign is None:
            yield from self._records("", (), with_solution)
        else:
            yield from self._records("WHERE r.campaign_id = ?", (self.campaign_id(campaign),), with_solution)

    def _records(self, where: str, args: tuple[Any, ...], with_solution: bool) -> Iterator[RunRecord]:
        sol = "r.solution_zlib" if with_solution else "NULL"
        sql = (
            "SELECT r.run_id, r.instance_path, r.instance_hash, i.name, s.name, s.version, s.params_json, r.seed, "
            "r.time_limit, r.memory_limit_mb, r.threads, r.solvers_dirs_json, r.status, r.reason, i.class, "
            "i.objective, i.sense, r.objective, r.claimed_objective, r.claimed_status, r.bound, r.feasible, "
            "r.violations_json, r.flags_json, r.wall_s, r.cpu_s, r.peak_rss_mb, r.trajectory_json, "
            f"{sol}, r.log_tail, r.info_json, r.host "
            "FROM runs r JOIN instances i ON i.hash = r.instance_hash JOIN solvers s ON s.id = r.solver_id "
            f"{where} ORDER BY r.run_id"
        )
        for row in self.conn.execute(sql, args):
            (
                run_id,
                ipath,
                ihash,
                iname,
                sname,
                sversion,
                sparams,
                seed,
                limit,
                mem,
                threads,
                dirs,
                status,
                reason,
                cls,
                objective_name,
                sense,
                objective,
                claimed,
                claimed_status,
                bound,
                feasible,
                violations,
                flags,
                wall,
                cpu,
                rss,
                trajectory,
                solution,
                log_tail,
                info,
                host,
            ) = row
            task = RunTask(
                ipath,
                ihash,
                iname,
                sname,
                sversion,
                json.loads(sparams),
                seed,
                limit,
                mem,
                threads,
                tuple(json.loads(dirs)),
            )
            yield RunRecord(
                run_id=run_id,
                task=task,
                status=status,
                reason=reason,
                problem_class=cls,
                objective_name=objective_name,
                sense=sense,
                objective=objective,
                claimed_objective=claimed,
                claimed_status=claimed_status,
                bound=bound,
                feasible=None if feasible is None else bool(feasible),
                violation_counts=json.loads(violations),
                flags=json.loads(flags),
                wall_s=wall,
                cpu_s=cpu,
                peak_rss_mb=rss,
                trajectory=json.loads(trajectory),
                solution=decompress_solution(solution),
                log_tail=log_tail,
                info=json.loads(info),
                host=host,
            )

    # -- best-known values and gaps -------------------------------------------------------------

    def _compute_best(self, instance_hash: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        row = self.conn.execute("SELECT sense, known_json FROM instances WHERE hash = ?", (instance_hash,)).fetchone()
        if row is None:
            raise KeyError(instance_hash)
        sense, known = row[0], json.loads(row[1])
        order = "ASC" if sense == "min" else "DESC"
        best = self.conn.execute(
            "SELECT objective, run_id FROM runs WHERE instance_hash = ? AND feasible = 1 AND objective IS NOT NULL "
            f"ORDER BY objective {order}, run_id LIMIT 1",
            (instance_hash,),
        ).fetchone()
        # the tightest bound: largest lower bound (min), smallest upper bound (max)
        bound_order = "DESC" if sense == "min" else "ASC"
        marks = ", ".join("?" for _ in UNTRUSTED_BOUND_STATUSES)
        bound = self.conn.execute(
            f"SELECT bound, run_id FROM runs WHERE instance_hash = ? AND bound IS NOT NULL AND status NOT IN ({marks}) "
            f"ORDER BY bound {bound_order}, run_id LIMIT 1",
            (instance_hash, *UNTRUSTED_BOUND_STATUSES),
        ).fetchone()
        return sense, known, combine_best(sense, known, best, bound)

    def _regrade(self, instance_hash: str, *, only: str | None = None, unless_best: float | None = None) -> int:
        """Re-grade the instance's runs against every answer known now (also those that arrived
        after them), with :func:`schedbench.scoring.contradicted_by_best`: a claim of
        ``infeasible`` when a feasible answer or a published attained value exists, an ``optimal``
        answer worse than the best known value, or a bound better than it, makes a run whose status
        is credited (:data:`REGRADED_STATUSES`) ``wrong`` (flag added); a contradicted bound is
        dropped whatever the status (a timeout's last bound too). A flag is added once. Re-grading is
        idempotent, so when the best known value is still ``unless_best`` (the one every run was
        re-graded against at the previous write) only the run ``only`` is re-graded. Returns the runs
        changed."""
        c = self.conn
        row = c.execute("SELECT sense, known_json FROM instances WHERE hash = ?", (instance_hash,)).fetchone()
        if row is None:
            return 0
        sense, known = row[0], json.loads(row[1])
        order = "ASC" if sense == "min" else "DESC"
        run_best = c.execute(
            "SELECT objective, run_id FROM runs WHERE instance_hash = ? AND feasible = 1 AND objective IS NOT NULL "
            f"ORDER BY objective {order}, run_id LIMIT 1",
            (instance_hash,),
        ).fetchone()
        best = combine_best(sense, known, None if run_best is None else (float(run_best[0]), run_best[1]), None)[
            "best_known"
        ]
        if best is None:
            return 0
        sql = (
            "SELECT run_id, status, claimed_status, objective, bound, flags_json, reason FROM runs "
            "WHERE instance_hash = ? AND (claimed_status IN ('infeasible', 'optimal') OR bound IS NOT NULL)"
        )
        if only is not None and unless_best is not None and best == unless_best:
            rows = c.execute(sql + " AND run_id = ?", (instance_hash, only)).fetchall()
        else:
            rows = c.execute(sql, (instance_hash,)).fetchall()
        updates = []
        for run_id, status, claimed, objective, bound, flags_json, reason in rows:
            flags = json.loads(flags_json)
            new = (status, bound, reason)
            for flag in contradicted_by_best(
                sense=sense, claimed_status=claimed, objective=objective, bound=bound, best=best
            ):
                if status not in REGRADED_STATUSES and flag != "bound_contradicted":
                    continue
                if flag in flags and status == "wrong":
                    continue  # graded already
                if flag == "infeasible_claim_contradicted":
                    note = f"claimed infeasible, contradicted by the best known value {_num(best)}"
                elif flag == "optimal_claim_contradicted":
                    note = f"claimed optimal but {_num(objective)} is worse than the best known value {_num(best)}"
                else:
                    note = f"bound {_num(bound)} is better than the best known value {_num(best)}: dropped"
                    bound = None
                status = "wrong" if status in REGRADED_STATUSES else status
                flags.append(flag)
                reason = f"{reason}; {note}" if reason else note
            if (status, bound, reason) != new:
                updates.append((status, bound, dumps_json(flags), reason, run_id))
        c.executemany("UPDATE runs SET status = ?, bound = ?, flags_json = ?, reason = ? WHERE run_id = ?", updates)
        return len(updates)

    def _refresh(self, instance_hash: str, *, run_id: str | None = None, force: bool = False) -> int:
        """Re-grade the instance's runs (:meth:`_regrade`), update its cached best values; recompute
        every run's gap (:func:`schedbench.scoring.gap` against the best-known value) when they
        changed (or ``force``), else only ``run_id``'s. Returns the number of runs updated."""
        c = self.conn
        old = c.execute(
            "SELECT best_known, best_known_source, best_run_id, best_bound, best_bound_source "
            "FROM instances WHERE hash = ?",
            (instance_hash,),
        ).fetchone()
        self._regrade(instance_hash, only=run_id, unless_best=None if force else old[0])
        sense, _, b = self._compute_best(instance_hash)
        new = (b["best_known"], b["best_known_source"], b["best_run_id"], b["bound"], b["bound_source"])
        if tuple(old) != new:
            c.execute(
                "UPDATE instances SET best_known = ?, best_known_source = ?, best_run_id = ?, best_bound = ?, "
                "best_bound_source = ? WHERE hash = ?",
                (*new, instance_hash),
            )
        best = b["best_known"]
        sql = "SELECT run_id, objective, feasible FROM runs WHERE instance_hash = ?"
        if force or old[0] != best:
            rows = c.execute(sql, (instance_hash,)).fetchall()
        elif run_id is not None:
            rows = c.execute(sql + " AND run_id = ?", (instance_hash, run_id)).fetchall()
        else:
            return 0
        gaps = [(gap(objective, best, sense) if feasible == 1 else None, rid) for rid, objective, feasible in rows]
        c.executemany("UPDATE runs SET gap = ? WHERE run_id = ?", gaps)
        return len(rows)

    def best_known(self, instance_hash: str) -> dict[str, Any]:
        """Best-known value and best bound of an instance, from its runs and its published values.

        Returns a dict: ``instance``, ``name``, ``sense``, ``best_known`` (best solution value known:
        feasible runs and published ``optimum``/``best_known``/primal bound), ``best_known_source``,
        ``best_run_id`` (when a run holds it), ``bound`` (tightest proven bound: published
        ``optimum``/dual bound and the bounds of runs not ``invalid``/``error``/``crashed``),
        ``bound_source``, ``proven_optimal``, ``conflict`` and ``published`` (the instance's
        ``metadata["known"]``). See :func:`combine_best`. Raises KeyError for an unknown instance.
        """
        sense, known, best = self._compute_best(instance_hash)
        name = self.conn.execute("SELECT name FROM instances WHERE hash = ?", (instance_hash,)).fetchone()[0]
        return {"instance": instance_hash, "name": name, "sense": sense, **best, "published": known}

    def recompute_gaps(self) -> int:
        """Recompute every instance's best values and every run's gap; returns the runs updated.

        Not needed in normal use: :meth:`write_run` and :meth:`add_instance` keep them current.
        """
        with self._write():
            hashes = [row[0] for row in self.conn.execute("SELECT hash FROM instances")]
            return sum(self._refresh(h, force=True) for h in hashes)

    # -- checks --------------------------------------------------------------------------------

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``'s answer (``"ok"`` for a sound file)."""
        return "\n".join(str(row[0]) for row in self.conn.execute("PRAGMA integrity_check"))

    def journal_mode(self) -> str:
        """SQLite's journal mode, lower case (``wal`` for a store opened for writing)."""
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception, KeyboardInterrupt included)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


class ClaimHeartbeat:
    """Keeps ``owner``'s claims in a store alive from a background thread (its own connection),
    every :data:`HEARTBEAT_S` seconds, until stopped (a context manager)."""

    def __init__(self, path: str | Path, owner: str, interval: float = HEARTBEAT_S) -> None:
        self.path = str(path)
        self.owner = owner
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="schedbench-claims", daemon=True)

    def _beat(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("UPDATE claims SET heartbeat = ? WHERE claimed_by = ?", (time.time(), self.owner))
                except sqlite3.Error:
                    continue  # busy or gone: the next beat tries again
        finally:
            conn.close()

    def __enter__(self) -> ClaimHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
