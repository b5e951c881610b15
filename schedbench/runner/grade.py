"""Grading a run: what the worker measured (:class:`Measurement`) in, a typed verdict
(:class:`Outcome`) out, with the pure function :func:`grade`.

Measuring and grading are separate steps. The worker (:mod:`.worker`) runs the solver under its
limits and measures: how the run ended, its times and memory, the bytes of the answer and of every
incumbent it reported, and what the supervisor had to clean up. It never judges an answer. Grading
happens in the calling process, from the measurement alone, with the independent validator
(:func:`schedbench.validator.validate`) and the claim checks of :mod:`schedbench.scoring`; the
same measurement always gives the same outcome.

Statuses: ``wrong`` (a contradicted claim: :func:`schedbench.scoring.check_claims`), ``invalid``
(an answer the validator finds infeasible or malformed, or a claim of ``optimal``/``feasible``
without an answer; a partial answer claimed ``unknown`` is recorded as ``unknown``, not as a lie),
``error`` (solve raised; the traceback's tail; or the instance cannot be graded), ``crashed`` (the
process died: signal or exit code), ``timeout`` (the last feasible incumbent reported before the
limit is kept, else the last one), ``memout`` (same), else the solver's claimed status. Flags:
``claim_mismatch``, the claim checks' flags, ``trajectory_thinned`` (more incumbents than the
worker keeps: an even subset, the latest included, is kept and validated),
``stray_processes_killed`` and ``unreadable_message`` (supervision notes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schedbench.errors import DataError
from schedbench.instances.model import Instance
from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.runs import RunTask
from schedbench.scoring import CREDITED_STATUSES, ClaimCheck, check_claims

#: How a measured run ended: an answer (``result``), the limits (``timeout``, ``memout``), an
#: exception in solve (``error``), a dead process (``crashed``), or a worker that could not load
#: the solver or the instance (``load_error``).
MEASUREMENT_KINDS = ("result", "timeout", "memout", "error", "crashed", "load_error")


@dataclass(frozen=True)
class Answer:
    """What the solver returned (undecoded).

    Attributes:
        status: the claimed status; ``bound``: its proven bound.
        solution: the answer's JSON bytes (None without one); ``solution_error``: why the worker
            could not serialise it.
        info: the solver's free-form info, JSON text.
    """

    status: str
    bound: float | None = None
    solution: bytes | None = None
    solution_error: str | None = None
    info: str = "{}"


@dataclass(frozen=True)
class Measurement:
    """What the worker measured of one run, nothing judged.

    Attributes:
        kind: how the run ended (:data:`MEASUREMENT_KINDS`).
        reason: the supervisor's words for ``timeout``/``memout``/``crashed``.
        error: the traceback tail for ``error``/``memout``/``load_error``.
        answer: the solver's answer (``result`` only).
        trajectory: ``(seconds, bound, solution bytes)`` of each kept incumbent report.
        thinned: more incumbents were reported than kept.
        last_bound: the last bound reported with an incumbent.
        wall_s, cpu_s, peak_rss_mb: measured on the run's process.
        log_tail: the end of its stdout/stderr.
        strays, escaped: processes it left alive (killed), of which outside its process group.
        protocol_error: a message on its pipe that was not a protocol frame (ignored).
    """

    kind: str
    reason: str = ""
    error: str | None = None
    answer: Answer | None = None
    trajectory: tuple[tuple[float, float | None, bytes], ...] = ()
    thinned: bool = False
    last_bound: float | None = None
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    log_tail: str = ""
    strays: int = 0
    escaped: int = 0
    protocol_error: str | None = None

    @classmethod
    def from_worker(cls, raw: Mapping[str, Any]) -> Measurement:
        """The measurement of a worker's ``done`` message (a plain dict, see :mod:`.worker`)."""
        res = raw.get("result")
        answer = None
        if raw.get("kind") == "result" and res is not None:
            answer = Answer(
                status=res["status"],
                bound=res.get("bound"),
                solution=res.get("solution"),
                solution_error=res.get("solution_error"),
                info=res.get("info") or "{}",
            )

        def num(key: str) -> float | None:
            return None if raw.get(key) is None else float(raw[key])

        return cls(
            kind=str(raw.get("kind", "crashed")),
            reason=str(raw.get("reason") or ""),
            error=raw.get("error"),
            answer=answer,
            trajectory=tuple((float(t), b, d) for t, b, d in raw.get("trajectory") or ()),
            thinned=bool(raw.get("thinned")),
            last_bound=raw.get("last_bound"),
            wall_s=num("wall_s"),
            cpu_s=num("cpu_s"),
            peak_rss_mb=num("peak_rss_mb"),
            log_tail=str(raw.get("log_tail") or ""),
            strays=int(raw.get("strays") or 0),
            escaped=int(raw.get("escaped") or 0),
            protocol_error=raw.get("protocol_error"),
        )


