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

from schedbench.instances.model import Instance
from schedbench.simulator import Simulator
from schedbench.simulator.policy import ADMISSIONS, QueuePolicy, policy_from_params
from schedbench.simulator.predictors import PREDICTORS
from schedbench.solver import Context, Param, Solver, SolveResult

_ONLINE = ("mean-jct", "p99-jct", "makespan", "mean-bounded-slowdown", "deadline-miss-rate", "max-ftf")
_COMMON = (
    Param("predictor", str, "oracle", "processing times the policy sees: oracle (true), noisy, history",
          choices=PREDICTORS),
    Param("sigma", float, 0.5, "noisy predictor: sigma of the log-normal error factor", minimum=0.0),
    Param("history_prior_s", float, 3600.0, "history predictor: guess before any job finished (s)", minimum=0.0),
    Param("admission", str, "accept-all", "admission control layer", choices=ADMISSIONS),
    Param("max_queue", int, 100, "admission queue-length: waiting jobs allowed", minimum=0),
    Param("wait_estimate", str, "backlog", "admission wait-deadline: backlog or erlang-c",
          choices=("backlog", "erlang-c")),
)


class _PolicySolver(Solver):
    """A policy run through the simulator; subclasses set ``key`` and their extra parameters."""

    family = "policy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"online": _ONLINE}
    deterministic = True
    key: ClassVar[str] = "fifo"
    fixed: ClassVar[dict[str, Any]] = {}

    @classmethod
    def make_policy(cls, params: dict[str, Any]) -> QueuePolicy:
        """The policy object for resolved parameters."""
        return policy_from_params(cls.key, params, **cls.fixed)

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        params = self.resolve_params(context.params)
        sim = Simulator(instance, self.make_policy(params), predictor=params["predictor"], sigma=params["sigma"],
                        seed=context.seed, history_prior_s=params["history_prior_s"])
        res = sim.run()
        info = {"predictor": res.predictor, "simulation": res.status, "message": res.message,
                "wasted_gpu_seconds": res.wasted_gpu_seconds, "event_times": res.event_times,
                "simulation_seconds": res.wall_seconds}
        if res.stuck:
            info["stuck"] = res.stuck[:50]
        return SolveResult(res.solution(), "feasible" if res.status == "complete" else "unknown", info=info)


class Fcfs(_PolicySolver):
    name = "fcfs"
    params = _COMMON
    key = "fifo"
    description = "first come, first served, strict (the head of the queue blocks)"


class FcfsEasy(_PolicySolver):
    name = "fcfs-easy"
    params = _COMMON
    key = "fifo"
    fixed: ClassVar[dict[str, Any]] = {"backfill": "easy"}
    description = "FCFS with EASY backfilling on predicted times (free capacity indexed)"


class Sjf(_PolicySolver):
    name = "sjf"
    params = _COMMON
    key = "pred"
    description = "shortest (predicted) job first, non-preemptive"


class Srpt(_PolicySolver):
    name = "srpt"
    params = _COMMON
    key = "remaining"
    description = "shortest (predicted) remaining processing time, preemptive"


class Edf(_PolicySolver):
    name = "edf"
    params = (*_COMMON, Param("preemptive", bool, False, "a waiting job with an earlier deadline preempts"))
    key = "deadline"
    description = "earliest deadline first (jobs without one last)"


class Priority(_PolicySolver):
    name = "priority"
    params = (*_COMMON, Param("preemptive", bool, False, "a waiting job of higher priority preempts"),
              Param("tenant_weights", str, "", "tenant=weight,...: multiplies the job weight (default 1)"))
    key = "weight"
    description = "weighted priority: job weight x tenant weight, highest first"


class Las(_PolicySolver):
    name = "las"
    params = (*_COMMON, Param("quantum", float, 60.0, "seconds of attained-service difference that trigger a "
                              "preemption (time-slice of the discretised LAS)", minimum=1e-9))
    key = "attained"
    description = "least attained service (preemptive, discretised by a quantum)"


class Tiresias(_PolicySolver):
    name = "tiresias"
    params = (*_COMMON, Param("thresholds", str, "3600", "queue thresholds of attained GPU-seconds, comma-separated"))
    key = "tiresias"
    description = "Tiresias' discretised 2D-LAS (attained GPU-service queues, FIFO within a queue)"
