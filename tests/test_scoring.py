"""schedbench.scoring: known values, the best known, the claim checks and the one gap definition."""

from __future__ import annotations

import math

import pytest

from schedbench.scoring import (
    GAP_FLOOR,
    check_claims,
    combine_best,
    contradicted_by_best,
    dual_keys,
    gap,
    known_values,
    primal_keys,
    primal_known,
    reference_for_solve,
)


def test_known_values_keep_finite_numbers_only() -> None:
    known = {"optimum": 7, "best_known": float("nan"), "lower_bound": True, "upper_bound": "9", "source": "x"}
    assert known_values(known) == {"optimum": 7.0}
    assert known_values(None) == {}
    assert known_values({"lower_bound": 1.5, "upper_bound": float("inf")}) == {"lower_bound": 1.5}


def test_primal_and_dual_keys_mirror_with_the_sense() -> None:
    assert primal_keys("min") == ("optimum", "best_known", "upper_bound")
    assert primal_keys("max") == ("optimum", "best_known", "lower_bound")
    assert dual_keys("min") == ("optimum", "lower_bound")
    assert dual_keys("max") == ("optimum", "upper_bound")
    known = {"best_known": 5.0, "upper_bound": 6.0, "lower_bound": 2.0}
    assert primal_known(known, "min") == [("best_known", 5.0), ("upper_bound", 6.0)]
    assert primal_known(known, "max") == [("best_known", 5.0), ("lower_bound", 2.0)]


def test_combine_best_rules() -> None:
    assert combine_best("min", {"upper_bound": 10.0, "lower_bound": 12.0}, None, None)["conflict"]
    out = combine_best("min", {"optimum": 7.0}, (7.0, "r1"), (6.0, "r2"))
    assert out["best_known_source"] == "published optimum" and out["bound"] == 7.0 and out["proven_optimal"]
    assert out["best_run_id"] is None  # a tie keeps the published value
    out = combine_best("min", {"best_known": 9.0}, (8.0, "r1"), None)
    assert (out["best_known"], out["best_known_source"], out["best_run_id"]) == (8.0, "run", "r1")
    out = combine_best("max", {}, (3.0, "r1"), (3.0, "r2"))
    assert out["proven_optimal"] and out["best_run_id"] == "r1" and out["bound_source"] == "run r2"
    assert combine_best("max", {}, None, None)["best_known"] is None
    # a planted solution (primal bound) is a known value; the dual bound is not
    out = combine_best("min", {"upper_bound": 10.0, "lower_bound": 4.0}, None, None)
    assert out["best_known_source"] == "published upper_bound" and out["bound_source"] == "published lower_bound"


def test_gap_is_the_signed_relative_deviation() -> None:
    assert gap(110.0, 100.0, "min") == pytest.approx(0.1)
    assert gap(90.0, 100.0, "min") == pytest.approx(-0.1)  # better than the reference: negative
    assert gap(90.0, 100.0, "max") == pytest.approx(0.1)
    assert gap(110.0, 100.0, "max") == pytest.approx(-0.1)
    assert gap(-90.0, -100.0, "min") == pytest.approx(0.1)  # |reference| in the denominator
    assert gap(-110.0, -100.0, "max") == pytest.approx(0.1)
    assert gap(100.0, 100.0, "min") == 0.0 and gap(0.0, 0.0, "max") == 0.0


def test_gap_floor_for_a_reference_of_zero() -> None:
    assert gap(5.0, 0.0, "min") == 1.0  # denominator max(|objective|, |reference|), not GAP_FLOOR
    assert gap(1e-12, 0.0, "min") == pytest.approx(1.0)
    assert gap(-5.0, 0.0, "max") == 1.0
    assert gap(5.0, GAP_FLOOR / 2, "min") == pytest.approx((5.0 - GAP_FLOOR / 2) / 5.0)
    assert gap(2.0, GAP_FLOOR, "min") == pytest.approx((2.0 - GAP_FLOOR) / GAP_FLOOR)  # at the floor: |reference|


