"""Round-based (Gavel-style) policies: the kept allocation LP equals a fresh one and the validator's
allocation objective, Dantzig-Wolfe equals the LP, FTF bisection meets its bound, every log
validates (aware and agnostic, every predictor, overheads charged), awareness helps on a
heterogeneous cluster, the fluid ideal mode, and the plugin contract."""

from __future__ import annotations

import numpy as np
import pytest
from test_simulator import hetero
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.plugins.registry import get_registry
from schedbench.simulator import Simulator
from schedbench.validator import validate

pytest.importorskip("highspy")
from schedbench_solvers.rounds import OBJECTIVES, AllocationLP, Allocator, ideal_run, maxmin_dw

ROUND_POLICIES = ("gavel-las", "gavel-ftf", "gavel-throughput", "gavel-makespan", "gavel-fifo")
COUNTS = np.array([36.0, 36.0, 36.0])


def _jobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k80 = rng.lognormal(-8.0, 1.0, n)
    thr = np.stack([k80, k80 * rng.uniform(1.5, 4.0, n), k80 * rng.uniform(2.0, 7.0, n)], axis=1)
    thr[rng.random((n, 3)) < 0.1] = 0.0  # some types unusable
    thr[thr.sum(axis=1) == 0, 2] = 1e-3
    return thr, rng.choice([1.0, 1.0, 2.0, 4.0, 8.0], n)


def _z(x: dict[int, np.ndarray], jobs: list[int], thr: np.ndarray, eq: np.ndarray) -> float:
    X = np.stack([x[j] for j in jobs])
    return float(((X * thr).sum(axis=1) / eq).min())


def _feasible(x: dict[int, np.ndarray], jobs: list[int], thr: np.ndarray, gang: np.ndarray) -> None:
    X = np.stack([x[j] for j in jobs])
    assert (X >= -1e-12).all() and (X.sum(axis=1) <= 1 + 1e-9).all()
    assert (gang @ X <= COUNTS * (1 + 1e-7)).all()
    assert (X[thr == 0] <= 1e-12).all()


def test_kept_lp_equals_fresh_lp_after_arrivals_and_departures() -> None:
    thr, gang = _jobs(400, 1)
    kept = Allocator("las", COUNTS, dw_min_jobs=10**9)
    rng = np.random.default_rng(2)
    active = list(range(120))
    nxt = 120
    for r in range(6):
        drop = set(rng.choice(len(active), 10, replace=False).tolist())
        active = sorted([j for i, j in enumerate(active) if i not in drop] + list(range(nxt, nxt + 12 + 30 * (r == 3))))
        nxt += 12 + 30 * (r == 3)
        ja = np.asarray(active)
        eq = kept.equal_share(thr[ja], gang[ja])
        xk = kept.allocate(0.0, active, thr[ja], gang[ja], np.ones(len(ja)), np.zeros(len(ja)))
        xf = Allocator("las", COUNTS, dw_min_jobs=10**9).allocate(
            0.0, active, thr[ja], gang[ja], np.ones(len(ja)), np.zeros(len(ja))
        )
        _feasible(xk, active, thr[ja], gang[ja])
        assert _z(xk, active, thr[ja], eq) == pytest.approx(_z(xf, active, thr[ja], eq), rel=1e-7)
    assert kept.lp is not None and 64 * 2 ** (kept.lp.rebuilds - 1) == kept.lp.S  # rebuilt only to grow


def test_las_matches_the_lp_allocation_solver_objective() -> None:
    """The round LP's max-min value equals ``lp-allocation`` on the same jobs (the validator's rho)."""
    from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance
    from schedbench.validator.allocation import allocation_objective

    thr, gang = _jobs(60, 4)
    time = np.where(thr > 0, 1.0 / np.where(thr > 0, thr, 1.0), np.nan)
    types = tuple(GpuType(t, {"compute": 1.0}) for t in ("K80", "P100", "V100"))
    nodes = tuple(
        Node(f"{t}{k}", t, tuple(f"{t}{k}/{g}" for g in range(4))) for t in ("K80", "P100", "V100") for k in range(9)
    )
    jobs = Jobs.build(
        [f"j{i}" for i in range(60)], np.full((60, 3, 1), 1.0), eligible=thr > 0, gang=gang.astype(np.int64), time=time
    )
    inst = make_instance(
        resources=(Resource("compute"),),
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("allocation", "max-min-fairness", {}),
        metadata={"name": "mmf"},
    )
    sol = get_registry().get("lp-allocation").load()().solve(inst, _ctx())
    ref = sol.solution["objective"]
    x = Allocator("las", COUNTS, dw_min_jobs=10**9).allocate(0.0, list(range(60)), thr, gang, np.ones(60), np.zeros(60))
    X = np.stack([x[j] for j in range(60)])
    _, mine = allocation_objective(inst, X)
    assert mine == pytest.approx(ref, rel=1e-6)


