"""(GPUs, duration) drawn jointly from the trace (issue 18, item 2), and the trace-replay arrivals."""

from __future__ import annotations

import numpy as np
import pytest

from schedbench.generators import generate
from schedbench.traces.models import ArrivalReplay, JointModel, shipped_fit


def test_joint_model_keeps_size_and_length_together():
    m = JointModel.shipped("philly")
    g, d = m.sample(np.random.default_rng(0), 100_000)
    med = {v: np.median(d[g == v]) for v in (1, 8)}
    fit = shipped_fit("joint/philly")["goodness"]
    # Philly: 8-GPU jobs run a median 23,683 s, 1-GPU jobs 1,117 s
    assert med[1] == pytest.approx(fit["median_s"][0], rel=0.05)
    assert med[8] == pytest.approx(fit["median_s"][3], rel=0.15)
    assert med[8] > 10 * med[1]
    capped = JointModel.shipped("philly", max_gpus=8)
    assert capped.values.tolist() == [1, 2, 4, 8]
    assert sum(capped.gpu_time_share().values()) == pytest.approx(1.0)
    assert capped.gpu_time_share()[8] > 0.5


def test_marginal_quantiles_of_the_joint_match_the_duration_fit():
    m = JointModel.shipped("philly")
    q = shipped_fit("duration/philly")["params"]
    probs = np.array([0.1, 0.5, 0.9])
    want = np.interp(probs, q["quantile_probs"], q["quantiles"])
    assert m.marginal_quantile(probs) == pytest.approx(want, rel=0.03)


def test_modern_online_gpu_time_by_size_is_philly_like():
    inst = generate("online", {"jobs": 20000, "cluster": "modern", "load": 0.8}, seed=1)
    js = inst.metadata["stats"]["jobs"]
    ref = js["reference"]["gpu_time_share_by_gpus"]
    got = js["gpu_time_share_by_gpus"]
    assert set(got) == set(ref) == {"1", "2", "4", "8"}
    for k in ref:
        assert got[k] == pytest.approx(ref[k], abs=0.05), k
    # and the instance's own gangs are those of the stats
    assert (np.bincount(inst.jobs.gang)[8] / inst.n_jobs) == pytest.approx(js["job_share_by_gpus"]["8"])


def test_independent_draws_remain_available():
    a = generate("online", {"jobs": 3000, "cluster": "modern", "joint": False}, seed=1)
    js = a.metadata["stats"]["jobs"]
    assert "reference" not in js
    assert js["gpu_time_share_by_gpus"]["1"] > 0.6  # independent draws: small jobs dominate GPU time


def test_trace_replay_keeps_bursts():
    rep = ArrivalReplay.shipped()
    t, _ = rep.sample(np.random.default_rng(3), 20000, rep.rate_per_hour)
    assert (np.diff(t) >= 0).all() and t[0] >= 0
    counts = np.bincount((t // 3600).astype(int))
    assert counts.var() / counts.mean() > 20  # a Poisson process gives about 1
    t2, _ = rep.sample(np.random.default_rng(3), 20000, 2 * rep.rate_per_hour)
    assert t2 == pytest.approx(t / 2)


def test_multi_node_lets_gavel_clusters_run_philly_sized_jobs():
    plain = generate("online", {"jobs": 3000, "cluster": "gavel", "mix": "gavel"}, seed=1)
    assert plain.jobs.gang.max() == 4  # 4-GPU nodes: the 8-GPU pairs are not drawn
    assert plain.metadata["stats"]["jobs"]["reference"]["subset"].startswith("GPU counts <= 4")
    multi = generate(
        "online",
        {"jobs": 3000, "cluster": "gavel", "mix": "gavel", "problem_params": {"allow_multi_node": True}},
        seed=1,
    )
    assert multi.jobs.gang.max() == 8 and multi.problem.params["allow_multi_node"] is True
    ref = multi.metadata["stats"]["jobs"]["reference"]["gpu_time_share_by_gpus"]
    assert set(ref) == {"1", "2", "4", "8"}


def test_completed_outcomes_drop_failed_and_killed_jobs():
    from schedbench.errors import InputError

    m = JointModel.shipped("philly", max_gpus=8)
    a, b = m.completion_model(0.604, 0.321)
    g, d, w = m.grid()
    q = 1 / (1 + np.exp(a + b * np.log(d)))
    assert (w * q).sum() == pytest.approx(0.604, abs=1e-6)
    assert (w * q * g * d).sum() / (w * g * d).sum() == pytest.approx(0.321, abs=1e-6)
    assert b > 0  # failed and killed jobs are the longer ones (Acme: 39.6 % of jobs, 67.9 % of GPU time)
    run = generate("online", {"jobs": 4000, "cluster": "modern"}, seed=5)
    done = generate("online", {"jobs": 4000, "cluster": "modern", "outcomes": "completed"}, seed=5)
    q_run = run.metadata["stats"]["jobs"]["duration_quantiles"]["instance"]
    q_done = done.metadata["stats"]["jobs"]["duration_quantiles"]["instance"]
    assert q_done[2] < 0.8 * q_run[2]  # median
    assert any(n.startswith("outcomes=completed") for n in done.metadata["notes"])
    with pytest.raises(InputError, match="outcomes"):
        generate("online", {"jobs": 10, "gang": {"1": 1}, "outcomes": "completed"})
