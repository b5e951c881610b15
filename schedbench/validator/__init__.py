"""The independent validator: feasibility, violations and objective from instance + solution alone.

Solvers never grade themselves; the harness calls :func:`validate` on every answer. It checks the
envelope, then calls the instance's problem class's
:attr:`~schedbench.instances.problems.ProblemClass.validate`. The built-in classes' rules are
documented in the modules :mod:`.placement`, :mod:`.batch`, :mod:`.allocation` and :mod:`.online`.
"""

from __future__ import annotations

import gc
import math
from pathlib import Path
from typing import Any

import numpy as np

from schedbench import jsonio
from schedbench.errors import DataError
from schedbench.instances.model import Instance
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.validator.bounds import bounds
from schedbench.validator.common import check_envelope
from schedbench.validator.result import ValidationResult, Violation, Violations

__all__ = ["ValidationResult", "Violation", "bounds", "load_solution", "validate", "validate_file"]


def load_solution(path: str | Path) -> Any:
    """Read a solution file strictly, keeping repeated keys visible to the validator."""
    return jsonio.load(path, duplicates="record")


class ObjectiveOverflowError(DataError):
    """The objective of an answer is not a finite number: the instance's numbers overflow (bad
    input of the instance, not of the answer)."""


def validate(inst: Instance, solution: Any, file: str = "<solution>") -> ValidationResult:
    """Validate a parsed solution document against an instance.

    Args:
        inst: the instance (already checked by the loader).
        solution: the parsed solution JSON (a dict), e.g. from :func:`load_solution` or a
            solver's return value.
        file: name used in error messages.

    Returns:
        The verdict. Broken constraints are violations (``feasible`` is False).

    Raises:
        DataError: the solution is structurally malformed (wrong class, wrong types): that is
            bad input, not an infeasible answer.
    """
    body, claimed = check_envelope(solution, inst, file)
    cls = PROBLEM_CLASSES[inst.problem.cls]
    viol = Violations()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the validators build large acyclic lists; GC passes over them only cost time
    try:
        with np.errstate(over="ignore"):  # an overflowing objective is refused below, not warned about
            value, metrics = cls.validate(inst, body, file, viol)
    finally:
        if gc_was_enabled:
            gc.enable()
    objective = cls.objective(inst.problem.objective)
    assert objective is not None
    if value is not None and not math.isfinite(value):  # e.g. costs of 1e308 summing to inf
        raise ObjectiveOverflowError(
            file,
            "$",
            f"a solution whose {objective.name} is a finite number",
            f"{value!r}: the instance's numbers overflow double precision",
        )
    return ValidationResult(
        feasible=not viol,
        objective=value,
        objective_name=objective.name,
        sense=objective.sense,
        violations=list(viol.listed),
        violation_counts=dict(viol.counts),
        metrics=metrics,
        claimed_objective=claimed,
    )


def validate_file(inst: Instance, path: str | Path) -> ValidationResult:
    """Read a solution file and validate it."""
    return validate(inst, load_solution(path), str(path))
