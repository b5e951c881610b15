"""The results store: an embedded SQLite file (WAL mode), one per campaign.

Tables (schema version :data:`SCHEMA_VERSION`, see :mod:`schedbench.store.schema`):

- ``meta(key, value)``: ``application`` = ``schedbench-results``, ``schema_version``, ``created_at``.
  A store of an unknown version is refused with a clear error; known older versions are migrated.
- ``instances(hash, name, class, objective, sense, n_jobs, n_gpus, path, known_json, best_known,
  best_known_source, best_run_id, best_bound, best_bound_source)``: keyed by the instance's content
  hash; ``known_json`` is its ``metadata["known"]`` (published optimum / best known / bounds).
- ``solvers(id, name, version, params_json)``, unique on all three.
- ``environments(id, sha256, doc_json, created_at)``: an environment description (Python and
  package versions, CPU, memory, OS, git revision) stored once and referenced by the runs.
- ``campaigns(id, name, spec_json, created_at, updated_at)``: ``name`` is unique; a resumed
  campaign finds its row and records the spec it was resumed with.
- ``runs(run_id, campaign_id, instance_hash, solver_id, env_id, ...)``: one row per run identity,
  every field of :class:`~schedbench.runs.RunRecord` (trajectory, flags, violations and
  info as JSON, the solution as zlib-compressed canonical JSON, the log tail), its ``gap`` and the
  UTC ``finished_at`` of the write (informational: never part of an identity).

Guarantees:

- Each :meth:`Store.write_run` is one transaction, committed at once (``synchronous=NORMAL`` in
  WAL mode: durable against a killed process; a power loss may lose the last few commits, never
  corrupt the file). A harness killed with SIGKILL loses only the runs in flight.
- ``run_id`` is the primary key: writing a run again replaces it, never duplicates it.
  :meth:`Store.finished` gives the runs a resumed campaign skips (``rerun`` statuses excepted).
- Gaps are kept current at every write: when a run or :meth:`Store.add_instance` changes an
  instance's best-known value, the gaps of all its runs are recomputed in the same transaction.
  ``gap`` is :func:`schedbench.scoring.gap` against the instance's best-known value (a fraction,
  0 for the best answer) for runs with a feasible answer (any status: a timeout's validated
  incumbent counts), None otherwise. The best-known value combines the runs' feasible objectives
  with the published ``optimum``/``best_known`` and the published primal bound (``upper_bound``
  for min, ``lower_bound`` for max); see :func:`schedbench.scoring.combine_best`.
- Single writer (the campaign's parent process); any number of readers (``readonly=True``) may
  read while it writes.
"""

from schedbench.store.core import Store, StoreError
from schedbench.store.export import export
from schedbench.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "export"]
