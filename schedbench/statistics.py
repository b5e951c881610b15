"""Significance tests over a problems x solvers matrix, and bootstrap confidence intervals.

- :func:`wilcoxon_holm`: paired two-sided Wilcoxon signed-rank tests (scipy) between solvers over
  instances, p-values adjusted by Holm's step-down method (:func:`holm`) over all pairs tested;
- :func:`friedman_nemenyi`: Friedman's test on the per-instance ranks, Nemenyi's post-hoc p-values
  and the critical difference ``CD = q_alpha sqrt(k (k + 1) / (6 N))`` (Demšar 2006, JMLR 7:1-30),
  with ``q_alpha`` the studentized range quantile over sqrt(2) (Demšar's table for k <= 10);
- :func:`bootstrap_ci`: percentile bootstrap interval of a statistic (mean gap, shifted geometric
  mean) with a seeded generator (same seed, same interval);
- :func:`cliques`: the groups a critical-difference diagram joins (drawn by :mod:`schedbench.plots.cd`).

Lower values are better throughout (gaps, times); rank 1 is the best solver on an instance; ties
share the average rank. scikit-posthocs (extra ``[plot]``) is used as a cross-check in the tests,
never needed at run time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as ss

#: Demšar (2006), Table 5(a): q_0.05 for k = 2..10 classifiers (two-tailed Nemenyi).
DEMSAR_Q05 = (1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164)
#: Demšar (2006), Table 5(a): q_0.10 for k = 2..10.
DEMSAR_Q10 = (1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920)


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (same order as given, capped at 1).

    Raises:
        ValueError: a p-value outside [0, 1] or NaN.
    """
    p = np.asarray(pvalues, dtype=float)
    if p.size and (np.isnan(p).any() or (p < 0).any() or (p > 1).any()):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def _matrix(costs: pd.DataFrame) -> pd.DataFrame:
    if costs.shape[0] < 2 or costs.shape[1] < 2:
        raise ValueError(f"need at least 2 problems and 2 solvers, got {costs.shape[0]} x {costs.shape[1]}")
    return costs.astype(float)


@dataclass(frozen=True)
class PairTest:
    """One paired comparison: ``a`` against ``b`` over ``n`` problems with a difference."""

    a: str
    b: str
    n: int
    statistic: float
    p: float
    p_holm: float
    better: str | None  # the solver with the smaller median difference when significant, else None


def wilcoxon_holm(
    costs: pd.DataFrame, *, alpha: float = 0.05, pairs: Sequence[tuple[str, str]] | None = None
) -> list[PairTest]:
    """Paired two-sided Wilcoxon signed-rank tests (zero differences dropped, scipy's ``wilcox``
    zero method) between columns of ``costs`` (problems x solvers; inf = failure ranks worst),
    Holm-adjusted over the pairs tested (all pairs by default). A pair whose differences are all
    zero gets p = 1."""
    m = _matrix(costs)
    cols = [str(c) for c in m.columns]
    pairs = list(pairs) if pairs is not None else list(itertools.combinations(cols, 2))
    raw = []
    for a, b in pairs:
        x, y = m[a].to_numpy(), m[b].to_numpy()
        both_inf = np.isinf(x) & np.isinf(y)
        x, y = x[~both_inf], y[~both_inf]
        # a failure is worse than any answer: replace inf by a value above every finite one
        big = np.nanmax(np.where(np.isfinite(np.r_[x, y, 0.0]), np.abs(np.r_[x, y, 0.0]), 0.0)) * 2 + 1
        d = np.where(np.isinf(x), big, x) - np.where(np.isinf(y), big, y)
        d = d[~np.isnan(d)]
        n = int((d != 0).sum())
        if n == 0:
            raw.append((a, b, 0, 0.0, 1.0, 0.0))
            continue
        res = ss.wilcoxon(d, zero_method="wilcox")
        raw.append((a, b, n, float(res.statistic), float(res.pvalue), float(np.median(d[d != 0]))))
    adjusted = holm([r[4] for r in raw]) if raw else np.empty(0)
    out = []
    for (a, b, n, stat, p, med), ph in zip(raw, adjusted, strict=True):
        better = (b if med > 0 else a) if ph <= alpha and med != 0 else None
        out.append(PairTest(a, b, n, stat, p, float(ph), better))
    return out