def _ctx():
    from schedbench.plugins.solver import Context

    return Context(time_limit=30.0, seed=0, threads=1, params={})


@pytest.mark.parametrize("n", [300, 2000])
def test_dantzig_wolfe_equals_the_lp(n: int) -> None:
    thr, gang = _jobs(n, n)
    a = Allocator("las", COUNTS)
    eq = a.equal_share(thr, gang)
    x = maxmin_dw(thr, gang, eq, COUNTS)
    assert x is not None
    xd = dict(enumerate(x))
    _feasible(xd, list(range(n)), thr, gang)
    lp = Allocator("las", COUNTS, dw_min_jobs=10**9).allocate(0.0, list(range(n)), thr, gang, np.ones(n), np.zeros(n))
    assert _z(xd, list(range(n)), thr, eq) == pytest.approx(_z(lp, list(range(n)), thr, eq), rel=1e-6)


def test_dantzig_wolfe_declines_when_the_per_job_limit_binds() -> None:
    thr, _ = _jobs(5, 9)  # 5 jobs on 108 GPUs: every job would want more than all of its time
    a = Allocator("las", COUNTS)
    assert maxmin_dw(thr, np.ones(5), a.equal_share(thr, np.ones(5)), COUNTS) is None


def test_ftf_bisection_reaches_its_bound_and_every_objective_is_feasible() -> None:
    thr, gang = _jobs(80, 5)
    rng = np.random.default_rng(6)
    left, since, now = rng.uniform(0.1, 1.0, 80), rng.uniform(0, 5000, 80), 6000.0
    jobs = list(range(80))
    for obj in OBJECTIVES:
        for aware in (True, False):
            al = Allocator(obj, COUNTS, aware=aware)
            x = al.allocate(now, jobs, thr, gang, left, since)
            _feasible(x, jobs, thr, gang)
    al = Allocator("ftf", COUNTS)
    x = al.allocate(now, jobs, thr, gang, left, since)
    X = np.stack([x[j] for j in jobs])
    eq = al.equal_share(thr, gang)
    t = now - since
    rho = (t + left / (X * thr).sum(axis=1)) / (t + left / eq)
    assert rho.max() <= al._z_prev * (1 + 1e-5) and rho.max() <= 1.0 + 1e-6  # never worse than the equal share


def test_makespan_objective_balances_remaining_time() -> None:
    thr, gang = _jobs(50, 8)
    left = np.linspace(0.1, 1.0, 50)
    x = Allocator("makespan", COUNTS).allocate(0.0, list(range(50)), thr, gang, left, np.zeros(50))
    X = np.stack([x[j] for j in range(50)])
    finish = left / (X * thr).sum(axis=1)
    eqx = Allocator("las", COUNTS).allocate(0.0, list(range(50)), thr, gang, left, np.zeros(50))
    fe = left / (np.stack([eqx[j] for j in range(50)]) * thr).sum(axis=1)
    assert finish.max() <= fe.max() * (1 + 1e-6)


def test_allocation_lp_slots_are_reused() -> None:
    lp = AllocationLP(COUNTS, "maxmin", slots=8)
    for j in range(8):
        lp.set_job(j, np.array([1.0, 2.0, 3.0]), 1.0, 1.0)
    lp.drop_job(3)
    lp.set_job(99, np.array([1.0, 0.0, 2.0]), 2.0, 1.0)
    assert lp.slot_of[99] == 3 and lp.rebuilds == 1
    x = lp.solve()
    assert x[99][1] == 0.0 and set(x) == set(range(8)) - {3} | {99}


