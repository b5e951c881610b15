"""The job-profile catalogue: shipped data, provenance, importers, derivation rules and CLI."""

from __future__ import annotations

import copy
import csv
import json
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedbench import jsonio
from schedbench.catalogue import (
    DERIVED,
    FAMILIES,
    MEASURED,
    SCHEMA,
    SPECIFIED,
    Catalogue,
    build_catalogue,
    derive,
    gpus,
    load_catalogue,
)
from schedbench.catalogue.build import dumps, shipped_path
from schedbench.catalogue.gavel import read_gavel
from schedbench.catalogue.lambdalabs import find_tables, read_lambda, read_lambda_file
from schedbench.catalogue.model import Colocation, Figure, Provenance
from schedbench.cli import catalogue as profiles_cli
from schedbench.errors import InputError

DATA = Path(__file__).parent / "data" / "catalogue"
GAVEL_SAMPLE = DATA / "gavel_sample.json"
LAMBDA_SAMPLES = DATA / "lambda"
MALFORMED = DATA / "malformed"
TRACES = Path(__file__).resolve().parents[1].parent / "shared" / "traces"
GAVEL_SHARED = TRACES / "gavel_simulation_throughputs.json"

runner = CliRunner()


def _shared() -> Path:
    if not GAVEL_SHARED.exists():
        pytest.skip(
            f"published source files not available: {GAVEL_SHARED} does not exist (../shared/traces sits "
            "beside the project's root in the development setup; a fresh clone does not have it)"
        )
    return TRACES


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue(layers=False)  # the shipped file alone (the profiled layer: tests/test_profiler.py)


@pytest.fixture(scope="module")
def sample() -> Catalogue:
    return build_catalogue(GAVEL_SAMPLE, LAMBDA_SAMPLES, version="test")


# ---------------------------------------------------------------------- the shipped catalogue


def test_shipped_catalogue_round_trips_byte_identically(shipped: Catalogue) -> None:
    raw = shipped_path().read_bytes()
    assert dumps(shipped) == raw
    again = Catalogue.from_dict(json.loads(raw))
    assert dumps(again) == raw
    doc = json.loads(raw)
    assert doc["schema"] == SCHEMA and doc["version"] == shipped.version


def test_every_figure_has_a_provenance_citing_a_known_source(shipped: Catalogue) -> None:
    n = 0
    for label, prov in shipped.provenances():
        n += 1
        assert prov.source in shipped.sources, label
        assert all(k in shipped.sources for k in prov.inputs), label
        assert prov.inputs[0] == prov.source, label
        assert prov.detail and prov.hardware and prov.method, label
        if prov.kind == DERIVED:
            assert prov.rule and prov.rule.startswith("R"), label
        else:
            assert prov.kind in (MEASURED, SPECIFIED) and prov.rule is None, label
    assert n > 1000
    for s in shipped.sources.values():
        assert s.citation and s.url_or_file and s.licence


def test_measured_figures_come_from_the_two_published_sources(shipped: Catalogue) -> None:
    for label, f in shipped.figures():
        if f.kind == MEASURED:
            assert f.provenance.source in ("gavel", "lambda"), label
        if f.kind == SPECIFIED:
            assert f.provenance.source.startswith("nvidia-"), label


def test_shipped_catalogue_covers_the_families_and_gpu_types(shipped: Catalogue) -> None:
    assert {"cnn", "rnn", "gan", "transformer", "recommendation", "rl"} <= set(shipped.families())
    chips = {g.chip for g in shipped.gpus.values()}
    assert {"K80", "P100", "V100", "A100", "H100"} <= chips
    for key in (
        "resnet18-bs16",
        "resnet50-bs64",
        "transformer-bs32",
        "lstm-lm-bs20",
        "recommendation-bs512",
        "a3c",
        "cyclegan",
        "ssd-fp32-maxbatch",
        "gnmt-fp32-maxbatch",
        "bert-large-squad-fp32-maxbatch",
        "transformerxl-base-fp16-maxbatch",
        "ncf-fp32-maxbatch",
    ):
        assert key in shipped.job_types, key
    counts = shipped.coverage_counts()
    assert counts[MEASURED] > 0 and counts[DERIVED] > 0
    assert sum(counts.values()) == len(shipped.job_types) * len(shipped.gpus)


