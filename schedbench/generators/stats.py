"""Figures a reviewer asks about a generated instance, computed from its jobs.

* GPU-time share by job size: ``sum(gang x D) / total`` per GPU count, with ``D`` the job's run time
  on the reference GPU type (its drawn duration), compared with the trace's share over the GPU
  counts the cluster can run (the same subset the generator draws from).
* Duration quantiles of the instance against those of the model it was drawn from.
* Figures by provenance: how many (job, GPU type) memory and compute figures were measured,
  estimated by formula, or filled by a fallback.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Probabilities of the duration quantiles reported.
QUANTILE_P = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{float(x):.{digits}g}")


def gpu_time_share(gang: np.ndarray, duration: np.ndarray) -> dict[str, float]:
    """Share of GPU time (``gang x duration``) per GPU count, keys as strings, 6 significant digits."""
    gang = np.asarray(gang, dtype=np.int64)
    gt = gang * np.asarray(duration, dtype=np.float64)
    total = gt.sum()
    if total <= 0:
        return {}
    return {str(int(v)): _sig(gt[gang == v].sum() / total) for v in np.unique(gang)}


def duration_quantiles(duration: np.ndarray) -> list[float]:
    """Durations at the probabilities :data:`QUANTILE_P`, 6 significant digits."""
    return [_sig(v) for v in np.quantile(np.asarray(duration, dtype=np.float64), QUANTILE_P)]


def job_stats(
    gang: np.ndarray, duration: np.ndarray, joint: Any | None, duration_model: Any | None, trace: str | None
) -> dict[str, Any]:
    """The ``metadata.stats.jobs`` block: realised GPU-time shares by job size and duration
    quantiles, with the reference figures of the trace model when the jobs came from one."""
    out: dict[str, Any] = {
        "gpu_time_share_by_gpus": gpu_time_share(gang, duration),
        "job_share_by_gpus": {str(int(v)): _sig(np.mean(gang == v)) for v in np.unique(gang)},
        "duration_quantiles": {"p": list(QUANTILE_P), "instance": duration_quantiles(duration)},
    }
    if joint is not None:
        out["reference"] = {
            "trace": trace,
            "model": "joint (GPUs, duration) pairs",
            "subset": f"GPU counts <= {int(joint.values.max())} (the counts the cluster can run)",
            "gpu_time_share_by_gpus": {str(k): _sig(v) for k, v in joint.gpu_time_share().items()},
            "job_share_by_gpus": {str(int(v)): _sig(p) for v, p in zip(joint.values, joint.pmf, strict=True)},
        }
        out["duration_quantiles"]["model"] = [_sig(v) for v in joint.marginal_quantile(QUANTILE_P)]
    elif duration_model is not None:
        out["duration_quantiles"]["model"] = [_sig(v) for v in duration_model.quantile(QUANTILE_P)]
    return out
