"""One figure of a result set: :func:`make_figure` (kinds: :data:`~schedbench.plots.figures.KINDS`).

The command is ``schedbench plot SOURCE KIND -o FILE.pdf|png|svg`` (:mod:`schedbench.cli.plot`).

``SOURCE`` is a results store or its parquet/CSV export (:func:`schedbench.plots.source.load`).
Schedule kinds (``gantt``, ``jct-cdf``, ``load-sweep``, ``utilisation``) read the stored solutions
and the instance files the runs name, so they need a store; ``gantt`` and ``utilisation`` also take
an instance file as SOURCE with ``--solution FILE`` (a solution in the validator's format).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schedbench.plots import data as pdata
from schedbench.plots import figures as pfig
from schedbench.store.core import StoreError

SCHEDULE_KINDS = ("gantt", "jct-cdf", "load-sweep", "utilisation")


@dataclass
class PlotOptions:
    """Options of ``schedbench plot`` (all optional)."""

    cls: str | None = None
    objective: str | None = None
    solvers: list[str] = field(default_factory=list)
    instance: str | None = None
    run: str | None = None
    solution: Path | None = None
    target_gap: float | None = None
    all_versions: bool = False
    title: str | None = None


def _instance_file(store: Path, run_id: str) -> Path:
    from schedbench.store import Store

    with Store(store, readonly=True) as st:
        rec = st.record(run_id, with_solution=False)
    p = Path(rec.task.instance_path)
    for cand in (p, store.parent / p, store.parent.parent / p):
        if cand.exists():
            return cand
    raise StoreError(
        str(p), "the instance file of run " + run_id[:12] + " (paths are as the campaign saw them)", "no such file"
    )


def _solution(store: Path, run_id: str) -> dict[str, Any]:
    from schedbench.store import Store

    with Store(store, readonly=True) as st:
        sol = st.solution(run_id)
    if not sol:
        raise StoreError(str(store), f"a stored solution for run {run_id[:12]}", "none (no answer was kept)")
    return sol


def _schedule_runs(runs: pd.DataFrame, opts: PlotOptions, classes: tuple[str, ...]) -> pd.DataFrame:
    runs = runs[runs["class"].isin(classes) & runs["feasible"].fillna(False).astype(bool)]
    if opts.instance:
        runs = runs[runs["instance"] == opts.instance]
    if opts.run:
        runs = runs[runs["run_id"].astype(str).str.startswith(opts.run)]
    if runs.empty:
        raise StoreError("<source>", f"a feasible {'/'.join(classes)} run matching the options", "none", "--run")
    return runs


def make_figure(source_path: str | Path, kind: str, opts: PlotOptions | None = None) -> tuple[Any, Any]:
    """Build the figure of ``kind`` from ``source_path``; returns (figure, plotted data).

    Raises:
        StoreError: unknown kind, unreadable source, nothing to plot, or a kind needing a store.
    """
    from schedbench.instances import io
    from schedbench.plots.source import load

    opts = opts or PlotOptions()
    if kind not in pfig.KINDS:
        raise StoreError("KIND", f"one of {list(pfig.KINDS)}", repr(kind))
    path = Path(source_path)
    if opts.solution is not None:  # an instance file and a solution file
        if kind not in ("gantt", "utilisation", "jct-cdf"):
            raise StoreError("--solution", "only with gantt, utilisation or jct-cdf", kind)
        inst = io.load(path)
        from schedbench.validator import load_solution

        sol = load_solution(opts.solution)
        return _schedule_figure(kind, {opts.solution.stem: (inst, sol)}, opts)
    if kind == "cd":
        from schedbench.plots.cd import cd_figure_from_runs

        src = load(path, all_versions=opts.all_versions)
        return cd_figure_from_runs(
            pfig.source_runs(src, cls=opts.cls, objective=opts.objective, solvers=opts.solvers), title=opts.title
        )
    src = load(path, all_versions=opts.all_versions)
    runs = pfig.source_runs(src, cls=opts.cls, objective=opts.objective, solvers=opts.solvers)
    if kind == "profile-time":
        return pfig.profile(runs, "time", target_gap=opts.target_gap, title=opts.title)
    if kind == "profile-gap":
        return pfig.profile(runs, "gap", title=opts.title)
    if kind == "ecdf-limit":
        return pfig.ecdf_limit(runs, title=opts.title)
    if kind == "ecdf-time":
        return pfig.ecdf_time(runs, src.trajectories, title=opts.title)
    if kind == "anytime":
        return pfig.anytime(runs, src.trajectories, instance=opts.instance, title=opts.title)
    if src.store is None:
        raise StoreError(str(path), f"a results store for {kind} (it reads stored solutions)", "an export")
    classes = ("batch", "online") if kind == "gantt" else ("online",)
    sel = _schedule_runs(runs, opts, classes)
    if kind in ("gantt", "utilisation"):
        sel = sel.iloc[:1]
    loaded: dict[str, Any] = {}
    cache: dict[Path, Any] = {}
    for row in sel.itertuples(index=False):
        rid = str(row.run_id)
        ipath = _instance_file(src.store, rid)
        if ipath not in cache:
            cache[ipath] = io.load(ipath)
        key = f"{row.label}|{rid}"
        loaded[key] = (cache[ipath], _solution(src.store, rid))
    return _schedule_figure(kind, loaded, opts)


def _schedule_figure(kind: str, loaded: dict[str, tuple[Any, dict[str, Any]]], opts: PlotOptions) -> tuple[Any, Any]:
    def label(key: str) -> str:
        return key.split("|")[0]

    if kind == "gantt":
        key, (inst, sol) = next(iter(loaded.items()))
        if inst.problem.cls == "batch":
            bars = pdata.batch_bars(inst, sol)
        elif inst.problem.cls == "online":
            bars = pdata.online_segments(sol.get("events") or [])
        else:
            raise StoreError(inst.name, "a batch or online instance for a Gantt chart", inst.problem.cls)
        return pfig.gantt(bars, list(inst.gpu_ids), title=opts.title or f"{label(key)} on {inst.name}")
    if kind == "utilisation":
        curves = {}
        for key, (inst, sol) in loaded.items():
            curves[label(key)] = pdata.utilisation(pdata.online_segments(sol.get("events") or []), inst.n_gpus)
        return pfig.utilisation(curves, title=opts.title)
    if kind == "jct-cdf":
        jcts: dict[str, list[np.ndarray]] = {}
        for key, (inst, sol) in loaded.items():
            jcts.setdefault(label(key), []).append(pdata.job_completion_times(inst, sol.get("events") or []))
        return pfig.jct_cdf({k: np.concatenate(v) for k, v in jcts.items()}, title=opts.title)
    # load-sweep
    rows = []
    for key, (inst, sol) in loaded.items():
        j = pdata.job_completion_times(inst, sol.get("events") or [])
        if j.size:
            rows.append((label(key), pdata.offered_load(inst), float(j.mean())))
    return pfig.load_sweep(pd.DataFrame(rows, columns=["label", "load", "mean_jct"]), title=opts.title)