def test_accessors_for_instance_generators(shipped: Catalogue) -> None:
    fig = shipped.throughput("resnet50-bs64", "V100", 1)
    assert fig is not None and fig.kind == MEASURED and fig.unit == "iterations/s"
    assert shipped.throughput("resnet50-bs64", "V100", 2, placement="unconsolidated") is not None
    assert shipped.throughput("resnet50-bs64", "V100", 3) is None
    derived = shipped.throughput("resnet50-bs64", "A100-SXM4-80GB", 1)
    assert derived is not None and derived.is_derived and "R2" in (derived.provenance.rule or "")
    assert shipped.throughput("a3c", "A100-SXM4-80GB", 1) is None  # no reference for rl: unknown
    mem = shipped.memory("resnet50-bs64", "V100")
    assert mem is not None and mem.is_derived and 0 < mem.value <= shipped.gpu_memory_gib("V100")
    share = shipped.compute_share("resnet50-bs64", "V100")
    assert share is not None and 0 < share.value <= 1.5
    assert shipped.gpu_memory_gib("K80") == 12 and shipped.gpu_memory_gib("H100-SXM5-80GB") == 80
    assert all(jt.family == "cnn" for jt in shipped.job_types_in("cnn"))
    with pytest.raises(ValueError):
        shipped.job_types_in("quantum")
    with pytest.raises(KeyError):
        shipped.job("no-such-job")
    with pytest.raises(ValueError):
        shipped.throughput("resnet50-bs64", "V100", 2, placement="scattered")
    assert shipped.coverage()["a3c"]["K80"] == MEASURED
    assert shipped.coverage()["a3c"]["H100-SXM5-80GB"] == "unknown"


def test_derived_figures_do_not_replace_measured_ones(shipped: Catalogue) -> None:
    for jt in shipped.job_types.values():
        for (g, _), f in jt.throughput.items():
            if f.is_derived:
                assert jt.gpu_status(g) == DERIVED  # a GPU type with a measurement gets no estimates


# ---------------------------------------------------------------------- against the published files


def test_rebuilding_from_the_published_files_reproduces_the_shipped_catalogue() -> None:
    traces = _shared()
    built = build_catalogue(traces / "gavel_simulation_throughputs.json", traces)
    assert dumps(built) == shipped_path().read_bytes()


def test_shipped_measured_figures_equal_the_source_numbers(shipped: Catalogue) -> None:
    traces = _shared()
    raw = json.loads((traces / "gavel_simulation_throughputs.json").read_text())
    for gpu, wt in (("V100", "v100"), ("K80", "k80"), ("P100", "p100")):
        for n in (1, 2, 4, 8):
            assert (
                shipped.throughput("resnet50-bs64", gpu, n).value
                == raw[wt][f"('ResNet-50 (batch size 64)', {n})"]["null"]
            )
    assert (
        shipped.throughput("resnet50-bs64", "V100", 8, placement="unconsolidated").value
        == raw["v100_unconsolidated"]["('ResNet-50 (batch size 64)', 8)"]["null"]
    )
    pair = raw["v100"]["('ResNet-50 (batch size 64)', 1)"]["('Transformer (batch size 32)', 1)"]
    assert shipped.job("resnet50-bs64").colocation["V100"].pairs["transformer-bs32"] == tuple(pair)
    with open(traces / "lambda_pytorch_train_throughput_fp32.csv", newline="") as fh:
        rows = {r["name_gpu"]: r for r in csv.DictReader(fh)}
    assert shipped.throughput("resnet50-fp32-maxbatch", "A100-SXM4-80GB", 1).value == float(
        rows["A100 80GB SXM4"]["resnet50"]
    )
    assert shipped.throughput("resnet50-fp32-maxbatch", "A100-PCIe-40GB", 1).value == float(
        rows["LambdaCloud A100 40GB PCIe"]["resnet50"]
    )
    # several systems' rows for one GPU type and count: the median (one outlying row cannot decide it)
    same = [
        float(r["bert_large_squad"])
        for name, r in rows.items()
        if name.endswith("8x H100 80GB SXM5") and float(r["bert_large_squad"]) > 0
    ]
    assert len(same) == 7
    assert shipped.throughput("bert-large-squad-fp32-maxbatch", "H100-SXM5-80GB", 8).value == statistics.median(same)
    assert shipped.throughput("resnet50-fp32-maxbatch", "H100-SXM5-80GB", 1).value == 1893  # not Lambda's 1,753
    with open(traces / "lambda_pytorch_train_bs_fp16.csv", newline="") as fh:
        bs = {r["name_gpu"]: r for r in csv.DictReader(fh)}
    assert shipped.job("gnmt-fp16-maxbatch").max_batch[("V100", 2)].value == float(
        bs["LambdaCloud 2x V100 16GB"]["gnmt"]
    )


