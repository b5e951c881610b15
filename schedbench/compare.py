"""``schedbench compare BASELINE CANDIDATE``: a quality and speed regression gate between two
result sets of the same campaign.

Inputs: results stores (SQLite) or their ``schedbench export`` files (``.parquet`` or ``.csv``),
in any combination. Runs are **paired**: a baseline run and a candidate run match when they have
the same instance (content hash), solver name, resolved parameters, repetition seed, time limit,
memory limit and threads; the solver's *version* is deliberately not part of the match (a new
version is what is being judged). Statistics are computed over the matched runs only, so both
sides are measured on the same work; runs present on one side only are counted and shown.

Per solver configuration and problem class (the report's grouping), on each side:

- ``solved``: runs with a status in :data:`schedbench.report.SOLVED_STATUSES`;
- ``optimal``: runs with status ``optimal``;
- ``mean gap``: mean of the project's gap (:func:`schedbench.scoring.gap`: the relative deviation
  from ``best``, positive = worse, ``max(|objective|, |best|)`` as denominator when ``best`` is 0) over runs
  with a feasible answer, where ``best`` is **one reference for both sides**: per instance the
  better of the two sides' best-known values (each combines that side's runs and the published
  values). A store's own gaps are relative to its own best answers, so a candidate whose best
  answers got worse would otherwise look *better*;
- ``time``: the shifted geometric mean of penalised wall times
  (:func:`schedbench.report.penalized_times`, :func:`schedbench.report.shifted_geometric_mean`,
  the report's shift and timeout penalty), compared as ``(candidate + shift) / (baseline + shift)``
  (:attr:`Row.time_ratio`): the shift that keeps runs of milliseconds from dominating the mean
  keeps their noise from dominating the ratio.

A group **regresses** when the candidate is worse beyond a tolerance (``--tolerance NAME=VALUE``,
defaults in :data:`DEFAULT_TOLERANCE`): quality absolutely (``solved`` or ``optimal`` lower by
more than ``solved``/``optimal`` runs, mean gap higher by more than ``gap``, in gap units: 0.001 =
0.1 percentage point), time as a ratio (candidate / baseline above ``time``). A group with
baseline runs and no matched candidate run regresses too (``missing``). Exit status: 0 no
regression, 1 at least one, 2 bad input (unreadable file, no run in common, bad tolerance).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from schedbench.errors import InputError
from schedbench.report import (
    DEFAULT_PENALTY,
    DEFAULT_SHIFT,
    SOLVED_STATUSES,
    penalized_times,
    shifted_geometric_mean,
)
from schedbench.scoring import gap as project_gap

#: Default tolerances: counts of runs (solved, optimal), gap units (gap), ratio (time).
DEFAULT_TOLERANCE: dict[str, float] = {"solved": 0.0, "optimal": 0.0, "gap": 1e-3, "time": 1.25}
#: Columns of the runs frame (:func:`schedbench.store.views.runs`, or an export of it) compare reads.
REQUIRED_COLUMNS = (
    "campaign",
    "instance",
    "instance_hash",
    "class",
    "sense",
    "solver",
    "params",
    "seed",
    "time_limit",
    "memory_limit_mb",
    "threads",
    "status",
    "objective",
    "feasible",
    "best_known",
    "wall_s",
)
#: The identity of a run, version excepted (what pairs a baseline run with a candidate run).
MATCH_KEY = ("instance_hash", "solver", "params", "seed", "time_limit", "memory_limit_mb", "threads")


class CompareError(InputError):
    """Unusable input to ``schedbench compare`` (CLI: one line, exit 2)."""

    def __init__(self, file: str, expected: str, found: str, where: str = "") -> None:
        super().__init__(file, where or "<compare>", expected, found)
        self.args = (f"{file}: {where + ': ' if where else ''}expected {expected}, found {found}",)


# -- reading --------------------------------------------------------------------------------------


def read_runs(path: str | Path, *, campaign: str | None = None) -> pd.DataFrame:
    """The runs frame of a store (SQLite), or of a ``schedbench export`` file (``.parquet``,
    ``.csv``), restricted to ``campaign`` when given.

    Raises:
        StoreError / CompareError: a missing or unreadable file, not a store, an unknown campaign,
            or an export lacking :data:`REQUIRED_COLUMNS`.
    """
    p = Path(path)
    if not p.is_file():
        raise CompareError(str(p), "a results store (.sqlite) or an export (.parquet, .csv)", "no such file")
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".csv"):
        try:
            frame = pd.read_parquet(p) if suffix == ".parquet" else pd.read_csv(p, dtype={"params": str})
        except Exception as exc:  # pyarrow and the csv parser raise many types
            raise CompareError(
                str(p), f"a readable {suffix[1:]} export of a store", f"{type(exc).__name__}: {exc}"
            ) from None
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise CompareError(
                str(p),
                f"the runs columns of `schedbench export` (missing {missing})",
                f"columns {list(frame.columns)[:8]}...",
            )
        if campaign is not None:
            if campaign not in set(frame["campaign"].dropna().astype(str)):
                raise CompareError(str(p), "a campaign present in the export", repr(campaign), "--campaign")
            frame = frame[frame["campaign"].astype(str) == campaign]
        return frame.reset_index(drop=True)
    from schedbench.store import views

    return views.runs(p, campaign=campaign)


def _prepare(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Normalised key and value columns (text keys; numeric limits with NA as -1)."""
    out = pd.DataFrame(
        {
            "instance_hash": frame["instance_hash"].astype(str),
            "instance": frame["instance"].astype(str),
            "class": frame["class"].astype(str),
            "sense": frame["sense"].astype(str),
            "solver": frame["solver"].astype(str),
            "params": [_canonical_params(v, source) for v in frame["params"]],
            "seed": pd.to_numeric(frame["seed"], errors="coerce").fillna(-1).astype("int64"),
            "time_limit": pd.to_numeric(frame["time_limit"], errors="coerce").astype(float),
            "memory_limit_mb": pd.to_numeric(frame["memory_limit_mb"], errors="coerce").fillna(-1).astype("int64"),
            "threads": pd.to_numeric(frame["threads"], errors="coerce").fillna(-1).astype("int64"),
            "status": frame["status"].astype(str),
            "objective": pd.to_numeric(frame["objective"], errors="coerce").astype(float),
            "feasible": [
                v is True or (isinstance(v, (bool, np.bool_)) and bool(v)) or str(v).lower() == "true"
                for v in frame["feasible"]
            ],
            "best_known": pd.to_numeric(frame["best_known"], errors="coerce").astype(float),
            "wall_s": pd.to_numeric(frame["wall_s"], errors="coerce").astype(float),
        }
    )
    bad = out["time_limit"].isna() | ~(out["time_limit"] > 0)
    if bad.any():
        raise CompareError(
            source, "runs with a positive time limit", repr(frame["time_limit"][bad].iloc[0]), "time_limit"
        )
    duplicated = out.duplicated(list(MATCH_KEY), keep=False)
    if duplicated.any():  # several versions of one solver in one store: the pairing would be ambiguous
        row = out[duplicated].iloc[0]
        raise CompareError(
            source,
            "one run per instance, solver, parameters and seed (one solver version)",
            f"several runs of {row['solver']} on {row['instance']} seed {row['seed']}",
        )
    return out


