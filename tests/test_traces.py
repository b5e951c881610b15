"""Trace readers, fits, samplers and replay importers (schedbench.traces).

Unit tests run on tiny hand-written samples (tests/data/traces/) and synthetic data; the tests at
the end re-fit the published traces in ``../shared/traces`` and check the shipped fits agree (they
skip when that folder is absent, as on a fresh clone).
"""

from __future__ import annotations

import gzip
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from schedbench import jsonio
from schedbench.cli.traces import app
from schedbench.errors import InputError
from schedbench.importers import Importer
from schedbench.instances import load, save
from schedbench.instances.model import Instance
from schedbench.traces import ArrivalModel, DurationModel, FractionModel, GangModel, load_fits, readers
from schedbench.traces import fit as fitmod
from schedbench.traces.models import shipped_fit
from schedbench.traces.replay import TRACE_IMPORTERS, read_alibaba_openb, read_philly_window
from schedbench.validator import validate

DATA = Path(__file__).parent / "data" / "traces"
PHILLY = DATA / "philly_jobs_sample.csv"
GAVEL = DATA / "gavel_philly_job_sample.csv"
PODS = DATA / "openb_pod_list_sample.csv"
NODES = DATA / "openb_node_list_gpu_node.csv"
ACME = DATA / "acme_summary_sample.csv"
SHARED_TRACES = Path(__file__).resolve().parents[1].parent / "shared" / "traces"

runner = CliRunner()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def replace_line(src: Path, line: int, new: str) -> str:
    """The text of ``src`` with (1-based) ``line`` replaced."""
    lines = src.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = new
    return "\n".join(lines)


# --------------------------------------------------------------------------- readers


def test_read_philly_sample() -> None:
    tr = readers.read_philly(PHILLY)
    assert len(tr) == 16
    assert tr.line.tolist() == list(range(2, 18))
    # naive timestamps: 2017-10-02 08:00:00 of the trace's clock, whatever the local timezone
    assert tr.timestamp[0] == int(np.datetime64("2017-10-02T08:00:00", "s").astype(np.int64))
    assert tr.timestamp[0] % 86400 == 8 * 3600
    assert tr.duration[:3].tolist() == [120.0, 3600.0, 45.0]
    assert tr.num_gpus.dtype == np.int64 and tr.num_gpus.max() == 16
    assert sorted(set(tr.cluster.tolist())) == ["vc1", "vc2", "vc3"]
    assert tr.sha256 == jsonio.sha256_hex(PHILLY.read_bytes())


def test_read_other_samples() -> None:
    g = readers.read_gavel(GAVEL)
    assert len(g) == 10 and g.num_gpus.tolist() == [1, 1, 2, 8, 4, 1, 1, 8, 1, 4]
    pods = readers.read_alibaba_pods(PODS)
    assert pods.name.tolist()[:2] == ["pod-a", "pod-b"]
    assert pods.gpu_spec[2] == ("V100M16", "V100M32") and pods.gpu_spec[0] == ()
    assert math.isnan(pods.scheduled_time[4]) and pods.scheduled_time[2] == 25.0
    assert pods.gpu_milli.tolist() == [1000, 500, 250, 0, 1000, 1000, 1000, 470]
    nodes = readers.read_alibaba_nodes(NODES)
    assert nodes.gpu.tolist() == [8, 2, 2, 4, 0] and nodes.model.tolist()[-1] == ""
    acme = readers.read_acme(ACME)
    assert acme.clusters == ("Alpha", "Beta")
    assert acme.values["Alpha"]["fail_rate_gpu"] == 0.3 and acme.values["Beta"]["fail_rate_gpu"] is None


