"""Hierarchical hybrid policy: a static planner (any registered batch solver) in the simulator's loop.

``hybrid`` (family ``policy``): every ``period_s`` seconds of simulated time, and after every
``every_k`` arrivals, the policy turns the queue and the cluster into a static **batch** instance
and solves it in-process with the solver named by ``planner`` (``list-ect``, ``wspt``, ``edd``,
``ilp-highs``, ``cpsat``, ``ga``, ``sa``, ``lp-round``, ``convex-qp-wspt``...: through the
registry, under ``budget_s`` seconds per decision, seeded from the run's seed and the decision
count). The snapshot: each waiting job with its *predicted* remaining time per usable type, its
gang and weight 1; each running job with its predicted remaining time, eligible only on its current
type (so the planner sees that capacity as taken for that long); the cluster's nodes and GPUs;
releases 0 (the snapshot's time). The objective is ``weighted-completion`` (the mean completion
time of the snapshot), or ``makespan`` for planners that solve only that (``sa``, ``lp-round``).

The dynamic layer follows the plan: a waiting job planned on type ``t`` with planned start ``s``
starts when ``t`` has room and it is the earliest-planned waiting job of ``t``; a later job of ``t``
(planned, or arrived after the plan, on its fastest predicted type) may start now when it fits and
its predicted end is before the head's planned start (backfilling into the plan's gaps, which
early finishes open); a job whose planned type is full starts on another type that has room and no
planned job waiting (work conservation). Non-preemptive. A planner that declines gangs (``lp-round``,
``ilp-highs``: batch models of gang-1 jobs) plans the 1-GPU jobs and the dispatcher places gangs
in release order around them. A planner that declines or returns no
schedule leaves the previous order (counted in ``plan_failures``).

``charge_latency``: the planner's real wall time is charged as decision latency in simulated time:
the plan takes effect ``wall`` seconds after the decision (a timer), and until then the previous plan
is followed, so a slow exact planner pays for its slowness. ``info`` reports the planner's
compute (``planner_seconds``, ``plans``, ``plan_failures``, ``planned_jobs``).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance
from schedbench.instances.model import Instance
from schedbench.plugins.solver import Context, Param, SolveResult
from schedbench.simulator import Policy, View
from schedbench.simulator.engine import RUNNING, WAITING
from schedbench.simulator.solver import COMMON_PARAMS, PolicySolver


class HybridPolicy(Policy):
    """Planner in the loop (see the module docstring)."""

    def __init__(
        self,
        planner: str = "list-ect",
        *,
        period_s: float = 3600.0,
        every_k: int = 16,
        budget_s: float = 1.0,
        charge_latency: bool = False,
        seed: int = 0,
        **admission: Any,
    ) -> None:
        super().__init__(**admission)
        from schedbench.plugins.registry import get_registry

        entry = get_registry().get(planner)
        if not entry.available:
            raise ValueError(f"planner {planner!r} is not available here: {entry.reason}")
        objectives = entry.problems.get("batch")
        if not objectives:
            raise ValueError(f"planner {planner!r} solves no batch problem (it solves {sorted(entry.problems)})")
        self.objective = "weighted-completion" if "weighted-completion" in objectives else objectives[0]
        self.planner_cls = entry.load()
        self.planner = planner
        if not period_s > 0 or every_k < 1 or not budget_s > 0:
            raise ValueError("period_s and budget_s must be > 0 and every_k >= 1")
        self.period_s, self.every_k, self.budget_s = float(period_s), int(every_k), float(budget_s)
        self.charge_latency = bool(charge_latency)
        self.seed = int(seed)
        self.planner_seconds = 0.0
        self.plans = 0
        self.plan_failures = 0
        self.planned_jobs = 0
        self.failure_reason = ""
        self.decisions: list[tuple[float, float]] = []  # (decision time, time the plan takes effect)
        self._arrivals = 0
        self._next_plan = math.inf
        self._pending: tuple[float, dict[int, tuple[int, float]]] | None = None
        self.plan: dict[int, tuple[int, float]] = {}  # job -> (type, planned start, absolute time)
        self._timer_at = math.inf

    def setup(self, view: View) -> None:
        """Called once before the first event: size the policy's state for ``view``'s cluster and jobs."""
        super().setup(view)
        c = view.cluster
        self._types = tuple(GpuType(t, {"compute": 1.0}) for t in c.type_ids)
        nodes: dict[int, list[str]] = {}
        for g, k in enumerate(c.gpu_node):
            nodes.setdefault(k, []).append(c.gpu_ids[g])
        self._nodes = tuple(Node(f"n{k}", c.type_ids[c.node_type[k]], tuple(gs)) for k, gs in sorted(nodes.items()))
        self._gpu_type = {gid: c.gpu_type[g] for g, gid in enumerate(c.gpu_ids)}

    # ------------------------------------------------------------------ planning
    def _snapshot(self, view: View, single: bool = False) -> tuple[Instance, list[int]] | None:
        jobs = [j for j in view.waiting] + [j for j in view.running]
        if single:
            jobs = [j for j in jobs if view.gang[j] == 1]
        if not any(view.state[j] == WAITING for j in jobs):
            return None
        T = len(view.type_ids)
        n = len(jobs)
        time_ = np.full((n, T), np.nan)
        elig = np.zeros((n, T), dtype=bool)
        for i, j in enumerate(jobs):
            pred = view.pred[j]
            assert pred is not None
            left = view.remaining(j) / pred if pred > 0 else 1.0
            left = max(left, 1e-3)
            if view.state[j] == RUNNING:
                t = view.seg_type[j]
                ready_in = max(0.0, view.seg_ready[j] - view.now)  # restore overhead still to come
                time_[i, t] = max(view.pred_types[j][t] * left + ready_in, 1e-3)
                elig[i, t] = True
            else:
                for t, p in view.pred_types[j].items():
                    time_[i, t] = max(p * left, 1e-3)
                    elig[i, t] = True
        gang = np.asarray([view.gang[j] for j in jobs], dtype=np.int64)
        built = Jobs.build(
            [f"j{j}" for j in jobs],
            np.ones((n, T, 1)),
            eligible=elig,
            gang=gang,
            time=time_,
            release=np.zeros(n),
            weight=np.ones(n),
        )
        inst = make_instance(
            resources=(Resource("compute"),),
            gpu_types=self._types,
            nodes=self._nodes,
            jobs=built,
            problem=Problem("batch", self.objective, {"allow_multi_node": view.cluster.multi_node}),
            metadata={"name": f"snapshot-{self.plans}"},
        )
        return inst, jobs

    def _make_plan(self, view: View) -> None:
        snap = self._snapshot(view)
        self._arrivals = 0
        if snap is None:
            return
        inst, jobs = snap
        if self.planner_cls.unsupported_reason(inst) is not None and (inst.jobs.gang > 1).any():
            snap = self._snapshot(view, single=True)  # a planner without gangs plans the 1-GPU jobs
            if snap is None:
                return
            inst, jobs = snap
        solver = self.planner_cls()
        params = self.planner_cls.resolve_params({})
        ctx = Context(time_limit=self.budget_s, seed=self.seed * 1_000_003 + self.plans, params=params, threads=1)
        t0 = time.perf_counter()
        try:
            out = solver.solve(inst, ctx)
            res: SolveResult | None = out if isinstance(out, SolveResult) else SolveResult(out, "feasible")
        except Exception:
            res = None
        wall = time.perf_counter() - t0
        self.planner_seconds += wall
        self.plans += 1
        sched = (res.solution or {}).get("schedule") if res is not None and res.solution else None
        if not sched:
            self.plan_failures += 1
            self.failure_reason = "planner raised" if res is None else str(res.info.get("reason", res.status))[:200]
            return
        plan: dict[int, tuple[int, float]] = {}
        for j in jobs:
            entry = sched.get(f"j{j}")
            if entry is None or view.state[j] != WAITING:
                continue
            plan[j] = (self._gpu_type[entry["gpus"][0]], float(entry["start"]))
        self.planned_jobs += len(plan)
        self.decisions.append((view.now, view.now + (wall if self.charge_latency else 0.0)))
        if self.charge_latency and wall > 0:
            self._pending = (view.now + wall, plan)
            self._arm(view, view.now + wall)
        else:
            self._install(view.now, plan)

    def _install(self, at: float, plan: dict[int, tuple[int, float]]) -> None:
        self.plan = {j: (t, at + s) for j, (t, s) in plan.items()}

    def _arm(self, view: View, at: float) -> None:
        if at < self._timer_at:
            self._timer_at = at
            view.set_timer(at)

    # ------------------------------------------------------------------ callbacks
    def on_arrival(self, view: View, j: int) -> None:
        """Count the arrival: ``every_k`` arrivals trigger a new plan at the next :meth:`schedule`."""
        self._arrivals += 1

    def on_timer(self, view: View) -> None:
        """Install a plan whose (charged) planning latency has elapsed; re-plan when the period is due."""
        self._timer_at = math.inf
        if self._pending is not None and self._pending[0] <= view.now + 1e-9:
            self._install(self._pending[0], self._pending[1])
            self._pending = None
        if view.now >= self._next_plan - 1e-9:
            self._next_plan = math.inf

    def schedule(self, view: View) -> None:
        """Plan when due, then dispatch the waiting jobs the plan assigns and backfill around them."""
        if view.waiting and (self._arrivals >= self.every_k or self._next_plan == math.inf):
            self._make_plan(view)
            self._next_plan = view.now + self.period_s
        if view.waiting and self._next_plan < math.inf:
            self._arm(view, self._next_plan)
        if self._pending is not None:
            self._arm(view, self._pending[0])
        self._dispatch(view)

    def _dispatch(self, view: View) -> None:
        if not view.waiting:
            return
        now = view.now
        plan = self.plan
        # per type: the waiting planned jobs in planned-start order
        heads: dict[int, tuple[float, int]] = {}
        for j in view.waiting:
            p = plan.get(j)
            if p is not None and (p[0] not in heads or (p[1], j) < heads[p[0]]):
                heads[p[0]] = (p[1], j)
        order = sorted(view.waiting, key=lambda j: (plan[j][1] if j in plan else math.inf, view.release[j], j))
        for j in order:
            g = view.gang[j]
            p = plan.get(j)
            types = view.pred_types[j]
            assert types is not None and g is not None
            cand = [p[0]] if p is not None else []
            cand += [t for t in types if t not in cand]
            for t in cand:
                if not view.cluster.fits(t, g):
                    continue
                head = heads.get(t)
                own = p is not None and p[0] == t
                if head is None or head[1] == j or (own and p is not None and head[0] >= p[1]):
                    ok = True
                else:  # backfill: ends (predicted) before the head of t is planned to start
                    ok = now + types[t] * (view.remaining(j) / view.pred[j]) <= head[0] + 1e-9
                if ok:
                    view.start(j, gpu_type=t)
                    if head is not None and head[1] == j:
                        del heads[t]
                    break


HYBRID_PARAMS = (
    *COMMON_PARAMS,
    Param(
        "planner",
        str,
        "list-ect",
        "registered batch solver used as the planner (list-ect, wspt, ilp-highs, cpsat, ga, sa, lp-round, ...)",
    ),
    Param("period_s", float, 3600.0, "re-plan every this many simulated seconds", minimum=1e-6),
    Param("every_k", int, 16, "re-plan after this many arrivals", minimum=1),
    Param("budget_s", float, 1.0, "planner time limit per decision (wall seconds)", minimum=1e-3),
    Param("charge_latency", bool, False, "the plan takes effect after the planner's wall time (simulated)"),
)


class Hybrid(PolicySolver):
    """Hierarchical hybrid: a batch solver plans queue snapshots, a dispatcher follows them (``hybrid``)."""

    name = "hybrid"
    params = HYBRID_PARAMS
    description = "hierarchical hybrid: a batch solver plans queue snapshots, a dispatcher follows and backfills"
    deterministic = False  # the planner's wall time decides what an anytime planner returns under its budget

    @classmethod
    def make_policy(cls, params: dict[str, Any], seed: int = 0) -> Policy:
        """The dispatching policy for ``params`` (the planner and its budget) and ``seed``."""
        return HybridPolicy(
            params["planner"],
            period_s=params["period_s"],
            every_k=params["every_k"],
            budget_s=params["budget_s"],
            charge_latency=params["charge_latency"],
            seed=seed,
            admission=params["admission"],
            max_queue=params["max_queue"],
            wait_estimate=params["wait_estimate"],
        )

    def policy_for(self, params: dict[str, Any], seed: int) -> Policy:
        """The hybrid policy, its planner seeded by the run's seed."""
        return self.make_policy(params, seed=seed)

    def policy_info(self, policy: Policy) -> dict[str, Any]:
        """The planner's figures: name, objective, time, plans, failures, planned jobs."""
        assert isinstance(policy, HybridPolicy)
        info: dict[str, Any] = {
            "planner": policy.planner,
            "planner_objective": policy.objective,
            "planner_seconds": policy.planner_seconds,
            "plans": policy.plans,
            "plan_failures": policy.plan_failures,
            "planned_jobs": policy.planned_jobs,
        }
        if policy.failure_reason:
            info["plan_failure_reason"] = policy.failure_reason
        return info
