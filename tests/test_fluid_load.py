"""The fluid offered-load LP and the generators' use of it (issue 18, item 1)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from schedbench.generators import generate
from schedbench.generators.load import fluid_load, instance_fluid

NAN = np.nan


@pytest.mark.parametrize(
    ("work", "gpus", "rho", "nominal"),
    [
        ([[1, NAN], [1, 1]], [1, 1], 1.0, 1.0),
        ([[2, 2]], [1, 1], 1.0, 1.0),  # the work is split half and half
        ([[3, NAN], [1, 1]], [1, 1], 3.0, 2.0),  # eligibility: type 0 is the bottleneck
        ([[4, 1]], [1, 3], 4 / 13, 0.25),  # the slow type takes 1/13 of the work, so both are busy 4/13
        ([[1, NAN], [1, NAN]], [2, 5], 1.0, 2 / 7),  # the nominal figure counts GPUs the jobs cannot use
    ],
)
def test_hand_examples(work, gpus, rho, nominal):
    fl = fluid_load(np.array(work, dtype=float), np.array(gpus, dtype=float))
    assert fl.work_per_s == pytest.approx(rho, rel=1e-7)
    assert fl.nominal_per_s == pytest.approx(nominal, rel=1e-9)
    assert fl.at(2.0) == pytest.approx(rho / 2)
    assert fl.split.sum(axis=1) == pytest.approx(np.ones(len(work)))


def test_matches_a_dense_linprog():
    rng = np.random.default_rng(4)
    m, T = 60, 4
    W = rng.uniform(1, 10, (m, T))
    W[rng.random((m, T)) < 0.4] = NAN
    W[np.isnan(W).all(axis=1), 0] = 5.0
    G = np.array([3.0, 1.0, 2.0, 4.0])
    fl = fluid_load(W, G)
    # the same LP, densely, one variable per (job, type) plus rho
    elig = np.isfinite(W)
    c = np.zeros(m * T + 1)
    c[-1] = 1
    A_eq = np.zeros((m, m * T + 1))
    for j in range(m):
        A_eq[j, j * T : (j + 1) * T] = 1
    A_ub = np.zeros((T, m * T + 1))
    for t in range(T):
        A_ub[t, [j * T + t for j in range(m)]] = np.nan_to_num(W[:, t])
        A_ub[t, -1] = -G[t]
    bounds = [(0, None if elig[j, t] else 0) for j in range(m) for t in range(T)] + [(0, None)]
    ref = linprog(c, A_ub=A_ub, b_ub=np.zeros(T), A_eq=A_eq, b_eq=np.ones(m), bounds=bounds, method="highs")
    assert fl.work_per_s == pytest.approx(ref.fun, rel=1e-7)
    assert fl.busy.max() == pytest.approx(fl.work_per_s, rel=1e-6)


def test_rejects_unrunnable_rows():
    with pytest.raises(ValueError, match="eligible"):
        fluid_load(np.array([[NAN, NAN]]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="no GPU"):
        fluid_load(np.array([[1.0, NAN]]), np.array([0.0, 1.0]))


@pytest.mark.parametrize("cluster", ["gavel", "modern"])
def test_online_fluid_load_is_the_requested_one(cluster):
    inst = generate("online", {"jobs": 3000, "cluster": cluster, "load": 0.8}, seed=2)
    ol = inst.metadata["stats"]["offered_load"]
    assert ol["fluid"] == pytest.approx(0.8, rel=1e-6)
    assert ol["nominal"] < 0.75  # the old figure understates the load on these clusters
    got = instance_fluid(inst)  # recomputed per job from the file, over the realised arrival span
    assert got["fluid"] == pytest.approx(ol["realised_fluid"], rel=1e-4)
    assert got["fluid"] == pytest.approx(0.8, rel=0.15)
    assert not any("WARNING" in n for n in inst.metadata["notes"])


def test_batch_arrival_load_and_overload_warning():
    inst = generate("batch", {"jobs": 400, "arrival_load": 1.2, "objective": "weighted-completion"}, seed=1)
    ol = inst.metadata["stats"]["offered_load"]
    assert ol["fluid"] == pytest.approx(1.2, rel=1e-6)
    assert any("WARNING: fluid offered load" in n for n in inst.metadata["notes"])
