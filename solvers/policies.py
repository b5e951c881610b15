"""Online scheduling policies (family ``policy``), each run by the event-driven simulator
(:mod:`schedbench.simulator`): the answer is the simulated event log, graded by the validator.

One implementation, :class:`~schedbench.simulator.policy.QueuePolicy`, registered under several
names with its key and defaults: ``fcfs`` (strict), ``fcfs-easy`` (EASY backfilling), ``sjf``
(predicted size, non-preemptive), ``srpt`` (predicted remaining time, preemptive), ``edf``
(deadline), ``priority`` (job weight x tenant weight), ``las`` (least attained service, preemptive,
``quantum``) and ``tiresias`` (discretised 2D-LAS, ``thresholds`` in GPU-seconds). Every policy
takes the predictor (``oracle``: true times, ``noisy``: log-normal error ``sigma``, ``history``:
means of finished jobs) and the admission-control layer (``admission``, ``max_queue``,
``wait_estimate``). The run's seed seeds the noisy predictor. A starved run (jobs left waiting
for ever) returns the partial log with status ``unknown`` and the jobs named in ``info``; an
impossible decision or a policy exception is an error.
"""

from __future__ import annotations

from typing import Any, ClassVar

from schedbench.plugins.solver import Param
from schedbench.simulator.solver import COMMON_PARAMS, PolicySolver


class Fcfs(PolicySolver):
    """First come, first served (``fcfs``)."""

    name = "fcfs"
    params = COMMON_PARAMS
    key = "fifo"
    description = "first come, first served, strict (the head of the queue blocks)"


class FcfsEasy(PolicySolver):
    """FCFS with EASY backfilling (``fcfs-easy``)."""

    name = "fcfs-easy"
    params = COMMON_PARAMS
    key = "fifo"
    fixed: ClassVar[dict[str, Any]] = {"backfill": "easy"}
    description = "FCFS with EASY backfilling on predicted times (free capacity indexed)"


class Sjf(PolicySolver):
    """Shortest predicted job first (``sjf``)."""

    name = "sjf"
    params = COMMON_PARAMS
    key = "pred"
    description = "shortest (predicted) job first, non-preemptive"


class Srpt(PolicySolver):
    """Shortest predicted remaining time, preemptive (``srpt``)."""

    name = "srpt"
    params = COMMON_PARAMS
    key = "remaining"
    description = "shortest (predicted) remaining processing time, preemptive"


class Edf(PolicySolver):
    """Earliest deadline first (``edf``)."""

    name = "edf"
    params = (*COMMON_PARAMS, Param("preemptive", bool, False, "a waiting job with an earlier deadline preempts"))
    key = "deadline"
    description = "earliest deadline first (jobs without one last)"


class Priority(PolicySolver):
    """Weighted priority (``priority``)."""

    name = "priority"
    params = (
        *COMMON_PARAMS,
        Param("preemptive", bool, False, "a waiting job of higher priority preempts"),
        Param("tenant_weights", str, "", "tenant=weight,...: multiplies the job weight (default 1)"),
    )
    key = "weight"
    description = "weighted priority: job weight x tenant weight, highest first"


class Las(PolicySolver):
    """Least attained service (``las``)."""

    name = "las"
    params = (
        *COMMON_PARAMS,
        Param(
            "quantum",
            float,
            60.0,
            "seconds of attained-service difference that trigger a preemption (time-slice of the discretised LAS)",
            minimum=1e-9,
        ),
    )
    key = "attained"
    description = "least attained service (preemptive, discretised by a quantum)"


class Tiresias(PolicySolver):
    """Tiresias' discretised 2D-LAS (``tiresias``)."""

    name = "tiresias"
    params = (
        *COMMON_PARAMS,
        Param("thresholds", str, "3600", "queue thresholds of attained GPU-seconds, comma-separated"),
    )
    key = "tiresias"
    description = "Tiresias' discretised 2D-LAS (attained GPU-service queues, FIFO within a queue)"
