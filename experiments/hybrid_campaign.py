"""The adaptive/hybrid comparison of issue #13 (campaigns/hybrid*.toml -> results/hybrid.md + parquet).

Steps::

    python experiments/hybrid_campaign.py prepare                  # instances into build/hybrid/
    schedbench run campaigns/hybrid.toml                          # round-based, aware vs agnostic
    schedbench run campaigns/hybrid-planners.toml                 # planners in the loop
    schedbench run campaigns/hybrid-prediction.toml               # prediction-error sweep
    python experiments/hybrid_campaign.py table > results/hybrid.md   # also writes results/hybrid.parquet

``prepare`` writes seed 0 of: ``gavel-online`` (Gavel's cluster and job types) with ``JOBS`` jobs at
each load of ``LOADS`` (rounds/), ``hetero-online`` with ``PLANNER_JOBS`` jobs (planners/), and the
load-0.8 ``gavel-online`` instance again (prediction/). ``table`` re-validates every stored event log
(the validator gives every metric), adds each run's compute from its info (allocation or planner
seconds), computes the fluid ideal mode of gavel-las (:func:`schedbench_solvers.rounds.ideal_run`,
not an event log), writes one row per run to ``results/hybrid.parquet`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "hybrid"
LOADS = (0.5, 0.8, 1.0, 1.2)
JOBS = 2000
PLANNER_JOBS = 400
PLANNER_LOAD = 1.2
GAVEL_LAS_RATIO = 3.5  # Narayanan et al., OSDI 2020: up to 3.5x lower average JCT (LAS, heterogeneity-aware)
PAI_SJF_PENALTY = 4.8  # Alibaba PAI simulator: SJF with estimated runtimes 4.8 % worse than with true ones


def prepare() -> None:
    from schedbench.generators import generate
    from schedbench.generators.presets import resolve
    from schedbench.instances import save

    for sub in ("rounds", "planners", "prediction"):
        (OUT / sub).mkdir(parents=True, exist_ok=True)
    for load in LOADS:
        inst = generate("online", resolve("online", "gavel-online", {"jobs": JOBS, "load": load}), seed=0)
        path = OUT / "rounds" / f"gavel-online-{JOBS}-load{int(load * 100)}-s0.json"
        save(inst, path)
        print(f"wrote {path.name}: {inst.n_jobs} jobs, {inst.n_gpus} GPUs", file=sys.stderr)
        if load == 0.8:
            shutil.copy(path, OUT / "prediction" / path.name)
        if load == PLANNER_LOAD:
            shutil.copy(path, OUT / "planners" / path.name)
    params = resolve("online", "hetero-online", {"jobs": PLANNER_JOBS, "load": PLANNER_LOAD})
    inst = generate("online", params, seed=0)
    save(inst, OUT / "planners" / f"hetero-online-{PLANNER_JOBS}-load{int(PLANNER_LOAD * 100)}-s0.json")
    print(f"wrote hetero-online: {inst.n_jobs} jobs, {inst.n_gpus} GPUs", file=sys.stderr)


def _h(v: object) -> str:
    return "-" if v is None or v != v else f"{float(v) / 3600:.3g}"  # type: ignore[arg-type]


def collect(store_path: Path):
    import pandas as pd

    from schedbench.instances import load
    from schedbench.store import Store
    from schedbench.validator import validate

    db = Store(store_path, readonly=True)
    rows = []
    cache: dict[str, object] = {}
    for rec in db.records():
        path = rec.task.instance_path
        if not Path(path).exists():  # an instance no longer prepared (an earlier size): not reported
            continue
        inst = cache.get(path) or load(path)
        cache[path] = inst
        metrics: dict = {}
        sol = db.solution(rec.run_id) if rec.status in ("feasible", "optimal") else None
        if sol is not None:
            v = validate(inst, sol)  # type: ignore[arg-type]
            metrics = {
                k: v.metrics.get(k)
                for k in (
                    "jct_mean",
                    "jct_p99",
                    "makespan",
                    "ftf_max",
                    "preemptions",
                    "wasted_gpu_seconds",
                    "utilisation",
                )
            }
            metrics["valid"] = bool(v.feasible)
        info = rec.info or {}
        rows.append(
            {
                "campaign": rec.task.campaign if hasattr(rec.task, "campaign") else None,
                "instance": Path(path).stem,
                "group": Path(path).parent.name,
                "n_jobs": inst.n_jobs,  # type: ignore[attr-defined]
                "solver": rec.task.solver,
                "params": json.dumps(rec.task.params, sort_keys=True),
                "status": rec.status,
                "wall_s": rec.wall_s,
                "compute_s": info.get("planner_seconds", info.get("allocation_seconds")),
                "plans": info.get("plans"),
                "allocations": info.get("allocations"),
                **metrics,
            }
        )
    return pd.DataFrame(rows)


def _quiet_highs() -> None:
    """HiGHS prints its banner on stdout (C level) at the first model: take it before the table starts."""
    import os

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def table(store_path: Path, parquet: Path) -> None:
    from schedbench_solvers.rounds import ideal_run

    from schedbench.instances import load

    _quiet_highs()
    df = collect(store_path)
    df.to_parquet(parquet, index=False)
    p = df["params"].map(json.loads)
    df["aware"] = p.map(lambda d: d.get("aware", True))
    df["predictor"] = p.map(lambda d: d.get("predictor", "oracle"))
    df["sigma"] = p.map(lambda d: d.get("sigma", 0.5))
    df["planner"] = p.map(lambda d: d.get("planner"))
    df["latency"] = p.map(lambda d: d.get("charge_latency", False))
    n_valid = int(df["valid"].fillna(False).sum())
    print("# Adaptive and hybrid scheduling: round-based policies, planners in the loop, prediction error\n")
    print(
        f"Issue #13. {len(df)} runs, {n_valid} of them complete with an event log that the validator accepts "
        f"(every metric below is recomputed by the validator from the stored log). Campaigns: "
        f"`campaigns/hybrid.toml`, `campaigns/hybrid-planners.toml`, `campaigns/hybrid-prediction.toml`; "
        f"runs: `results/hybrid.parquet`; regenerate with the steps in `experiments/hybrid_campaign.py`. "
        f"Sizes: {JOBS} jobs per `gavel-online` instance (Gavel's 36 K80 + 36 P100 + 36 V100, Gavel's job "
        f"types with Philly-fitted durations, seed 0) at generator loads {', '.join(map(str, LOADS))}; "
        f"{PLANNER_JOBS} jobs of `hetero-online` (CNN, RNN/LSTM, GAN, Transformer, recommendation) for the "
        f"planners. One seed each: differences of a few percent are within seed noise. Times in hours.\n"
    )

    # ---------------------------------------------------------------- 1. aware vs agnostic
    rounds = df[df["group"] == "rounds"]
    print("## 1. Heterogeneity-aware vs agnostic round-based policies (360 s rounds)\n")
    print(
        f"Ratio = agnostic / aware mean JCT (> 1: awareness helps). Gavel (OSDI 2020) reports up to "
        f"{GAVEL_LAS_RATIO}x lower average JCT from awareness for LAS on its cluster with continuous "
        f"arrivals. `ideal` = the fluid mode of gavel-las (the fractional allocation applied exactly, "
        f"re-solved at every arrival and completion; computed, not an event log).\n"
    )
    for inst_name, g in rounds.groupby("instance", sort=True):
        print(f"### {inst_name}\n")
        print(
            "| policy | mean JCT aware | agnostic | ratio | makespan aware | agnostic | max FTF aware | agnostic "
            "| preempt. aware | alloc. s aware |"
        )
        print("|---|" + "---:|" * 9)
        for solver, s in g.groupby("solver", sort=True):
            a = s[s["aware"]]
            b = s[~s["aware"]]
            if a.empty:
                continue
            a, bb = a.iloc[0], (b.iloc[0] if not b.empty else None)
            ratio = (bb["jct_mean"] / a["jct_mean"]) if bb is not None and a["jct_mean"] else None
            print(
                f"| {solver} | {_h(a['jct_mean'])} | {_h(bb['jct_mean']) if bb is not None else '-'} | "
                f"{'-' if ratio is None else f'{ratio:.2f}x'} | {_h(a['makespan'])} | "
                f"{_h(bb['makespan']) if bb is not None else '-'} | {a['ftf_max']:.3g} | "
                f"{format(bb['ftf_max'], '.3g') if bb is not None else '-'} | {a['preemptions']} | "
                f"{a['compute_s'] if a['compute_s'] == a['compute_s'] and a['compute_s'] is not None else 0:.2f} |"
            )
        inst = load(str(ROOT / "build" / "hybrid" / "rounds" / f"{inst_name}.json"))
        ideal = {aw: ideal_run(inst, "las", aware=aw) for aw in (True, False)}
        r = ideal[False]["jct_mean"] / ideal[True]["jct_mean"]
        print(
            f"| ideal (fluid gavel-las) | {_h(ideal[True]['jct_mean'])} | {_h(ideal[False]['jct_mean'])} | "
            f"{r:.2f}x | {_h(ideal[True]['makespan'])} | {_h(ideal[False]['makespan'])} | "
            f"{ideal[True]['ftf_max']:.3g} | {ideal[False]['ftf_max']:.3g} | - | "
            f"{ideal[True]['allocate_s']:.2f} |\n"
        )

    # ---------------------------------------------------------------- 2. planners in the loop
    pl = df[df["group"] == "planners"]
    if not pl.empty:
        print("## 2. Static planners in the loop vs SRPT / Tiresias\n")
        print(
            "`hybrid` re-plans a snapshot of the queue with the named batch solver every 3,600 s or every 16 "
            "arrivals under a 0.5 s budget per decision; `latency` = the planner's wall time charged as "
            "decision latency in simulated time. Compute = planner (or allocation) seconds inside the run; "
            "wall = the whole run. Sorted by mean JCT.\n"
        )
        for inst_name, g in pl.groupby("instance", sort=True):
            print(f"### {inst_name} ({int(g['n_jobs'].iloc[0])} jobs)\n")
            _planner_rows(g)

    _prediction(df)


def _planner_rows(pl) -> None:
    print("| policy | planner | latency | mean JCT | p99 JCT | makespan | max FTF | compute s | plans | wall s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in pl.sort_values(["jct_mean"]).itertuples():
        comp = "-" if r.compute_s is None or r.compute_s != r.compute_s else f"{r.compute_s:.2f}"
        plans = "-" if r.plans is None or r.plans != r.plans else str(int(r.plans))
        planner = r.planner if isinstance(r.planner, str) else "-"
        print(
            f"| {r.solver} | {planner} | {'yes' if r.latency else 'no'} | {_h(r.jct_mean)} | "
            f"{_h(r.jct_p99)} | {_h(r.makespan)} | {r.ftf_max:.3g} | {comp} | {plans} | {r.wall_s:.1f} |"
        )
    print()


def _prediction(df) -> None:
    import numpy as np

    pr = df[df["group"] == "prediction"].copy()
    if pr.empty:
        return
    print("## 3. Prediction error\n")
    print(
        f"Mean JCT (h) with noisy predictions (true time x exp(sigma z), one factor per job for all its "
        f"types) and the `history` predictor (the mean run time of finished jobs of the same job type, the "
        f"same figure for every GPU type: it carries no per-type speed, so heterogeneity-aware choices "
        f"become blind), and the change against sigma = 0 (true times). For reference, Alibaba's PAI "
        f"simulator reports SJF with estimated runtimes {PAI_SJF_PENALTY} % worse than with true runtimes.\n"
    )
    cols = [("noisy", 0.0), ("noisy", 0.25), ("noisy", 0.5), ("noisy", 1.0), ("history", None)]
    print("| policy | sigma 0 | 0.25 | 0.5 | 1.0 | history |")
    print("|---|---:|---:|---:|---:|---:|")
    for (solver, planner), s in pr.groupby(["solver", pr["planner"].fillna("")], sort=True):
        base = s[(s["predictor"] == "noisy") & (s["sigma"] == 0.0)]
        b = float(base["jct_mean"].iloc[0]) if not base.empty else np.nan
        cells = []
        for pred, sig in cols:
            m = s[(s["predictor"] == pred) & ((s["sigma"] == sig) if sig is not None else True)]
            if m.empty:
                cells.append("-")
                continue
            v = float(m["jct_mean"].iloc[0])
            cells.append(_h(v) + ("" if sig == 0.0 else f" ({(v / b - 1) * 100:+.1f} %)"))
        label = f"{solver} ({planner})" if planner else solver
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=("prepare", "table"))
    ap.add_argument("--store", type=Path, default=OUT / "hybrid.sqlite")
    ap.add_argument("--parquet", type=Path, default=ROOT / "results" / "hybrid.parquet")
    a = ap.parse_args()
    if a.step == "prepare":
        prepare()
    else:
        table(a.store, a.parquet)


if __name__ == "__main__":
    main()
