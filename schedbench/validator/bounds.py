"""Cheap valid bounds on the optimum, computed from the instance alone.

Each bound relaxes the problem (capacities, sequencing or sharing ignored) so it holds for every
feasible solution. They give gaps when nothing better is known; solvers' proven bounds and
published optima are better and are kept separately.
"""

from __future__ import annotations

import math

import numpy as np

from schedbench.instances.model import Instance


def usable_types(inst: Instance) -> np.ndarray:
    """``(n, T)``: eligible, enough GPUs of the type for the gang, and per-GPU demand fits."""
    jobs = inst.jobs
    enough = inst.gpus_per_type[None, :] >= jobs.gang[:, None]
    with np.errstate(invalid="ignore"):
        fits = (np.nan_to_num(jobs.demand, nan=np.inf) <= inst.type_capacity[None, :, :] * (1 + 1e-9) + 1e-9).all(
            axis=2)
    return jobs.eligible & enough & fits


def _row_min(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, np.nan_to_num(values, nan=np.inf), np.inf).min(axis=1)


def bounds(inst: Instance) -> dict[str, float]:
    """``{"lower_bound": x}`` for minimisation or ``{"upper_bound": x}`` for maximisation;
    empty when no cheap bound applies. Values are +-inf when a job can run nowhere."""
    jobs = inst.jobs
    n = len(jobs)
    obj = inst.problem.objective
    cls = inst.problem.cls
    use = usable_types(inst)
    if n == 0:
        return {}
    if cls == "placement":
        if obj == "min-cost":
            assert jobs.cost is not None
            return {"lower_bound": float(_row_min(jobs.cost, use).sum())}
        if obj == "min-gpus":
            # per resource: total (cheapest-type) demand over the largest GPU's capacity
            cap = inst.type_capacity.max(axis=0)
            dem = np.where(use[:, :, None], np.nan_to_num(jobs.demand, nan=np.inf), np.inf).min(axis=1)
            total = (dem * jobs.gang[:, None]).sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                per_r = np.where(cap > 0, total / cap, np.where(total > 0, np.inf, 0.0))
            count = max(float(jobs.gang.max()), float(np.ceil(per_r.max() - 1e-9)))
            if inst.problem.params.get("measure") == "cost":
                prices = [t.cost_per_hour or 0.0 for t in inst.gpu_types]
                return {"lower_bound": count * min(prices)}
            return {"lower_bound": count}
        if obj == "max-weight":
            return {"upper_bound": float(jobs.weight[use.any(axis=1)].sum())}
    if cls in ("batch", "online"):
        assert jobs.time is not None
        pmin = _row_min(jobs.time, use)
        if cls == "online":
            if obj == "mean-jct":
                return {"lower_bound": float(pmin.mean())}
            if obj == "makespan":
                return {"lower_bound": float((jobs.release + pmin).max())}
            return {}
        earliest = jobs.release + pmin
        if obj == "makespan":
            work = float((jobs.gang * pmin).sum())
            return {"lower_bound": float(max(earliest.max(), jobs.release.min() + work / inst.n_gpus))}
        if obj == "weighted-completion":
            return {"lower_bound": float(np.dot(jobs.weight, earliest))}
        if obj == "weighted-tardiness":
            if jobs.deadline is None:
                return {"lower_bound": 0.0}
            late = np.where(np.isnan(jobs.deadline), 0.0, np.maximum(0.0, earliest - np.nan_to_num(jobs.deadline)))
            return {"lower_bound": float(np.dot(jobs.weight, late))}
    if cls == "allocation":
        from schedbench.validator.allocation import equal_share_throughput, throughput_matrix

        thr = np.where(use, throughput_matrix(inst), 0.0)
        eq = equal_share_throughput(inst)
        with np.errstate(divide="ignore", invalid="ignore"):
            best = np.where(eq > 0, thr.max(axis=1) / eq, 0.0)
        if obj == "max-min-fairness":
            return {"upper_bound": float(best.min())}
        if obj == "max-throughput":
            return {"upper_bound": float(best.sum())}
        if obj == "proportional-fairness":
            return {"upper_bound": float(np.log(best).sum()) if (best > 0).all() else -math.inf}
    return {}
