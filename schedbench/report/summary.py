"""The summary table: one row per solver configuration and problem class."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schedbench.report.stats import (
    DECLINED_STATUSES,
    DEFAULT_PENALTY,
    DEFAULT_SHIFT,
    FAILURE_STATUSES,
    SOLVED_STATUSES,
    TIMEOUT_STATUSES,
    WRONG_STATUSES,
    gap_stats,
    penalized_times,
    shifted_geometric_mean,
)
from schedbench.scoring import CLAIM_RTOL, CREDITED_STATUSES, contradicted_by_best

#: Columns of the runs frame (:func:`schedbench.store.views.runs`) the summary reads.
REQUIRED_COLUMNS = ("solver", "solver_version", "params", "class", "status", "feasible", "gap", "wall_s", "time_limit")


@dataclass(frozen=True)
class SummaryRow:
    """One solver configuration on one problem class.

    Attributes:
        solver: the solver's label (its name; version and differing parameters added when a name
            has several configurations in the store).
        problem_class: the class.
        runs: runs in the store.
        feasible: runs whose kept answer the validator found feasible (any status).
        optimal: runs with status ``optimal``.
        timeouts, failures, wrong, declined: see :mod:`schedbench.report.stats` (declined runs
            are not in the time statistic).
        gap_runs: runs with a gap (a feasible answer and a best-known value).
        mean_gap, median_gap: over those runs (None when there are none).
        solved: runs counted at their measured time in ``sgm_time``.
        sgm_time: shifted geometric mean of the penalized wall times (seconds); None when
            every run was declined.
        flags: ``flag: count`` of the runs' flags, most frequent first ('' when none).
    """

    solver: str
    problem_class: str
    runs: int
    feasible: int
    optimal: int
    timeouts: int
    failures: int
    gap_runs: int
    mean_gap: float | None
    median_gap: float | None
    solved: int
    sgm_time: float | None
    wrong: int = 0
    declined: int = 0
    flags: str = ""


@dataclass(frozen=True)
class Summary:
    """The table and the parameters it was computed with (printed with it)."""

    rows: tuple[SummaryRow, ...]
    shift: float = DEFAULT_SHIFT
    penalty: float = DEFAULT_PENALTY
    campaign: str | None = None

    def caption(self, *, times: str = "×") -> str:
        """What the numbers mean, parameters included (every output format prints it)."""
        scope = f"Campaign {self.campaign}. " if self.campaign else ""
        return (
            f"{scope}Time: shifted geometric mean of wall time (shift {self.shift:g} s); runs not solved "
            f"(status other than {'/'.join(SOLVED_STATUSES)}) count as {self.penalty:g} {times} their time limit; "
            "declined runs (unsupported) are shown apart and not timed; Wrong: a claim (infeasible, optimal, a "
            "bound) contradicted by a known answer, never credited. "
            "Solved: runs counted at their measured time. Gap: relative deviation from the best known value, "
            "(objective - best known) / |best known| (mirrored for max; positive = worse; max(|objective|, "
            "|best known|) as denominator when the best known is 0), over runs with a feasible answer; "
            "reference: the best of the published values (optimum, best known, planted solution) and the "
            "validated answers of all runs in the store."
        )


def solver_labels(configs: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
    """A short unique label per (name, version, params JSON): the name, plus ``@version`` when the
    name has several versions and ``[k=v,...]`` with the parameters that differ between them."""
    by_name: dict[str, list[tuple[str, str, str]]] = {}
    for config in dict.fromkeys(configs):
        by_name.setdefault(config[0], []).append(config)
    labels: dict[tuple[str, str, str], str] = {}
    for name, group in by_name.items():
        if len(group) == 1:
            labels[group[0]] = name
            continue
        versions = {v for _, v, _ in group}
        params = {c: json.loads(c[2]) for c in group}
        keys = sorted({k for p in params.values() for k in p})
        differing = [k for k in keys if len({json.dumps(p.get(k), sort_keys=True) for p in params.values()}) > 1]
        for config in group:
            label = name + (f"@{config[1]}" if len(versions) > 1 else "")
            if differing:
                label += "[" + ",".join(f"{k}={_short(params[config].get(k))}" for k in differing) + "]"
            labels[config] = label
    seen: dict[str, int] = {}
    for config, label in list(labels.items()):  # distinct configs whose labels still collide
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[config] = f"{label}#{seen[label]}"
    return labels


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def summarize(
    frame: pd.DataFrame, *, shift: float = DEFAULT_SHIFT, penalty: float = DEFAULT_PENALTY, campaign: str | None = None
) -> Summary:
    """The summary of a runs frame (:func:`schedbench.store.views.runs`).

    A solved run without a measured wall time counts as not solved for the time statistic.

    Raises:
        ValueError: a missing column, or a bad shift or penalty.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the runs frame lacks the columns {missing}")
    frame = regrade(frame)
    configs = list(zip(frame["solver"], frame["solver_version"], frame["params"], strict=True))
    labels = solver_labels(configs)
    keyed = frame.assign(_label=[labels[c] for c in configs])
    rows = []
    for (label, cls), group in keyed.groupby(["_label", "class"], sort=False, dropna=False):
        status = group["status"]
        declined = status.isin(DECLINED_STATUSES).to_numpy(dtype=bool)
        wall = pd.to_numeric(group["wall_s"], errors="coerce").to_numpy(dtype=float, na_value=float("nan"))
        solved = (status.isin(SOLVED_STATUSES).to_numpy(dtype=bool)) & ~pd.isna(wall)
        limits = pd.to_numeric(group["time_limit"]).to_numpy(dtype=float)
        times = penalized_times(wall[~declined], solved[~declined], limits[~declined], penalty)
        gaps = pd.to_numeric(group["gap"], errors="coerce").dropna().to_numpy(dtype=float)
        gs = gap_stats(gaps)
        feasible = group["feasible"].fillna(False).astype(bool) if len(group) else group["feasible"]
        rows.append(
            SummaryRow(
                solver=str(label),
                problem_class=str(cls),
                runs=len(group),
                feasible=int(feasible.sum()),
                optimal=int((status == "optimal").sum()),
                timeouts=int(status.isin(TIMEOUT_STATUSES).sum()),
                failures=int(status.isin(FAILURE_STATUSES).sum()),
                gap_runs=gs.n,
                mean_gap=gs.mean,
                median_gap=gs.median,
                solved=int(solved.sum()),
                sgm_time=shifted_geometric_mean(times, shift) if len(times) else None,
                wrong=int(status.isin(WRONG_STATUSES).sum()),
                declined=int(declined.sum()),
                flags=_flag_counts(group["flags"]) if "flags" in group.columns else "",
            )
        )
    if not rows:  # still validate the parameters
        shifted_geometric_mean([0.0], shift)
        penalized_times([], [], [], penalty)
    rows.sort(key=lambda r: (r.problem_class, r.solver))
    return Summary(tuple(rows), float(shift), float(penalty), campaign)


