"""Online queueing presets (mmc, mg1) and the Philly 1,024-GPU sweep preset: CLI end to end,
byte-identical regeneration, and the distributions they promise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.errors import InputError
from schedbench.generators import generate
from schedbench.generators.presets import PHILLY_SCV, resolve
from schedbench.instances import load

runner = CliRunner()


def _gen(tmp_path, name, *args, seed=1):
    out = tmp_path / f"{name}-{seed}-{abs(hash(args))}.json"
    res = runner.invoke(
        app,
        [
            "generate",
            "online",
            "--preset",
            name,
            "--seed",
            str(seed),
            "-o",
            str(out),
            *[a for kv in args for a in ("-p", kv)],
        ],
    )
    assert res.exit_code == 0, res.output
    return out


def test_mmc_cli_is_byte_identical_and_seeded(tmp_path):
    a = _gen(tmp_path, "mmc", "servers=3", "load=0.7", "jobs=300")
    b = _gen(tmp_path, "mmc", "servers=3", "load=0.7", "jobs=300")
    c = _gen(tmp_path, "mmc", "servers=3", "load=0.7", "jobs=300", seed=2)
    d = _gen(tmp_path, "mmc", "servers=4", "load=0.7", "jobs=300")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes() and a.read_bytes() != d.read_bytes()


def test_mmc_is_an_mmc_sample_path(tmp_path):
    inst = load(_gen(tmp_path, "mmc", "servers=5", "load=0.9", "jobs=4000", "mean_s=1800"))
    assert inst.n_gpus == 5 and len(inst.gpu_types) == 1 and len(inst.nodes) == 5
    assert (inst.jobs.gang == 1).all()
    q = inst.metadata["stats"]["queueing"]
    assert q["model"] == "M/M/5" and q["servers"] == 5
    assert q["arrival_rate_per_s"] == pytest.approx(0.9 * 5 / 1800, rel=1e-9)
    sizes = inst.jobs.time[:, 0]
    assert stats.kstest(sizes, "expon", args=(0, 1800)).pvalue > 1e-3
    gaps = np.diff(inst.jobs.release)
    assert stats.kstest(gaps, "expon", args=(0, 1 / q["arrival_rate_per_s"])).pvalue > 1e-3
    # a different distribution is rejected by the same check (the test can fail)
    assert stats.kstest(sizes, "expon", args=(0, 1200)).pvalue < 1e-3


def test_mg1_sizes_have_philly_moments(tmp_path):
    inst = load(_gen(tmp_path, "mg1", "load=0.6", "jobs=5000"))
    assert inst.n_gpus == 1 and (inst.jobs.gang == 1).all()
    q = inst.metadata["stats"]["queueing"]
    assert q["model"] == "M/G/1"
    assert q["size_scv"] == pytest.approx(PHILLY_SCV, rel=1e-6)
    sigma = math.sqrt(math.log1p(PHILLY_SCV))
    logs = np.log(inst.jobs.time[:, 0])
    assert logs.std() == pytest.approx(sigma, rel=0.05)
    mu = math.log(q["mean_size_s"]) - sigma**2 / 2
    assert stats.kstest(logs, "norm", args=(mu, sigma)).pvalue > 1e-3
    assert q["arrival_rate_per_s"] == pytest.approx(0.6 / q["mean_size_s"], rel=1e-9)


def test_mg1_scv_parameter(tmp_path):
    inst = load(_gen(tmp_path, "mg1", "load=0.5", "jobs=200", "scv=4", "mean_s=100"))
    q = inst.metadata["stats"]["queueing"]
    assert q["size_scv"] == pytest.approx(4.0) and q["mean_size_s"] == pytest.approx(100.0)


def test_philly_1024_load_sweep():
    insts = {
        rho: generate("online", resolve("online", "philly-1024", {"load": rho, "jobs": 800}), seed=0)
        for rho in (0.5, 1.0)
    }
    for inst in insts.values():
        assert inst.n_gpus == 1024 and len(inst.nodes) == 128
        assert {len(nd.gpus) for nd in inst.nodes} == {8}
    for rho, inst in insts.items():
        work = float(np.mean(inst.jobs.gang * inst.jobs.time[:, 0]))
        rate = inst.metadata["stats"]["offered_load"]["arrival_rate_per_hour"]
        assert rate == pytest.approx(rho * 1024 * 3600 / work, rel=1e-6)
    assert insts[1.0].jobs.release[-1] < insts[0.5].jobs.release[-1]


def test_preset_errors(tmp_path):
    res = runner.invoke(
        app, ["generate", "online", "--preset", "mmc", "-p", "servers=0", "-o", str(tmp_path / "x.json")]
    )
    assert res.exit_code == 2 and "servers" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["generate", "online", "--preset", "nope", "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and "mmc" in res.output
    with pytest.raises(InputError, match="one GPU type"):
        generate(
            "online",
            {
                "load_basis": "model",
                "cluster": "gavel",
                "diurnal": False,
                "gang": {"1": 1},
                "duration": {"dist": "exponential", "mean_s": 10},
            },
        )
    with pytest.raises(InputError, match="analytic duration"):
        generate(
            "online",
            {
                "load_basis": "model",
                "cluster": "tiny",
                "diurnal": False,
                "gang": {"1": 1},
                "cluster_scale": 1.0,
                "mix": "gavel",
            }
            | {"cluster": [{"gpu_type": "V100", "nodes": 2, "gpus_per_node": 1}]},
        )


def test_suites_may_name_a_preset(tmp_path):
    from schedbench.suites import build, load_suite

    (tmp_path / "q.toml").write_text(
        '[[generate]]\nid = "mmc"\nclass = "online"\npreset = "mmc"\nseeds = [0, 1]\n'
        "params = { servers = 3, load = 0.5, jobs = 50 }\n"
    )
    suite = load_suite("q", tmp_path)
    out = tmp_path / "out"
    build(suite, out, check_lock=False)
    files = sorted(out.glob("*.json"))
    assert [f.name for f in files] == ["mmc-s0.json", "mmc-s1.json"]
    inst = load(files[0])
    assert inst.n_gpus == 3 and inst.metadata["stats"]["queueing"]["model"] == "M/M/3"
    (tmp_path / "bad.toml").write_text('[[generate]]\nid = "x"\nclass = "online"\npreset = "nope"\nseeds = [0]\n')
    with pytest.raises(InputError, match="preset"):
        build(load_suite("bad", tmp_path), tmp_path / "o2", check_lock=False)
