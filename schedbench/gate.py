"""CI gate of ``schedbench run``: which finished runs make the command exit non-zero.

``--fail-on`` takes run statuses (:data:`schedbench.plugins.solver.RUN_STATUSES`) and the pseudo-status
``contradicted`` (a run flagged ``optimal_claim_contradicted``, ``infeasible_claim_contradicted`` or
``bound_contradicted``: the solver claimed something the known values refute); ``none`` disables the
gate. Default: :data:`DEFAULT_FAIL_ON`. Every run of the campaign in the store counts, resumed ones
included, so a re-run of a broken campaign keeps failing until the runs are redone (``--rerun``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from schedbench.errors import InputError
from schedbench.scoring import CONTRADICTION_FLAGS

#: Statuses (and ``contradicted``) that fail ``schedbench run`` by default.
DEFAULT_FAIL_ON = ("crashed", "error", "invalid", "wrong", "contradicted")


def parse_fail_on(values: list[str] | None) -> tuple[str, ...]:
    """The gate's statuses from ``--fail-on`` values (repeatable and/or comma-separated).

    Raises:
        InputError: an unknown status.
    """
    from schedbench.plugins.solver import RUN_STATUSES

    if not values:
        return DEFAULT_FAIL_ON
    items = [v.strip() for value in values for v in value.split(",") if v.strip()]
    if items == ["none"]:
        return ()
    allowed = (*RUN_STATUSES, "contradicted")
    for item in items:
        if item not in allowed:
            raise InputError("--fail-on", "$", f"'none' or statuses among {list(allowed)}", repr(item))
    return tuple(dict.fromkeys(items))


def failing(store: str | Path, campaign: str, fail_on: tuple[str, ...]) -> Counter:
    """Per gate status, how many runs of ``campaign`` in ``store`` hit it."""
    from schedbench.store import views

    frame = views.runs(store, campaign=campaign)
    out: Counter = Counter()
    for status, flags in zip(frame["status"], frame["flags"], strict=True):
        if status in fail_on:
            out[str(status)] += 1
        if "contradicted" in fail_on and any(f in CONTRADICTION_FLAGS for f in str(flags or "").split(",")):
            out["contradicted"] += 1
    return out


def summary(store: str | Path, campaign: str, fail_on: tuple[str, ...]) -> dict[str, Any]:
    """What ``run --json`` prints: the campaign's status counts, the gate and its exit code."""
    from schedbench.store import views

    frame = views.runs(store, campaign=campaign)
    bad = failing(store, campaign, fail_on)
    return {
        "campaign": campaign,
        "store": str(store),
        "runs": len(frame),
        "statuses": dict(sorted(Counter(map(str, frame["status"])).items())),
        "fail_on": list(fail_on),
        "failing": dict(sorted(bad.items())),
        "exit_code": 1 if bad else 0,
    }
