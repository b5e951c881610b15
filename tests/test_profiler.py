"""`schedbench profile` and `schedbench catalogue merge`: models, measurement, FLOPs, entries, layers.

Tests that run torch skip with the reason when it is not installed (the `profile` extra); the
merge rules, the catalogue layers and the missing-torch error need no torch. Step counts are tiny:
these tests check the procedure and the format, never a speed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench import jsonio
from schedbench.catalogue import layers, load_catalogue
from schedbench.catalogue.model import DERIVED, MEASURED, Catalogue, Figure, GpuSpec, JobType, Provenance, Source
from schedbench.cli.app import app
from schedbench.errors import InputError
from schedbench.profiler import MISSING_TORCH, ProfileError, require_torch
from schedbench.profiler.workloads import BUILTIN, TensorSpec, resolve

runner = CliRunner()
HAVE_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(
    not HAVE_TORCH,
    reason="torch is not installed (pip install 'schedbench[profile]'; on the project's machines torch==2.13.0 first)",
)


def _one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    return lines[0]


# ---------------------------------------------------------------------- no torch needed


def test_missing_torch_is_one_clear_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ProfileError, match=r"schedbench\[profile\]"):
        require_torch()
    line = _one_error_line(runner.invoke(app, ["profile", "cnn", "--steps", "1"]))
    assert line == f"error: {MISSING_TORCH}"


def test_input_specs_and_workloads() -> None:
    assert TensorSpec.parse("float32:3x224x224") == TensorSpec("float32", (3, 224, 224))
    assert TensorSpec.parse("int64:100:10000") == TensorSpec("int64", (100,), 10000)
    assert TensorSpec.parse("float32:scalar").shape == ()
    assert TensorSpec.parse("int64:100:10000").text() == "int64:100:10000"
    for bad in ("float32", "float32:3x0", "int64:100", "complex64:3", "float32:3:7", "float32:3 x 4"):
        with pytest.raises(ProfileError):
            TensorSpec.parse(bad)
    w = resolve("my_pkg.models:make_net", ["float32:8"], "mse", family="transformer")
    assert (w.kind, w.key, w.family, w.inputs[0].shape) == ("supervised", "my_pkg.models-make_net", "transformer", (8,))
    assert resolve("cnn").key == "article-cnn" and resolve("gan").kind == "gan"
    for args, kwargs in (
        (("resnet",), {}),
        (("pkg.mod:f",), {}),
        (("pkg.mod:f", ["float32:3"], "hinge"), {}),
        (("cnn", ["float32:3"]), {}),
        (("pkg.mod:f", ["float32:3"], "mse"), {"family": "vision"}),
        (("not an import:path",), {}),
    ):
        with pytest.raises(ProfileError):
            resolve(*args, **kwargs)


def _prov(kind: str = MEASURED, source: str = "s") -> Provenance:
    return Provenance(kind, source, "detail", "hardware", "method", "R2 test rule" if kind == DERIVED else None)


def _fig(value: float, kind: str = MEASURED) -> Figure:
    return Figure(value, "samples/s", _prov(kind))


def _cat(jobs: dict[str, JobType], gpus: tuple[str, ...] = ("G1", "G2"), version: str = "t") -> Catalogue:
    specs = {g: GpuSpec(g, g, g, Figure(16.0, "GiB", _prov())) for g in gpus}
    return Catalogue(version, {"s": Source("s", "cite", "where", "licence")}, specs, jobs)


def _job(key: str = "m-bs8", **figs) -> JobType:
    return JobType(key, "cnn", "model", "task", "s", 8, "fp32", "samples/s", "description", **figs)


def test_merge_rules_figure_by_figure() -> None:
    base = _cat(
        {
            "m-bs8": _job(
                throughput={("G1", 1): _fig(10.0), ("G2", 1): _fig(5.0, DERIVED), ("G2", 2): _fig(9.0, DERIVED)}
            )
        }
    )
    # a new job type and a new GPU type are added
    frag = _cat({"n-bs8": _job("n-bs8", throughput={("CPU-X-1T", 1): _fig(3.0)})}, gpus=("CPU-X-1T",))
    merged, rep = layers.merge_fragment(base, frag)
    assert set(merged.job_types) == {"m-bs8", "n-bs8"} and "CPU-X-1T" in merged.gpus
    assert rep.added_jobs == ["n-bs8"] and rep.added_gpus == ["CPU-X-1T"] and rep.figures_added == 1
    # a measurement on G2 supersedes the derived estimates there; G1 stays as it was
    frag = _cat({"m-bs8": _job(throughput={("G2", 1): _fig(6.0)}, memory_gib={"G2": Figure(2.0, "GiB", _prov())})})
    merged, rep = layers.merge_fragment(base, frag)
    jt = merged.job("m-bs8")
    assert jt.throughput[("G2", 1)].value == 6.0 and ("G2", 2) not in jt.throughput
    assert jt.throughput[("G1", 1)] == base.job("m-bs8").throughput[("G1", 1)] and jt.memory_gib["G2"].value == 2.0
    assert (rep.figures_replaced, rep.derived_dropped, rep.figures_added) == (1, 1, 1)
    assert jt.gpu_status("G2") == MEASURED
    # two measurements of one cell conflict, unless replace
    frag = _cat({"m-bs8": _job(throughput={("G1", 1): _fig(11.0)})})
    with pytest.raises(layers.MergeConflictError, match="--replace"):
        layers.merge_fragment(base, frag)
    assert layers.merge_fragment(base, frag, replace_measured=True)[0].throughput("m-bs8", "G1").value == 11.0
    # the same figure again is no conflict; a derived figure never replaces anything
    same = _cat({"m-bs8": _job(throughput={("G1", 1): _fig(10.0)})})
    assert layers.merge_fragment(base, same)[1].figures_replaced == 0
    derived = _cat({"m-bs8": _job(throughput={("G1", 1): _fig(99.0, DERIVED)})})
    assert layers.merge_fragment(base, derived)[0].throughput("m-bs8", "G1").value == 10.0
    # a job type whose identity differs is refused
    with pytest.raises(layers.MergeConflictError, match="batch_size"):
        layers.merge_fragment(base, _cat({"m-bs8": replace(_job(), batch_size=16)}))


def test_merge_command_writes_the_user_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frag = _cat({"n-bs8": _job("n-bs8", throughput={("CPU-X-1T", 1): _fig(3.0)})}, gpus=("CPU-X-1T",))
    path = tmp_path / "entry.json"
    jsonio.write_bytes(path, jsonio.dumps_canonical(frag.to_dict()))
    user = tmp_path / "home" / "catalogue.json"
    monkeypatch.setenv(layers.USER_ENV, str(user))
    res = runner.invoke(app, ["catalogue", "merge", str(path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["active"] and doc["added_jobs"] == ["n-bs8"] and user.exists()
    cat = load_catalogue()
    assert cat.throughput("n-bs8", "CPU-X-1T", 1).value == 3.0 and "resnet50-bs64" in cat.job_types
    assert cat.version.startswith(load_catalogue(layers=False).version + "+user.")
    # a second, different measurement of the same cell is a one-line error until --replace
    jsonio.write_bytes(
        path,
        jsonio.dumps_canonical(
            _cat({"n-bs8": _job("n-bs8", throughput={("CPU-X-1T", 1): _fig(4.0)})}, gpus=("CPU-X-1T",)).to_dict()
        ),
    )
    assert "--replace" in _one_error_line(runner.invoke(app, ["catalogue", "merge", str(path)]))
    assert runner.invoke(app, ["catalogue", "merge", str(path), "--replace"]).exit_code == 0
    assert load_catalogue().throughput("n-bs8", "CPU-X-1T", 1).value == 4.0
    # a fragment that contradicts the shipped catalogue (same key, other model) is refused at merge time
    clash = _cat({"resnet50-bs64": _job("resnet50-bs64", throughput={("CPU-X-1T", 1): _fig(1.0)})}, gpus=("CPU-X-1T",))
    jsonio.write_bytes(path, jsonio.dumps_canonical(clash.to_dict()))
    assert "resnet50-bs64" in _one_error_line(runner.invoke(app, ["catalogue", "merge", str(path)]))
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "schedbench/catalogue/1"}')
    assert str(bad) in _one_error_line(runner.invoke(app, ["catalogue", "merge", str(bad)]))
    monkeypatch.setenv(layers.USER_ENV, "none")
    assert "n-bs8" not in load_catalogue().job_types


def test_shipped_cpu_entries_of_the_four_article_models() -> None:
    cat = load_catalogue()
    shipped = load_catalogue(layers=False)
    profiled = layers.read_fragment(layers.profiled_path())
    assert cat.version == shipped.version and set(shipped.job_types) < set(cat.job_types)
    cpu_types = {g for g, spec in profiled.gpus.items() if spec.chip == "CPU"}
    assert cpu_types and not cpu_types & set(shipped.gpus)
    on_cpu = {
        jt.key.rsplit("-bs", 1)[0] for jt in profiled.job_types.values() if {g for g, _ in jt.throughput} & cpu_types
    }
    assert on_cpu == {"article-cnn", "article-rnn", "article-lstm", "article-gan"}
    for key, jt in profiled.job_types.items():
        assert cat.job(key) == jt and jt.throughput
        for label, f in jt.figures():
            p = f.provenance
            assert p.kind == MEASURED and p.source == "schedbench-profile", label
            assert p.method.startswith("measured by schedbench profile"), label
            assert "`schedbench profile " in p.detail and " run of 20" in p.detail and "torch " in p.hardware, label
            # CPU figures sit on CPU types and say so; GPU figures (a GPU run's entries) never on a CPU type
            on_cpu_type = label.split()[-2 if label.startswith(("throughput", "max batch")) else -1] in cpu_types
            assert on_cpu_type == p.hardware.startswith("CPU measurement (not a GPU)"), label
    for g in cpu_types:
        assert "CPU measurement, not a GPU" in cat.gpus[g].name


def test_a_generated_instance_uses_the_profiled_cpu_entries() -> None:
    from schedbench.generators import generate

    cat = load_catalogue()
    gpu = sorted(g for g, s in cat.gpus.items() if s.chip == "CPU")[0]
    inst = generate("batch", {"jobs": 12, "cluster": [{"gpu_type": gpu, "nodes": 2, "gpus_per_node": 1}]}, seed=1)
    kinds = set(inst.jobs.job_type)
    assert kinds and all(k.startswith("article-") for k in kinds)
    for k in kinds:
        assert cat.throughput(k, gpu, 1).kind == MEASURED
    # GPU clusters never draw a CPU measurement ...
    gpu_inst = generate("batch", {"jobs": 40, "cluster": "gavel"}, seed=1)
    assert not any(k.startswith("article-") for k in gpu_inst.jobs.job_type)


def test_the_profiled_layer_leaves_gpu_instances_unchanged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """... so the suites' hash locks hold with or without it."""
    from schedbench.generators import generate
    from schedbench.instances import content_hash

    params = {"jobs": 60, "cluster": "modern"}
    with_layer = [content_hash(generate(cls, params, seed=3)) for cls in ("allocation", "batch", "online")]
    monkeypatch.setattr(layers, "profiled_path", lambda: tmp_path / "absent.json")
    assert "article-cnn-bs32" not in load_catalogue().job_types
    assert [content_hash(generate(cls, params, seed=3)) for cls in ("allocation", "batch", "online")] == with_layer


