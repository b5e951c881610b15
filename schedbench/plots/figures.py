"""The figures: each draws numbers computed by :mod:`schedbench.plots.data` onto a new matplotlib
figure and returns it (the caller saves it). matplotlib (extra ``[plot]``) is imported lazily and
forced onto the headless Agg backend.

Every figure function takes a :class:`~schedbench.plots.source.Source` (or the data it needs) and
keyword options; each returns ``(figure, data)`` where ``data`` is what was plotted, for tests and
for the site's captions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from schedbench.plots import data as pdata
from schedbench.plots.colors import solver_color
from schedbench.store.core import StoreError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from schedbench.plots.source import Source

#: Every figure kind of ``schedbench plot``, with what it shows.
KINDS: dict[str, str] = {
    "profile-time": "Dolan-More performance profile on wall time of solved runs",
    "profile-gap": "Dolan-More performance profile on 1 + gap at the time limit",
    "ecdf-limit": "fraction of runs within each of 51 log-spaced gap targets, at the time limit",
    "ecdf-time": "COCO runtime ECDF: fraction of (run, gap target) pairs reached over time (trajectories)",
    "anytime": "gap over time of each solver on one instance, with its primal integral",
    "gantt": "Gantt chart of one stored batch schedule or online event log",
    "jct-cdf": "CDF of job completion times of online runs",
    "load-sweep": "mean JCT versus offered load of online runs",
    "utilisation": "fraction of busy GPUs over time of one online run",
    "cd": "critical-difference diagram (Friedman + Nemenyi) of the ranks on gap at the limit",
}


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise StoreError("matplotlib", "installed (pip install 'schedbench[plot]')", "not installed") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _new(width: float = 6.4, height: float = 4.0) -> tuple[Figure, Any]:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def _filtered(runs: pd.DataFrame, what: str) -> pd.DataFrame:
    if runs.empty:
        raise StoreError("<runs>", f"runs to plot ({what})", "none after filtering")
    return runs


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", frameon=False)


def profile(
    runs: pd.DataFrame, metric: str = "time", *, target_gap: float | None = None, title: str | None = None
) -> tuple[Figure, pdata.Profile]:
    """Performance profile (``metric`` ``time`` or ``gap``), log2 tau axis as Dolan & More."""
    runs = _filtered(runs, "performance profile")
    costs = pdata.time_costs(runs, target_gap=target_gap) if metric == "time" else pdata.gap_costs(runs)
    prof = pdata.performance_profile(costs)
    fig, ax = _new()
    tmax = max(float(prof.taus[-1]), 1.0) * 1.5 if len(prof.taus) > 1 else 2.0
    for label, rho in prof.rho.items():
        x = np.append(prof.taus, tmax)
        ax.step(x, np.append(rho, rho[-1]), where="post", label=label, color=solver_color(label))
    ax.set_xscale("log", base=2)
    ax.set_xlim(1, tmax)
    ax.set_ylim(0, 1.02)
    what = "wall time" if metric == "time" else "1 + gap at the limit"
    ax.set_xlabel(f"τ (within a factor τ of the best, on {what})")
    ax.set_ylabel(f"fraction of the {prof.problems} instances")
    ax.set_title(title or f"Performance profile: {what}")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig, prof


def ecdf_limit(
    runs: pd.DataFrame, *, targets: np.ndarray | None = None, title: str | None = None
) -> tuple[Figure, dict[str, np.ndarray]]:
    """Fraction of runs within each gap target at the limit; x = target (log, decreasing to the right)."""
    runs = _filtered(runs, "ECDF")
    targets = pdata.gap_targets() if targets is None else targets
    values = {
        str(label): pdata.ecdf_at_limit(g["gap"].to_numpy(float, na_value=np.nan), targets)
        for label, g in runs.groupby("label", sort=True)
    }
    fig, ax = _new()
    for label, y in values.items():
        ax.step(targets, y, where="post", label=label, color=solver_color(label))
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"gap target ({len(targets)} log-spaced targets, harder to the right)")
    ax.set_ylabel(f"fraction of runs (of {len(runs) // max(len(values), 1)} per solver)")
    ax.set_title(title or "ECDF of the gap at the time limit")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig, values


def ecdf_time(
    runs: pd.DataFrame,
    trajectories: pd.DataFrame | None,
    *,
    targets: np.ndarray | None = None,
    title: str | None = None,
) -> tuple[Figure, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """COCO runtime ECDF from the anytime trajectories (plus each run's final answer)."""
    from schedbench.plots.source import trajectory_gaps

    runs = _filtered(runs, "runtime ECDF")
    if trajectories is None:
        raise StoreError(
            "<source>",
            "anytime trajectories (a store, or NAME.trajectories.parquet beside the export)",
            "none",
            "ecdf-time",
        )
    targets = pdata.gap_targets() if targets is None else targets
    per_run = pdata.run_trajectories(runs, trajectory_gaps(runs, trajectories))
    horizon = float(runs["time_limit"].max())
    times = np.logspace(-3, math.log10(max(horizon, 1e-2)), 200)
    values = {}
    for label, g in runs.groupby("label", sort=True):
        y = pdata.ecdf_over_time([per_run[str(r)] for r in g["run_id"]], targets, times)
        values[str(label)] = (times, y)
    fig, ax = _new()
    for label, (x, y) in values.items():
        ax.step(x, y, where="post", label=label, color=solver_color(label))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"fraction of (run, target) pairs, {len(targets)} gap targets")
    ax.set_title(title or "Runtime ECDF over gap targets")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig, values