def _canonical_params(value: Any, source: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "{}"
    try:
        return json.dumps(json.loads(str(value)), sort_keys=True, separators=(",", ":"))
    except ValueError:
        raise CompareError(source, "solver parameters as JSON", repr(value)[:60], "params") from None


# -- comparing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side's statistics of a group over the matched runs."""

    runs: int
    solved: int
    optimal: int
    feasible: int
    gap_runs: int
    mean_gap: float | None
    sgm_time: float | None


@dataclass(frozen=True)
class Row:
    """One solver configuration on one problem class."""

    solver: str
    problem_class: str
    matched: int
    baseline_only: int
    candidate_only: int
    baseline: Side
    candidate: Side
    regressions: tuple[str, ...] = ()
    improvements: tuple[str, ...] = ()

    shift: float = DEFAULT_SHIFT

    @property
    def time_ratio(self) -> float | None:
        """``(candidate SGM + shift) / (baseline SGM + shift)``: the ratio of the geometric means of
        the shifted times, so that the shift damps differences between very short runs here as it
        does in the mean itself (with shift 0, the plain ratio; None without runs, or with two
        means of 0 s and no shift to compare them by)."""
        b, c = self.baseline.sgm_time, self.candidate.sgm_time
        if b is None or c is None or b + self.shift <= 0:
            return None
        return (c + self.shift) / (b + self.shift)

    @property
    def gap_delta(self) -> float | None:
        """Candidate minus baseline mean gap (None when either side has none)."""
        b, c = self.baseline.mean_gap, self.candidate.mean_gap
        return None if b is None or c is None else c - b


@dataclass(frozen=True)
class Comparison:
    """The rows and what they were computed with."""

    rows: tuple[Row, ...]
    tolerance: dict[str, float]
    shift: float
    penalty: float
    baseline: str
    candidate: str
    notes: tuple[str, ...] = field(default=())

    @property
    def regressed(self) -> bool:
        """Whether any row regressed beyond its tolerance."""
        return any(r.regressions for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        """The comparison as a JSON-ready dict (rows, tolerances, verdict)."""
        rows = []
        for r in self.rows:
            doc = asdict(r)
            doc["regressions"] = list(r.regressions)
            doc["improvements"] = list(r.improvements)
            doc["time_ratio"] = r.time_ratio
            doc["gap_delta"] = r.gap_delta
            rows.append(doc)
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "tolerance": dict(self.tolerance),
            "shift": self.shift,
            "timeout_penalty": self.penalty,
            "regressed": self.regressed,
            "notes": list(self.notes),
            "rows": rows,
        }


def parse_tolerances(items: list[str] | None) -> dict[str, float]:
    """``["time=1.5", "gap=0.01"]`` over :data:`DEFAULT_TOLERANCE`.

    Raises:
        CompareError: an unknown name, a value that is not a finite number, a negative count or
            gap, or a time ratio below 1.
    """
    out = dict(DEFAULT_TOLERANCE)
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or name not in out:
            raise CompareError("--tolerance", f"NAME=VALUE with NAME one of {sorted(out)}", repr(item))
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        low = 1.0 if name == "time" else 0.0
        if not (math.isfinite(value) and value >= low):
            raise CompareError("--tolerance", f"{name} as a finite number >= {low:g}", repr(text))
        out[name] = value
    return out


def _labels(configs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The solver name, plus ``[k=v,...]`` with the parameters that differ when one name has
    several parameter sets."""
    by_name: dict[str, list[tuple[str, str]]] = {}
    for config in dict.fromkeys(configs):
        by_name.setdefault(config[0], []).append(config)
    labels = {}
    for name, group in by_name.items():
        if len(group) == 1:
            labels[group[0]] = name
            continue
        params = {c: json.loads(c[1]) for c in group}
        keys = sorted({k for p in params.values() for k in p})
        differing = [k for k in keys if len({json.dumps(p.get(k), sort_keys=True) for p in params.values()}) > 1]
        for c in group:
            labels[c] = (
                name + "[" + ",".join(f"{k}={json.dumps(params[c].get(k), sort_keys=True)}" for k in differing) + "]"
            )
    return labels


def _side(group: pd.DataFrame, gap_col: str, shift: float, penalty: float) -> Side:
    n = len(group)
    if n == 0:
        return Side(0, 0, 0, 0, 0, None, None)
    solved = group["status"].isin(SOLVED_STATUSES).to_numpy(dtype=bool) & ~group["wall_s"].isna().to_numpy()
    times = penalized_times(
        group["wall_s"].to_numpy(dtype=float), solved, group["time_limit"].to_numpy(dtype=float), penalty
    )
    gaps = group[gap_col].dropna().to_numpy(dtype=float)
    return Side(
        runs=n,
        solved=int(solved.sum()),
        optimal=int((group["status"] == "optimal").sum()),
        feasible=int(group["feasible"].sum()),
        gap_runs=int(gaps.size),
        mean_gap=float(gaps.mean()) if gaps.size else None,
        sgm_time=shifted_geometric_mean(times, shift),
    )


def _reference(base: pd.DataFrame, cand: pd.DataFrame) -> dict[str, float]:
    """Per instance hash, the better of the two sides' best-known values."""
    both = pd.concat([base[["instance_hash", "sense", "best_known"]], cand[["instance_hash", "sense", "best_known"]]])
    both = both.dropna(subset=["best_known"])
    ref: dict[str, float] = {}
    for (digest, sense), values in both.groupby(["instance_hash", "sense"])["best_known"]:
        ref[str(digest)] = float(values.max() if sense == "max" else values.min())
    return ref


def _gaps(frame: pd.DataFrame, ref: dict[str, float]) -> list[float | None]:
    out: list[float | None] = []
    for digest, sense, feasible, objective in zip(
        frame["instance_hash"], frame["sense"], frame["feasible"], frame["objective"], strict=True
    ):
        if not feasible or objective != objective:
            out.append(None)
        else:
            out.append(project_gap(float(objective), ref.get(digest), str(sense)))
    return out


def compare_frames(
    baseline: pd.DataFrame,
    candidate: pd.DataFrame,
    *,
    tolerance: dict[str, float] | None = None,
    shift: float = DEFAULT_SHIFT,
    penalty: float = DEFAULT_PENALTY,
    baseline_name: str = "baseline",
    candidate_name: str = "candidate",
) -> Comparison:
    """Compare two runs frames (see the module docstring).

    Raises:
        CompareError: no run in common, duplicated run identities, or a bad shift or penalty.
    """
    tol = dict(DEFAULT_TOLERANCE if tolerance is None else tolerance)
    try:
        shifted_geometric_mean([1.0], shift)
        penalized_times([], [], [], penalty)
    except ValueError as exc:
        raise CompareError("--shift/--timeout-penalty", "a shift >= 0 and a penalty >= 1", str(exc)) from None
    base = _prepare(baseline, baseline_name)
    cand = _prepare(candidate, candidate_name)
    ref = _reference(base, cand)
    base = base.assign(_gap=pd.array(_gaps(base, ref), dtype="Float64").astype(float))
    cand = cand.assign(_gap=pd.array(_gaps(cand, ref), dtype="Float64").astype(float))
    key = list(MATCH_KEY)
    merged = base.merge(cand[[*key]].assign(_in_cand=True), on=key, how="left")
    base["_matched"] = merged["_in_cand"].fillna(False).astype(bool).to_numpy()
    merged = cand.merge(base[[*key]].assign(_in_base=True), on=key, how="left")
    cand["_matched"] = merged["_in_base"].fillna(False).astype(bool).to_numpy()
    if not base["_matched"].any():
        raise CompareError(
            f"{baseline_name} / {candidate_name}",
            "runs in common (the same campaign: instances, solvers, parameters, seeds, limits)",
            f"none of {len(base)} baseline and {len(cand)} candidate runs match",
        )
    labels = _labels(
        list(zip(base["solver"], base["params"], strict=True)) + list(zip(cand["solver"], cand["params"], strict=True))
    )
    for frame in (base, cand):
        frame["_label"] = [labels[c] for c in zip(frame["solver"], frame["params"], strict=True)]
    groups = sorted(
        set(zip(base["_label"], base["class"], strict=True)) | set(zip(cand["_label"], cand["class"], strict=True)),
        key=lambda g: (g[1], g[0]),
    )
    rows = []
    for label, cls in groups:
        b_all = base[(base["_label"] == label) & (base["class"] == cls)]
        c_all = cand[(cand["_label"] == label) & (cand["class"] == cls)]
        b, c = b_all[b_all["_matched"]], c_all[c_all["_matched"]]
        sb, sc = _side(b, "_gap", shift, penalty), _side(c, "_gap", shift, penalty)
        row = Row(
            solver=label,
            problem_class=cls,
            matched=len(b),
            baseline_only=len(b_all) - len(b),
            candidate_only=len(c_all) - len(c),
            baseline=sb,
            candidate=sc,
            shift=float(shift),
        )
        regressions, improvements = _judge(row, tol)
        rows.append(Row(**{**row.__dict__, "regressions": regressions, "improvements": improvements}))
    notes = []
    unmatched_b, unmatched_c = int((~base["_matched"]).sum()), int((~cand["_matched"]).sum())
    if unmatched_b or unmatched_c:
        notes.append(
            f"{unmatched_b} baseline and {unmatched_c} candidate runs have no counterpart and are not compared"
        )
    return Comparison(tuple(rows), tol, float(shift), float(penalty), baseline_name, candidate_name, tuple(notes))


def _judge(row: Row, tol: dict[str, float]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    worse: list[str] = []
    better: list[str] = []
    if row.matched == 0:
        if row.baseline_only:
            worse.append("missing")
        return tuple(worse), tuple(better)
    b, c = row.baseline, row.candidate
    for name in ("solved", "optimal"):
        diff = getattr(c, name) - getattr(b, name)
        if diff < -tol[name]:
            worse.append(name)
        elif diff > tol[name]:
            better.append(name)
    if row.gap_delta is not None:
        if row.gap_delta > tol["gap"]:
            worse.append("gap")
        elif row.gap_delta < -tol["gap"]:
            better.append("gap")
    elif b.gap_runs and not c.gap_runs:
        worse.append("gap")
    ratio = row.time_ratio
    if ratio is not None:
        if ratio > tol["time"]:
            worse.append("time")
        elif ratio < 1.0 / tol["time"]:
            better.append("time")
    return tuple(worse), tuple(better)


def compare(
    baseline: str | Path,
    candidate: str | Path,
    *,
    tolerance: dict[str, float] | None = None,
    shift: float = DEFAULT_SHIFT,
    penalty: float = DEFAULT_PENALTY,
    campaign: str | None = None,
) -> Comparison:
    """Compare two stores or exports (see the module docstring).

    Raises:
        StoreError / CompareError: bad input (see :func:`read_runs` and :func:`compare_frames`).
    """
    b = read_runs(baseline, campaign=campaign)
    c = read_runs(candidate, campaign=campaign)
    return compare_frames(
        b,
        c,
        tolerance=tolerance,
        shift=shift,
        penalty=penalty,
        baseline_name=str(baseline),
        candidate_name=str(candidate),
    )


# -- output ---------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100.0 * value:.3f}%"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def to_rich(result: Comparison) -> Table:
    """The table of differences; every cell is plain text (no markup is interpreted)."""
    table = Table(
        title=Text(f"{result.baseline} -> {result.candidate}"), caption=Text(caption(result)), caption_justify="left"
    )
    for i, header in enumerate(
        (
            "Solver",
            "Class",
            "Runs",
            "Solved",
            "Optimal",
            "Mean gap",
            "Δ gap (pp)",
            "Time (SGM, s)",
            "Time ratio",
            "Verdict",
        )
    ):
        table.add_column(Text(header), justify="left" if i < 2 or i == 9 else "right", no_wrap=i < 2)
    for r in result.rows:
        b, c = r.baseline, r.candidate
        runs = str(r.matched) + (
            f" (+{r.baseline_only}/{r.candidate_only} unpaired)" if r.baseline_only or r.candidate_only else ""
        )
        delta = "-" if r.gap_delta is None else f"{100.0 * r.gap_delta:+.3f}"
        ratio = "-" if r.time_ratio is None else f"{r.time_ratio:.3f}"
        if r.regressions:
            verdict = Text("WORSE: " + ", ".join(r.regressions), style="bold red")
        elif r.improvements:
            verdict = Text("better: " + ", ".join(r.improvements), style="green")
        else:
            verdict = Text("ok")
        cells = [
            r.solver,
            r.problem_class,
            runs,
            f"{b.solved} -> {c.solved}",
            f"{b.optimal} -> {c.optimal}",
            f"{_pct(b.mean_gap)} -> {_pct(c.mean_gap)}",
            delta,
            f"{_secs(b.sgm_time)} -> {_secs(c.sgm_time)}",
            ratio,
        ]
        table.add_row(*[Text(x) for x in cells], verdict)
    return table


def caption(result: Comparison) -> str:
    """What the numbers mean and the tolerances applied."""
    t = result.tolerance
    text = (
        f"Paired runs (same instance, solver, parameters, seed, limits). Gap: |objective - best| / |best| "
        f"with one best-known value for both sides. Time: shifted geometric mean (shift {result.shift:g} s; "
        f"runs not solved count {result.penalty:g} x their time limit). Worse when: solved or optimal lower by "
        f"more than {t['solved']:g}/{t['optimal']:g} runs, mean gap higher by more than {100 * t['gap']:g} pp, "
        f"time ratio above {t['time']:g}."
    )
    return " ".join([text, *result.notes])
