"""Gang groups and usable GPU types of an instance (read-only helpers for answer builders).

A *gang group* is a set of GPUs from which one gang may be drawn: the GPUs of one node (all of one
type), or, when the problem's ``allow_multi_node`` is true, all GPUs of one type. The problem
classes' random-feasible baselines build their answers with these; the validator does its own
checks and does not use them.
"""

from __future__ import annotations

import numpy as np

from schedbench.instances.model import Instance

#: Slack allowed when checking that demands fit: half the validator's tolerance (1e-9 relative +
#: 1e-9 absolute), so that sums computed in another order still pass.
FIT_RTOL = 5e-10
FIT_ATOL = 5e-10


def gang_groups(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per GPU its gang group ``(G,)``; per group its GPU type ``(K,)`` and size ``(K,)``."""
    if inst.problem.params.get("allow_multi_node", False):
        group = inst.gpu_type.copy()
        K = len(inst.gpu_types)
        group_type = np.arange(K, dtype=np.int64)
    else:
        group = inst.gpu_node.copy()
        K = len(inst.nodes)
        group_type = np.asarray([inst.type_index[nd.gpu_type] for nd in inst.nodes], dtype=np.int64).reshape(K)
    size = np.bincount(group, minlength=K).astype(np.int64)
    return group, group_type, size


def usable_types(inst: Instance, *, need_time: bool = False) -> np.ndarray:
    """``(n, T)``: the job is eligible for the type, its per-GPU demand fits the type's capacity
    (within :data:`FIT_RTOL`/:data:`FIT_ATOL`), and some gang group of the type has at least
    ``gang`` GPUs (and, with ``need_time``, its time is a positive finite number)."""
    jobs = inst.jobs
    _, group_type, size = gang_groups(inst)
    T = len(inst.gpu_types)
    biggest = np.zeros(T, dtype=np.int64)
    np.maximum.at(biggest, group_type, size)
    demand = np.nan_to_num(jobs.demand, nan=np.inf)
    ok = jobs.eligible & (demand <= inst.type_capacity[None, :, :] * (1 + FIT_RTOL) + FIT_ATOL).all(axis=-1)
    ok &= biggest[None, :] >= jobs.gang[:, None]
    if need_time:
        if jobs.time is None:
            return np.zeros_like(ok)
        t = np.nan_to_num(jobs.time, nan=np.inf)
        ok &= np.isfinite(t) & (t > 0)
    return ok


def earliest_free(free: np.ndarray, members: np.ndarray, gang: int, rng: np.random.Generator) -> np.ndarray:
    """The ``gang`` GPUs among ``members`` that are free first by ``free`` (ties in random order), sorted."""
    shuffled = members[rng.permutation(len(members))]
    return np.sort(shuffled[np.argsort(free[shuffled], kind="stable")[:gang]])