def ranks(costs: pd.DataFrame) -> pd.DataFrame:
    """Per-problem ranks (1 = lowest cost; ties share the average rank; inf ranks last)."""
    m = _matrix(costs)
    return pd.DataFrame(ss.rankdata(m.to_numpy(), axis=1), index=m.index, columns=m.columns)


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """The Nemenyi critical value ``q_alpha`` for ``k`` solvers: the studentized range quantile
    (infinite degrees of freedom) over sqrt(2); equals Demšar's Table 5(a) to 3 decimals."""
    if k < 2:
        raise ValueError(f"need k >= 2 solvers, got {k}")
    return float(ss.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """``CD = q_alpha * sqrt(k (k + 1) / (6 n))`` (Demšar 2006, eq. in section 3.2.2)."""
    if n < 1:
        raise ValueError(f"need n >= 1 problems, got {n}")
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n))


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's test and Nemenyi's post-hoc over ``n`` problems and ``k`` solvers.

    Attributes:
        statistic: Friedman's chi-square (with the tie correction scipy applies).
        p: its p-value.
        iman_davenport: Iman & Davenport's F statistic ``(N-1) chi2 / (N (k-1) - chi2)``.
        avg_ranks: average rank per solver (1 = best), ascending.
        cd: critical difference at ``alpha``.
        nemenyi: k x k matrix of Nemenyi p-values.
    """

    n: int
    k: int
    statistic: float
    p: float
    iman_davenport: float
    avg_ranks: pd.Series
    cd: float
    alpha: float
    nemenyi: pd.DataFrame


def friedman_statistic(avg_ranks: Sequence[float] | np.ndarray, n: int) -> tuple[float, float]:
    """Friedman's ``chi2_F = 12 N / (k (k+1)) [sum R_j^2 - k (k+1)^2 / 4]`` from the average ranks
    (no tie correction) and Iman & Davenport's ``F_F = (N-1) chi2_F / (N (k-1) - chi2_F)``."""
    r = np.asarray(avg_ranks, dtype=float)
    k = r.size
    chi2 = 12.0 * n / (k * (k + 1)) * (float(np.sum(r**2)) - k * (k + 1) ** 2 / 4.0)
    denom = n * (k - 1) - chi2
    return chi2, ((n - 1) * chi2 / denom if denom > 0 else math.inf)


def friedman_nemenyi(costs: pd.DataFrame, alpha: float = 0.05) -> FriedmanResult:
    """Friedman's test and Nemenyi's post-hoc on ``costs`` (problems x solvers, lower is better).

    Raises:
        ValueError: fewer than 2 problems or solvers.
    """
    m = _matrix(costs)
    n, k = m.shape
    r = ranks(m)
    avg = r.mean(axis=0).sort_values(kind="stable")
    if k >= 3:
        res = ss.friedmanchisquare(*[m[c].to_numpy() for c in m.columns])
        chi2, p = float(res.statistic), float(res.pvalue)
    else:  # Friedman's chi-square without scipy's k >= 3 restriction
        chi2 = friedman_statistic(r.mean(axis=0).to_numpy(), n)[0]
        p = float(ss.chi2.sf(chi2, k - 1))
    denom = n * (k - 1) - chi2
    ff = (n - 1) * chi2 / denom if denom > 0 else math.inf
    se = math.sqrt(k * (k + 1) / (6.0 * n))
    mean = r.mean(axis=0)
    q = np.abs(mean.to_numpy()[:, None] - mean.to_numpy()[None, :]) / se
    pv = ss.studentized_range.sf(q * math.sqrt(2), k, np.inf)
    np.fill_diagonal(pv, 1.0)
    nem = pd.DataFrame(np.minimum(pv, 1.0), index=m.columns, columns=m.columns)
    return FriedmanResult(n, k, chi2, p, float(ff), avg, critical_difference(k, n, alpha), alpha, nem)


def cliques(avg_ranks: pd.Series, cd: float) -> list[tuple[str, ...]]:
    """Maximal groups of solvers (in rank order) whose average ranks lie within ``cd`` of each
    other: the bars of a CD diagram (groups of one are omitted)."""
    names = list(avg_ranks.index)
    vals = avg_ranks.to_numpy()
    groups: list[tuple[str, ...]] = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and vals[j + 1] - vals[i] <= cd + 1e-12:
            j += 1
        if j > i and not any(set(names[i : j + 1]) <= set(g) for g in groups):
            groups.append(tuple(names[i : j + 1]))
    return groups


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap percentile interval."""

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    seed: int


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] | str = "mean",
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    groups: Sequence[Any] | None = None,
) -> Interval:
    """Percentile bootstrap interval of ``statistic`` (``"mean"``, ``"sgm"`` = shifted geometric
    mean with shift 10, or a function of a 1-D array). With ``groups`` (e.g. instance names, one per
    value) whole groups are resampled (the seeds of one instance stay together). Deterministic for
    a given ``seed`` (numpy's PCG64).

    Raises:
        ValueError: empty input, NaN, or a level outside (0, 1).
    """
    from schedbench.report.stats import shifted_geometric_mean

    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0 or np.isnan(v).any():
        raise ValueError("values must be a non-empty 1-D array without NaN")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    fn: Callable[[np.ndarray], float]
    if statistic == "mean":
        fn = np.mean
    elif statistic == "sgm":

        def fn(a: np.ndarray) -> float:
            return shifted_geometric_mean(a, 10.0)
    elif callable(statistic):
        fn = statistic
    else:
        raise ValueError(f"statistic must be 'mean', 'sgm' or a function, got {statistic!r}")
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, v.size, size=(n_boot, v.size))
        boots = np.array([fn(v[i]) for i in idx])
    else:
        codes, uniq = pd.factorize(pd.Series(list(groups)))
        if len(codes) != v.size:
            raise ValueError("groups must have one entry per value")
        members = [np.flatnonzero(codes == g) for g in range(len(uniq))]
        picks = rng.integers(0, len(members), size=(n_boot, len(members)))
        boots = np.array([fn(v[np.concatenate([members[g] for g in row])]) for row in picks])
    a = (1 - level) / 2
    return Interval(float(fn(v)), float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a)), level, n_boot, seed)
