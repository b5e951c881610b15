"""Solution documents built from GPU indices (the validator reads them back by id)."""

from __future__ import annotations

from typing import Any

import numpy as np

from schedbench.instances.model import Instance


def placement_doc(inst: Instance, chosen: list[np.ndarray | None]) -> dict[str, Any]:
    """A placement solution: job id -> GPU ids (``None`` for unplaced jobs)."""
    ids, gpus = inst.jobs.ids, inst.gpu_ids
    return {
        "problem": "placement",
        "assignment": {ids[j]: (None if g is None else [gpus[k] for k in g.tolist()]) for j, g in enumerate(chosen)},
    }


def batch_doc(inst: Instance, gpus: list[np.ndarray], start: np.ndarray) -> dict[str, Any]:
    """A batch solution: job id -> its GPU ids and start time."""
    ids = inst.gpu_ids
    return {
        "problem": "batch",
        "schedule": {
            jid: {"gpus": [ids[g] for g in gpus[j].tolist()], "start": float(start[j])}
            for j, jid in enumerate(inst.jobs.ids)
        },
    }
