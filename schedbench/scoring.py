"""Scoring: the known values of an instance and where they come from, the best known value, the
checks of a solver's claims against them, and the project's one gap.

Every output that scores an answer goes through this module: the runner's grading
(:mod:`schedbench.runner.grade`), the store's best-known values and re-grading, the report, the
comparison of two stores, the gate, ``schedbench solve`` and the published tables.

Known values
    An instance may carry published values in ``metadata["known"]``: ``optimum``, ``best_known``,
    ``lower_bound`` and ``upper_bound``. For a minimisation ``upper_bound`` is the value of a known
    solution (a generator publishes its planted solution this way) and ``lower_bound`` a proven
    bound; a maximisation mirrors it. The *attained* (primal) values are therefore ``optimum``,
    ``best_known`` and the primal bound (:func:`primal_keys`); the *bounds* (dual) are ``optimum``
    and the dual bound (:func:`dual_keys`).

The best known value
    :func:`combine_best`: the best of the attained published values and of the best validated answer
    of the runs, with its source (:data:`SOURCES`).

The gap
    :func:`gap` is the relative deviation from a reference value, positive when the answer is
    worse::

        gap = (objective - reference) / |reference|     (minimisation)
        gap = (reference - objective) / |reference|     (maximisation)

    It is 0 when they are equal. When ``|reference| < GAP_FLOOR`` (a reference of 0, e.g. no
    tardiness) the denominator is ``max(|objective|, |reference|)`` instead, so that any other answer
    has a gap of +-1 (Berthold's primal gap) rather than an astronomic ratio. Stores, exports and
    frames hold the fraction (column ``gap``); every output prints it as a percentage (the relative
    percentage deviation of the scheduling literature, ``100 * gap``), always next to the source of
    its reference. Which reference each output uses is documented in ``docs/outputs.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The keys of an instance's published values (``metadata["known"]``).
KNOWN_KEYS = ("optimum", "best_known", "lower_bound", "upper_bound")
#: Below this ``|reference|`` counts as 0 in :func:`gap` (the denominator is then
#: ``max(|objective|, |reference|)``).
GAP_FLOOR = 1e-9
#: Relative tolerance of the claim checks (runner and store alike).
CLAIM_RTOL = 1e-6
#: Relative tolerance deciding that a bound meets the best-known value (proven optimal).
OPT_TOL = 1e-9
#: How a reference's source is named in every output: a published value by its key
#: (``published optimum``, ``published best_known``, ``published upper_bound``: for a minimisation,
#: the value of a known solution such as a generator's planted one), the best validated answer of the
#: runs (``run``), a run's proven bound (``run <run id>``), and in ``solve`` the run's own bound
#: (``solver bound``).
SOURCES = (
    "published optimum",
    "published best_known",
    "published upper_bound",
    "published lower_bound",
    "run",
    "run <run id>",
    "solver bound",
)


def primal_keys(sense: str) -> tuple[str, ...]:
    """The published keys whose values some feasible answer attains: ``optimum``, ``best_known`` and
    the primal bound (``upper_bound`` for min, ``lower_bound`` for max)."""
    return ("optimum", "best_known", "upper_bound" if sense == "min" else "lower_bound")


def dual_keys(sense: str) -> tuple[str, ...]:
    """The published keys that bound every answer: ``optimum`` and the dual bound (``lower_bound``
    for min, ``upper_bound`` for max)."""
    return ("optimum", "lower_bound" if sense == "min" else "upper_bound")


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def known_values(known: Mapping[str, Any] | None) -> dict[str, float]:
    """The finite published values of ``known`` (an instance's ``metadata["known"]``), as floats;
    other keys and values that are not finite numbers are left out."""
    out = {}
    for key in KNOWN_KEYS:
        value = _finite((known or {}).get(key))
        if value is not None:
            out[key] = value
    return out


def primal_known(known: Mapping[str, float], sense: str) -> list[tuple[str, float]]:
    """``(key, value)`` of the attained published values in ``known`` (see :func:`primal_keys`)."""
    return [(k, float(known[k])) for k in primal_keys(sense) if _finite(known.get(k)) is not None]


def better(a: float, b: float, sense: str) -> bool:
    """``a`` is strictly better than ``b`` as a solution value."""
    return a < b if sense == "min" else a > b


def worse(a: float, b: float, sense: str, rtol: float = CLAIM_RTOL) -> bool:
    """``a`` is worse than ``b`` beyond the relative tolerance ``rtol * max(1, |b|)``."""
    tol = rtol * max(1.0, abs(b))
    return a > b + tol if sense == "min" else a < b - tol


def combine_best(
    sense: str, known: Mapping[str, Any], run_best: tuple[float, str] | None, run_bound: tuple[float, str] | None
) -> dict[str, Any]:
    """Best-known value and best bound of an instance from its published values and its runs.

    The best-known value is the best of the attained published values (:func:`primal_keys`) and of
    ``run_best`` (the best validated objective of the runs and its run id); the best bound the
    tightest of the published bounds (:func:`dual_keys`) and ``run_bound`` (the tightest trusted
    proven bound of the runs and its run id). Ties keep the published value.

    Returns:
        ``best_known``, ``best_known_source`` (``published <key>`` or ``run``), ``best_run_id``,
        ``bound``, ``bound_source`` (``published <key>`` or ``run <run id>``), ``proven_optimal``
        (the bound meets the best-known value within :data:`OPT_TOL`) and ``conflict`` (a bound
        better than a known solution: a wrong published value or a wrong solver bound).
    """
    best: float | None = None
    best_src: str | None = None
    best_run: str | None = None
    for key in primal_keys(sense):
        value = _finite(known.get(key))
        if value is not None and (best is None or better(value, best, sense)):
            best, best_src = value, f"published {key}"
    if run_best is not None and (best is None or better(run_best[0], best, sense)):
        best, best_src, best_run = run_best[0], "run", run_best[1]
    bound: float | None = None
    bound_src: str | None = None
    for key in dual_keys(sense):
        value = _finite(known.get(key))
        # a bound is better when tighter: larger for min, smaller for max
        if value is not None and (bound is None or better(bound, value, sense)):
            bound, bound_src = value, f"published {key}"
    if run_bound is not None and (bound is None or better(bound, run_bound[0], sense)):
        bound, bound_src = run_bound[0], f"run {run_bound[1]}"
    proven = conflict = False
    if best is not None and bound is not None:
        tol = OPT_TOL * max(1.0, abs(best))
        proven = abs(best - bound) <= tol
        conflict = (bound - best > tol) if sense == "min" else (best - bound > tol)
    return {
        "best_known": best,
        "best_known_source": best_src,
        "best_run_id": best_run,
        "bound": bound,
        "bound_source": bound_src,
        "proven_optimal": proven,
        "conflict": conflict,
    }


def gap(objective: float | None, reference: float | None, sense: str) -> float | None:
    """The project's one gap (a fraction; outputs print ``100 *`` it as a percentage): the relative
    deviation of ``objective`` from ``reference``, positive when worse, ``(objective - reference) /
    |reference|`` for ``min`` and ``(reference - objective) / |reference|`` for ``max``; 0 when equal;
    when ``|reference| < GAP_FLOOR`` the denominator is ``max(|objective|, |reference|)``. None when
    either value is missing or not finite.

    Raises:
        ValueError: ``sense`` is not ``min`` or ``max``.
    """
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', not {sense!r}")
    if objective is None or reference is None:
        return None
    objective, reference = float(objective), float(reference)
    if not (math.isfinite(objective) and math.isfinite(reference)):
        return None
    diff = objective - reference if sense == "min" else reference - objective
    if diff == 0:
        return 0.0
    den = abs(reference) if abs(reference) >= GAP_FLOOR else max(abs(objective), abs(reference))
    return diff / den


def reference_for_solve(known: Mapping[str, float], sense: str, bound: float | None) -> tuple[float, str] | None:
    """The reference of ``schedbench solve``'s gap (one run, no store) and its source: the best
    attained published value (:func:`primal_keys`), else the tightest bound known, the published
    dual bound or the run's own proven ``bound`` (``solver bound``); None when there is none."""
    best = combine_best(sense, known, None, None)
    if best["best_known"] is not None:
        return best["best_known"], best["best_known_source"]
    if bound is not None and math.isfinite(bound) and (best["bound"] is None or better(best["bound"], bound, sense)):
        return float(bound), "solver bound"
    if best["bound"] is not None:
        return best["bound"], best["bound_source"]
    return None


# ---------------------------------------------------------------------------------------------
# claim checks


@dataclass
class ClaimCheck:
    """The verdicts of :func:`check_claims`.

    Attributes:
        flags: the contradicted claims (``optimal_claim_contradicted``, ``infeasible_claim_contradicted``,
            ``bound_contradicted``, ``bound_not_finite``), in the order found.
        notes: one sentence per verdict, for the run's reason.
        bound: the bound to keep (None when it was dropped or absent).
        wrong: a claim was contradicted (a credited status then becomes ``wrong``).
    """

    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bound: float | None = None
    wrong: bool = False


#: The flags of a claim that the known values or the run's own answers contradict (the gate's ``contradicted``).
CONTRADICTION_FLAGS = ("optimal_claim_contradicted", "infeasible_claim_contradicted", "bound_contradicted")
#: Statuses a contradicted claim turns into ``wrong`` (the runner's and the store's re-grading alike).
CREDITED_STATUSES = ("optimal", "feasible", "infeasible", "unbounded", "unknown")


def check_claims(
    *,
    sense: str,
    claimed_status: str | None,
    objective: float | None,
    bound: float | None,
    feasible_objectives: list[float],
    known: Mapping[str, float],
    rtol: float = CLAIM_RTOL,
) -> ClaimCheck:
    """Check a run's claims against the instance's attained published values, its own bound and the
    validated objectives of its answers (pure).

    A contradicted claim is never credited (``wrong``): ``optimal_claim_contradicted`` (an optimal
    answer worse than an attained published value or than its own bound),
    ``infeasible_claim_contradicted`` (a feasible answer or an attained published value exists),
    ``bound_contradicted`` (a bound better than a validated objective or an attained published value;
    the bound is dropped). A bound that is not a finite number is dropped and flagged
    ``bound_not_finite`` (not wrong). ``known`` is :func:`known_values`'s output.
    """
    out = ClaimCheck(bound=bound)
    attained = primal_known(known, sense)
    if out.bound is not None and not math.isfinite(out.bound):
        out.flags.append("bound_not_finite")
        out.notes.append(f"bound {out.bound!r} is not a finite number: dropped")
        out.bound = None
    if claimed_status == "optimal" and objective is not None:
        flag = False
        for key, value in attained:
            if worse(objective, value, sense, rtol):
                flag = True
                out.notes.append(
                    f"claimed optimal but {objective:.10g} is worse than the known {key} {value:.10g} ({sense})"
                )
                break
        if out.bound is not None and worse(objective, out.bound, sense, rtol):
            flag = True
            out.notes.append(f"claimed optimal but {objective:.10g} is worse than its own bound {out.bound:.10g}")
        if flag:
            out.flags.append("optimal_claim_contradicted")
            out.wrong = True
    if claimed_status == "infeasible":
        evidence = [f"a feasible solution ({v:.10g})" for v in feasible_objectives[-1:]]
        evidence += [f"the known {k} {v:.10g}" for k, v in attained]
        if evidence:
            out.flags.append("infeasible_claim_contradicted")
            out.notes.append("claimed infeasible, contradicted by " + evidence[0])
            out.wrong = True
    if out.bound is not None:
        # a proven bound cannot be better than a validated objective or an attained published value
        refs = []
        if feasible_objectives:
            refs.append(
                ("verified objective", min(feasible_objectives) if sense == "min" else max(feasible_objectives))
            )
        refs += [(f"known {k}", v) for k, v in attained]
        for what, value in refs:
            if worse(out.bound, value, sense, rtol):  # a bound past an attained value cannot be proven
                out.flags.append("bound_contradicted")
                out.notes.append(f"bound {out.bound:.10g} is better than the {what} {value:.10g} ({sense}): dropped")
                out.bound = None
                out.wrong = True
                break
    return out


def contradicted_by_best(
    *,
    sense: str,
    claimed_status: str | None,
    objective: float | None,
    bound: float | None,
    best: float | None,
    rtol: float = CLAIM_RTOL,
) -> list[str]:
    """The claims of a stored run that the instance's best-known value ``best`` (from every answer
    known now, also those that arrived after the run) contradicts: ``infeasible_claim_contradicted``
    (any best-known value), ``optimal_claim_contradicted`` (an optimal answer worse than it),
    ``bound_contradicted`` (a bound better than it), beyond ``rtol``. Used by the store's re-grading
    at each write and by the report (stores written before the store re-graded)."""
    if best is None:
        return []
    flags = []
    if claimed_status == "infeasible":
        flags.append("infeasible_claim_contradicted")
    if claimed_status == "optimal" and objective is not None and worse(objective, best, sense, rtol):
        flags.append("optimal_claim_contradicted")
    if bound is not None and worse(bound, best, sense, rtol):
        flags.append("bound_contradicted")
    return flags
