"""Sampling jobs from the measured catalogue and the trace fits, vectorised.

:class:`WorkloadTables` turns the catalogue into dense arrays over (job type, GPU type, GPU count)
for one cluster; :func:`sample_jobs` draws ``n`` jobs and derives, per job and GPU type:

* **gang** from the GPUs-per-job distribution (a trace fit or an explicit pmf), reduced to the
  largest GPU count <= the draw at which the job type has a throughput figure on a type of the
  cluster with a node that large (the catalogue covers 1, 2, 4 and 8 GPUs);
* **duration** ``D_j`` from the duration distribution: the job's run time on the *reference* GPU
  type at its gang size (``reference_gpu``; when the job type has no figure there, its fastest
  type in the cluster), clipped to [``min_duration_s``, ``max_duration_s``];
* **processing time** on type t: ``time[j, t] = D_j * thr(ref) / thr(t)`` with ``thr`` the
  catalogue throughput at the job's gang size: the same amount of work at each type's measured
  speed. A type without a throughput figure is ineligible;
* **memory** per GPU: the catalogue's figure for that type, else the job type's largest figure on
  any GPU (counted in the metadata as a fallback), else ``default_memory_fraction`` of the GPU's
  memory (counted too); a type whose memory is too small is ineligible;
* **compute demand** (the ``compute`` resource, 1.0 = a whole GPU): derived from the catalogue's
  *compute share* ``s`` (the fraction of its solo speed a job keeps when it shares one GPU with
  another job, median over measured partners) by the rule ``u = min(1, 0.5 / s)``: two jobs that
  each need ``u <= 0.5`` of a GPU share it without slowing down (``s = 1``), while jobs that need
  more each get half, so ``s = 0.5 / u``. A job type with no compute share gets 1.0 (a whole GPU,
  no sharing). An estimate of a demand from a pairwise measurement; counted in the metadata.

Only job types with a throughput figure on some type of the cluster at one GPU are drawn, so every
job can run somewhere (the loader checks it again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schedbench.catalogue.model import Catalogue
from schedbench.generators.clusters import NodeGroup

GPU_COUNTS = (1, 2, 4, 8)


@dataclass(frozen=True, eq=False)
class WorkloadTables:
    """Catalogue figures as arrays for the GPU types of one cluster.

    Attributes:
        keys: job type keys (rows), only those runnable on the cluster at 1 GPU.
        families: family of each job type.
        types: GPU type ids of the cluster (columns).
        throughput: ``(K, T, 4)``, NaN where unknown; last axis = :data:`GPU_COUNTS`.
        memory: ``(K, T)`` GiB per GPU, NaN where unknown.
        share: ``(K, T)`` catalogue compute share (fraction of solo speed kept when sharing), NaN where unknown.
        gpu_memory: ``(T,)`` GiB.
        memory_kind: ``(K, T)`` provenance class of each memory figure (:data:`MEMORY_KINDS`), ``""`` where none.
        measured: ``(K, T)`` a source measured the job's throughput on the type (it ran there).
        max_batch: ``(K,)`` the job runs the largest batch that fits each GPU (Lambda's job types).
        suspect_left_out: throughput figures marked suspect and left out.
    """

    keys: tuple[str, ...]
    families: tuple[str, ...]
    types: tuple[str, ...]
    throughput: np.ndarray
    memory: np.ndarray
    share: np.ndarray
    gpu_memory: np.ndarray
    dropped: tuple[str, ...] = field(default=())
    memory_kind: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=object))
    measured: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    max_batch: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    suspect_left_out: int = 0
    job_demand: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def build(cls, catalogue: Catalogue, types: tuple[str, ...], include_suspect: bool = False) -> WorkloadTables:
        """Arrays for the GPU types ``types``; throughput figures marked suspect are left out unless
        ``include_suspect``."""
        keys, fams, thr_rows, mem_rows, share_rows, dropped = [], [], [], [], [], []
        kind_rows, meas_rows, maxb, job_u = [], [], [], []
        suspect = 0
        for key in sorted(catalogue.job_types):
            jt = catalogue.job_types[key]
            thr = np.full((len(types), len(GPU_COUNTS)), np.nan)
            for t, gpu in enumerate(types):
                for c, count in enumerate(GPU_COUNTS):
                    f = jt.throughput.get((gpu, count))
                    if f is not None and f.value > 0:
                        if f.suspect is not None and not include_suspect:
                            suspect += 1
                            continue
                        thr[t, c] = f.value
            if np.isnan(thr[:, 0]).all():
                dropped.append(key)
                continue
            mem = np.array([jt.memory_gib[g].value if g in jt.memory_gib else np.nan for g in types])
            share = np.array([jt.compute_share[g].value if g in jt.compute_share else np.nan for g in types])
            keys.append(key)
            fams.append(jt.family)
            thr_rows.append(thr)
            mem_rows.append(mem)
            share_rows.append(share)
            kind_rows.append([memory_kind(jt.memory_gib[g]) if g in jt.memory_gib else "" for g in types])
            meas_rows.append(
                [any(f.kind == "measured" for (g2, _), f in jt.throughput.items() if g2 == g) for g in types]
            )
            maxb.append(jt.batch_size is None and bool(jt.max_batch))
            us = [min(1.0, 0.5 / f.value) for f in jt.compute_share.values() if f.value > 0]
            job_u.append(float(np.median(us)) if us else np.nan)
        gpu_memory = np.array([catalogue.gpu_memory_gib(g) for g in types], dtype=np.float64)
        T = len(types)
        K = len(keys)
        return cls(
            tuple(keys),
            tuple(fams),
            types,
            np.array(thr_rows).reshape(K, T, len(GPU_COUNTS)),
            np.array(mem_rows).reshape(K, T),
            np.array(share_rows).reshape(K, T),
            gpu_memory,
            tuple(dropped),
            np.array(kind_rows, dtype=object).reshape(K, T),
            np.array(meas_rows, dtype=bool).reshape(K, T),
            np.array(maxb, dtype=bool),
            suspect,
            np.array(job_u, dtype=np.float64),
        )


#: Provenance classes of a memory figure in an instance; the last two are fallbacks.
MEMORY_KINDS = (
    "measured",
    "bound (R1a)",
    "formula (R4)",
    "derived",
    "other GPU (fallback)",
    "default fraction (fallback)",
)
#: Provenance classes of a compute demand; the last one is a fallback.
COMPUTE_KINDS = ("co-location (R3)", "same job, other GPU", "whole GPU (max-batch job)", "whole GPU (fallback)")


def memory_kind(f: Any) -> str:
    """Provenance class of a catalogue memory figure."""
    if f.kind == "measured":
        return "measured"
    rule = f.provenance.rule or ""
    if rule.startswith("R1a"):
        return "bound (R1a)"
    if rule.startswith("R4"):
        return "formula (R4)"
    return "derived"


def mix_weights(tables: WorkloadTables, catalogue: Catalogue, mix: str | dict[str, float]) -> np.ndarray:
    """Probability of each job type of ``tables`` under a mix.

    ``mix``: ``"all"`` (uniform over runnable job types), a source key such as ``"gavel"`` or
    ``"lambda"`` (uniform over that source's job types), or a mapping from job type keys,
    ``"family:<f>"`` or ``"source:<s>"`` to weights (a family or source weight is split evenly
    over its runnable job types).

    Raises:
        ValueError: an unknown name, or a mix with no runnable job type.
    """
    K = len(tables.keys)
    w = np.zeros(K)
    sources = {k: catalogue.job_types[k].source for k in tables.keys}
    if isinstance(mix, str):
        mix = {"source:" + mix: 1.0} if mix != "all" else {"all": 1.0}
    for name, weight in mix.items():
        if name == "all":
            sel = np.ones(K, dtype=bool)
        elif name.startswith("family:"):
            sel = np.array([f == name[7:] for f in tables.families])
        elif name.startswith("source:"):
            sel = np.array([sources[k] == name[7:] for k in tables.keys])
        elif name in catalogue.job_types:
            sel = np.array([k == name for k in tables.keys])
            if not sel.any():
                raise ValueError(f"job type {name!r} has no throughput figure on this cluster's GPU types")
        else:
            raise ValueError(f"unknown job type, family:<f> or source:<s> {name!r}")
        if not sel.any():
            raise ValueError(f"{name!r} selects no job type runnable on this cluster")
        w[sel] += weight / sel.sum()
    return w / w.sum()


@dataclass(frozen=True, eq=False)
class SampledJobs:
    """Per-job arrays of one draw (see the module docstring)."""

    job_type: np.ndarray  # (n,) index into tables.keys
    gang: np.ndarray  # (n,) int64
    duration: np.ndarray  # (n,) seconds on the reference type
    eligible: np.ndarray  # (n, T)
    time: np.ndarray  # (n, T) NaN where ineligible
    throughput: np.ndarray  # (n, T) at the job's gang size, NaN where ineligible
    memory: np.ndarray  # (n, T)
    share: np.ndarray  # (n, T) compute demand, 1.0 = a whole GPU
    fallbacks: dict[str, Any]


def _count_index(gang: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(GPU_COUNTS), gang)


@dataclass(frozen=True, eq=False)
class Runnable:
    """Per (job type, GPU type): memory per GPU and its provenance masks, and per GPU count whether
    the job type can run there (a throughput figure, the memory fits, a node, or with multi-node
    the type's GPUs, large enough)."""

    memory: np.ndarray  # (K, T) GiB per GPU
    other: np.ndarray  # (K, T) bool: taken from the job type's figure on another GPU
    default: np.ndarray  # (K, T) bool: default_memory_fraction of the GPU
    runnable: np.ndarray  # (K, T, 4) bool


def runnable_table(
    tables: WorkloadTables, groups: tuple[NodeGroup, ...], default_memory_fraction: float, multi_node: bool = False
) -> Runnable:
    """Memory figures and runnability of every (job type, GPU type, GPU count) of a cluster."""
    T = len(tables.types)
    max_node = np.zeros(T, dtype=np.int64)
    for g in groups:
        t = tables.types.index(g.gpu_type)
        max_node[t] = max_node[t] + g.nodes * g.gpus_per_node if multi_node else max(max_node[t], g.gpus_per_node)
    counts = np.array(GPU_COUNTS)
    hostable = counts[None, :] <= max_node[:, None]  # (T, 4)
    # memory per (kind, type): catalogue, else the job type's largest figure, else a fraction of the GPU
    mem = tables.memory.copy()
    row_max = np.nanmax(np.where(np.isnan(mem), -np.inf, mem), axis=1)
    other = np.isnan(mem) & np.isfinite(row_max)[:, None]
    mem = np.where(other, row_max[:, None], mem)
    default = np.isnan(mem)
    mem = np.where(default, default_memory_fraction * tables.gpu_memory[None, :], mem)
    # a fallback never removes a configuration a source measured: there the job fits by construction
    if tables.measured.shape == mem.shape:
        mem = np.where((other | default) & tables.measured, np.minimum(mem, tables.gpu_memory[None, :]), mem)
    fits = mem <= tables.gpu_memory[None, :] + 1e-9  # (K, T)
    runnable = ~np.isnan(tables.throughput) & hostable[None, :, :] & fits[:, :, None]  # (K, T, 4)
    return Runnable(mem, other, default, runnable)


def largest_runnable_count(rt: Runnable, probs: np.ndarray) -> int:
    """The largest GPU count at which some job type of the mix can run on the cluster."""
    ok = (rt.runnable.any(axis=1) & (probs > 0)[:, None]).any(axis=0)
    return int(np.array(GPU_COUNTS)[ok].max())


def sample_jobs(
    tables: WorkloadTables,
    groups: tuple[NodeGroup, ...],
    probs: np.ndarray,
    gang_draw: np.ndarray,
    duration_draw: np.ndarray,
    rng: np.random.Generator,
    *,
    reference_gpu: str,
    default_memory_fraction: float,
    multi_node: bool = False,
) -> SampledJobs:
    """Combine drawn gangs and durations with job types into per-type job arrays (vectorised).

    The job type of a job is drawn from ``probs`` restricted to the job types runnable at its GPU
    count (on some type of the cluster, on one node unless ``multi_node``), so the drawn gang sizes
    are kept; a count no job type can run at is reduced to the largest runnable one below it.
    """
    n = len(gang_draw)
    counts = np.array(GPU_COUNTS)
    rt = runnable_table(tables, groups, default_memory_fraction, multi_node)
    mem, other, default, runnable = rt.memory, rt.other, rt.default, rt.runnable
    fallbacks: dict[str, Any] = {"memory_from_other_gpu": 0, "memory_default_fraction": 0, "compute_share_default": 0}
    any_type = runnable.any(axis=1)  # (K, 4)
    # reduce each gang to the largest count <= the draw that some drawable job type runs at (1 always)
    drawable = any_type & (probs > 0)[:, None]
    count_ok = np.any(drawable, axis=0)
    cidx = np.clip(np.searchsorted(counts, gang_draw, side="right") - 1, 0, len(counts) - 1)
    while not count_ok[cidx].all():
        cidx = np.where(count_ok[cidx], cidx, cidx - 1)
    # job type drawn per GPU count from the mix restricted to the job types runnable at that count
    u = rng.random(n)
    cum = np.cumsum(probs[:, None] * drawable, axis=0)  # (K, 4)
    cum = cum / np.where(cum[-1] > 0, cum[-1], 1.0)
    kind = np.minimum((cum[:, cidx] <= u[None, :]).sum(axis=0), len(tables.keys) - 1)
    gang = counts[cidx].astype(np.int64)
    thr = tables.throughput[kind, :, cidx]  # (n, T)
    eligible = runnable[kind, :, cidx]
    thr = np.where(eligible, thr, np.nan)
    if reference_gpu in tables.types:
        ref = thr[:, tables.types.index(reference_gpu)]
    else:
        ref = np.full(n, np.nan)
    fastest = np.nanmax(np.where(eligible, thr, -np.inf), axis=1)
    ref = np.where(np.isnan(ref), fastest, ref)
    duration = duration_draw
    time = duration[:, None] * ref[:, None] / thr
    memory = np.where(eligible, mem[kind], np.nan)
    # compute demand per (job type, GPU type): R3 share where measured; else the same job's demand on
    # its other GPU types (median); else a whole GPU for max-batch jobs (they fill the memory); else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        u_known = np.minimum(1.0, 0.5 / tables.share)  # (K, T), NaN where no share
    has = ~np.isnan(u_known)
    med = tables.job_demand if len(tables.job_demand) == len(tables.keys) else np.full(len(tables.keys), np.nan)
    any_u = ~np.isnan(med)
    u_kt = np.where(has, u_known, med[:, None])
    c_kind = np.where(has, 0, np.where(any_u[:, None], 1, np.where(tables.max_batch[:, None], 2, 3)))
    u_kt = np.where(np.isnan(u_kt), 1.0, u_kt)
    share = np.where(eligible, u_kt[kind], np.nan)
    ck = c_kind[kind]
    m_kind = np.where(other, MEMORY_KINDS[4], np.where(default, MEMORY_KINDS[5], tables.memory_kind))
    mk = m_kind[kind]
    provenance = {
        "memory": {name: int(((mk == name) & eligible).sum()) for name in MEMORY_KINDS},
        "compute": {name: int(((ck == i) & eligible).sum()) for i, name in enumerate(COMPUTE_KINDS)},
    }
    fallbacks["memory_from_other_gpu"] = provenance["memory"][MEMORY_KINDS[4]]
    fallbacks["memory_default_fraction"] = provenance["memory"][MEMORY_KINDS[5]]
    fallbacks["compute_share_default"] = provenance["compute"][COMPUTE_KINDS[3]]
    fallbacks["provenance"] = provenance
    return SampledJobs(kind, gang, duration, eligible, time, thr, memory, share, fallbacks)


def describe_fallbacks(fallbacks: dict[str, Any]) -> list[str]:
    """Metadata notes for the catalogue gaps a draw filled by rule."""
    notes = []
    if fallbacks.get("memory_from_other_gpu"):
        notes.append(
            f"{fallbacks['memory_from_other_gpu']} (job, GPU type) memory figures taken from the same "
            "job type's largest figure on another GPU (catalogue has none for that GPU)"
        )
    if fallbacks.get("memory_default_fraction"):
        notes.append(
            f"{fallbacks['memory_default_fraction']} (job, GPU type) memory figures set to "
            "default_memory_fraction of the GPU's memory (catalogue has none for the job type)"
        )
    if fallbacks.get("compute_share_default"):
        notes.append(
            f"{fallbacks['compute_share_default']} (job, GPU type) compute demands set to 1.0, a whole "
            "GPU (the catalogue has no compute share for the job type)"
        )
    return notes