def anytime(
    runs: pd.DataFrame, trajectories: pd.DataFrame | None, *, instance: str | None = None, title: str | None = None
) -> tuple[Figure, dict[str, float]]:
    """Primal gap over time of each configuration's runs on one instance (first seed), legend with
    the primal integral (s)."""
    from schedbench.plots.source import trajectory_gaps

    runs = _filtered(runs, "anytime curves")
    if instance is None:
        instance = str(sorted(runs["instance"].unique())[0])
    runs = _filtered(runs[runs["instance"] == instance], f"instance {instance!r}")
    traj = (
        trajectory_gaps(runs, trajectories)
        if trajectories is not None
        else pd.DataFrame({"run_id": [], "t": [], "gap": []})
    )
    per_run = pdata.run_trajectories(runs, traj)
    fig, ax = _new()
    integrals = {}
    for label, g in runs.sort_values("seed").groupby("label", sort=True):
        row = g.iloc[0]
        horizon = float(row["time_limit"])
        t, gaps = per_run[str(row["run_id"])]
        edges, vals = pdata.primal_gap_steps(t, gaps, horizon)
        integrals[str(label)] = pdata.primal_integral(t, gaps, horizon)
        ax.step(
            edges,
            np.append(vals, vals[-1]),
            where="post",
            color=solver_color(str(label)),
            label=f"{label} (PI {integrals[str(label)]:.3g} s)",
        )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("primal gap min(1, gap)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title or f"Anytime behaviour on {instance}")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig, integrals


def gantt(bars: pd.DataFrame, gpus: list[str], *, title: str = "Schedule") -> tuple[Figure, pd.DataFrame]:
    """Bars ``job, gpu, start, end`` on one row per GPU; each job keeps one colour across its bars."""
    fig, ax = _new(7.0, max(2.0, 0.25 * len(gpus) + 1.0))
    row = {g: i for i, g in enumerate(gpus)}
    jobs = sorted(bars["job"].unique())
    cmap = _plt().get_cmap("tab20")
    jcolor = {j: cmap(i % 20) for i, j in enumerate(jobs)}
    for job, gpu, start, end in bars[["job", "gpu", "start", "end"]].itertuples(index=False):
        ax.barh(row[gpu], end - start, left=start, height=0.8, color=jcolor[job], edgecolor="black", linewidth=0.3)
    ax.set_yticks(range(len(gpus)), gpus, fontsize="x-small" if len(gpus) > 16 else "small")
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title(title)
    return fig, bars


def jct_cdf(jcts: dict[str, np.ndarray], *, title: str | None = None) -> tuple[Figure, dict[str, Any]]:
    """Empirical CDF of job completion times per solver (log time axis)."""
    fig, ax = _new()
    data = {}
    for label, v in sorted(jcts.items()):
        x, y = pdata.ecdf(v)
        data[label] = (x, y)
        if x.size:
            ax.step(x, y, where="post", label=label, color=solver_color(label))
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (s)")
    ax.set_ylabel("fraction of jobs")
    ax.set_title(title or "JCT CDF")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig, data


def load_sweep(points: pd.DataFrame, *, title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """Mean JCT versus load: ``points`` has ``label, load, mean_jct`` (averaged per label and load)."""
    agg = points.groupby(["label", "load"], as_index=False)["mean_jct"].mean()
    fig, ax = _new()
    for label, g in agg.groupby("label", sort=True):
        ax.plot(g["load"], g["mean_jct"], marker="o", label=label, color=solver_color(str(label)))
    ax.set_xlabel("offered load")
    ax.set_ylabel("mean JCT (s)")
    ax.set_yscale("log")
    ax.set_title(title or "Load sweep")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig, agg


def utilisation(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], *, title: str | None = None
) -> tuple[Figure, dict[str, Any]]:
    """Fraction of busy GPUs over time, one step curve per run label."""
    fig, ax = _new()
    for label, (x, y) in sorted(curves.items()):
        ax.step(x, y, where="post", label=label, color=solver_color(label))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("busy GPUs (fraction)")
    ax.set_title(title or "Utilisation over time")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig, curves


def save(fig: Figure, path: str | Path) -> Path:
    """Save as PDF, PNG or SVG (by suffix), deterministic metadata; closes the figure."""
    p = Path(path)
    fmt = p.suffix.lstrip(".").lower()
    if fmt not in ("pdf", "png", "svg"):
        raise StoreError(str(p), "an output file ending in .pdf, .png or .svg", repr(p.suffix), "-o")
    meta: dict[str, Any] = {"pdf": {"CreationDate": None, "ModDate": None}, "svg": {"Date": None}, "png": {}}[fmt]
    p.parent.mkdir(parents=True, exist_ok=True)
    plt = _plt()
    try:
        if fmt == "svg":
            plt.rcParams["svg.hashsalt"] = "schedbench"
        fig.savefig(p, format=fmt, dpi=110, metadata=meta)
    except OSError as exc:
        raise StoreError(str(p), "a writable output file", f"{type(exc).__name__}: {exc}", "-o") from None
    finally:
        plt.close(fig)
    return p


__all__ = [
    "KINDS",
    "anytime",
    "ecdf_limit",
    "ecdf_time",
    "gantt",
    "jct_cdf",
    "load_sweep",
    "profile",
    "save",
    "utilisation",
]


def source_runs(
    source: Source, *, cls: str | None = None, objective: str | None = None, solvers: list[str] | None = None
) -> pd.DataFrame:
    """The runs of a source, filtered by class, objective and solver names/labels."""
    runs = source.runs
    if cls:
        runs = runs[runs["class"] == cls]
    if objective:
        runs = runs[runs["objective_name"] == objective]
    if solvers:
        runs = runs[runs["solver"].isin(solvers) | runs["label"].isin(solvers)]
    return runs.reset_index(drop=True)
