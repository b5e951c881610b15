"""Per-set tables (numbers, formats, 80 columns) and the static site (files, HTML, headless Chromium)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="the site needs the [plot] extra (matplotlib)")

from rich.console import Console
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.plots.source import add_labels
from schedbench.publish import tables as tb
from schedbench.report.stats import shifted_geometric_mean

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "results" / "published.parquet"


def _runs() -> pd.DataFrame:
    rows = []
    # 6 instances in 2 families; A reaches the best known everywhere, B is 10 % off, C fails on f2
    for k in range(6):
        fam = "f1" if k < 3 else "f2"
        rows.append((f"{fam}-{k}", "A", "optimal", 0.0, 1.0 + k))
        rows.append((f"{fam}-{k}", "B", "feasible", 0.1 + 0.01 * k, 10.0))
        rows.append((f"{fam}-{k}", "C", "feasible" if fam == "f1" else "crashed", 0.0 if fam == "f1" else None, 0.5))
    frame = pd.DataFrame(rows, columns=["instance", "solver", "status", "gap", "wall_s"])
    frame = frame.assign(
        **{
            "class": "placement",
            "objective_name": "min-cost",
            "solver_version": "1",
            "params": "{}",
            "seed": 0,
            "time_limit": 20.0,
            "run_id": [f"r{i}" for i in range(len(frame))],
        }
    )
    frame["gap"] = frame["gap"].astype(float)
    return add_labels(frame)


def test_table_numbers_hand_computed() -> None:
    (table,) = tb.set_tables(_runs())
    f = table.frame.set_index(["group", "solver"])
    assert list(f.index.get_level_values(0).unique()) == ["all", "f1", "f2"]
    assert f.loc[("all", "A"), "success %"] == 100.0
    assert f.loc[("all", "B"), "success %"] == 0.0
    assert f.loc[("all", "C"), "success %"] == 50.0
    # A: times 1..6; B: all charged at the limit 20; C: 0.5 thrice, limit 20 thrice
    sgm_a = shifted_geometric_mean([1, 2, 3, 4, 5, 6], 10)
    sgm_c = shifted_geometric_mean([0.5] * 3 + [20] * 3, 10)
    assert f.loc[("all", "A"), "SGM time (s)"] == pytest.approx(sgm_a)
    assert f.loc[("all", "B"), "SGM time (s)"] == pytest.approx(20.0)
    best = min(sgm_a, sgm_c, 20.0)
    assert f.loc[("all", "C"), "ratio"] == pytest.approx(sgm_c / best)
    assert f.loc[("all", "B"), "mean gap %"] == pytest.approx(100 * np.mean([0.1 + 0.01 * k for k in range(6)]))
    assert f.loc[("f2", "C"), "mean gap %"] != f.loc[("f2", "C"), "mean gap %"]  # NaN: no answer
    # bold: best of each group
    b = table.bold.set_index(table.frame.set_index(["group", "solver"]).index)
    assert b.loc[("all", "A"), "success %"] and not b.loc[("all", "C"), "success %"]
    assert b.loc[("f1", "A"), "mean gap %"] and b.loc[("f1", "C"), "mean gap %"]  # a tie: both bold
    # significance needs enough instances: 6 paired differences, all B worse -> p = 0.03125, Holm x2 = 0.0625
    assert f.loc[("all", "B"), "sig"] == ""


def test_significance_mark_with_enough_instances() -> None:
    runs = pd.concat(
        [
            _runs().assign(instance=lambda d, k=k: d["instance"] + f"x{k}", run_id=lambda d, k=k: d["run_id"] + f"x{k}")
            for k in range(3)
        ]
    )
    (table,) = tb.set_tables(runs.reset_index(drop=True), families=False)
    f = table.frame.set_index("solver")
    assert f.loc["B", "sig"] == "*" and f.loc["A", "sig"] == ""


def test_markdown_csv_latex() -> None:
    (table,) = tb.set_tables(_runs())
    md = tb.to_markdown(table)
    assert md.count("\n| ") == 1 + 9 and "**100.0**" in md and "\\*" in md
    csv = pd.read_csv(io.StringIO(tb.to_csv(table)))
    assert list(csv.columns) == ["set", *tb.COLUMNS] and len(csv) == 9
    tex = tb.to_latex(table)
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\textbf{100.0}", r"\caption{", r"success \%"):
        assert token in tex, token
    assert tex.count(r"\\") == 1 + 9


def test_terminal_table_fits_80_columns() -> None:
    (table,) = tb.set_tables(_runs())
    console = Console(width=80, record=True, highlight=False)
    console.print(tb.to_rich(table))
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "100.0" in text and "20.00" in text


def test_tables_command_formats(tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    _runs().drop(columns=["label"]).to_parquet(path)
    for fmt, token in (("markdown", "| all |"), ("csv", "set,group"), ("latex", r"\toprule"), ("table", "succ%")):
        res = CliRunner().invoke(app, ["tables", str(path), "--format", fmt])
        assert res.exit_code == 0, res.output
        assert token in res.output
    res = CliRunner().invoke(app, ["tables", str(path), "--format", "html"])
    assert res.exit_code == 2 and "--format" in res.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("site")
    path = tmp / "runs.parquet"
    _runs().drop(columns=["label"]).to_parquet(path)
    out = tmp / "site"
    res = CliRunner().invoke(app, ["publish", str(path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_publish_writes_every_output(site: Path) -> None:
    name = "runs-placement-min-cost"
    for suffix in ("md", "csv", "tex", "html", "profile-time.png", "profile-gap.pdf", "ecdf-limit.png", "cd.pdf"):
        assert (site / f"{name}.{suffix}").stat().st_size > 0, suffix
    page = (site / f"{name}.html").read_text()
    assert page.count("<table>") == 1 and page.count("<img ") == 4
    assert 'src="data:image/png;base64,' in page and "http" not in page.replace("https://", "")
    assert 'href="../runs.parquet"' in page
    assert "runs-placement-min-cost.html" in (site / "index.html").read_text()


def test_publish_bad_input(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["publish", str(tmp_path / "none.parquet"), "-o", str(tmp_path / "s")])
    assert res.exit_code == 2 and "no such file" in res.output


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.target && e.target.src)), true);
const _err = console.error; console.error = (...a) => { window.__errors.push(a.join(' ')); _err(...a); };
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0).length;
  const tables = [...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().height > 0).length;
  const p = document.createElement('pre'); p.id = 'probe';
  p.textContent = `images=${imgs.length} loaded=${ok} tables=${tables} errors=${window.__errors.length}`;
  document.body.appendChild(p);
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_page_renders_in_headless_chromium(site: Path, tmp_path: Path) -> None:
    page = (site / "runs-placement-min-cost.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("<head>", "<head>" + PROBE, 1))
    for f in site.iterdir():  # the page's relative links resolve as on the site
        if f.suffix in (".png", ".pdf", ".md", ".csv", ".tex"):
            shutil.copy(f, tmp_path / f.name)
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    m = re.search(r"images=(\d+) loaded=(\d+) tables=(\d+) errors=(\d+)", proc.stdout)
    assert m, proc.stdout[-2000:] + proc.stderr[-2000:]
    images, loaded, tables, errors = map(int, m.groups())
    assert images == 4 and loaded == 4 and tables == 1 and errors == 0
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console


COMMITTED = ROOT / "results" / "published"


@pytest.mark.skipif(
    not PUBLISHED.exists() or not COMMITTED.exists(),
    reason="results/published.parquet or results/published/ is not in this checkout",
)
def test_committed_results_are_what_the_command_regenerates(tmp_path: Path) -> None:
    """results/published/ is `schedbench publish results/published.parquet -o results/published`."""
    res = CliRunner().invoke(app, ["publish", str(PUBLISHED), "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    for name in ("published-placement-min-cost", "published-batch-makespan"):
        for ext in ("md", "csv", "tex"):
            assert (tmp_path / f"{name}.{ext}").read_text() == (COMMITTED / f"{name}.{ext}").read_text(), (name, ext)
        for kind in ("profile-time", "profile-gap", "ecdf-limit", "cd"):
            for ext in ("png", "pdf"):
                assert (COMMITTED / f"{name}.{kind}.{ext}").stat().st_size > 1000
    gap = (COMMITTED / "published-placement-min-cost.md").read_text()
    # the published comparison's headline numbers (results/published.md): 84 GAP runs per solver
    assert "| all | ilp-highs | 84 |" in gap and "| all | cpsat | 84 |" in gap


def test_bootstrap_intervals_appear_with_several_seeds() -> None:
    from schedbench.statistics import bootstrap_ci

    one = _runs()
    assert tb.set_tables(one)[0].intervals is None  # one seed: no interval
    rng = np.random.default_rng(0)
    more = pd.concat(
        [
            one.assign(
                seed=s,
                run_id=one["run_id"] + f"s{s}",
                gap=one["gap"] * (1 + 0.1 * s),
                wall_s=one["wall_s"] * rng.uniform(0.5, 1.5),
            )
            for s in range(3)
        ]
    ).reset_index(drop=True)
    (table,) = tb.set_tables(more)
    ci = table.intervals.set_index("solver")
    assert list(table.intervals.columns) == list(tb.CI_COLUMNS) and ci.loc["A", "runs"] == 18
    b = more[more["solver"] == "B"]
    expected = bootstrap_ci(
        100 * b["gap"].to_numpy(), "mean", n_boot=tb.CI_RESAMPLES, seed=0, groups=b["instance"].tolist()
    )
    assert (ci.loc["B", "mean gap %"], ci.loc["B", "gap low"], ci.loc["B", "gap high"]) == pytest.approx(
        (expected.estimate, expected.low, expected.high)
    )
    assert ci.loc["B", "gap low"] < ci.loc["B", "mean gap %"] < ci.loc["B", "gap high"]
    assert ci.loc["C", "SGM low"] <= ci.loc["C", "SGM time (s)"] <= ci.loc["C", "SGM high"]
    assert "bootstrap" in tb.to_markdown(table) and tb.to_latex(table).count(r"\begin{table}") == 2