# ---------------------------------------------------------------------- importers on the samples


def test_gavel_importer_on_the_sample() -> None:
    result = read_gavel(GAVEL_SAMPLE)
    cat = result.catalogue
    assert set(cat.job_types) == {"resnet50-bs64", "a3c"}
    assert set(cat.gpus) == {"K80", "V100"}
    jt = cat.job("resnet50-bs64")
    assert jt.family == "cnn" and jt.batch_size == 64 and jt.unit == "iterations/s"
    assert {k: f.value for k, f in jt.throughput.items()} == {
        ("K80", 1): 0.5,
        ("K80", 2): 0.9,
        ("V100", 1): 4.0,
        ("V100", 2): 7.5,
    }
    assert {k: f.value for k, f in jt.throughput_unconsolidated.items()} == {("V100", 2): 6.5}
    assert jt.colocation["V100"].pairs == {"resnet50-bs64": (2.0, 2.0), "a3c": (3.6, 6.0)}
    assert cat.job("a3c").colocation["K80"].pairs["a3c"] == (0.0, 0.0)
    assert cat.job("a3c").batch_size is None and cat.job("a3c").family == "rl"
    prov = jt.throughput[("V100", 1)].provenance
    assert prov.kind == MEASURED and prov.source == "gavel" and prov.rule is None
    assert "gavel_sample.json" in prov.detail and "('ResNet-50 (batch size 64)', 1)" in prov.detail
    assert any("multi-GPU" in n for n in result.notes)


def test_lambda_importer_on_the_samples() -> None:
    result = read_lambda(find_tables(LAMBDA_SAMPLES))
    cat = result.catalogue
    assert set(cat.job_types) == {"resnet50-fp32-maxbatch", "gnmt-fp32-maxbatch", "resnet50-fp16-maxbatch"}
    jt = cat.job("resnet50-fp32-maxbatch")
    assert jt.unit == "images/s" and jt.precision == "fp32" and jt.batch_size is None
    assert {k: f.value for k, f in jt.throughput.items()} == {
        ("V100", 1): 400.0,
        ("V100", 2): 780.0,
        ("A100-SXM4-80GB", 1): 1200.0,
        ("H100-SXM5-80GB", 1): 2050.0,
    }
    assert jt.max_batch[("V100", 2)].value == 256
    gnmt = cat.job("gnmt-fp32-maxbatch")
    assert ("V100", 2) not in gnmt.throughput  # 0 = no result
    assert gnmt.unit == "tokens/s"
    prov = jt.throughput[("H100-SXM5-80GB", 1)].provenance
    # Lambda's row and Dell's for the same GPU type and count: their median, both lines cited
    assert "5 ('H100 80GB SXM5': 2000)" in prov.detail and "6 ('Dell H100 80GB SXM5': 2100)" in prov.detail
    assert "median of 2 rows" in prov.detail and "'resnet50'" in prov.detail
    assert any("Dell" in n for n in result.notes)
    assert "LambdaCloud 2x V100 16GB" in cat.gpus["V100"].aliases


