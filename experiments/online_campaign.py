"""The online policy comparison (campaigns/online.toml -> results/online.md).

Steps::

    python experiments/online_campaign.py prepare          # instances into build/online/
    schedbench run campaigns/online.toml                  # every policy, oracle and noisy
    schedbench export results/online.sqlite --format parquet -o results/online.parquet
    python experiments/online_campaign.py table results/online.parquet > results/online.md

``prepare`` writes seed 0 of every online entry of the medium suite (instances/medium.toml: the
same parameters, so the same content hashes as the suite's) and a 100,000-job window of the
Philly-fitted ``philly-1024`` preset at load 0.9, twice: without checkpoint/restore overheads and
with the ``helios`` preset (7/30/60 s per restore by gang size). ``table`` re-validates every stored event log
(the validator, not the solver, gives the metrics) and prints one Markdown table per instance,
oracle and noisy predictions side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "online"
#: (metric, header, format)
COLUMNS = (
    ("jct_mean", "mean JCT (h)", "h"),
    ("jct_p99", "p99 JCT (h)", "h"),
    ("bounded_slowdown_mean", "bounded slowdown", ".3g"),
    ("utilisation", "util.", ".3f"),
    ("ftf_max", "max FTF", ".3g"),
    ("preemptions", "preempt.", "d"),
    ("wasted_gpu_seconds", "wasted GPU-h", "h"),
    ("acceptance_rate", "accepted", ".2f"),
)


def prepare() -> None:
    from schedbench.generators import generate
    from schedbench.generators.presets import resolve
    from schedbench.instances import save

    OUT.mkdir(parents=True, exist_ok=True)
    suite = tomllib.loads((ROOT / "instances" / "medium.toml").read_text())
    for entry in suite.get("generate", []):
        if entry.get("class") != "online":
            continue
        params = resolve("online", entry.get("preset"), dict(entry.get("params", {})))
        inst = generate("online", params, seed=entry["seeds"][0])
        save(inst, OUT / f"medium-{entry['id']}-s{entry['seeds'][0]}.json")
        print(f"wrote {entry['id']}: {inst.n_jobs} jobs, {inst.n_gpus} GPUs", file=sys.stderr)
    for overheads, stem in (("fixed", "philly1024-100k-load90-s0"), ("helios", "philly1024-100k-load90-helios-s0")):
        params = resolve("online", "philly-1024", {"jobs": 100_000, "load": 0.9})
        if overheads != "fixed":  # the same jobs with Helios' checkpoint/restore costs
            params["problem_params"] = {"overhead_model": overheads}
        inst = generate("online", params, seed=0)
        save(inst, OUT / f"{stem}.json")
        print(f"wrote philly window ({overheads} overheads): {inst.n_jobs} jobs, {inst.n_gpus} GPUs", file=sys.stderr)


def _fmt(value: object, fmt: str) -> str:
    if value is None:
        return "-"
    if fmt == "h":
        return f"{float(value) / 3600:.3g}"  # type: ignore[arg-type]
    if fmt == "d":
        return str(int(value))  # type: ignore[call-overload]
    return format(float(value), fmt)  # type: ignore[arg-type]


def table(parquet: Path, store: Path) -> None:
    import pandas as pd

    from schedbench.instances import load
    from schedbench.store import Store
    from schedbench.validator import validate

    runs = pd.read_parquet(parquet)
    runs = runs[runs["class"] == "online"]
    db = Store(store, readonly=True)
    paths = {r.run_id: r.task.instance_path for r in db.records(campaign="online")}
    rows = []
    cache: dict[str, object] = {}
    for run in runs.itertuples():
        params = json.loads(run.params)
        metrics: dict = {}
        if run.status in ("feasible", "optimal"):
            path = paths[run.run_id]
            inst = cache.get(path) or load(path)
            cache = {path: inst}
            metrics = validate(inst, db.solution(run.run_id)).metrics  # type: ignore[arg-type]
        rows.append(
            {
                "instance": Path(paths[run.run_id]).stem,
                "n_jobs": run.n_jobs,
                "n_gpus": run.n_gpus,
                "policy": run.solver,
                "predictor": params.get("predictor"),
                "status": run.status,
                "wall_s": run.wall_s,
                **metrics,
            }
        )
    df = pd.DataFrame(rows)
    print("# Online policies: oracle vs noisy predictions\n")
    print(
        "Every built-in policy (`schedbench solvers list`, family `policy`) on seed 0 of each online entry "
        "of the medium suite and on a 100,000-job window of the Philly-fitted `philly-1024` preset at load 0.9, "
        "with `oracle` (true processing times: clairvoyant) and `noisy` (log-normal error, sigma 0.5) "
        "predictions. Metrics are recomputed by the validator from each stored event log. Campaign: "
        "`campaigns/online.toml`; runs: `results/online.parquet`; regenerate with the steps in "
        "`experiments/online_campaign.py`. Cells read `oracle / noisy`; JCTs and wasted GPU-time in hours. "
        "A run that did not finish within the time limit shows its status.\n"
    )
    for name, group in df.groupby("instance", sort=True):
        first = group.iloc[0]
        print(f"## {name} ({first.n_jobs} jobs, {first.n_gpus} GPUs)\n")
        print("| policy | " + " | ".join(h for _, h, _ in COLUMNS) + " | sim. s |")
        print("|---|" + "---:|" * (len(COLUMNS) + 1))
        for policy, sub in group.groupby("policy", sort=True):
            by = {r.predictor: r for r in sub.itertuples()}
            cells = []
            for key, _, fmt in (*COLUMNS, ("wall_s", "", ".1f")):
                vals = []
                for pred in ("oracle", "noisy"):
                    r = by.get(pred)
                    if r is None:
                        vals.append("-")
                    elif r.status not in ("feasible", "optimal") and key != "wall_s":
                        vals.append(r.status)
                    else:
                        v = getattr(r, key, None)
                        vals.append(_fmt(None if v != v else v, fmt))
                cells.append(" / ".join(vals))
            print(f"| {policy} | " + " | ".join(cells) + " |")
        print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=("prepare", "table"))
    ap.add_argument("parquet", nargs="?", type=Path, default=ROOT / "results" / "online.parquet")
    ap.add_argument("--store", type=Path, default=ROOT / "results" / "online.sqlite")
    a = ap.parse_args()
    if a.step == "prepare":
        prepare()
    else:
        table(a.parquet, a.store)


if __name__ == "__main__":
    main()
