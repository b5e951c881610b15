"""Random instances and feasible solutions, built by construction, for property tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from schedbench.instances import GpuType, Instance, Jobs, Node, Problem, Resource, make_instance

RES = (Resource("memory_gib", "GiB"), Resource("compute"))


def random_cluster(rng: np.random.Generator) -> tuple[tuple[GpuType, ...], tuple[Node, ...]]:
    T = int(rng.integers(1, 4))
    types = tuple(GpuType(f"t{t}", {"memory_gib": 16.0, "compute": 1.0}) for t in range(T))
    nodes = []
    for k in range(int(rng.integers(T, T + 4))):
        t = k % T
        g = int(rng.integers(1, 5))
        nodes.append(Node(f"n{k}", f"t{t}", tuple(f"n{k}/g{i}" for i in range(g))))
    return types, tuple(nodes)


def random_jobs(rng: np.random.Generator, n: int, T: int, max_gang: int, **extra: Any) -> Jobs:
    eligible = rng.random((n, T)) < 0.8
    eligible[np.arange(n), rng.integers(0, T, n)] = True
    demand = np.stack([rng.uniform(0.5, 8.0, (n, T)), rng.uniform(0.05, 0.5, (n, T))], axis=2).round(3)
    time = rng.uniform(1.0, 100.0, (n, T)).round(3)
    cost = rng.integers(1, 50, (n, T)).astype(float)
    gang = rng.integers(1, max_gang + 1, n)
    return Jobs.build(
        [f"job{i}" for i in range(n)],
        demand,
        eligible=eligible,
        time=time,
        cost=cost,
        gang=gang,
        weight=rng.integers(1, 10, n).astype(float),
        **extra,
    )


def _choose_gpus(
    inst_types: tuple[GpuType, ...],
    nodes: tuple[Node, ...],
    eligible_row: np.ndarray,
    gang: int,
    rng: np.random.Generator,
) -> list[str] | None:
    options = [nd for nd in nodes if eligible_row[int(nd.gpu_type[1:])] and len(nd.gpus) >= gang]
    if not options:
        return None
    node = options[int(rng.integers(len(options)))]
    picks = rng.choice(len(node.gpus), size=gang, replace=False)
    return [node.gpus[i] for i in sorted(picks.tolist())]


def feasible_placement(
    seed: int, objective: str = "min-cost", n: int = 12, slack: float = 1.0
) -> tuple[Instance, dict[str, Any]]:
    """A placement instance whose capacities are set from a random assignment, so it is feasible.

    With ``slack == 1`` the most loaded GPU of each type is exactly full.
    """
    rng = np.random.default_rng(seed)
    types, nodes = random_cluster(rng)
    max_gang = max(len(nd.gpus) for nd in nodes)
    jobs = random_jobs(rng, n, len(types), min(2, max_gang))
    assignment: dict[str, list[str] | None] = {}
    gpu_type = {g: int(nd.gpu_type[1:]) for nd in nodes for g in nd.gpus}
    elig = jobs.eligible.copy()
    for j, jid in enumerate(jobs.ids):
        gpus = _choose_gpus(types, nodes, elig[j], int(jobs.gang[j]), rng)
        if gpus is None:  # no node of an eligible type is big enough: make the job fit a gang of 1
            elig[j] = False
            nd = nodes[0]
            elig[j, int(nd.gpu_type[1:])] = True
            gpus = [nd.gpus[0]]
            jobs.gang[j] = 1
        assignment[jid] = gpus
    jobs = Jobs.build(
        jobs.ids,
        np.nan_to_num(jobs.demand, nan=1.0),
        eligible=elig,
        time=np.nan_to_num(jobs.time, nan=5.0),
        cost=np.nan_to_num(jobs.cost, nan=7.0),
        gang=jobs.gang,
        weight=jobs.weight,
    )
    load = {g: np.zeros(2) for g in gpu_type}  # recomputed with the final demand
    for j, jid in enumerate(jobs.ids):
        for g in assignment[jid] or []:
            load[g] += jobs.demand[j, gpu_type[g]]
    caps = []
    for t, gt in enumerate(types):
        peak = np.max([load[g] for g in gpu_type if gpu_type[g] == t] + [np.zeros(2)], axis=0)
        cap = np.maximum(peak * slack, 1e-3)
        caps.append(GpuType(gt.id, {"memory_gib": float(cap[0]), "compute": float(cap[1])}))
    inst = make_instance(
        resources=RES,
        gpu_types=caps,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("placement", objective),
        metadata={"name": f"rand-placement-{seed}"},
    )
    return inst, {"problem": "placement", "assignment": assignment}


def feasible_batch(seed: int, objective: str = "makespan", n: int = 12) -> tuple[Instance, dict[str, Any]]:
    """A batch instance and a feasible random list schedule."""
    rng = np.random.default_rng(seed)
    types, nodes = random_cluster(rng)
    max_gang = max(len(nd.gpus) for nd in nodes)
    release = rng.integers(0, 50, n).astype(float)
    deadline = np.where(rng.random(n) < 0.7, release + rng.uniform(10, 200, n).round(1), np.nan)
    jobs = random_jobs(rng, n, len(types), min(2, max_gang), release=release, deadline=deadline)
    # make every job eligible on the first node's type with gang 1 as a fallback
    gpu_type = {g: int(nd.gpu_type[1:]) for nd in nodes for g in nd.gpus}
    free = {g: 0.0 for g in gpu_type}
    schedule: dict[str, dict[str, Any]] = {}
    elig = jobs.eligible.copy()
    gang = jobs.gang.copy()
    for j in rng.permutation(n).tolist():
        gpus = _choose_gpus(types, nodes, elig[j], int(gang[j]), rng)
        if gpus is None:
            nd = nodes[0]
            elig[j, int(nd.gpu_type[1:])] = True
            gang[j] = 1
            gpus = [nd.gpus[0]]
        t = gpu_type[gpus[0]]
        start = max([float(release[j])] + [free[g] for g in gpus]) + float(rng.choice([0.0, 0.0, 2.5]))
        end = start + float(jobs.time[j, t]) if not np.isnan(jobs.time[j, t]) else start + 5.0
        for g in gpus:
            free[g] = end
        schedule[jobs.ids[j]] = {"gpus": gpus, "start": start}
    jobs = Jobs.build(
        jobs.ids,
        np.nan_to_num(jobs.demand, nan=1.0),
        eligible=elig,
        time=np.nan_to_num(jobs.time, nan=5.0),
        cost=np.nan_to_num(jobs.cost, nan=7.0),
        gang=gang,
        weight=jobs.weight,
        release=release,
        deadline=deadline,
    )
    inst = make_instance(
        resources=RES,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("batch", objective),
        metadata={"name": f"rand-batch-{seed}"},
    )
    return inst, {"problem": "batch", "schedule": schedule}


def feasible_allocation(seed: int, objective: str = "max-min-fairness", n: int = 10) -> tuple[Instance, dict[str, Any]]:
    """An allocation instance and a feasible random allocation (scaled into the constraints)."""
    rng = np.random.default_rng(seed)
    types, nodes = random_cluster(rng)
    jobs = random_jobs(rng, n, len(types), 1)
    thr = rng.uniform(0.5, 20.0, (n, len(types))).round(3)
    jobs = Jobs.build(
        jobs.ids,
        np.nan_to_num(jobs.demand, nan=1.0),
        eligible=jobs.eligible,
        time=np.nan_to_num(jobs.time, nan=5.0),
        throughput=thr,
        gang=jobs.gang,
    )
    inst = make_instance(
        resources=RES,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("allocation", objective),
        metadata={"name": f"rand-alloc-{seed}"},
    )
    x = rng.random((n, len(types))) * inst.jobs.eligible
    x /= np.maximum(1.0, x.sum(axis=1, keepdims=True))
    used = inst.jobs.gang @ x
    x *= min(1.0, float(np.min(inst.gpus_per_type / np.maximum(used, 1e-12))))
    x = np.floor(x * 1e6) / 1e6
    alloc = {
        jid: {inst.type_ids[t]: float(x[j, t]) for t in range(len(types)) if x[j, t] > 0}
        for j, jid in enumerate(inst.jobs.ids)
    }
    return inst, {"problem": "allocation", "allocation": alloc}
