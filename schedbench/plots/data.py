"""The numbers behind every figure, as pure functions (tested on their own; the figures only draw them).

Conventions (docs/outputs.md):

- **problem** = an instance; several seeds of one configuration on one instance are summarised by
  their median (time, gap) before profiles are computed.
- **gap** = the project's one definition, :func:`schedbench.scoring.gap` (stored per run).
- a run without a counted answer has an infinite performance measure (it never reaches any ratio).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schedbench.report.stats import SOLVED_STATUSES

#: Number of COCO-style gap targets.
N_TARGETS = 51


# ---------------------------------------------------------------------------------------------------
# Dolan-More performance profiles
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """A performance profile: ``rho[s][k]`` = fraction of problems on which solver ``s`` is within
    a factor ``taus[k]`` of the best solver (a right-continuous step function of ``tau``).

    Attributes:
        taus: ascending ratios, starting at 1, ending at the largest finite ratio (or 1).
        rho: per solver, the fraction at each tau.
        problems: number of problems.
    """

    taus: np.ndarray
    rho: dict[str, np.ndarray]
    problems: int


def performance_profile(costs: pd.DataFrame) -> Profile:
    """Dolan & More (2002): ``r[p, s] = t[p, s] / min_s t[p, s]``, ``rho_s(tau) = |{p : r[p, s] <= tau}| / |P|``.

    Args:
        costs: one row per problem, one column per solver, positive costs; NaN or inf = failure
            (never within any ratio). A problem every solver failed counts in ``|P|`` for all.

    Raises:
        ValueError: a zero or negative cost, or no problems/solvers.
    """
    values = costs.to_numpy(dtype=float, na_value=np.nan)
    if values.ndim != 2 or values.size == 0:
        raise ValueError("a performance profile needs at least one problem and one solver")
    values = np.where(np.isnan(values), np.inf, values)
    if (values <= 0).any():
        raise ValueError("performance measures must be positive (shift gaps by 1, floor times)")
    best = values.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        ratios = np.where(np.isfinite(values), values / best, np.inf)
    finite = ratios[np.isfinite(ratios)]
    taus = np.unique(np.concatenate([[1.0], finite]))
    n = values.shape[0]
    rho = {str(s): np.searchsorted(np.sort(ratios[:, j]), taus, side="right") / n for j, s in enumerate(costs.columns)}
    return Profile(taus, rho, n)


def _problem_key(runs: pd.DataFrame) -> list[str]:
    return ["instance_hash"] if "instance_hash" in runs.columns else ["instance"]


def time_costs(runs: pd.DataFrame, *, target_gap: float | None = None, floor: float = 1e-3) -> pd.DataFrame:
    """Problems x solver labels: median wall time of the runs that count as solved (status in
    :data:`~schedbench.report.stats.SOLVED_STATUSES` and, with ``target_gap``, a gap at most that),
    floored at ``floor`` s; inf when no run of that configuration on that instance is solved."""
    solved = runs["status"].isin(SOLVED_STATUSES) & runs["wall_s"].notna()
    if target_gap is not None:
        solved &= runs["gap"].notna() & (runs["gap"] <= target_gap)
    t = np.where(solved, np.maximum(runs["wall_s"].astype(float).fillna(0.0), floor), np.inf)
    frame = runs.assign(_m=t)
    return frame.pivot_table(
        index=_problem_key(runs), columns="label", values="_m", aggfunc="median", dropna=False
    ).replace(np.nan, np.inf)


def gap_costs(runs: pd.DataFrame) -> pd.DataFrame:
    """Problems x solver labels: ``1 + median gap`` at the limit (inf without a gap), the ratio
    measure of the gap profile (``1 + gap`` is the objective over the best known for a minimisation)."""
    g = 1.0 + runs["gap"].astype(float)
    frame = runs.assign(_m=np.where(g.notna(), g, np.inf))
    return frame.pivot_table(
        index=_problem_key(runs), columns="label", values="_m", aggfunc="median", dropna=False
    ).replace(np.nan, np.inf)


# ---------------------------------------------------------------------------------------------------
# COCO-style ECDFs over gap targets
# ---------------------------------------------------------------------------------------------------
def gap_targets(n: int = N_TARGETS, lo: float = 1e-4, hi: float = 1.0) -> np.ndarray:
    """``n`` log-spaced gap targets from ``hi`` down to ``lo`` (COCO's 51 targets, here 100 % to 0.01 %)."""
    if n < 2 or not (0 < lo < hi):
        raise ValueError(f"need n >= 2 and 0 < lo < hi, got n={n}, lo={lo}, hi={hi}")
    return np.logspace(np.log10(hi), np.log10(lo), n)


def ecdf_at_limit(gaps: Sequence[float] | np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Fraction of runs whose final gap is at most each target (a run without a gap reaches none)."""
    g = np.asarray(gaps, dtype=float)
    if g.size == 0:
        return np.zeros(len(targets))
    g = np.where(np.isnan(g), np.inf, g)
    return (g[:, None] <= np.asarray(targets)[None, :]).mean(axis=0)


def hitting_times(t: np.ndarray, gaps: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """First time the best-so-far gap of one run is at most each target (inf if never)."""
    if len(t) == 0:
        return np.full(len(targets), np.inf)
    order = np.argsort(t, kind="stable")
    t, best = np.asarray(t, float)[order], np.minimum.accumulate(np.asarray(gaps, float)[order])
    # best is non-increasing: the first index with best <= target
    idx = np.searchsorted(-best, -np.asarray(targets), side="left")
    out = np.full(len(targets), np.inf)
    ok = idx < len(t)
    out[ok] = t[idx[ok]]
    return out


def ecdf_over_time(
    per_run: Iterable[tuple[np.ndarray, np.ndarray]], targets: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """COCO's runtime ECDF: at each of ``times``, the fraction of (run, target) pairs whose target
    was reached by then. ``per_run`` yields each run's (times, gaps) trajectory (empty for a run
    with no answer: it still counts in the denominator)."""
    hits = [hitting_times(t, g, targets) for t, g in per_run]
    if not hits:
        return np.zeros(len(times))
    flat = np.sort(np.concatenate(hits))
    return np.searchsorted(flat, np.asarray(times, float), side="right") / flat.size


def run_trajectories(runs: pd.DataFrame, traj_gaps: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each run's (times, gaps): its stored trajectory, plus its final answer at its wall time (the
    answer that counts at the limit), empty for a run without any."""
    grouped = {rid: (g["t"].to_numpy(float), g["gap"].to_numpy(float)) for rid, g in traj_gaps.groupby("run_id")}
    out = {}
    for rid, wall, final in zip(runs["run_id"], runs["wall_s"], runs["gap"], strict=True):
        t, g = grouped.get(rid, (np.empty(0), np.empty(0)))
        if pd.notna(final):
            t = np.append(t, 0.0 if pd.isna(wall) else float(wall))
            g = np.append(g, float(final))
        out[str(rid)] = (t, g)
    return out


# ---------------------------------------------------------------------------------------------------
# Anytime curves and the primal integral
# ---------------------------------------------------------------------------------------------------
def primal_gap_steps(t: np.ndarray, gaps: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """The primal gap function of one run as steps: ``p = 1`` before the first incumbent, then
    ``min(1, best gap so far)``. Returns (breakpoints from 0 to ``horizon``, value on each interval)."""
    order = np.argsort(t, kind="stable")
    t = np.clip(np.asarray(t, float)[order], 0.0, horizon)
    p = np.minimum(1.0, np.minimum.accumulate(np.asarray(gaps, float)[order])) if len(t) else np.empty(0)
    edges = np.concatenate([[0.0], t, [horizon]])
    values = np.concatenate([[1.0], p])
    return edges, values


def primal_integral(t: np.ndarray, gaps: np.ndarray, horizon: float) -> float:
    """Berthold's primal integral ``∫_0^horizon p(t) dt`` of :func:`primal_gap_steps` (seconds; 0 =
    optimal at once, ``horizon`` = nothing found)."""
    if horizon <= 0:
        raise ValueError(f"horizon must be positive, got {horizon!r}")
    edges, values = primal_gap_steps(t, gaps, horizon)
    return float(np.sum(np.diff(edges) * values))


# ---------------------------------------------------------------------------------------------------
# Schedules: Gantt bars, online event logs
# ---------------------------------------------------------------------------------------------------
_ORDER = {"preempt": 0, "finish": 0, "migrate": 1, "start": 2, "resume": 2, "reject": 2}


def batch_bars(instance: Any, solution: Mapping[str, Any]) -> pd.DataFrame:
    """Gantt bars of a batch schedule: one row per (job, GPU): ``job, gpu, start, end`` (end =
    start + the job's processing time on that GPU's type)."""
    rows = []
    jidx = {j: i for i, j in enumerate(instance.jobs.ids)}
    for job, entry in (solution.get("schedule") or {}).items():
        gpus, start = entry.get("gpus") or [], float(entry.get("start", 0.0))
        for g in gpus:
            dur = float(instance.jobs.time[jidx[job], instance.gpu_type[instance.gpu_index[g]]])
            rows.append((job, g, start, start + dur))
    return pd.DataFrame(rows, columns=["job", "gpu", "start", "end"])


def online_segments(events: Sequence[Mapping[str, Any]], horizon: float | None = None) -> pd.DataFrame:
    """Holdings of an online event log (the validator's format and replay order): one row per
    (job, GPU, held interval): ``job, gpu, start, end``. A holding never released ends at
    ``horizon`` (default: the last event's time)."""
    keyed = sorted(enumerate(events), key=lambda ie: (float(ie[1]["time"]), _ORDER.get(ie[1]["event"], 3), ie[0]))
    held: dict[str, tuple[float, list[str]]] = {}
    rows = []
    last = max((float(e["time"]) for e in events), default=0.0)
    end_all = last if horizon is None else horizon
    for _, ev in keyed:
        t, job, kind = float(ev["time"]), str(ev["job"]), ev["event"]
        if kind in ("preempt", "finish", "migrate") and job in held:
            t0, gpus = held.pop(job)
            rows += [(job, g, t0, t) for g in gpus]
        if kind in ("start", "resume", "migrate"):
            held[job] = (t, list(ev.get("gpus") or []))
    for job, (t0, gpus) in held.items():
        rows += [(job, g, t0, end_all) for g in gpus]
    return pd.DataFrame(rows, columns=["job", "gpu", "start", "end"])


def job_completion_times(instance: Any, events: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """JCT of every finished job: its ``finish`` time minus its release (rejected/unfinished jobs omitted)."""
    release = dict(zip(instance.jobs.ids, instance.jobs.release.tolist(), strict=True))
    return np.asarray(
        sorted(float(e["time"]) - release[e["job"]] for e in events if e["event"] == "finish" and e["job"] in release),
        dtype=float,
    )


def ecdf(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The empirical CDF: sorted values and the fraction ``<=`` each."""
    v = np.sort(np.asarray(values, dtype=float))
    return v, np.arange(1, v.size + 1) / max(v.size, 1)


def utilisation(segments: pd.DataFrame, n_gpus: int) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of the ``n_gpus`` GPUs holding at least one job, as steps: (breakpoints, value from
    each breakpoint to the next). Space-shared GPUs count once."""
    if segments.empty:
        return np.array([0.0]), np.array([0.0])
    points = sorted({*segments["start"].tolist(), *segments["end"].tolist()})
    values = []
    for a, b in itertools.pairwise(points):
        mid = (a + b) / 2
        busy = segments[(segments["start"] <= mid) & (segments["end"] > mid)]["gpu"].nunique()
        values.append(busy / n_gpus)
    values.append(0.0)
    return np.asarray(points), np.asarray(values)


def offered_load(instance: Any) -> float:
    """The load an online instance was generated at (its generator's ``load`` parameter), else the
    offered load ``sum(gang * fastest time) / (GPUs * arrival span)``."""
    params = ((instance.metadata or {}).get("generator") or {}).get("params") or {}
    if isinstance(params.get("load"), (int, float)):
        return float(params["load"])
    jobs = instance.jobs
    work = float(np.sum(jobs.gang * np.nanmin(np.where(jobs.eligible, jobs.time, np.nan), axis=1)))
    span = float(jobs.release.max() - jobs.release.min()) or 1.0
    return work / (instance.n_gpus * span)
