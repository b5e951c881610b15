"""convex-allocation and convex-qp-wspt (cvxpy): answers validated, cross-checked with lp-allocation,
certified bounds checked against brute force and independent solves."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from factories import feasible_allocation
from schedbench_solvers import _cvx
from schedbench_solvers.convex import (
    AllocationProgram,
    ConvexAllocation,
    ConvexQpWspt,
    WsptQp,
    allocation_pairs,
    allocation_program,
)
from schedbench_solvers.lp import LpAllocation

from schedbench.generators import generate
from schedbench.instances import GpuType, Instance, Jobs, Node, Problem, Resource, load, make_instance
from schedbench.plugins.solver import Context
from schedbench.validator import validate

cp = pytest.importorskip("cvxpy")
pytest.importorskip("highspy")

SMOKE = Path(__file__).resolve().parents[1] / "instances" / "smoke"


def run(cls, inst: Instance, seed: int = 0, **params):
    return cls().solve(inst, Context(30, seed, cls.resolve_params(params)))


def checked(inst: Instance, res) -> float:
    """Validate the answer; it must be feasible and its claimed objective the validator's."""
    assert res.solution is not None, res.info
    v = validate(inst, res.solution)
    assert v.feasible, v.violations
    assert v.objective == pytest.approx(res.solution["objective"], rel=1e-9, abs=1e-9)
    return float(v.objective)


def with_objective(inst: Instance, objective: str) -> Instance:
    return make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=inst.jobs,
        problem=Problem(inst.problem.cls, objective),
        metadata={"name": inst.name},
    )


def gang_allocation(seed: int, objective: str, n: int = 40) -> Instance:
    """Generated Gavel-style allocation instance (gangs 1/2/4, 108 GPUs of 3 types)."""
    return generate("allocation", {"objective": objective, "cluster": "gavel", "mix": "gavel", "jobs": n}, seed=seed)


# ---------------------------------------------------------------------------------- convex-allocation
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("objective", ["max-min-fairness", "max-throughput"])
def test_allocation_agrees_with_lp_allocation(seed, objective):
    instances = [feasible_allocation(seed, objective, n=12)[0], gang_allocation(seed, objective)]
    for inst in instances:
        lp = run(LpAllocation, inst, method="simplex")
        lp_value = checked(inst, lp)
        for backend in ("clarabel", "ecos", "highs"):
            res = run(ConvexAllocation, inst, solver=backend)
            value = checked(inst, res)
            assert value == pytest.approx(lp_value, rel=1e-6), backend
            # the certified bound is a true upper bound (>= the exact LP optimum) and tight
            assert res.bound >= lp_value - 1e-9 * max(1.0, lp_value), backend
            assert res.bound <= lp_value * (1 + 1e-6) + 1e-9, backend
            assert res.status == "optimal"
            assert {"build_s", "compile_s", "solve_s"} <= set(res.info)


def test_allocation_smoke_instances_with_gangs():
    for path in sorted(SMOKE.glob("allocation-*.json")):
        inst = load(path)
        for objective in ("max-min-fairness", "proportional-fairness"):
            target = with_objective(inst, objective)
            res = run(ConvexAllocation, target)
            checked(target, res)
            assert res.bound is not None and res.bound >= res.solution["objective"] - 1e-12


def test_scs_answers_are_feasible():
    inst, _ = feasible_allocation(4, "max-min-fairness", n=12)
    res = run(ConvexAllocation, inst, solver="scs")
    assert checked(inst, res) == pytest.approx(checked(inst, run(LpAllocation, inst)), rel=1e-5)