@dataclass
class Outcome:
    """The verdict on one measured run (the graded fields of :class:`schedbench.runs.RunRecord`).

    Attributes:
        status, reason: the run status and why.
        objective: recomputed by the validator (None without a feasible answer).
        claimed_objective, claimed_status: what the solver claimed.
        bound: the solver's bound, when it survived the claim checks.
        feasible: the validator's verdict on the kept answer (None when there was none).
        violation_counts: per constraint kind, for infeasible answers.
        flags: problems found beyond feasibility, and supervision notes.
        trajectory: ``[[seconds, objective or None, bound], ...]`` of the kept incumbents, validated.
        solution: the kept answer, decoded (None without one).
        info: the solver's info, decoded ({} when it is not JSON).
        claims: the verdicts of the claim checks (:func:`schedbench.scoring.check_claims`; None when
            the run never got that far: the worker could not load the solver or the instance, or the
            instance cannot be graded).
    """

    status: str = "crashed"
    reason: str = ""
    objective: float | None = None
    claimed_objective: float | None = None
    claimed_status: str | None = None
    bound: float | None = None
    feasible: bool | None = None
    violation_counts: dict[str, int] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    trajectory: list[list[float | None]] = field(default_factory=list)
    solution: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    claims: ClaimCheck | None = None

    def note(self, text: str) -> None:
        """Append a sentence to the reason."""
        self.reason = f"{self.reason}; {text}" if self.reason else text


def objective_of(inst: Instance) -> tuple[str, str]:
    """The instance's objective name and sense (``min``/``max``)."""
    objective = PROBLEM_CLASSES[inst.problem.cls].objective(inst.problem.objective)
    if objective is None:
        raise ValueError(f"{inst.problem.cls} has no objective {inst.problem.objective!r}")
    return objective.name, objective.sense


class InstanceOverflowError(Exception):
    """An answer's objective is not finite: the instance is at fault, the run is an ``error``."""


@dataclass(frozen=True)
class _Checked:
    """One validated answer: decoded solution, validation result (None when it could not be
    validated) and the error text then."""

    t: float
    bound: float | None
    solution: Any
    result: Any
    error: str | None

    @property
    def feasible_objective(self) -> float | None:
        vr = self.result
        return vr.objective if vr is not None and vr.feasible and vr.objective is not None else None


def _validate(inst: Instance, data: bytes, t: float = 0.0, bound: float | None = None) -> _Checked:
    from schedbench.validator import ObjectiveOverflowError, validate

    try:
        sol = json.loads(data)
    except ValueError as exc:
        return _Checked(t, bound, None, None, f"the solution is not JSON: {exc}")
    try:
        return _Checked(t, bound, sol, validate(inst, sol), None)
    except ObjectiveOverflowError as exc:
        raise InstanceOverflowError(str(exc)) from None
    except DataError as exc:
        return _Checked(t, bound, sol, None, f"malformed solution: {exc}")
    except Exception as exc:
        return _Checked(t, bound, sol, None, f"the validator failed on the solution: {type(exc).__name__}: {exc}")


