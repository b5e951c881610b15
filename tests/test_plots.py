"""Figures: the numbers behind them (hand-computed), and every kind rendered headless to every format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="figures need the [plot] extra (matplotlib)")

from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.plots import data as pdata
from schedbench.plots.colors import PALETTE, solver_color
from schedbench.plots.figures import KINDS
from schedbench.plots.make import PlotOptions, make_figure
from schedbench.plots.source import family_of, load
from schedbench.store.views import latest_versions

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "instances" / "smoke"
PUBLISHED = ROOT / "results" / "published.parquet"
MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-", ".svg": b"<?xml"}


# ------------------------------------------------------------------------------------------ pure data
def test_performance_profile_hand_computed() -> None:
    # 4 problems; A best on p1, p2; B best on p3; p4: A fails, B = 2 x C
    costs = pd.DataFrame(
        {"A": [1.0, 2.0, 4.0, np.inf], "B": [2.0, 2.0, 2.0, 6.0], "C": [4.0, 3.0, 8.0, 3.0]},
        index=["p1", "p2", "p3", "p4"],
    )
    prof = pdata.performance_profile(costs)
    # ratios: A = [1, 1, 2, inf], B = [2, 1, 1, 2], C = [4, 1.5, 4, 1]
    assert list(prof.taus) == [1.0, 1.5, 2.0, 4.0]
    assert list(prof.rho["A"]) == [0.5, 0.5, 0.75, 0.75]
    assert list(prof.rho["B"]) == [0.5, 0.5, 1.0, 1.0]
    assert list(prof.rho["C"]) == [0.25, 0.5, 0.5, 1.0]
    assert prof.problems == 4


def test_performance_profile_refuses_zero_costs() -> None:
    with pytest.raises(ValueError, match="positive"):
        pdata.performance_profile(pd.DataFrame({"A": [0.0, 1.0], "B": [1.0, 1.0]}))


def _frame(rows: list[tuple]) -> pd.DataFrame:
    cols = ["run_id", "instance", "label", "seed", "status", "gap", "wall_s", "time_limit"]
    return pd.DataFrame(rows, columns=cols)


def test_cost_matrices_take_the_median_over_seeds_and_charge_failures() -> None:
    runs = _frame(
        [
            ("r1", "i1", "A", 0, "feasible", 0.0, 1.0, 10.0),
            ("r2", "i1", "A", 1, "feasible", 0.2, 3.0, 10.0),
            ("r3", "i1", "B", 0, "crashed", None, 0.1, 10.0),
            ("r4", "i2", "A", 0, "optimal", 0.0, 0.0001, 10.0),
            ("r5", "i2", "B", 0, "feasible", 0.5, 2.0, 10.0),
        ]
    )
    t = pdata.time_costs(runs)
    assert t.loc["i1", "A"] == 2.0 and np.isinf(t.loc["i1", "B"]) and t.loc["i2", "A"] == 1e-3
    g = pdata.gap_costs(runs)
    assert g.loc["i1", "A"] == pytest.approx(1.1) and np.isinf(g.loc["i1", "B"]) and g.loc["i2", "B"] == 1.5
    # a target gap makes the feasible-but-far run unsolved
    assert np.isinf(pdata.time_costs(runs, target_gap=0.1).loc["i2", "B"])


def test_gap_targets_are_51_log_spaced() -> None:
    t = pdata.gap_targets()
    assert len(t) == 51 and t[0] == pytest.approx(1.0) and t[-1] == pytest.approx(1e-4)
    assert np.allclose(np.diff(np.log10(t)), -0.08)


def test_ecdf_at_limit_counts_runs_within_each_target() -> None:
    targets = np.array([1.0, 0.1, 0.01])
    assert list(pdata.ecdf_at_limit([0.0, 0.05, 0.5, np.nan], targets)) == [0.75, 0.5, 0.25]


def test_hitting_times_and_runtime_ecdf() -> None:
    targets = np.array([0.5, 0.1, 0.01])
    # a run: gap 0.6 at 1 s, 0.3 at 2 s, 0.05 at 5 s (never 0.01)
    h = pdata.hitting_times(np.array([2.0, 1.0, 5.0]), np.array([0.3, 0.6, 0.05]), targets)
    assert list(h) == [2.0, 5.0, np.inf]
    # a second run with nothing: 6 pairs in all
    y = pdata.ecdf_over_time(
        [(np.array([2.0, 1.0, 5.0]), np.array([0.3, 0.6, 0.05])), (np.empty(0), np.empty(0))],
        targets,
        np.array([0.5, 2.0, 4.0, 5.0, 100.0]),
    )
    assert list(y) == pytest.approx([0, 1 / 6, 1 / 6, 2 / 6, 2 / 6])


def test_primal_integral_hand_computed() -> None:
    # nothing until 2 s (p = 1), gap 0.5 until 4 s, gap 2 (capped at 1) is worse: best stays 0.5, then 0 at 6 s
    t, g = np.array([2.0, 3.0, 6.0]), np.array([0.5, 2.0, 0.0])
    assert pdata.primal_integral(t, g, 10.0) == pytest.approx(2 * 1 + 4 * 0.5 + 4 * 0)
    assert pdata.primal_integral(np.empty(0), np.empty(0), 10.0) == 10.0
    assert pdata.primal_integral(np.array([0.0]), np.array([0.0]), 10.0) == 0.0


def test_online_segments_follow_the_validators_replay_order() -> None:
    events = [
        {"time": 0.0, "job": "a", "event": "start", "gpus": ["g0"]},
        {"time": 5.0, "job": "b", "event": "start", "gpus": ["g0"]},  # same time as a's preempt: preempt first
        {"time": 5.0, "job": "a", "event": "preempt", "gpus": []},
        {"time": 6.0, "job": "a", "event": "resume", "gpus": ["g1"]},
        {"time": 8.0, "job": "a", "event": "migrate", "gpus": ["g2"]},
        {"time": 9.0, "job": "a", "event": "finish", "gpus": []},
        {"time": 9.0, "job": "b", "event": "finish", "gpus": []},
    ]
    seg = pdata.online_segments(events)
    assert sorted(map(tuple, seg.to_numpy().tolist())) == [
        ("a", "g0", 0.0, 5.0),
        ("a", "g1", 6.0, 8.0),
        ("a", "g2", 8.0, 9.0),
        ("b", "g0", 5.0, 9.0),
    ]
    x, y = pdata.utilisation(seg, 4)
    assert list(x) == [0.0, 5.0, 6.0, 8.0, 9.0]
    assert list(y) == [0.25, 0.25, 0.5, 0.5, 0.0]


def test_family_and_latest_version() -> None:
    assert family_of("gap12-3") == "gap12" and family_of("JobsCorre-111") == "JobsCorre" and family_of("x") == "x"
    runs = pd.DataFrame({"solver": ["sa", "sa", "sa", "ga"], "solver_version": ["2", "10", "3", "1"]})
    assert list(latest_versions(runs)["solver_version"]) == ["10", "1"]


def test_colours_are_stable_and_distinct_for_builtins() -> None:
    assert solver_color("ilp-highs") == PALETTE[0] and solver_color("sa") == PALETTE[2]
    assert solver_color("my-policy") == solver_color("my-policy")
    assert solver_color("sa@2") != solver_color("sa")
    builtins = ["ilp-highs", "cpsat", "sa", "ga", "lp-round", "list-ect", "regret"]
    assert len({solver_color(s) for s in builtins}) == len(builtins)
    policies = ["fcfs", "srpt", "las", "tiresias", "sjf", "fcfs-easy", "edf", "priority"]
    assert len({solver_color(s) for s in policies}) == len(policies)


# ------------------------------------------------------------------------------------------ rendering
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from schedbench.runner.campaign import run_campaign, spec_from_dict

    tmp = tmp_path_factory.mktemp("plots")
    names = ["batch-makespan-s0", "batch-makespan-s1", "online-jct-s0", "online-jct-s1", "placement-cost-s1"]
    spec = spec_from_dict(
        {
            "name": "plots",
            "store": str(tmp / "plots.sqlite"),
            "instances": [str(SMOKE / f"{n}.json") for n in names],
            "seeds": 2,
            "time_limit": 0.5,
            "workers": 1,
            "solvers": [{"name": "random-feasible"}, {"name": "sa"}, {"name": "list-ect"}],
        }
    )
    run_campaign(spec, cache=tmp / "cache")
    return tmp / "plots.sqlite"


def _check_file(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000, path
    assert data.startswith(MAGIC[path.suffix]), path


OPTIONS = {
    "profile-time": {},
    "profile-gap": {},
    "ecdf-limit": {},
    "ecdf-time": {},
    "anytime": {"cls": "batch"},
    "gantt": {"cls": "batch"},
    "jct-cdf": {},
    "load-sweep": {},
    "utilisation": {},
    "cd": {"cls": "batch"},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_from_a_store(store: Path, tmp_path: Path, kind: str) -> None:
    assert set(OPTIONS) == set(KINDS)
    for suffix in (".png", ".pdf", ".svg"):
        out = tmp_path / f"{kind}{suffix}"
        result = CliRunner().invoke(
            app,
            [
                "plot",
                str(store),
                kind,
                "-o",
                str(out),
                *[a for k, v in OPTIONS[kind].items() for a in (f"--{k.replace('cls', 'class')}", v)],
            ],
        )
        assert result.exit_code == 0, result.output
        _check_file(out)


def test_online_gantt_and_data(store: Path) -> None:
    _fig, bars = make_figure(store, "gantt", PlotOptions(cls="online"))
    assert {"job", "gpu", "start", "end"} <= set(bars.columns) and (bars["end"] >= bars["start"]).all()
    _, jct = make_figure(store, "jct-cdf")
    for label, (x, y) in jct.items():
        assert (np.diff(x) >= 0).all(), label
        assert y[-1] == pytest.approx(1.0), (label, y)
        assert (x >= 0).all(), (label, x)


def test_jcts_from_the_event_log_agree_with_the_validator(store: Path) -> None:
    from schedbench.instances import io
    from schedbench.store import Store

    runs = load(store).runs
    online = runs[
        (runs["class"] == "online")
        & runs["feasible"].fillna(False).astype(bool)
        & (runs["objective_name"] == "mean-jct")
    ]
    assert len(online) > 0
    with Store(store, readonly=True) as st:
        for rid, objective in zip(online["run_id"], online["objective"], strict=True):
            inst = io.load(st.record(rid, with_solution=False).task.instance_path)
            events = st.solution(rid)["events"]
            assert pdata.job_completion_times(inst, events).mean() == pytest.approx(objective, rel=1e-9)


def test_profile_figure_plots_the_profile_of_the_runs(store: Path) -> None:
    src = load(store)
    _, prof = make_figure(store, "profile-gap")
    expected = pdata.performance_profile(pdata.gap_costs(src.runs))
    assert np.array_equal(prof.taus, expected.taus)
    for label in expected.rho:
        assert np.array_equal(prof.rho[label], expected.rho[label])


def test_gantt_from_files(store: Path, tmp_path: Path) -> None:
    from schedbench.store import Store

    runs = load(store).runs
    rid = runs[(runs["class"] == "batch") & runs["feasible"].fillna(False).astype(bool)]["run_id"].iloc[0]
    with Store(store, readonly=True) as st:
        sol = st.solution(rid)
        path = st.record(rid, with_solution=False).task.instance_path
    (tmp_path / "sol.json").write_text(json.dumps(sol))
    out = tmp_path / "g.svg"
    res = CliRunner().invoke(app, ["plot", path, "gantt", "--solution", str(tmp_path / "sol.json"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    _check_file(out)


@pytest.mark.skipif(not PUBLISHED.exists(), reason="results/published.parquet is not in this checkout")
@pytest.mark.parametrize("kind", ["profile-time", "profile-gap", "ecdf-limit", "cd"])
def test_published_parquet_renders(tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.png"
    res = CliRunner().invoke(app, ["plot", str(PUBLISHED), kind, "--class", "placement", "-o", str(out)])
    assert res.exit_code == 0, res.output
    _check_file(out)


@pytest.mark.parametrize(
    "args,match",
    [
        (["nope"], "profile-time"),
        (["gantt"], "a results store for gantt"),
        (["ecdf-time"], "trajectories"),
        (["profile-gap", "--class", "none"], "none after filtering"),
    ],
)
def test_bad_requests_exit_2(tmp_path: Path, args: list[str], match: str) -> None:
    if not PUBLISHED.exists():
        pytest.skip("results/published.parquet is not in this checkout")
    res = CliRunner().invoke(app, ["plot", str(PUBLISHED), *args, "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2
    assert match in res.output and "Traceback" not in res.output


def test_bad_output_suffix(store: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["plot", str(store), "profile-gap", "-o", str(tmp_path / "x.jpg")])
    assert res.exit_code == 2 and ".pdf, .png or .svg" in res.output