@pytest.mark.parametrize("name", ROUND_POLICIES)
@pytest.mark.parametrize("aware", [True, False])
def test_every_log_validates(name: str, aware: bool) -> None:
    inst = hetero(200, seed=11, overhead_model="helios", allow_multi_node=True)
    cls = get_registry().get(name).load()
    p = cls.resolve_params({"aware": aware, "predictor": "noisy", "sigma": 0.5})
    res = Simulator(inst, cls.make_policy(p), predictor="noisy", sigma=0.5, seed=3).run()
    verdict = validate(inst, res.solution())
    assert res.status == "complete"
    assert verdict.feasible, verdict.violations[:3]
    m = verdict.metrics
    assert m["finished"] == 200
    assert m["wasted_gpu_seconds"] == pytest.approx(res.wasted_gpu_seconds, rel=1e-12, abs=1e-9)
    if name != "gavel-fifo":
        assert m["preemptions"] > 0 and m["wasted_gpu_seconds"] > 0  # rounds move jobs and pay for it


@pytest.mark.parametrize("predictor", ["oracle", "history"])
def test_predictors_drive_the_rounds(predictor: str) -> None:
    inst = hetero(150, seed=5)
    cls = get_registry().get("gavel-las").load()
    p = cls.resolve_params({"predictor": predictor})
    res = Simulator(inst, cls.make_policy(p), predictor=predictor, seed=0).run()
    assert res.status == "complete" and res.predictor == predictor
    assert validate(inst, res.solution()).feasible


def test_awareness_lowers_mean_jct_on_a_heterogeneous_cluster() -> None:
    inst = hetero(400, seed=9)
    jct = {}
    for aware in (True, False):
        from schedbench_solvers.rounds import RoundPolicy

        res = Simulator(inst, RoundPolicy("las", aware=aware)).run()
        jct[aware] = validate(inst, res.solution()).metrics["jct_mean"]
    assert jct[True] < jct[False]


def test_round_length_sets_the_round_count() -> None:
    from schedbench_solvers.rounds import RoundPolicy

    inst = hetero(100, seed=2)
    short, long_ = RoundPolicy("las", round_s=60.0), RoundPolicy("las", round_s=3600.0)
    Simulator(inst, short).run()
    Simulator(inst, long_).run()
    assert short.rounds > 5 * long_.rounds


def test_no_preemption_instance_keeps_running_jobs() -> None:
    from schedbench_solvers.rounds import RoundPolicy

    inst = hetero(100, seed=5, allow_preemption=False)
    res = Simulator(inst, RoundPolicy("las")).run()
    verdict = validate(inst, res.solution())
    assert res.status == "complete" and verdict.feasible and verdict.metrics["preemptions"] == 0


def test_ideal_mode_is_a_fluid_reference() -> None:
    inst = hetero(150, seed=5)
    out = ideal_run(inst, "las")
    assert np.isfinite(out["jct"]).all()
    best = np.nanmin(np.where(inst.jobs.eligible, inst.jobs.time, np.nan), axis=1)
    assert (out["jct"] >= best * (1 - 1e-9)).all()  # no job faster than alone on its best type
    assert out["makespan"] >= float(inst.jobs.release.max())


@pytest.mark.parametrize("name", ROUND_POLICIES)
def test_contract(name: str) -> None:
    out = CliRunner().invoke(app, ["solvers", "test", name, "--time-limit", "30"])
    assert out.exit_code == 0, out.output
    assert "all 6 checks passed" in out.output


def test_hetero_online_preset_mixes_the_five_families() -> None:
    from schedbench.catalogue.build import load_catalogue
    from schedbench.generators import generate
    from schedbench.generators.presets import resolve

    inst = generate("online", resolve("online", "hetero-online", {"jobs": 300}), seed=1)
    cat = load_catalogue()
    families = {cat.job_types[t].family for t in inst.jobs.job_type}
    assert families == {"cnn", "rnn", "gan", "transformer", "recommendation"}
    assert inst.type_ids == ("K80", "P100", "V100") and inst.n_gpus == 108
    t = inst.jobs.time
    both = np.isfinite(t[:, 0]) & np.isfinite(t[:, 2])  # some jobs do not fit a K80's memory
    assert both.any() and (t[both, 2] < t[both, 0]).all()  # per-type throughputs: V100 faster than K80
