"""Solvers against published optima and best knowns: prepare the instance sets, then tabulate a store.

The comparison campaign of the solver-family issues (``campaigns/published.toml``) runs on three sets
imported from ``../shared/external`` (never committed; see ``../shared/README.md``):

* ``gap``: OR-Library gap1-gap12 (60 instances, ``optima.csv``'s ``opt_min``);
* ``gapabcd``: OR-Library gapa-gapd (24 instances, ``opt_min``; some are only best known);
* ``rcmax``: Fanjul-Peyro & Ruiz R||Cmax, every 100- and 200-job instance of instancias1a100,
  JobsCorre and MaqCorre (300 instances, ``best_known.csv``), and ``rcmax-sample``, the first
  repetition of each (class, n, m) cell (30 instances) for the slower solvers.

Usage::

    python experiments/published.py prepare [--shared ../shared] [--out build/published]
    schedbench run campaigns/published.toml              # or published-sa-rcmax.toml
    python experiments/published.py table results/published.sqlite [--format markdown|csv]

``table`` prints, per set and solver (its latest version in the store): runs, feasible answers, optima
proven (status ``optimal``), and the
mean / max relative gap of the validated objective to the *published* value (negative: better than
published), plus how many runs reached it. Gaps use the validator's objective only.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = ("gap", "gapabcd", "rcmax", "rcmax-sample")


def _schedbench() -> list[str]:
    return [sys.executable, "-m", "schedbench.cli"]


def prepare(shared: Path, out: Path) -> None:
    """Import the published files into ``out/<set>/`` (idempotent: existing folders are replaced)."""
    ext = shared / "external"
    if not ext.is_dir():
        raise SystemExit(f"{ext} does not exist: the published instance sets are not on this machine")
    gap_dir = ext / "gap_orlib"
    jobs = {
        "gap": ("orlib-gap", sorted(gap_dir.glob("gap[0-9]*.txt"))),
        "gapabcd": ("orlib-gap", sorted(gap_dir.glob("gap[a-d].txt"))),
    }
    for name, (fmt, files) in jobs.items():
        _import(fmt, files, out / name)
    rc = ext / "rcmax_fanjul_ruiz"
    tmp = out / "_rcmax_all"
    for sub in ("instancias1a100", "JobsCorre", "MaqCorre"):
        _import("rcmax", sorted((rc / sub).glob("*.txt")), tmp / sub)
    full, sample = out / "rcmax", out / "rcmax-sample"
    for d in (full, sample):
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.json"):
            old.unlink()
    reps = {}
    with open(rc / "best_known.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            reps[row["instance"]] = int(row["rep"])
    kept = sampled = 0
    for f in sorted(tmp.glob("*/*.json")):
        doc = json.loads(f.read_text())
        if len(doc["jobs"]["id"]) not in (100, 200):
            continue
        (full / f.name).write_bytes(f.read_bytes())
        kept += 1
        if reps.get(doc["metadata"]["source"]["file"].removesuffix(".txt")) == 1:
            (sample / f.name).write_bytes(f.read_bytes())
            sampled += 1
    print(f"rcmax: {kept} instances with 100 or 200 jobs in {full}; {sampled} in {sample}")


def _import(fmt: str, files: list[Path], dest: Path) -> None:
    if not files:
        raise SystemExit(f"no files for {fmt} -> {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.json"):
        old.unlink()
    subprocess.run([*_schedbench(), "import", fmt, *map(str, files), "-o", str(dest)], check=True)


def table(store: Path, fmt: str) -> str:
    import pandas as pd

    from schedbench.store import views as results

    runs = results.runs(store)
    # only each solver's latest version (a store resumed after a solver changed keeps the older runs)
    def _key(v: str) -> tuple[int, str]:
        return (int(v), v) if str(v).isdigit() else (-1, str(v))

    latest = runs.groupby("solver")["solver_version"].agg(lambda vs: max(vs, key=_key))
    runs = runs[runs["solver_version"] == runs["solver"].map(latest)]
    inst = results.instances(store)[["instance_hash", "path", "published_optimum", "published_best_known"]]
    df = runs.merge(inst, on="instance_hash", how="left")
    df["set"] = df["path"].map(lambda p: Path(str(p)).parent.name)
    df["published"] = df["published_optimum"].fillna(df["published_best_known"])
    sign = df["sense"].map({"min": 1.0, "max": -1.0})
    df["pgap"] = sign * (df["objective"] - df["published"]) / df["published"].abs().clip(lower=1e-9)
    rows = []
    for (s, solver), g in df.groupby(["set", "solver"], sort=True):
        ok = g[g["feasible"].fillna(False).astype(bool) & g["objective"].notna()]
        rows.append({
            "set": s, "solver": solver, "runs": len(g), "feasible": len(ok),
            "proven": int((g["status"] == "optimal").sum()),
            "reached": int((ok["pgap"] <= 1e-9).sum()),
            "mean gap %": 100 * ok["pgap"].mean() if len(ok) else float("nan"),
            "max gap %": 100 * ok["pgap"].max() if len(ok) else float("nan"),
            "statuses": ", ".join(f"{k} {v}" for k, v in g["status"].value_counts().sort_index().items()),
        })
    out = pd.DataFrame(rows)
    if fmt == "csv":
        return out.to_csv(index=False)
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r] for r in out.itertuples(index=False)]
    lines = ["| " + " | ".join(out.columns) + " |", "|" + "|".join("---" for _ in out.columns) + "|"]
    return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "published")
    t = sub.add_parser("table")
    t.add_argument("store", type=Path)
    t.add_argument("--format", default="markdown", choices=("markdown", "csv"))
    a = ap.parse_args(argv)
    if a.cmd == "prepare":
        prepare(a.shared, a.out)
    else:
        print(table(a.store, a.format))


if __name__ == "__main__":
    main()
