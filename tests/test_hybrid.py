"""The hierarchical hybrid policy: every planner's run validates, the planner's compute is reported,
latency charging delays the plan in simulated time, gang-less planners plan the 1-GPU jobs, bad
planners are refused, and the plugin contract."""

from __future__ import annotations

import pytest
from test_simulator import hetero
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.plugins.registry import get_registry
from schedbench.plugins.solver import Context
from schedbench.simulator import Simulator
from schedbench.validator import validate

pytest.importorskip("highspy")
import schedbench_solvers.hybrid as hy

PLANNERS = ["list-ect", "wspt", "sa", "lp-round", "ilp-highs", "cpsat", "ga"]


@pytest.mark.parametrize("planner", PLANNERS)
def test_every_planner_runs_in_the_loop_and_the_log_validates(planner: str) -> None:
    if not get_registry().get(planner).available:
        pytest.skip(f"{planner} is not installed here")
    inst = hetero(120, seed=9, overhead_model="helios")
    pol = hy.HybridPolicy(planner, budget_s=0.3, every_k=8, period_s=1800.0)
    res = Simulator(inst, pol).run()
    verdict = validate(inst, res.solution())
    assert res.status == "complete" and verdict.feasible, verdict.violations[:3]
    assert pol.plans > 0 and pol.plan_failures == 0 and pol.planned_jobs > 0
    assert pol.planner_seconds > 0
    assert verdict.metrics["preemptions"] == 0  # non-preemptive dispatcher


def test_gangless_planners_plan_the_single_gpu_jobs() -> None:
    inst = hetero(80, seed=3)
    assert (inst.jobs.gang > 1).any()
    pol = hy.HybridPolicy("lp-round", budget_s=0.5)
    res = Simulator(inst, pol).run()
    assert validate(inst, res.solution()).feasible and pol.plan_failures == 0


def test_latency_is_charged_in_simulated_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 10**9, 50))  # every perf_counter call 50 s later: each plan takes 50 s of wall time
    monkeypatch.setattr(hy.time, "perf_counter", lambda: float(next(clock)))
    inst = hetero(80, seed=3)
    slow = hy.HybridPolicy("wspt", charge_latency=True)
    res = Simulator(inst, slow).run()
    assert validate(inst, res.solution()).feasible
    assert slow.decisions and all(eff == pytest.approx(at + 50.0) for at, eff in slow.decisions)
    free = hy.HybridPolicy("wspt", charge_latency=False)
    Simulator(inst, free).run()
    assert all(eff == at for at, eff in free.decisions)


def test_planner_compute_is_in_the_solver_info() -> None:
    inst = hetero(60, seed=4)
    cls = get_registry().get("hybrid").load()
    out = cls().solve(inst, Context(time_limit=60.0, seed=1, params={"planner": "wspt"}))
    assert out.status == "feasible"
    assert out.info["planner"] == "wspt" and out.info["plans"] > 0 and out.info["planner_seconds"] > 0


@pytest.mark.parametrize("planner, msg", [("no-such-solver", "no-such-solver"), ("lp-allocation", "no batch")])
def test_bad_planners_are_refused(planner: str, msg: str) -> None:
    with pytest.raises(Exception, match=msg):
        hy.HybridPolicy(planner)


def test_contract() -> None:
    out = CliRunner().invoke(app, ["solvers", "test", "hybrid", "--time-limit", "30"])
    assert out.exit_code == 0, out.output
    assert "checks passed" in out.output and "FAIL" not in out.output