def test_cuda_devices_map_to_catalogue_gpu_types() -> None:
    from schedbench.profiler.entry import _cuda_spec, match_gpu
    from schedbench.profiler.hardware import DeviceInfo

    cat = load_catalogue()
    assert match_gpu("NVIDIA A100-SXM4-80GB", cat) == "A100-SXM4-80GB"
    assert match_gpu("NVIDIA GeForce RTX 4090", cat) == "RTX4090"
    assert match_gpu("NVIDIA H200", cat) is None
    info = DeviceInfo(
        "cuda", "NVIDIA H200", 0, 150_000_000_000, None, 16, "2.13.0", "12.8", "91000", "570.1", "3.11.9", "Linux"
    )
    spec, sources = _cuda_spec(info, cat, None)
    assert (spec.id, spec.chip, sources) == ("H200-140GB", "H200", {}) and spec.memory_gib.kind == MEASURED
    spec, sources = _cuda_spec(info, cat, "H100-SXM5-80GB")
    assert spec == cat.gpus["H100-SXM5-80GB"] and set(sources) == set(spec.memory_gib.provenance.inputs)
    with pytest.raises(ProfileError, match="--gpu-type"):
        _cuda_spec(info, cat, "B300")
    with pytest.raises(ProfileError, match="--gpu-type"):
        _cuda_spec(info, cat, next(g for g, s in cat.gpus.items() if s.chip == "CPU"))
    assert "driver 570.1" in info.summary() and "CUDA 12.8" in info.summary()