def test_lambda_importer_needs_a_recognisable_name_or_options(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_bytes((LAMBDA_SAMPLES / "lambda_pytorch_train_throughput_fp32.csv").read_bytes())
    with pytest.raises(InputError) as exc:
        read_lambda_file(target)
    assert exc.value.file == str(target)
    cat = read_lambda_file(target, "throughput", "fp32").catalogue
    assert "resnet50-fp32-maxbatch" in cat.job_types


def test_lambda_name_parsing() -> None:
    p = gpus.parse_lambda_name
    assert p("LambdaCloud 4xV100 16GB") == gpus.LambdaName("LambdaCloud", 4, "V100")
    assert p("1CC 2x H100 80GB SXM5") == gpus.LambdaName("1CC", 2, "H100-SXM5-80GB")
    assert p("8x A100 80GB SXM4") == gpus.LambdaName(None, 8, "A100-SXM4-80GB")
    assert p("LambdaCloud A10") == gpus.LambdaName("LambdaCloud", 1, "A10")
    assert p("LambdaCloud A100 40GB PCIe") == gpus.LambdaName("LambdaCloud", 1, "A100-PCIe-40GB")
    assert p("Quadro RTX 8000") == gpus.LambdaName(None, 1, "RTX8000")
    assert p("Voodoo 5 6000") is None and p("XA10") is None


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("gavel_bad_value.json", '["null"]'),
        ("gavel_bad_pair.json", "[\"('A3C', 1)\"][\"('A3C', 1)\"]"),
        ("gavel_unknown_model.json", "AlexNet"),
        ("gavel_unknown_worker.json", '["tpu"]'),
    ],
)
def test_malformed_gavel_files_name_file_and_position(name: str, where: str) -> None:
    path = MALFORMED / name
    with pytest.raises(InputError) as exc:
        read_gavel(path)
    assert exc.value.file == str(path)
    assert where in exc.value.path


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("lambda_throughput_fp32_bad_number.csv", "line 3 ('A100 80GB SXM4'), column 'resnet50'"),
        ("lambda_throughput_fp32_short_row.csv", "line 2"),
        ("lambda_throughput_fp32_unknown_gpu.csv", "line 2 ('Voodoo 5 6000'), column 'name_gpu'"),
        ("lambda_throughput_fp32_count_mismatch.csv", "column 'num_gpu'"),
        ("lambda_throughput_fp32_unknown_model.csv", "line 1, column 5"),
    ],
)
def test_malformed_lambda_files_name_file_and_position(name: str, where: str) -> None:
    path = MALFORMED / name
    with pytest.raises(InputError) as exc:
        read_lambda([path])
    assert exc.value.file == str(path)
    assert where in exc.value.path


def test_not_json_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "gavel.json"
    bad.write_text("{not json")
    with pytest.raises(InputError):
        read_gavel(bad)
    with pytest.raises(InputError):
        read_gavel(tmp_path / "missing.json")
    with pytest.raises(InputError) as exc:
        find_tables(tmp_path)
    assert exc.value.file == str(tmp_path)


# ---------------------------------------------------------------------- derivation rules


def test_build_on_the_samples_applies_the_rules(sample: Catalogue) -> None:
    jt = sample.job("resnet50-bs64")
    a100 = jt.throughput[("A100-SXM4-80GB", 1)]
    assert a100.is_derived and a100.value == pytest.approx(4.0 * 1200 / 400)
    assert a100.provenance.inputs[:2] == ("gavel", "lambda")
    assert jt.throughput[("H100-SXM5-80GB", 1)].value == pytest.approx(4.0 * 2050 / 400)  # median of two rows
    assert ("A100-SXM4-80GB", 2) not in jt.throughput  # no Lambda figure at 2 GPUs
    assert jt.throughput[("V100", 1)].kind == MEASURED
    # R4: the job's memory is one figure on every GPU type (context + 12 B x parameters + 64 x activations)
    from schedbench.catalogue.memory import MODELS

    r4 = MODELS["ResNet-50"].gib(64)
    assert jt.memory_gib["V100"].value == pytest.approx(r4, rel=1e-6) == jt.memory_gib["A100-SXM4-80GB"].value
    assert (jt.memory_gib["V100"].provenance.rule or "").startswith("R4")
    assert jt.compute_share["V100"].value == pytest.approx((2.0 / 4.0 + 3.6 / 4.0) / 2)
    a3c = sample.job("a3c")
    assert a3c.compute_share["K80"].value == pytest.approx(3.0 / 4.0)  # the [0, 0] self-pair is left out
    assert a3c.gpus() == ["K80", "V100"]  # rl: no reference, nothing derived
    lam = sample.job("resnet50-fp32-maxbatch")
    assert lam.memory_gib["V100"].value == 16 and "R1a" in (lam.memory_gib["V100"].provenance.rule or "")
    assert Catalogue.from_dict(json.loads(dumps(sample)), "x").to_dict() == sample.to_dict()


