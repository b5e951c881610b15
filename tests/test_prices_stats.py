"""Cited GPU prices only (issue 18, item 6) and `schedbench show --stats` (item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench.catalogue.build import _shipped
from schedbench.cli.app import app
from schedbench.errors import InputError
from schedbench.generators import generate
from schedbench.generators.clusters import CITED_PRICES, gpu_price
from schedbench.generators.presets import resolve
from schedbench.instances import save

runner = CliRunner()
SMOKE = Path(__file__).resolve().parents[1] / "instances" / "smoke"


def test_prices_are_cited_or_absent_never_derived():
    for gpu in _shipped().gpus:
        price, how = gpu_price(gpu)
        if gpu in CITED_PRICES:
            assert price == CITED_PRICES[gpu].usd_per_hour and how.startswith("cited:") and "date:" in how
        else:
            assert price is None and how.startswith("none")
    assert gpu_price("A10")[0] is None  # version 1 derived $5.53/h from peak FP32, above an A100
    assert gpu_price("H100-SXM5-80GB")[0] > gpu_price("A100-SXM4-80GB")[0] > gpu_price("V100")[0]


def test_cost_objectives_need_a_price_for_every_gpu_type():
    with pytest.raises(InputError, match="A10"):
        generate("placement", {"jobs": 20, "cluster": "modern", "objective": "min-cost"})
    with pytest.raises(InputError, match="cited price"):
        generate(
            "placement",
            {"jobs": 20, "cluster": "modern", "objective": "min-gpus", "problem_params": {"measure": "cost"}},
        )
    inst = generate("placement", {"jobs": 20, "cluster": "modern", "objective": "min-gpus"})
    assert {t.id: t.cost_per_hour for t in inst.gpu_types}["A10"] is None
    priced = [
        {"gpu_type": "A100-SXM4-80GB", "nodes": 2, "gpus_per_node": 8},
        {"gpu_type": "H100-SXM5-80GB", "nodes": 1, "gpus_per_node": 8},
    ]
    inst = generate("placement", {"jobs": 40, "cluster": priced, "objective": "min-cost"}, seed=1)
    assert inst.jobs.cost is not None and (inst.jobs.cost[inst.jobs.eligible] > 0).all()
    assert all("cited" in v for v in inst.metadata["source"]["gpu_prices"].values())


def test_show_stats_on_the_default_online_preset(tmp_path):
    inst = generate("online", resolve("online", "modern-online", {"jobs": 5000}), seed=2)
    path = tmp_path / "m.json"
    save(inst, path)
    res = runner.invoke(app, ["show", str(path), "--stats", "--json"])
    assert res.exit_code == 0, res.output
    st = json.loads(res.output)["stats"]
    assert st["offered_load"]["requested"] == 0.8
    assert st["offered_load"]["fluid"] == pytest.approx(0.8, rel=0.10)
    assert st["offered_load"]["nominal"] < st["offered_load"]["fluid"]
    share = st["gpu_time_share_by_gpus"]
    assert set(share["instance"]) == set(share["trace"])
    assert st["figures"]["fallback_share"] < 0.10
    assert len(st["duration_quantiles"]["instance"]) == len(st["duration_quantiles"]["model"])
    res = runner.invoke(app, ["show", str(path), "--stats"], env={"COLUMNS": "160"})
    assert res.exit_code == 0 and "fluid" in res.output and "GPU time by job size" in res.output


def test_show_stats_without_arrivals_or_metadata():
    res = runner.invoke(app, ["show", str(SMOKE / "batch-makespan-s0.json"), "--stats", "--json"])
    assert res.exit_code == 0, res.output
    st = json.loads(res.output)["stats"]
    assert st["offered_load"]["fluid"] is None and "released together" in st["offered_load"]["note"]
