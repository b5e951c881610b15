"""The four problem classes, their objectives and their parameters.

This table is the single place that says which objectives and parameters each class has; the
loader, the JSON Schema and the validator all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Objective:
    """One objective of a problem class.

    Attributes:
        name: stable identifier used in instance files (e.g. ``"min-cost"``).
        sense: ``"min"`` or ``"max"``.
        requires: per-type job fields the objective needs (``"time"``, ``"cost"``,
            ``"throughput"``; ``"time|throughput"`` means either).
        description: one line for documentation.
    """

    name: str
    sense: str
    requires: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Param:
    """A class parameter: name, type (``bool``, ``float`` or ``str``), default, allowed values."""

    name: str
    kind: type
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None


@dataclass(frozen=True)
class ProblemClass:
    """A problem class: its objectives and parameters."""

    name: str
    description: str
    objectives: tuple[Objective, ...]
    params: tuple[Param, ...]

    def objective(self, name: str) -> Objective | None:
        """The objective called ``name``, or None."""
        return next((o for o in self.objectives if o.name == name), None)


_MULTI_NODE = Param(
    "allow_multi_node",
    bool,
    False,
    "a gang may span several nodes (its GPUs must still share one GPU type)",
)

PROBLEM_CLASSES: dict[str, ProblemClass] = {
    "placement": ProblemClass(
        "placement",
        "space-sharing snapshot: each job gets gang-size GPUs; summed demand per GPU fits capacity",
        (
            Objective("min-cost", "min", ("cost",), "sum of per-type job costs; all jobs placed (GAP)"),
            Objective(
                "min-gpus",
                "min",
                (),
                "GPUs used (or their cost per hour, measure=cost); all jobs placed (vector bin packing)",
            ),
            Objective("max-weight", "max", (), "total weight of placed jobs (multiple knapsack)"),
        ),
        (
            _MULTI_NODE,
            Param("measure", str, "count", "min-gpus counts GPUs or sums their cost_per_hour",
                  ("count", "cost")),
        ),
    ),
    "batch": ProblemClass(
        "batch",
        "time-sharing: each GPU runs one job at a time, non-preemptively; jobs known up front",
        (
            Objective("makespan", "min", ("time",), "latest completion time"),
            Objective("weighted-completion", "min", ("time",), "sum of weight x completion time"),
            Objective("weighted-tardiness", "min", ("time",),
                      "sum of weight x max(0, completion - deadline)"),
        ),
        (_MULTI_NODE,),
    ),
    "allocation": ProblemClass(
        "allocation",
        "fractional time shares per GPU type (Gavel): per job sum <= 1, per type gang-weighted sum <= GPUs",
        (
            Objective("max-min-fairness", "max", ("time|throughput",),
                      "minimum over jobs of throughput / equal-share throughput"),
            Objective("max-throughput", "max", ("time|throughput",),
                      "sum over jobs of throughput / equal-share throughput"),
            Objective("proportional-fairness", "max", ("time|throughput",),
                      "sum over jobs of log(throughput / equal-share throughput)"),
        ),
        (),
    ),
    "online": ProblemClass(
        "online",
        "arrivals over time, simulated; a solution is an event log replayed by the validator",
        (
            Objective("mean-jct", "min", ("time",), "mean job completion time (finish - release)"),
            Objective("p99-jct", "min", ("time",), "99th percentile job completion time"),
            Objective("makespan", "min", ("time",), "latest finish time"),
            Objective("mean-bounded-slowdown", "min", ("time",), "mean bounded slowdown"),
            Objective("deadline-miss-rate", "min", ("time",),
                      "fraction of jobs with a deadline that miss it (rejected jobs miss)"),
            Objective("max-ftf", "min", ("time",), "largest finish-time fairness ratio rho"),
        ),
        (
            _MULTI_NODE,
            Param("preempt_overhead_s", float, 0.0,
                  "checkpoint/restore cost: seconds without progress after each resume", minimum=0.0),
            Param("migrate_overhead_s", float, 0.0,
                  "seconds without progress after each migration", minimum=0.0),
            Param("overhead_model", str, "fixed",
                  "checkpoint/restore cost preset (schedbench/validator/overheads.py); fixed uses the two above",
                  ("fixed", "zero", "helios", "lucid", "pollux", "sia")),
            Param("allow_preemption", bool, True, "preempt/resume events are allowed"),
            Param("allow_migration", bool, True, "migrate events are allowed"),
            Param("allow_rejection", bool, True, "reject events (admission control) are allowed"),
            Param("slowdown_threshold_s", float, 10.0,
                  "tau of bounded slowdown max(1, JCT / max(best time, tau))", minimum=0.0),
        ),
    ),
}

#: Per-type job fields other than ``eligible`` and ``demand``.
PER_TYPE_FIELDS = ("time", "cost", "throughput")
