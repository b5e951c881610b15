"""Catalogue plausibility checks (suspect figures), the R4 memory formula, and the provenance of
instance figures (issue 18, items 4 and 5)."""

from __future__ import annotations

import numpy as np
import pytest

from schedbench.catalogue.build import _shipped
from schedbench.catalogue.memory import MODELS, resnet_conv_outputs
from schedbench.catalogue.model import MEASURED, Figure, JobType, Provenance
from schedbench.catalogue.plausibility import NEWER_THAN, check_job, suspect_figures
from schedbench.generators import generate
from schedbench.generators.presets import resolve
from schedbench.generators.workload import WorkloadTables


def _fig(v: float) -> Figure:
    return Figure(v, "it/s", Provenance(MEASURED, "gavel", "d", "h", "m"))


def _job(thr: dict[tuple[str, int], float]) -> JobType:
    return JobType(
        key="x",
        family="cnn",
        model="M",
        task="t",
        source="gavel",
        batch_size=8,
        precision=None,
        unit="it/s",
        description="d",
        throughput={k: _fig(v) for k, v in thr.items()},
    )


@pytest.mark.parametrize(
    ("thr", "bad"),
    [
        ({("V100", 1): 10, ("V100", 2): 9.6}, {}),  # within the 5 % tolerance
        ({("V100", 1): 10, ("V100", 2): 9.0}, {("V100", 2): "S1"}),
        ({("V100", 1): 10, ("V100", 2): 21.9}, {}),  # 1.095 x linear: within 10 %
        ({("V100", 1): 10, ("V100", 2): 22.5}, {("V100", 2): "S2"}),
        ({("P100", 1): 10, ("V100", 1): 9.2}, {}),
        ({("P100", 1): 10, ("V100", 1): 8.0}, {("V100", 1): "S3"}),
        ({("K80", 1): 10, ("A10", 1): 5.0}, {("A10", 1): "S3"}),
        ({("V100", 1): 10, ("A10", 1): 5.0}, {}),  # no order claimed between V100 and A10
        ({("V100", 1): 10, ("V100", 2): 9.0, ("V100", 4): 19.0}, {("V100", 2): "S1"}),  # 4 vs 1: fine
    ],
)
def test_checks(thr, bad):
    found = check_job(_job(thr))
    assert {k: v[:2] for k, v in found.items()} == bad


def test_order_is_a_strict_partial_order():
    assert ("K80", "H100-SXM5-80GB") in NEWER_THAN and ("H100-SXM5-80GB", "K80") not in NEWER_THAN
    assert not any((b, a) in NEWER_THAN for a, b in NEWER_THAN)


def test_shipped_catalogue_marks_the_known_outliers_and_keeps_them():
    cat = _shipped()
    taco = cat.job("tacotron2-fp32-maxbatch").throughput[("RTX6000Ada", 4)]
    assert taco.value == 11570 and taco.suspect is not None and taco.suspect.startswith("S1")
    assert taco.kind == MEASURED  # kept with its source
    rec = cat.job("recommendation-bs1024").throughput[("V100", 1)]
    assert rec.suspect is not None and rec.suspect.startswith("S3")
    sus = suspect_figures(cat)
    assert 40 < len(sus) < 150
    # no derived figure is computed from a suspect one: a suspect V100 base derives nothing
    for key in ("recommendation-bs1024", "recommendation-bs512"):
        jt = cat.job(key)
        assert not any(f.is_derived for (g, n), f in jt.throughput.items() if n == 1)
    # after the checks, no figure left in use fails them
    for jt in cat.job_types.values():
        clean = {k: f for k, f in jt.throughput.items() if f.suspect is None}
        assert not check_job(JobType(**{**jt.__dict__, "throughput": clean}))


def test_generators_leave_suspect_figures_out_unless_asked():
    cat = _shipped()
    types = ("RTX6000Ada",)
    k = None
    for include in (False, True):
        t = WorkloadTables.build(cat, types, include_suspect=include)
        k = t.keys.index("tacotron2-fp32-maxbatch")
        assert np.isnan(t.throughput[k, 0, 2]) != include  # the 4-GPU figure
    assert WorkloadTables.build(cat, types).suspect_left_out > 0


def test_r4_memory_formula_and_measured_configurations():
    # ResNet-50 activations: 2 x 4 B x 11.1 M conv outputs ~ 0.083 GiB a sample; Lambda's slope 0.087
    assert resnet_conv_outputs("resnet50-imagenet", 224) == pytest.approx(11.11e6, rel=0.01)
    assert MODELS["ResNet-50"].act_bytes / 2**30 == pytest.approx(0.087, rel=0.1)
    cat = _shipped()
    for key, jt in cat.job_types.items():
        if jt.source != "gavel":
            continue
        for gpu in {g for (g, _), f in jt.throughput.items() if f.kind == MEASURED}:
            m = jt.memory_gib[gpu]
            assert m.value <= cat.gpu_memory_gib(gpu) + 1e-9, (key, gpu)  # ran there, so it fits
            assert (m.provenance.rule or "").startswith("R4")
        values = {round(f.value, 6) for g, f in jt.memory_gib.items() if "capped" not in (f.provenance.rule or "")}
        assert len(values) <= 1, key  # a property of the job, not of the GPU
    inst = generate("online", {"jobs": 3000, "mix": {"resnet50-bs128": 1}, "cluster": "gavel"}, seed=0)
    one = inst.jobs.gang == 1
    assert one.sum() > 2000 and inst.jobs.eligible[one].all()  # 1 GPU: Gavel measured it on K80, P100, V100


@pytest.mark.parametrize("preset", ["gavel-online", "modern-online", None])
def test_default_presets_keep_fallback_figures_under_ten_percent(preset):
    params = resolve("online", preset, {"jobs": 2000}) if preset else {"jobs": 2000}
    fig = generate("online", params, seed=3).metadata["stats"]["figures"]
    assert fig["fallback_share"] < 0.10
    assert sum(fig["memory"].values()) == sum(fig["compute"].values()) == fig["pairs"]
