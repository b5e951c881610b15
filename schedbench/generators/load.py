"""Offered load of a set of jobs on a heterogeneous cluster: the fluid LP.

The nominal figure the generators used before version 2, ``sum(gang x best time) / (GPUs x span)``,
pretends every GPU runs every job at its fastest type's speed; with eligibility and per-type speeds
it understates the load (issue 18: ``load=0.8`` was 1.18-1.24 on the gavel cluster). The *fluid
load* is the least ``rho`` such that each job's work can be split over its eligible GPU types with
every type busy at most ``rho`` of the time::

    minimise rho
    s.t.  sum_t x[j,t] = 1                                   for every job (row group) j
          sum_j W[j,t] x[j,t] <= rho * G_t * H               for every GPU type t
          x >= 0, x[j,t] = 0 where j is ineligible on t

with ``W[j,t]`` the GPU-seconds of job j on type t (``gang x time``), ``G_t`` the GPUs of type t
and ``H`` the horizon (the arrival span; per job, ``H = n / lambda`` for a rate ``lambda``). It is
a lower bound on the long-run utilisation any scheduler needs for the busiest type (it ignores
gangs' node boundaries, queueing and preemption); ``rho >= 1`` means no schedule keeps up and the
queues grow without bound. The LP is homogeneous in ``H``: ``rho(H) = rho(1) / H``, so one solve
gives the figure for any horizon and the arrival rate for a requested load.

Rows of ``W`` may be job *groups* (all jobs of one job type and gang, whose time vectors are
proportional): the group's row is the sum of its jobs' rows, and the optimum is the same as with
one row per job (any per-job split maps to the group split with the same type loads).

Solved by HiGHS (highspy), the model handed over as one CSC matrix; one thread, scheduler reset, so
the value does not depend on what ran before in the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from schedbench.instances.model import Instance


@dataclass(frozen=True)
class FluidLoad:
    """The fluid LP's answer for horizon 1 s (scale with :meth:`at`).

    Attributes:
        work_per_s: ``rho`` for horizon 1 s (GPU-seconds of the busiest type per GPU at the optimum).
        busy: ``(T,)`` per-type busy fraction at the optimum, same scale.
        nominal_per_s: the old nominal figure ``sum(min_t W[j,t]) / sum_t G_t`` for horizon 1 s.
        split: ``(m, T)`` optimal fractions of each row's work on each type.
    """

    work_per_s: float
    busy: np.ndarray
    nominal_per_s: float
    split: np.ndarray

    def at(self, horizon_s: float) -> float:
        """The fluid load over a horizon of ``horizon_s`` seconds."""
        return self.work_per_s / horizon_s

    def nominal_at(self, horizon_s: float) -> float:
        """The old nominal load figure over a horizon of ``horizon_s`` seconds."""
        return self.nominal_per_s / horizon_s


def _quiet_highs(highspy: Any) -> Any:
    """A ``highspy.Highs`` built with the C-level stdout silenced (HiGHS prints a banner on the
    first construction in a process, before any option can be set)."""
    import os
    import sys

    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (embedded interpreters): accept the banner
        return highspy.Highs()
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def fluid_load(work: np.ndarray, gpus: np.ndarray) -> FluidLoad:
    """Solve the fluid LP (module docstring) for horizon 1 s.

    Args:
        work: ``(m, T)`` GPU-seconds of each job (or job group) on each type; NaN or inf where
            ineligible. Every row needs at least one finite entry.
        gpus: ``(T,)`` GPUs of each type (> 0 where any row is eligible).

    Raises:
        ValueError: a row with no eligible type, or eligible work on a type with no GPU.
        RuntimeError: HiGHS did not reach an optimum (should not happen: the LP is always feasible).
    """
    import highspy

    W = np.asarray(work, dtype=np.float64)
    G = np.asarray(gpus, dtype=np.float64)
    m, T = W.shape
    elig = np.isfinite(W)
    if m == 0:
        return FluidLoad(0.0, np.zeros(T), 0.0, np.zeros((0, T)))
    if not elig.any(axis=1).all():
        raise ValueError("every job needs an eligible GPU type")
    if (elig & (G[None, :] <= 0)).any():
        raise ValueError("eligible work on a GPU type with no GPU")
    rows, cols = np.nonzero(elig)  # row-major: sorted by job
    K = len(rows)
    nominal = float(np.where(elig, W, np.inf).min(axis=1).sum() / G.sum())
    # scale for conditioning: rho is found as rho' * scale
    scale = float(W[elig].sum() / G.sum()) or 1.0
    coef = W[rows, cols] / scale
    # columns: x (K), then rho (1). Rows: m assignment rows, then T capacity rows.
    data = np.concatenate([np.ones(K), coef, -G])
    r_idx = np.concatenate([rows, m + cols, m + np.arange(T)])
    c_idx = np.concatenate([np.arange(K), np.arange(K), np.full(T, K)])
    A = sp.csc_matrix((data, (r_idx, c_idx)), shape=(m + T, K + 1))
    A.sort_indices()
    cost = np.zeros(K + 1)
    cost[K] = 1.0
    lower = np.zeros(K + 1)
    upper = np.full(K + 1, np.inf)
    row_lower = np.concatenate([np.ones(m), np.full(T, -np.inf)])
    row_upper = np.concatenate([np.ones(m), np.zeros(T)])
    highspy.Highs.resetGlobalScheduler(True)
    h = _quiet_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    status = h.passModel(
        int(K + 1),
        int(m + T),
        int(A.nnz),
        1,
        1,
        0.0,
        cost,
        lower,
        upper,
        row_lower,
        row_upper,
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(np.float64),
        np.zeros(K + 1, dtype=np.int32),
    )
    if str(status) not in ("HighsStatus.kOk", "HighsStatus.kWarning"):
        raise RuntimeError(f"HiGHS rejected the fluid LP: {status}")
    h.run()
    if h.modelStatusToString(h.getModelStatus()).lower() != "optimal":
        raise RuntimeError(f"fluid LP: HiGHS ended {h.modelStatusToString(h.getModelStatus())}")
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    rho = float(x[K]) * scale
    split = np.zeros((m, T))
    split[rows, cols] = np.clip(x[:K], 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        busy = np.where(G > 0, (np.nan_to_num(W, posinf=0.0) * split).sum(axis=0) / G, 0.0)
    return FluidLoad(rho, busy, nominal, split)


def instance_work(inst: Instance) -> tuple[np.ndarray, np.ndarray]:
    """``(work, gpus)`` of an instance for :func:`fluid_load`: per job ``gang x time`` on each
    eligible type (NaN elsewhere), and the GPUs of each type of ``inst.gpu_types`` in its cluster."""
    ids = [t.id for t in inst.gpu_types]
    gpus = np.zeros(len(ids))
    for nd in inst.nodes:
        gpus[ids.index(nd.gpu_type)] += len(nd.gpus)
    jobs = inst.jobs
    if jobs.time is None:
        raise ValueError("the instance has no processing times")
    work = np.where(jobs.eligible, jobs.gang[:, None] * jobs.time, np.nan)
    return work, gpus


def instance_fluid(inst: Instance) -> dict[str, float | dict[str, float] | None]:
    """Fluid and nominal offered load of an instance over its arrival span (first to last release);
    None when all jobs are released together (no span)."""
    work, gpus = instance_work(inst)
    fl = fluid_load(work, gpus)
    rel = inst.jobs.release
    span = float(rel.max() - rel.min()) if len(rel) > 1 else 0.0
    if span <= 0:
        return {"fluid": None, "nominal": None, "span_s": span, "per_type": {}}
    ids = [t.id for t in inst.gpu_types]
    return {
        "fluid": fl.at(span),
        "nominal": fl.nominal_at(span),
        "span_s": span,
        "per_type": {t: float(b) / span for t, b in zip(ids, fl.busy, strict=True)},
    }
