"""Checkpoint/restore overhead presets of the ``online`` class: one definition that the validator
enforces and the simulator charges.

A running segment that begins with ``resume`` (restore from a checkpoint) or ``migrate`` (checkpoint,
move, restore) makes no progress for its first *overhead* seconds; a ``start`` costs nothing. The
instance parameter ``overhead_model`` chooses how long that is (sources in docs/simulator.md):

* ``fixed`` (default): ``preempt_overhead_s`` after each resume, ``migrate_overhead_s`` after each
  migration (both 0 by default);
* ``zero``: no overhead, as Gavel's, Blox's and Tiresias' simulators assume;
* ``helios``: 7 s for a 1-GPU job, 30 s for 2-8 GPUs, 60 s above 8 GPUs (Helios simulator);
* ``lucid``: 40 s up to 8 GPUs, 60 s above (Lucid simulator);
* ``pollux``: 30 s per reallocation, whatever the size (Pollux simulator);
* ``sia``: a restore time per model (:data:`SIA_RESTORE_S`, keyed by the job type's model name,
  the longest matching prefix wins; :data:`SIA_DEFAULT_S` for jobs of unknown type).

Resume and migrate cost the same under every preset except ``fixed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Names of the presets.
OVERHEAD_MODELS = ("fixed", "zero", "helios", "lucid", "pollux", "sia")

#: Seconds to restore a job of each model under the ``sia`` preset (longest prefix of the job type
#: wins). Derived, not measured: see docs/simulator.md for the rule (framework restart plus the
#: checkpoint read for the model's size) and for Sia's measured range they follow.
SIA_RESTORE_S: dict[str, float] = {
    "a3c": 15.0,
    "cyclegan": 20.0,
    "lstm-lm": 20.0,
    "recommendation": 20.0,
    "ncf": 20.0,
    "resnet18": 20.0,
    "resnet50": 25.0,
    "ssd": 25.0,
    "transformer-": 30.0,
    "gnmt": 35.0,
    "tacotron2": 35.0,
    "waveglow": 40.0,
    "bert-base": 45.0,
    "transformerxl-base": 45.0,
    "bert-large": 75.0,
    "transformerxl-large": 75.0,
}
#: ``sia`` restore time of a job whose type is unknown or not in :data:`SIA_RESTORE_S`.
SIA_DEFAULT_S = 30.0


def sia_restore_s(job_type: str | None) -> float:
    """The ``sia`` preset's restore time of one job type."""
    if not job_type:
        return SIA_DEFAULT_S
    best, value = -1, SIA_DEFAULT_S
    for prefix, secs in SIA_RESTORE_S.items():
        if job_type.startswith(prefix) and len(prefix) > best:
            best, value = len(prefix), secs
    return value


def job_overheads(
    params: Mapping[str, Any], gang: np.ndarray, job_type: Sequence[str | None] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per job the overhead (s) of a resume and of a migration under the instance's preset:
    two float arrays ``(n,)``."""
    model = str(params.get("overhead_model", "fixed"))
    gang = np.asarray(gang)
    n = len(gang)
    if model == "fixed":
        return (
            np.full(n, float(params.get("preempt_overhead_s", 0.0))),
            np.full(n, float(params.get("migrate_overhead_s", 0.0))),
        )
    if model == "zero":
        one = np.zeros(n)
    elif model == "helios":
        one = np.where(gang <= 1, 7.0, np.where(gang <= 8, 30.0, 60.0))
    elif model == "lucid":
        one = np.where(gang <= 8, 40.0, 60.0)
    elif model == "pollux":
        one = np.full(n, 30.0)
    elif model == "sia":
        types = job_type if job_type is not None else (None,) * n
        cache: dict[str | None, float] = {}
        one = np.fromiter((cache.setdefault(t, sia_restore_s(t)) for t in types), dtype=np.float64, count=n)
    else:
        raise ValueError(f"unknown overhead_model {model!r}; expected one of {list(OVERHEAD_MODELS)}")
    return one.astype(np.float64), one.astype(np.float64).copy()