def _scipy_pf(inst: Instance) -> float:
    """Proportional fairness by a direct scipy solve (SLSQP on the pair shares)."""
    from scipy.optimize import minimize

    pj, pt, coef = allocation_pairs(inst)
    n, K, T = inst.n_jobs, len(pj), len(inst.gpu_types)
    gang = inst.jobs.gang.astype(float)
    counts = inst.gpus_per_type.astype(float)

    def rho(x):
        return np.bincount(pj, coef * x, minlength=n)

    def f(x):
        return -np.log(np.maximum(rho(x), 1e-300)).sum()

    def grad(x):
        return -coef / rho(x)[pj]

    A_job = np.zeros((n, K))
    A_job[pj, np.arange(K)] = 1.0
    A_cap = np.zeros((T, K))
    A_cap[pt, np.arange(K)] = gang[pj]
    cons = [
        {"type": "ineq", "fun": lambda x: 1.0 - A_job @ x, "jac": lambda x: -A_job},
        {"type": "ineq", "fun": lambda x: counts - A_cap @ x, "jac": lambda x: -A_cap},
    ]
    x0 = np.full(K, 1e-3)
    out = minimize(
        f,
        x0,
        jac=grad,
        bounds=[(1e-12, 1.0)] * K,
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    assert out.success, out.message
    return -float(out.fun)


@pytest.mark.parametrize("seed", range(3))
def test_proportional_fairness_matches_a_direct_scipy_solve(seed):
    inst, _ = feasible_allocation(seed, "proportional-fairness", n=8)
    direct = _scipy_pf(inst)
    for backend in ("clarabel", "ecos"):
        res = run(ConvexAllocation, inst, solver=backend)
        value = checked(inst, res)
        assert value == pytest.approx(direct, abs=1e-6)
        assert res.bound >= direct - 1e-9  # certified upper bound
        assert res.bound - value <= 1e-4


def test_proportional_fairness_is_invariant_to_job_scales():
    """Scaling a job's throughput adds a constant to its log: the optimal shares' rho is unchanged."""
    inst, _ = feasible_allocation(5, "proportional-fairness", n=10)
    prog = allocation_program(inst)
    base = prog.solve("clarabel")
    scale = np.random.default_rng(0).uniform(0.2, 5.0, inst.n_jobs)
    prog.set(scale=scale)
    scaled = prog.solve("clarabel")
    assert prog.builds == 2  # a new scale rebuilds the program
    rho0 = np.bincount(prog.pair_job, prog.coef * base.x, minlength=inst.n_jobs)
    rho1 = np.bincount(prog.pair_job, prog.coef * scaled.x, minlength=inst.n_jobs)
    np.testing.assert_allclose(rho1, rho0, rtol=1e-4)
    assert scaled.value == pytest.approx(base.value + np.log(scale).sum(), abs=1e-6)


def test_reusable_program_resolves_like_a_fresh_build():
    inst = gang_allocation(7, "max-min-fairness", n=60)
    prog = allocation_program(inst)
    prog.solve("clarabel")
    active = np.random.default_rng(1).random(inst.n_jobs) < 0.6
    cap = np.maximum(inst.gpus_per_type - 8, 4).astype(float)
    prog.set(capacity=cap, active=active)
    again = prog.solve("clarabel")
    assert prog.builds == 1 and prog.solves == 2
    # a fresh program over the active jobs only
    keep = active[prog.pair_job]
    remap = np.cumsum(active) - 1
    fresh = AllocationProgram(
        remap[prog.pair_job[keep]],
        prog.pair_type[keep],
        prog.coef[keep],
        inst.jobs.gang[active],
        int(active.sum()),
        len(inst.gpu_types),
        "max-min-fairness",
    )
    fresh.set(capacity=cap)
    ref = fresh.solve("ecos")
    assert again.value == pytest.approx(ref.value, rel=1e-6)
    assert again.bound >= ref.value - 1e-9
    assert np.all(again.x[~keep] == 0)
    used = np.bincount(prog.pair_type, inst.jobs.gang[prog.pair_job] * again.x, minlength=len(cap))
    assert np.all(used <= cap + 1e-12)


def test_proportional_fairness_needs_throughput_for_every_active_job():
    """Valid instances give every job a usable type with throughput > 0 (the loader checks it), so
    the decline cannot trigger on them; a program with a zero-throughput active job is refused."""
    inst, _ = feasible_allocation(0, "proportional-fairness", n=6)
    assert ConvexAllocation.unsupported_reason(inst) is None
    pj, pt, coef = allocation_pairs(inst)
    coef = np.where(pj == 2, 0.0, coef)
    prog = AllocationProgram(pj, pt, coef, inst.jobs.gang, inst.n_jobs, len(inst.gpu_types), "proportional-fairness")
    with pytest.raises(ValueError, match="no throughput"):
        prog.set(capacity=inst.gpus_per_type.astype(float))
    active = np.ones(inst.n_jobs, dtype=bool)
    active[2] = False
    prog.set(capacity=inst.gpus_per_type.astype(float), active=active)  # switched off: accepted
    out = prog.solve("clarabel")
    assert out.value is not None and np.all(out.x[pj == 2] == 0)
    with pytest.raises(ValueError, match="linear programs only"):
        run(ConvexAllocation, inst, solver="highs")


def test_declared_objectives_exist_in_the_problem_table():
    from schedbench.instances.problems import PROBLEM_CLASSES

    spec = PROBLEM_CLASSES["allocation"]
    assert all(spec.objective(o) is not None for o in ConvexAllocation.problems["allocation"])
    assert set(ConvexAllocation.problems["allocation"]) == {
        "max-min-fairness",
        "max-throughput",
        "proportional-fairness",
    }


def test_lagrangian_bound_refinement_never_weakens():
    rng = np.random.default_rng(3)
    n, T = 30, 3
    pj, pt = np.nonzero(rng.random((n, T)) < 0.7)
    gain, gang = rng.uniform(0, 2, len(pj)), rng.integers(1, 4, n).astype(float)
    limit, cap = np.ones(n), np.array([5.0, 8.0, 3.0])
    args = (pj, pt, gain, gang, limit, cap)
    for nu in (None, rng.uniform(0, 1, T)):
        refined = _cvx.refine_nu(*args, nu)
        assert _cvx.lagrangian_bound(*args, refined) <= _cvx.lagrangian_bound(*args, nu) + 1e-12
    # against the exact LP optimum
    x = cp.Variable(len(pj), nonneg=True)
    J = np.zeros((n, len(pj)))
    J[pj, np.arange(len(pj))] = 1
    G = np.zeros((T, len(pj)))
    G[pt, np.arange(len(pj))] = gang[pj]
    lp = cp.Problem(cp.Maximize(gain @ x), [J @ x <= limit, G @ x <= cap]).solve(solver="CLARABEL")
    assert _cvx.lagrangian_bound(*args, _cvx.refine_nu(*args, None, sweeps=10)) >= lp - 1e-7


# ---------------------------------------------------------------------------------- convex-qp-wspt
RES = (Resource("memory_gib", "GiB"),)


def tiny_batch(seed: int, n: int = 6, gpus: tuple[int, ...] = (2, 1), release: bool = False) -> Instance:
    rng = np.random.default_rng(seed)
    T = len(gpus)
    types = tuple(GpuType(f"t{t}", {"memory_gib": 16.0}) for t in range(T))
    nodes = tuple(Node(f"n{t}", f"t{t}", tuple(f"n{t}/g{i}" for i in range(gpus[t]))) for t in range(T))
    elig = rng.random((n, T)) < 0.8
    elig[np.arange(n), rng.integers(0, T, n)] = True
    rel = rng.integers(0, 15, n).astype(float) if release else None
    jobs = Jobs.build(
        [f"j{i}" for i in range(n)],
        np.ones((n, T, 1)),
        eligible=elig,
        time=rng.integers(1, 20, (n, T)).astype(float),
        weight=rng.integers(0, 6, n).astype(float),
        release=rel,
    )
    return make_instance(
        resources=RES,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("batch", "weighted-completion"),
        metadata={"name": f"tiny-wct-{seed}"},
    )


def brute_wct(inst: Instance) -> float:
    """Optimum of R||sum wC (releases 0) by enumerating assignments, each GPU in Smith's order."""
    n, G = inst.n_jobs, inst.n_gpus
    t, w, gt = inst.jobs.time, inst.jobs.weight, inst.gpu_type
    best = np.inf
    for a in itertools.product(range(G), repeat=n):
        a = np.asarray(a)
        if not inst.jobs.eligible[np.arange(n), gt[a]].all():
            continue
        _, end = _cvx.smith_completions(a, t[np.arange(n), gt[a]], w)
        best = min(best, float(w @ end))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_qp_bound_below_brute_force_optimum(seed):
    inst = tiny_batch(seed)
    res = run(ConvexQpWspt, inst)
    value = checked(inst, res)
    opt = brute_wct(inst)
    assert res.info["qp_bound"] <= opt * (1 + 1e-9)
    assert res.bound <= opt * (1 + 1e-9)
    assert value >= opt - 1e-9
    assert res.info["qp_value"] >= res.info["qp_bound"] - 1e-6 * opt
    assert value <= 1.5 * res.info["qp_bound"] or value <= 1.5 * res.bound  # Skutella: 3/2 in expectation, best of many
    assert res.status in ("optimal", "feasible")


def _textbook_cqp(inst: Instance) -> float:
    """Skutella's CQP with one variable per (GPU, job) and the dense D_i of the paper (test-only loops)."""
    n, G = inst.n_jobs, inst.n_gpus
    w = inst.jobs.weight
    p = inst.jobs.time[:, inst.gpu_type].T  # (G, n), NaN where ineligible
    ok = ~np.isnan(p)
    a = cp.Variable((G, n), nonneg=True)
    terms = []
    for i in range(G):
        pi = np.where(ok[i], p[i], 1.0)
        wi = np.where(ok[i], w, 0.0)  # jobs that cannot use GPU i: zero rows (their a[i] is 0 anyway)
        ratio = wi / pi
        rank = np.empty(n, dtype=int)
        rank[np.lexsort((np.arange(n), -ratio))] = np.arange(n)
        D = np.zeros((n, n))
        for j in range(n):
            for k in range(n):
                if j == k:
                    D[j, k] = wi[j] * pi[j]
                elif rank[k] < rank[j]:
                    D[j, k] = wi[j] * pi[k]
                else:
                    D[j, k] = wi[k] * pi[j]
        assert np.allclose(D, D.T)
        assert np.linalg.eigvalsh(D).min() >= -1e-9 * np.abs(D).max()  # PSD, as Skutella shows
        # the sum-of-squares form used by WsptQp agrees on a random vector
        v = np.random.default_rng(i).random(n)
        order = np.argsort(rank)
        r = ratio[order]
        delta = r - np.r_[r[1:], 0.0]
        assert v @ D @ v == pytest.approx(float((delta * np.cumsum((pi * v)[order]) ** 2).sum()), rel=1e-9)
        terms.append(0.5 * (wi * pi) @ a[i] + 0.5 * cp.quad_form(a[i], cp.psd_wrap(D)))
    cons = [cp.sum(a, axis=0) == 1, a[~ok] == 0] if (~ok).any() else [cp.sum(a, axis=0) == 1]
    return float(cp.Problem(cp.Minimize(cp.sum(terms)), cons).solve(solver="CLARABEL"))


@pytest.mark.parametrize("seed", range(3))
def test_type_aggregated_qp_equals_the_textbook_per_gpu_cqp(seed):
    inst = tiny_batch(seed, n=7, gpus=(3, 2))
    usable = inst.jobs.eligible
    qp = WsptQp.from_arrays(usable, np.nan_to_num(inst.jobs.time, nan=np.inf), inst.jobs.weight, inst.gpus_per_type)
    y, status, _ = qp.solve(inst.n_jobs, "clarabel", None, 1)
    assert status == "optimal"
    assert qp.value(y) == pytest.approx(_textbook_cqp(inst), rel=1e-6)
    assert qp.lower_bound(y, inst.n_jobs) == pytest.approx(qp.value(y), rel=1e-6)


def test_qp_objective_at_integral_assignment_is_the_wspt_cost():
    """With one GPU per type, a 0/1 y is a schedule and f(y) its weighted completion time."""
    inst = tiny_batch(11, n=8, gpus=(1, 1, 1))
    usable = inst.jobs.eligible
    qp = WsptQp.from_arrays(usable, np.nan_to_num(inst.jobs.time, nan=np.inf), inst.jobs.weight, inst.gpus_per_type)
    rng = np.random.default_rng(0)
    for _ in range(5):
        choice = np.array([rng.choice(np.flatnonzero(usable[j])) for j in range(inst.n_jobs)])
        y = (qp.pair_type == choice[qp.pair_job]).astype(float)
        _, end = _cvx.smith_completions(choice, inst.jobs.time[np.arange(inst.n_jobs), choice], inst.jobs.weight)
        assert qp.value(y) == pytest.approx(float(inst.jobs.weight @ end), rel=1e-12)


def test_qp_with_releases_is_feasible_and_bounded():
    for seed in range(3):
        inst = tiny_batch(seed, n=8, release=True)
        res = run(ConvexQpWspt, inst)
        value = checked(inst, res)
        assert res.bound <= value + 1e-9
        p_best = np.nanmin(inst.jobs.time, axis=1)
        assert res.bound >= float(inst.jobs.weight @ (inst.jobs.release + p_best)) - 1e-9


def test_qp_is_deterministic_with_a_seed_and_declines_gangs():
    inst = generate(
        "batch",
        {
            "objective": "weighted-completion",
            "cluster": "tiny",
            "jobs": 40,
            "gang": {"1": 1},
            "weights": {"1": 1, "3": 1},
        },
        seed=2,
    )
    a = run(ConvexQpWspt, inst, seed=5)
    b = run(ConvexQpWspt, inst, seed=5)
    assert a.solution == b.solution and a.bound == b.bound
    checked(inst, a)
    assert a.bound <= a.solution["objective"]
    gang = generate(
        "batch", {"objective": "weighted-completion", "cluster": "tiny", "jobs": 10, "gang": {"1": 1, "2": 1}}, seed=0
    )
    if (gang.jobs.gang > 1).any():
        assert "gang" in ConvexQpWspt.unsupported_reason(gang)
    assert ConvexQpWspt.unsupported_reason(inst) is None
