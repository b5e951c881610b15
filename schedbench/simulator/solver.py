"""The solver plugin side of simulator policies: :class:`PolicySolver` runs a policy in the
simulator and returns the event log, so that campaigns, reports and contract tests apply.

Subclass it with a ``name`` and ``params`` (start from :data:`COMMON_PARAMS`) and either a ``key``
of :class:`~schedbench.simulator.policy.QueuePolicy` or your own ``make_policy``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, Solver, SolveResult
from schedbench.simulator.engine import Simulator
from schedbench.simulator.policy import ADMISSIONS, Policy, policy_from_params
from schedbench.simulator.predictors import PREDICTORS

ONLINE_OBJECTIVES = ("mean-jct", "p99-jct", "makespan", "mean-bounded-slowdown", "deadline-miss-rate", "max-ftf")
COMMON_PARAMS = (
    Param(
        "predictor",
        str,
        "oracle",
        "processing times the policy sees: oracle (true), noisy, history",
        choices=PREDICTORS,
    ),
    Param("sigma", float, 0.5, "noisy predictor: sigma of the log-normal error factor", minimum=0.0),
    Param("history_prior_s", float, 3600.0, "history predictor: guess before any job finished (s)", minimum=0.0),
    Param("admission", str, "accept-all", "admission control layer", choices=ADMISSIONS),
    Param("max_queue", int, 100, "admission queue-length: waiting jobs allowed", minimum=0),
    Param(
        "wait_estimate", str, "backlog", "admission wait-deadline: backlog or erlang-c", choices=("backlog", "erlang-c")
    ),
)


class PolicySolver(Solver):
    """A policy run through the simulator; subclasses set ``key`` and their extra parameters."""

    family = "policy"
    version = "1"
    problems: ClassVar[dict[str, tuple[str, ...]]] = {"online": ONLINE_OBJECTIVES}
    deterministic = True
    key: ClassVar[str] = "fifo"
    fixed: ClassVar[dict[str, Any]] = {}

    @classmethod
    def make_policy(cls, params: dict[str, Any]) -> Policy:
        """The policy object for resolved parameters (override for a policy of your own)."""
        return policy_from_params(cls.key, params, **cls.fixed)

    def policy_for(self, params: dict[str, Any], seed: int) -> Policy:
        """The policy of one run (default :meth:`make_policy`; override when it needs the run's seed)."""
        return self.make_policy(params)

    def policy_info(self, policy: Policy) -> dict[str, Any]:
        """Entries about the run's policy added to the answer's info after the simulation's (default none)."""
        return {}

    def solve(self, instance: Instance, context: Context) -> SolveResult:
        """Simulate the instance under the policy; the answer is the simulation's event log."""
        params = self.resolve_params(context.params)
        policy = self.policy_for(params, context.seed)
        res = Simulator(
            instance,
            policy,
            predictor=params["predictor"],
            sigma=params["sigma"],
            seed=context.seed,
            history_prior_s=params["history_prior_s"],
        ).run()
        info = {
            "predictor": res.predictor,
            "simulation": res.status,
            "message": res.message,
            "wasted_gpu_seconds": res.wasted_gpu_seconds,
            "event_times": res.event_times,
            "simulation_seconds": res.wall_seconds,
            **self.policy_info(policy),
        }
        if res.stuck:
            info["stuck"] = res.stuck[:50]
        return SolveResult(res.solution(), "feasible" if res.status == "complete" else "unknown", info=info)