def _flag_counts(flags: pd.Series) -> str:
    counts: dict[str, int] = {}
    for text in flags.fillna(""):
        for flag in str(text).split(","):
            if flag:
                counts[flag] = counts.get(flag, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def regrade(frame: pd.DataFrame, rtol: float = CLAIM_RTOL) -> pd.DataFrame:
    """The runs frame with contradicted claims re-graded ``wrong`` at report time, by the store's
    rule (:func:`schedbench.scoring.contradicted_by_best` against each run's ``best_known``: a claim
    of ``infeasible`` on an instance with a best-known value, an ``optimal`` answer worse than it, a
    bound better than it, beyond ``rtol``) for runs whose status is credited. The store does the same
    at each write; this also covers stores written before it did. Returns a copy when anything changed."""
    needed = ("best_known", "sense", "claimed_status", "objective", "bound")
    if frame.empty or any(c not in frame.columns for c in needed):
        return frame

    def value(x: Any) -> float | None:
        return None if pd.isna(x) else float(x)

    def text(x: Any) -> str | None:
        return None if pd.isna(x) else str(x)

    wrong = [
        status in CREDITED_STATUSES
        and bool(
            contradicted_by_best(
                sense=str(sense),
                claimed_status=text(claimed),
                objective=value(obj),
                bound=value(bound),
                best=value(best),
                rtol=rtol,
            )
        )
        for status, sense, claimed, obj, bound, best in zip(
            frame["status"],
            frame["sense"],
            frame["claimed_status"],
            pd.to_numeric(frame["objective"], errors="coerce"),
            pd.to_numeric(frame["bound"], errors="coerce"),
            pd.to_numeric(frame["best_known"], errors="coerce"),
            strict=True,
        )
    ]
    if not any(wrong):
        return frame
    out = frame.copy()
    out.loc[np.asarray(wrong, dtype=bool), "status"] = "wrong"
    return out
