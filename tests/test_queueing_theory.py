"""The simulator against queueing theory: M/M/c FCFS vs Erlang C, M/G/1 FCFS vs
Pollaczek-Khinchine, Little's law on every run, SRPT optimal and LAS beating FCFS on a
high-variance M/G/1, and FCFS waits equal to a SimPy model fed the same arrays.

Sizes are kept small enough for a few seconds; ``benchmarks/bench_simulator.py`` has the long
versions (10 x 1M jobs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from schedbench.plugins.registry import get_registry
from schedbench.simulator import QueuePolicy, Simulator
from schedbench.simulator.build import from_arrays, mg1_arrays, mmc_arrays
from schedbench.validator import validate

REPS = 10


def erlang_c_mean_wait(c: int, lam: float, mu: float) -> float:
    """Textbook Erlang C (direct sum), independent of the simulator's own helper."""
    a = lam / mu
    rho = a / c
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / (math.factorial(c) * (1 - rho))
    p_wait = tail / (head + tail)
    return p_wait / (c * mu - lam)


def fcfs_waits(release: np.ndarray, size: np.ndarray, servers: int) -> tuple[np.ndarray, dict]:
    inst = from_arrays(release, size, gpus=servers)
    res = Simulator(inst, QueuePolicy("fifo")).run()
    assert res.status == "complete"
    start = {e["job"]: e["time"] for e in res.events if e["event"] == "start"}
    waits = np.array([start[j] for j in inst.jobs.ids]) - release
    verdict = validate(inst, res.solution())
    assert verdict.feasible, verdict.violations[:3]
    return waits, verdict.metrics


def mean_and_halfwidth(values: list[float]) -> tuple[float, float]:
    from scipy import stats

    x = np.asarray(values)
    return float(x.mean()), float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


@pytest.mark.parametrize("servers", [1, 4, 16])
@pytest.mark.parametrize("load", [0.5, 0.8, 0.9])
def test_mmc_fcfs_matches_erlang_c(servers: int, load: float) -> None:
    n = 4000 if load < 0.9 else 8000
    means = []
    for rep in range(REPS):
        release, size = mmc_arrays(n, servers, load, seed=rep)
        waits, metrics = fcfs_waits(release, size, servers)
        means.append(float(waits[n // 10 :].mean()))  # drop the warm-up from an empty system
        assert metrics["littles_law_error"] < 0.01
    mean, half = mean_and_halfwidth(means)
    expected = erlang_c_mean_wait(servers, load * servers, 1.0)
    assert abs(mean - expected) <= 3 * half, (mean, expected, half)


def test_mg1_fcfs_matches_pollaczek_khinchine() -> None:
    load, sigma, n = 0.7, 1.5, 10000
    means = []
    for rep in range(REPS):
        release, size = mg1_arrays(n, load, seed=rep, sigma=sigma)
        waits, metrics = fcfs_waits(release, size, 1)
        means.append(float(waits[n // 10 :].mean()))
        assert metrics["littles_law_error"] < 0.01
    mean, half = mean_and_halfwidth(means)
    second_moment = math.exp(sigma**2)  # E[S^2] of a log-normal of mean 1
    expected = load * second_moment / (2 * (1 - load))  # lambda E[S^2] / (2 (1 - rho)), lambda = rho
    assert abs(mean - expected) <= 3 * half, (mean, expected, half)


POLICIES = ("fcfs", "fcfs-easy", "sjf", "srpt", "edf", "priority", "las", "tiresias")


def test_srpt_best_and_las_beats_fcfs_on_high_variance_mg1() -> None:
    reg = get_registry()
    classes = {name: reg.get(name).load() for name in POLICIES}
    overrides = {"las": {"quantum": 0.05}, "tiresias": {"thresholds": "0.5,5"}}
    for seed in range(20):
        release, size = mg1_arrays(600, 0.8, seed=seed, sigma=2.0)
        inst = from_arrays(release, size, gpus=1)
        response = {}
        for name, cls in classes.items():
            params = cls.resolve_params(overrides.get(name, {}))
            res = Simulator(inst, cls.make_policy(params), seed=seed).run()
            verdict = validate(inst, res.solution())
            assert verdict.feasible and res.status == "complete", (name, verdict.violations[:3])
            assert verdict.metrics["littles_law_error"] < 0.01
            response[name] = verdict.metrics["jct_mean"]
        best = min(response.values())
        assert response["srpt"] <= best * (1 + 1e-9), (seed, response)
        assert response["las"] < response["fcfs"], (seed, response)


def test_fcfs_waits_equal_simpy() -> None:
    simpy = pytest.importorskip("simpy", reason="simpy is a test dependency (the [test] extra)")
    for servers, load, seed in ((1, 0.9, 0), (4, 0.8, 1), (16, 0.9, 2)):
        release, size = mmc_arrays(3000, servers, load, seed=seed)
        ours, _ = fcfs_waits(release, size, servers)
        env = simpy.Environment()
        pool = simpy.Resource(env, capacity=servers)
        waits = np.zeros(len(release))

        def job(k: int, env=env, pool=pool, waits=waits, release=release, size=size) -> object:
            with pool.request() as req:
                yield req
                waits[k] = env.now - release[k]
                yield env.timeout(size[k])

        def source(env=env, release=release, job=job) -> object:
            for k in range(len(release)):
                yield env.timeout(release[k] - env.now)
                env.process(job(k))

        env.process(source())
        env.run()
        np.testing.assert_allclose(ours, waits, rtol=0, atol=1e-9)
