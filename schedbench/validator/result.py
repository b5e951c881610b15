"""What the validator returns: feasibility, violations and the recomputed objective."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: At most this many violations of one kind are listed; the rest are only counted.
MAX_LISTED_PER_KIND = 200


@dataclass(frozen=True)
class Violation:
    """One broken constraint.

    Attributes:
        constraint: stable kind, e.g. ``"capacity"``, ``"overlap"``, ``"gang-size"``.
        message: a sentence naming the job, GPU and values involved.
        job: the job id involved, when one is.
        gpu: the GPU id involved, when one is.
    """

    constraint: str
    message: str
    job: str | None = None
    gpu: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: constraint and message, plus job and GPU when set."""
        out: dict[str, Any] = {"constraint": self.constraint, "message": self.message}
        if self.job is not None:
            out["job"] = self.job
        if self.gpu is not None:
            out["gpu"] = self.gpu
        return out


@dataclass
class Violations:
    """Collects violations, listing at most :data:`MAX_LISTED_PER_KIND` of each kind."""

    listed: list[Violation] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, constraint: str, message: str, *, job: str | None = None, gpu: str | None = None) -> None:
        """Count one violation of ``constraint``; list it while fewer than :data:`MAX_LISTED_PER_KIND` are."""
        count = self.counts.get(constraint, 0)
        self.counts[constraint] = count + 1
        if count < MAX_LISTED_PER_KIND:
            self.listed.append(Violation(constraint, message, job, gpu))

    def add_count(self, constraint: str, extra: int) -> None:
        """Count ``extra`` further violations of a kind that were not listed one by one."""
        if extra > 0:
            self.counts[constraint] = self.counts.get(constraint, 0) + extra

    def add_many(
        self,
        constraint: str,
        items: Sequence[Any] | np.ndarray,
        explain: Callable[[Any], tuple[str, str | None, str | None]],
    ) -> None:
        """Report one violation per item; ``explain(item)`` gives (message, job, gpu). Only the
        items that will be listed are explained, so this stays cheap for millions of items."""
        room = self.room(constraint)
        for item in list(items[:room]):
            message, job, gpu = explain(item)
            self.add(constraint, message, job=job, gpu=gpu)
        self.add_count(constraint, max(0, len(items) - room))

    def room(self, constraint: str) -> int:
        """How many more of this kind would still be listed."""
        return max(0, MAX_LISTED_PER_KIND - self.counts.get(constraint, 0))

    def __bool__(self) -> bool:
        return bool(self.counts)

    @property
    def total(self) -> int:
        """Number of violations counted, listed or not."""
        return sum(self.counts.values())


@dataclass
class ValidationResult:
    """The validator's verdict on one solution.

    Attributes:
        feasible: no constraint is violated.
        objective: the objective recomputed from instance and solution (None when it cannot be
            computed, e.g. an online log with unfinished jobs); meaningful as a score only when
            ``feasible``.
        objective_name: the instance's objective.
        sense: ``"min"`` or ``"max"``.
        violations: listed violations (capped per kind; see ``violation_counts``).
        violation_counts: number of violations per constraint kind, all of them.
        metrics: further figures (e.g. the online metrics, placed jobs, GPUs used).
        claimed_objective: the objective the solution says it has, when it says one.
    """

    feasible: bool
    objective: float | None
    objective_name: str
    sense: str
    violations: list[Violation]
    violation_counts: dict[str, int]
    metrics: dict[str, Any] = field(default_factory=dict)
    claimed_objective: float | None = None

    @property
    def claim_matches(self) -> bool | None:
        """Whether the claimed objective equals the recomputed one (1e-6 relative), or None."""
        if self.claimed_objective is None or self.objective is None:
            return None
        scale = max(1.0, abs(self.objective))
        return abs(self.claimed_objective - self.objective) <= 1e-6 * scale

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``schedbench validate --json``)."""
        return {
            "feasible": self.feasible,
            "objective": self.objective,
            "objective_name": self.objective_name,
            "sense": self.sense,
            "violations": [v.to_dict() for v in self.violations],
            "violation_counts": dict(self.violation_counts),
            "metrics": self.metrics,
            "claimed_objective": self.claimed_objective,
            "claim_matches": self.claim_matches,
        }
