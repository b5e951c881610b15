"""What one run is (:class:`RunTask`) and what it produced (:class:`RunRecord`).

A run is one (instance, solver, parameters, seed, limits). Its identity ``run_id`` is the sha256
of those (instance content hash, solver name, solver version, resolved parameters, repetition
seed, time limit, memory limit, threads); the seed handed to the solver is derived from it, so it
is the same wherever and whenever the run executes. Both classes are plain, picklable dataclasses:
tasks travel to worker processes and Dask workers, records travel back to the single writer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

#: Largest accepted time limit (seconds: 30 days); beyond it a limit is a mistake, and the
#: supervisor's clocks and timeouts overflow near 1e308 (refused with exit 2).
MAX_TIME_LIMIT_S = 30 * 86400.0
#: Largest accepted memory limit (MiB: 1 PiB; RLIMIT_AS overflows far beyond).
MAX_MEMORY_LIMIT_MB = 1 << 30
#: Largest accepted thread count per run.
MAX_THREADS = 4096


def run_identity(
    instance_hash: str,
    solver: str,
    solver_version: str,
    params: dict[str, Any],
    seed: int,
    time_limit: float,
    memory_limit_mb: int | None,
    threads: int,
) -> str:
    """The run's id: sha256 of its canonical identity (hex)."""
    ident = json.dumps(
        {
            "instance": instance_hash,
            "solver": solver,
            "version": solver_version,
            "params": params,
            "seed": seed,
            "time_limit": float(time_limit),
            "memory_limit_mb": memory_limit_mb,
            "threads": threads,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(ident.encode()).hexdigest()


def solver_seed(run_id: str) -> int:
    """The seed passed to the solver: 31 bits derived from the run id (fits every RNG's seed type)."""
    return int(run_id[:8], 16) & 0x7FFFFFFF


@dataclass(frozen=True)
class RunTask:
    """One run to execute.

    Attributes:
        instance_path: instance file the worker loads (checked against ``instance_hash``).
        instance_hash: content hash of the instance.
        instance_name: for logs and reports.
        solver: registry name; ``solver_version`` its version at planning time.
        params: resolved solver parameters (defaults filled in).
        seed: repetition index from the run spec (0, 1, ...).
        time_limit: wall-clock seconds; the worker is stopped at the limit (+ grace).
        memory_limit_mb: address-space limit of the worker process, or None.
        threads: threads per run (BLAS/OpenMP capped to it).
        solvers_dirs: extra plugin folders the worker must also search (``--solvers-dir``).
    """

    instance_path: str
    instance_hash: str
    instance_name: str
    solver: str
    solver_version: str
    params: dict[str, Any]
    seed: int
    time_limit: float
    memory_limit_mb: int | None = None
    threads: int = 1
    solvers_dirs: tuple[str, ...] = ()

    @property
    def run_id(self) -> str:
        """The run's identity (:func:`run_identity` of the task's fields)."""
        return run_identity(
            self.instance_hash,
            self.solver,
            self.solver_version,
            self.params,
            self.seed,
            self.time_limit,
            self.memory_limit_mb,
            self.threads,
        )

    @property
    def solver_seed(self) -> int:
        """The seed the solver receives (:func:`solver_seed` of the run id)."""
        return solver_seed(self.run_id)


@dataclass
class RunRecord:
    """The outcome of one run, validated by the harness (never by the solver).

    Attributes:
        run_id, task: identity and the task that ran.
        status: one of :data:`schedbench.plugins.solver.RUN_STATUSES`.
        reason: why, for every status other than optimal/feasible (timeout after 10.0 s, the
            violations of an invalid answer, the traceback tail of an error...).
        problem_class, objective_name, sense: the instance's.
        objective: recomputed by the validator (None without a feasible answer).
        claimed_objective: what the solver said; ``claim_mismatch`` when it differs.
        claimed_status: the status the solver claimed.
        bound: the solver's proven bound, if any.
        feasible: the validator's verdict on the kept answer (None when there was none).
        violation_counts: per constraint kind, for invalid answers.
        flags: problems found beyond feasibility (``claim_mismatch``, ``optimal_worse_than_known``...).
        wall_s, cpu_s, peak_rss_mb: measured on the worker process (solve only).
        trajectory: ``[[seconds, objective, bound], ...]`` of reported incumbents, validated.
        solution: the kept answer (JSON), or None.
        log_tail: the end of the captured stdout/stderr (bounded).
        info: the solver's free-form info.
        host: machine name that ran it (for Dask campaigns).
    """

    run_id: str
    task: RunTask
    status: str
    reason: str = ""
    problem_class: str = ""
    objective_name: str = ""
    sense: str = "min"
    objective: float | None = None
    claimed_objective: float | None = None
    claimed_status: str | None = None
    bound: float | None = None
    feasible: bool | None = None
    violation_counts: dict[str, int] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    trajectory: list[list[float | None]] = field(default_factory=list)
    solution: dict[str, Any] | None = None
    log_tail: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    host: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``schedbench solve --json``)."""
        out = asdict(self)
        out["task"] = asdict(self.task)
        return out