# ---------------------------------------------------------------------- torch


@needs_torch
def test_flops_of_a_linear_layer_match_the_formula() -> None:
    import torch

    from schedbench.profiler.measure import count_flops

    B, n_in, n_out = 8, 20, 30
    lin = torch.nn.Linear(n_in, n_out)
    x = torch.randn(B, n_in)
    forward = 2 * B * n_in * n_out  # FlopCounterMode counts 2 FLOPs per multiply-add; the bias add counts 0

    def fwd() -> None:
        with torch.no_grad():
            lin(x)

    assert count_flops(fwd)[0] == forward
    # backward: the weight gradient is one more matrix product (the input needs no gradient) ...
    total, by_op = count_flops(lambda: lin(x).sum().backward())
    assert total == 2 * forward and by_op == {"aten.addmm": forward, "aten.mm": forward}
    # ... and the input gradient another one when the input requires it: 3x the forward
    xg = torch.randn(B, n_in, requires_grad=True)
    assert count_flops(lambda: lin(xg).sum().backward())[0] == 3 * forward


@needs_torch
def test_recurrent_layers_are_counted_and_models_match_keras() -> None:
    import torch

    from schedbench.profiler import models
    from schedbench.profiler.measure import count_flops, parameter_counts

    keras = models.keras_parameter_counts()
    g, d = models.article_gan()
    assert parameter_counts([models.article_cnn()])[0] == keras["cnn"] == 93_322
    assert parameter_counts([models.article_rnn()])[0] == keras["rnn"] == 1_292_417
    assert parameter_counts([models.article_lstm()])[0] == keras["lstm"] == 2_701_584
    assert parameter_counts([g])[0] == keras["gan-generator"] and parameter_counts([d])[0] == keras["gan-discriminator"]
    assert g(torch.randn(2, 100)).shape == (2, 1, 28, 28) and d(torch.randn(2, 1, 28, 28)).shape == (2, 1)
    assert models.article_cnn()(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    # the LSTM's fused CPU kernel is invisible to FlopCounterMode; count_flops decomposes it
    B, T, H = 2, 100, 128
    lstm = models.article_lstm()
    tokens = torch.randint(0, 10_000, (B, T))

    def fwd() -> None:
        with torch.no_grad():
            lstm(tokens)

    gates = 2 * B * T * 4 * H * (H + H)  # input and hidden projections, every time step
    assert count_flops(fwd)[0] == gates + 2 * B * H * 10_000


@needs_torch
def test_measure_and_entry_format() -> None:
    from schedbench.profiler.entry import build_fragment
    from schedbench.profiler.measure import measure

    w = BUILTIN["cnn"]
    m = measure(w, 4, steps=3, warmup=1, threads=1)
    assert m.batch_size == 4 and len(m.step_times_s) == 3 and m.params == 93_322 and not m.isolated
    st = m.step_time_s
    assert 0 < st["min"] <= st["p50"] <= st["p95"] <= st["max"]
    assert m.throughput == pytest.approx(4 * 3 / m.elapsed_s) and m.elapsed_s >= sum(m.step_times_s)
    assert m.peak_memory_bytes and m.peak_memory_bytes > 2**20 and m.flops_per_step > 0
    assert m.flops_per_step % 4 == 0 and set(m.flops_by_op) >= {"aten.convolution", "aten.convolution_backward"}
    frag = build_fragment([m], w, "schedbench profile cnn -b 4", load_catalogue())
    again = Catalogue.from_dict(json.loads(jsonio.dumps_canonical(frag.to_dict())), "entry.json")
    assert again == frag
    ((gpu, spec),) = frag.gpus.items()
    assert gpu.startswith("CPU-") and gpu.endswith("-1T") and spec.chip == "CPU"
    jt = frag.job("article-cnn-bs4")
    fig = jt.throughput[(gpu, 1)]
    assert fig.value == pytest.approx(m.throughput, rel=1e-5) and fig.unit == jt.unit == "images/s"
    assert "`schedbench profile cnn -b 4`" in fig.provenance.detail and m.date in fig.provenance.detail
    assert "torch " in fig.provenance.hardware and "1 torch threads" in fig.provenance.hardware
    assert jt.memory_gib[gpu].value == pytest.approx(m.peak_memory_bytes / 2**30, rel=1e-3)
    assert f"{m.flops_per_step:,} FLOPs" in jt.description


def tiny_mlp():  # a user model factory for the import-path test below
    import torch

    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


def broken_factory():
    raise RuntimeError("no weights here")


def hungry_mlp():  # a model that "runs out of memory" above batch size 4
    import torch

    class Hungry(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(6, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[0] > 4:
                raise MemoryError("simulated")
            return self.lin(x)

    return Hungry()


@needs_torch
def test_a_sweep_skips_batch_sizes_that_do_not_fit() -> None:
    args = [
        "profile",
        f"{__name__}:hungry_mlp",
        "--input",
        "float32:6",
        "--loss",
        "mse",
        "--steps",
        "1",
        "--warmup",
        "0",
        "--no-isolate",
    ]
    res = runner.invoke(app, [*args, "-b", "2", "-b", "8", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [m["batch_size"] for m in doc["measurements"]] == [2] and doc["out_of_memory"] == [8]
    assert "batch size 8 skipped" in res.stderr and list(doc["fragment"]["job_types"]) == [f"{__name__}-hungry_mlp-bs2"]
    assert "ran out of memory" in _one_error_line(runner.invoke(app, [*args, "-b", "8"]))


@needs_torch
def test_cli_profile_merge_generate_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(layers.USER_ENV, str(tmp_path / "user.json"))
    entry = tmp_path / "x.json"
    # the built-in CNN in a fresh worker process (the CPU default)
    res = runner.invoke(
        app,
        [
            "profile",
            "cnn",
            "--device",
            "cpu",
            "-b",
            "3",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--threads",
            "1",
            "-o",
            str(entry),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [m["batch_size"] for m in doc["measurements"]] == [3] and all(m["isolated"] for m in doc["measurements"])
    assert "--isolate" in doc["command"] and doc["written"] == str(entry)
    assert json.loads(entry.read_text()) == doc["fragment"]
    res = runner.invoke(app, ["catalogue", "merge", str(entry)])
    assert res.exit_code == 0, res.output
    from schedbench.generators import generate

    gpu = next(iter(doc["fragment"]["gpus"]))
    params = {"jobs": 8, "cluster": [{"gpu_type": gpu, "nodes": 1, "gpus_per_node": 1}], "mix": {"article-cnn-bs3": 1}}
    with pytest.raises(InputError):  # your catalogue is used when asked, never silently
        generate("batch", params, seed=0)
    inst = generate("batch", {**params, "user_catalogue": True}, seed=0)
    assert set(inst.jobs.job_type) == {"article-cnn-bs3"}
    assert inst.metadata["source"]["catalogue"].startswith(load_catalogue(layers=False).version + "+user.")
    # a user model from its import path, in process
    res = runner.invoke(
        app,
        [
            "profile",
            f"{__name__}:tiny_mlp",
            "--input",
            "float32:6",
            "--loss",
            "cross-entropy",
            "-b",
            "4",
            "--steps",
            "2",
            "--warmup",
            "0",
            "--no-isolate",
            "--key",
            "mlp",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    frag = json.loads(res.stdout)["fragment"]
    assert list(frag["job_types"]) == ["mlp-bs4"] and frag["job_types"]["mlp-bs4"]["unit"] == "samples/s"
    assert json.loads(res.stdout)["measurements"][0]["flops_per_step"] == 2 * 4 * (6 * 5 + 5 * 3) * 2 + 2 * 4 * 5 * 3


@needs_torch
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["profile", "resnet"], "unknown model"),
        (["profile", "cnn", "--device", "tpu"], "--device"),
        (["profile", "cnn", "--device", "cuda"], "CUDA is not available"),
        (["profile", "cnn", "-b", "0"], "--batch-size"),
        (["profile", "no_such_module_xyz:f", "--input", "float32:3", "--loss", "mse"], "cannot import"),
        (
            ["profile", f"{__name__}:broken_factory", "--input", "float32:3", "--loss", "mse", "--no-isolate"],
            "no weights here",
        ),
        (
            [
                "profile",
                f"{__name__}:tiny_mlp",
                "--input",
                "float32:7",
                "--loss",
                "mse",
                "--steps",
                "1",
                "--no-isolate",
            ],
            "forward pass failed",
        ),
    ],
)
def test_cli_profile_bad_input_is_one_line(args: list[str], needle: str) -> None:
    import torch

    if torch.cuda.is_available() and "cuda" in args:
        pytest.skip("this machine has CUDA")
    assert needle in _one_error_line(runner.invoke(app, args))