def test_gap_missing_values_and_bad_sense() -> None:
    assert gap(None, 1.0, "min") is None and gap(1.0, None, "min") is None
    assert gap(float("inf"), 1.0, "min") is None and gap(1.0, math.nan, "min") is None
    with pytest.raises(ValueError, match="sense"):
        gap(1.0, 1.0, "minimize")


def test_reference_for_solve_prefers_attained_values_then_bounds() -> None:
    assert reference_for_solve({"optimum": 7.0, "best_known": 8.0}, "min", 3.0) == (7.0, "published optimum")
    assert reference_for_solve({"upper_bound": 9.0}, "min", None) == (9.0, "published upper_bound")
    assert reference_for_solve({"lower_bound": 4.0}, "min", 5.0) == (5.0, "solver bound")  # tighter
    assert reference_for_solve({"lower_bound": 4.0}, "min", 3.0) == (4.0, "published lower_bound")
    assert reference_for_solve({}, "max", 12.0) == (12.0, "solver bound")
    assert reference_for_solve({}, "min", float("nan")) is None
    assert reference_for_solve({}, "min", None) is None


def _check(**kw: object) -> object:
    args = {
        "sense": "min",
        "claimed_status": "feasible",
        "objective": 10.0,
        "bound": None,
        "feasible_objectives": [10.0],
        "known": {},
    }
    args.update(kw)
    return check_claims(**args)  # type: ignore[arg-type]


def test_check_claims_optimal_worse_than_known_or_own_bound() -> None:
    out = _check(claimed_status="optimal", known={"optimum": 9.0})
    assert out.flags == ["optimal_claim_contradicted"] and out.wrong and "known optimum" in out.notes[0]
    out = _check(claimed_status="optimal", bound=9.5)  # an optimum above its own lower bound is not proven
    assert out.flags == ["optimal_claim_contradicted"] and "its own bound" in out.notes[0] and out.bound == 9.5
    out = _check(claimed_status="optimal", bound=10.5)  # a lower bound above a verified answer
    assert out.flags == ["bound_contradicted"] and out.bound is None and out.wrong
    out = _check(claimed_status="optimal", known={"optimum": 10.0 * (1 + 1e-7)}, bound=10.0)
    assert not out.flags and not out.wrong and out.bound == 10.0  # within the tolerance


def test_check_claims_infeasible_and_bounds() -> None:
    out = _check(claimed_status="infeasible", objective=None, feasible_objectives=[], known={"best_known": 3.0})
    assert out.flags == ["infeasible_claim_contradicted"] and "known best_known" in out.notes[0]
    out = _check(claimed_status="infeasible", objective=None, feasible_objectives=[], known={"lower_bound": 3.0})
    assert not out.wrong  # a dual bound proves no answer exists
    out = _check(bound=float("inf"))
    assert out.flags == ["bound_not_finite"] and out.bound is None and not out.wrong
    out = _check(sense="max", objective=10.0, bound=9.0)
    assert out.flags == ["bound_contradicted"] and out.wrong
    assert not _check(sense="max", objective=10.0, bound=11.0).flags


def test_contradicted_by_best() -> None:
    kw = {"sense": "min", "objective": None, "bound": None}
    assert contradicted_by_best(claimed_status="infeasible", best=5.0, **kw) == ["infeasible_claim_contradicted"]
    assert contradicted_by_best(claimed_status="infeasible", best=None, **kw) == []
    assert contradicted_by_best(sense="min", claimed_status="optimal", objective=6.0, bound=5.5, best=5.0) == [
        "optimal_claim_contradicted",
        "bound_contradicted",
    ]
    assert contradicted_by_best(sense="max", claimed_status="optimal", objective=6.0, bound=5.5, best=6.0) == [
        "bound_contradicted"
    ]
    assert contradicted_by_best(sense="max", claimed_status="optimal", objective=6.0, bound=6.0, best=6.0) == []