def _fig(value: float, source: str = "gavel", unit: str = "iterations/s") -> Figure:
    return Figure(value, unit, Provenance(MEASURED, source, "d", "h", "m"))


def test_rule_functions() -> None:
    cap = _fig(16, "nvidia-v100", "GiB")
    assert derive.memory_proportional(cap, "V100", 256, 128, _fig(128, "lambda"), "job", "ref") is None
    mem = derive.memory_proportional(cap, "V100", 32, 128, _fig(128, "lambda"), "job", "ref")
    assert mem is not None and mem.value == 4 and mem.provenance.inputs == ("lambda", "nvidia-v100")
    refs = [("a", _fig(4, "lambda"), _fig(1, "lambda")), ("b", _fig(9, "lambda"), _fig(1, "lambda"))]
    r = derive.speed_ratio(_fig(2), "A100", 1, refs, scope="cnn family", job_label="job")
    assert r.value == pytest.approx(2 * 6) and "geometric mean of 2 ratios" in (r.provenance.rule or "")
    coloc = Colocation(
        "iterations/s",
        Provenance(MEASURED, "gavel", "d", "h", "m"),
        {"x": (1.0, 1.0), "y": (3.0, 2.0), "z": (0.0, 0.0), "w": (2.0, 5.0)},
    )
    share = derive.compute_share(coloc, _fig(4), "V100", "job")
    assert share is not None and share.value == pytest.approx(0.5) and "1 listed pairs" in (share.provenance.rule or "")
    assert derive.compute_share(coloc, _fig(0), "V100", "job") is None
    with pytest.raises(ValueError):
        Provenance(DERIVED, "gavel", "d", "h", "m")  # derived without a rule
    with pytest.raises(ValueError):
        Provenance(MEASURED, "gavel", "d", "h", "m", rule="R9")


# ---------------------------------------------------------------------- strict reading of catalogue files


def _broken(shipped: Catalogue, edit) -> dict:
    doc = copy.deepcopy(shipped.to_dict())
    edit(doc)
    return doc


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d.update(schema="other/1"), "$.schema"),
        (lambda d: d["sources"].pop("nvidia-k80"), "$.gpus.K80.memory_gib.provenance.source"),
        (lambda d: d["sources"].pop("lambda"), "$.job_types.bert-base-squad-fp16-maxbatch.source"),
        (
            lambda d: d["job_types"]["a3c"]["throughput"]["V100"]["1"].update(value=-1),
            "$.job_types.a3c.throughput.V100",
        ),
        (
            lambda d: d["job_types"]["a3c"]["throughput"]["V100"]["1"]["provenance"].update(rule=None, kind="derived"),
            "$.job_types.a3c.throughput.V100['1'].provenance.rule",
        ),
        (lambda d: d["job_types"]["a3c"].update(family="chess"), "$.job_types.a3c.family"),
        (
            lambda d: d["job_types"]["a3c"]["colocation"]["V100"]["pairs"].update(nope=[1, 2]),
            "$.job_types.a3c.colocation.V100.pairs.nope",
        ),
        (lambda d: d["gpus"]["V100"].update(extra=1), "$.gpus.V100.extra"),
    ],
)
def test_malformed_catalogue_documents_are_refused(shipped: Catalogue, edit, where: str) -> None:
    with pytest.raises(InputError) as exc:
        Catalogue.from_dict(_broken(shipped, edit), "cat.json")
    assert exc.value.file == "cat.json"
    assert exc.value.path.startswith(where) or where in exc.value.path