def _kinds(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def grade(task: RunTask, inst: Instance, measurement: Measurement, known: Mapping[str, float]) -> Outcome:
    """Grade one measured run (pure: the same inputs give the same outcome).

    Args:
        task: the run (its memory limit words a ``memout``'s reason).
        inst: the instance the answers are validated against.
        measurement: what the worker measured.
        known: the instance's published values (:func:`schedbench.scoring.known_values`).

    Returns:
        The outcome; an instance whose objective overflows gives status ``error``.
    """
    out = Outcome()
    try:
        _grade(out, task, inst, measurement, known)
    except InstanceOverflowError as exc:
        out.status, out.objective, out.feasible, out.claims = "error", None, None, None
        out.reason = f"the instance cannot be graded: {exc}"
    return out


def _grade(out: Outcome, task: RunTask, inst: Instance, m: Measurement, known: Mapping[str, float]) -> None:
    kind = m.kind
    if kind == "load_error":
        out.status, out.reason = "error", "the worker could not load the solver or the instance: " + (m.error or "")
        return
    incumbents = [_validate(inst, data, t, bound) for t, bound, data in m.trajectory]
    out.trajectory = [[c.t, c.feasible_objective, c.bound] for c in incumbents]
    if m.thinned:
        out.flags.append("trajectory_thinned")
    out.bound = m.last_bound
    feasible_objs = [obj for obj in (c.feasible_objective for c in incumbents) if obj is not None]
    if kind == "result" and m.answer is not None:
        out.claimed_status = m.answer.status
        if m.answer.bound is not None:
            out.bound = m.answer.bound
        try:
            info = json.loads(m.answer.info)
            out.info = info if isinstance(info, dict) else {}
        except (TypeError, ValueError):
            out.info = {}
        _grade_answer(out, inst, m.answer, feasible_objs)
    elif kind in ("timeout", "memout"):
        out.status = kind
        reason = m.reason
        if kind == "memout" and m.error:
            limit = task.memory_limit_mb
            reason = (f"MemoryError under the memory limit of {limit} MB: " if limit else "MemoryError: ") + _last_line(
                m.error
            )
        out.reason = reason + _keep_incumbent(out, incumbents)
    elif kind == "error":
        out.status, out.reason = "error", m.error or m.reason or "error"
    else:
        out.status, out.reason = "crashed", m.reason or "the run's process died"
    sense = objective_of(inst)[1]
    check = check_claims(
        sense=sense,
        claimed_status=out.claimed_status,
        objective=out.objective,
        bound=out.bound,
        feasible_objectives=feasible_objs,
        known=known,
    )
    out.claims = check
    out.flags += check.flags
    for text in check.notes:
        out.note(text)
    out.bound = check.bound
    if check.wrong and out.status in CREDITED_STATUSES:
        out.status = "wrong"
    _note_supervision(out, m)


def _note_supervision(out: Outcome, m: Measurement) -> None:
    """Flags for what the supervisor had to clean up or ignore: processes the run left behind
    (killed; those that left the run's process group, e.g. with ``setsid``, counted apart) and
    messages on the run's pipe that were not frames of the protocol (ignored: data only)."""
    if m.strays:
        out.flags.append("stray_processes_killed")
        out.note(
            f"{m.strays} process(es) the run left alive were killed"
            + (f" ({m.escaped} had left its process group)" if m.escaped else "")
        )
    if m.protocol_error:
        out.flags.append("unreadable_message")
        out.note(f"ignored: {m.protocol_error}")


def _keep_incumbent(out: Outcome, incumbents: list[_Checked]) -> str:
    """Keep the last feasible incumbent (else the last one); return a sentence for the reason."""
    if not incumbents:
        return "; no incumbent was reported"
    chosen = next((c for c in reversed(incumbents) if c.result is not None and c.result.feasible), incumbents[-1])
    vr = chosen.result
    out.solution = chosen.solution
    if vr is None:
        out.feasible = False
        return f"; the last incumbent ({chosen.t:.3g} s) is {chosen.error}"
    out.feasible = vr.feasible
    out.claimed_objective = vr.claimed_objective
    if vr.feasible:
        out.objective = vr.objective
        if vr.claim_matches is False:
            out.flags.append("claim_mismatch")
        return f"; kept the incumbent reported at {chosen.t:.3g} s (objective {vr.objective:.10g})"
    out.violation_counts = dict(vr.violation_counts)
    return f"; the last incumbent ({chosen.t:.3g} s) is infeasible: {_kinds(vr.violation_counts)}"


def _grade_answer(out: Outcome, inst: Instance, answer: Answer, feasible_objs: list[float]) -> None:
    claimed = answer.status
    if answer.solution_error:
        out.status, out.reason, out.feasible = "invalid", answer.solution_error, False
        return
    if answer.solution is None:
        if claimed in ("optimal", "feasible"):
            out.status, out.reason = "invalid", f"claimed {claimed!r} but returned no solution"
        else:
            out.status = claimed
            out.reason = (
                f"the solver claims the instance is {claimed}"
                if claimed != "unknown"
                else "the solver found no solution and claims nothing"
            )
        return
    checked = _validate(inst, answer.solution)
    vr = checked.result
    out.solution = checked.solution
    if vr is None:
        out.status, out.reason, out.feasible = "invalid", checked.error or "invalid solution", False
        return
    out.feasible = vr.feasible
    out.claimed_objective = vr.claimed_objective
    if not vr.feasible:
        out.violation_counts = dict(vr.violation_counts)
        if claimed == "unknown":  # a partial answer that claims nothing: no answer, not a lie
            out.status = "unknown"
            out.reason = f"no feasible answer (the partial one returned has: {_kinds(vr.violation_counts)})"
            return
        out.status = "invalid"
        out.reason = f"infeasible answer: {_kinds(vr.violation_counts)}"
        return
    out.status = claimed
    out.objective = vr.objective
    if vr.objective is not None:
        feasible_objs.append(vr.objective)
    if vr.claim_matches is False:
        out.flags.append("claim_mismatch")
        out.note(f"claimed objective {vr.claimed_objective!r} differs from the recomputed {vr.objective!r}")
