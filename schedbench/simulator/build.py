"""Online instances straight from arrays (tests, benchmarks, queueing-theory checks).

:func:`from_arrays` builds a one-type cluster of ``gpus`` GPUs in nodes of ``node_size`` with the
given releases and processing times; :func:`mmc_arrays` and :func:`mg1_arrays` draw the arrays of
an M/M/c queue and of an M/G/1 queue with high-variance (log-normal) sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance
from schedbench.instances.model import Instance


def from_arrays(
    release: np.ndarray,
    time: np.ndarray,
    *,
    gpus: int,
    node_size: int | None = None,
    gang: np.ndarray | None = None,
    deadline: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    job_type: list[str | None] | None = None,
    tenant: list[str | None] | None = None,
    objective: str = "mean-jct",
    params: dict[str, Any] | None = None,
    name: str = "arrays",
) -> Instance:
    """An online instance: one GPU type ``G`` (capacity 1 compute), ``gpus`` GPUs in nodes of
    ``node_size`` (default: one node), job ``j`` released at ``release[j]`` taking ``time[j]``
    seconds on ``gang[j]`` GPUs (default 1)."""
    release = np.asarray(release, dtype=np.float64)
    time = np.asarray(time, dtype=np.float64)
    n = len(release)
    size = gpus if node_size is None else node_size
    if gpus % size:
        raise ValueError(f"gpus {gpus} is not a multiple of node_size {size}")
    nodes = tuple(Node(f"n{k}", "G", tuple(f"n{k}/{g}" for g in range(size))) for k in range(gpus // size))
    width = len(str(max(n - 1, 0)))
    jobs = Jobs.build(
        [f"j{j:0{width}d}" for j in range(n)],
        np.full((n, 1, 1), 1.0),
        release=release,
        time=time.reshape(n, 1),
        gang=gang,
        deadline=deadline,
        weight=weight,
        job_type=job_type,
        tenant=tenant,
    )
    return make_instance(
        resources=(Resource("compute"),),
        gpu_types=(GpuType("G", {"compute": 1.0}),),
        nodes=nodes,
        jobs=jobs,
        problem=Problem("online", objective, dict(params or {})),
        metadata={"name": name},
    )


def mmc_arrays(n: int, servers: int, load: float, seed: int, mean_size: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Releases and sizes of ``n`` jobs of an M/M/c queue at utilisation ``load`` (rho = lambda s / c)."""
    rng = np.random.default_rng([seed, 0x4D4D43])
    lam = load * servers / mean_size
    return np.cumsum(rng.exponential(1.0 / lam, n)), rng.exponential(mean_size, n)


def mg1_arrays(
    n: int, load: float, seed: int, sigma: float = 1.5, mean_size: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Releases and sizes of an M/G/1 queue: log-normal sizes of mean ``mean_size`` and log-sigma
    ``sigma`` (squared coefficient of variation ``exp(sigma^2) - 1``, 8.5 at 1.5)."""
    rng = np.random.default_rng([seed, 0x4D4731])
    lam = load / mean_size
    sizes = rng.lognormal(np.log(mean_size) - sigma**2 / 2, sigma, n)
    return np.cumsum(rng.exponential(1.0 / lam, n)), sizes
