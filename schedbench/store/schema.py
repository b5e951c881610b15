"""The results store's SQLite schema, its version and its migrations.

``meta`` holds ``application`` (always :data:`APPLICATION`) and ``schema_version``. A store whose
version this code does not know is refused with a clear error; older known versions are brought
up to date by :data:`MIGRATIONS` (none yet: version 1 is the first).
"""

from __future__ import annotations

#: Written to ``meta.application``: marks an SQLite file as a schedbench results store.
APPLICATION = "schedbench-results"
#: The schema version this code writes and reads.
SCHEMA_VERSION = 1

#: Statements creating schema version 1 (run inside one transaction).
SCHEMA_V1 = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    # One row per instance, keyed by its content hash. ``best_*`` cache the combined best-known
    # value and bound (runs + published ``known_json``); the store keeps them current at each write.
    """CREATE TABLE instances (
        hash TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        class TEXT NOT NULL DEFAULT '',
        objective TEXT NOT NULL DEFAULT '',
        sense TEXT NOT NULL DEFAULT 'min' CHECK (sense IN ('min', 'max')),
        n_jobs INTEGER,
        n_gpus INTEGER,
        path TEXT NOT NULL DEFAULT '',
        known_json TEXT NOT NULL DEFAULT '{}',
        best_known REAL,
        best_known_source TEXT,
        best_run_id TEXT,
        best_bound REAL,
        best_bound_source TEXT
    )""",
    """CREATE TABLE solvers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        params_json TEXT NOT NULL,
        UNIQUE (name, version, params_json)
    )""",
    """CREATE TABLE environments (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        doc_json TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        spec_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        campaign_id INTEGER REFERENCES campaigns (id),
        instance_hash TEXT NOT NULL REFERENCES instances (hash),
        solver_id INTEGER NOT NULL REFERENCES solvers (id),
        env_id INTEGER REFERENCES environments (id),
        instance_path TEXT NOT NULL DEFAULT '',
        solvers_dirs_json TEXT NOT NULL DEFAULT '[]',
        seed INTEGER NOT NULL,
        solver_seed INTEGER NOT NULL,
        time_limit REAL NOT NULL,
        memory_limit_mb INTEGER,
        threads INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        objective REAL,
        claimed_objective REAL,
        claimed_status TEXT,
        bound REAL,
        feasible INTEGER CHECK (feasible IN (0, 1)),
        gap REAL,
        flags_json TEXT NOT NULL DEFAULT '[]',
        violations_json TEXT NOT NULL DEFAULT '{}',
        wall_s REAL,
        cpu_s REAL,
        peak_rss_mb REAL,
        trajectory_json TEXT NOT NULL DEFAULT '[]',
        solution_zlib BLOB,
        log_tail TEXT NOT NULL DEFAULT '',
        info_json TEXT NOT NULL DEFAULT '{}',
        host TEXT NOT NULL DEFAULT '',
        finished_at TEXT NOT NULL
    )""",
    # best feasible objective and tightest bound of an instance, read at every write
    "CREATE INDEX runs_instance_objective ON runs (instance_hash, feasible, objective)",
    "CREATE INDEX runs_instance_bound ON runs (instance_hash, bound)",
    "CREATE INDEX runs_campaign ON runs (campaign_id)",
    "CREATE INDEX runs_status ON runs (status)",
)

#: ``{from_version: statements}`` bringing a store from ``from_version`` to ``from_version + 1``.
MIGRATIONS: dict[int, tuple[str, ...]] = {}
