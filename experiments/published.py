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
mean / max gap (:func:`schedbench.scoring.gap`, in %) of the validated objective to the *published*
value, the reference of this table (negative: better than published), plus how many runs reached it.
Gaps use the validator's objective only.
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

    from schedbench.scoring import gap
    from schedbench.store.views import latest_versions, read_set

    rs = read_set(store)  # a store, or an export with its instances table beside it
    if rs.instances is None:
        raise SystemExit(f"{store}: no instances table (the published values); use the store or an export of it")
    # only each solver's latest version (a store resumed after a solver changed keeps the older runs)
    runs = latest_versions(rs.runs)
    inst = rs.instances[["instance_hash", "path", "published_optimum", "published_best_known"]]
    df = runs.merge(inst, on="instance_hash", how="left")
    df["set"] = df["path"].map(lambda p: Path(str(p)).parent.name)
    # the reference is the published value only (optimum, else best known): negative = better than published
    df["published"] = df["published_optimum"].fillna(df["published_best_known"])
    df["pgap"] = [
        gap(None if pd.isna(o) else float(o), None if pd.isna(p) else float(p), str(s))
        for o, p, s in zip(df["objective"], df["published"], df["sense"], strict=True)
    ]
    df["pgap"] = df["pgap"].astype(float)
    rows = []
    for (s, solver), g in df.groupby(["set", "solver"], sort=True):
        ok = g[g["feasible"].fillna(False).astype(bool) & g["objective"].notna()]
        rows.append(
            {
                "set": s,
                "solver": solver,
                "runs": len(g),
                "feasible": len(ok),
                "proven": int((g["status"] == "optimal").sum()),
                "reached": int((ok["pgap"] <= 1e-9).sum()),
                "mean gap %": 100 * ok["pgap"].mean() if len(ok) else float("nan"),
                "max gap %": 100 * ok["pgap"].max() if len(ok) else float("nan"),
                "statuses": ", ".join(f"{k} {v}" for k, v in g["status"].value_counts().sort_index().items()),
            }
        )
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