def test_detect_format_and_gzip(tmp_path: Path) -> None:
    expected = {PHILLY: "philly", GAVEL: "gavel", PODS: "alibaba-pods", NODES: "alibaba-nodes", ACME: "acme"}
    for path, fmt in expected.items():
        assert readers.detect_format(path) == fmt
    gz = tmp_path / "philly.csv.gz"
    gz.write_bytes(gzip.compress(PHILLY.read_bytes(), mtime=0))
    a, b = readers.read_philly(PHILLY), readers.read_philly(gz)
    assert np.array_equal(a.timestamp, b.timestamp) and np.array_equal(a.duration, b.duration)
    bad = write(tmp_path, "x.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(InputError) as exc:
        readers.detect_format(bad)
    assert exc.value.path == "line 1" and "known trace format" in exc.value.expected


MALFORMED = [
    # (sample, line, new text of that line, expected path, words in the message)
    (PHILLY, 3, "2017-10-02 08:00:00,abc,1,120.0,vc1", "line 3, column 2 (duration)", "decimal number"),
    (PHILLY, 4, "2017-10-02 08:00:00,nan,1,120.0,vc1", "line 4, column 2 (duration)", "decimal number"),
    (PHILLY, 2, "2017-10-02 08:00:00,0,1,0,vc1", "line 2, column 2 (duration)", "> 0"),
    (PHILLY, 5, "2017-10-02 08:00:00,10,0,0,vc1", "line 5, column 3 (num_gpus)", ">= 1"),
    (PHILLY, 6, "2017-10-02 08:00:00,10,1.5,0,vc1", "line 6, column 3 (num_gpus)", "integer"),
    (PHILLY, 7, "2017-02-30 08:00:00,10,1,10,vc1", "line 7, column 1 (timestamp)", "calendar time"),
    (PHILLY, 8, "02/10/2017 08:00,10,1,10,vc1", "line 8, column 1 (timestamp)", "YYYY-MM-DD"),
    (PHILLY, 9, "2017-10-02 08:00:00,10,1,10", "line 9", "5 comma-separated fields"),
    (PHILLY, 10, "", "line 10", "an empty line"),
    (PHILLY, 11, "2017-10-02 08:00:00,10,1,-1,vc1", "line 11, column 4 (gpu_time)", ">= 0"),
    (PHILLY, 12, "2017-10-02 08:00:00,10,1,10,", "line 12, column 5 (cluster)", "non-empty"),
    (PHILLY, 1, "timestamp,duration,gpus,gpu_time,cluster", "line 1", "num_gpus"),
    (PHILLY, 1, "timestamp,duration,num_gpus,duration,cluster", "line 1, column 4", "second column"),
    (GAVEL, 3, "1e999,1", "line 3, column 1 (duration_s)", "finite"),
    (PODS, 3, "pod-b,2000,4096,1,1500,,BE,Running,10,2000,10", "line 3, column 5 (gpu_milli)", "<= 1000"),
    (PODS, 4, "pod-c,2000,4096,2,500,,BE,Running,10,2000,10", "line 4, column 5 (gpu_milli)", "whole GPUs"),
    (PODS, 5, "pod-a,1,1,0,0,,BE,Running,1,2,3", "line 5, column 1 (name)", "not listed before"),
    (PODS, 6, "pod-x,1,1,1,100,V100||T4,BE,Running,1,2,3", "line 6, column 6 (gpu_spec)", "separated by '|'"),
    (PODS, 7, "pod-y,1,1,1,100,,BE,Running,1,2,x", "line 7, column 11 (scheduled_time)", "empty field"),
    (NODES, 3, "node-1,64000,262144,2,", "line 3, column 5 (model)", "GPU model"),
    (NODES, 4, "node-0,64000,262144,2,T4", "line 4, column 1 (sn)", "not listed before"),
    (
        ACME,
        3,
        "Beta,2000,0,1800,900.0,60.0,0.75,450.0,9.0,0.5,600000.0,8.0,1.5,,,,,,,,,,,,,,,",
        "line 3, column 13 (complete_rate_gpu)",
        "<= 1.0",
    ),
]


@pytest.mark.parametrize(
    ("sample", "line", "text", "where", "words"), MALFORMED, ids=[f"{s.stem}-{w}" for s, _, _, w, _ in MALFORMED]
)
def test_malformed_rows_name_file_line_and_column(
    tmp_path: Path, sample: Path, line: int, text: str, where: str, words: str
) -> None:
    bad = write(tmp_path, sample.name, replace_line(sample, line, text))
    reader = readers.READERS[
        {PHILLY: "philly", GAVEL: "gavel", PODS: "alibaba-pods", NODES: "alibaba-nodes", ACME: "acme"}[sample]
    ]
    with pytest.raises(InputError) as exc:
        reader(bad)
    err = exc.value
    assert err.file == str(bad)
    assert err.path == where, str(err)
    assert words in f"{err.expected} {err.found}", str(err)


def test_malformed_files(tmp_path: Path) -> None:
    cases = {
        "empty.csv": b"",
        "latin1.csv": b"timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-02 08:00:00,1,1,1,v\xe9\n",
        "nul.csv": b"timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-02 08:00:00,1,1,1,v\x00\n",
        "quote.csv": b'timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-02 08:00:00,1,1,1,"v\n',
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError) as exc:
            readers.read_philly(path)
        assert exc.value.file == str(path) and exc.value.path.startswith("line ")
    with pytest.raises(InputError, match="no such file"):
        readers.read_philly(tmp_path / "missing.csv")
    # a header and no rows is a valid, empty table; trailing blank lines are allowed
    header = write(tmp_path, "h.csv", "duration_s,num_gpus\n\n\n")
    assert len(readers.read_gavel(header)) == 0


# --------------------------------------------------------------------------- fits on synthetic data


def test_arrival_fit_recovers_rate_and_profiles() -> None:
    rng = np.random.default_rng(11)
    hour = 1.0 + 0.6 * np.sin(2 * np.pi * (np.arange(24) - 8) / 24)
    week = np.array([1.2, 1.2, 1.1, 1.1, 1.0, 0.7, 0.7])
    hour, week = hour / hour.mean(), week / week.mean()
    rate, weeks = 40.0, 10
    # independent generator: Poisson counts per clock hour, uniform within the hour
    t0 = int(np.datetime64("2018-01-01T00:00:00", "s").astype(np.int64))  # a Monday
    h = np.arange(weeks * 168)
    lam = rate * hour[h % 24] * week[(h // 24) % 7]
    counts = rng.poisson(lam)
    stamps = t0 + np.repeat(h, counts) * 3600 + rng.integers(0, 3600, counts.sum())
    out = fitmod.arrival_params(stamps)
    p = out["params"]
    assert p["rate_per_hour"] == pytest.approx(rate, rel=0.02)
    assert np.allclose(p["hour_profile"], hour, atol=0.06)
    assert np.allclose(p["weekday_profile"], week, atol=0.03)
    assert p["peak_hour"] in (13, 14, 15) and p["trough_hour"] in (1, 2, 3)
    assert out["goodness"]["hourly_count_dispersion"] == pytest.approx(1.0, abs=0.1)
    assert out["data"]["n"] == counts.sum()
    # short spans: no weekday profile under 14 days, no hour profile under a day
    assert fitmod.arrival_params(stamps[stamps < t0 + 3 * 86400])["params"]["weekday_profile"] is None
    assert fitmod.arrival_params(np.array([t0, t0 + 3600]))["params"]["hour_profile"] is None
    with pytest.raises(ValueError):
        fitmod.arrival_params(np.array([t0]))


def test_duration_fit_recovers_lognormal() -> None:
    rng = np.random.default_rng(5)
    d = np.exp(rng.normal(7.0, 1.5, 20_000))
    out = fitmod.duration_params(d, sizes=(1, 2))  # (over-fitted mixtures converge slowly: keep the test short)
    p, g = out["params"], out["goodness"]
    assert p["chosen"] == "lognormal"  # BIC does not reward extra components
    assert p["mu"][0] == pytest.approx(7.0, abs=0.03) and p["sigma"][0] == pytest.approx(1.5, abs=0.03)
    assert g["chosen_ks"] < 0.01
    assert p["quantiles"][0] == fitmod.sig(d.min()) and p["quantiles"][-1] == fitmod.sig(d.max())
    assert len(p["quantiles"]) == len(p["quantile_probs"]) == len(fitmod.QUANTILE_PROBS)
    assert g["model_median"] == pytest.approx(math.exp(7.0), rel=0.03)


def test_duration_fit_recovers_mixture() -> None:
    rng = np.random.default_rng(6)
    n = 30_000
    comp = rng.random(n) < 0.3
    d = np.exp(np.where(comp, rng.normal(4.0, 0.3, n), rng.normal(9.0, 1.0, n)))
    out = fitmod.duration_params(d, sizes=(1, 2))
    p = out["params"]
    assert p["chosen"] == "lognormal-mixture-2"
    assert np.allclose(p["mu"], [4.0, 9.0], atol=0.03) and np.allclose(p["sigma"], [0.3, 1.0], atol=0.02)
    assert p["weights"][0] == pytest.approx(0.3, abs=0.01)
    cands = {c["components"]: c for c in out["goodness"]["candidates"]}
    assert cands[1]["bic"] > cands[2]["bic"] and cands[2]["ks"] < 0.01


def test_em_is_deterministic_and_counts_are_multiplicities() -> None:
    rng = np.random.default_rng(2)
    d = np.round(np.exp(np.where(rng.random(3000) < 0.5, rng.normal(3, 0.5, 3000), rng.normal(8, 1, 3000))))
    x = np.log(d)
    a = fitmod.lognormal_mixture_em(x, 2)
    b = fitmod.lognormal_mixture_em(x, 2)
    assert all(np.array_equal(u, v) for u, v in zip(a[:3], b[:3], strict=True)) and a[3] == b[3]
    uniq, mult = np.unique(x, return_counts=True)
    c = fitmod.lognormal_mixture_em(uniq, 2, counts=mult)
    for u, v in zip(a[:3], c[:3], strict=True):
        assert np.allclose(u, v, rtol=1e-5, atol=1e-7)
    assert c[3] == pytest.approx(a[3], rel=1e-9)


def test_ks_distance_and_mixture_helpers() -> None:
    data = np.array([1.0, 2.0, 2.0, 3.0])
    assert fitmod.ks_distance(data, lambda v: np.clip((v - 0.0) / 4.0, 0, 1)) == pytest.approx(0.25)
    q = fitmod.mixture_quantile([0.1, 0.5, 0.9], [0.4, 0.6], [1.0, 5.0], [0.5, 1.0])
    assert np.allclose(fitmod.mixture_cdf(q, [0.4, 0.6], [1.0, 5.0], [0.5, 1.0]), [0.1, 0.5, 0.9], atol=1e-9)


def test_pmf_and_fractional_params() -> None:
    p = fitmod.pmf_params(np.array([1, 1, 2, 8, 1]))
    assert p == {"values": [1, 2, 8], "counts": [3, 1, 1], "pmf": [0.6, 0.2, 0.2], "mean": 2.6}
    out = fitmod.fractional_params(
        np.array([1, 1, 0, 2, 1]),
        np.array([500, 1000, 0, 1000, 250]),
        (("T4",), (), (), ("V100M16", "T4"), ()),
        np.array(["LS", "BE", "BE", "LS", "LS"]),
    )
    prm = out["params"]
    assert prm["num_gpu"] == {"values": [0, 1, 2], "counts": [1, 3, 1], "pmf": [0.2, 0.6, 0.2]}
    assert prm["gpu_milli_single"]["values"] == [250, 500, 1000]
    assert prm["sharing_fraction_single"] == fitmod.sig(2 / 3)
    assert prm["gpu_spec"] == {
        "constrained_fraction": 0.5,
        "constrained_pods": 2,
        "model_named": {"T4": 2, "V100M16": 1},
        "sets": {"T4": 1, "V100M16|T4": 1},
    }
    assert out["data"] == {"n": 5, "gpu_pods": 4, "cpu_only_pods": 1, "requested_gpus": 3.75, "qos": {"BE": 2, "LS": 3}}
    nodes = fitmod.node_params(np.array([8, 2, 2, 0]), np.array(["G2", "T4", "T4", ""]))
    assert nodes["models"] == {"G2": {"nodes": 1, "gpus": 8}, "T4": {"nodes": 2, "gpus": 4}}
    assert nodes["nodes"] == 3 and nodes["gpus"] == 12


def test_file_level_fits_on_samples() -> None:
    a = fitmod.fit("arrival", PHILLY)
    assert a["kind"] == "arrival" and a["data"]["n"] == 16
    assert a["source"]["file"] == PHILLY.name and a["source"]["sha256"] == jsonio.sha256_hex(PHILLY.read_bytes())
    assert a["source"]["licence"].startswith("Apache-2.0") and "Jeon" in a["source"]["citation"]
    assert a["params"]["per_cluster"]["vc1"]["n"] == 10
    g = fitmod.fit("gpus", GAVEL)
    assert g["params"]["values"] == [1, 2, 4, 8] and g["params"]["counts"] == [5, 1, 2, 2]
    assert g["source"]["licence"].startswith("MIT")
    d = fitmod.fit("duration", PHILLY)
    assert d["data"]["median"] == np.median(readers.read_philly(PHILLY).duration)
    assert d["params"]["chosen"] == "lognormal"  # 16 points: only the single log-normal is tried
    f = fitmod.fit("fractional", NODES, PODS)  # any order; formats from the headers
    assert f["params"]["nodes"]["gpus"] == 16 and f["data"]["gpu_pods"] == 7
    assert f["params"]["gpu_spec"]["model_named"] == {"T4": 2, "V100M16": 1, "V100M32": 1}
    o = fitmod.fit("outcomes", ACME)
    assert o["params"]["clusters"]["Alpha"]["complete_rate_gpu"] == 0.6
    assert o["params"]["clusters"]["Beta"]["cancel_rate_gpu"] is None
    assert o["goodness"]["rate_sums"] == {"Alpha": 1}
    for doc in (a, g, d, f, o):
        assert jsonio.loads(jsonio.dumps_canonical(doc)) == jsonio.loads(jsonio.dumps_canonical(doc))
        assert (
            fitmod.fit(
                doc["kind"], *([PODS, NODES] if doc["kind"] == "fractional" else [Path(DATA / doc["source"]["file"])])
            )
            == doc
        )  # deterministic


def test_fit_argument_errors() -> None:
    with pytest.raises(ValueError, match="unknown fit kind"):
        fitmod.fit("weather", PHILLY)
    with pytest.raises(ValueError, match="acme"):
        fitmod.fit("arrival", ACME)
    with pytest.raises(ValueError, match="one file"):
        fitmod.fit("gpus", PHILLY, GAVEL)
    with pytest.raises(ValueError, match="one pod list"):
        fitmod.fit("fractional", NODES)


# --------------------------------------------------------------------------- samplers


def test_shipped_fits_document() -> None:
    doc = load_fits()
    assert doc["schema"] == fitmod.FITS_SCHEMA
    assert set(doc["fits"]) == set(fitmod.SHIPPED)
    for key, fit in doc["fits"].items():
        assert fit["kind"] == key.split("/")[0]
        src = fit["source"]
        assert src["citation"] and src["licence"] and src["file"] and len(src["sha256"]) == 64
    doc["fits"].clear()  # a copy: the cache is untouched
    assert load_fits()["fits"]
    # canonical bytes on disk
    raw = (Path(fitmod.__file__).parents[1] / "data" / "trace_fits.json").read_bytes()
    assert jsonio.dumps_canonical(jsonio.loads(raw)) == raw
    with pytest.raises(KeyError, match="available"):
        shipped_fit("duration/nowhere")


def test_duration_sampler_reproduces_its_fit() -> None:
    fit = shipped_fit("duration/philly")
    rng = np.random.default_rng(2024)
    mix = DurationModel.from_fit(fit, clamp=False)
    x = mix.sample(rng, 200_000)
    probs = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
    assert np.allclose(np.log(np.quantile(x, probs)), np.log(mix.quantile(probs)), atol=0.05)
    p = fit["params"]
    ks = stats.kstest(x, lambda v: fitmod.mixture_cdf(v, p["weights"], p["mu"], p["sigma"])).statistic
    assert ks < 0.005
    emp = DurationModel.from_fit(fit, method="empirical")
    y = emp.sample(rng, 200_000)
    qp = np.asarray(p["quantile_probs"])
    inner = (qp >= 0.01) & (qp <= 0.99)
    assert np.allclose(np.log(np.quantile(y, qp[inner])), np.log(np.asarray(p["quantiles"])[inner]), atol=0.05)
    assert y.min() >= p["quantiles"][0] and y.max() <= p["quantiles"][-1]
    clamped = DurationModel.from_fit(fit).sample(rng, 100_000)
    assert clamped.min() >= p["quantiles"][0] and clamped.max() <= p["quantiles"][-1]
    with pytest.raises(ValueError):
        DurationModel.from_fit(fit, method="spline")
    with pytest.raises(ValueError, match="expected a 'duration' fit"):
        DurationModel.from_fit(shipped_fit("gpus/philly"))


def chi2_pvalue(samples: np.ndarray, values: np.ndarray, pmf: np.ndarray) -> float:
    observed = np.array([(samples == v).sum() for v in values])
    assert observed.sum() == len(samples)
    return float(stats.chisquare(observed, pmf * len(samples)).pvalue)


def test_gang_and_fraction_samplers_reproduce_their_fits() -> None:
    rng = np.random.default_rng(7)
    for source in ("philly", "gavel"):
        m = GangModel.shipped(source)
        x = m.sample(rng, 200_000)
        assert x.dtype == np.int64
        assert chi2_pvalue(x, m.values, m.pmf) > 1e-3
    small = GangModel.shipped("philly", max_gpus=8)
    assert small.values.max() == 8 and small.pmf.sum() == pytest.approx(1.0)
    f = FractionModel.shipped()
    y = f.sample(rng, 200_000)
    assert y.min() > 0 and y.max() <= 1.0
    assert chi2_pvalue(y, f.values, f.pmf) > 1e-3
    block = shipped_fit("fractional/alibaba-openb")["params"]["gpu_milli_single"]
    assert np.mean(y == 1.0) == pytest.approx(block["pmf"][-1], abs=0.005)
    assert FractionModel.shipped(sharing_only=True).sample(rng, 1000).max() < 1.0


def test_arrival_sampler_follows_the_profiles() -> None:
    m = ArrivalModel.shipped()
    rng = np.random.default_rng(99)
    t = m.sample(rng, 200_000)
    assert (np.diff(t) >= 0).all() and t[0] > 0
    span_h = t[-1] / 3600
    # whole weeks give the mean rate
    assert len(t) / span_h == pytest.approx(m.rate_per_hour, rel=0.02)
    hour_of_week = (t // 3600).astype(np.int64) % 168
    weeks_full = int(span_h // 168)
    full = t < weeks_full * 168 * 3600
    observed = np.bincount(hour_of_week[full], minlength=168)
    expected = m.hourly_rates() * weeks_full
    assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3
    # start_hour shifts the clock: starting at Saturday noon
    start = 5 * 24 + 12
    s = m.sample(np.random.default_rng(1), 5000, start_hour=start)
    assert m.intensity(0.0, start_hour=start)[()] == pytest.approx(m.hourly_rates()[start])
    assert (np.diff(s) >= 0).all()
    # rate_scale multiplies the intensity
    fast = m.sample(np.random.default_rng(3), 100_000, rate_scale=4.0)
    assert len(fast) / (fast[-1] / 3600) == pytest.approx(4 * m.rate_per_hour, rel=0.03)
    flat = ArrivalModel.build(10.0)
    u = flat.sample(np.random.default_rng(4), 50_000)
    assert stats.kstest(np.diff(np.concatenate(([0.0], u))) / 3600, "expon", args=(0, 0.1)).pvalue > 1e-3
    # a zero-rate hour never receives an arrival
    hours = np.ones(24)
    hours[3] = 0.0
    z = ArrivalModel.build(20.0, hours).sample(np.random.default_rng(5), 20_000)
    assert not ((z // 3600).astype(np.int64) % 24 == 3).any()
    with pytest.raises(ValueError):
        m.sample(rng, 10, rate_scale=0.0)
    with pytest.raises(ValueError):
        m.sample(rng, 10, start_hour=168)
    with pytest.raises(ValueError):
        ArrivalModel.build(1.0, np.ones(23))


def test_samplers_are_deterministic_and_fast() -> None:
    models: list[Any] = [
        DurationModel.shipped(),
        DurationModel.shipped(method="empirical"),
        GangModel.shipped(),
        FractionModel.shipped(),
        ArrivalModel.shipped(),
    ]
    for m in models:
        a = m.sample(np.random.default_rng(123), 1000)
        b = m.sample(np.random.default_rng(123), 1000)
        c = m.sample(np.random.default_rng(124), 1000)
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert len(m.sample(np.random.default_rng(0), 0)) == 0
        t0 = time.perf_counter()
        x = m.sample(np.random.default_rng(0), 1_000_000)
        elapsed = time.perf_counter() - t0
        assert len(x) == 1_000_000
        assert elapsed < 2.0, f"{type(m).__name__}: {elapsed:.2f} s for 1e6 samples"
    with pytest.raises(ValueError):
        GangModel.shipped().sample(np.random.default_rng(0), -1)


# --------------------------------------------------------------------------- replay


def sequential_events(inst: Instance) -> dict[str, Any]:
    """A trivially feasible online schedule: jobs one after another in release order."""
    events = []
    clock = 0.0
    jobs = inst.jobs
    for j in np.argsort(jobs.release, kind="stable").tolist():
        gang = int(jobs.gang[j])
        node = next((nd for nd in inst.nodes if len(nd.gpus) >= gang), None)
        gpus = list(node.gpus[:gang]) if node is not None else list(inst.gpu_ids[:gang])
        start = max(clock, float(jobs.release[j]))
        clock = start + float(jobs.time[j, 0])
        events.append({"time": start, "job": jobs.ids[j], "event": "start", "gpus": gpus})
        events.append({"time": clock, "job": jobs.ids[j], "event": "finish"})
    return {"problem": "online", "events": events}


def greedy_placement(inst: Instance) -> dict[str, Any]:
    """First-fit placement respecting gangs, eligibility and capacity."""
    load_ = np.zeros(inst.n_gpus)
    assignment: dict[str, list[str]] = {}
    jobs = inst.jobs
    for j, jid in enumerate(jobs.ids):
        gang = int(jobs.gang[j])
        for k, node in enumerate(inst.nodes):
            t = inst.type_index[node.gpu_type]
            if not jobs.eligible[j, t] or len(node.gpus) < gang:
                continue
            dem = jobs.demand[j, t, 0]
            first = sum(len(nd.gpus) for nd in inst.nodes[:k])
            free = [first + i for i in range(len(node.gpus)) if load_[first + i] + dem <= 1.0 + 1e-12]
            if len(free) >= gang:
                for g in free[:gang]:
                    load_[g] += dem
                assignment[jid] = [inst.gpu_ids[g] for g in free[:gang]]
                break
    return {"problem": "placement", "assignment": assignment}


def roundtrip(inst: Instance, tmp_path: Path) -> Instance:
    path = tmp_path / f"{inst.name}.json"
    digest = save(inst, path)
    again = load(path)
    assert save(again, tmp_path / "again.json") == digest
    return again


def test_trace_importers_registry() -> None:
    assert set(TRACE_IMPORTERS) == {"philly", "alibaba-openb"}
    expected = {"philly": ("online", "mean-jct"), "alibaba-openb": ("placement", "max-weight")}
    for name, imp in TRACE_IMPORTERS.items():
        assert isinstance(imp, Importer) and imp.name == name
        assert (imp.problem_class, imp.objective) == expected[name]
        assert imp.citation and imp.description
        assert imp.known_values(PHILLY if name == "philly" else PODS) is None
    with pytest.raises(ValueError, match="takes no option"):
        TRACE_IMPORTERS["philly"].read(PHILLY, weight="one")
    with pytest.raises(ValueError, match="must be one of"):
        TRACE_IMPORTERS["alibaba-openb"].read(PODS, weight="heavy")


def test_philly_replay_sample(tmp_path: Path) -> None:
    [inst] = TRACE_IMPORTERS["philly"].read(PHILLY)
    assert (inst.problem.cls, inst.problem.objective) == ("online", "mean-jct")
    assert inst.n_jobs == 16 and inst.type_ids == ("philly-gpu",) and inst.resource_ids == ("compute",)
    assert inst.problem.params["allow_multi_node"] is True  # a 16-GPU gang
    jobs = inst.jobs
    # submit order; the earliest (line 4, 07:15:00) is released at 0; equal times keep file order
    assert jobs.ids[:3] == ("job4", "job2", "job3")
    assert jobs.release[:3].tolist() == [0.0, 2700.0, 4500.0]
    assert jobs.ids[3:5] == ("job5", "job6")
    assert jobs.time[1, 0] == 120.0 and jobs.gang.max() == 16 and (jobs.demand == 1.0).all()
    assert jobs.tenant is not None and jobs.tenant[0] == "vc2"
    assert inst.n_gpus % 8 == 0 and inst.n_gpus >= 16
    src = inst.metadata["source"]
    assert src["file"] == PHILLY.name and src["window"]["start"] == "2017-10-02 07:15:00"
    assert "Jeon" in src["citation"] and inst.metadata["notes"]
    again = roundtrip(inst, tmp_path)
    result = validate(again, sequential_events(again))
    assert result.feasible, result.violations


def test_philly_replay_options() -> None:
    [a] = read_philly_window(PHILLY, cluster="vc1", start="2017-10-02 08:15", window_hours="24")
    assert a.n_jobs == 7 and set(a.jobs.tenant or ()) == {"vc1"}
    assert a.jobs.release.min() == 900.0  # first vc1 job at 08:30 in a window from 08:15
    assert a.problem.params["allow_multi_node"] is False
    [b] = read_philly_window(PHILLY, max_jobs=3, gpus=20)
    assert b.n_jobs == 3 and b.n_gpus == 20 and [len(n.gpus) for n in b.nodes] == [8, 8, 4]
    assert b.metadata["source"]["gpus_rule"] == "option gpus"
    [c] = read_philly_window(PHILLY, start="2017-10-03", load=0.1)
    [d] = read_philly_window(PHILLY, start="2017-10-03")
    assert c.n_gpus >= d.n_gpus and c.jobs.release.min() == 600.0
    for bad, match in (
        ({"cluster": "vc9"}, "not a virtual cluster"),
        ({"start": "yesterday"}, "YYYY-MM-DD"),
        ({"start": "2017-13-01"}, "valid calendar"),
        ({"window_hours": -1}, "> 0"),
        ({"max_jobs": 0}, ">= 1"),
        ({"max_jobs": 2.5}, "integer"),
        ({"gpus": 4}, "largest gang"),
        ({"start": "2018-01-01"}, "no jobs"),
    ):
        with pytest.raises(ValueError, match=match):
            read_philly_window(PHILLY, **bad)
    with pytest.raises(InputError):
        read_philly_window(GAVEL)


def test_offered_load_rule() -> None:
    from schedbench.traces.replay import philly_offered_load

    # two jobs: 2 GPUs x 1800 s inside a 3600 s window, and 4 GPUs x (3600 - 2700) s (cut at the end)
    load_ = philly_offered_load(np.array([0.0, 2700.0]), np.array([1800.0, 5000.0]), np.array([2, 4]), 3600.0)
    assert load_ == pytest.approx((2 * 1800 + 4 * 900) / 3600)
    assert philly_offered_load(np.array([0.0]), np.array([5.0]), np.array([1]), 0.0) == 0.0


def test_alibaba_replay_sample(tmp_path: Path) -> None:
    [inst] = TRACE_IMPORTERS["alibaba-openb"].read(PODS)
    assert (inst.problem.cls, inst.problem.objective) == ("placement", "max-weight")
    assert inst.type_ids == ("G2", "T4", "V100M16")
    assert [n.id for n in inst.nodes] == ["node-0", "node-1", "node-2", "node-3"]  # node-4 has no GPU
    jobs = inst.jobs
    # pod-d is CPU-only; pod-f wants 4 T4 GPUs on one node but T4 nodes have 2: left out
    assert jobs.ids == ("pod-a", "pod-b", "pod-c", "pod-e", "pod-g", "pod-h")
    assert any("1 GPU pod(s)" in note for note in inst.metadata["notes"])
    t = inst.type_index
    assert jobs.demand[1, t["G2"], 0] == 0.5 and jobs.demand[3, t["G2"], 0] == 1.0
    assert jobs.eligible[2].tolist() == [False, False, True]  # V100M16|V100M32 -> V100M16 (no V100M32 node)
    assert jobs.eligible[3].tolist() == [True, False, False]  # 8 GPUs: only the G2 node has 8
    assert jobs.eligible[5].tolist() == [False, True, False]  # gpu_spec T4
    assert jobs.gang.tolist() == [1, 1, 1, 8, 2, 1] and (jobs.weight == 1).all()
    assert any("V100M32" in note for note in inst.metadata["notes"])
    again = roundtrip(inst, tmp_path)
    sol = greedy_placement(again)
    result = validate(again, sol)
    assert result.feasible, result.violations
    assert result.objective == len(sol["assignment"]) == 5  # pod-e (8 GPUs) cannot share the G2 node


def test_alibaba_replay_options(tmp_path: Path) -> None:
    [w] = read_alibaba_openb(PODS, weight="gpu-share")
    assert w.jobs.weight.tolist() == [1.0, 0.5, 0.25, 8.0, 2.0, 0.47]
    [win] = read_alibaba_openb(PODS, start=15, window_hours=1)
    assert win.jobs.ids == ("pod-c", "pod-e", "pod-g")
    [few] = read_alibaba_openb(PODS, max_jobs=2, nodes=NODES)
    assert few.jobs.ids == ("pod-a", "pod-b")
    # no node list beside the file
    lonely = tmp_path / "openb_pod_list_x.csv"
    lonely.write_bytes(PODS.read_bytes())
    with pytest.raises(InputError, match="node list"):
        read_alibaba_openb(lonely)
    with pytest.raises(ValueError, match="no GPU pod"):
        read_alibaba_openb(PODS, start=10_000)
    with pytest.raises(ValueError, match="weight"):
        read_alibaba_openb(PODS, weight="qos")


# --------------------------------------------------------------------------- CLI


def test_cli_fit_show_and_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["fit", "gpus", str(GAVEL), "--json"])
    assert res.exit_code == 0, res.output
    assert jsonio.loads(res.stdout)["params"]["counts"] == [5, 1, 2, 2]
    out = tmp_path / "fit.json"
    res = runner.invoke(app, ["fit", "fractional", str(PODS), str(NODES), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "gpu_milli_single" in res.stdout and jsonio.load(out)["kind"] == "fractional"
    res = runner.invoke(app, ["show"])
    assert res.exit_code == 0 and "duration/philly" in res.stdout
    res = runner.invoke(app, ["show", "gpus/gavel", "--json"])
    assert res.exit_code == 0 and jsonio.loads(res.stdout)["kind"] == "gpus"
    for args in (
        ["fit", "weather", str(PHILLY)],
        ["fit", "arrival", str(ACME)],
        ["show", "nope"],
        ["fit", "gpus", str(tmp_path / "missing.csv")],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert "error:" in res.output and "Traceback" not in res.output


# --------------------------------------------------------------------------- published traces

#: Fit fields produced by the EM optimiser: compared to 1e-4 relative (floating-point summation
#: may differ across platforms); every other field must agree exactly.
_EM_FIELDS = {"weights", "mu", "sigma", "candidates", "chosen_ks", "model_median", "model_p90", "model_p99"}


def _agree(shipped: Any, refit: Any, where: str, loose: bool = False) -> None:
    if isinstance(shipped, dict):
        assert isinstance(refit, dict) and set(shipped) == set(refit), where
        for k in shipped:
            _agree(shipped[k], refit[k], f"{where}.{k}", loose or k in _EM_FIELDS)
    elif isinstance(shipped, list):
        assert isinstance(refit, list) and len(shipped) == len(refit), where
        for i, (a, b) in enumerate(zip(shipped, refit, strict=True)):
            _agree(a, b, f"{where}[{i}]", loose)
    elif loose and isinstance(shipped, (int, float)) and not isinstance(shipped, bool):
        if where.endswith("em_iterations"):
            assert abs(shipped - refit) <= max(20, 0.1 * shipped), where
        else:
            assert refit == pytest.approx(shipped, rel=1e-4, abs=1e-9), where
    else:
        assert shipped == refit, f"{where}: shipped {shipped!r}, re-fitted {refit!r}"


@pytest.fixture(scope="module")
def shared_traces() -> Path:
    if not SHARED_TRACES.is_dir():
        pytest.skip(
            f"published traces not available: {SHARED_TRACES} does not exist (it sits beside the "
            "project's root in the development setup; a fresh clone does not have it)"
        )
    return SHARED_TRACES


@pytest.fixture(scope="module")
def refitted(shared_traces: Path) -> dict[str, Any]:
    return fitmod.fit_all(shared_traces)


def test_shipped_fits_agree_with_the_published_traces(refitted: dict[str, Any]) -> None:
    shipped = load_fits()
    assert set(refitted["fits"]) == set(shipped["fits"])
    for key in shipped["fits"]:
        canonical = jsonio.loads(jsonio.dumps_canonical(refitted["fits"][key]))
        _agree(shipped["fits"][key], canonical, key)


def test_published_figures(refitted: dict[str, Any]) -> None:
    fits = refitted["fits"]
    assert fits["arrival/philly"]["data"]["n"] == 82247
    assert len(fits["arrival/philly"]["params"]["per_cluster"]) == 15
    assert fits["gpus/gavel"]["data"]["n"] == 33192
    assert fits["gpus/philly"]["params"]["counts"][0] == 76627
    assert fits["fractional/alibaba-openb"]["data"]["n"] == 8152
    assert fits["fractional/alibaba-openb"]["params"]["nodes"]["nodes"] == 1213
    assert set(fits["outcomes/acme"]["params"]["clusters"]) == {"Seren", "Kalos", "Philly", "Helios", "PAI"}


def test_replay_published_windows(shared_traces: Path, tmp_path: Path) -> None:
    [ph] = TRACE_IMPORTERS["philly"].read(
        shared_traces / "philly_jobs_adaptdl.csv", cluster="11cb48", start="2017-10-10 00:00:00", window_hours=24
    )
    assert ph.n_jobs == 282 and set(ph.jobs.tenant or ()) == {"11cb48"}
    assert ph.jobs.release.min() >= 0 and ph.jobs.release.max() < 86400
    ph = roundtrip(ph, tmp_path)
    assert validate(ph, sequential_events(ph)).feasible
    [al] = TRACE_IMPORTERS["alibaba-openb"].read(shared_traces / "alibaba_openb_pod_list_default.csv", max_jobs=300)
    assert al.n_jobs == 300 and al.n_gpus == 6212 and len(al.type_ids) == 7
    al = roundtrip(al, tmp_path)
    result = validate(al, greedy_placement(al))
    assert result.feasible and result.objective == 300
