"""The in-memory instance model: small frozen dataclasses around numpy arrays.

Indices: ``n`` jobs, ``T`` GPU types, ``R`` resource dimensions, ``G`` GPUs. Per-type job data
are ``(n, T)`` arrays (``(n, T, R)`` for demand) whose entries are NaN where the job cannot use
the type (``eligible[j, t]`` is False). Construct instances with :func:`make_instance` (which
checks them) or load them with :mod:`schedbench.instances.io`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

SCHEMA_ID = "schedbench/instance/1"


@dataclass(frozen=True)
class Resource:
    """A resource dimension, e.g. ``memory_gib`` (unit GiB) or ``compute`` (1.0 = a whole GPU)."""

    id: str
    unit: str = ""


@dataclass(frozen=True)
class GpuType:
    """A GPU type: capacity per resource dimension, optional price and peak TFLOP/s."""

    id: str
    capacity: dict[str, float]
    cost_per_hour: float | None = None
    peak_tflops: float | None = None


@dataclass(frozen=True)
class Node:
    """A node: one GPU type and the stable ids of its GPUs."""

    id: str
    gpu_type: str
    gpus: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    """Problem class, objective and class parameters (defaults filled in)."""

    cls: str
    objective: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Jobs:
    """Jobs, column-wise.

    Attributes:
        ids: job ids (unique, non-empty strings).
        gang: GPUs needed at once, int64 ``(n,)``, each >= 1.
        release: earliest start (s), float ``(n,)``.
        weight: float ``(n,)``, >= 0.
        eligible: bool ``(n, T)``: the job can run on that GPU type.
        demand: float ``(n, T, R)``: per-GPU resource demand on that type (NaN where ineligible).
        job_type: catalogue key per job (None where unknown), or None for all.
        deadline: float ``(n,)`` with NaN for no deadline, or None when no job has one.
        tenant: tenant per job, or None.
        time: processing time (s) on each type, ``(n, T)``, or None.
        cost: cost of running the job on each type, ``(n, T)``, or None.
        throughput: work rate on each type (e.g. iterations/s), ``(n, T)``, or None.
    """

    ids: tuple[str, ...]
    gang: np.ndarray
    release: np.ndarray
    weight: np.ndarray
    eligible: np.ndarray
    demand: np.ndarray
    job_type: tuple[str | None, ...] | None = None
    deadline: np.ndarray | None = None
    tenant: tuple[str | None, ...] | None = None
    time: np.ndarray | None = None
    cost: np.ndarray | None = None
    throughput: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(
        cls,
        ids: list[str] | tuple[str, ...],
        demand: np.ndarray,
        *,
        eligible: np.ndarray | None = None,
        gang: np.ndarray | None = None,
        release: np.ndarray | None = None,
        weight: np.ndarray | None = None,
        time: np.ndarray | None = None,
        cost: np.ndarray | None = None,
        throughput: np.ndarray | None = None,
        deadline: np.ndarray | None = None,
        job_type: list[str | None] | None = None,
        tenant: list[str | None] | None = None,
    ) -> Jobs:
        """Convenience constructor with defaults: gang 1, release 0, weight 1, all types
        eligible. Per-type arrays are masked to NaN where a job is not eligible."""
        n = len(ids)
        demand = np.asarray(demand, dtype=np.float64)
        if demand.ndim != 3 or demand.shape[0] != n:
            raise ValueError(f"demand must have shape (n={n}, T, R), got {demand.shape}")
        T = demand.shape[1]
        elig = np.ones((n, T), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)

        def mask(arr: np.ndarray | None) -> np.ndarray | None:
            if arr is None:
                return None
            out = np.array(arr, dtype=np.float64, copy=True)
            out[~elig] = np.nan
            return out

        dem = demand.copy()
        dem[~elig] = np.nan
        return cls(
            ids=tuple(ids),
            gang=np.ones(n, dtype=np.int64) if gang is None else np.asarray(gang, dtype=np.int64),
            release=np.zeros(n) if release is None else np.asarray(release, dtype=np.float64),
            weight=np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64),
            eligible=elig,
            demand=dem,
            job_type=None if job_type is None else tuple(job_type),
            deadline=None if deadline is None else np.asarray(deadline, dtype=np.float64),
            tenant=None if tenant is None else tuple(tenant),
            time=mask(time),
            cost=mask(cost),
            throughput=mask(throughput),
        )

    @cached_property
    def index(self) -> dict[str, int]:
        """Job id -> row index."""
        return {job: i for i, job in enumerate(self.ids)}


@dataclass(frozen=True, eq=False)
class Instance:
    """A scheduling instance. Treat as immutable; derived arrays are cached.

    Attributes:
        resources: resource dimensions, in the order of ``Jobs.demand``'s last axis.
        gpu_types: GPU types, in the order of the per-type axis.
        nodes: cluster nodes.
        jobs: the jobs.
        problem: class, objective, parameters.
        metadata: free-form but documented: name, description, source, generator, known values.
    """

    resources: tuple[Resource, ...]
    gpu_types: tuple[GpuType, ...]
    nodes: tuple[Node, ...]
    jobs: Jobs
    problem: Problem
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The instance's name from its metadata ('' when absent)."""
        return str(self.metadata.get("name", ""))

    @cached_property
    def resource_ids(self) -> tuple[str, ...]:
        """Resource ids in instance order."""
        return tuple(r.id for r in self.resources)

    @cached_property
    def type_ids(self) -> tuple[str, ...]:
        """GPU type ids in instance order."""
        return tuple(t.id for t in self.gpu_types)

    @cached_property
    def type_index(self) -> dict[str, int]:
        """GPU type id -> per-type axis index."""
        return {t: i for i, t in enumerate(self.type_ids)}

    @cached_property
    def gpu_ids(self) -> tuple[str, ...]:
        """All GPU ids, node by node."""
        return tuple(g for node in self.nodes for g in node.gpus)

    @cached_property
    def gpu_index(self) -> dict[str, int]:
        """GPU id -> GPU index."""
        return {g: i for i, g in enumerate(self.gpu_ids)}

    @cached_property
    def gpu_type(self) -> np.ndarray:
        """Type index of each GPU, int64 ``(G,)``."""
        out = [self.type_index[node.gpu_type] for node in self.nodes for _ in node.gpus]
        return np.asarray(out, dtype=np.int64)

    @cached_property
    def gpu_node(self) -> np.ndarray:
        """Node index of each GPU, int64 ``(G,)``."""
        out = [k for k, node in enumerate(self.nodes) for _ in node.gpus]
        return np.asarray(out, dtype=np.int64)

    @cached_property
    def type_capacity(self) -> np.ndarray:
        """Capacity per GPU type and resource, float ``(T, R)``."""
        return np.asarray(
            [[t.capacity[r] for r in self.resource_ids] for t in self.gpu_types], dtype=np.float64
        ).reshape(len(self.gpu_types), len(self.resources))

    @cached_property
    def gpu_capacity(self) -> np.ndarray:
        """Capacity per GPU and resource, float ``(G, R)``."""
        return self.type_capacity[self.gpu_type]

    @cached_property
    def gpus_per_type(self) -> np.ndarray:
        """Number of GPUs of each type, int64 ``(T,)``."""
        return np.bincount(self.gpu_type, minlength=len(self.gpu_types)).astype(np.int64)

    @property
    def n_jobs(self) -> int:
        """Number of jobs."""
        return len(self.jobs)

    @property
    def n_gpus(self) -> int:
        """Number of GPUs in the cluster."""
        return len(self.gpu_ids)

    def summary(self) -> dict[str, Any]:
        """Sizes and identity, for ``schedbench show``."""
        return {
            "name": self.name,
            "class": self.problem.cls,
            "objective": self.problem.objective,
            "params": dict(self.problem.params),
            "jobs": self.n_jobs,
            "gpus": self.n_gpus,
            "nodes": len(self.nodes),
            "gpu_types": len(self.gpu_types),
            "resources": list(self.resource_ids),
        }

    def __repr__(self) -> str:
        """One short line (the dataclass repr of a 100-job instance would be ~32,000 characters)."""
        name = f" {self.name!r}" if self.name else ""
        return (
            f"<Instance{name} {self.problem.cls}/{self.problem.objective}: {self.n_jobs} jobs, "
            f"{self.n_gpus} GPUs of {len(self.gpu_types)} types on {len(self.nodes)} nodes>"
        )

    def _repr_html_(self) -> str:
        """A small table for notebooks: the fields of :meth:`summary`."""
        from html import escape

        rows = "".join(
            f"<tr><th style='text-align:left'>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
            for k, v in self.summary().items()
            if v not in ({}, "", None)
        )
        return f"<table><caption>Instance</caption>{rows}</table>"
