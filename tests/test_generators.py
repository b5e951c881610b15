"""Generators: determinism (golden hashes, two processes), distributions, well-posedness, suites."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from schedbench.errors import InputError
from schedbench.generators import generate, generate_planted
from schedbench.instances import content_hash, dumps, load, save
from schedbench.suites import LockMismatchError, build, load_suite, write_lock
from schedbench.validator import validate

CASES = [
    ("placement", {"jobs": 30, "objective": "min-cost"}),
    ("placement", {"jobs": 30, "objective": "min-gpus", "cluster": "modern"}),
    ("placement", {"jobs": 30, "objective": "max-weight", "weights": {"1": 1, "3": 1}}),
    ("batch", {"jobs": 30}),
    ("batch", {"jobs": 30, "objective": "weighted-tardiness", "deadline_slack": [1.5, 3.0], "arrival_load": 0.9}),
    ("batch", {"jobs": 30, "objective": "weighted-completion", "cluster": "modern", "tenants": 3}),
    ("allocation", {"jobs": 20, "mix": "gavel"}),
    ("online", {"jobs": 200, "load": 0.7, "problem_params": {"preempt_overhead_s": 30}}),
    ("online", {"jobs": 200, "cluster": "modern", "mix": "lambda", "diurnal": False}),
]


@pytest.mark.parametrize(("cls", "params"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_generated_instances_load_back_identically(tmp_path, cls, params):
    inst = generate(cls, params, seed=3)
    path = tmp_path / "inst.json"
    digest = save(inst, path)
    loaded = load(path)  # the strict loader re-checks everything
    assert content_hash(loaded) == digest == content_hash(inst)
    assert dumps(loaded) == path.read_bytes()
    assert loaded.metadata["generator"]["seed"] == 3
    assert loaded.jobs.eligible.any(axis=1).all()


@pytest.mark.parametrize(("cls", "params"), CASES[:3], ids=["cost", "gpus", "weight"])
def test_placement_planted_solution_is_feasible_and_matches_known_bound(cls, params):
    inst, solution = generate_planted(cls, params, seed=5)
    res = validate(inst, solution)
    assert res.feasible, res.violations[:3]
    known = inst.metadata["known"]
    bound = known.get("upper_bound", known.get("lower_bound"))
    assert res.objective == pytest.approx(bound, rel=1e-9, abs=1e-6)


def test_same_spec_same_bytes_different_seed_differs():
    a = dumps(generate("online", {"jobs": 100}, seed=1))
    b = dumps(generate("online", {"jobs": 100}, seed=1))
    c = dumps(generate("online", {"jobs": 100}, seed=2))
    d = dumps(generate("online", {"jobs": 101}, seed=1))
    assert a == b and a != c and a != d


def test_two_processes_agree(tmp_path):
    code = (
        "import sys; from schedbench.generators import generate; from schedbench.instances import content_hash; "
        "print(content_hash(generate('batch', {'jobs': 50, 'arrival_load': 0.8}, 7)))"
    )
    hashes = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(2)
    }
    assert hashes == {content_hash(generate("batch", {"jobs": 50, "arrival_load": 0.8}, 7))}


# Golden hashes: a change here means every published instance of that spec changed. Update them
# only with a deliberate generator version bump, and relock the suites.
GOLDEN = {
    ("placement", "min-cost", 0): "cfbffe75289f3d6cb787601004415d10cbec719a3ce3b1beed4d4ff95289f3f2",
    ("batch", "makespan", 0): "f886263f4d30fa80f4007e28b17e7632a811624f777c655ad743ca65c5382e5d",
    ("allocation", "max-min-fairness", 0): "8af493ea9f02edd23ec21a480b7212a6fc1644f07ca2f10491bd3d1283016bb8",
    ("online", "mean-jct", 0): "e572007b05c7f0f427d2a403c395260d2fdc604c735c39508f548e19ff3ff721",
}


@pytest.mark.parametrize("key", sorted(GOLDEN), ids=lambda k: f"{k[0]}-{k[1]}")
def test_golden_hashes(key):
    cls, objective, seed = key
    digest = content_hash(generate(cls, {"jobs": 40, "objective": objective}, seed))
    assert digest == GOLDEN[key]


def _lognormal_cdf(x, median, sigma):
    return 0.5 * (1 + np.vectorize(math.erf)((np.log(x) - math.log(median)) / (sigma * math.sqrt(2))))


def test_durations_follow_the_specified_distribution():
    # with a V100 reference, a job's time on V100 is its drawn duration
    inst = generate(
        "batch",
        {
            "jobs": 4000,
            "mix": "gavel",
            "duration": {"dist": "lognormal", "median_s": 3600, "sigma": 1.0},
            "max_duration_s": 1e9,
            "min_duration_s": 1e-3,
            "gang": {"1": 1},
        },
        seed=11,
    )
    t = inst.type_index["V100"]
    x = np.sort(inst.jobs.time[inst.jobs.eligible[:, t], t])
    ecdf = np.arange(1, len(x) + 1) / len(x)
    ks = np.max(np.abs(ecdf - _lognormal_cdf(x, 3600, 1.0)))
    assert len(x) > 3000
    assert ks < 1.36 / math.sqrt(len(x))  # KS at alpha = 0.05


def test_gang_sizes_follow_the_specified_pmf():
    # ResNet-50 has 1- and 2-GPU figures on every Gavel GPU, so no gang is reduced
    inst = generate("online", {"jobs": 6000, "mix": {"resnet50-bs64": 1}, "gang": {"1": 3, "2": 1}}, seed=2)
    counts = np.array([(inst.jobs.gang == 1).sum(), (inst.jobs.gang == 2).sum()])
    expected = np.array([0.75, 0.25]) * counts.sum()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert counts.sum() == 6000
    assert chi2 < 10.83  # chi-square, 1 dof, alpha = 0.001 (a version bump reseeds every stream)


def test_online_offered_load_is_close_to_target():
    inst = generate("online", {"jobs": 20000, "load": 0.8, "diurnal": False, "gang": {"1": 1}}, seed=4)
    realised = inst.metadata["stats"]["offered_load"]["realised_fluid"]
    assert realised == pytest.approx(0.8, rel=0.1)


def test_bad_params_are_input_errors():
    with pytest.raises(InputError, match="unknown parameter"):
        generate("batch", {"nonsense": 1})
    with pytest.raises(InputError, match="positive integer"):
        generate("batch", {"jobs": 0})
    with pytest.raises(InputError, match=r"params\.cluster"):
        generate("batch", {"cluster": "nowhere"})
    with pytest.raises(InputError, match=r"params\.mix"):
        generate("batch", {"mix": {"family:quantum": 1}})
    with pytest.raises(InputError, match="class"):
        generate("scheduling", {})


def test_smoke_suite_matches_lock_and_committed_files(tmp_path):
    suite = load_suite("smoke")
    report = build(suite, tmp_path)
    committed = suite.path.parent / "smoke"
    for name, digest in report.hashes.items():
        assert content_hash(load(committed / f"{name}.json")) == digest, name
    assert sorted(p.stem for p in committed.glob("*.json")) == sorted(report.hashes)


def test_lock_verification_catches_a_changed_generator(tmp_path):
    manifest = tmp_path / "mini.toml"
    manifest.write_text(
        '[[generate]]\nid = "b"\nclass = "batch"\nseeds = [0]\nparams = { jobs = 5, cluster = "tiny" }\n'
    )
    suite = load_suite("mini", tmp_path)
    write_lock(suite, build(suite, check_lock=False).hashes)
    assert build(suite).hashes
    manifest.write_text(manifest.read_text().replace("jobs = 5", "jobs = 6"))
    with pytest.raises(LockMismatchError, match="b-s0"):
        build(load_suite("mini", tmp_path))
    lock = json.loads((tmp_path / "mini.lock").read_text())
    assert list(lock["instances"]) == ["b-s0"]


def test_bad_manifests_are_input_errors(tmp_path):
    (tmp_path / "bad.toml").write_text('[[generate]]\nid = "x"\nclass = "batch"\nseeds = "zero"\n')
    with pytest.raises(InputError, match="seeds"):
        load_suite("bad", tmp_path)
    with pytest.raises(InputError, match="known suites"):
        load_suite("absent", tmp_path)