def test_load_catalogue_from_a_user_file(tmp_path: Path, sample: Catalogue) -> None:
    path = tmp_path / "cat.json.gz"
    jsonio.write_bytes(path, dumps(sample))
    assert load_catalogue(path).to_dict() == sample.to_dict()
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "schedbench/catalogue/1"}')
    with pytest.raises(InputError) as exc:
        load_catalogue(bad)
    assert exc.value.file == str(bad)


# ---------------------------------------------------------------------- CLI


def _run(*args: str):
    return runner.invoke(profiles_cli.app, list(args))


def test_cli_list_and_show() -> None:
    res = _run("list", "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["job_types"]
    assert {r["family"] for r in rows} <= set(FAMILIES)
    res = _run("list", "--family", "rl")
    assert res.exit_code == 0 and "a3c" in res.stdout
    res = _run("list", "--family", "chess")
    assert res.exit_code == 2
    res = _run("show", "resnet50-bs64")
    assert res.exit_code == 0 and "R2 speed-ratio" in res.stdout and "Narayanan" in res.stdout
    res = _run("show", "resnet50-bs64", "--json")
    doc = json.loads(res.stdout)
    assert doc["key"] == "resnet50-bs64" and "gavel" in doc["sources"] and "lambda" in doc["sources"]
    res = _run("show", "resnet99")
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_cli_coverage() -> None:
    res = _run("coverage", "--json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["coverage"]["a3c"]["V100"] == MEASURED and sum(doc["counts"].values()) > 0
    res = _run("coverage", "--markdown")
    assert res.exit_code == 0 and res.stdout.startswith("| job type | family |")
    assert _run("coverage").exit_code == 0


def test_cli_import_and_build(tmp_path: Path) -> None:
    out = tmp_path / "gavel.json"
    res = _run("import", "gavel", str(GAVEL_SAMPLE), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "2 job types" in res.stdout
    frag = load_catalogue(out)
    assert frag.throughput("a3c", "V100", 1).value == 8.0
    res = _run("import", "lambda", *map(str, find_tables(LAMBDA_SAMPLES)), "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["job_types"] == 3
    res = _run("list", "--catalogue", str(out))
    assert res.exit_code == 0 and "resnet50-bs64" in res.stdout
    built = tmp_path / "full.json"
    res = _run("build", "--gavel", str(GAVEL_SAMPLE), "--lambda-dir", str(LAMBDA_SAMPLES), "-o", str(built))
    assert res.exit_code == 0, res.output
    assert load_catalogue(built).throughput("resnet50-bs64", "A100-SXM4-80GB", 1).is_derived


@pytest.mark.parametrize(
    "args",
    [
        ("import", "lambda", str(MALFORMED / "lambda_throughput_fp32_bad_number.csv")),
        ("import", "gavel", str(MALFORMED / "gavel_bad_value.json")),
        ("import", "gavel", "/no/such/file.json"),
        ("import", "caffe", str(GAVEL_SAMPLE)),
        ("build", "--gavel", str(GAVEL_SAMPLE), "--lambda-dir", "/no/such/dir", "-o", "/tmp/x.json"),
        ("coverage", "--catalogue", str(GAVEL_SAMPLE)),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    res = _run(*args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert res.stderr.strip().startswith("error:") and len(res.stderr.strip().splitlines()) == 1


def test_cli_rebuild_matches_shipped(tmp_path: Path) -> None:
    traces = _shared()
    out = tmp_path / "catalogue.json"
    res = _run(
        "build",
        "--gavel",
        str(traces / "gavel_simulation_throughputs.json"),
        "--lambda-dir",
        str(traces),
        "-o",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == shipped_path().read_bytes()
